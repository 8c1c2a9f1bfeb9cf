//! Hand-worked cases for `huiyan_kernels::reference`: every expected value below was worked
//! out by hand (the working is in the comments), so these tests trust nothing but arithmetic.
//!
//! Where the exact answer is a fraction like 1/3, the expected value is that fraction rounded
//! to `f32` (the reference computes in `f64` and rounds once), compared bit for bit. Where an
//! input itself cannot be exact in `f32` (ln 2, ln 3), the tolerance is stated at the case.

use huiyan_kernels::attention::{AttentionOptions, CausalVariant};
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{reference, MatMut, MatRef, Tensor4Mut, Tensor4Ref};

const NEG_INF: f32 = f32::NEG_INFINITY;
const THIRD: f32 = (1.0f64 / 3.0) as f32;

#[track_caller]
fn assert_exact(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits();
        assert!(
            same,
            "element {i}: got {g:e}, want {w:e}\n got {got:?}\nwant {want:?}"
        );
    }
}

#[track_caller]
fn assert_ulps(got: &[f32], want: &[f64], ulps: f64) {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = huiyan_testkit::ulp_error(g, w);
        assert!(
            e <= ulps,
            "element {i}: got {g:e}, want {w:e}: {e} ulp > {ulps}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// matmul

/// [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[1·5+2·7, 1·6+2·8], [3·5+4·7, 3·6+4·8]]
/// = [[19, 22], [43, 50]]. β = 0 with a NaN-filled C: C is never read.
#[test]
fn matmul_2x2_beta_zero_never_reads_nan_c() {
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [5.0, 6.0, 7.0, 8.0];
    let mut c = [f32::NAN; 4];
    reference::matmul(
        1.0,
        MatRef::row_major(&a, 2, 2),
        MatRef::row_major(&b, 2, 2),
        0.0,
        MatMut::row_major(&mut c, 2, 2),
    )
    .unwrap();
    assert_exact(&c, &[19.0, 22.0, 43.0, 50.0]);
}

/// Transposes are strides. A (2×3) = [[1, 2, 3], [4, 5, 6]] stored column-major
/// (rs = 1, cs = 2): memory [1, 4, 2, 5, 3, 6].
/// B (3×2) = [[1, 0], [0, 1], [1, 1]] stored column-major with one element of padding per
/// column (cs = 4): memory [1, 0, 1, ·, 0, 1, 1]; the gap holds NaN and is never read.
/// A·B = [[1+3, 2+3], [4+6, 5+6]] = [[4, 5], [10, 11]].
/// C column-major padded (rs = 1, cs = 3): memory [c00, c10, gap, c01, c11]; the gap (99)
/// must stay untouched.
#[test]
fn matmul_transposed_and_padded_operands_via_strides() {
    let a = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
    let b = [1.0, 0.0, 1.0, f32::NAN, 0.0, 1.0, 1.0];
    let mut c = [f32::NAN, f32::NAN, 99.0, f32::NAN, f32::NAN];
    reference::matmul(
        1.0,
        MatRef::new(&a, 2, 3, 1, 2),
        MatRef::new(&b, 3, 2, 1, 4),
        0.0,
        MatMut::new(&mut c, 2, 2, 1, 3),
    )
    .unwrap();
    assert_exact(&c, &[4.0, 10.0, 99.0, 5.0, 11.0]);
    // The same product through MatRef::t(): Aᵀ of the row-major 3×2 [[1,4],[2,5],[3,6]].
    let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
    let mut c2 = [f32::NAN; 4];
    reference::matmul(
        1.0,
        MatRef::row_major(&at, 3, 2).t(),
        MatRef::new(&b, 3, 2, 1, 4),
        0.0,
        MatMut::row_major(&mut c2, 2, 2),
    )
    .unwrap();
    assert_exact(&c2, &[4.0, 5.0, 10.0, 11.0]);
}

/// α and β in their BLAS meaning. A = [[1, 2], [0, 1]], B = [[3, 1], [4, 0]]:
/// A·B = [[1·3+2·4, 1·1+2·0], [0·3+1·4, 0·1+1·0]] = [[11, 1], [4, 0]].
/// α = 2, β = −0.5, C₀ = [[4, 2], [−6, 8]]:
/// C = [[22 − 2, 2 − 1], [8 + 3, 0 − 4]] = [[20, 1], [11, −4]].
#[test]
fn matmul_alpha_beta() {
    let a = [1.0, 2.0, 0.0, 1.0];
    let b = [3.0, 1.0, 4.0, 0.0];
    let mut c = [4.0, 2.0, -6.0, 8.0];
    reference::matmul(
        2.0,
        MatRef::row_major(&a, 2, 2),
        MatRef::row_major(&b, 2, 2),
        -0.5,
        MatMut::row_major(&mut c, 2, 2),
    )
    .unwrap();
    assert_exact(&c, &[20.0, 1.0, 11.0, -4.0]);
}

/// β ≠ 0 reads C: a NaN there propagates (IEEE), unlike β = 0.
/// A = [[1, −1]], B = [[2], [3]]: A·B = 2 − 3 = −1; α = 0.5 → −0.5; β = 1, C₀ = NaN → NaN.
#[test]
fn matmul_beta_nonzero_propagates_nan_in_c() {
    let (a, b) = ([1.0, -1.0], [2.0, 3.0]);
    let mut c = [f32::NAN];
    let (av, bv) = (MatRef::row_major(&a, 1, 2), MatRef::row_major(&b, 2, 1));
    reference::matmul(0.5, av, bv, 1.0, MatMut::row_major(&mut c, 1, 1)).unwrap();
    assert!(c[0].is_nan());
    reference::matmul(0.5, av, bv, 0.0, MatMut::row_major(&mut c, 1, 1)).unwrap();
    assert_exact(&c, &[-0.5]);
}

/// k = 0: A·B is the empty sum 0, so C ← β·C₀. β = 3, C₀ = [[1, 2], [3, 4]] →
/// [[3, 6], [9, 12]]; β = 0 with NaN in C → all 0. m = 0 writes nothing.
#[test]
fn matmul_k_zero_scales_c() {
    let empty: [f32; 0] = [];
    let mut c = [1.0, 2.0, 3.0, 4.0];
    let a = MatRef::new(&empty, 2, 0, 0, 1);
    let b = MatRef::new(&empty, 0, 2, 2, 1);
    reference::matmul(7.0, a, b, 3.0, MatMut::row_major(&mut c, 2, 2)).unwrap();
    assert_exact(&c, &[3.0, 6.0, 9.0, 12.0]);
    let mut c = [f32::NAN; 4];
    reference::matmul(7.0, a, b, 0.0, MatMut::row_major(&mut c, 2, 2)).unwrap();
    assert_exact(&c, &[0.0; 4]);
    let mut c = [5.0f32; 2];
    let a = MatRef::new(&empty, 0, 2, 2, 1);
    let b = [1.0f32; 4];
    reference::matmul(
        1.0,
        a,
        MatRef::row_major(&b, 2, 2),
        0.0,
        MatMut::new(&mut c, 0, 2, 2, 1),
    )
    .unwrap();
    assert_exact(&c, &[5.0, 5.0]);
}

// ---------------------------------------------------------------------------------------------
// softmax

fn softmax_rows(
    x: &[f32],
    rows: usize,
    cols: usize,
    opts: &SoftmaxOptions<'_>,
) -> (Vec<f32>, Vec<f32>) {
    let mut y = vec![f32::NAN; rows * cols];
    let mut lse = vec![f32::NAN; rows];
    reference::softmax(
        MatRef::row_major(x, rows, cols),
        MatMut::row_major(&mut y, rows, cols),
        opts,
        Some(&mut lse),
    )
    .unwrap();
    (y, lse)
}

/// x = [0, ln 2, ln 3]: exp(x) = [1, 2, 3], Σ = 6, y = [1/6, 2/6, 3/6], lse = ln 6.
/// ln 2 and ln 3 are not exact in f32 (|x − ln a| ≤ 2⁻²⁵·ln a), which moves each weight by
/// ≤ 4e-8 relative: within 1 ulp of the fractions.
/// Second row: x = [5, 5, 5] → exactly 1/3 each (exp(0)/3 rounded once), lse = 5 + ln 3.
#[test]
fn softmax_three_elements_exact_fractions() {
    let x = [0.0, 2f32.ln(), 3f32.ln(), 5.0, 5.0, 5.0];
    let (y, lse) = softmax_rows(&x, 2, 3, &SoftmaxOptions::default());
    assert_ulps(&y[..3], &[1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0], 1.0);
    assert_ulps(&lse[..1], &[6f64.ln()], 1.0);
    assert_exact(&y[3..], &[THIRD; 3]);
    assert_ulps(&lse[1..], &[5.0 + 3f64.ln()], 0.5);
    // The weights of row 0 sum to 1 within 2 ulp.
    assert!((y[..3].iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 2.4e-7);
}

/// Masked entries get exactly 0 and leave the normaliser. Mask broadcast over rows
/// (`1 × 4`: [T, F, T, T]), bias broadcast over columns (`2 × 1`: [[5], [−3]]), scale 2:
/// row 0: x = [1, 50, 1, 1] → t = [7, –, 7, 7] → [1/3, 0, 1/3, 1/3], lse = 7 + ln 3;
/// row 1: x = [2, −8, 2, 2] → t = [1, –, 1, 1] → [1/3, 0, 1/3, 1/3], lse = 1 + ln 3.
/// (The huge x = 50 under the mask would dominate if it leaked in.)
#[test]
fn softmax_masked_with_broadcast_mask_and_bias() {
    let x = [1.0, 50.0, 1.0, 1.0, 2.0, -8.0, 2.0, 2.0];
    let mask = [true, false, true, true];
    let bias = [5.0f32, -3.0];
    let opts = SoftmaxOptions {
        scale: 2.0,
        mask: Some(MatRef::row_major(&mask, 1, 4)),
        bias: Some(MatRef::row_major(&bias, 2, 1)),
        log: false,
    };
    let (y, lse) = softmax_rows(&x, 2, 4, &opts);
    assert_exact(&y, &[THIRD, 0.0, THIRD, THIRD, THIRD, 0.0, THIRD, THIRD]);
    assert_ulps(&lse, &[7.0 + 3f64.ln(), 1.0 + 3f64.ln()], 0.5);
}

/// Log-softmax: x = [1, 1, −∞, 1, 1] → four equal entries, log p = −ln 4 each, the −∞ entry
/// stays −∞; lse = 1 + ln 4. A masked entry in log mode is −∞ too.
#[test]
fn log_softmax_by_hand() {
    let x = [1.0, 1.0, NEG_INF, 1.0, 1.0];
    let opts = SoftmaxOptions {
        log: true,
        ..SoftmaxOptions::default()
    };
    let (y, lse) = softmax_rows(&x, 1, 5, &opts);
    let l4 = -(4f64.ln()) as f32;
    assert_exact(&y, &[l4, l4, NEG_INF, l4, l4]);
    assert_ulps(&lse, &[1.0 + 4f64.ln()], 0.5);
    // Mask out two of the four: log p = −ln 2 for the other two.
    let mask = [true, false, true, false, true];
    let opts = SoftmaxOptions {
        log: true,
        mask: Some(MatRef::row_major(&mask, 1, 5)),
        ..SoftmaxOptions::default()
    };
    let (y, _) = softmax_rows(&x, 1, 5, &opts);
    let l2 = -(2f64.ln()) as f32;
    assert_exact(&y, &[l2, NEG_INF, NEG_INF, NEG_INF, l2]);
}

/// A fully masked row gives zeros (log: −∞) and lse = −∞, never NaN; so does a row of −∞.
/// Row 0 is normal: [0, 0, 0] → 1/3 each.
#[test]
fn softmax_fully_masked_row_gives_zeros() {
    let x = [0.0, 0.0, 0.0, 4.0, 5.0, 6.0, NEG_INF, NEG_INF, NEG_INF];
    let mask = [true, true, true, false, false, false, true, true, true];
    let opts = SoftmaxOptions {
        mask: Some(MatRef::row_major(&mask, 3, 3)),
        ..SoftmaxOptions::default()
    };
    let (y, lse) = softmax_rows(&x, 3, 3, &opts);
    assert_exact(&y, &[THIRD, THIRD, THIRD, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert_exact(&lse[1..], &[NEG_INF, NEG_INF]);
    let opts = SoftmaxOptions { log: true, ..opts };
    let (y, _) = softmax_rows(&x, 3, 3, &opts);
    assert_exact(&y[3..], &[NEG_INF; 6]);
}

/// NaN among the unmasked logits makes every unmasked output of the row NaN (and lse NaN);
/// masked entries stay exactly 0. A NaN under the mask changes nothing: [NaN(masked), 0, 0]
/// → [0, 1/2, 1/2]. +∞ is treated like NaN (∞ − ∞).
#[test]
fn softmax_nan_semantics() {
    let x = [
        f32::NAN,
        0.0,
        0.0,
        f32::NAN,
        0.0,
        0.0,
        f32::INFINITY,
        0.0,
        0.0,
    ];
    let mask = [false, true, true, true, false, true, true, true, false];
    let opts = SoftmaxOptions {
        mask: Some(MatRef::row_major(&mask, 3, 3)),
        ..SoftmaxOptions::default()
    };
    let (y, lse) = softmax_rows(&x, 3, 3, &opts);
    let nan = f32::NAN;
    assert_exact(&y, &[0.0, 0.5, 0.5, nan, 0.0, nan, nan, nan, 0.0]);
    assert_ulps(&lse[..1], &[2f64.ln()], 0.5);
    assert!(lse[1].is_nan() && lse[2].is_nan());
}

/// Regression (bug in the first draft, which formed y = exp(t − lse) with lse = m + ln Σ):
/// for |m| ≳ 1e16, m + ln Σ rounds back to m in f64 and Σ is lost, so [1e30, 1e30, 0] gave
/// [1, 1, 0]. Exactly: two equal maxima share the weight, [1/2, 1/2, 0] (the third is
/// e^{−1e30} = 0); lse = 1e30 + ln 2, which rounds to 1e30 in f32.
#[test]
fn softmax_huge_equal_logits_share_the_weight_regression() {
    let x = [1e30, 1e30, 0.0, -1e30, -1e30, -1e30, 1e4, 1e4 - 1.0, -1e4];
    let (y, lse) = softmax_rows(&x, 3, 3, &SoftmaxOptions::default());
    assert_exact(&y[..6], &[0.5, 0.5, 0.0, THIRD, THIRD, THIRD]);
    assert_exact(&lse[..1], &[1e30]);
    // Row 2: [1e4, 1e4 − 1, −1e4] → [1, e⁻¹, 0]/(1 + e⁻¹) = [e/(e+1), 1/(e+1), 0].
    let e = std::f64::consts::E;
    assert_ulps(&y[6..], &[e / (e + 1.0), 1.0 / (e + 1.0), 0.0], 0.5);
    let mut lsel = [0.0f32];
    let mut yl = [0.0f32; 3];
    reference::softmax(
        MatRef::row_major(&x[..3], 1, 3),
        MatMut::row_major(&mut yl, 1, 3),
        &SoftmaxOptions {
            log: true,
            ..SoftmaxOptions::default()
        },
        Some(&mut lsel),
    )
    .unwrap();
    let l2 = -(2f64.ln()) as f32;
    assert_exact(&yl, &[l2, l2, -1e30]);
}

// ---------------------------------------------------------------------------------------------
// attention

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

/// n = 0 is a no-op (BLAS). A row-major `m × 0` C has `rs = cols = 0`, which is fine: a view
/// with no elements cannot alias. Known bug (not in the reference): `shape::no_self_alias`
/// looks only at axes of size > 1 and rejects `rs = 0` with `AliasingStrides` although the
/// other axis is empty. Un-ignore when shape.rs returns Ok for views with a zero dimension.
#[test]
fn matmul_n_zero_row_major_c_is_a_no_op() {
    let a = [1.0f32; 6];
    let empty: [f32; 0] = [];
    let mut c: [f32; 0] = [];
    reference::matmul(
        1.0,
        MatRef::row_major(&a, 3, 2),
        MatRef::row_major(&empty, 2, 0),
        0.0,
        MatMut::row_major(&mut c, 3, 0),
    )
    .unwrap();
}

/// `B, Hq, Lq = 0` are no-ops (attention contract). Dense BHSD strides of `[2, 2, 0, 2]` are
/// `[0, 0, 2, 1]`; the same shape.rs bug as above rejects them with `AliasingStrides` on O,
/// although O has no elements.
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
