//! K and V stored in bf16 or f16 (a half-precision KV cache), and Q and O in half precision,
//! on every ISA of this machine.
//!
//! Widening a half to `f32` is exact, and every path computes in `f32` after it, so a call on
//! half-precision K and V must give **the same bits** as the `f32` call on the widened values:
//! O, lse, and the untouched gaps of O — decode, single-block and tile paths, every option,
//! strided layouts, NaN in masked rows. The `f32` call on the widened values is in turn checked
//! against the `f64` reference (the semantics: the reference on the rounded inputs).

use huiyan::dispatch::{self, Kernels};
use huiyan::{bf16, f16, Element, Tensor4Ref};
use huiyan_testkit::strategies::{self, AttnLimits};
use huiyan_testkit::{assert_within, proptest_cases, AttnProblem, Rng};
use proptest::prelude::*;

/// O (the whole buffer, gaps included) and lse of `p` with K and V replaced by `k`, `v` (same
/// layouts).
fn run<E: Element>(kern: &Kernels, p: &AttnProblem, k: &[E], v: &[E]) -> (Vec<f32>, Vec<f32>) {
    let (kd, vd) = (p.shape.k_dims(), p.shape.v_dims());
    let kt = Tensor4Ref::new(k, kd, p.k_layout.strides(kd).0);
    let vt = Tensor4Ref::new(v, vd, p.v_layout.strides(vd).0);
    let mut o = p.new_output();
    let mut lse = p.new_lse();
    huiyan::attention_with(
        kern,
        p.q(),
        kt,
        vt,
        p.o_view(&mut o),
        &p.options(),
        lse.as_deref_mut(),
    )
    .unwrap();
    (o, lse.unwrap_or_default())
}

fn same_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{what}: element {i}: half-precision KV gave {g:e}, f32 on the widened values {w:e}"
        );
    }
}

/// `p` with K and V rounded to `E` (`round`: nearest even) and widened back: the problem the
/// half-precision call solves.
fn rounded<E: Element>(p: &AttnProblem, round: fn(f32) -> E) -> (AttnProblem, Vec<E>, Vec<E>) {
    let (k, v): (Vec<E>, Vec<E>) = (
        p.k.iter().map(|&x| round(x)).collect(),
        p.v.iter().map(|&x| round(x)).collect(),
    );
    let mut w = p.clone();
    w.k = k.iter().map(|x| x.widen()).collect();
    w.v = v.iter().map(|x| x.widen()).collect();
    (w, k, v)
}

fn check_type<E: Element>(kern: &Kernels, p: &AttnProblem, round: fn(f32) -> E, name: &str) {
    let (w, k, v) = rounded(p, round);
    let ctx = format!("{name} K/V, {} {:?}", kern.isa().name(), p.shape);
    let (o32, l32) = run(kern, &w, &w.k, &w.v);
    let (oh, lh) = run(kern, &w, &k, &v);
    same_bits(&oh, &o32, &format!("O, {ctx}"));
    same_bits(&lh, &l32, &format!("lse, {ctx}"));
    // The widened problem against the reference, where rounding kept every used value finite
    // (f16 overflows above 65504; the bounds assume the f32 problem's magnitudes).
    if w.k.iter().chain(&w.v).all(|x| x.is_finite() || x.is_nan()) {
        let (want, want_lse) = w.reference();
        let (bo, bl) = w.bounds();
        assert_within(
            &w.gather_o(&oh),
            &want,
            &bo,
            &format!("O vs reference, {ctx}"),
        );
        if let Some(wl) = &want_lse {
            assert_within(&lh, wl, &bl, &format!("lse vs reference, {ctx}"));
        }
        w.assert_o_gaps_untouched(&oh);
    }
}

/// Q stored as `Q` (widened first) and O as `O` (the `f32` result rounded once, its gaps
/// untouched), K and V in `f32`: the bits of the `f32` call on the widened Q, rounded.
fn check_q_and_o<Q: Element, O: Element>(kern: &Kernels, p: &AttnProblem, name: &str) {
    let qh: Vec<Q> = p.q.iter().map(|&x| Q::narrow(x)).collect();
    let mut w = p.clone();
    w.q = qh.iter().map(|x| x.widen()).collect();
    let (o32, l32) = run(kern, &w, &w.k, &w.v);
    let (qd, od) = (w.shape.q_dims(), w.shape.o_dims());
    let mut oh: Vec<O> = w.new_output().iter().map(|&x| O::narrow(x)).collect();
    let mut lse = w.new_lse();
    huiyan::attention_with(
        kern,
        Tensor4Ref::new(&qh, qd, w.q_layout.strides(qd).0),
        w.k(),
        w.v(),
        huiyan::Tensor4Mut::new(&mut oh, od, w.o_layout.strides(od).0),
        &w.options(),
        lse.as_deref_mut(),
    )
    .unwrap();
    let got: Vec<f32> = oh.iter().map(|x| x.widen()).collect();
    let want: Vec<f32> = o32.iter().map(|&x| O::narrow(x).widen()).collect();
    let ctx = format!("{name}, {} {:?}", kern.isa().name(), p.shape);
    same_bits(&got, &want, &format!("O, {ctx}"));
    same_bits(&lse.unwrap_or_default(), &l32, &format!("lse, {ctx}"));
}

fn check(kern: &Kernels, p: &AttnProblem) {
    check_type(kern, p, bf16::from_f32, "bf16");
    check_type(kern, p, f16::from_f32, "f16");
    check_q_and_o::<bf16, bf16>(kern, p, "bf16 Q, bf16 O");
    check_q_and_o::<f16, f32>(kern, p, "f16 Q, f32 O");
    check_q_and_o::<f32, f16>(kern, p, "f32 Q, f16 O");
}

