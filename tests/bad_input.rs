//! The bad-input catalogue: every kind of bad input through the public API returns the exact
//! error variant, with the offending values, and leaves every output buffer untouched.
//!
//! Each operation is exercised through every public entry point that implements it — the
//! reference, the std call, and for every ISA on this machine the std `_with` call and the core
//! kernel — so they cannot drift apart: they all validate with `huiyan_kernels::shape`.

use huiyan::dispatch;
use huiyan::{
    AttentionOptions, Dim, Error, MatMut, MatRef, Operand, SoftmaxOptions, Tensor4Mut, Tensor4Ref,
};

/// A value no kernel writes: outputs are pre-filled with it and must still hold it after `Err`.
const SENTINEL: f32 = -12345.5;

// ---------------------------------------------------------------------------------------------
// Attention

type AttnFn = Box<
    dyn Fn(
        Tensor4Ref<'_>,
        Tensor4Ref<'_>,
        Tensor4Ref<'_>,
        Tensor4Mut<'_>,
        &AttentionOptions<'_>,
        Option<&mut [f32]>,
    ) -> Result<(), Error>,
>;

/// Every public attention entry point: reference, std, and per ISA the std and core calls.
fn attention_entry_points() -> Vec<(String, AttnFn)> {
    let mut v: Vec<(String, AttnFn)> = vec![
        (
            "reference::attention".into(),
            Box::new(huiyan::reference::attention),
        ),
        ("huiyan::attention".into(), Box::new(huiyan::attention)),
    ];
    for kern in dispatch::available() {
        let name = kern.isa().name();
        v.push((
            format!("attention_with({name})"),
            Box::new(move |q, k, v, o, op, l| huiyan::attention_with(&kern, q, k, v, o, op, l)),
        ));
        v.push((
            format!("kernels::attention::attention({name})"),
            Box::new(move |q, k, v, o, op, l| {
                let mut ws = vec![0.0f32; 1 << 16];
                huiyan_kernels::attention::attention(&kern, q, k, v, o, op, l, &mut ws)
            }),
        ));
    }
    v
}

/// Owned buffers for a `[B, Hq/Hkv, Lq/Lk, dk/dv]` attention problem, BHSD.
struct Attn {
    dq: [usize; 4],
    dk: [usize; 4],
    dv: [usize; 4],
    do_: [usize; 4],
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    o: Vec<f32>,
    lse: Vec<f32>,
}

impl Attn {
    fn new(b: usize, hq: usize, hkv: usize, lq: usize, lk: usize, dk: usize, dv: usize) -> Attn {
        let n = |d: [usize; 4]| d.iter().product::<usize>();
        let (dq, dkk, dvv, do_) = (
            [b, hq, lq, dk],
            [b, hkv, lk, dk],
            [b, hkv, lk, dv],
            [b, hq, lq, dv],
        );
        Attn {
            q: vec![0.5; n(dq)],
            k: vec![0.25; n(dkk)],
            v: vec![1.0; n(dvv)],
            o: vec![SENTINEL; n(do_)],
            lse: vec![SENTINEL; b * hq * lq],
            dq,
            dk: dkk,
            dv: dvv,
            do_,
        }
    }

    fn small() -> Attn {
        Attn::new(2, 4, 2, 3, 5, 4, 6)
    }

    /// Runs every attention entry point with `opts`, asserts `want`, and that O and lse are
    /// untouched.
    #[track_caller]
    fn expect(&mut self, opts: &AttentionOptions<'_>, want: Error) {
        for (name, f) in attention_entry_points() {
            let got = f(
                Tensor4Ref::bhsd(&self.q, self.dq),
                Tensor4Ref::bhsd(&self.k, self.dk),
                Tensor4Ref::bhsd(&self.v, self.dv),
                Tensor4Mut::bhsd(&mut self.o, self.do_),
                opts,
                Some(&mut self.lse),
            );
            assert_eq!(got, Err(want), "{name}");
            self.assert_untouched();
        }
        if Self::option_error(&want) {
            self.expect_weights(opts, want);
        }
    }

