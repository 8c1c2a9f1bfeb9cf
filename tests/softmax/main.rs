//! Softmax and `exp` on every ISA tier (`dispatch::under_test`) against `reference::softmax`
//! and `f64::exp`, with the tolerances of `huiyan_testkit::tol`.
//!
//! The full `exp` sweep (every `f32` of the domain on every tier) runs with
//! `HUIYAN_FULL_EXP_SWEEP=1 cargo test --release --test softmax exp_full_sweep -- --nocapture`.

mod api;
mod exp;
mod paths;
mod values;

use huiyan::dispatch::Kernels;
use huiyan::MatMut;
use huiyan_testkit::problems::{Bcast2, SoftmaxProblem};
use huiyan_testkit::{assert_within, tol};

const NEG_INF: f32 = f32::NEG_INFINITY;

/// Runs `p` out of place with `k`: `(y logical, lse)`, checking the padding stayed untouched.
fn run(k: &Kernels, p: &SoftmaxProblem) -> (Vec<f32>, Vec<f32>) {
    let mut y = p.new_output();
    let mut lse = vec![f32::NAN; p.rows];
    let l = if p.want_lse { Some(&mut lse[..]) } else { None };
    huiyan::softmax_with(k, p.x(), p.y_view(&mut y), &p.options(), l).unwrap();
    p.assert_y_gaps_untouched(&y);
    (p.gather_y(&y), lse)
}

/// Runs `p` in place with `k` (on a copy of `x` with `x`'s row pitch).
fn run_inplace(k: &Kernels, p: &SoftmaxProblem) -> (Vec<f32>, Vec<f32>) {
    let mut x = p.x.clone();
    let mut lse = vec![f32::NAN; p.rows];
    let rs = p.cols + p.x_pad;
    let view = MatMut::new(&mut x, p.rows, p.cols, rs, 1);
    huiyan::softmax_inplace_with(k, view, &p.options(), Some(&mut lse)).unwrap();
    let y = (0..p.rows)
        .flat_map(|r| x[r * rs..r * rs + p.cols].to_vec())
        .collect();
    (y, lse)
}

/// `p` on `k` against the reference, within the testkit bounds; also the invariants.
fn check(k: &Kernels, p: &SoftmaxProblem, ctx: &str) -> Vec<f32> {
    check_lse(k, p, ctx).0
}

/// [`check`], also returning the logsumexp the kernel wrote.
fn check_lse(k: &Kernels, p: &SoftmaxProblem, ctx: &str) -> (Vec<f32>, Vec<f32>) {
    let ctx = format!("{} {ctx} ({}×{})", k.isa().name(), p.rows, p.cols);
    let (want, want_lse) = p.reference();
    let (yb, lb) = p.bounds();
    let (got, lse) = run(k, p);
    assert_within(&got, &want, &yb, &ctx);
    if p.want_lse {
        assert_within(&lse, &want_lse, &lb, &format!("{ctx} lse"));
    }
    assert_rows_are_distributions(p, &got, &ctx);
    (got, lse)
}

/// Every row of `y` that is neither NaN nor fully masked lies in [0, 1] and sums to 1 within
/// the rounding of its sum (softmax only). Reads every element in a branch.
fn assert_rows_are_distributions(p: &SoftmaxProblem, y: &[f32], ctx: &str) {
    if p.log {
        return;
    }
    for r in 0..p.rows {
        let row = &y[r * p.cols..(r + 1) * p.cols];
        if row.iter().any(|v| v.is_nan()) || row.iter().all(|&v| v == 0.0) {
            continue; // NaN rows and fully masked rows: checked against the reference
        }
        assert!(
            row.iter().all(|&v| (0.0..=1.0).contains(&v)),
            "{ctx}: row {r} outside [0, 1]"
        );
        let s: f64 = row.iter().map(|&v| v as f64).sum();
        let b = (2.0 * p.cols as f64 + 8.0 + 4.0 * tol::EXP_ULP) * tol::U;
        assert!((s - 1.0).abs() <= b, "{ctx}: row {r} sums to {s}");
    }
}

fn problem(rows: usize, cols: usize, x: Vec<f32>) -> SoftmaxProblem {
    SoftmaxProblem::new(rows, cols, &x)
}
fn bcast<T: Clone>(data: Vec<T>, rows: usize, cols: usize) -> Option<Bcast2<T>> {
    Some(Bcast2 {
        data,
        rows,
        cols,
        rs: cols,
    })
}
