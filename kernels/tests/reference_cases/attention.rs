//! Attention: every mask kind, sinks, ALiBi, softcap, bias, default scale, GQA, layouts and
//! empty shapes.

use super::{assert_exact, assert_ulps, NEG_INF, THIRD};
use huiyan_kernels::attention::{AttentionOptions, CausalVariant};
use huiyan_kernels::{reference, Tensor4Mut, Tensor4Ref};

/// Runs the reference on dense BHSD buffers; returns (O, lse).
fn attn(
    [b, hq, hkv, lq, lk, dk, dv]: [usize; 7],
    q: &[f32],
    k: &[f32],
    v: &[f32],
    opts: &AttentionOptions<'_>,
) -> (Vec<f32>, Vec<f32>) {
    let mut o = vec![f32::NAN; b * hq * lq * dv];
    let mut lse = vec![f32::NAN; b * hq * lq];
    reference::attention(
        Tensor4Ref::bhsd(q, [b, hq, lq, dk]),
        Tensor4Ref::bhsd(k, [b, hkv, lk, dk]),
        Tensor4Ref::bhsd(v, [b, hkv, lk, dv]),
        Tensor4Mut::bhsd(&mut o, [b, hq, lq, dv]),
        opts,
        Some(&mut lse),
    )
    .unwrap();
    (o, lse)
}

/// `n × n` identity: value row j is the one-hot e_j, so O row i *is* the weight row of query i.
fn eye(n: usize) -> Vec<f32> {
    (0..n * n)
        .map(|x| (x % (n + 1) == 0) as u8 as f32)
        .collect()
}

/// Causal 4×4, upper-left (PyTorch `is_causal`), dk = 1, q = 0 → every logit 0, so the weights
/// of query i are 1/(i+1) on keys 0..=i. V = I₄ makes O the weight matrix:
/// [[1,0,0,0], [1/2,1/2,0,0], [1/3,1/3,1/3,0], [1/4,1/4,1/4,1/4]], lse = ln(i+1).
#[test]
fn attention_causal_4x4_upper_left() {
    let opts = AttentionOptions {
        is_causal: true,
        ..AttentionOptions::default()
    };
    let (o, lse) = attn([1, 1, 1, 4, 4, 1, 4], &[0.0; 4], &[0.0; 4], &eye(4), &opts);
    #[rustfmt::skip]
    let want = [
        1.0, 0.0, 0.0, 0.0,
        0.5, 0.5, 0.0, 0.0,
        THIRD, THIRD, THIRD, 0.0,
        0.25, 0.25, 0.25, 0.25,
    ];
    assert_exact(&o, &want);
    assert_exact(&lse, &[0.0, 2f32.ln(), 3f64.ln() as f32, 4f64.ln() as f32]);
    // With Lq = Lk, lower-right is the same mask (p(i) = i + Lk − Lq = i).
    let lr = AttentionOptions {
        causal_variant: CausalVariant::LowerRight,
        ..opts
    };
    let (o2, _) = attn([1, 1, 1, 4, 4, 1, 4], &[0.0; 4], &[0.0; 4], &eye(4), &lr);
    assert_exact(&o2, &want);
}

/// Lq ≠ Lk, both alignments, equal logits, V = I₄ (Lk = 4).
/// Lq = 2 upper-left: p(i) = i → row 0 sees {0}, row 1 sees {0, 1}.
/// Lq = 2 lower-right: p(i) = i + 2 → row 0 sees {0, 1, 2}, row 1 sees all four.
#[test]
fn attention_causal_lq_2_lk_4_both_alignments() {
    let shape = [1, 1, 1, 2, 4, 1, 4];
    let mut opts = AttentionOptions {
        is_causal: true,
        ..AttentionOptions::default()
    };
    let (o, _) = attn(shape, &[0.0; 2], &[0.0; 4], &eye(4), &opts);
    assert_exact(&o, &[1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0]);
    opts.causal_variant = CausalVariant::LowerRight;
    let (o, lse) = attn(shape, &[0.0; 2], &[0.0; 4], &eye(4), &opts);
    assert_exact(&o, &[THIRD, THIRD, THIRD, 0.0, 0.25, 0.25, 0.25, 0.25]);
    assert_exact(&lse, &[3f64.ln() as f32, 4f64.ln() as f32]);
}

