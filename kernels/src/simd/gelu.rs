//! GELU in its erf form, `gelu(x) = x·Φ(x) = ½·x·(1 + erf(x/√2))` (BERT's `hidden_act =
//! "gelu"`), built on THE `exp` ([`exp`](mod@super::exp)).
//!
//! [`gelu_lane`] is the specification: plain scalar code, one IEEE-754 binary32 operation per
//! line, each rounded once to nearest-even (`fma` is `libm::fmaf`, correctly rounded; `/` is
//! IEEE division), plus [`exp_lane`]. [`gelu`] is the same sequence over [`SimdF32`], so every
//! ISA tier returns the bits of [`gelu_lane`] (tested in this file on every tier the CPU runs).
//!
//! # Method
//!
//! One formula for every `x`, no branch: with `q = Φ(−|x|) = ½·erfc(|x|/√2) ≤ ½`,
//! `Φ(x) = 1 − q` for `x ≥ 0` and `q` for `x < 0`. Neither cancels (`1 − q ∈ [½, 1]`), so the
//! relative error of `gelu` is that of `q` scaled by at most 1, plus two roundings.
//!
//! 1. **Clamp** `x` to `[−C, C]`, `C = 14.5` (`0x4168_0000`), keeping NaN: `C²/2 = 105.1`
//!    lies below `exp`'s `−103.97`, so `q` is exactly `+0` at and beyond the clamp (the true
//!    `q(14.5) ≈ 2.3e−48` is below the smallest subnormal anyway) and `±∞` needs no case.
//! 2. `x² = hh + lo` exactly: `hh = x·x`, `lo = fma(x, x, −hh)`. Working with `x²/2` instead
//!    of `(x/√2)²` avoids rounding `x/√2`, whose error would be amplified `x²`-fold by the
//!    Gaussian tail (≈ 100 ulp at `x = −10`).
//! 3. `e = exp(−x²/2) = exp(−hh/2)·exp(−lo/2) ≈ fma(E, −lo/2, E)`, `E = exp_lane(−hh/2)`
//!    (halving is exact; `|lo/2| ≤ 2⁻²⁴·hh`, so dropping `lo²/8` costs nothing).
//! 4. `t = 1/(1 + |x|/2) ∈ [0.121, 1]` (one fma, one IEEE division) and `u = t − TC`,
//!    `TC = 0.5606` the middle of the `t` range (`0x3f0f_83e1`), which keeps Horner's partial
//!    sums below the result.
//! 5. `R = t·P(u)`, `P` of degree 10, approximates the scaled Mills ratio
//!    `R(z) = Φ(−z)·e^{z²/2}` on `z ∈ [0, 14.5]` (`R(0) = ½`, `R(z) → 1/(z√(2π))`): the
//!    change of variable `t` turns the `1/z` tail into something a polynomial fits (the form of
//!    Numerical Recipes' `erfcc`, with its own coefficients).
//! 6. `xq = (x·R)·e = x·Φ(−|x|)`, in that order: `x·R` is normal and `e` is normal wherever
//!    the result is, so the product keeps full precision down to the subnormal range (the
//!    order `x·(e·R)` makes `e·R` subnormal first, from `x ≈ −13.1`: 10 ulp there).
//! 7. `gelu = fma(xq, 1 − 2s, x'·s)` with `s = 0` for `x < 0` and `1` otherwise (from
//!    `fma_or_zero`: the vector layer has no compare): `xq` itself below zero, `x − xq`
//!    rounded once above. `x' = max(x, −C)`, so that `gelu(−∞) = −0` instead of
//!    `−∞·0 = NaN`; above, `x` itself (`gelu(+∞) = +∞`, `q = 0` there).
//!
//! # Polynomial and error
//!
//! `P`'s coefficients minimise the maximum relative error of `t·P(t − TC)` against `R` on the
//! whole `t` range (Lawson's iteration in `f64` over 20,000 Chebyshev nodes, with `R` from
//! `erfc` and `exp` in `f64`), then are rounded to `f32`: 0.39·2⁻²⁴ relative. Evaluated in
//! `f32` (the rounding of `1 + |x|/2` and of `t`, which move the point where `R` is taken, and
//! Horner's roundings), `R` is within 4.2·2⁻²⁴ relative (simulated over 300,001 points of
//! `[0, 14.5]`). Budget of `q`, relative, in units of `ε = 2⁻²⁴`: `exp` 0.988 ulp ≤ 2ε, the
//! `lo` correction ε, `R` 4.2ε, the two products 2ε: `xq` within 9.2ε. For `x < 0` that is
//! the result; for `x ≥ 0`, `x − xq` carries it scaled by `xq/(x − xq) ≤ 1` plus its
//! rounding: a bound of ≈ 10ε, about 10 ulp, in both halves. Outputs below `2⁻¹²⁶` in magnitude (`x < −13.2`) are
//! subnormal: there the error is absolute, a few units of `2⁻¹⁴⁹`.
//!
//! **Measured** against `x·½·erfc(−x/√2)` in `f64` (`libm::erfc`) over every `f32` in
//! `[−13.2, 14.5]` whose result is normal (`HUIYAN_FULL_GELU_SWEEP=1 cargo test --release -p
//! huiyan-kernels gelu_full_sweep`): at most [`MEASURED_MAX_ULP`](tests) ulp; the test
//! `gelu_strided_sweep_against_f64` re-checks every 101st `f32` of that range on each build.
//! Beyond `14.5` the result is `x`, beyond `−14.5` it is `−0`.
//!
//! [`exp_lane`]: super::exp::exp_lane

