//! Matmul with A and/or B stored in bf16 or f16, on every ISA of this machine.
//!
//! Widening a half to `f32` is exact, and the kernels compute in `f32` after it, so a product
//! of half-precision operands must give **the same bits** as the `f32` product of the widened
//! values: C, its untouched gaps, with and without a bias, through `matmul_bias_with` (one
//! task, or a `GemmJob` with `rayon`) and through a [`PackedB`] packed from the half B. The
//! `f32` product of the widened values is in turn checked against the `f64` reference on the
//! rounded inputs, which is also what `reference::matmul_bias` computes from the half views.
//! A half-precision C gets that `f32` result (on C₀ widened) rounded once.

use huiyan::dispatch::{self, Kernels};
use huiyan::{
    bf16, f16, matmul_bias_with, matmul_packed, reference, Element, Error, MatMut, MatRef, Operand,
    PackedB,
};
use huiyan_testkit::problems::GemmProblem;
use huiyan_testkit::{assert_bits_eq, assert_within, proptest_cases, strategies};
use proptest::prelude::*;

/// `x` rounded to `E` (nearest even), and those values widened back.
fn rounded<E: Element>(x: &[f32], round: fn(f32) -> E) -> (Vec<E>, Vec<f32>) {
    let h: Vec<E> = x.iter().map(|&v| round(v)).collect();
    let w = h.iter().map(|v| v.widen()).collect();
    (h, w)
}

/// Checks A in `TA` and B in `TB` against the `f32` problem on the widened values.
fn check_types<TA: Element, TB: Element>(
    kern: &Kernels,
    p: &GemmProblem,
    ra: fn(f32) -> TA,
    rb: fn(f32) -> TB,
    name: &str,
) {
    let (ah, aw) = rounded(&p.a, ra);
    let (bh, bw) = rounded(&p.b, rb);
    let mut w = p.clone();
    w.a = aw;
    w.b = bw;
    let (rsa, csa, _) = w.a_layout.strides(w.m, w.k);
    let (rsb, csb, _) = w.b_layout.strides(w.k, w.n);
    let a = MatRef::new(&ah, w.m, w.k, rsa, csa);
    let b = MatRef::new(&bh, w.k, w.n, rsb, csb);
    let bias = w.bias.as_deref();
    let ctx = format!(
        "{name}, {} m={} n={} k={} A {:?} B {:?} C {:?} alpha {} beta {}",
        kern.isa().name(),
        w.m,
        w.n,
        w.k,
        w.a_layout,
        w.b_layout,
        w.c_layout,
        w.alpha,
        w.beta
    );

    let mut c32 = w.new_c();
    matmul_bias_with(
        kern,
        w.alpha,
        w.a(),
        w.b(),
        w.beta,
        w.c_view(&mut c32),
        bias,
    )
    .unwrap();
    let mut ch = w.new_c();
    matmul_bias_with(kern, w.alpha, a, b, w.beta, w.c_view(&mut ch), bias).unwrap();
    assert_bits_eq(&ch, &c32, &format!("C (gaps included), {ctx}"));

    // B packed from half precision: the bits of the unpacked product.
    let pb = PackedB::with_kernels(kern, b).unwrap();
    let mut cp = w.new_c();
    matmul_packed(w.alpha, a, &pb, w.beta, w.c_view(&mut cp), bias).unwrap();
    assert_bits_eq(&cp, &c32, &format!("C with B prepacked, {ctx}"));

    // The reference reads half views as their widened values.
    let want = w.reference();
    let mut rh = w.new_c();
    reference::matmul_bias(w.alpha, a, b, w.beta, w.c_view(&mut rh), bias).unwrap();
    assert_bits_eq(
        &w.gather_c(&rh),
        &want,
        &format!("reference on half views, {ctx}"),
    );
    assert_within(
        &w.gather_c(&ch),
        &want,
        &w.bounds(),
        &format!("C vs reference, {ctx}"),
    );
    w.assert_c_gaps_untouched(&ch);
}

/// C stored as `TC`: the `f32` result of the same call on C₀ widened, rounded once into C
/// (unpacked and with B prepacked); C's gaps untouched.
fn check_output<TC: Element>(kern: &Kernels, p: &GemmProblem, name: &str) {
    let ch0: Vec<TC> = p.c0.iter().map(|&x| TC::narrow(x)).collect();
    let mut w = p.clone();
    w.c0 = ch0.iter().map(|x| x.widen()).collect();
    let bias = w.bias.as_deref();
    let mut c32 = w.new_c();
    matmul_bias_with(
        kern,
        w.alpha,
        w.a(),
        w.b(),
        w.beta,
        w.c_view(&mut c32),
        bias,
    )
    .unwrap();
    let want: Vec<TC> = c32.iter().map(|&x| TC::narrow(x)).collect();
    let (rs, cs, _) = w.c_layout.strides(w.m, w.n);
    let same = |got: &[TC], what: &str| {
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            let (g, e) = (g.widen(), e.widen());
            assert!(
                g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
                "{name} C, {what}, {} m={} n={} k={}: element {i}: {g:e} vs {e:e}",
                kern.isa().name(),
                w.m,
                w.n,
                w.k
            );
        }
    };
    let mut ch = ch0.clone();
    let c = MatMut::new(&mut ch, w.m, w.n, rs, cs);
    matmul_bias_with(kern, w.alpha, w.a(), w.b(), w.beta, c, bias).unwrap();
    same(&ch, "unpacked");
    let pb = PackedB::with_kernels(kern, w.b()).unwrap();
    let mut ch = ch0.clone();
    let c = MatMut::new(&mut ch, w.m, w.n, rs, cs);
    matmul_packed(w.alpha, w.a(), &pb, w.beta, c, bias).unwrap();
    same(&ch, "B prepacked");
}

