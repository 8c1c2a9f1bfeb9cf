//! The multi-head attention layer and attention pooling against a composition of the
//! references (reference matmul projections → reference attention → reference matmul), within
//! the composite bound of `huiyan_testkit::layer`.

use huiyan::{
    bf16, f16, AttentionOptions, AttentionPool, Dim, Element, Error, MhaConfig, MhaWeights,
    MultiHeadAttention, NeedWeights, Operand, Tensor4Mut, Tensor4Ref,
};
use huiyan_testkit::problems::AttnShape;
use huiyan_testkit::{assert_bits_eq, assert_within, AttnProblem, LayerProblem, LayerShape, Rng};
use proptest::prelude::*;

/// The layer's weights, borrowed from `p`.
fn weights(p: &LayerProblem) -> MhaWeights<'_> {
    MhaWeights {
        wq: &p.w[0],
        wk: &p.w[1],
        wv: &p.w[2],
        wo: &p.w[3],
        bq: p.b[0].as_deref(),
        bk: p.b[1].as_deref(),
        bv: p.b[2].as_deref(),
        bo: p.b[3].as_deref(),
    }
}

/// A layer problem with weights, biases (when `bias`) and inputs uniform in [−1, 1) from
/// `seed`; self attention (key = value = query input) unless `cross`.
fn random_problem(shape: LayerShape, bias: bool, cross: bool, seed: u64) -> LayerProblem {
    let mut rng = Rng::new(seed);
    let mut vals = |n: usize| rng.uniform_vec(n, -1.0, 1.0);
    let w = shape.projections().map(|[inp, out]| vals(out * inp));
    let b = shape.projections().map(|[_, out]| bias.then(|| vals(out)));
    let [xq, xk, xv] = shape.inputs().map(|[rows, f]| vals(rows * f));
    let x = if cross {
        [xq, xk, xv]
    } else {
        [xq.clone(), xq.clone(), xq]
    };
    LayerProblem::new(shape, w, b, x)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(huiyan_testkit::proptest_cases(48)))]

    #[test]
    fn layer_equals_reference_composition(
        heads in 1usize..5, group in prop_oneof![Just(1usize), Just(2)], d in 1usize..9,
        kdim in 1usize..12, vdim in 1usize..12, cross in any::<bool>(),
        b in 1usize..3, lq in 1usize..7, lk in 1usize..9, bias in any::<bool>(),
        causal in any::<bool>(), pad in any::<bool>(), seed in 0u64..1000,
    ) {
        let hq = heads * group;
        let e = hq * d;
        let mut cfg = MhaConfig::new(e, hq).unwrap().with_kv_heads(heads);
        let lk = if cross { cfg = cfg.with_kv_dims(kdim, vdim); lk } else { lq };
        let shape = LayerShape {
            embed_dim: cfg.embed_dim, num_heads: cfg.num_heads, num_kv_heads: cfg.num_kv_heads,
            head_dim: cfg.head_dim, kdim: cfg.kdim, vdim: cfg.vdim, batch: b, len_q: lq, len_kv: lk,
        };
        let mut p = random_problem(shape, bias, cross, seed);
        p.is_causal = causal;
        p.key_padding_lens = pad.then(|| (0..b).map(|i| (lk + i) % (lk + 1)).collect());
        p.want_weights = true;
        let want = p.expected();
        let (want_w, want_wb) = want.weights.as_ref().unwrap();
        let (want_avg, want_avgb) = want.averaged_weights.as_ref().unwrap();
        let mut mha = MultiHeadAttention::new(cfg, &weights(&p)).unwrap();
        let [q, k, v] = &p.x;
        let opts = p.options();
        // Every tier this machine has (and the one HUIYAN_FORCE_ISA pins), not just the
        // dispatched one: the layer's projections and attention run on the table it is given.
        for kern in huiyan::dispatch::under_test() {
            let isa = kern.isa().name();
            let mut out = vec![f32::NAN; shape.output_len()];
            let mut w = vec![f32::NAN; shape.weights_len()];
            mha.forward_with(&kern, q, k, v, b, lq, lk, &opts, &mut out, NeedWeights::PerHead, Some(&mut w)).unwrap();
            assert_within(&out, &want.y, &want.y_bounds, &format!("{isa}: layer output"));
            assert_within(&w, want_w, want_wb, &format!("{isa}: weights per head"));
            // Weight rows sum to 1, or are all 0 for a fully masked query.
            for (r, row) in w.chunks(lk).enumerate() {
                let s: f32 = row.iter().sum();
                prop_assert!((s - 1.0).abs() < 1e-5 || row.iter().all(|&x| x == 0.0), "{isa}: row {r} sums to {s}");
                prop_assert!(row.iter().all(|&x| (0.0..=1.0 + 1e-6).contains(&x)));
            }
            // Averaged weights are the mean over heads.
            let mut avg = vec![0.0f32; shape.averaged_weights_len()];
            mha.forward_with(&kern, q, k, v, b, lq, lk, &opts, &mut out, NeedWeights::Averaged, Some(&mut avg)).unwrap();
            assert_within(&avg, want_avg, want_avgb, &format!("{isa}: averaged weights"));
            for bi in 0..b {
                for x in 0..lq * lk {
                    let mean = (0..hq).map(|h| w[(bi * hq + h) * lq * lk + x]).sum::<f32>() / hq as f32;
                    prop_assert!((avg[bi * lq * lk + x] - mean).abs() < 1e-6, "{isa}");
                }
            }
        }
    }

    #[test]
    fn pooling_equals_reference_attention(b in 1usize..4, l in 1usize..9, e in 1usize..17, pad in any::<bool>(), seed in 0u64..1000) {
        let mut rng = Rng::new(seed);
        let x = rng.uniform_vec(b * l * e, -1.0, 1.0);
        let query = rng.uniform_vec(e, -1.0, 1.0);
        let lens: Vec<usize> = (0..b).map(|i| (l + 2 * i) % (l + 1)).collect();
        let lens = pad.then_some(lens);
        let mut out = vec![f32::NAN; b * e];
        AttentionPool::new(query.clone()).unwrap().forward(&x, b, l, lens.as_deref(), &mut out).unwrap();
        // Reference: attention of the query (the same for every batch entry) over each
        // sequence, K = V = the sequence, padding as the lengths say.
        let shape = AttnShape { batch: b, heads_q: 1, heads_kv: 1, len_q: 1, len_kv: l, dim_qk: e, dim_v: e };
        let mut p = AttnProblem::new(shape, &query.repeat(b), &x, &x);
        p.key_padding_lens = lens;
        let (want, _) = p.reference();
        assert_within(&out, &want, &p.bounds().0, "pooling");
    }
}

