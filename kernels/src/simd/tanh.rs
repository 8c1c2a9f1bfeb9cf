//! `tanh` for the attention logit softcap (`t = c·tanh(t/c)`), built on THE `exp`
//! ([`exp`](mod@super::exp)).
//!
//! [`tanh_lane`] is the specification: plain scalar code, one IEEE-754 binary32 operation per
//! line, each rounded once to nearest-even (`fma` is `libm::fmaf`, correctly rounded), plus the
//! softmax `exp` ([`exp_flush_lane`]). [`tanh`] is the same sequence over [`SimdF32`], so every
//! ISA tier returns the bits of [`tanh_lane`] (tested in this file on every tier the CPU runs).
//! [`SimdF32`] has no compare and no sign operations, and its division is slow (used once, for
//! `t/c`, by [`softcap_row`]), which shapes the method:
//!
//! # Method
//!
//! Both branches are computed for every lane and one is selected (`T0 = 0.75`):
//!
//! * **`|x| < T0`**: `tanh(x) = x + x·w`, `w = z·P(z)`, `z = x²`, with `P` of degree 5 fitted to
//!   `(tanh(x)/x − 1)/z` on `z ∈ [0, T0²]` (`−1/3 + 2z/15 − …`). Near 0, where
//!   `1 − 2/(e^{2x} + 1)` would cancel, the result is `x` plus a correction at most 0.16·|x|
//!   (at `x = T0`), so the correction's rounding errors are scaled down by that factor.
//!   `w = fma(z, P, +0)` rather than `z·P`: at `x = ±0` it is `+0`, so `fma(x, w, x)` keeps the
//!   sign of zero (`tanh(−0) = −0`); subnormal `x` give `x` exactly.
//! * **`|x| ≥ T0`**: `u = exp(−2|x|) ∈ [0, e^{−1.5}]` (`2|x|` is exact; [`exp_flush`] returns
//!   `+0` below `−87.33`, where `tanh` is `±1` in `f32` anyway), and
//!   `tanh(|x|) = (1 − u)/(1 + u) = 1 + u·Q(u)` with `Q(u) ≈ −2/(1 + u)` a degree-5 polynomial
//!   on that interval — no division. The sign comes back as `m · clamp(2x, −1, 1)`, which is
//!   `m · (±1)` exactly because `|2x| ≥ 1.5`.
//! * **Selection** without a compare: `fma_or_zero(2|x|, 1.5, ∞, 0, 0)` is `+0` on the small
//!   lanes and `∞·0 = NaN` on the others (and on NaN `x`), so `is_nan` of it is the mask.
//!   `|x|` and `−|x|` are `max`/`min` of `2x` and `−2x`; which zero they return at `x = ±0`
//!   does not matter (those lanes take the small branch, whose input is `x` itself).
//!
//! Specials: `tanh(±∞) = ±1`, `tanh(NaN)` = NaN, `tanh(±0) = ±0`; `|tanh_lane(x)| ≤ 1` always
//! (the large branch's `1 + u·Q(u)` is at most 1 since `u·Q(u) ≤ 0`).
//!
//! # Polynomials and error
//!
//! Coefficients by Lawson's iteration in `f64` (minimax, weighted to the relative error of
//! the result), then rounded to `f32`: `P` on `z ∈ [0, 0.5625]` approximates within 0.03 ulp of
//! the result, `Q` on `u ∈ [0, 0.2234]` within 0.07 ulp. With `ε = 2⁻²⁴` (the unit roundoff; one
//! ulp of `y` is between `ε|y|` and `2ε|y|`), the rounding budget:
//!
//! * small branch: `z` (≤ ε), `P` by Horner (≲ 1.5ε relative, its value ≈ −1/3), `w` (≤ ε):
//!   `w` is within ~3.5ε relative; the correction `x·w` is at most 0.181 of the result, so
//!   ≤ 0.64 ulp; the final fma ≤ 0.5 ulp. Bound ≈ 1.2 ulp.
//! * large branch: `u` within 1.6 ulp (the softmax `exp`'s bound on `[−20, 0]`), i.e. ≤ 3.2ε
//!   relative, moves `(1 − u)/(1 + u)` by `2u/(1 + u)² · 3.2ε ≤ 0.96ε`; `u·Q(u)` (≤ 0.365 in
//!   magnitude, Horner ≲ 1.2ε relative) ≤ 0.44ε; approximation 0.07 ulp; the final fma 0.5 ulp.
//!   The result is in `[0.635, 1]`, where one ulp is `ε`: bound ≈ 2 ulp.
//!
//! **Measured** against `f64::tanh` over every `f32` in `[0, 9.02]` (beyond, both are 1;
//! `tanh` is odd and the code is symmetric, bit for bit): at most **1.0679 ulp**, at
//! `x = 0.8416487` (`MEASURED_MAX_ULP` in the tests); the small branch stays below that. The test
//! `tanh_dense_sweep_against_f64` re-checks every 61st `f32` of the range on each build.
//!
//! In the attention tolerance (`huiyan_testkit::tol::attention_bounds`) a softcapped logit
//! `c·tanh(t/c)` is charged `U·4|t|` beyond the dot product's own `U·(dk + 4)·G` (`U = 2⁻²⁴`,
//! `G ≥ |t_raw| ≥ |t|`); the softcap's own error — the division (≤ U relative, passed on with
//! slope ≤ 1), this `tanh` (≤ 2 ulp ≤ 4U relative), the final multiply (U) — plus the scale
//! (U) stay within `U·(4|t_raw| + 4|t|)`, so that bound needs no change for this `tanh`.
//!
//! [`exp_flush_lane`]: super::exp::exp_flush_lane
//! [`exp_flush`]: super::exp::exp_flush

