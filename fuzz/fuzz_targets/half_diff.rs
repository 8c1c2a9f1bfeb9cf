//! Differential, half precision: matmul with A and B each in `f32`, bf16 or f16 (B also
//! prepacked), and attention with K and V in bf16 or f16, on every ISA, against the same call
//! in `f32` on the widened values: the same bits (any NaN equals any NaN). Half-precision
//! inputs are arbitrary bit patterns — NaN, ±∞, subnormals, each format's extremes. The `f32`
//! calls are themselves checked against the reference by `matmul_diff` and `attention_diff`.
#![no_main]

use arbitrary::Arbitrary;
use huiyan::{bf16, f16, CausalVariant, Element, MatRef, Tensor4Ref};
use huiyan_testkit::problems::AttnShape;
use huiyan_testkit::{assert_bits_eq, AttnProblem, GemmProblem, Layout};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

#[derive(Arbitrary, Debug)]
struct Input {
    attention: bool,
    /// Element types of A and B (matmul) or of K and V (attention): 0 f32, 1 bf16, 2 f16.
    types: (u8, u8),
    /// m, n, k (matmul) or Lq, D, Lk (attention).
    dims: (u8, u8, u8),
    alpha: u8,
    beta: u8,
    layouts: [(bool, u8); 3],
    causal: Option<bool>,
    data: Vec<u8>,
}

/// `n` values for an operand of type `kind`: `f32` values from bytes (specials included), or
/// half-precision bit patterns (two bytes each, cycled) widened.
fn operand(kind: u8, bytes: &[u8], n: usize) -> Vec<f32> {
    let bits = |i: usize| {
        let at = |j: usize| bytes.get(j % bytes.len().max(1)).copied().unwrap_or(0);
        u16::from_le_bytes([at(2 * i), at(2 * i + 1)])
    };
    match kind % 3 {
        0 => common::values(bytes, n),
        1 => (0..n).map(|i| bf16::from_bits(bits(i)).to_f32()).collect(),
        _ => (0..n).map(|i| f16::from_bits(bits(i)).to_f32()).collect(),
    }
}

/// A matmul with A as `TA` and B as `TB` against the same call in `f32`, unpacked and with
/// B prepacked. `p` holds values exact in those types (its gaps NaN).
fn matmul<TA: Element, TB: Element>(p: &GemmProblem, ra: fn(f32) -> TA, rb: fn(f32) -> TB) {
    let ah: Vec<TA> = p.a.iter().map(|&x| ra(x)).collect();
    let bh: Vec<TB> = p.b.iter().map(|&x| rb(x)).collect();
    let (rsa, csa, _) = p.a_layout.strides(p.m, p.k);
    let (rsb, csb, _) = p.b_layout.strides(p.k, p.n);
    let a = MatRef::new(&ah, p.m, p.k, rsa, csa);
    let b = MatRef::new(&bh, p.k, p.n, rsb, csb);
    for kern in common::kernels() {
        let name = kern.isa().name();
        let mut want = p.new_c();
        huiyan::matmul_with(&kern, p.alpha, p.a(), p.b(), p.beta, p.c_view(&mut want))
            .expect("valid problem");
        let mut got = p.new_c();
        huiyan::matmul_with(&kern, p.alpha, a, b, p.beta, p.c_view(&mut got)).expect("valid");
        assert_bits_eq(&got, &want, name);
        let pb = huiyan::PackedB::with_kernels(&kern, b).expect("valid B");
        let mut got = p.new_c();
        huiyan::matmul_packed(p.alpha, a, &pb, p.beta, p.c_view(&mut got), None).expect("valid");
        assert_bits_eq(&got, &want, name);
    }
}

