//! LayerNorm and the bias(+GELU) epilogue: every tier against the `f64` reference within the
//! `tol` bounds, property tests over shapes and values, the bad-input catalogue, in place
//! against out of place, and the same bits for any split into tasks.

use huiyan::dispatch;
use huiyan::{Activation, Dim, Error, LayerNormOptions, MatMut, MatRef, Operand};
use huiyan_kernels::norm as k;
use huiyan_kernels::reference;
use huiyan_testkit::{assert_bits_eq, assert_within, proptest_cases, tol, Rng};
use proptest::prelude::*;

/// One LayerNorm problem: `x`, residual, bias, γ, β (logical row-major).
struct Ln {
    rows: usize,
    cols: usize,
    x: Vec<f32>,
    res: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Ln {
    fn new(seed: u64, rows: usize, cols: usize, res: bool, bias: bool, scale: f32) -> Ln {
        let mut r = Rng::new(seed);
        Ln {
            rows,
            cols,
            x: r.uniform_vec(rows * cols, -scale, scale),
            res: res.then(|| r.uniform_vec(rows * cols, -scale, scale)),
            bias: bias.then(|| r.uniform_vec(cols, -1.0, 1.0)),
            gamma: r.uniform_vec(cols, -2.0, 2.0),
            beta: r.uniform_vec(cols, -1.0, 1.0),
            eps: 1e-12,
        }
    }

    fn opts(&self) -> LayerNormOptions<'_> {
        LayerNormOptions {
            gamma: &self.gamma,
            beta: &self.beta,
            bias: self.bias.as_deref(),
            residual: self
                .res
                .as_deref()
                .map(|r| MatRef::row_major(r, self.rows, self.cols)),
            eps: self.eps,
        }
    }

    fn x(&self) -> MatRef<'_> {
        MatRef::row_major(&self.x, self.rows, self.cols)
    }

    /// Every tier: out of place within the bound, in place (kernel and std API) bit-identical.
    fn check(&self) {
        let (rows, cols) = (self.rows, self.cols);
        let mut want = vec![0.0f32; rows * cols];
        reference::layer_norm(
            self.x(),
            MatMut::row_major(&mut want, rows, cols),
            &self.opts(),
        )
        .unwrap();
        let bounds = tol::layer_norm_bounds(self.x(), &self.opts());
        for kern in dispatch::under_test() {
            let name = kern.isa().name();
            let mut y = vec![f32::NAN; rows * cols];
            k::layer_norm(
                &kern,
                self.x(),
                MatMut::row_major(&mut y, rows, cols),
                &self.opts(),
            )
            .unwrap();
            let ctx = format!("{name} layer_norm {rows}x{cols}");
            assert_within(&y, &want, &bounds, &ctx);
            let mut inplace = self.x.clone();
            huiyan::layer_norm_inplace_with(
                &kern,
                MatMut::row_major(&mut inplace, rows, cols),
                &self.opts(),
            )
            .unwrap();
            assert_bits_eq(&inplace, &y, &format!("{ctx} in place"));
        }
    }
}

#[test]
fn layer_norm_named_shapes() {
    // One column (σ = 0: y = β), tails around every vector width, BERT widths.
    for (i, &cols) in [
        1usize, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 384, 768, 1000,
    ]
    .iter()
    .enumerate()
    {
        for (res, bias) in [(false, false), (true, false), (false, true), (true, true)] {
            Ln::new(i as u64, 3, cols, res, bias, 3.0).check();
        }
    }
}

#[test]
fn layer_norm_large_offset_and_tiny_spread() {
    // Mean far from zero, spread small: the two-pass variance keeps it accurate.
    let mut p = Ln::new(7, 4, 384, true, true, 1e-3);
    for v in &mut p.x {
        *v += 100.0;
    }
    p.eps = 1e-5;
    p.check();
}