/// A layer built from bf16 or f16 weights (biases too), run on bf16 or f16 (or `f32`) inputs,
/// gives the bits of the `f32` layer built from the widened weights on the widened inputs, on
/// every tier; the `f32` layer itself is checked against the references above.
#[test]
fn half_precision_weights_and_inputs_give_the_bits_of_f32() {
    fn run<W: Element, X: Element>(rw: fn(f32) -> W, rx: fn(f32) -> X, name: &str) {
        for (seed, cross, causal) in [(1, false, false), (2, true, false), (3, false, true)] {
            let shape = LayerShape {
                embed_dim: 24,
                num_heads: 6,
                num_kv_heads: 3,
                head_dim: 4,
                kdim: if cross { 10 } else { 24 },
                vdim: if cross { 7 } else { 24 },
                batch: 2,
                len_q: 5,
                len_kv: if cross { 9 } else { 5 },
            };
            let p = random_problem(shape, true, cross, seed);
            let wh: [Vec<W>; 4] = p.w.clone().map(|w| w.iter().map(|&x| rw(x)).collect());
            let bh: [Vec<W>; 4] =
                p.b.clone()
                    .map(|b| b.unwrap().iter().map(|&x| rw(x)).collect());
            let xh: [Vec<X>; 3] = p.x.clone().map(|x| x.iter().map(|&v| rx(v)).collect());
            let widen = |v: &[W]| v.iter().map(|x| x.widen()).collect::<Vec<f32>>();
            let (w32, b32) = (
                wh.each_ref().map(|w| widen(w)),
                bh.each_ref().map(|b| widen(b)),
            );
            let x32: [Vec<f32>; 3] = xh.each_ref().map(|x| x.iter().map(|v| v.widen()).collect());
            let cfg = MhaConfig::new(24, 6)
                .unwrap()
                .with_kv_heads(3)
                .with_kv_dims(shape.kdim, shape.vdim);
            let mut half = MultiHeadAttention::new(
                cfg,
                &MhaWeights {
                    wq: &wh[0],
                    wk: &wh[1],
                    wv: &wh[2],
                    wo: &wh[3],
                    bq: Some(&bh[0]),
                    bk: Some(&bh[1]),
                    bv: Some(&bh[2]),
                    bo: Some(&bh[3]),
                },
            )
            .unwrap();
            let mut full = MultiHeadAttention::new(
                cfg,
                &MhaWeights {
                    wq: &w32[0],
                    wk: &w32[1],
                    wv: &w32[2],
                    wo: &w32[3],
                    bq: Some(&b32[0]),
                    bk: Some(&b32[1]),
                    bv: Some(&b32[2]),
                    bo: Some(&b32[3]),
                },
            )
            .unwrap();
            let opts = AttentionOptions {
                is_causal: causal,
                ..Default::default()
            };
            let (b, lq, lk) = (shape.batch, shape.len_q, shape.len_kv);
            for kern in huiyan::dispatch::under_test() {
                let ctx = format!("{name} {} seed {seed}", kern.isa().name());
                let mut got = vec![f32::NAN; shape.output_len()];
                let mut want = vec![f32::NAN; shape.output_len()];
                let [q, k, v] = &xh;
                half.forward_with(
                    &kern,
                    q,
                    k,
                    v,
                    b,
                    lq,
                    lk,
                    &opts,
                    &mut got,
                    NeedWeights::No,
                    None,
                )
                .unwrap();
                let [q, k, v] = &x32;
                full.forward_with(
                    &kern,
                    q,
                    k,
                    v,
                    b,
                    lq,
                    lk,
                    &opts,
                    &mut want,
                    NeedWeights::No,
                    None,
                )
                .unwrap();
                assert_bits_eq(&got, &want, &ctx);
            }
        }
    }
    run(bf16::from_f32, bf16::from_f32, "bf16 weights, bf16 inputs");
    run(f16::from_f32, f16::from_f32, "f16 weights, f16 inputs");
    run(bf16::from_f32, |x| x, "bf16 weights, f32 inputs");
    run(|x| x, f16::from_f32, "f32 weights, f16 inputs");
}