/// An attention call with K and V as `E` against the same call in `f32`.
fn attention<E: Element>(p: &AttnProblem, round: fn(f32) -> E) {
    let (kd, vd) = (p.shape.k_dims(), p.shape.v_dims());
    let kh: Vec<E> = p.k.iter().map(|&x| round(x)).collect();
    let vh: Vec<E> = p.v.iter().map(|&x| round(x)).collect();
    let k = Tensor4Ref::new(&kh, kd, p.k_layout.strides(kd).0);
    let v = Tensor4Ref::new(&vh, vd, p.v_layout.strides(vd).0);
    for kern in common::kernels() {
        let (want, want_lse) = call(&kern, p, p.k(), p.v());
        let (got, got_lse) = call(&kern, p, k, v);
        assert_bits_eq(&got, &want, kern.isa().name());
        assert_bits_eq(&got_lse, &want_lse, kern.isa().name());
    }
}

/// O (gaps included) and lse of `p` with K and V given as `k`, `v`.
fn call<T: Element>(
    kern: &huiyan::dispatch::Kernels,
    p: &AttnProblem,
    k: Tensor4Ref<'_, T>,
    v: Tensor4Ref<'_, T>,
) -> (Vec<f32>, Vec<f32>) {
    let mut o = p.new_output();
    let mut lse = p.new_lse();
    huiyan::attention_with(kern, p.q(), k, v, p.o_view(&mut o), &p.options(), lse.as_deref_mut())
        .expect("valid");
    (o, lse.unwrap_or_default())
}

fuzz_target!(|inp: Input| {
    let d = &inp.data;
    let (x, y, z) = (inp.dims.0 as usize, inp.dims.1 as usize, inp.dims.2 as usize);
    let third = &d[d.len() / 3..];
    let half = &d[d.len() / 2..];
    if inp.attention {
        let shape = AttnShape {
            batch: 1,
            heads_kv: 1 + inp.alpha as usize % 2,
            heads_q: (1 + inp.alpha as usize % 2) * (1 + inp.beta as usize % 3),
            len_q: x % 40,
            len_kv: z % 200,
            dim_qk: 1 + y % 40,
            dim_v: 1 + y % 40,
        };
        let n = |d: [usize; 4]| d.iter().product::<usize>();
        // K and V share one type (a KV cache); `types.0` picks it, bf16 for `f32`.
        let kind = if inp.types.0 % 3 == 2 { 2 } else { 1 };
        let mut p = AttnProblem::new(
            shape,
            &common::values(d, n(shape.q_dims())),
            &operand(kind, third, n(shape.k_dims())),
            &operand(kind, half, n(shape.v_dims())),
        );
        if let Some(lr) = inp.causal {
            p.is_causal = true;
            p.causal_variant = if lr {
                CausalVariant::LowerRight
            } else {
                CausalVariant::UpperLeft
            };
        }
        p.want_lse = inp.beta % 2 == 0;
        if kind == 2 {
            attention(&p, f16::from_f32);
        } else {
            attention(&p, bf16::from_f32);
        }
        return;
    }
    let (m, n, k) = (x % 48, y % 48, z % 80);
    let pick = |b: u8| [0.0f32, 1.0, -1.0, 0.5, 2.5][b as usize % 5];
    let lay = inp.layouts.map(|(col_major, pad)| Layout {
        col_major,
        pad: pad as usize % 3,
    });
    let (ka, kb) = (inp.types.0 % 3, inp.types.1 % 3);
    let a = operand(ka, d, m * k);
    let b = operand(kb, third, k * n);
    let c = common::values(half, m * n);
    let p = GemmProblem::new((m, n, k), pick(inp.alpha), pick(inp.beta), &a, &b, &c, lay);
    let (f, bf, hf): (fn(f32) -> f32, fn(f32) -> bf16, fn(f32) -> f16) =
        (|x| x, bf16::from_f32, f16::from_f32);
    match (ka, kb) {
        (0, 0) => matmul(&p, f, f),
        (0, 1) => matmul(&p, f, bf),
        (0, _) => matmul(&p, f, hf),
        (1, 0) => matmul(&p, bf, f),
        (1, 1) => matmul(&p, bf, bf),
        (1, _) => matmul(&p, bf, hf),
        (_, 0) => matmul(&p, hf, f),
        (_, 1) => matmul(&p, hf, bf),
        _ => matmul(&p, hf, hf),
    }
});