use super::exp::{exp, exp_lane, fma};
use super::SimdF32;

/// Clamp of the argument: `14.5` (`0x4168_0000`); `exp(−14.5²/2)` is `+0` in `f32`.
const CLAMP: f32 = f32::from_bits(0x4168_0000);
/// Centre of the `t` range `[1/(1 + C/2), 1]`: `0.56060606` (`0x3f0f_83e1`).
const TC: f32 = f32::from_bits(0x3f0f_83e1);

/// `P(u) = G0 + G1·u + … + G10·u¹⁰ ≈ R(z)/t`, `u = t − TC ∈ [−0.44, 0.44]`.
const G0: f32 = f32::from_bits(0x3eb6_82fa); // 0.35646802
const G1: f32 = f32::from_bits(0x3eac_6d3e); // 0.33677095
const G2: f32 = f32::from_bits(0x3cfe_379b); // 0.031032374
const G3: f32 = f32::from_bits(0xbe13_9b6a); // −0.14414755
const G4: f32 = f32::from_bits(0x3cce_48ef); // 0.025181262
const G5: f32 = f32::from_bits(0x3da9_9019); // 0.082794376
const G6: f32 = f32::from_bits(0xbd9a_133c); // −0.075231999
const G7: f32 = f32::from_bits(0xbc61_0186); // −0.013733273
const G8: f32 = f32::from_bits(0x3da7_cef5); // 0.081937708
const G9: f32 = f32::from_bits(0xbd01_3df9); // −0.031553242
const G10: f32 = f32::from_bits(0xbd20_073c); // −0.039069399

