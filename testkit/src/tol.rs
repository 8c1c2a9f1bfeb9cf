//! Tolerances, stated once and explained.
//!
//! `U = 2⁻²⁴` is the unit roundoff of `f32`. All bounds compare an `f32` kernel with the
//! `f64` reference, whose own error is negligible (≈ 2⁻⁵³ relative).

/// Unit roundoff of `f32`.
pub const U: f64 = 1.0 / (1u64 << 24) as f64;

/// Matmul, element `(i, j)`: `|ΔC| ≤ gemm(k) · (|α|·(|A||B|)ᵢⱼ + |β|·|C₀ᵢⱼ|)`.
///
/// Any order of summing `k` products in `f32` (with or without FMA) is within `γ_k ≈ k·U` of
/// the exact dot product relative to `Σ|a||b|` (Higham, *Accuracy and Stability*, §3.1); the
/// extra terms cover rounding the α and β products and the final add. This is a worst case, so
/// it is safe at every `k`; blocked sums typically land near `√k·U`.
pub fn gemm(k: usize) -> f64 {
    (k as f64 + 4.0) * U
}

/// Softmax, element `j` of a row of `n` entries: `|Δy| ≤ softmax(n, a)·y + 2⁻¹⁴⁹` (relative to
/// the exact value, with the smallest subnormal as an absolute floor for outputs that underflow).
///
/// Each output is `exp(tⱼ − m) / Σ`: the exp contributes ≤ 2 ulp, the scaling and subtraction
/// ≤ 2 U relative (amplified by |t| for huge logits: the caller passes the argument range), the
/// sum ≤ n·U relative. `exp_arg` is the largest |tⱼ − m| taking part in the row (for huge-logit
/// rows the rounding of `tⱼ − m` itself is amplified by exp).
pub fn softmax(n: usize, exp_arg: f64) -> f64 {
    (n as f64 + 8.0 + 2.0 * exp_arg) * U
}

/// The `exp` kernel: at most this many ulp from the correctly rounded value over its domain.
pub const EXP_ULP: f64 = 2.0;

/// Attention output element: `|ΔO| ≤ attention(dk, lk) · Σⱼ pⱼ|vⱼ| · (1 + max|t|)`, the
/// reference's weighted sum of absolute values. The dot product contributes `dk·U` relative to
/// `|q||k|` (times `scale`, which feeds into the logit error amplified by exp, hence the
/// `1 + max|t|` factor the caller supplies); the softmax `lk·U`; the P·V sum another `lk·U`.
pub fn attention(dk: usize, lk: usize) -> f64 {
    (dk as f64 + 2.0 * lk as f64 + 16.0) * U
}
