//! The multi-head attention layer and attention pooling against a composition of the
//! references: reference matmul projections → reference attention → reference matmul.

use huiyan::reference;
use huiyan::{
    AttentionOptions, AttentionPool, Dim, Error, MatMut, MatRef, MhaConfig, MhaWeights,
    MultiHeadAttention, NeedWeights, Operand, Tensor4Mut, Tensor4Ref,
};
use proptest::prelude::*;

/// Layer tolerance, relative to the magnitude of the output: the layer chains four f32
/// matmuls (K ≤ 64 each: γ_K ≈ 64·U relative to Σ|a||b|) and one attention (≈ (d + 2·Lk)·U);
/// inputs and weights are in [−1, 1], so `Σ|a||b|` is at most a few times the output scale.
/// 2⁻¹⁴ ≈ 6e-5 covers that with room; a wrong head mapping or layout is off by O(1).
const LAYER_REL_TOL: f32 = 1.0 / 16384.0;

fn lcg(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

struct Owned {
    cfg: MhaConfig,
    w: [Vec<f32>; 4],
    b: Option<[Vec<f32>; 4]>,
}

impl Owned {
    fn new(cfg: MhaConfig, bias: bool, seed: u64) -> Owned {
        let (e, qo, kvo) = (
            cfg.embed_dim,
            cfg.num_heads * cfg.head_dim,
            cfg.num_kv_heads * cfg.head_dim,
        );
        let w = [
            lcg(seed, qo * e),
            lcg(seed + 1, kvo * cfg.kdim),
            lcg(seed + 2, kvo * cfg.vdim),
            lcg(seed + 3, e * qo),
        ];
        let b = bias.then(|| {
            [
                lcg(seed + 4, qo),
                lcg(seed + 5, kvo),
                lcg(seed + 6, kvo),
                lcg(seed + 7, e),
            ]
        });
        Owned { cfg, w, b }
    }

    fn weights(&self) -> MhaWeights<'_> {
        MhaWeights {
            wq: &self.w[0],
            wk: &self.w[1],
            wv: &self.w[2],
            wo: &self.w[3],
            bq: self.b.as_ref().map(|b| &b[0][..]),
            bk: self.b.as_ref().map(|b| &b[1][..]),
            bv: self.b.as_ref().map(|b| &b[2][..]),
            bo: self.b.as_ref().map(|b| &b[3][..]),
        }
    }

    /// `x[rows, in]·Wᵀ + b` with the reference.
    fn proj(&self, i: usize, x: &[f32], rows: usize, inp: usize, out: usize) -> Vec<f32> {
        let mut y = vec![0.0f32; rows * out];
        let beta = if let Some(b) = &self.b {
            y.chunks_mut(out).for_each(|r| r.copy_from_slice(&b[i]));
            1.0
        } else {
            0.0
        };
        reference::matmul(
            1.0,
            MatRef::row_major(x, rows, inp),
            MatRef::row_major(&self.w[i], out, inp).t(),
            beta,
            MatMut::row_major(&mut y, rows, out),
        )
        .unwrap();
        y
    }

    /// The layer, composed from the references.
    #[allow(clippy::too_many_arguments)]
    fn compose(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        b: usize,
        lq: usize,
        lk: usize,
        opts: &AttentionOptions<'_>,
    ) -> Vec<f32> {
        let c = self.cfg;
        let (hq, hkv, d) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let qp = self.proj(0, q, b * lq, c.embed_dim, hq * d);
        let kp = self.proj(1, k, b * lk, c.kdim, hkv * d);
        let vp = self.proj(2, v, b * lk, c.vdim, hkv * d);
        let mut o = vec![0.0f32; b * lq * hq * d];
        reference::attention(
            Tensor4Ref::bshd(&qp, [b, hq, lq, d]),
            Tensor4Ref::bshd(&kp, [b, hkv, lk, d]),
            Tensor4Ref::bshd(&vp, [b, hkv, lk, d]),
            Tensor4Mut::bshd(&mut o, [b, hq, lq, d]),
            opts,
            None,
        )
        .unwrap();
        self.proj(3, &o, b * lq, hq * d, c.embed_dim)
    }
}

#[track_caller]
fn assert_rel_close(got: &[f32], want: &[f32]) {
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= LAYER_REL_TOL * scale,
            "element {i}: got {g}, want {w}"
        );
    }
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
        let o = Owned::new(cfg, bias, seed);
        let q = lcg(seed + 10, b * lq * e);
        let (k, v) = if cross { (lcg(seed + 11, b * lk * kdim), lcg(seed + 12, b * lk * vdim)) } else { (q.clone(), q.clone()) };
        let lens: Vec<usize> = (0..b).map(|i| (lk + i) % (lk + 1)).collect();
        let opts = AttentionOptions { is_causal: causal, key_padding_lens: pad.then_some(&lens[..]), ..Default::default() };
        let mut mha = MultiHeadAttention::new(cfg, &o.weights()).unwrap();
        let want = o.compose(&q, &k, &v, b, lq, lk, &opts);
        // Every tier this machine has (and the one HUIYAN_FORCE_ISA pins), not just the
        // dispatched one: the layer's projections and attention run on the table it is given.
        for kern in huiyan::dispatch::under_test() {
            let isa = kern.isa().name();
            let mut out = vec![f32::NAN; b * lq * e];
            let mut w = vec![f32::NAN; b * hq * lq * lk];
            mha.forward_with(&kern, &q, &k, &v, b, lq, lk, &opts, &mut out, NeedWeights::PerHead, Some(&mut w)).unwrap();
            assert_rel_close(&out, &want);
            // Weight rows sum to 1, or are all 0 for a fully masked query.
            for (r, row) in w.chunks(lk).enumerate() {
                let s: f32 = row.iter().sum();
                prop_assert!((s - 1.0).abs() < 1e-5 || row.iter().all(|&x| x == 0.0), "{isa}: row {r} sums to {s}");
                prop_assert!(row.iter().all(|&x| (0.0..=1.0 + 1e-6).contains(&x)));
            }
            // Averaged weights are the mean over heads.
            let mut avg = vec![0.0f32; b * lq * lk];
            mha.forward_with(&kern, &q, &k, &v, b, lq, lk, &opts, &mut out, NeedWeights::Averaged, Some(&mut avg)).unwrap();
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
        let x = lcg(seed, b * l * e);
        let query = lcg(seed + 1, e);
        let lens: Vec<usize> = (0..b).map(|i| (l + 2 * i) % (l + 1)).collect();
        let lens = pad.then_some(&lens[..]);
        let mut out = vec![f32::NAN; b * e];
        AttentionPool::new(query.clone()).unwrap().forward(&x, b, l, lens, &mut out).unwrap();
        // Reference: each batch entry separately, one query, K = V = its sequence.
        for bi in 0..b {
            let n = lens.map_or(l, |ls| ls[bi]);
            let seq = &x[bi * l * e..(bi * l + n) * e];
            let mut want = vec![0.0f32; e];
            reference::attention(
                Tensor4Ref::bhsd(&query, [1, 1, 1, e]),
                Tensor4Ref::bhsd(seq, [1, 1, n, e]),
                Tensor4Ref::bhsd(seq, [1, 1, n, e]),
                Tensor4Mut::bhsd(&mut want, [1, 1, 1, e]),
                &AttentionOptions::default(),
                None,
            ).unwrap();
            assert_rel_close(&out[bi * e..(bi + 1) * e], &want);
        }
    }
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
        mha.forward(
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
        let r = mha.forward(
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
