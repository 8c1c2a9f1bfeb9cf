//! Test support shared by huiyan's kernel, API and fuzz tests, its benches and its examples.
//!
//! * [`tol`]: every tolerance, stated once and explained, and the helpers that turn a problem
//!   into a per-element error bound (computed with `huiyan_kernels::reference` on absolute
//!   values / probabilities, never invented at the call site).
//! * [`assert_close`] / [`assert_within`]: compare a kernel's output with the reference's.
//! * [`problems`]: owned test problems ([`GemmProblem`], [`SoftmaxProblem`], [`AttnProblem`]):
//!   `Vec`s plus shapes and strides, with methods that return the kernels' views, run the
//!   reference and compute the error bound. Tests of every ISA use the same problems.
//! * [`strategies`] (feature `proptest`, on by default): proptest strategies for dimensions,
//!   layouts, values and whole problems, biased toward what breaks kernels (1, tails around
//!   vector widths, huge logits, −∞, fully masked rows).
//! * [`Rng`]: the one seeded generator (SplitMix64) for inputs outside proptest — large or fixed
//!   problems in tests, bench inputs, the demo's data.
//! * [`encoder`]: a BERT encoder in `f64` ([`encoder::RefBert`]) with a per-layer error bound,
//!   the oracle of `huiyan-embed`.
//! * [`layer`]: the multi-head attention layer composed from the references
//!   ([`LayerProblem`]), with the composite error bound the fuzz target and the tests share.
//!
//! Typical kernel test:
//!
//! ```
//! use huiyan_testkit::{assert_within, strategies, AttnProblem};
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(4), |(p in strategies::attn_problem(strategies::AttnLimits::SMALL))| {
//!     let (want, want_lse) = p.reference();
//!     let mut o = p.new_output();
//!     let mut lse = p.new_lse();
//!     huiyan_kernels::reference::attention( // ← the kernel under test goes here
//!         p.q(), p.k(), p.v(), p.o_view(&mut o), &p.options(), lse.as_deref_mut(),
//!     ).unwrap();
//!     let (bo, bl) = p.bounds();
//!     assert_within(&p.gather_o(&o), &want, &bo, "attention O");
//!     if let (Some(g), Some(w)) = (&lse, &want_lse) {
//!         assert_within(g, w, &bl, "attention lse");
//!     }
//! });
//! ```
//!
//! Note for unit tests *inside* `huiyan-kernels` (`#[cfg(test)]` modules): there the crate is
//! compiled twice (once as `crate`, once as the `huiyan_kernels` this crate depends on), so the
//! view types differ. Use the problems' public fields (`Vec`s, dims, strides) to build
//! `crate::` views there, or put the test in `kernels/tests/`.

pub mod encoder;
pub mod fuzz_bytes;
pub mod layer;
pub mod layout;
pub mod problems;
pub mod rng;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod tol;

pub use layer::{LayerExpected, LayerProblem, LayerShape};
pub use layout::{Layout, Layout4, Order4};
pub use problems::{AttnProblem, GemmProblem, SoftmaxProblem};
pub use rng::Rng;

/// Proptest cases for a test whose own count is `default`, unless the environment variable
/// `PROPTEST_CASES` says otherwise (a slow runner — valgrind, qemu — asks for fewer; a soak
/// run for more).
///
/// Proptest reads `PROPTEST_CASES` only into `ProptestConfig::default()`; a test that sets its
/// own count with `ProptestConfig::with_cases(n)` ignores it. Write
/// `ProptestConfig::with_cases(proptest_cases(n))` instead.
///
/// ```
/// // Unset (or not a number): the test's own count.
/// if std::env::var("PROPTEST_CASES").is_err() {
///     assert_eq!(huiyan_testkit::proptest_cases(48), 48);
/// }
/// ```
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Whether this run is under valgrind memcheck: `HUIYAN_MEMCHECK=1`, which `.ci/run` sets.
///
/// Memcheck looks for invalid accesses, uninitialised reads and leaks; the test step has
/// already checked the numbers natively. A test whose cost is its f64 reference (a
/// memory-sized problem: a minute per tier under valgrind) may skip the reference when this
/// is true, on two conditions: every kernel call still runs, and every output element is
/// still read in a branch (an invariant, or a bitwise comparison between two runs), so that
/// an output computed from uninitialised memory is still reported.
///
/// ```
/// if std::env::var("HUIYAN_MEMCHECK").is_err() {
///     assert!(!huiyan_testkit::under_memcheck());
/// }
/// ```
pub fn under_memcheck() -> bool {
    std::env::var("HUIYAN_MEMCHECK").is_ok_and(|v| v.trim() == "1")
}

/// Asserts `|got[i] − want[i]| ≤ bound(i)` for every `i`.
///
/// Elements whose bound is [`tol::UNCHECKED`] are skipped. Non-finite values must match
/// exactly in kind: NaN where the reference has NaN, the same infinity where it has an infinity. A NaN bound for a finite `want` is a failure (a bound
/// helper went wrong), never a silent pass. On failure, reports the worst element (largest
/// `error / bound`), its index, and `context`.
#[track_caller]
pub fn assert_close(got: &[f32], want: &[f32], bound: impl Fn(usize) -> f64, context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: length differs");
    let mut worst: Option<(usize, f64, f64)> = None;
    for i in 0..got.len() {
        let (g, w) = (got[i], want[i]);
        if bound(i) == tol::UNCHECKED {
            continue; // f32 overflow territory: not determined by the contract (tol::gemm_bounds)
        }
        if w.is_nan() || g.is_nan() {
            assert!(
                w.is_nan() && g.is_nan(),
                "{context}: element {i}: got {g}, want {w} (NaN must match NaN)"
            );
            continue;
        }
        if w.is_infinite() || g.is_infinite() {
            assert_eq!(g, w, "{context}: element {i}: infinities must match");
            continue;
        }
        let err = (g as f64 - w as f64).abs();
        let b = bound(i);
        let ratio = if b > 0.0 { err / b } else { f64::INFINITY };
        // `err > b` would let a NaN bound pass; a NaN bound must fail.
        let within = err <= b;
        if !within && worst.is_none_or(|(_, r, _)| ratio > r) {
            worst = Some((i, ratio, b));
        }
    }
    if let Some((i, _, b)) = worst {
        panic!(
            "{context}: element {i}: got {:e}, want {:e}, |error| {:e} > bound {b:e}",
            got[i],
            want[i],
            (got[i] as f64 - want[i] as f64).abs()
        );
    }
}

/// [`assert_close`] with a precomputed bound per element (from the [`tol`] helpers or a
/// problem's `bounds()`).
#[track_caller]
pub fn assert_within(got: &[f32], want: &[f32], bounds: &[f64], context: &str) {
    assert_eq!(bounds.len(), want.len(), "{context}: bounds length differs");
    assert_close(got, want, |i| bounds[i], context);
}

/// Asserts bit-for-bit equality (NaN payloads ignored: any NaN equals any NaN). For
/// determinism tests (thread counts, repeated calls) and exact hand-worked cases.
#[track_caller]
pub fn assert_bits_eq(got: &[f32], want: &[f32], context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: length differs");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits();
        assert!(
            same,
            "{context}: element {i}: got {g:e}, want {w:e} (bits differ)"
        );
    }
}