#[test]
fn layer_norm_nan_or_inf_makes_the_row_nan() {
    let mut p = Ln::new(3, 3, 40, true, false, 1.0);
    p.x[40 + 5] = f32::NAN;
    p.x[80 + 39] = f32::INFINITY;
    for kern in dispatch::under_test() {
        let mut y = p.x.clone();
        huiyan::layer_norm_inplace_with(&kern, MatMut::row_major(&mut y, 3, 40), &p.opts())
            .unwrap();
        assert!(y[..40].iter().all(|v| v.is_finite()));
        assert!(y[40..].iter().all(|v| v.is_nan()), "{}", kern.isa().name());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(48)))]

    #[test]
    fn layer_norm_matches_the_reference(
        seed in any::<u64>(), rows in 1usize..6, cols in 1usize..200,
        res in any::<bool>(), bias in any::<bool>(), scale in prop_oneof![Just(1e-3f32), Just(1.0f32), Just(1e3f32)],
    ) {
        Ln::new(seed, rows, cols, res, bias, scale).check();
    }

    #[test]
    fn bias_gelu_matches_the_reference(
        seed in any::<u64>(), rows in 1usize..5, cols in 1usize..100, bias in any::<bool>(),
        gelu in any::<bool>(), scale in prop_oneof![Just(0.5f32), Just(4.0f32), Just(20.0f32)],
    ) {
        let mut r = Rng::new(seed);
        let x = r.uniform_vec(rows * cols, -scale, scale);
        let b = bias.then(|| r.uniform_vec(cols, -1.0, 1.0));
        let act = if gelu { Activation::Gelu } else { Activation::Identity };
        let mut want = x.clone();
        reference::bias_act(MatMut::row_major(&mut want, rows, cols), b.as_deref(), act).unwrap();
        let bounds = tol::bias_act_bounds(&x, cols, b.as_deref(), act);
        let mut first: Option<Vec<f32>> = None;
        for kern in dispatch::under_test() {
            let mut y = x.clone();
            huiyan::bias_act_with(&kern, MatMut::row_major(&mut y, rows, cols), b.as_deref(), act).unwrap();
            assert_within(&y, &want, &bounds, &format!("{} bias_act", kern.isa().name()));
            // No sum: every tier has the same bits.
            assert_bits_eq(&y, first.get_or_insert_with(|| y.clone()), "bias_act across tiers");
        }
    }
}

#[test]
fn bias_gelu_specials() {
    let x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e-40];
    for kern in dispatch::under_test() {
        let mut y = x;
        huiyan::bias_act_with(
            &kern,
            MatMut::row_major(&mut y, 1, 6),
            None,
            Activation::Gelu,
        )
        .unwrap();
        assert!(y[0].is_nan());
        assert_eq!(&y[1..5], &[f32::INFINITY, 0.0, 0.0, 0.0]);
        assert_eq!(y[5], k::gelu_lane(1e-40));
    }
}

#[test]
fn jobs_give_the_same_bits_for_any_split() {
    // Enough rows for several tasks; the std API (rayon or not) against one kernel call.
    let p = Ln::new(11, 700, 384, true, true, 2.0);
    let kern = dispatch::kernels();
    let mut one = vec![0.0f32; 700 * 384];
    k::layer_norm(
        kern,
        p.x(),
        MatMut::row_major(&mut one, 700, 384),
        &p.opts(),
    )
    .unwrap();
    let mut many = p.x.clone();
    huiyan::layer_norm_inplace(MatMut::row_major(&mut many, 700, 384), &p.opts()).unwrap();
    assert_bits_eq(&many, &one, "layer_norm job vs one call");
    let mut a = p.x.clone();
    let mut b = p.x.clone();
    k::bias_act(
        kern,
        MatMut::row_major(&mut a, 700, 384),
        p.bias.as_deref(),
        Activation::Gelu,
    )
    .unwrap();
    huiyan::bias_act(
        MatMut::row_major(&mut b, 700, 384),
        p.bias.as_deref(),
        Activation::Gelu,
    )
    .unwrap();
    assert_bits_eq(&b, &a, "bias_act job vs one call");
}

