//! `f64` oracles of the [`norm`](crate::norm) operations: LayerNorm (bias and residual fused)
//! and the bias epilogue with its GELU, straight from the contract's formulas.

use crate::error::Error;
use crate::norm::{check_bias_act, check_layer_norm};
use crate::options::{Activation, LayerNormOptions};
use crate::view::{MatMut, MatRef};

/// `gelu(x) = x·Φ(x)` in `f64`, `Φ(x) = ½·erfc(−x/√2)` (`libm::erfc`; no cancellation on
/// either side of 0).
///
/// ```
/// use huiyan_kernels::reference::gelu;
/// assert!((gelu(1.0) - 0.8413447460685429).abs() < 1e-15);
/// assert_eq!(gelu(0.0), 0.0);
/// ```
pub fn gelu(x: f64) -> f64 {
    x * 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

/// LayerNorm of the rows of `x` into `y` in `f64`, each output rounded to `f32` once.
/// Validates exactly as [`norm::layer_norm`](crate::norm::layer_norm).
///
/// ```
/// use huiyan_kernels::{reference, norm::LayerNormOptions, MatMut, MatRef};
/// let (g, b) = ([1.0f32; 2], [0.0f32; 2]);
/// let opts = LayerNormOptions { gamma: &g, beta: &b, bias: None, residual: None, eps: 1e-12 };
/// let mut y = [0.0f32; 2];
/// reference::layer_norm(MatRef::row_major(&[1.0, 3.0], 1, 2), MatMut::row_major(&mut y, 1, 2), &opts)?;
/// assert_eq!(y, [-1.0, 1.0]);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn layer_norm(x: MatRef<'_>, y: MatMut<'_>, opts: &LayerNormOptions<'_>) -> Result<(), Error> {
    check_layer_norm(&x, Some(&y), opts)?;
    let n = x.cols;
    for i in 0..x.rows {
        let z = |j: usize| -> f64 {
            let mut v = f64::from(*x.get(i, j).unwrap_or(&0.0));
            if let Some(b) = opts.bias {
                v += f64::from(b[j]);
            }
            if let Some(r) = &opts.residual {
                v += f64::from(*r.get(i, j).unwrap_or(&0.0));
            }
            v
        };
        let mean = (0..n).map(z).sum::<f64>() / n as f64;
        let var = (0..n).map(|j| (z(j) - mean) * (z(j) - mean)).sum::<f64>() / n as f64;
        let rstd = 1.0 / libm::sqrt(var + f64::from(opts.eps));
        for j in 0..n {
            let o = (z(j) - mean) * rstd * f64::from(opts.gamma[j]) + f64::from(opts.beta[j]);
            // SAFETY: check_layer_norm proved (i, j) inside y, y disjoint from every input.
            unsafe { *y.ptr.add(i * y.rs + j * y.cs) = o as f32 };
        }
    }
    Ok(())
}

/// `x ← act(x + bias)` in place, in `f64` per element, rounded once. Validates exactly as
/// [`norm::bias_act`](crate::norm::bias_act).
///
/// ```
/// use huiyan_kernels::{reference, norm::Activation, MatMut};
/// let mut x = [1.0f32, -1.0];
/// reference::bias_act(MatMut::row_major(&mut x, 1, 2), Some(&[1.0, 1.0]), Activation::Identity)?;
/// assert_eq!(x, [2.0, 0.0]);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn bias_act(x: MatMut<'_>, bias: Option<&[f32]>, act: Activation) -> Result<(), Error> {
    check_bias_act(&x, bias)?;
    for i in 0..x.rows {
        for j in 0..x.cols {
            // SAFETY: check_bias_act proved (i, j) inside x, x disjoint from the bias.
            let e = unsafe { &mut *x.ptr.add(i * x.rs + j * x.cs) };
            let v = f64::from(*e) + bias.map_or(0.0, |b| f64::from(b[j]));
            *e = match act {
                Activation::Identity => v,
                Activation::Gelu => gelu(v),
            } as f32;
        }
    }
    Ok(())
}
