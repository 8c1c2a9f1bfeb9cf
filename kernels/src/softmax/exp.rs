//! THE `exp`: `f32` exponential by range reduction and a degree-6 polynomial.
//!
//! [`exp_lane`] is the specification: plain scalar code, one IEEE-754 binary32 operation per
//! line, each rounded once to nearest-even. [`exp`] is the same sequence written over
//! [`SimdF32`]; every ISA tier runs it, so every tier returns the bits of [`exp_lane`] (tested
//! over the whole domain in `tests/softmax.rs`). No step uses a fused multiply-add: `wide` on
//! SSE2, wasm `simd128` and soft-float targets have none, and on the CPU this crate is tuned
//! for (AMD Zen 4) the separate adds run on the FP-add pipes beside the multiplies, so fusing
//! would save no time there.
//!
//! # Method
//!
//! `eˣ = 2ⁿ · eʳ` with `n = round(x · log₂e)` and `r = x − n·ln2`, so `|r| ≤ ln2/2 ≈ 0.3466`
//! (slightly more when `x · log₂e` rounds across a half-integer: the polynomial is fitted on
//! `|r| ≤ 0.3468`).
//!
//! 1. **Clamp** `x` to `[LO, HI] = [−104, 89]`, keeping NaN. Why: below `−103.972…`
//!    (`ln 2⁻¹⁵⁰`) the exact result is under half the smallest subnormal and rounds to `+0`;
//!    clamping there keeps `n ≥ −150` so step 8's scale factors stay normal numbers, and maps
//!    `−∞` to `+0` without a special case (`−∞ − n·ln2` would be NaN). Above `88.722839…`
//!    (`ln FLT_MAX`) the result overflows; clamping at 89 keeps `n ≤ 128` and still
//!    overflows to `+∞`, so `+∞` and every large input give `+∞`. NaN passes both compares.
//! 2. `xl = x · LOG2E`.
//! 3. `nf = round_ties_even(xl)` — by adding and subtracting `1.5·2²³` (exact for `|xl| < 2²²`;
//!    here `|xl| ≤ 151`); tiers with a rounding instruction use it: same result.
//! 4. `r = x − nf · LN2_HI`. Cody–Waite: `LN2_HI` has 16 significant bits and `|nf| ≤ 150`
//!    has 8, so the product is exact; the difference is exact by Sterbenz' lemma (for
//!    `n ≠ 0`, `x` lies within a factor 2 of `nf · LN2_HI`; for `n = 0` it is `x` itself).
//! 5. `r = r − nf · LN2_LO`: `LN2_HI + LN2_LO` = ln2 within 5.5e-14, so `r` is the exact
//!    reduced argument within half an ulp of `r` (≤ 2⁻²⁶ absolute).
//! 6. `q = ((((C6·r + C5)·r + C4)·r + C3)·r + C2)` (Horner).
//! 7. `p = 1 + (r + r²·q)`: `eʳ ≈ 1 + r + r²·q(r)`. Adding the two small terms first and the 1
//!    last makes the final add's rounding (≤ ½ ulp) dominate the error.
//! 8. `y = (p · 2^(n>>1)) · 2^(n − (n>>1))`: both factors are normal powers of two for
//!    `n ∈ [−150, 128]`; the first product is exact (`p ∈ [0.7, 1.42]`), so `y` is `p · 2ⁿ`
//!    rounded once — including gradual underflow into subnormals and overflow to `+∞`. AVX-512
//!    does the same in one `vscalefps`, which also rounds `p · 2ⁿ` once: same bits.
//!
//! # Polynomial
//!
//! `C2..C6` minimise the maximum relative error of `1 + r + r²·q(r)` against `eʳ` on
//! `[−0.3468, 0.3468]` (Remez exchange in `f64`, then each coefficient rounded to `f32`). With
//! the rounded coefficients the polynomial's own relative error is ≤ 4.0e-9 ≈ 0.07·2⁻²⁴ —
//! negligible next to the evaluation's roundings.
//!
//! # Error
//!
//! Within the domain `[−87.33, 88.72]` (normal results): final add ≤ ½ ulp, `r` ≤ 2⁻²⁶
//! relative, the `r + r²q` add ≤ 2⁻²⁶ absolute, the Horner chain ≲ 0.2·2⁻²⁴: a bound of
//! ≈ 1.2 ulp; the exhaustive sweep over every `f32` in the domain measures
//! **0.98 ulp** maximum (see `tests/softmax.rs`, `HUIYAN_FULL_EXP_SWEEP=1`).
//!
//! # Specials and underflow
//!
//! `exp(−∞) = +0`, `exp(+∞) = +∞`, `exp(NaN)` = NaN, `x > 88.7228…` → `+∞`. Between
//! `−103.97` and `−87.34` the result is subnormal: `p · 2ⁿ` rounded once, so within 1 unit of
//! the subnormal spacing `2⁻¹⁴⁹` (gradual underflow, no flush to zero); below, `+0`.

use super::simd::SimdF32;