use super::exp::{exp_flush, exp_flush_lane, fma};
use super::SimdF32;

/// `2·T0 = 1.5` (`0x3fc0_0000`): lanes with `2|x| < 1.5` take the small branch.
const TWO_T0: f32 = f32::from_bits(0x3fc0_0000);

/// `P(z) = P0 + P1·z + … + P5·z⁵ ≈ (tanh(x)/x − 1)/z`, `z = x² ∈ [0, 0.5625]`.
const P0: f32 = f32::from_bits(0xbeaa_aaa5); // −0.33333316
const P1: f32 = f32::from_bits(0x3e08_86db); // 0.13332693
const P2: f32 = f32::from_bits(0xbd5c_be97); // −0.053892698
const P3: f32 = f32::from_bits(0x3caf_bbf6); // 0.021451931
const P4: f32 = f32::from_bits(0xbbfa_e82f); // −0.0076570730
const P5: f32 = f32::from_bits(0x3ae3_a5e2); // 0.0017368163

/// `Q(u) = Q0 + Q1·u + … + Q5·u⁵ ≈ −2/(1 + u)`, `u = e^{−2|x|} ∈ [0, 0.2234]`.
const Q0: f32 = f32::from_bits(0xbfff_fff7); // −1.9999989
const Q1: f32 = f32::from_bits(0x3fff_fcea); // 1.9999058
const Q2: f32 = f32::from_bits(0xbfff_a62d); // −1.9972588
const Q3: f32 = f32::from_bits(0x3ffb_33c5); // 1.9625174
const Q4: f32 = f32::from_bits(0xbfdd_9dd6); // −1.7313793
const Q5: f32 = f32::from_bits(0x3f79_30ef); // 0.97340292