/// Lq = 4 > Lk = 2, lower-right: p(i) = i − 2, so rows 0 and 1 see no key at all → O = 0 and
/// lse = −∞ (fully masked rows); row 2 sees {0} → e₀; row 3 sees {0, 1} → [1/2, 1/2].
#[test]
fn attention_lower_right_lq_gt_lk_has_fully_masked_rows() {
    let opts = AttentionOptions {
        is_causal: true,
        causal_variant: CausalVariant::LowerRight,
        ..AttentionOptions::default()
    };
    let (o, lse) = attn([1, 1, 1, 4, 2, 1, 2], &[0.0; 4], &[0.0; 2], &eye(2), &opts);
    assert_exact(&o, &[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.5]);
    assert_exact(&lse, &[NEG_INF, NEG_INF, 0.0, 2f32.ln()]);
}

/// A boolean mask row that is all false gives O = 0 and lse = −∞, not NaN. Mask `[1,1,2,3]`
/// (broadcast over batch and heads): row 0 [T, F, T] → [1/2, 0, 1/2]; row 1 all false.
#[test]
fn attention_fully_masked_row_by_bool_mask() {
    let mask = [true, false, true, false, false, false];
    let opts = AttentionOptions {
        attn_mask: Some(Tensor4Ref::bhsd(&mask, [1, 1, 2, 3])),
        ..AttentionOptions::default()
    };
    let (o, lse) = attn([1, 1, 1, 2, 3, 1, 3], &[0.0; 2], &[0.0; 3], &eye(3), &opts);
    assert_exact(&o, &[0.5, 0.0, 0.5, 0.0, 0.0, 0.0]);
    assert_exact(&lse, &[2f32.ln(), NEG_INF]);
}

/// Sliding window w = 2 over Lq = Lk = 5, equal logits, V = I₅.
/// Not causal: key j visible iff |i − j| < 2 → row 0 {0,1}, row 2 {1,2,3}, row 4 {3,4}.
/// Causal: j ∈ {i − 1, i} → row 0 {0}, row 2 {1, 2}.
#[test]
fn attention_sliding_window() {
    let shape = [1, 1, 1, 5, 5, 1, 5];
    let mut opts = AttentionOptions {
        window: Some(2),
        ..AttentionOptions::default()
    };
    let (o, _) = attn(shape, &[0.0; 5], &[0.0; 5], &eye(5), &opts);
    #[rustfmt::skip]
    let want = [
        0.5, 0.5, 0.0, 0.0, 0.0,
        THIRD, THIRD, THIRD, 0.0, 0.0,
        0.0, THIRD, THIRD, THIRD, 0.0,
        0.0, 0.0, THIRD, THIRD, THIRD,
        0.0, 0.0, 0.0, 0.5, 0.5,
    ];
    assert_exact(&o, &want);
    opts.is_causal = true;
    let (o, _) = attn(shape, &[0.0; 5], &[0.0; 5], &eye(5), &opts);
    #[rustfmt::skip]
    let want = [
        1.0, 0.0, 0.0, 0.0, 0.0,
        0.5, 0.5, 0.0, 0.0, 0.0,
        0.0, 0.5, 0.5, 0.0, 0.0,
        0.0, 0.0, 0.5, 0.5, 0.0,
        0.0, 0.0, 0.0, 0.5, 0.5,
    ];
    assert_exact(&o, &want);
}

/// Key padding, B = 2, Lk = 4, lens = [3, 1], one query, V rows [1], [2], [4], [8] (dv = 1)
/// with the padded K and V rows filled with NaN: batch 0 averages v₀..v₂ = (1+2+4)/3 = 7/3,
/// batch 1 sees only v₀ = 1. NaN in the masked rows must not reach O (keys are skipped).
/// lens = [0, 4]: batch 0 fully masked → 0, lse −∞; batch 1 → (1+2+4+8)/4 = 15/4.
#[test]
fn attention_key_padding_skips_nan_rows() {
    let nan = f32::NAN;
    let k = [0.0, 0.0, 0.0, nan, 0.0, nan, nan, nan];
    let v = [1.0, 2.0, 4.0, nan, 1.0, nan, nan, nan];
    let lens = [3usize, 1];
    let opts = AttentionOptions {
        key_padding_lens: Some(&lens),
        ..AttentionOptions::default()
    };
    let (o, lse) = attn([2, 1, 1, 1, 4, 1, 1], &[0.0; 2], &k, &v, &opts);
    assert_exact(&o, &[(7.0f64 / 3.0) as f32, 1.0]);
    assert_exact(&lse, &[3f64.ln() as f32, 0.0]);
    let v = [1.0, 2.0, 4.0, 8.0, 1.0, 2.0, 4.0, 8.0];
    let lens = [0usize, 4];
    let opts = AttentionOptions {
        key_padding_lens: Some(&lens),
        ..AttentionOptions::default()
    };
    let (o, lse) = attn([2, 1, 1, 1, 4, 1, 1], &[0.0; 2], &[0.0; 8], &v, &opts);
    assert_exact(&o, &[0.0, 3.75]);
    assert_exact(&lse, &[NEG_INF, 4f64.ln() as f32]);
}

