//! [`gelu_lane`] against `f64` and every tier against [`gelu_lane`], bit for bit.

use std::vec::Vec;

use super::*;
use crate::tier::Tier;
use crate::tiers::{for_each_tier, VisitTier};
use huiyan_testkit::ulp_error;

/// Largest error of [`gelu_lane`] against `x·½·erfc(−x/√2)` in `f64`, in ulps of the `f32`
/// result, over every `f32` in `[−13.2, 14.5]` (normal results): the exhaustive sweep
/// `gelu_full_sweep` with `HUIYAN_FULL_GELU_SWEEP=1`.
pub(crate) const MEASURED_MAX_ULP: f64 = 10.0;

/// `gelu(x)` in `f64`: `x·Φ(x)`, `Φ(x) = ½·erfc(−x/√2)` (no cancellation on either side).
fn gelu_f64(x: f64) -> f64 {
    x * 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

/// Largest ulp error of [`gelu_lane`] over the `f32` of `[lo, hi]` taken every `step`-th bit
/// pattern (each sign walked separately); returns `(ulp, x)`.
fn sweep(step: usize) -> (f64, f32) {
    let mut worst = (0.0f64, 0.0f32);
    let mut visit = |x: f32| {
        let want = gelu_f64(f64::from(x));
        if want.abs() < f64::from(f32::MIN_POSITIVE) {
            return;
        }
        let e = ulp_error(gelu_lane(x), want);
        if e > worst.0 {
            worst = (e, x);
        }
    };
    for b in (0u32..=14.5f32.to_bits()).step_by(step) {
        visit(f32::from_bits(b));
    }
    for b in (0u32..=13.2f32.to_bits()).step_by(step) {
        visit(-f32::from_bits(b));
    }
    worst
}

#[test]
fn gelu_strided_sweep_against_f64() {
    let (e, x) = sweep(101);
    assert!(
        e <= MEASURED_MAX_ULP,
        "gelu_lane({x:e}) is {e} ulp off (bound {MEASURED_MAX_ULP})"
    );
}

/// Every `f32` of the range; `HUIYAN_FULL_GELU_SWEEP=1` (≈ 2·10⁹ values: a minute or so in
/// release). Prints the worst case, which `MEASURED_MAX_ULP` records.
#[test]
fn gelu_full_sweep() {
    if std::env::var("HUIYAN_FULL_GELU_SWEEP").is_err() {
        return;
    }
    let (e, x) = sweep(1);
    std::println!(
        "gelu_lane: max {e} ulp at x = {x:e} ({:#010x})",
        x.to_bits()
    );
    assert!(e <= MEASURED_MAX_ULP);
}

#[test]
fn gelu_specials() {
    assert_eq!(gelu_lane(f32::INFINITY), f32::INFINITY);
    let m = gelu_lane(f32::NEG_INFINITY);
    assert_eq!(m, 0.0);
    assert!(gelu_lane(f32::NAN).is_nan());
    assert_eq!(gelu_lane(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(gelu_lane(100.0), 100.0);
    assert_eq!(gelu_lane(-100.0), 0.0);
    assert_eq!(gelu_lane(f32::MAX), f32::MAX);
    // Tiny arguments: x/2.
    assert_eq!(gelu_lane(1e-30), 5e-31);
}

/// Inputs for the tier comparison: a walk over `[−20, 20]`, both clamps, specials.
fn inputs() -> Vec<f32> {
    let mut v: Vec<f32> = (0..20.0f32.to_bits())
        .step_by(7919)
        .flat_map(|b| [f32::from_bits(b), -f32::from_bits(b)])
        .collect();
    for c in [CLAMP, -CLAMP] {
        v.extend((c.to_bits() - 8..c.to_bits() + 8).map(f32::from_bits));
    }
    v.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        -f32::MAX,
    ]);
    v.extend([1e-40, -1e-40, f32::MIN_POSITIVE, 13.2, -13.2]);
    while !v.len().is_multiple_of(64) {
        v.push(1.0);
    }
    v
}

struct Bits;

impl VisitTier for Bits {
    fn visit<S: Tier>(&mut self, s: S) {
        let x = inputs();
        let mut got = std::vec![0.0f32; x.len()];
        for j in (0..x.len()).step_by(S::LANES) {
            // SAFETY: the length is a multiple of 64, so every vector is in bounds.
            unsafe {
                let y = gelu(s, s.load(x.as_ptr().add(j)));
                s.store(got.as_mut_ptr().add(j), y);
            }
        }
        for (&xi, &g) in x.iter().zip(&got) {
            let want = gelu_lane(xi);
            let same = (g.is_nan() && want.is_nan()) || g.to_bits() == want.to_bits();
            assert!(
                same,
                "{}: gelu({xi:e}) = {g:e}, want {want:e}",
                S::ID.name()
            );
        }
    }
}

#[test]
fn gelu_every_tier_has_the_lane_bits() {
    for_each_tier(&mut Bits);
}
