//! Softmax and log-softmax: masks and bias, fully masked rows, NaN, huge logits.

use super::{assert_exact, assert_ulps, NEG_INF, THIRD};
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{reference, MatMut, MatRef};

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