/// `tanh(x)` for one `f32`: the specification every tier mirrors (method and error bound:
/// this module).
///
/// ```
/// use huiyan_kernels::softmax::tanh_lane;
/// assert_eq!(tanh_lane(0.0), 0.0);
/// assert!(tanh_lane(-0.0).is_sign_negative());
/// assert_eq!(tanh_lane(f32::INFINITY), 1.0);
/// assert_eq!(tanh_lane(-20.0), -1.0);
/// assert!((tanh_lane(0.5) - 0.46211716).abs() <= 6e-8);
/// assert!(tanh_lane(f32::NAN).is_nan());
/// ```
#[inline]
pub fn tanh_lane(x: f32) -> f32 {
    // Small branch: x + x·z·P(z).
    let z = x * x;
    let p = fma(P5, z, P4);
    let p = fma(p, z, P3);
    let p = fma(p, z, P2);
    let p = fma(p, z, P1);
    let p = fma(p, z, P0);
    let w = fma(z, p, 0.0);
    let small = fma(x, w, x);
    // Large branch: ±(1 + u·Q(u)), u = exp(−2|x|).
    let t2 = x + x;
    let nt2 = 0.0 - t2;
    let a2 = t2.max(nt2);
    let e2 = t2.min(nt2);
    let u = exp_flush_lane(e2);
    let q = fma(Q5, u, Q4);
    let q = fma(q, u, Q3);
    let q = fma(q, u, Q2);
    let q = fma(q, u, Q1);
    let q = fma(q, u, Q0);
    let m = fma(u, q, 1.0);
    let sgn = if t2 < -1.0 { -1.0 } else { t2 };
    let sgn = if sgn > 1.0 { 1.0 } else { sgn };
    let large = m * sgn;
    // NaN x: a2 is NaN, the compare is false, and the large branch is NaN too.
    if a2 < TWO_T0 {
        small
    } else {
        large
    }
}

/// [`tanh_lane`] on every lane of a vector.
#[inline(always)]
pub(crate) fn tanh<S: SimdF32>(s: S, x: S::V) -> S::V {
    let z = s.mul(x, x);
    let p = s.fma(s.splat(P5), z, s.splat(P4));
    let p = s.fma(p, z, s.splat(P3));
    let p = s.fma(p, z, s.splat(P2));
    let p = s.fma(p, z, s.splat(P1));
    let p = s.fma(p, z, s.splat(P0));
    let w = s.fma(z, p, s.splat(0.0));
    let small = s.fma(x, w, x);
    let t2 = s.add(x, x);
    let nt2 = s.sub(s.splat(0.0), t2);
    let a2 = s.max(t2, nt2);
    let e2 = s.min(t2, nt2);
    let u = exp_flush(s, e2);
    let q = s.fma(s.splat(Q5), u, s.splat(Q4));
    let q = s.fma(q, u, s.splat(Q3));
    let q = s.fma(q, u, s.splat(Q2));
    let q = s.fma(q, u, s.splat(Q1));
    let q = s.fma(q, u, s.splat(Q0));
    let m = s.fma(u, q, s.splat(1.0));
    let sgn = s.clamp_above(s.clamp_below(t2, s.splat(-1.0)), s.splat(1.0));
    let large = s.mul(m, sgn);
    // +0 where 2|x| < 1.5, else ∞·0 = NaN (NaN a2 keeps the fma): the large-branch mask.
    let inf = s.splat(f32::INFINITY);
    let zero = s.splat(0.0);
    let big = s.is_nan(s.fma_or_zero(a2, s.splat(TWO_T0), inf, zero, zero));
    s.select(big, large, small)
}

