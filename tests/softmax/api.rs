//! The same answer through every form of the call: broadcast mask and bias shapes, in place
//! and out of place, any output alignment, every tier, random problems, rayon; bad calls
//! rejected with the output untouched.

use super::{bcast, check, problem, run, run_inplace};
use huiyan::dispatch;
use huiyan::{Dim, Error, MatMut, MatRef, Operand, SoftmaxOptions};
use huiyan_kernels::softmax::exp_lane;
use huiyan_testkit::problems::SoftmaxProblem;
use huiyan_testkit::{assert_bits_eq, assert_within, proptest_cases, strategies, Rng};
use proptest::prelude::*;

/// `p` with `pad` NaN elements between input rows.
fn with_x_pad(mut p: SoftmaxProblem, pad: usize) -> SoftmaxProblem {
    let mut x = vec![f32::NAN; p.rows * (p.cols + pad)];
    for r in 0..p.rows {
        x[r * (p.cols + pad)..][..p.cols].copy_from_slice(&p.x[r * p.cols..][..p.cols]);
    }
    (p.x, p.x_pad) = (x, pad);
    p
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