    /// Errors of the options themselves, which the weights entry points share with attention
    /// (`check_attention_options`): the same call must fail the same way there.
    fn option_error(e: &Error) -> bool {
        use huiyan::Operand as Op;
        match e {
            Error::InvalidScale { .. }
            | Error::InvalidSoftcap { .. }
            | Error::ZeroWindow
            | Error::PaddingTooLong { .. }
            | Error::BroadcastShape { .. } => true,
            Error::SliceTooShort { operand, .. } => matches!(
                operand,
                Op::Mask | Op::Bias | Op::KeyPadding | Op::AlibiSlopes | Op::Sinks
            ),
            _ => false,
        }
    }

    /// `huiyan::attention_weights` and the core `attention_weights` (per head and averaged)
    /// give `want` and leave the weights untouched.
    #[track_caller]
    fn expect_weights(&self, opts: &AttentionOptions<'_>, want: Error) {
        let [b, hq, lq, _] = self.dq;
        let lk = self.dk[2];
        for heads in [hq, 1] {
            let dims = [b, heads, lq, lk];
            let mut w = vec![SENTINEL; dims.iter().product()];
            let (q, k) = (
                Tensor4Ref::bhsd(&self.q, self.dq),
                Tensor4Ref::bhsd(&self.k, self.dk),
            );
            let got = huiyan::attention_weights(q, k, opts, Tensor4Mut::bhsd(&mut w, dims));
            assert_eq!(got, Err(want), "huiyan::attention_weights, {heads} heads");
            let mut ws = vec![0.0f32; lk];
            let got = huiyan_kernels::attention::attention_weights(
                q,
                k,
                opts,
                Tensor4Mut::bhsd(&mut w, dims),
                &mut ws,
            );
            assert_eq!(got, Err(want), "kernels attention_weights, {heads} heads");
            assert!(w.iter().all(|&x| x == SENTINEL), "weights written on error");
        }
    }

    #[track_caller]
    fn assert_untouched(&self) {
        assert!(
            self.o.iter().all(|&x| x == SENTINEL),
            "O was written on error"
        );
        assert!(
            self.lse.iter().all(|&x| x == SENTINEL),
            "lse was written on error"
        );
    }
}

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
fn attention_zero_scale() {
    Attn::small().expect(
        &AttentionOptions {
            scale: Some(0.0),
            ..Default::default()
        },
        Error::InvalidScale { scale: 0.0 },
    );
}

#[test]
fn attention_infinite_scale() {
    let s = f32::INFINITY;
    Attn::small().expect(
        &AttentionOptions {
            scale: Some(s),
            ..Default::default()
        },
        Error::InvalidScale { scale: s },
    );
}

#[test]
fn attention_nan_scale() {
    let mut p = Attn::small();
    let r = huiyan::attention(
        Tensor4Ref::bhsd(&p.q, p.dq),
        Tensor4Ref::bhsd(&p.k, p.dk),
        Tensor4Ref::bhsd(&p.v, p.dv),
        Tensor4Mut::bhsd(&mut p.o, p.do_),
        &AttentionOptions {
            scale: Some(f32::NAN),
            ..Default::default()
        },
        None,
    );
    // NaN != NaN, so match the variant and check the payload is NaN.
    assert!(
        matches!(r, Err(Error::InvalidScale { scale }) if scale.is_nan()),
        "{r:?}"
    );
    p.assert_untouched();
}

#[test]
fn attention_negative_softcap() {
    Attn::small().expect(
        &AttentionOptions {
            softcap: Some(-1.0),
            ..Default::default()
        },
        Error::InvalidSoftcap { softcap: -1.0 },
    );
}

#[test]
fn attention_zero_window() {
    Attn::small().expect(
        &AttentionOptions {
            window: Some(0),
            ..Default::default()
        },
        Error::ZeroWindow,
    );
}