/// `x[j] ← c·tanh(x[j]/c)` over `n` floats: the softcap of a score row or panel (`x/c` a true
/// division, as the contract writes it: a reciprocal would lose accuracy for tiny or huge `c`).
///
/// # Safety
///
/// `x` readable and writable for `n` floats; the CPU supports `S`.
#[inline(always)]
pub(crate) unsafe fn softcap_row<S: SimdF32>(s: S, x: *mut f32, n: usize, c: f32) {
    let l = S::LANES;
    let cv = s.splat(c);
    let mut e = 0;
    // SAFETY: every access stays below n.
    unsafe {
        while e + l <= n {
            let y = s.mul(cv, tanh(s, s.div(s.load(x.add(e)), cv)));
            s.store(x.add(e), y);
            e += l;
        }
        if e < n {
            let v = s.load_part(x.add(e), n - e, 0.0);
            let y = s.mul(cv, tanh(s, s.div(v, cv)));
            s.store_part(x.add(e), n - e, y);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::tier::Tier;
    use crate::tiers::{for_each_tier, VisitTier};

    /// Largest error of [`tanh_lane`] against `f64::tanh` over every `f32` in `[0, 9.02]`, in ulps
    /// of the `f32` result: 1.0679 at `x = 0.8416487` (`0x3f57_764a`, the large branch just above
    /// `T0`, where the `exp` error weighs most). Exhaustive sweep, `tanh_full_sweep` with
    /// `HUIYAN_FULL_TANH_SWEEP=1` (`tanh_full_sweep`).
    const MEASURED_MAX_ULP: f64 = 1.067_876_080_051_064_5;

    /// `|got − want|` in ulps of `f32` at `want`'s magnitude (`2^(e−23)` in the binade
    /// `[2^e, 2^(e+1))`, `2⁻¹⁴⁹` below the normal range).
    fn ulps(got: f32, want: f64) -> f64 {
        if got as f64 == want {
            return 0.0;
        }
        let e = ((want.abs().to_bits() >> 52) & 0x7ff) as i32 - 1023;
        let ulp = 2f64.powi(e.max(-126) - 23);
        (got as f64 - want).abs() / ulp
    }

    /// Inputs for the cross-tier test: a walk over every binade (both signs), the branch
    /// boundary, where `exp` flushes, specials.
    fn inputs() -> Vec<f32> {
        let mut v: Vec<f32> = (0..=0x7f80_0000u32)
            .step_by(7919)
            .flat_map(|b| [f32::from_bits(b), f32::from_bits(b | 0x8000_0000)])
            .collect();
        for c in [0.75f32, 43.66, 9.0] {
            let b = c.to_bits();
            for d in b - 8..b + 8 {
                v.extend([f32::from_bits(d), -f32::from_bits(d)]);
            }
        }
        v.extend([
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
        ]);
        v.extend([f32::MIN_POSITIVE, -1e-45, 1e-20, 0.5, -0.5, 1.0, -3.0]);
        while !v.len().is_multiple_of(64) {
            v.push(0.25);
        }
        v
    }

    fn check_tier<S: SimdF32>(s: S, name: &str) {
        let x = inputs();
        let mut got = std::vec![0.0f32; x.len()];
        for j in (0..x.len()).step_by(S::LANES) {
            // SAFETY: x.len() is a multiple of 64 ≥ LANES, so every vector is in bounds.
            unsafe { s.store(got.as_mut_ptr().add(j), tanh(s, s.load(x.as_ptr().add(j)))) };
        }
        for (&xi, &g) in x.iter().zip(&got) {
            let want = tanh_lane(xi);
            let same = (g.is_nan() && want.is_nan()) || g.to_bits() == want.to_bits();
            assert!(same, "{name}: tanh({xi:e}) = {g:e}, tanh_lane = {want:e}");
        }
        // softcap_row, with a tail: c·tanh(x/c) lane by lane.
        let c = 30.0f32;
        let mut row: Vec<f32> = (0..37).map(|j| (j as f32 - 18.0) * 7.5).collect();
        let want: Vec<f32> = row.iter().map(|&t| c * tanh_lane(t / c)).collect();
        // SAFETY: row holds 37 floats.
        unsafe { softcap_row(s, row.as_mut_ptr(), row.len(), c) };
        assert_eq!(row, want, "{name}: softcap_row");
    }

    #[test]
    fn every_tier_returns_the_bits_of_tanh_lane() {
        struct Check;
        impl VisitTier for Check {
            fn visit<T: Tier>(&mut self, t: T) {
                check_tier(t, T::ID.name());
            }
        }
        for_each_tier(&mut Check);
    }

    #[test]
    fn specials_signs_and_range() {
        assert_eq!(tanh_lane(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh_lane(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_lane(f32::INFINITY), 1.0);
        assert_eq!(tanh_lane(f32::NEG_INFINITY), -1.0);
        assert!(tanh_lane(f32::NAN).is_nan());
        for x in [1e-45f32, 1e-40, f32::MIN_POSITIVE, 1e-30] {
            assert_eq!(tanh_lane(x), x, "tiny x is its own tanh");
            assert_eq!(tanh_lane(-x), -x);
        }
        for b in (0..=0x7f80_0000u32).step_by(4099) {
            let x = f32::from_bits(b);
            let y = tanh_lane(x);
            assert!((0.0..=1.0).contains(&y), "tanh({x:e}) = {y:e}");
            assert_eq!(tanh_lane(-x).to_bits(), (-y).to_bits(), "odd at {x:e}");
        }
    }

    /// A dense sweep (every 61st `f32` of `[0, 9.02]`, 18 million values) against `f64::tanh`:
    /// never above the exhaustive sweep's maximum, [`MEASURED_MAX_ULP`].
    #[test]
    fn tanh_dense_sweep_against_f64() {
        let (mut worst, mut at) = (0.0f64, 0.0f32);
        for b in (0..=9.02f32.to_bits()).step_by(61) {
            let x = f32::from_bits(b);
            let e = ulps(tanh_lane(x), (x as f64).tanh());
            if e > worst {
                (worst, at) = (e, x);
            }
        }
        // (1e-6: another platform's f64::tanh may differ in its last bits.)
        assert!(
            worst <= MEASURED_MAX_ULP + 1e-6,
            "max {worst} ulp at {at:e} ({:#010x})",
            at.to_bits()
        );
    }

    /// Every `f32` in `[0, 9.02]` (1.09e9 values; `tanh` is odd and `tanh_lane` symmetric),
    /// with [`tanh_lane`] (every tier returns its bits: the cross-tier test above):
    /// `HUIYAN_FULL_TANH_SWEEP=1 cargo test --release -p huiyan-kernels
    /// tanh_full_sweep -- --nocapture`. Prints the maximum; it must equal [`MEASURED_MAX_ULP`].
    #[test]
    fn tanh_full_sweep() {
        if std::env::var("HUIYAN_FULL_TANH_SWEEP").as_deref() != Ok("1") {
            std::eprintln!("tanh_full_sweep: skipped (set HUIYAN_FULL_TANH_SWEEP=1; --release)");
            return;
        }
        let hi = 9.02f32.to_bits();
        let sweep = |lo: u32, hi: u32| {
            let (mut worst, mut at) = (0.0f64, 0.0f32);
            let mut x = std::vec![0.0f32; 1 << 16];
            let mut y = std::vec![0.0f32; 1 << 16];
            let mut b = lo as u64;
            while b <= hi as u64 {
                let n = ((hi as u64 - b + 1) as usize).min(x.len());
                for (i, xi) in x.iter_mut().enumerate().take(n) {
                    *xi = f32::from_bits((b + i as u64) as u32);
                }
                for (yi, &xi) in y.iter_mut().zip(&x).take(n) {
                    *yi = tanh_lane(xi);
                }
                for i in 0..n {
                    let e = ulps(y[i], (x[i] as f64).tanh());
                    if e > worst {
                        (worst, at) = (e, x[i]);
                    }
                }
                b += n as u64;
            }
            (worst, at)
        };
        let mid = hi / 2;
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(move || sweep(0, mid));
            let b = sweep(mid + 1, hi);
            (h.join().unwrap(), b)
        });
        let (worst, at) = if a.0 >= b.0 { a } else { b };
        std::println!(
            "tanh_full_sweep: max {worst} ulp at x = {at:e} ({:#010x})",
            at.to_bits()
        );
        assert!(
            (worst - MEASURED_MAX_ULP).abs() < 1e-6,
            "MEASURED_MAX_ULP is stale"
        );
    }
}
