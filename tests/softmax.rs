//! Softmax and `exp` on every ISA tier (`dispatch::under_test`) against `reference::softmax`
//! and `f64::exp`, with the tolerances of `huiyan_testkit::tol`.
//!
//! The full `exp` sweep (every `f32` of the domain on every tier) runs with
//! `HUIYAN_FULL_EXP_SWEEP=1 cargo test --release --test softmax exp_full_sweep -- --nocapture`.

use huiyan::dispatch::{self, Kernels};
use huiyan::SoftmaxOptions;
use huiyan::{Dim, Error, MatMut, MatRef, Operand};
use huiyan_kernels::softmax::exp_lane;
use huiyan_testkit::problems::{Bcast2, SoftmaxProblem};
use huiyan_testkit::{
    assert_bits_eq, assert_within, proptest_cases, strategies, tol, ulp_error, Rng,
};
use proptest::prelude::*;

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
    if !p.log {
        for r in 0..p.rows {
            let row = &got[r * p.cols..(r + 1) * p.cols];
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
    (got, lse)
}

fn problem(rows: usize, cols: usize, x: Vec<f32>) -> SoftmaxProblem {
    SoftmaxProblem::new(rows, cols, &x)
}

/// `p` with `pad` NaN elements between input rows.
fn with_x_pad(mut p: SoftmaxProblem, pad: usize) -> SoftmaxProblem {
    let mut x = vec![f32::NAN; p.rows * (p.cols + pad)];
    for r in 0..p.rows {
        x[r * (p.cols + pad)..][..p.cols].copy_from_slice(&p.x[r * p.cols..][..p.cols]);
    }
    (p.x, p.x_pad) = (x, pad);
    p
}

fn bcast<T: Clone>(data: Vec<T>, rows: usize, cols: usize) -> Option<Bcast2<T>> {
    Some(Bcast2 {
        data,
        rows,
        cols,
        rs: cols,
    })
}

#[test]
fn every_length_1_to_257() {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    for k in dispatch::under_test() {
        for n in 1..=257 {
            // Plain rows, scale 1.
            let p = problem(2, n, rng.uniform_vec(2 * n, -8.0, 8.0));
            check(&k, &p, "plain");
            // Negative scale, per-row bias, log-softmax, padded strides.
            let mut p = problem(2, n, rng.uniform_vec(2 * n, -8.0, 8.0));
            (p.scale, p.log, p.bias) = (-0.7, true, bcast(vec![1.5, -2.0], 2, 1));
            check(&k, &p, "scaled log");
            // Mask row and bias row (the general path), −∞ entries.
            let mut x = rng.uniform_vec(2 * n, -30.0, 30.0);
            x[n / 2] = NEG_INF;
            let mut p = problem(2, n, x);
            p.scale = 0.125;
            p.mask = bcast(rng.bools(2 * n, 0.8), 2, n);
            p.bias = bcast(rng.uniform_vec(n, -4.0, 4.0), 1, n);
            check(&k, &p, "mask+bias");
        }
    }
}

/// Rows of ≥ 8192 elements, out of place, take the chunked two-pass path (online rescaling
/// between chunks); in place they take the three-pass path. Both against the reference.
#[test]
fn long_rows_chunked_path() {
    let mut rng = Rng::new(77);
    for k in dispatch::under_test() {
        for n in [2048, 4096 + 17, 8192, 8193, 65_536 + 100] {
            let base = rng.uniform_vec(n, -20.0, 20.0);
            let mut cases: Vec<(&str, Vec<f32>, f32)> = vec![
                ("random", base.clone(), 1.0),
                ("rising max", (0..n).map(|j| j as f32 * 0.01).collect(), 1.0),
                (
                    "falling, scaled",
                    (0..n).map(|j| -(j as f32) * 0.02).collect(),
                    -0.5,
                ),
            ];
            let mut v = base.clone();
            v[n - 5] = f32::NAN;
            cases.push(("NaN in the last chunk", v, 1.0));
            let mut v = base.clone();
            v[..1500].fill(NEG_INF);
            cases.push(("first chunk −∞", v, 1.0));
            let mut v = base.clone();
            v[n - 3] = 1e30;
            v[n - 2] = -1e30;
            cases.push(("huge in the last chunk", v, 0.7));
            cases.push(("all −∞", vec![NEG_INF; n], 1.0));
            let mut v = base.clone();
            v[n / 2] = f32::INFINITY;
            cases.push(("+∞ mid-row", v, 1.0));
            for (name, x, scale) in cases {
                let mut p = problem(1, n, x);
                p.scale = scale;
                let got = check(&k, &p, &format!("long n={n} {name}"));
                let (yi, li) = run_inplace(&k, &p);
                let (yb, lb) = p.bounds();
                let (want, want_lse) = p.reference();
                assert_within(&yi, &want, &yb, &format!("long in place n={n} {name}"));
                assert_within(
                    &li,
                    &want_lse,
                    &lb,
                    &format!("long in place lse n={n} {name}"),
                );
                assert_eq!(got.len(), n);
            }
        }
    }
}

#[test]
fn huge_logits() {
    let rows: [&[f32]; 6] = [
        &[1e4, -1e4, 0.0, 1e4 - 1.0, -3.0],
        &[-1e4, -1e4 + 2.0, -1e4 + 0.5, -1e4, -1e4],
        &[1e30, 1e30, 0.0, -1e30, 1e30],
        &[-1e30, -1e30, -1e30, 1e30, 5.0],
        &[-1e30, -1e30, -1e30, -1e30, -1e30],
        &[3.0e38, -3.0e38, 1.0, 2.0, 3.0e38],
    ];
    for k in dispatch::under_test() {
        for (i, r) in rows.iter().enumerate() {
            for log in [false, true] {
                for scale in [1.0, -1.0, 0.5] {
                    let mut p = problem(1, r.len(), r.to_vec());
                    (p.log, p.scale) = (log, scale);
                    check(&k, &p, &format!("huge row {i} log={log} scale={scale}"));
                }
            }
        }
        // ±1e4 and ±1e30 spread over a long row (vector body and tail).
        let mut rng = Rng::new(7);
        let x: Vec<f32> = (0..203)
            .map(|j| [1e4, -1e4, 1e30, -1e30, rng.uniform(-1e4, 1e4)][j % 5])
            .collect();
        check(&k, &problem(1, 203, x), "huge long row");
    }
}

#[test]
fn neg_inf_and_fully_masked_rows_give_zeros() {
    for k in dispatch::under_test() {
        for n in [1, 7, 16, 33, 100] {
            let mut x = vec![NEG_INF; 3 * n];
            x[n..2 * n]
                .iter_mut()
                .enumerate()
                .for_each(|(j, v)| *v = j as f32);
            for log in [false, true] {
                let mut p = problem(3, n, x.clone());
                p.log = log;
                // Row 0 all −∞; row 1 ordinary but fully masked by a per-row mask; row 2 masked.
                p.mask = bcast(vec![true, false, true], 3, 1);
                let got = check(&k, &p, &format!("fully masked n={n} log={log}"));
                let off = if log { NEG_INF } else { 0.0 };
                assert!(
                    got.iter().all(|&v| v == off),
                    "{}: not all {off}",
                    k.isa().name()
                );
                let (_, lse) = run(&k, &p);
                assert_eq!(lse, vec![NEG_INF; 3]);
                // Same with an element mask that is all false on row 1.
                let mut m = vec![true; 3 * n];
                m[n..2 * n].fill(false);
                p.mask = bcast(m, 3, n);
                check(&k, &p, "element mask all false");
                assert_eq!(run_inplace(&k, &p).1, vec![NEG_INF; 3]);
            }
        }
    }
}

#[test]
fn nan_and_pos_inf_propagate_masked_stay_zero() {
    for k in dispatch::under_test() {
        for n in [1, 5, 16, 19, 64, 70] {
            for bad in [f32::NAN, f32::INFINITY] {
                for at in [0, n / 2, n - 1] {
                    let mut x: Vec<f32> = (0..n).map(|j| j as f32 * 0.25).collect();
                    x[at] = bad;
                    let masked = (at + 1) % n;
                    for log in [false, true] {
                        let mut p = problem(1, n, x.clone());
                        p.log = log;
                        let mut m = vec![true; n];
                        if masked != at {
                            m[masked] = false;
                        }
                        p.mask = bcast(m.clone(), 1, n);
                        let ctx = format!("{} bad={bad} at={at} n={n} log={log}", k.isa().name());
                        let got = check(&k, &p, &ctx);
                        for j in 0..n {
                            if m[j] {
                                assert!(got[j].is_nan(), "{ctx}: element {j} not NaN");
                            } else {
                                assert_eq!(got[j], if log { NEG_INF } else { 0.0 }, "{ctx}");
                            }
                        }
                        assert!(run(&k, &p).1[0].is_nan(), "{ctx}: lse not NaN");
                        let (yi, li) = run_inplace(&k, &p);
                        assert_bits_eq(&yi, &got, &format!("{ctx} in place"));
                        assert!(li[0].is_nan());
                        // Plain path (no mask) too.
                        p.mask = None;
                        let got = check(&k, &p, &format!("{ctx} unmasked"));
                        assert!(got.iter().all(|v| v.is_nan()));
                    }
                }
            }
        }
        // A masked NaN does not take part.
        let mut p = problem(1, 3, vec![f32::NAN, 0.0, 0.0]);
        p.mask = bcast(vec![false, true, true], 1, 3);
        assert_eq!(check(&k, &p, "masked NaN"), vec![0.0, 0.5, 0.5]);
    }
}

#[test]
fn broadcast_mask_and_bias_shapes() {
    let mut rng = Rng::new(11);
    let (rows, cols) = (5, 37);
    for k in dispatch::under_test() {
        for (mr, mc) in [(1, 1), (1, cols), (rows, 1), (rows, cols)] {
            for (br, bc) in [(1, 1), (1, cols), (rows, 1), (rows, cols)] {
                for log in [false, true] {
                    let mut p = problem(rows, cols, rng.uniform_vec(rows * cols, -5.0, 5.0));
                    p.mask = bcast(rng.bools(mr * mc, 0.85), mr, mc);
                    p.bias = bcast(rng.uniform_vec(br * bc, -3.0, 3.0), br, bc);
                    (p.log, p.y_pad, p.scale) = (log, 1, 1.3);
                    p = with_x_pad(p, 3);
                    check(&k, &p, &format!("mask {mr}×{mc} bias {br}×{bc} log={log}"));
                    let (a, la) = run(&k, &p);
                    let (b, lb) = run_inplace(&k, &p);
                    assert_bits_eq(&b, &a, "in place vs out of place");
                    assert_bits_eq(&lb, &la, "in place lse");
                }
            }
        }
    }
}

#[test]
fn in_place_equals_out_of_place_and_rows_are_independent() {
    let mut rng = Rng::new(5);
    for k in dispatch::under_test() {
        for &(rows, cols) in &[(1, 1), (3, 15), (4, 64), (2, 300), (7, 129)] {
            for scale in [1.0, 0.3, -2.0] {
                let mut p = problem(rows, cols, rng.uniform_vec(rows * cols, -10.0, 10.0));
                p.scale = scale;
                let (a, la) = run(&k, &p);
                let (b, lb) = run_inplace(&k, &p);
                assert_bits_eq(&b, &a, "in place");
                assert_bits_eq(&lb, &la, "in place lse");
                // Row r of a batch equals the same row alone.
                let r = rows - 1;
                let one = problem(1, cols, p.x[r * cols..(r + 1) * cols].to_vec());
                let mut sp = one.clone();
                sp.scale = scale;
                assert_bits_eq(&run(&k, &sp).0, &a[r * cols..], "row alone");
            }
        }
    }
}

/// The output's alignment does not change a single bit: every path aligns its stores with a
/// part-vector first, which must not move the summation order. Each width is run with `y`
/// (and `x`) starting at every float offset of a 64-byte line.
#[test]
fn output_alignment_does_not_change_bits() {
    let mut rng = Rng::new(31);
    for k in dispatch::under_test() {
        for cols in [1, 5, 16, 63, 64, 65, 100, 512, 700, 2100, 4100, 8200] {
            let rows = 3;
            let x = rng.uniform_vec(rows * cols, -12.0, 12.0);
            // The options as the other tests build them (plain softmax).
            let plain = problem(rows, cols, x.clone());
            let opts = plain.options();
            let mut first: Option<(Vec<f32>, Vec<f32>)> = None;
            for off in 0..16 {
                let mut xb = vec![0.0f32; off + rows * cols];
                xb[off..].copy_from_slice(&x);
                let mut yb = vec![f32::NAN; off + rows * cols];
                let mut lse = vec![f32::NAN; rows];
                huiyan::softmax_with(
                    &k,
                    MatRef::row_major(&xb[off..], rows, cols),
                    MatMut::row_major(&mut yb[off..], rows, cols),
                    &opts,
                    Some(&mut lse),
                )
                .unwrap();
                let got = (yb[off..].to_vec(), lse);
                match &first {
                    None => first = Some(got),
                    Some((y0, l0)) => {
                        let ctx = format!("{} cols={cols} offset {off}", k.isa().name());
                        assert_bits_eq(&got.0, y0, &ctx);
                        assert_bits_eq(&got.1, l0, &format!("{ctx} lse"));
                    }
                }
            }
        }
    }
}

/// Outputs spanning 8 MiB or more send rows of 2048 columns and up to the chunked two-pass
/// path (out of place). The span counts the row stride, so three rows 9 MiB apart reach it
/// cheaply: against the reference, with the gaps between the rows untouched, a degenerate row
/// in the middle caught, and the same bits wherever the output starts.
#[test]
fn memory_sized_outputs_take_the_chunked_path() {
    let mut rng = Rng::new(53);
    let far = (9 << 20) / 4; // floats between the starts of the output rows
    for k in dispatch::under_test() {
        for cols in [2048, 2049, 3000, 4096, 8191] {
            let rows = 3;
            let mut x = rng.uniform_vec(rows * cols, -9.0, 9.0);
            x[cols + 7] = f32::NAN; // row 1 degenerate
            let p = problem(rows, cols, x.clone());
            let opts = p.options();
            let (want, want_lse) = p.reference();
            let (yb, lb) = p.bounds();
            let xv = MatRef::row_major(&x, rows, cols);
            let mut first: Option<(Vec<f32>, Vec<f32>)> = None;
            for off in [0, 3] {
                let mut big = vec![-7.0f32; off + (rows - 1) * far + cols];
                let mut lse = vec![0.0f32; rows];
                let view = MatMut::new(&mut big[off..], rows, cols, far, 1);
                huiyan::softmax_with(&k, xv, view, &opts, Some(&mut lse)).unwrap();
                let ctx = format!("{} far rows cols={cols} offset {off}", k.isa().name());
                let mut got = Vec::with_capacity(rows * cols);
                for r in 0..rows {
                    got.extend_from_slice(&big[off + r * far..][..cols]);
                    if r + 1 < rows {
                        let gap = &big[off + r * far + cols..off + (r + 1) * far];
                        assert!(gap.iter().all(|&v| v == -7.0), "{ctx}: gap after row {r}");
                    }
                }
                assert!(got[cols..2 * cols].iter().all(|v| v.is_nan()), "{ctx}");
                assert_within(&got, &want, &yb, &ctx);
                assert_within(&lse, &want_lse, &lb, &format!("{ctx} lse"));
                match &first {
                    None => first = Some((got, lse)),
                    Some((y0, l0)) => {
                        assert_bits_eq(&got, y0, &ctx);
                        assert_bits_eq(&lse, l0, &format!("{ctx} lse"));
                    }
                }
            }
        }
    }
}

/// Contiguous outputs of 8 MiB or more: on a tier with non-temporal stores the std API lends
/// its scratch row and plain rows of 2048–32768 columns take the streamed path (one row's
/// terms wait in the scratch while the previous row streams out of it); elsewhere the chunked
/// path. Many rows in flight, degenerate rows first, in a run of three, in the middle and last,
/// scale of either sign, rows with a gap between them or none; against the reference, and the
/// same bits with `x` and `y` starting at another offset of a cache line.
///
/// A tier that does not stream runs the first two shapes only (an odd width, a negative scale
/// and the offset rerun; a padded row stride): its rows take the chunked path, which the
/// far-rows test above covers at five widths, and each shape costs a 2M-element f64 reference,
/// which under qemu and valgrind is tens of seconds. The last three are the streamed path's
/// width classes (its smallest width exactly, a width between vector grids, the longest).
#[test]
fn memory_sized_contiguous_rows() {
    use huiyan_kernels::softmax::softmax_scratch_len;
    let mut rng = Rng::new(67);
    for k in dispatch::under_test() {
        let streams = {
            let (rows, cols) = (1024, 2048);
            let p = problem(rows, cols, vec![0.0; rows * cols]);
            let mut y = vec![0.0f32; rows * cols];
            softmax_scratch_len(&k, &p.x(), &p.y_view(&mut y), &p.options()) > 0
        };
        let shapes = [
            (2061, -0.7, 0),
            (4096, 1.0, 3),
            (2048, 1.0, 0),
            (5000, 0.3, 0),
            (32768, 1.0, 0),
        ];
        let shapes = if streams { &shapes[..] } else { &shapes[..2] };
        for &(cols, scale, y_pad) in shapes {
            let rows = (2usize << 20).div_ceil(cols); // ≥ 8 MiB of output
                                                      // The x whose logit is −∞ (scale may be negative).
            let gone = if scale > 0.0 { NEG_INF } else { f32::INFINITY };
            let mut x = rng.uniform_vec(rows * cols, -9.0, 9.0);
            x[3] = f32::NAN; // row 0
            x[cols..2 * cols].fill(gone); // row 1: no entry takes part
            x[2 * cols + cols / 2] = -gone; // row 2: a +∞ logit
            let mid = rows / 2;
            x[mid * cols + cols - 1] = f32::NAN; // a row in the middle, NaN last
            x[(mid + 2) * cols..(mid + 3) * cols].fill(gone); // a row with one entry left
            x[(mid + 2) * cols + 7] = 1.0;
            x[rows * cols - 1] = f32::NAN; // the last row
            let mut p = problem(rows, cols, x);
            (p.scale, p.y_pad, p.want_lse) = (scale, y_pad, true);
            let ctx = format!("memory-sized cols={cols} scale={scale} pad={y_pad}");
            let (got, got_lse) = check_lse(&k, &p, &ctx);
            assert_eq!(got[(mid + 2) * cols + 7], 1.0, "{ctx}: the one entry left");
            if y_pad != 0 {
                continue;
            }
            // x and y 5 floats further into a line: the same bits.
            let off = 5;
            let mut xb = vec![0.0f32; off + rows * cols];
            xb[off..].copy_from_slice(&p.x);
            let mut yb = vec![f32::NAN; off + rows * cols];
            let mut lse = vec![f32::NAN; rows];
            let opts = p.options();
            huiyan::softmax_with(
                &k,
                MatRef::row_major(&xb[off..], rows, cols),
                MatMut::row_major(&mut yb[off..], rows, cols),
                &opts,
                Some(&mut lse),
            )
            .unwrap();
            let ctx = format!("{} {ctx} offset {off}", k.isa().name());
            assert_bits_eq(&yb[off..], &got, &ctx);
            // The logsumexp too (checked against the reference above): no second f64 pass.
            assert_bits_eq(&lse, &got_lse, &format!("{ctx} lse"));
        }
    }
}

/// The kernel-level [`softmax_scratch`](huiyan_kernels::softmax::softmax_scratch): the length
/// it asks for is 0 wherever the call would not stream; a scratch shorter than that is not
/// used (the bits of `softmax`); a long enough one, starting anywhere, gives the same bits
/// wherever it starts and matches `softmax` within the bound.
#[test]
fn kernel_scratch_lengths_and_offsets() {
    use huiyan_kernels::softmax::{softmax as ksoftmax, softmax_scratch, softmax_scratch_len};
    let mut rng = Rng::new(71);
    let (rows, cols) = (520, 4096);
    let x = rng.uniform_vec(rows * cols, -8.0, 8.0);
    let p = problem(rows, cols, x.clone());
    let opts = p.options();
    // The reference only where a tier streams (a 2M-element f64 pass: slow under qemu).
    let mut reference: Option<(Vec<f32>, Vec<f64>)> = None;
    let xv = MatRef::row_major(&x, rows, cols);
    for k in dispatch::under_test() {
        let ctx = k.isa().name();
        let mut y = vec![0.0f32; rows * cols];
        let want_len = softmax_scratch_len(&k, &xv, &MatMut::row_major(&mut y, rows, cols), &opts);
        // Not memory-sized (a tenth of the rows), log-softmax: never a scratch.
        let small = MatRef::row_major(&x[..rows / 10 * cols], rows / 10, cols);
        let mut ys = vec![0.0f32; rows / 10 * cols];
        let ysv = MatMut::row_major(&mut ys, rows / 10, cols);
        assert_eq!(softmax_scratch_len(&k, &small, &ysv, &opts), 0, "{ctx}");
        let log = SoftmaxOptions { log: true, ..opts };
        let yv = MatMut::row_major(&mut y, rows, cols);
        assert_eq!(softmax_scratch_len(&k, &xv, &yv, &log), 0, "{ctx}");
        if want_len == 0 {
            continue; // this tier does not stream
        }
        assert!(want_len >= cols, "{ctx}: {want_len}");
        let (want, yb) = reference.get_or_insert_with(|| (p.reference().0, p.bounds().0));
        let mut plain = vec![0.0f32; rows * cols];
        ksoftmax(
            &k,
            xv,
            MatMut::row_major(&mut plain, rows, cols),
            &opts,
            None,
        )
        .unwrap();
        let mut w = vec![0.0f32; want_len + 16];
        // Too short: not used, the bits of softmax.
        let yv = MatMut::row_major(&mut y, rows, cols);
        softmax_scratch(&k, xv, yv, &opts, None, &mut w[..want_len - 1]).unwrap();
        assert_bits_eq(&y, &plain, &format!("{ctx} short scratch"));
        let mut first: Option<Vec<f32>> = None;
        for off in [0, 1, 7, 16] {
            let yv = MatMut::row_major(&mut y, rows, cols);
            softmax_scratch(&k, xv, yv, &opts, None, &mut w[off..off + want_len]).unwrap();
            let ctx = format!("{ctx} scratch offset {off}");
            assert_within(&y, want, yb, &ctx);
            match &first {
                None => first = Some(y.clone()),
                Some(y0) => assert_bits_eq(&y, y0, &ctx),
            }
        }
    }
}

/// Degenerate rows (NaN, `+∞`, all `−∞`) between ordinary ones, at every width class: the
/// pipelined paths find a NaN from the row's sum (out of place) or from pass 1 (in place), and
/// the rows around it are unaffected.
#[test]
fn degenerate_rows_between_ordinary_rows() {
    let mut rng = Rng::new(41);
    for k in dispatch::under_test() {
        for cols in [3, 16, 64, 100, 700, 4100, 9000] {
            let rows = 6;
            let mut x = rng.uniform_vec(rows * cols, -10.0, 10.0);
            x[cols] = f32::NAN; // row 1: NaN first, a −∞ beside it
            if cols > 1 {
                x[cols + 1] = NEG_INF;
            }
            x[3 * cols + cols / 2] = f32::INFINITY; // row 3
            x[4 * cols..5 * cols].fill(NEG_INF); // row 4
            x[6 * cols - 1] = f32::NAN; // row 5: NaN last
            let ctx = format!("degenerate rows cols={cols}");
            let p = problem(rows, cols, x);
            let got = check(&k, &p, &ctx);
            if cols > 1 {
                assert_eq!(got[cols + 1], 0.0, "{ctx}: −∞ in a NaN row");
            }
            assert!(got[4 * cols..5 * cols].iter().all(|&v| v == 0.0), "{ctx}");
            let (yi, li) = run_inplace(&k, &p);
            let (yb, lb) = p.bounds();
            let (want, want_lse) = p.reference();
            assert_within(&yi, &want, &yb, &format!("{ctx} in place"));
            assert_within(&li, &want_lse, &lb, &format!("{ctx} in place lse"));
        }
    }
}

#[test]
fn all_isas_agree_within_the_bound() {
    let mut rng = Rng::new(99);
    let tiers = dispatch::under_test();
    for &(rows, cols) in &[(3, 1), (2, 17), (2, 64), (2, 257), (1, 4099)] {
        for general in [false, true] {
            let mut p = problem(rows, cols, rng.uniform_vec(rows * cols, -12.0, 12.0));
            if general {
                p.mask = bcast(rng.bools(rows * cols, 0.9), rows, cols);
                p.bias = bcast(rng.uniform_vec(cols, -2.0, 2.0), 1, cols);
                p.scale = 0.7;
            }
            let (yb, _) = p.bounds();
            let outs: Vec<_> = tiers.iter().map(|k| run(k, &p).0).collect();
            for (i, o) in outs.iter().enumerate() {
                let both: Vec<f64> = yb.iter().map(|b| 2.0 * b).collect();
                assert_within(
                    o,
                    &outs[0],
                    &both,
                    &format!("{} vs {}", tiers[i].isa().name(), tiers[0].isa().name()),
                );
            }
        }
    }
    // exp: identical bits on every tier.
    let x = rng.uniform_vec(10_000, -110.0, 110.0);
    let want: Vec<f32> = x.iter().map(|&v| exp_lane(v)).collect();
    for k in &tiers {
        let mut y = vec![0.0; x.len()];
        huiyan::exp_with(k, &x, &mut y).unwrap();
        assert_bits_eq(&y, &want, &format!("exp {}", k.isa().name()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(48)))]
    #[test]
    fn random_problems_match_reference(p in strategies::softmax_problem(6, 70)) {
        for k in dispatch::under_test() {
            check(&k, &p, "proptest");
        }
    }
}

#[test]
fn bad_input_is_a_typed_error_and_output_untouched() {
    let x = vec![1.0f32; 12];
    let opts = SoftmaxOptions::default();
    for k in dispatch::under_test() {
        let mut y = vec![7.0f32; 12];
        let mut e =
            |xv: MatRef<'_>, yv: (usize, usize, usize), o: &SoftmaxOptions<'_>, lse: usize| {
                let mut l = vec![3.0f32; lse];
                let mut y2 = y.clone();
                let r = huiyan::softmax_with(
                    &k,
                    xv,
                    MatMut::new(&mut y2, yv.0, yv.1, yv.2, 1),
                    o,
                    Some(&mut l),
                );
                assert_eq!(y2, y, "output touched");
                assert!(l.iter().all(|&v| v == 3.0), "lse touched");
                y[0] = 7.0;
                r.unwrap_err()
            };
        // Short input slice.
        assert!(matches!(
            e(MatRef::new(&x[..11], 3, 4, 4, 1), (3, 4, 4), &opts, 3),
            Error::SliceTooShort {
                operand: Operand::X,
                ..
            }
        ));
        // Row stride < cols on the output (aliasing rows).
        assert!(matches!(
            e(MatRef::new(&x, 3, 4, 4, 1), (3, 4, 3), &opts, 3),
            Error::AliasingStrides { .. }
        ));
        // Non-finite and zero scale.
        for s in [f32::NAN, f32::INFINITY, 0.0] {
            let o = SoftmaxOptions { scale: s, ..opts };
            assert!(matches!(
                e(MatRef::new(&x, 3, 4, 4, 1), (3, 4, 4), &o, 3),
                Error::InvalidScale { .. }
            ));
        }
        // Mask shape mismatch.
        let m = [true; 6];
        let o = SoftmaxOptions {
            mask: Some(MatRef::new(&m, 2, 3, 3, 1)),
            ..opts
        };
        assert!(matches!(
            e(MatRef::new(&x, 3, 4, 4, 1), (3, 4, 4), &o, 3),
            Error::BroadcastShape {
                operand: Operand::Mask,
                ..
            }
        ));
        // lse too short.
        assert!(matches!(
            e(MatRef::new(&x, 3, 4, 4, 1), (3, 4, 4), &opts, 2),
            Error::SliceTooShort {
                operand: Operand::Lse,
                ..
            }
        ));
        // exp length mismatch.
        let mut y3 = vec![5.0f32; 11];
        let r = huiyan::exp_with(&k, &x, &mut y3);
        assert_eq!(
            r,
            Err(Error::DimMismatch {
                dim: Dim::Cols,
                expected: 12,
                got: 11
            })
        );
        assert!(y3.iter().all(|&v| v == 5.0));
    }
}

#[cfg(feature = "rayon")]
#[test]
fn rayon_is_bit_identical_to_one_thread() {
    let mut rng = Rng::new(3);
    let (rows, cols) = (300, 700);
    let mut p = problem(rows, cols, rng.uniform_vec(rows * cols, -9.0, 9.0));
    p.bias = bcast(rng.uniform_vec(rows, -1.0, 1.0), rows, 1);
    p.mask = bcast(rng.bools(cols, 0.9), 1, cols);
    for k in dispatch::under_test() {
        let (a, la) = run(&k, &p);
        let mut y = p.new_output();
        let mut l = vec![0.0; rows];
        huiyan_kernels::softmax::softmax(&k, p.x(), p.y_view(&mut y), &p.options(), Some(&mut l))
            .unwrap();
        assert_bits_eq(&a, &p.gather_y(&y), "rayon vs one thread");
        assert_bits_eq(&la, &l, "rayon lse");
        let (b, _) = run_inplace(&k, &p);
        assert_bits_eq(&b, &a, "rayon in place");
    }
}

// ---------------------------------------------------------------------------------------
// exp
// ---------------------------------------------------------------------------------------

/// The accuracy domain: results are normal numbers.
const DOMAIN: (f32, f32) = (-87.3, 88.7);

/// Every `f32` in `[a, b]` visited in order of bit pattern, `step` apart.
fn floats(a: f32, b: f32, step: u32) -> impl Iterator<Item = f32> {
    // Negative floats: bits grow as values fall; walk both signs separately.
    let neg = (0x8000_0000u32..=a.to_bits())
        .step_by(step as usize)
        .map(f32::from_bits);
    let pos = (0u32..=b.to_bits())
        .step_by(step as usize)
        .map(f32::from_bits);
    neg.chain(pos)
}

/// The worst ulp error of `y = exp(x)` over a batch, and where.
fn worst(x: &[f32], y: &[f32]) -> (f64, f32) {
    let mut w = (0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let e = ulp_error(b, (a as f64).exp());
        if e > w.0 {
            w = (e, a);
        }
    }
    w
}

/// Inputs around every power-of-two boundary: of the input (`±2ᵉ`) and of the output
/// (`x ≈ k·ln2`, where `eˣ` crosses `2ᵏ`), 8 floats either side.
fn boundaries() -> Vec<f32> {
    let mut v = Vec::new();
    let around = |c: f32, v: &mut Vec<f32>| {
        for d in -8i32..=8 {
            let b = (c.to_bits() as i64 + d as i64) as u32;
            v.push(f32::from_bits(b));
        }
    };
    for e in -149..=6 {
        around(2f32.powi(e), &mut v);
        around(-(2f32.powi(e)), &mut v);
    }
    for k in -126..=127 {
        around((k as f64 * std::f64::consts::LN_2) as f32, &mut v);
    }
    v.retain(|x| x.is_finite() && *x >= DOMAIN.0 && *x <= DOMAIN.1);
    v
}

#[test]
fn exp_specials_exact() {
    let x = [
        NEG_INF,
        f32::INFINITY,
        f32::NAN,
        -f32::NAN,
        88.73,
        100.0,
        f32::MAX,
        0.0,
        -0.0,
        -104.0,
        -1e30,
        -f32::MAX,
    ];
    for k in dispatch::under_test() {
        let mut y = [1.5f32; 12];
        huiyan::exp_with(&k, &x, &mut y).unwrap();
        let ctx = k.isa().name();
        assert_eq!(y[0].to_bits(), 0, "{ctx}: exp(−∞) = +0");
        assert_eq!(y[1], f32::INFINITY, "{ctx}");
        assert!(y[2].is_nan() && y[3].is_nan(), "{ctx}");
        assert!(
            y[4..7].iter().all(|&v| v == f32::INFINITY),
            "{ctx}: overflow"
        );
        assert_eq!(&y[7..9], &[1.0, 1.0], "{ctx}");
        assert!(
            y[9..].iter().all(|&v| v.to_bits() == 0),
            "{ctx}: underflow to +0"
        );
    }
}

#[test]
fn exp_underflow_is_gradual_within_one_subnormal_ulp() {
    // [−103.97, −87.34]: subnormal results, rounded once.
    let x: Vec<f32> = ((-87.0f32).to_bits()..=(-104.0f32).to_bits())
        .step_by(97)
        .map(f32::from_bits)
        .collect();
    let mut y = vec![0.0; x.len()];
    huiyan::exp_with(dispatch::kernels(), &x, &mut y).unwrap();
    for (&a, &b) in x.iter().zip(&y) {
        let err = ((b as f64) - (a as f64).exp()).abs() / tol::MIN_SUBNORMAL;
        assert!(err <= 1.0, "exp({a}) = {b:e}: {err} subnormal ulps off");
    }
}

#[test]
fn exp_reduced_sweep_and_boundaries_within_2_ulp_and_bitwise_on_every_isa() {
    let mut x: Vec<f32> = floats(DOMAIN.0, DOMAIN.1, 509).collect();
    x.extend(boundaries());
    let want: Vec<f32> = x.iter().map(|&v| exp_lane(v)).collect();
    let (w, at) = worst(&x, &want);
    assert!(w <= tol::EXP_ULP, "exp_lane: {w} ulp at {at:e}");
    for k in dispatch::under_test() {
        let mut y = vec![0.0; x.len()];
        huiyan::exp_with(&k, &x, &mut y).unwrap();
        assert_bits_eq(&y, &want, &format!("exp on {}", k.isa().name()));
    }
}

#[test]
fn exp_full_sweep() {
    if std::env::var("HUIYAN_FULL_EXP_SWEEP").as_deref() != Ok("1") {
        eprintln!("exp_full_sweep: skipped (set HUIYAN_FULL_EXP_SWEEP=1; use --release)");
        return;
    }
    let tiers = dispatch::under_test();
    let all: Vec<u32> = {
        let neg = 0x8000_0000u32..=DOMAIN.0.to_bits();
        let pos = 0u32..=DOMAIN.1.to_bits();
        vec![neg.start().to_owned(), *neg.end(), *pos.start(), *pos.end()]
    };
    let ranges = [(all[0], all[1]), (all[2], all[3])];
    let chunk = 1u32 << 20;
    let results = std::thread::scope(|sc| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|&(lo, hi)| {
                let tiers = &tiers;
                sc.spawn(move || {
                    let (mut w, mut at, mut count) = (0.0f64, 0.0f32, 0u64);
                    let mut start = lo as u64;
                    while start <= hi as u64 {
                        let end = (start + chunk as u64 - 1).min(hi as u64);
                        let x: Vec<f32> = (start as u32..=end as u32).map(f32::from_bits).collect();
                        let mut y = vec![0.0; x.len()];
                        let mut z = vec![0.0; x.len()];
                        huiyan::exp_with(&tiers[tiers.len() - 1], &x, &mut y).unwrap();
                        for k in &tiers[..tiers.len() - 1] {
                            huiyan::exp_with(k, &x, &mut z).unwrap();
                            assert_bits_eq(&z, &y, &format!("{} vs best tier", k.isa().name()));
                        }
                        let (cw, ca) = worst(&x, &y);
                        if cw > w {
                            (w, at) = (cw, ca);
                        }
                        count += x.len() as u64;
                        start = end + 1;
                    }
                    (w, at, count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let count: u64 = results.iter().map(|r| r.2).sum();
    let (w, at, _) = results
        .iter()
        .cloned()
        .fold((0.0, 0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
    eprintln!(
        "exp_full_sweep: {count} floats in [{}, {}], {} tiers bit-identical; max error {w:.4} ulp at x = {at:e} ({:#010x})",
        DOMAIN.0, DOMAIN.1, tiers.len(), at.to_bits()
    );
    assert!(w <= tol::EXP_ULP);
}