#[test]
fn attention_padding_longer_than_keys() {
    let lens = [5usize, 6];
    Attn::small().expect(
        &AttentionOptions {
            key_padding_lens: Some(&lens),
            ..Default::default()
        },
        Error::PaddingTooLong {
            batch: 1,
            len: 6,
            len_kv: 5,
        },
    );
}

#[test]
fn attention_padding_slice_shorter_than_batch() {
    let lens = [5usize];
    Attn::small().expect(
        &AttentionOptions {
            key_padding_lens: Some(&lens),
            ..Default::default()
        },
        Error::SliceTooShort {
            operand: Operand::KeyPadding,
            needed: 2,
            got: 1,
        },
    );
}

#[test]
fn attention_mask_shape_mismatch() {
    let mask = vec![true; 3 * 6];
    let opts = AttentionOptions {
        attn_mask: Some(Tensor4Ref::bhsd(&mask, [1, 1, 3, 6])),
        ..Default::default()
    };
    Attn::small().expect(
        &opts,
        Error::BroadcastShape {
            operand: Operand::Mask,
            expected: [2, 4, 3, 5],
            got: [1, 1, 3, 6],
        },
    );
}

#[test]
fn attention_mask_slice_too_short() {
    let mask = vec![true; 14];
    let opts = AttentionOptions {
        attn_mask: Some(Tensor4Ref::bhsd(&mask, [1, 1, 3, 5])),
        ..Default::default()
    };
    Attn::small().expect(
        &opts,
        Error::SliceTooShort {
            operand: Operand::Mask,
            needed: 15,
            got: 14,
        },
    );
}

#[test]
fn attention_bias_shape_mismatch() {
    let bias = vec![0.0f32; 3 * 4 * 3 * 5];
    let opts = AttentionOptions {
        attn_bias: Some(Tensor4Ref::bhsd(&bias, [3, 4, 3, 5])),
        ..Default::default()
    };
    Attn::small().expect(
        &opts,
        Error::BroadcastShape {
            operand: Operand::Bias,
            expected: [2, 4, 3, 5],
            got: [3, 4, 3, 5],
        },
    );
}

#[test]
fn attention_alibi_slopes_too_short() {
    let slopes = [0.5f32; 3];
    Attn::small().expect(
        &AttentionOptions {
            alibi_slopes: Some(&slopes),
            ..Default::default()
        },
        Error::SliceTooShort {
            operand: Operand::AlibiSlopes,
            needed: 4,
            got: 3,
        },
    );
}

#[test]
fn attention_sinks_too_short() {
    let sinks: [f32; 0] = [];
    Attn::small().expect(
        &AttentionOptions {
            sinks: Some(&sinks),
            ..Default::default()
        },
        Error::SliceTooShort {
            operand: Operand::Sinks,
            needed: 4,
            got: 0,
        },
    );
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

// ---------------------------------------------------------------------------------------------
// Matmul

type MatmulFn = Box<dyn Fn(f32, MatRef<'_>, MatRef<'_>, f32, MatMut<'_>) -> Result<(), Error>>;

/// Every public matmul entry point: the reference, `huiyan::matmul`, and per ISA on this
/// machine `huiyan::matmul_with` and the core `gemm` (each must reject bad input identically).
fn matmul_entry_points() -> Vec<(String, MatmulFn)> {
    let mut v: Vec<(String, MatmulFn)> = vec![
        (
            "reference::matmul".into(),
            Box::new(huiyan::reference::matmul),
        ),
        ("huiyan::matmul".into(), Box::new(huiyan::matmul)),
    ];
    for k in dispatch::available() {
        let name = k.isa().name();
        v.push((
            format!("matmul_with({name})"),
            Box::new(move |al, a, b, be, c| huiyan::matmul_with(&k, al, a, b, be, c)),
        ));
        v.push((
            format!("kernels::gemm::gemm({name})"),
            Box::new(move |al, a, b, be, c| {
                let mut ws = vec![0.0f32; 1 << 16];
                huiyan_kernels::gemm::gemm(&k, al, a, b, be, c, &mut ws)
            }),
        ));
    }
    v
}

#[track_caller]
fn matmul_case(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c_rows: usize,
    c_cols: usize,
    c_strides: (usize, usize),
    c_len: usize,
    want: Error,
) {
    for (name, f) in matmul_entry_points() {
        let mut c = vec![SENTINEL; c_len];
        let got = f(
            1.0,
            a,
            b,
            0.0,
            MatMut::new(&mut c, c_rows, c_cols, c_strides.0, c_strides.1),
        );
        assert_eq!(got, Err(want), "{name}");
        assert!(
            c.iter().all(|&x| x == SENTINEL),
            "{name}: C written on error"
        );
    }
}

#[test]
fn matmul_inner_dimension_mismatch() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 8]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 4, 2),
        2,
        2,
        (2, 1),
        4,
        Error::DimMismatch {
            dim: Dim::K,
            expected: 3,
            got: 4,
        },
    );
}

