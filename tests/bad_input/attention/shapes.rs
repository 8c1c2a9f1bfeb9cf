//! Bad attention shapes: zero and mismatched dimensions, head counts, short slices, overflow,
//! overlapping and aliasing outputs.

use super::Attn;
use crate::SENTINEL;
use huiyan::{AttentionOptions, Dim, Error, Operand, Tensor4Mut, Tensor4Ref};

#[test]
fn attention_valid_problem_is_accepted() {
    // The baseline every other case perturbs must itself be valid, or the cases prove nothing.
    let mut p = Attn::small();
    let (q, k, v) = (p.q.clone(), p.k.clone(), p.v.clone());
    let r = huiyan::attention(
        Tensor4Ref::bhsd(&q, p.dq),
        Tensor4Ref::bhsd(&k, p.dk),
        Tensor4Ref::bhsd(&v, p.dv),
        Tensor4Mut::bhsd(&mut p.o, p.do_),
        &AttentionOptions::default(),
        Some(&mut p.lse),
    );
    assert_eq!(r, Ok(()));
    assert!(p.o.iter().all(|&x| (x - 1.0).abs() < 1e-6));
}

#[test]
fn attention_zero_head_dim_qk() {
    let mut p = Attn::new(1, 2, 2, 3, 3, 0, 4);
    p.expect(
        &AttentionOptions::default(),
        Error::ZeroDim { dim: Dim::DimQk },
    );
}

#[test]
fn attention_zero_head_dim_v() {
    let mut p = Attn::new(1, 2, 2, 3, 3, 4, 0);
    p.expect(
        &AttentionOptions::default(),
        Error::ZeroDim { dim: Dim::DimV },
    );
}

#[test]
fn attention_zero_kv_heads() {
    let mut p = Attn::new(1, 2, 0, 3, 3, 4, 4);
    p.expect(
        &AttentionOptions::default(),
        Error::ZeroDim { dim: Dim::HeadsKv },
    );
}

#[test]
fn attention_heads_not_multiple_of_kv_heads() {
    let mut p = Attn::new(1, 3, 2, 3, 3, 4, 4);
    p.expect(
        &AttentionOptions::default(),
        Error::HeadsNotDivisible {
            heads_q: 3,
            heads_kv: 2,
        },
    );
}

#[test]
fn attention_query_slice_too_short() {
    let mut p = Attn::small();
    let needed = p.q.len();
    p.q.pop();
    p.expect(
        &AttentionOptions::default(),
        Error::SliceTooShort {
            operand: Operand::Q,
            needed,
            got: needed - 1,
        },
    );
}

#[test]
fn attention_output_slice_too_short() {
    let mut p = Attn::small();
    let needed = p.o.len();
    p.o.truncate(needed - 3);
    p.expect(
        &AttentionOptions::default(),
        Error::SliceTooShort {
            operand: Operand::O,
            needed,
            got: needed - 3,
        },
    );
}

#[test]
fn attention_value_slice_too_short() {
    let mut p = Attn::small();
    let needed = p.v.len();
    p.v.truncate(1);
    p.expect(
        &AttentionOptions::default(),
        Error::SliceTooShort {
            operand: Operand::V,
            needed,
            got: 1,
        },
    );
}

#[test]
fn attention_dimension_product_overflows() {
    // B·Hq·Lq·dk overflows usize; nothing may be read or written.
    let big = usize::MAX / 2;
    let mut p = Attn::small();
    p.dq[0] = big;
    p.dk[0] = big;
    p.dv[0] = big;
    p.do_[0] = big;
    p.expect(
        &AttentionOptions::default(),
        Error::Overflow {
            operand: Operand::Q,
        },
    );
}

#[test]
fn attention_output_overlaps_query() {
    // Output and query share memory: only expressible through raw parts, and rejected before
    // any access.
    let mut buf = vec![SENTINEL; 64];
    let d = [1, 1, 4, 4];
    let ptr = buf.as_mut_ptr();
    // SAFETY: both views cover 16 elements of `buf` (64 long) and live only for this call; the
    // operation detects the overlap and returns without reading or writing either view.
    let (q, o) = unsafe {
        (
            Tensor4Ref::from_raw_parts(ptr.add(8) as *const f32, 16, d, [64, 16, 4, 1]),
            Tensor4Mut::from_raw_parts(ptr, 16, d, [64, 16, 4, 1]),
        )
    };
    let kv = vec![1.0f32; 16];
    let r = huiyan::attention(
        q,
        Tensor4Ref::bhsd(&kv, d),
        Tensor4Ref::bhsd(&kv, d),
        o,
        &AttentionOptions::default(),
        None,
    );
    assert_eq!(
        r,
        Err(Error::Overlap {
            output: Operand::O,
            input: Operand::Q
        })
    );
    assert!(buf.iter().all(|&x| x == SENTINEL));
}

#[test]
fn attention_output_strides_alias() {
    let mut p = Attn::small();
    let mut o = vec![SENTINEL; p.o.len()];
    let mut strides = Tensor4Mut::bhsd(&mut o, p.do_).strides;
    strides[2] = 0; // every query row of a head written to the same place
    let r = huiyan::attention(
        Tensor4Ref::bhsd(&p.q, p.dq),
        Tensor4Ref::bhsd(&p.k, p.dk),
        Tensor4Ref::bhsd(&p.v, p.dv),
        Tensor4Mut::new(&mut o, p.do_, strides),
        &AttentionOptions::default(),
        Some(&mut p.lse),
    );
    assert_eq!(
        r,
        Err(Error::AliasingStrides {
            operand: Operand::O,
            strides
        })
    );
    assert!(o.iter().all(|&x| x == SENTINEL));
    p.assert_untouched();
}
#[test]
fn attention_lse_too_short() {
    let mut p = Attn::small();
    let mut lse = vec![SENTINEL; 2 * 4 * 3 - 1];
    let r = huiyan::attention(
        Tensor4Ref::bhsd(&p.q, p.dq),
        Tensor4Ref::bhsd(&p.k, p.dk),
        Tensor4Ref::bhsd(&p.v, p.dv),
        Tensor4Mut::bhsd(&mut p.o, p.do_),
        &AttentionOptions::default(),
        Some(&mut lse),
    );
    assert_eq!(
        r,
        Err(Error::SliceTooShort {
            operand: Operand::Lse,
            needed: 24,
            got: 23
        })
    );
    assert!(lse.iter().all(|&x| x == SENTINEL));
    p.assert_untouched();
}

#[test]
fn attention_output_head_dim_mismatch() {
    let mut p = Attn::small();
    p.do_[3] = 5;
    p.expect(
        &AttentionOptions::default(),
        Error::DimMismatch {
            dim: Dim::DimV,
            expected: 6,
            got: 5,
        },
    );
}

#[test]
fn attention_key_head_dim_mismatch() {
    let mut p = Attn::small();
    p.dk[3] = 3;
    p.expect(
        &AttentionOptions::default(),
        Error::DimMismatch {
            dim: Dim::DimQk,
            expected: 4,
            got: 3,
        },
    );
}

#[test]
fn attention_value_length_mismatch() {
    let mut p = Attn::small();
    p.dv[2] = 4;
    p.expect(
        &AttentionOptions::default(),
        Error::DimMismatch {
            dim: Dim::LenKv,
            expected: 5,
            got: 4,
        },
    );
}

#[test]
fn attention_batch_mismatch() {
    let mut p = Attn::small();
    p.dk[0] = 1;
    p.expect(
        &AttentionOptions::default(),
        Error::DimMismatch {
            dim: Dim::Batch,
            expected: 2,
            got: 1,
        },
    );
}