fn check(kern: &Kernels, p: &GemmProblem) {
    check_types(kern, p, bf16::from_f32, bf16::from_f32, "bf16 × bf16");
    check_types(kern, p, f16::from_f32, f16::from_f32, "f16 × f16");
    check_types(kern, p, |x| x, bf16::from_f32, "f32 × bf16");
    check_types(kern, p, f16::from_f32, |x| x, "f16 × f32");
    check_output::<bf16>(kern, p, "bf16");
    check_output::<f16>(kern, p, "f16");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(64)))]

    /// Shapes across the tiles of every tier, any layout (the in-place `f32` paths are not
    /// taken for half operands: those are always widened while packing).
    #[test]
    fn half_operands_give_the_bits_of_f32(p in strategies::gemm_problem(70, 70)) {
        for k in dispatch::under_test() { check(&k, &p); }
    }

    /// With a bias, and depths past one `KC` block (β and the bias join the first rank-`kc`
    /// update only).
    #[test]
    fn deep_products_with_bias(
        p in strategies::gemm_problem(40, 700),
        seed in 0u32..1000,
    ) {
        let bias = (0..p.n).map(|j| (j as f32 * 0.37 + seed as f32).sin()).collect();
        let p = p.with_bias(bias);
        for k in dispatch::under_test() { check(&k, &p); }
    }
}

/// Every one of the 65,536 f16 and bf16 values goes through a product by 1 exactly (`−0`
/// comes back as `+0`: the accumulator starts at `+0`), NaN as NaN, on every tier.
#[test]
fn every_half_value_passes_through_exactly() {
    let rows = 512;
    let one = [1.0f32];
    for kern in dispatch::under_test() {
        for chunk in (0..=u16::MAX).collect::<Vec<u16>>().chunks(rows) {
            let n = chunk.len();
            let af: Vec<f16> = chunk.iter().map(|&h| f16::from_bits(h)).collect();
            let ab: Vec<bf16> = chunk.iter().map(|&h| bf16::from_bits(h)).collect();
            let b = MatRef::row_major(&one, 1, 1);
            let mut cf = vec![f32::NAN; n];
            let mut cb = vec![f32::NAN; n];
            let c = |buf| MatMut::row_major(buf, n, 1);
            matmul_bias_with(
                &kern,
                1.0,
                MatRef::row_major(&af, n, 1),
                b,
                0.0,
                c(&mut cf),
                None,
            )
            .unwrap();
            matmul_bias_with(
                &kern,
                1.0,
                MatRef::row_major(&ab, n, 1),
                b,
                0.0,
                c(&mut cb),
                None,
            )
            .unwrap();
            for i in 0..n {
                for (got, want) in [(cf[i], af[i].to_f32()), (cb[i], ab[i].to_f32())] {
                    let want = if want == 0.0 { 0.0 } else { want };
                    assert!(
                        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                        "{}: bits {:#06x}: got {got:e}, want {want:e}",
                        kern.isa().name(),
                        chunk[i]
                    );
                }
            }
        }
    }
}

/// Half-precision views are validated like `f32` ones: a short slice is a typed error and C
/// is left untouched, on every entry point.
#[test]
fn bad_half_views_leave_c_untouched() {
    let a = vec![bf16::ONE; 5]; // 2 × 3 needs 6
    let b = vec![f16::ONE; 6];
    let mut c = [7.0f32; 4];
    for kern in dispatch::available() {
        let err = matmul_bias_with(
            &kern,
            1.0,
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&b, 3, 2),
            0.0,
            MatMut::row_major(&mut c, 2, 2),
            None,
        );
        let short = Error::SliceTooShort {
            operand: Operand::A,
            needed: 6,
            got: 5,
        };
        assert_eq!(err, Err(short));
        assert_eq!(c, [7.0; 4]);
        let err = PackedB::with_kernels(&kern, MatRef::row_major(&b[..5], 3, 2));
        assert_eq!(
            err.unwrap_err(),
            Error::SliceTooShort {
                operand: Operand::B,
                needed: 6,
                got: 5
            }
        );
        let pb = PackedB::with_kernels(&kern, MatRef::row_major(&b, 3, 2)).unwrap();
        let err = matmul_packed(
            1.0,
            MatRef::row_major(&a, 2, 3),
            &pb,
            0.0,
            MatMut::row_major(&mut c, 2, 2),
            None,
        );
        assert_eq!(err, Err(short));
        assert_eq!(c, [7.0; 4]);
        // A half-precision C shorter than its shape: named, and left as it was.
        let mut ch = [bf16::ONE; 3];
        let err = matmul_bias_with(
            &kern,
            1.0,
            MatRef::row_major(&b, 2, 3),
            MatRef::row_major(&b, 3, 2),
            0.0,
            MatMut::row_major(&mut ch, 2, 2),
            None,
        );
        let want = Error::SliceTooShort {
            operand: Operand::C,
            needed: 4,
            got: 3,
        };
        assert_eq!(err, Err(want));
        assert_eq!(ch, [bf16::ONE; 3]);
    }
}