#[test]
fn matmul_output_rows_mismatch() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        3,
        2,
        (2, 1),
        6,
        Error::DimMismatch {
            dim: Dim::M,
            expected: 2,
            got: 3,
        },
    );
}

#[test]
fn matmul_a_slice_too_short() {
    let (a, b) = (vec![1.0f32; 5], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        2,
        2,
        (2, 1),
        4,
        Error::SliceTooShort {
            operand: Operand::A,
            needed: 6,
            got: 5,
        },
    );
}

#[test]
fn matmul_b_strides_reach_past_slice() {
    // Column-major B with a leading dimension of 4: needs (2−1)·4 + 3 = 7 elements.
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::new(&b, 3, 2, 1, 4),
        2,
        2,
        (2, 1),
        4,
        Error::SliceTooShort {
            operand: Operand::B,
            needed: 7,
            got: 6,
        },
    );
}

#[test]
fn matmul_c_slice_too_short() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        2,
        2,
        (2, 1),
        3,
        Error::SliceTooShort {
            operand: Operand::C,
            needed: 4,
            got: 3,
        },
    );
}

#[test]
fn matmul_c_strides_alias() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        2,
        2,
        (1, 1),
        4,
        Error::AliasingStrides {
            operand: Operand::C,
            strides: [1, 1, 0, 0],
        },
    );
}

#[test]
fn matmul_dimension_product_overflows() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    let huge = usize::MAX / 2;
    matmul_case(
        MatRef::new(&a, huge, 3, 3, 1),
        MatRef::row_major(&b, 3, 2),
        huge,
        2,
        (2, 1),
        4,
        Error::Overflow {
            operand: Operand::A,
        },
    );
}

#[test]
fn matmul_c_overlaps_a() {
    for (name, f) in matmul_entry_points() {
        let mut buf = vec![SENTINEL; 32];
        let b = vec![1.0f32; 4];
        let p = buf.as_mut_ptr();
        // SAFETY: both views lie inside `buf` (32 elements) and only live for this call, which
        // detects the overlap and returns before touching either.
        let (a, c) = unsafe {
            (
                MatRef::from_raw_parts(p.add(2) as *const f32, 4, 2, 2, 2, 1),
                MatMut::from_raw_parts(p, 4, 2, 2, 2, 1),
            )
        };
        assert_eq!(
            f(1.0, a, MatRef::row_major(&b, 2, 2), 0.0, c),
            Err(Error::Overlap {
                output: Operand::C,
                input: Operand::A
            }),
            "{name}"
        );
        assert!(buf.iter().all(|&x| x == SENTINEL), "{name}");
    }
}

