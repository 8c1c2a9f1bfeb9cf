//! Hand-worked cases for `huiyan_kernels::reference`: every expected value below was worked
//! out by hand (the working is in the comments), so these tests trust nothing but arithmetic.
//!
//! Where the exact answer is a fraction like 1/3, the expected value is that fraction rounded
//! to `f32` (the reference computes in `f64` and rounds once), compared bit for bit. Where an
//! input itself cannot be exact in `f32` (ln 2, ln 3), the tolerance is stated at the case.

mod attention;
mod matmul;
mod softmax;

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
