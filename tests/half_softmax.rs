//! Softmax over scores stored in bf16 or f16, on every ISA of this machine.
//!
//! A half-precision `x` is widened into `y` a chunk of rows at a time and normalised there in
//! place, so the result must have **the bits of `softmax_inplace` on the widened values**
//! (whose accuracy the softmax suites check against the reference): `y` with its gaps, `lse`,
//! every option (scale, mask, bias, log-softmax), through the std API (a job; several threads
//! with `rayon`) and the kernel entry, at sizes across the row paths and the widening chunks.

use huiyan::dispatch::{self, Kernels};
use huiyan::{bf16, f16, Element, MatRef};
use huiyan_testkit::problems::SoftmaxProblem;
use huiyan_testkit::{assert_bits_eq, proptest_cases, strategies};
use proptest::prelude::*;

/// `y` and `lse` of `p` with `x` rounded to `E`: the half call (std API and kernel entry) and
/// the in-place call on the widened values, compared bit for bit.
fn check<E: Element>(k: &Kernels, p: &SoftmaxProblem, round: fn(f32) -> E, name: &str) {
    let (rows, cols) = (p.rows, p.cols);
    let xh: Vec<E> = p.x.iter().map(|&v| round(v)).collect();
    let x = MatRef::new(&xh, rows, cols, cols + p.x_pad, 1);
    let opts = p.options();
    let ctx = format!(
        "{name} x, {} {rows}×{cols} pads {}/{}",
        k.isa().name(),
        p.x_pad,
        p.y_pad
    );

    let mut want = p.new_output();
    for r in 0..rows {
        for c in 0..cols {
            want[r * (cols + p.y_pad) + c] = xh[r * (cols + p.x_pad) + c].widen();
        }
    }
    let mut want_lse = vec![f32::NAN; rows];
    huiyan::softmax_inplace_with(k, p.y_view(&mut want), &opts, Some(&mut want_lse)).unwrap();

    let mut got = p.new_output();
    let mut lse = vec![f32::NAN; rows];
    huiyan::softmax_with(k, x, p.y_view(&mut got), &opts, Some(&mut lse)).unwrap();
    assert_bits_eq(&got, &want, &format!("y, {ctx}"));
    assert_bits_eq(&lse, &want_lse, &format!("lse, {ctx}"));
    p.assert_y_gaps_untouched(&got);

    let mut got = p.new_output();
    huiyan_kernels::softmax::softmax(k, x, p.y_view(&mut got), &opts, None).unwrap();
    assert_bits_eq(&got, &want, &format!("y (kernel entry), {ctx}"));
}

fn check_both(p: &SoftmaxProblem) {
    for k in dispatch::under_test() {
        check(&k, p, bf16::from_f32, "bf16");
        check(&k, p, f16::from_f32, "f16");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(64)))]

    /// Every option, short and long rows, padded layouts.
    #[test]
    fn half_scores_give_the_bits_of_the_widened_in_place_call(
        p in strategies::softmax_problem(24, 300),
    ) {
        check_both(&p);
    }
}

/// Shapes at the widening chunks (4096 elements, an even number of rows) and the row paths:
/// many short rows, rows of one chunk's size and past it, an odd number of rows, long rows.
#[test]
fn chunk_and_path_boundaries() {
    for (rows, cols) in [
        (1, 1),
        (3, 7),
        (201, 20),
        (41, 100),
        (43, 100),
        (3, 4096),
        (2, 4097),
        (5, 9000),
    ] {
        let x: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 1000) as f32 / 50.0 - 10.0)
            .collect();
        let mut p = SoftmaxProblem::new(rows, cols, &x);
        check_both(&p);
        p.log = true;
        p.scale = 0.125;
        check_both(&p);
    }
}

/// Half-precision specials: NaN, ±∞, values past f16's range (rounded to ∞), subnormals; the
/// contract's rules then hold as for the widened `f32` row.
#[test]
fn specials() {
    let rows = [
        vec![0.0, f32::NAN, 1.0, -2.0],
        vec![f32::NEG_INFINITY, 1.0, 2.0, f32::NEG_INFINITY],
        vec![f32::NEG_INFINITY; 4],
        vec![f32::INFINITY, 0.0, 1.0, 2.0],
        vec![70000.0, -70000.0, 1e-7, -1e-7],
        vec![3e38, 1.0, -3e38, 0.0],
    ];
    let x: Vec<f32> = rows.concat();
    check_both(&SoftmaxProblem::new(rows.len(), 4, &x));
}
