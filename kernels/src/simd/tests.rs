//! In-crate tests of what the API tests cannot reach: the softmax `exp` variant and the row
//! primitives, on every tier under test.

use std::vec::Vec;

use super::exp::{exp_flush, exp_flush_lane, exp_flush_xn, exp_lane, FLUSH};
use super::row::{extreme, extremes, mul_inplace, sum_exp, Stored};
use crate::tier::Tier;
use crate::tiers::{for_each_tier, VisitTier};
use huiyan_testkit::ulp_error;

/// Inputs for the flush variant: a dense walk over `[−104, 0]`, the flush boundary, specials.
fn inputs() -> Vec<f32> {
    let mut v: Vec<f32> = ((0.0f32).to_bits()..=(-104.0f32).to_bits())
        .step_by(4099)
        .map(|b| f32::from_bits(b | 0x8000_0000))
        .collect();
    let fl = FLUSH.to_bits();
    v.extend((fl - 40..fl + 40).map(f32::from_bits));
    v.extend([0.0, -0.0, f32::NEG_INFINITY, f32::NAN, -1e30, -f32::MAX]);
    while !v.len().is_multiple_of(64) {
        v.push(-1.0);
    }
    v
}

fn check_tier<S: Tier>(s: S) {
    let name = S::ID.name();
    let x = inputs();
    let l = S::LANES;
    let mut got = std::vec![0.0f32; x.len()];
    let mut got4 = std::vec![0.0f32; x.len()];
    for j in (0..x.len()).step_by(l) {
        // SAFETY: x.len() is a multiple of 64, so every vector is in bounds.
        unsafe {
            s.store(
                got.as_mut_ptr().add(j),
                exp_flush(s, s.load(x.as_ptr().add(j))),
            )
        };
    }
    for j in (0..x.len()).step_by(4 * l) {
        // SAFETY: as above (4·LANES ≤ 64 divides the length).
        unsafe {
            let v = [0, 1, 2, 3].map(|i| s.load(x.as_ptr().add(j + i * l)));
            let e = exp_flush_xn(s, v);
            for (i, e) in e.into_iter().enumerate() {
                s.store(got4.as_mut_ptr().add(j + i * l), e);
            }
        }
    }
    for (i, &xi) in x.iter().enumerate() {
        let want = exp_flush_lane(xi);
        for (g, what) in [(got[i], "x1"), (got4[i], "x4")] {
            let same = (g.is_nan() && want.is_nan()) || g.to_bits() == want.to_bits();
            assert!(
                same,
                "{name} {what}: exp_flush({xi:e}) = {g:e}, want {want:e}"
            );
        }
    }
    // Row primitives: the steps of a softmax row, in place, with a tail.
    let mut row: Vec<f32> = (0..37).map(|j| (j as f32 * 0.7).sin() * 3.0).collect();
    let orig = row.clone();
    let n = row.len();
    // SAFETY: every call covers the n elements of `row`.
    unsafe {
        mul_inplace(s, row.as_mut_ptr(), n, 0.5);
        let want_m = orig
            .iter()
            .map(|v| v * 0.5)
            .fold(f32::NEG_INFINITY, f32::max);
        let want_lo = orig.iter().map(|v| v * 0.5).fold(f32::INFINITY, f32::min);
        let (m, nan) = extreme::<S, true, true>(s, row.as_ptr(), n);
        assert_eq!((m, nan), (want_m, false), "{name}: extreme (max)");
        let (lo, _) = extreme::<S, false, true>(s, row.as_ptr(), n);
        assert_eq!(lo, want_lo, "{name}: extreme (min)");
        let e = extremes::<S, true, false>(s, row.as_ptr(), n, core::ptr::null_mut(), 0.0);
        assert_eq!(
            (e.max, e.min, e.nan),
            (want_m, want_lo, false),
            "{name}: extremes"
        );
        let p = row.as_mut_ptr();
        let sum = sum_exp::<S, _, true, true>(s, Stored(p), p, n, m, true, None);
        let want: f64 = orig.iter().map(|v| ((v * 0.5 - m) as f64).exp()).sum();
        assert!(
            (sum as f64 - want).abs() <= 1e-5 * want,
            "{name}: sum_exp {sum} vs {want}"
        );
        for (j, (&got, &x)) in row.iter().zip(&orig).enumerate() {
            assert_eq!(got, exp_flush_lane(x * 0.5 - m), "{name}: term {j}");
        }
        mul_inplace(s, row.as_mut_ptr(), n, 1.0 / sum);
        let total: f32 = row.iter().sum();
        assert!(
            (total - 1.0).abs() < 1e-5,
            "{name}: normalised row sums to {total}"
        );
        row[5] = f32::NAN;
        assert!(
            extreme::<S, true, true>(s, row.as_ptr(), n).1,
            "{name}: NaN flag"
        );
        let e = extremes::<S, true, false>(s, row.as_ptr(), n, core::ptr::null_mut(), 0.0);
        assert!(e.nan, "{name}: extremes NaN flag");
    }
}

/// Error bound of the softmax variant on `[FLUSH, 0]`, in ulp: the measured maximum of the full
/// sweep (see `simd/exp.rs`) rounded up.
const FLUSH_ULP: f64 = 4.5;

/// The softmax variant against `f64::exp` on `[FLUSH, 0]`: strided (every 61st `f32`, ~1.8e7
/// values), or every `f32` there with `HUIYAN_FULL_EXP_SWEEP=1` (use `--release`). Below
/// `FLUSH` it returns `+0`; NaN stays NaN.
#[test]
fn flush_variant_accuracy() {
    let full = std::env::var("HUIYAN_FULL_EXP_SWEEP").as_deref() == Ok("1");
    let (lo, hi) = (FLUSH.to_bits(), (-0.0f32).to_bits());
    let (mut worst, mut at) = (0.0f64, 0.0f32);
    for b in (hi..=lo).step_by(if full { 1 } else { 61 }) {
        let x = f32::from_bits(b);
        let e = ulp_error(exp_flush_lane(x), (x as f64).exp());
        if e > worst {
            (worst, at) = (e, x);
        }
    }
    std::eprintln!(
        "flush_variant_accuracy ({}): max {worst:.4} ulp at x = {at:e} ({:#010x})",
        if full {
            "every f32 in [FLUSH, 0]"
        } else {
            "strided"
        },
        at.to_bits()
    );
    assert!(worst <= FLUSH_ULP, "{worst} ulp at {at:e}");
    assert_eq!(exp_flush_lane(f32::from_bits(lo + 1)), 0.0);
    assert_eq!(exp_flush_lane(f32::NEG_INFINITY), 0.0);
    assert!(exp_flush_lane(f32::NAN).is_nan());
    // Where |k| is small the one-step reduction costs nothing: exp_lane's bits.
    for b in (hi..=(-0.02f32).to_bits()).step_by(7) {
        let x = f32::from_bits(b);
        assert_eq!(
            exp_flush_lane(x).to_bits(),
            exp_lane(x).to_bits(),
            "x = {x:e}"
        );
    }
}

#[test]
fn flush_variant_and_row_primitives_on_every_tier() {
    struct Check;
    impl VisitTier for Check {
        fn visit<T: Tier>(&mut self, t: T) {
            check_tier(t);
        }
    }
    for_each_tier(&mut Check);
}