/// [`assert_within`] for attention outputs under the contract's rule for infinite values:
/// where the reference has `±∞` (an infinite V entry of a visible key), the kernel may give the
/// same infinity or NaN (the key's weight underflowed to 0 in `f32`: `0·∞`). Everything else is
/// compared exactly as [`assert_within`] does.
#[track_caller]
pub fn assert_within_attention(got: &[f32], want: &[f32], bounds: &[f64], context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: length differs");
    let mut got = got.to_vec();
    for (g, &w) in got.iter_mut().zip(want) {
        if w.is_infinite() && g.is_nan() {
            *g = w;
        }
    }
    assert_within(&got, want, bounds, context);
}

/// Distance, in units in the last place of `f32` at `want`'s magnitude, between `got` and the
/// exact value `want` (typically an `f64` reference). The ulp of the binade `[2ᵉ, 2ᵉ⁺¹)` is
/// `2ᵉ⁻²³`; below the normal range it is the subnormal spacing `2⁻¹⁴⁹`.
///
/// Equal values (including equal infinities) give 0; any other non-finite pair gives `∞`.
pub fn ulp_error(got: f32, want: f64) -> f64 {
    let g = got as f64;
    if g == want {
        return 0.0;
    }
    if !g.is_finite() || !want.is_finite() {
        return f64::INFINITY;
    }
    let a = want.abs().max(f32::MIN_POSITIVE as f64);
    // Exact binade exponent from the bits (a is a normal f64): no log2 rounding near 2ᵉ.
    let e = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let ulp = f64::from_bits(((e - 23 + 1023) as u64) << 52);
    (g - want).abs() / ulp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulp_error_by_hand() {
        assert_eq!(ulp_error(1.0, 1.0), 0.0);
        // Next f32 above 1 is 1 + 2⁻²³: one ulp.
        assert_eq!(ulp_error(1.0 + f32::EPSILON, 1.0), 1.0);
        // Just below 2 the ulp is still 2⁻²³ (the log2-based version got 2⁻²² here).
        let below_two = 2.0f64 - 2f64.powi(-30);
        assert_eq!(ulp_error(2.0, below_two), 2f64.powi(-30) / 2f64.powi(-23));
        // At 2 the ulp is 2⁻²²: 2 + 2⁻²² is one ulp away.
        assert_eq!(ulp_error(2.0 + 2.0 * f32::EPSILON, 2.0), 1.0);
        // Half an ulp: f32 rounding of an exact value is ≤ 0.5 ulp.
        assert_eq!(ulp_error(1.0, 1.0 + 2f64.powi(-24)), 0.5);
        // Negative values use the magnitude.
        assert_eq!(ulp_error(-1.0 - f32::EPSILON, -1.0), 1.0);
        // Subnormals: spacing 2⁻¹⁴⁹ everywhere below 2⁻¹²⁶.
        let tiny = f32::from_bits(3); // 3·2⁻¹⁴⁹
        assert_eq!(ulp_error(tiny, 2.0 * 2f64.powi(-149)), 1.0);
        assert_eq!(ulp_error(0.0, 2f64.powi(-149)), 1.0);
        // Largest binade: ulp 2¹⁰⁴.
        assert_eq!(ulp_error(f32::MAX, f32::MAX as f64 - 2f64.powi(104)), 1.0);
        // Non-finite.
        assert_eq!(ulp_error(f32::INFINITY, f64::INFINITY), 0.0);
        assert!(ulp_error(f32::NAN, 1.0).is_infinite());
        assert!(ulp_error(1.0, f64::NAN).is_infinite());
        assert!(ulp_error(f32::INFINITY, 1.0).is_infinite());
    }

    #[test]
    fn assert_close_accepts_within_bound() {
        assert_close(
            &[1.0, f32::NAN, f32::NEG_INFINITY, 0.0],
            &[1.0 + 1e-7, f32::NAN, f32::NEG_INFINITY, 1e-9],
            |_| 1e-6,
            "ok",
        );
    }

    #[test]
    #[should_panic(expected = "element 1")]
    fn assert_close_reports_worst_element() {
        assert_close(&[1.0, 2.0, 3.0], &[1.1, 3.0, 3.0], |_| 0.01, "worst");
    }

    #[test]
    #[should_panic(expected = "NaN must match NaN")]
    fn assert_close_rejects_nan_for_finite() {
        assert_close(&[f32::NAN], &[1.0], |_| f64::MAX, "nan");
    }

    #[test]
    fn assert_close_skips_only_unchecked_elements() {
        let got = [f32::NAN, f32::INFINITY, 1.0];
        assert_close(
            &got,
            &[1.0, 2.0, 1.0],
            |i| [tol::UNCHECKED, tol::UNCHECKED, 0.0][i],
            "x",
        );
        let r = std::panic::catch_unwind(|| {
            assert_close(
                &got,
                &[1.0, 2.0, 1.5],
                |i| [tol::UNCHECKED, tol::UNCHECKED, 0.1][i],
                "x",
            )
        });
        assert!(r.is_err(), "the checked element is still checked");
    }

    #[test]
    #[should_panic(expected = "infinities must match")]
    fn assert_close_rejects_wrong_infinity() {
        assert_close(&[f32::INFINITY], &[f32::NEG_INFINITY], |_| 1.0, "inf");
    }

    #[test]
    #[should_panic(expected = "bound NaN")]
    fn assert_close_rejects_nan_bound() {
        assert_close(&[1.0], &[1.0], |_| f64::NAN, "bound NaN");
    }

    #[test]
    fn assert_bits_eq_treats_nans_alike() {
        assert_bits_eq(&[f32::NAN, 1.0], &[-f32::NAN, 1.0], "bits");
    }

    #[test]
    #[should_panic(expected = "bits differ")]
    fn assert_bits_eq_sees_signed_zero() {
        assert_bits_eq(&[-0.0], &[0.0], "zero");
    }
}
