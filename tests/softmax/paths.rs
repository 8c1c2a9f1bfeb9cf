//! The long-row paths: rows of 8192 and more (chunked two-pass, three-pass in place), outputs
//! of 8 MiB and more (chunked, streamed through a scratch row), and the kernel-level scratch.

use super::{assert_rows_are_distributions, check, check_lse, problem, run, run_inplace, NEG_INF};
use huiyan::dispatch;
use huiyan::{MatMut, MatRef, SoftmaxOptions};
use huiyan_testkit::{assert_bits_eq, assert_within, under_memcheck, Rng};

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
            // Under memcheck, the f64 reference (a minute per tier there) gives way to the
            // row invariants: the kernel still runs on every row and every output is read.
            let (got, got_lse) = if under_memcheck() {
                let (got, lse) = run(&k, &p);
                assert_rows_are_distributions(&p, &got, &ctx);
                assert!(
                    lse.iter().all(|l| !l.is_finite() || l.abs() < 1e4),
                    "{ctx} lse"
                );
                (got, lse)
            } else {
                check_lse(&k, &p, &ctx)
            };
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
        // Under memcheck, the bitwise comparisons between scratch offsets read every output.
        let want = if under_memcheck() {
            None
        } else {
            Some(&*reference.get_or_insert_with(|| (p.reference().0, p.bounds().0)))
        };
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
            if let Some((want, yb)) = want {
                assert_within(&y, want, yb, &ctx);
            }
            match &first {
                None => first = Some(y.clone()),
                Some(y0) => assert_bits_eq(&y, y0, &ctx),
            }
        }
    }
}