#[test]
fn matmul_c_overlaps_b() {
    for (name, f) in matmul_entry_points() {
        let mut buf = vec![SENTINEL; 32];
        let a = vec![1.0f32; 4];
        let p = buf.as_mut_ptr();
        // SAFETY: as in `matmul_c_overlaps_a`.
        let (b, c) = unsafe {
            (
                MatRef::from_raw_parts(p.add(10) as *const f32, 9, 2, 2, 1, 7),
                MatMut::from_raw_parts(p.add(16), 4, 2, 2, 2, 1),
            )
        };
        assert_eq!(
            f(1.0, MatRef::row_major(&a, 2, 2), b, 0.0, c),
            Err(Error::Overlap {
                output: Operand::C,
                input: Operand::B
            }),
            "{name}"
        );
        assert!(buf.iter().all(|&x| x == SENTINEL), "{name}");
    }
}

#[test]
fn matmul_zero_dimensions_are_blas_no_ops() {
    // m = 0 / n = 0: nothing to write. k = 0: C ← β·C, and β = 0 overwrites without reading.
    for (name, f) in matmul_entry_points() {
        let (a, b) = (Vec::<f32>::new(), Vec::<f32>::new());
        let mut c = vec![f32::NAN; 6];
        f(
            2.0,
            MatRef::row_major(&a, 2, 0),
            MatRef::row_major(&b, 0, 3),
            0.0,
            MatMut::row_major(&mut c, 2, 3),
        )
        .unwrap();
        assert_eq!(c, vec![0.0; 6], "{name}: k = 0, β = 0");
        let mut c = vec![4.0f32; 6];
        f(
            2.0,
            MatRef::row_major(&a, 2, 0),
            MatRef::row_major(&b, 0, 3),
            0.5,
            MatMut::row_major(&mut c, 2, 3),
        )
        .unwrap();
        assert_eq!(c, vec![2.0; 6], "{name}: k = 0, β = 0.5");
        let mut c = vec![SENTINEL; 3];
        f(
            1.0,
            MatRef::row_major(&a, 0, 4),
            MatRef::row_major(&[1.0; 12], 4, 3),
            0.0,
            MatMut::row_major(&mut c, 0, 3),
        )
        .unwrap();
        assert!(
            c.iter().all(|&x| x == SENTINEL),
            "{name}: m = 0 writes nothing"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Softmax

type SoftmaxFn = Box<
    dyn Fn(MatRef<'_>, MatMut<'_>, &SoftmaxOptions<'_>, Option<&mut [f32]>) -> Result<(), Error>,
>;

/// Every public out-of-place softmax entry point (reference, std, std and core per ISA).
fn softmax_entry_points() -> Vec<(String, SoftmaxFn)> {
    let mut v: Vec<(String, SoftmaxFn)> = vec![
        (
            "reference::softmax".into(),
            Box::new(huiyan::reference::softmax),
        ),
        ("huiyan::softmax".into(), Box::new(huiyan::softmax)),
    ];
    for k in dispatch::available() {
        let name = k.isa().name();
        v.push((
            format!("softmax_with({name})"),
            Box::new(move |x, y, o, l| huiyan::softmax_with(&k, x, y, o, l)),
        ));
        v.push((
            format!("kernels::softmax::softmax({name})"),
            Box::new(move |x, y, o, l| huiyan_kernels::softmax::softmax(&k, x, y, o, l)),
        ));
    }
    v
}

#[track_caller]
fn softmax_case(
    x: MatRef<'_>,
    y_shape: (usize, usize, usize, usize),
    y_len: usize,
    opts: &SoftmaxOptions<'_>,
    lse_len: usize,
    want: Error,
) {
    for (name, f) in softmax_entry_points() {
        let mut y = vec![SENTINEL; y_len];
        let mut lse = vec![SENTINEL; lse_len];
        let (r, c, rs, cs) = y_shape;
        let got = f(x, MatMut::new(&mut y, r, c, rs, cs), opts, Some(&mut lse));
        assert_eq!(got, Err(want), "{name}");
        assert!(
            y.iter().chain(&lse).all(|&v| v == SENTINEL),
            "{name}: output written on error"
        );
    }
}

#[test]
fn softmax_zero_scale() {
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions {
            scale: 0.0,
            ..Default::default()
        },
        2,
        Error::InvalidScale { scale: 0.0 },
    );
}

#[test]
fn softmax_infinite_scale() {
    let x = vec![1.0f32; 6];
    let s = f32::NEG_INFINITY;
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions {
            scale: s,
            ..Default::default()
        },
        2,
        Error::InvalidScale { scale: s },
    );
}

#[test]
fn softmax_output_shape_mismatch() {
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 2, 2, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::DimMismatch {
            dim: Dim::Cols,
            expected: 3,
            got: 2,
        },
    );
}

#[test]
fn softmax_row_stride_smaller_than_cols() {
    // Rows overlapping each other in the *output* alias elements.
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 2, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::AliasingStrides {
            operand: Operand::Y,
            strides: [2, 1, 0, 0],
        },
    );
}

