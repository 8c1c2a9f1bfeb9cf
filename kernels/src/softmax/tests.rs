//! In-crate tests of what `tests/softmax.rs` cannot reach: the softmax `exp` variant and the
//! row primitives the attention driver uses, on every tier this CPU runs.

use std::vec::Vec;

use super::exp::{exp_flush, exp_flush_lane, exp_flush_xn, exp_lane, FLUSH};
use super::pass::{exp_sub_sum, max_nan, mul_inplace, scale_max};
use super::simd::SimdF32;
use crate::isa::{Portable, Scalar};
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

fn check_tier<S: SimdF32>(s: S, name: &str) {
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
    // Row primitives: online-softmax steps on a small tile row.
    let mut row: Vec<f32> = (0..37).map(|j| (j as f32 * 0.7).sin() * 3.0).collect();
    let orig = row.clone();
    // SAFETY: every call covers row.len() elements of `row`.
    unsafe {
        let (m, nan) = scale_max(s, row.as_mut_ptr(), row.len(), 0.5);
        assert!(!nan);
        let want_m = orig
            .iter()
            .map(|v| v * 0.5)
            .fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(m, want_m, "{name}: scale_max");
        assert_eq!(max_nan(s, row.as_ptr(), row.len()), (m, false));
        let sum = exp_sub_sum(s, row.as_ptr(), row.as_mut_ptr(), row.len(), m, true);
        let want: f64 = orig.iter().map(|v| ((v * 0.5 - m) as f64).exp()).sum();
        assert!(
            (sum as f64 - want).abs() <= 1e-5 * want,
            "{name}: exp_sub_sum {sum} vs {want}"
        );
        mul_inplace(s, row.as_mut_ptr(), row.len(), 1.0 / sum);
        let total: f32 = row.iter().sum();
        assert!(
            (total - 1.0).abs() < 1e-5,
            "{name}: normalised row sums to {total}"
        );
        row[5] = f32::NAN;
        assert!(max_nan(s, row.as_ptr(), row.len()).1, "{name}: NaN flag");
    }
}

/// Error bound of the softmax variant on `[FLUSH, 0]`, in ulp: the measured maximum of the full
/// sweep (see `softmax/exp.rs`) rounded up.
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
    check_tier(Scalar, "scalar");
    check_tier(Portable, "portable");
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: avx2 and fma detected. The generic code is not inside a
            // #[target_feature] function here, so the intrinsics are called (not inlined):
            // slower, same instructions.
            check_tier(unsafe { crate::isa::X86V3::new_unchecked() }, "x86-v3");
        }
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the AVX-512 subsets were detected (and avx2/fma on every such CPU).
            check_tier(unsafe { crate::isa::X86V4::new_unchecked() }, "x86-v4");
        }
    }
}