/// A NaN in a V (and K) row hidden by the causal mask does not reach the rows that cannot see
/// it; the row that sees it is NaN. Causal upper-left, Lq = Lk = 3, V = [[2], [4], [NaN]]:
/// row 0 → 2, row 1 → (2+4)/2 = 3, row 2 → NaN.
#[test]
fn attention_nan_in_masked_v_row_does_not_reach_o() {
    let opts = AttentionOptions {
        is_causal: true,
        ..AttentionOptions::default()
    };
    let k = [0.0, 0.0, f32::NAN];
    let v = [2.0, 4.0, f32::NAN];
    let (o, lse) = attn([1, 1, 1, 3, 3, 1, 1], &[0.0; 3], &k, &v, &opts);
    assert_exact(&o[..2], &[2.0, 3.0]);
    assert!(o[2].is_nan() && lse[2].is_nan());
}

/// Sinks join the normaliser with no value row. Lk = 2, equal logits 0, V = [[4], [8]]:
/// sink 0 → Σ = e⁰ + e⁰ + e⁰ = 3, O = (4 + 8)/3 = 4, lse = ln 3;
/// sink −∞ → as if absent: O = 6, lse = ln 2;
/// sink ln 2 → Σ = 1 + 1 + 2 = 4, O = 12/4 = 3 (ln 2 is inexact in f32: O within 1 ulp);
/// a row with no visible key (padding 0) and sink 1.5 → O = 0, lse = 1.5.
#[test]
fn attention_sinks() {
    let v = [4.0, 8.0];
    let run = |sink: f32, lens: Option<&[usize]>| {
        let s = [sink];
        let opts = AttentionOptions {
            sinks: Some(&s),
            key_padding_lens: lens,
            ..AttentionOptions::default()
        };
        attn([1, 1, 1, 1, 2, 1, 1], &[0.0], &[0.0; 2], &v, &opts)
    };
    let (o, lse) = run(0.0, None);
    assert_exact(&o, &[4.0]);
    assert_exact(&lse, &[3f64.ln() as f32]);
    let (o, lse) = run(NEG_INF, None);
    assert_exact(&o, &[6.0]);
    assert_exact(&lse, &[2f32.ln()]);
    let (o, lse) = run(2f32.ln(), None);
    assert_ulps(&o, &[3.0], 1.0);
    assert_ulps(&lse, &[4f64.ln()], 1.0);
    let (o, lse) = run(1.5, Some(&[0]));
    assert_exact(&o, &[0.0]);
    assert_exact(&lse, &[1.5]);
}