/// Lower clamp: `−104` (`0xc2d0_0000`); `exp(−104) < 2⁻¹⁵⁰`, rounds to `+0`.
pub(crate) const LO: f32 = f32::from_bits(0xc2d0_0000);
/// Upper clamp: `89` (`0x42b2_0000`); `exp(89) > FLT_MAX`, overflows to `+∞`.
pub(crate) const HI: f32 = f32::from_bits(0x42b2_0000);
/// `log₂e` rounded to `f32`: 1.44269502… (`0x3fb8_aa3b`).
pub(crate) const LOG2E: f32 = f32::from_bits(0x3fb8_aa3b);
/// `1.5 · 2²³` (`0x4b40_0000`): adding and subtracting it rounds `|v| < 2²²` to an integer.
pub(crate) const ROUND_MAGIC: f32 = f32::from_bits(0x4b40_0000);
/// High part of ln2, 16 significant bits: 0.693145751953125 (`0x3f31_7200`).
pub(crate) const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
/// `ln2 − LN2_HI` rounded to `f32`: 1.4286068e-6 (`0x35bf_be8e`).
pub(crate) const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
/// `r²` coefficient, ≈ 1/2: 0.49999994 (`0x3eff_fffe`).
pub(crate) const C2: f32 = f32::from_bits(0x3eff_fffe);
/// `r³` coefficient, ≈ 1/6: 0.16666521 (`0x3e2a_aa49`).
pub(crate) const C3: f32 = f32::from_bits(0x3e2a_aa49);
/// `r⁴` coefficient, ≈ 1/24: 0.041668430 (`0x3d2a_ac84`).
pub(crate) const C4: f32 = f32::from_bits(0x3d2a_ac84);
/// `r⁵` coefficient, ≈ 1/120: 0.0083687389 (`0x3c09_1d09`).
pub(crate) const C5: f32 = f32::from_bits(0x3c09_1d09);
/// `r⁶` coefficient, ≈ 1/720: 0.0013812417 (`0x3ab5_0ac8`).
pub(crate) const C6: f32 = f32::from_bits(0x3ab5_0ac8);

/// `eˣ` for one `f32`: the specification every tier mirrors (see the [module docs](self)).
///
/// ```
/// use huiyan_kernels::softmax::exp_lane;
/// assert_eq!(exp_lane(0.0), 1.0);
/// assert_eq!(exp_lane(f32::NEG_INFINITY), 0.0);
/// assert_eq!(exp_lane(100.0), f32::INFINITY);
/// assert!((exp_lane(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 2.0);
/// ```
#[inline]
pub fn exp_lane(x: f32) -> f32 {
    // 1. Clamp, NaN passing through (both compares are false for NaN).
    let x = if x > HI { HI } else { x };
    let x = if x < LO { LO } else { x };
    // 2.–3. n = round(x·log₂e), ties to even.
    let xl = x * LOG2E;
    let nf = (xl + ROUND_MAGIC) - ROUND_MAGIC;
    // 4.–5. Cody–Waite reduction.
    let r = x - nf * LN2_HI;
    let r = r - nf * LN2_LO;
    // 6. Horner.
    let q = C6 * r + C5;
    let q = q * r + C4;
    let q = q * r + C3;
    let q = q * r + C2;
    // 7. p = 1 + (r + r²q).
    let r2 = r * r;
    let s = r2 * q + r;
    let p = s + 1.0;
    // 8. Scale by 2ⁿ in two exact-or-once-rounded steps. `nf` is an integer in [−150, 128]
    // (or NaN: `as` gives 0 and `p` is NaN anyway).
    let n = nf as i32;
    let n1 = n >> 1;
    let n2 = n - n1;
    let y = p * pow2(n1);
    y * pow2(n2)
}

/// `2ᵏ` for `k ∈ [−126, 127]`, built from its exponent bits.
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// [`exp_lane`] on every lane of a vector.
#[inline(always)]
pub(crate) fn exp<S: SimdF32>(s: S, x: S::V) -> S::V {
    let x = s.clamp_above(x, s.splat(HI));
    exp_le_hi(s, x)
}

/// [`exp`] for inputs already known to be `≤ HI` or NaN (softmax's `t − max ≤ 0`): skips the
/// upper clamp, which would be a no-op. Same bits as [`exp_lane`].
#[inline(always)]
pub(crate) fn exp_le_hi<S: SimdF32>(s: S, x: S::V) -> S::V {
    let x = s.clamp_below(x, s.splat(LO));
    let xl = s.mul(x, s.splat(LOG2E));
    let nf = s.round(xl);
    let r = s.sub(x, s.mul(nf, s.splat(LN2_HI)));
    let r = s.sub(r, s.mul(nf, s.splat(LN2_LO)));
    let q = s.add(s.mul(s.splat(C6), r), s.splat(C5));
    let q = s.add(s.mul(q, r), s.splat(C4));
    let q = s.add(s.mul(q, r), s.splat(C3));
    let q = s.add(s.mul(q, r), s.splat(C2));
    let r2 = s.mul(r, r);
    let t = s.add(s.mul(r2, q), r);
    let p = s.add(t, s.splat(1.0));
    s.ldexp(p, nf)
}