fn kernels() -> Vec<Kernels> {
    dispatch::under_test()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(24)))]

    #[test]
    fn every_option_small(p in strategies::attn_problem(AttnLimits::SMALL)) {
        for k in kernels() { check(&k, &p); }
    }

    #[test]
    fn every_option_across_tiles(p in strategies::attn_problem(AttnLimits::TILES)) {
        for k in kernels() { check(&k, &p); }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(6)))]

    /// Keys past the single-block path: K and V widened while the tile path packs them.
    #[test]
    fn every_option_on_long_keys(p in strategies::attn_problem(AttnLimits::LONG_KEYS)) {
        for k in kernels() { check(&k, &p); }
    }

    /// Decode: K rows and V blocks widened into the task's buffers, across KV chunks.
    #[test]
    fn decode_shapes(
        lq in 1usize..=4, lk in prop_oneof![1usize..40, 1020usize..1030, 2047usize..2050],
        hkv in 1usize..3, group in prop_oneof![Just(1usize), Just(4)],
        d in prop_oneof![Just(16usize), Just(33), Just(128)],
        seed in 0u64..1 << 20,
    ) {
        let mut p = seeded(hkv * group, hkv, lq, lk, d, seed);
        p.is_causal = seed % 3 == 0;
        p.causal_variant = huiyan::CausalVariant::LowerRight;
        p.window = (seed % 5 == 0).then_some(300);
        p.sinks = (seed % 7 == 0).then(|| vec![0.5; hkv * group]);
        p.want_lse = seed % 2 == 0;
        for k in kernels() { check(&k, &p); }
    }
}

/// One batch, values uniform in [−1, 1) from `Rng::new(seed)`, `dk = dv = d`.
fn seeded(hq: usize, hkv: usize, lq: usize, lk: usize, d: usize, seed: u64) -> AttnProblem {
    let mut rng = Rng::new(seed);
    let mut gen = |n: usize| rng.uniform_vec(n, -1.0, 1.0);
    let shape = huiyan_testkit::problems::AttnShape {
        batch: 1,
        heads_q: hq,
        heads_kv: hkv,
        len_q: lq,
        len_kv: lk,
        dim_qk: d,
        dim_v: d,
    };
    let (q, k, v) = (gen(hq * lq * d), gen(hkv * lk * d), gen(hkv * lk * d));
    AttnProblem::new(shape, &q, &k, &v)
}

/// A NaN in V rows that every query masks (padding) never reaches O, on all three paths, with
/// the NaN stored in half precision.
#[test]
fn nan_in_masked_half_values_never_reaches_the_output() {
    for (lq, lk) in [(1, 300), (40, 200), (40, 700)] {
        let mut p = seeded(2, 1, lq, lk, 32, 7);
        let visible = lk - 37;
        for j in visible..lk {
            for e in 0..32 {
                let at = p.v_layout.strides(p.shape.v_dims()).0;
                p.v[j * at[2] + e * at[3]] = f32::NAN;
            }
        }
        p.key_padding_lens = Some(vec![visible]);
        for k in kernels() {
            check(&k, &p);
            let (_, kh, vh) = rounded(&p, f16::from_f32);
            let (o, _) = run(&k, &p, &kh, &vh);
            assert!(
                p.gather_o(&o).iter().all(|x| x.is_finite()),
                "lq {lq} lk {lk}"
            );
        }
    }
}

/// The widening is exact on every f16 and bf16 value a cache can hold, subnormals and
/// infinities included: a one-key call returns the key's V row (the weight is exactly 1;
/// `−0` comes back as `+0`, the sum it is added to starting at `+0`).
#[test]
fn every_half_value_passes_through_exactly() {
    let d = 256;
    for k in kernels() {
        for chunk in (0..=u16::MAX).collect::<Vec<u16>>().chunks(d) {
            let q = vec![0.0f32; d];
            let kk = vec![f16::ZERO; d];
            let vf: Vec<f16> = chunk.iter().map(|&b| f16::from_bits(b)).collect();
            let vb: Vec<bf16> = chunk.iter().map(|&b| bf16::from_bits(b)).collect();
            let n = chunk.len();
            let qt = Tensor4Ref::bhsd(&q[..n], [1, 1, 1, n]);
            let mut o = vec![0.0f32; n];
            let opts = huiyan::AttentionOptions::default();
            huiyan::attention_with(
                &k,
                qt,
                Tensor4Ref::bhsd(&kk[..n], [1, 1, 1, n]),
                Tensor4Ref::bhsd(&vf, [1, 1, 1, n]),
                huiyan::Tensor4Mut::bhsd(&mut o, [1, 1, 1, n]),
                &opts,
                None,
            )
            .unwrap();
            for (x, h) in o.iter().zip(&vf) {
                let w = h.to_f32();
                assert!(*x == w || (x.is_nan() && w.is_nan()), "f16 {h:?}");
            }
            let kb = vec![bf16::ZERO; n];
            huiyan::attention_with(
                &k,
                qt,
                Tensor4Ref::bhsd(&kb, [1, 1, 1, n]),
                Tensor4Ref::bhsd(&vb, [1, 1, 1, n]),
                huiyan::Tensor4Mut::bhsd(&mut o, [1, 1, 1, n]),
                &opts,
                None,
            )
            .unwrap();
            for (x, h) in o.iter().zip(&vb) {
                let w = h.to_f32();
                assert!(*x == w || (x.is_nan() && w.is_nan()), "bf16 {h:?}");
            }
        }
    }
}