fn eye(n: usize) -> Vec<f32> {
    (0..n * n)
        .map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect()
}

/// E = 8, 2 heads, every projection the identity, no biases: the output is attention over the
/// raw inputs.
fn identity_layer() -> MultiHeadAttention {
    let w = eye(8);
    MultiHeadAttention::new(
        MhaConfig::new(8, 2).unwrap(),
        &MhaWeights {
            wq: &w,
            wk: &w,
            wv: &w,
            wo: &w,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn layer_rejects_embed_dim_not_divisible_by_heads() {
    assert_eq!(
        MhaConfig::new(10, 4),
        Err(Error::NotDivisible {
            dim: Dim::Embed,
            value: 10,
            divisor: 4
        })
    );
}

#[test]
fn layer_rejects_kv_heads_not_dividing_heads() {
    let cfg = MhaConfig::new(12, 3).unwrap().with_kv_heads(2);
    let w = eye(12);
    let ws = MhaWeights {
        wq: &w,
        wk: &w,
        wv: &w,
        wo: &w,
        ..Default::default()
    };
    assert_eq!(
        MultiHeadAttention::new(cfg, &ws).unwrap_err(),
        Error::HeadsNotDivisible {
            heads_q: 3,
            heads_kv: 2
        }
    );
}

#[test]
fn layer_rejects_wrong_weight_lengths() {
    let cfg = MhaConfig::new(8, 2).unwrap();
    let (w, short) = (eye(8), vec![0.0f32; 63]);
    let ws = MhaWeights {
        wq: &w,
        wk: &w,
        wv: &short,
        wo: &w,
        ..Default::default()
    };
    assert_eq!(
        MultiHeadAttention::new(cfg, &ws).unwrap_err(),
        Error::SliceTooShort {
            operand: Operand::Wv,
            needed: 64,
            got: 63
        }
    );
    let bias = vec![0.0f32; 7];
    let ws = MhaWeights {
        wq: &w,
        wk: &w,
        wv: &w,
        wo: &w,
        bo: Some(&bias),
        ..Default::default()
    };
    assert_eq!(
        MultiHeadAttention::new(cfg, &ws).unwrap_err(),
        Error::SliceTooShort {
            operand: Operand::ProjBias,
            needed: 8,
            got: 7
        }
    );
}

#[test]
fn layer_rejects_mismatched_batch_and_leaves_output() {
    let mut mha = identity_layer();
    let q = vec![0.5f32; 2 * 3 * 8]; // batch 2
    let kv = vec![0.5f32; 3 * 8]; // batch 1 only
    let mut out = vec![7.0f32; 2 * 3 * 8];
    let r = mha.forward(
        &q,
        &kv,
        &kv,
        2,
        3,
        3,
        &AttentionOptions::default(),
        &mut out,
        NeedWeights::No,
        None,
    );
    assert_eq!(
        r,
        Err(Error::SliceTooShort {
            operand: Operand::Context,
            needed: 48,
            got: 24
        })
    );
    assert!(out.iter().all(|&x| x == 7.0));
}

#[test]
fn layer_refuses_weights_above_the_limit() {
    let mut mha = identity_layer();
    let (l, b) = (8192, 1);
    let x = vec![0.0f32; b * l * 8];
    let mut out = vec![7.0f32; b * l * 8];
    let r = mha.forward(
        &x,
        &x,
        &x,
        b,
        l,
        l,
        &AttentionOptions::default(),
        &mut out,
        NeedWeights::PerHead,
        None,
    );
    assert_eq!(
        r,
        Err(Error::TooLarge {
            operand: Operand::Weights,
            elements: 2 * l * l,
            limit: huiyan::MAX_WEIGHTS_ELEMENTS
        })
    );
    assert!(out.iter().all(|&x| x == 7.0));
}

#[test]
fn layer_rejects_bad_attention_options_before_writing() {
    let mut mha = identity_layer();
    let x = vec![0.5f32; 3 * 8];
    let mut out = vec![7.0f32; 3 * 8];
    let opts = AttentionOptions {
        window: Some(0),
        ..Default::default()
    };
    assert_eq!(
        mha.forward(&x, &x, &x, 1, 3, 3, &opts, &mut out, NeedWeights::No, None),
        Err(Error::ZeroWindow)
    );
    assert!(out.iter().all(|&x| x == 7.0));
}

#[test]
fn pooling_of_empty_sequence_is_zero() {
    let pool = AttentionPool::new(vec![1.0, 2.0]).unwrap();
    let x = vec![3.0f32; 2 * 2 * 2];
    let mut out = vec![f32::NAN; 4];
    pool.forward(&x, 2, 2, Some(&[0, 2]), &mut out).unwrap();
    assert_eq!(&out[..2], &[0.0, 0.0]);
    assert!((out[2] - 3.0).abs() < 1e-6);
}

/// Regression (found by `fuzz/mha_layer`): attention weights over an empty key sequence
/// (`len_kv = 0`) are an empty tensor, not `Err(ZeroDim { DimV })`; and with `batch = 0` a
/// huge `len_kv` must not allocate the `len_kv × len_kv` identity behind the weights.
#[test]
fn layer_weights_of_empty_key_sequence_are_empty_not_an_error() {
    let mut mha = identity_layer();
    let q = vec![0.5f32; 3 * 8];
    let mut out = vec![7.0f32; 3 * 8];
    for need in [NeedWeights::PerHead, NeedWeights::Averaged] {
        let opts = AttentionOptions::default();
        mha.forward(&q, &[], &[], 1, 3, 0, &opts, &mut out, need, Some(&mut []))
            .unwrap();
        // No key to attend to: O = 0, so the output is 0 (no output bias).
        assert!(out.iter().all(|&x| x == 0.0), "{need:?}: {out:?}");
        // Batch 0: nothing to compute, whatever len_kv says.
        mha.forward::<f32>(
            &[],
            &[],
            &[],
            0,
            3,
            1 << 20,
            &opts,
            &mut [],
            need,
            Some(&mut []),
        )
        .unwrap();
    }
}

/// Regression, from fuzz/mha_layer (artifact `crash-267ee3b4…`): with an empty weights tensor
/// (`batch = 0`) a raw `len_kv` near 2⁶⁰ sized the weights' logit row and aborted on the
/// allocation. An empty weights tensor needs no row, whatever `len_kv` says.
#[test]
fn fuzz_mha_layer_empty_weights_with_huge_len_kv_allocate_nothing() {
    let mut mha = identity_layer();
    let opts = AttentionOptions::default();
    for need in [NeedWeights::PerHead, NeedWeights::Averaged] {
        let r = mha.forward::<f32>(
            &[],
            &[],
            &[],
            0,
            3,
            1 << 60,
            &opts,
            &mut [],
            need,
            Some(&mut []),
        );
        assert_eq!(r, Ok(()), "{need:?}");
    }
    // The free function: Lq = 0 against 2⁶⁰ keys (K given by stride-0 views).
    let x = [0.5f32; 4];
    let k = Tensor4Ref::new(&x, [1, 1, 1 << 60, 4], [0, 0, 0, 1]);
    let q = Tensor4Ref::new(&x, [1, 1, 0, 4], [4, 4, 4, 1]);
    let r = huiyan::attention_weights(
        q,
        k,
        &opts,
        Tensor4Mut::new(&mut [], [1, 1, 0, 1 << 60], [0, 0, 0, 1]),
    );
    assert_eq!(r, Ok(()));
}