/// `gelu(x) = x·Φ(x)` (erf form) for one `f32`: the specification every tier mirrors (method
/// and error bound: this module).
///
/// ```
/// use huiyan_kernels::norm::gelu_lane;
/// assert_eq!(gelu_lane(0.0), 0.0);
/// assert_eq!(gelu_lane(f32::INFINITY), f32::INFINITY);
/// assert_eq!(gelu_lane(f32::NEG_INFINITY), 0.0);
/// assert_eq!(gelu_lane(20.0), 20.0);
/// assert!((gelu_lane(1.0) - 0.8413447).abs() <= 1e-7);
/// assert!((gelu_lane(-1.0) + 0.15865526).abs() <= 3e-8);
/// assert!(gelu_lane(f32::NAN).is_nan());
/// ```
#[inline]
pub fn gelu_lane(x: f32) -> f32 {
    // 1. Clamp, NaN passing through.
    let xc = if x > CLAMP { CLAMP } else { x };
    let xc = if xc < -CLAMP { -CLAMP } else { xc };
    let z = xc.max(0.0 - xc);
    // 2.–3. e = exp(−x²/2) with x² = hh + lo.
    let hh = xc * xc;
    let lo = fma(xc, xc, 0.0 - hh);
    let big_e = exp_lane(-0.5 * hh);
    let e = fma(big_e, -0.5 * lo, big_e);
    // 4. t and u.
    let t = 1.0 / fma(0.5, z, 1.0);
    let u = t - TC;
    // 5. R = t·P(u).
    let p = fma(G10, u, G9);
    let p = fma(p, u, G8);
    let p = fma(p, u, G7);
    let p = fma(p, u, G6);
    let p = fma(p, u, G5);
    let p = fma(p, u, G4);
    let p = fma(p, u, G3);
    let p = fma(p, u, G2);
    let p = fma(p, u, G1);
    let p = fma(p, u, G0);
    let r = p * t;
    // 6. xq = x·Φ(−|x|) as (x·R)·e (normal wherever the result is).
    let xq = (xc * r) * e;
    // 7. gelu = x·s + xq·(1 − 2s): x − xq for x ≥ 0, xq below.
    let s = if xc < 0.0 { 0.0 } else { 1.0 };
    let xl = if x < -CLAMP { -CLAMP } else { x };
    fma(xq, fma(s, -2.0, 1.0), xl * s)
}

/// [`gelu_lane`] on every lane of a vector.
#[inline(always)]
pub(crate) fn gelu<S: SimdF32>(s: S, x: S::V) -> S::V {
    let xc = s.clamp_above(x, s.splat(CLAMP));
    let xc = s.clamp_below(xc, s.splat(-CLAMP));
    let z = s.max(xc, s.sub(s.splat(0.0), xc));
    let hh = s.mul(xc, xc);
    let lo = s.fma(xc, xc, s.sub(s.splat(0.0), hh));
    let big_e = exp(s, s.mul(s.splat(-0.5), hh));
    let e = s.fma(big_e, s.mul(s.splat(-0.5), lo), big_e);
    let one = s.splat(1.0);
    let t = s.div(one, s.fma(s.splat(0.5), z, one));
    let u = s.sub(t, s.splat(TC));
    let p = s.fma(s.splat(G10), u, s.splat(G9));
    let p = s.fma(p, u, s.splat(G8));
    let p = s.fma(p, u, s.splat(G7));
    let p = s.fma(p, u, s.splat(G6));
    let p = s.fma(p, u, s.splat(G5));
    let p = s.fma(p, u, s.splat(G4));
    let p = s.fma(p, u, s.splat(G3));
    let p = s.fma(p, u, s.splat(G2));
    let p = s.fma(p, u, s.splat(G1));
    let p = s.fma(p, u, s.splat(G0));
    let r = s.mul(p, t);
    let xq = s.mul(s.mul(xc, r), e);
    // s = +0 where xc < 0, else 1·1 + 0 = 1 (a NaN xc keeps the fma).
    let sg = s.fma_or_zero(xc, s.splat(0.0), one, one, s.splat(0.0));
    let xl = s.clamp_below(x, s.splat(-CLAMP));
    s.fma(xq, s.fma(sg, s.splat(-2.0), one), s.mul(xl, sg))
}

// The `-0.5 * hh` of the lane code and `mul(-0.5, hh)` here are the same IEEE product, and
// `0.0 - xc` / `sub(0, xc)` the same difference, so the two sequences match operation for
// operation (`max` of `xc` and `−xc` is exact whichever zero it returns: `z = 0` either way).

#[cfg(test)]
mod tests;