/// ALiBi: t −= slope·|p(i) − j|. With slope 1e4 every key but the nearest gets a weight of
/// e^{−1e4} = 0 exactly, so each query returns the value at its own position: V = I₃,
/// Lq = 2, Lk = 3, not causal. Upper-left p(i) = i → rows e₀, e₁; lower-right p(i) = i + 1 →
/// rows e₁, e₂.
/// With slope ln 2 and one query at p = 0: weights 1, 1/2, 1/4 → [4/7, 2/7, 1/7]
/// (ln 2 inexact in f32: within 2 ulp).
#[test]
fn attention_alibi() {
    let slopes = [1e4f32];
    let mut opts = AttentionOptions {
        alibi_slopes: Some(&slopes),
        ..AttentionOptions::default()
    };
    let (o, _) = attn([1, 1, 1, 2, 3, 1, 3], &[0.0; 2], &[0.0; 3], &eye(3), &opts);
    assert_exact(&o, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    opts.causal_variant = CausalVariant::LowerRight;
    let (o, _) = attn([1, 1, 1, 2, 3, 1, 3], &[0.0; 2], &[0.0; 3], &eye(3), &opts);
    assert_exact(&o, &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let slopes = [2f32.ln()];
    let opts = AttentionOptions {
        alibi_slopes: Some(&slopes),
        ..AttentionOptions::default()
    };
    let (o, _) = attn([1, 1, 1, 1, 3, 1, 3], &[0.0], &[0.0; 3], &eye(3), &opts);
    assert_ulps(&o, &[4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0], 2.0);
}

/// Softcap c = 5: t = 5·tanh(s/5). Two keys with raw logits s = 1e4 and 2e4 (q = 100,
/// k = [100, 200], scale 1): tanh(2000) = tanh(4000) = 1 in f64, so both logits cap to 5 and
/// share the weight: O = (v₀ + v₁)/2 = (2 + 6)/2 = 4. Without the softcap the second key
/// takes everything (e^{−1e4} = 0): O = 6.
#[test]
fn attention_softcap() {
    let mut opts = AttentionOptions {
        scale: Some(1.0),
        ..AttentionOptions::default()
    };
    let (q, k, v) = ([100.0], [100.0, 200.0], [2.0, 6.0]);
    let (o, _) = attn([1, 1, 1, 1, 2, 1, 1], &q, &k, &v, &opts);
    assert_exact(&o, &[6.0]);
    opts.softcap = Some(5.0);
    let (o, lse) = attn([1, 1, 1, 1, 2, 1, 1], &q, &k, &v, &opts);
    assert_exact(&o, &[4.0]);
    assert_ulps(&lse, &[5.0 + 2f64.ln()], 0.5);
}

/// Additive bias broadcast over batch, heads and queries (`[1, 1, 1, Lk]`): [0, −∞, 0]
/// hides key 1; a per-head constant (`[1, H, 1, 1]`) shifts every logit of a row and changes
/// nothing. 2 heads, equal logits, V = I₃ → every row [1/2, 0, 1/2].
#[test]
fn attention_bias_broadcast() {
    let bias_keys = [0.0, NEG_INF, 0.0];
    let opts = AttentionOptions {
        attn_bias: Some(Tensor4Ref::bhsd(&bias_keys, [1, 1, 1, 3])),
        ..AttentionOptions::default()
    };
    let v = [eye(3), eye(3)].concat();
    let (o, _) = attn([1, 2, 2, 2, 3, 1, 3], &[0.0; 4], &[0.0; 6], &v, &opts);
    assert_exact(&o, &[0.5, 0.0, 0.5].repeat(4));
    let bias_heads = [7.0, -3.0];
    let opts = AttentionOptions {
        attn_bias: Some(Tensor4Ref::bhsd(&bias_heads, [1, 2, 1, 1])),
        ..AttentionOptions::default()
    };
    let (o, lse) = attn([1, 2, 2, 2, 3, 1, 3], &[0.0; 4], &[0.0; 6], &v, &opts);
    assert_exact(&o, &[THIRD; 12]);
    let l3 = 3f64.ln();
    assert_ulps(&lse, &[7.0 + l3, 7.0 + l3, -3.0 + l3, -3.0 + l3], 0.5);
}

/// Default scale is 1/√dk. dk = 4, q = [1, 1, 1, 1], k₀ = [1, 1, 1, 1] (dot 4), k₁ = 0
/// (dot 0): logits [4/2, 0] = [2, 0] → weights [e²/(e²+1), 1/(e²+1)]; V = I₂.
/// An explicit scale 0.5 gives the same bits; scale 1 gives [e⁴/(e⁴+1), 1/(e⁴+1)].
#[test]
fn attention_default_scale_is_inverse_sqrt_dk() {
    let q = [1.0; 4];
    let k = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    let shape = [1, 1, 1, 1, 2, 4, 2];
    let (o, _) = attn(shape, &q, &k, &eye(2), &AttentionOptions::default());
    let e2 = 2f64.exp();
    assert_ulps(&o, &[e2 / (e2 + 1.0), 1.0 / (e2 + 1.0)], 0.5);
    let half = AttentionOptions {
        scale: Some(0.5),
        ..AttentionOptions::default()
    };
    assert_exact(&attn(shape, &q, &k, &eye(2), &half).0, &o);
    let one = AttentionOptions {
        scale: Some(1.0),
        ..AttentionOptions::default()
    };
    let e4 = 4f64.exp();
    let (o1, _) = attn(shape, &q, &k, &eye(2), &one);
    assert_ulps(&o1, &[e4 / (e4 + 1.0), 1.0 / (e4 + 1.0)], 0.5);
}

/// Deterministic, non-trivial values for the structural cases.
fn ramp(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = (i as u32)
                .wrapping_mul(2654435761)
                .wrapping_add(seed.wrapping_mul(40503));
            ((x >> 8) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// GQA: Hq = 4 query heads over Hkv = 2 kv heads (group 2: q heads 0,1 → kv 0; 2,3 → kv 1)
/// equals plain multi-head attention on K, V with each kv head repeated twice; MQA (Hkv = 1)
/// equals repeating it four times. Same f64 arithmetic in the same order → identical bits.
#[test]
fn attention_gqa_equals_repeated_kv() {
    let (b, hq, lq, lk, dk, dv) = (2, 4, 3, 5, 3, 2);
    let q = ramp(b * hq * lq * dk, 1);
    let lens = [5usize, 3];
    let opts = AttentionOptions {
        is_causal: true,
        causal_variant: CausalVariant::LowerRight,
        key_padding_lens: Some(&lens),
        ..AttentionOptions::default()
    };
    for hkv in [2usize, 1] {
        let k = ramp(b * hkv * lk * dk, 2);
        let v = ramp(b * hkv * lk * dv, 3);
        let group = hq / hkv;
        let repeat = |x: &[f32], d: usize| -> Vec<f32> {
            let mut out = Vec::new();
            for bb in 0..b {
                for h in 0..hq {
                    let src = (bb * hkv + h / group) * lk * d;
                    out.extend_from_slice(&x[src..src + lk * d]);
                }
            }
            out
        };
        let (o_gqa, l_gqa) = attn([b, hq, hkv, lq, lk, dk, dv], &q, &k, &v, &opts);
        let (kr, vr) = (repeat(&k, dk), repeat(&v, dv));
        let (o_mha, l_mha) = attn([b, hq, hq, lq, lk, dk, dv], &q, &kr, &vr, &opts);
        assert_exact(&o_gqa, &o_mha);
        assert_exact(&l_gqa, &l_mha);
    }
}

/// BSHD memory (heads interleaved: element [b, h, s, d] at ((b·L + s)·H + h)·D + d) gives the
/// same bits as BHSD memory, for inputs and output. Built by hand here, not with testkit.
#[test]
fn attention_bshd_equals_bhsd() {
    let (b, h, lq, lk, dk, dv) = (2, 3, 4, 5, 2, 3);
    let to_bshd = |x: &[f32], l: usize, d: usize| -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        for bb in 0..b {
            for hh in 0..h {
                for s in 0..l {
                    for e in 0..d {
                        out[((bb * l + s) * h + hh) * d + e] = x[((bb * h + hh) * l + s) * d + e];
                    }
                }
            }
        }
        out
    };
    let (q, k, v) = (
        ramp(b * h * lq * dk, 4),
        ramp(b * h * lk * dk, 5),
        ramp(b * h * lk * dv, 6),
    );
    let opts = AttentionOptions {
        window: Some(3),
        ..AttentionOptions::default()
    };
    let (o_bhsd, _) = attn([b, h, h, lq, lk, dk, dv], &q, &k, &v, &opts);
    let (qs, ks, vs) = (
        to_bshd(&q, lq, dk),
        to_bshd(&k, lk, dk),
        to_bshd(&v, lk, dv),
    );
    let mut o = vec![f32::NAN; b * h * lq * dv];
    reference::attention(
        Tensor4Ref::bshd(&qs, [b, h, lq, dk]),
        Tensor4Ref::bshd(&ks, [b, h, lk, dk]),
        Tensor4Ref::bshd(&vs, [b, h, lk, dv]),
        Tensor4Mut::bshd(&mut o, [b, h, lq, dv]),
        &opts,
        None,
    )
    .unwrap();
    assert_exact(&o, &to_bshd(&o_bhsd, lq, dv));
}

/// Lk = 0: every row is fully masked → O = 0, lse = −∞ (B, Hq, Lq > 0).
#[test]
fn attention_empty_keys() {
    let empty: [f32; 0] = [];
    let (o, lse) = attn(
        [1, 2, 1, 2, 0, 3, 2],
        &[1.0; 12],
        &empty,
        &empty,
        &AttentionOptions::default(),
    );
    assert_exact(&o, &[0.0; 8]);
    assert_exact(&lse, &[NEG_INF; 4]);
}

/// `B, Hq, Lq = 0` are no-ops (attention contract). Dense BHSD strides of `[2, 2, 0, 2]` are
/// `[0, 0, 2, 1]`, accepted (not `AliasingStrides` on O) because O has no elements.
#[test]
fn attention_lq_zero_is_a_no_op() {
    let empty: [f32; 0] = [];
    let k = [0.0f32; 2 * 2 * 3 * 2];
    let mut o: [f32; 0] = [];
    reference::attention(
        Tensor4Ref::bhsd(&empty, [2, 2, 0, 2]),
        Tensor4Ref::bhsd(&k, [2, 2, 3, 2]),
        Tensor4Ref::bhsd(&k, [2, 2, 3, 2]),
        Tensor4Mut::bhsd(&mut o, [2, 2, 0, 2]),
        &AttentionOptions::default(),
        None,
    )
    .unwrap();
}