#[test]
fn softmax_non_unit_column_stride() {
    let x = vec![1.0f32; 12];
    softmax_case(
        MatRef::new(&x, 2, 3, 6, 2),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::NonUnitStride {
            operand: Operand::X,
            stride: 2,
        },
    );
}

#[test]
fn softmax_input_too_short() {
    let x = vec![1.0f32; 5];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::SliceTooShort {
            operand: Operand::X,
            needed: 6,
            got: 5,
        },
    );
}

#[test]
fn softmax_mask_shape_mismatch() {
    let x = vec![1.0f32; 6];
    let mask = vec![true; 4];
    let opts = SoftmaxOptions {
        mask: Some(MatRef::row_major(&mask, 2, 2)),
        ..Default::default()
    };
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &opts,
        2,
        Error::BroadcastShape {
            operand: Operand::Mask,
            expected: [1, 1, 2, 3],
            got: [1, 1, 2, 2],
        },
    );
}

#[test]
fn softmax_bias_shape_mismatch() {
    let x = vec![1.0f32; 6];
    let bias = vec![0.0f32; 9];
    let opts = SoftmaxOptions {
        bias: Some(MatRef::row_major(&bias, 3, 3)),
        ..Default::default()
    };
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &opts,
        2,
        Error::BroadcastShape {
            operand: Operand::Bias,
            expected: [1, 1, 2, 3],
            got: [1, 1, 3, 3],
        },
    );
}

#[test]
fn softmax_lse_too_short() {
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions::default(),
        1,
        Error::SliceTooShort {
            operand: Operand::Lse,
            needed: 2,
            got: 1,
        },
    );
}

#[test]
fn softmax_output_overlaps_input() {
    for (name, f) in softmax_entry_points() {
        let mut buf = vec![SENTINEL; 16];
        let p = buf.as_mut_ptr();
        // SAFETY: both views lie in `buf` and live only for this call, which rejects the
        // overlap before touching memory.
        let (x, y) = unsafe {
            (
                MatRef::from_raw_parts(p as *const f32, 6, 2, 3, 3, 1),
                MatMut::from_raw_parts(p.add(4), 6, 2, 3, 3, 1),
            )
        };
        assert_eq!(
            f(x, y, &SoftmaxOptions::default(), None),
            Err(Error::Overlap {
                output: Operand::Y,
                input: Operand::X
            }),
            "{name}"
        );
        assert!(buf.iter().all(|&v| v == SENTINEL), "{name}");
    }
}

#[test]
fn errors_display_their_values() {
    let e = Error::PaddingTooLong {
        batch: 1,
        len: 6,
        len_kv: 5,
    };
    assert_eq!(
        e.to_string(),
        "key-padding length 6 of batch 1 exceeds Lk = 5"
    );
    let e: Box<dyn std::error::Error> = Box::new(Error::ZeroWindow);
    assert_eq!(e.to_string(), "sliding window of 0 keys");
}