/// The bad-input catalogue: each error names the operand and values; outputs untouched.
#[test]
fn bad_input_catalogue() {
    let x = [1.0f32; 12];
    let (g3, b3, g2) = ([1.0f32; 3], [0.0f32; 3], [1.0f32; 2]);
    let base = LayerNormOptions {
        gamma: &g3,
        beta: &b3,
        bias: None,
        residual: None,
        eps: 1e-5,
    };
    let xm = MatRef::row_major(&x, 4, 3);
    let run = |opts: &LayerNormOptions<'_>, xv: MatRef<'_>| {
        let mut y = [7.0f32; 12];
        let e = k::layer_norm(
            dispatch::kernels(),
            xv,
            MatMut::row_major(&mut y, xv.rows, xv.cols),
            opts,
        );
        assert_eq!(y, [7.0; 12], "output touched on {e:?}");
        e
    };
    let cases: Vec<(&str, Result<(), Error>, Error)> = vec![
        (
            "gamma short",
            run(&LayerNormOptions { gamma: &g2, ..base }, xm),
            Error::DimMismatch {
                dim: Dim::Cols,
                expected: 3,
                got: 2,
            },
        ),
        (
            "beta short",
            run(&LayerNormOptions { beta: &g2, ..base }, xm),
            Error::DimMismatch {
                dim: Dim::Cols,
                expected: 3,
                got: 2,
            },
        ),
        (
            "bias short",
            run(
                &LayerNormOptions {
                    bias: Some(&g2),
                    ..base
                },
                xm,
            ),
            Error::DimMismatch {
                dim: Dim::Cols,
                expected: 3,
                got: 2,
            },
        ),
        (
            "eps zero",
            run(&LayerNormOptions { eps: 0.0, ..base }, xm),
            Error::InvalidEpsilon { eps: 0.0 },
        ),
        (
            "eps NaN",
            run(
                &LayerNormOptions {
                    eps: f32::INFINITY,
                    ..base
                },
                xm,
            ),
            Error::InvalidEpsilon { eps: f32::INFINITY },
        ),
        (
            "residual rows",
            run(
                &LayerNormOptions {
                    residual: Some(MatRef::row_major(&x, 3, 3)),
                    ..base
                },
                xm,
            ),
            Error::DimMismatch {
                dim: Dim::Rows,
                expected: 4,
                got: 3,
            },
        ),
        (
            "residual strided",
            run(
                &LayerNormOptions {
                    residual: Some(MatRef::new(&x, 4, 3, 3, 2)),
                    ..base
                },
                xm,
            ),
            Error::SliceTooShort {
                operand: Operand::Residual,
                needed: 14,
                got: 12,
            },
        ),
        (
            "x column stride",
            run(&base, MatRef::new(&x, 2, 3, 6, 2)),
            Error::NonUnitStride {
                operand: Operand::X,
                stride: 2,
            },
        ),
        (
            "zero columns",
            run(&base, MatRef::row_major(&x, 4, 0)),
            Error::ZeroDim { dim: Dim::Cols },
        ),
        (
            "x too short",
            run(&base, MatRef::row_major(&x[..11], 4, 3)),
            Error::SliceTooShort {
                operand: Operand::X,
                needed: 12,
                got: 11,
            },
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, Err(want), "{what}");
    }
    // In place: the residual may not overlap x.
    let mut buf = [1.0f32; 12];
    let p = buf.as_mut_ptr();
    // SAFETY: both views lie inside `buf`, which outlives them; the call is rejected by
    // validation before either is read or written.
    let (xv, rv) = unsafe {
        (
            MatMut::from_raw_parts(p, 12, 4, 3, 3, 1),
            MatRef::from_raw_parts(p as *const f32, 12, 4, 3, 3, 1),
        )
    };
    let e = huiyan::layer_norm_inplace(
        xv,
        &LayerNormOptions {
            residual: Some(rv),
            ..base
        },
    );
    assert_eq!(
        e,
        Err(Error::Overlap {
            output: Operand::X,
            input: Operand::Residual
        })
    );
    // The epilogue: bias length, aliasing rows.
    let mut y = [1.0f32; 12];
    let e = huiyan::bias_act(MatMut::row_major(&mut y, 4, 3), Some(&g2), Activation::Gelu);
    assert_eq!(
        e,
        Err(Error::DimMismatch {
            dim: Dim::Cols,
            expected: 3,
            got: 2
        })
    );
    let e = huiyan::bias_act(MatMut::new(&mut y, 4, 3, 0, 1), None, Activation::Gelu);
    assert!(
        matches!(
            e,
            Err(Error::AliasingStrides {
                operand: Operand::X,
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(y, [1.0; 12]);
}
