//! Special values and edge lengths: every length 1..=257, huge logits, −∞ and fully masked
//! rows, NaN and +∞, degenerate rows among ordinary ones.

use super::{bcast, check, problem, run, run_inplace, NEG_INF};
use huiyan::dispatch;
use huiyan_testkit::{assert_bits_eq, assert_within, Rng};

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
