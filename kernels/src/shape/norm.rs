//! Validation of the norm operations: LayerNorm and the bias(+activation) epilogue.

use super::common::{check_disjoint, check_mat_mut, check_mat_ref, Span};
use crate::error::{Dim, Error, Operand};
use crate::options::LayerNormOptions;
use crate::view::{MatMut, MatRef};

/// Validates a LayerNorm call: `x` (and `y`, out of place) with unit column stride and
/// `cols ≥ 1`, `y` the shape of `x`, `gamma`, `beta` and `bias` of `cols` entries, `residual`
/// the shape of `x` with unit column stride, `eps` finite and positive; the output overlaps
/// no input (in place, `y = None`: `x` overlaps none of the others).
///
/// ```
/// use huiyan_kernels::norm::{check_layer_norm, LayerNormOptions};
/// use huiyan_kernels::{Dim, Error, MatRef, Operand};
/// let x = [0.0f32; 6];
/// let (g, b) = ([1.0f32; 3], [0.0f32; 2]);
/// let opts = LayerNormOptions { gamma: &g, beta: &b, bias: None, residual: None, eps: 1e-5 };
/// let e = check_layer_norm(&MatRef::row_major(&x, 2, 3), None, &opts);
/// assert_eq!(e, Err(Error::DimMismatch { dim: Dim::Cols, expected: 3, got: 2 }));
/// let opts = LayerNormOptions { beta: &g, eps: 0.0, ..opts };
/// let e = check_layer_norm(&MatRef::row_major(&x, 2, 3), None, &opts);
/// assert_eq!(e, Err(Error::InvalidEpsilon { eps: 0.0 }));
/// ```
pub fn check_layer_norm(
    x: &MatRef<'_>,
    y: Option<&MatMut<'_>>,
    opts: &LayerNormOptions<'_>,
) -> Result<(), Error> {
    let xs = unit_rows(Operand::X, check_mat_ref(Operand::X, x)?, x.cs, x.cols)?;
    if x.cols == 0 {
        return Err(Error::ZeroDim { dim: Dim::Cols });
    }
    let n = x.cols;
    let mut inputs = [(Operand::X, xs); 5];
    let mut k = 1;
    for (op, v) in [
        (Operand::Gamma, Some(opts.gamma)),
        (Operand::Beta, Some(opts.beta)),
    ]
    .into_iter()
    .chain([(Operand::Bias, opts.bias)])
    {
        if let Some(v) = v {
            inputs[k] = (op, vector(op, v, n)?);
            k += 1;
        }
    }
    if let Some(r) = &opts.residual {
        same_shape(r.rows, r.cols, x)?;
        let rs = unit_rows(
            Operand::Residual,
            check_mat_ref(Operand::Residual, r)?,
            r.cs,
            r.cols,
        )?;
        inputs[k] = (Operand::Residual, rs);
        k += 1;
    }
    if !(opts.eps.is_finite() && opts.eps > 0.0) {
        return Err(Error::InvalidEpsilon { eps: opts.eps });
    }
    let (out_op, out, from) = match y {
        Some(y) => {
            same_shape(y.rows, y.cols, x)?;
            let ys = unit_rows(Operand::Y, check_mat_mut(Operand::Y, y)?, y.cs, y.cols)?;
            (Operand::Y, ys, 0)
        }
        // In place: x is the output; it may not overlap the other inputs.
        None => (Operand::X, xs, 1),
    };
    for &(op, span) in &inputs[from..k] {
        check_disjoint(out_op, out, op, span)?;
    }
    Ok(())
}

/// Validates a bias epilogue: `x` with unit column stride (and no aliasing), `bias` of `cols`
/// entries, not overlapping `x`.
///
/// ```
/// use huiyan_kernels::norm::check_bias_act;
/// use huiyan_kernels::{Error, MatMut, Operand};
/// let mut x = [0.0f32; 6];
/// let strided = MatMut::new(&mut x, 2, 3, 1, 2);
/// assert_eq!(check_bias_act(&strided, None),
///            Err(Error::NonUnitStride { operand: Operand::X, stride: 2 }));
/// ```
pub fn check_bias_act(x: &MatMut<'_>, bias: Option<&[f32]>) -> Result<(), Error> {
    let xs = unit_rows(Operand::X, check_mat_mut(Operand::X, x)?, x.cs, x.cols)?;
    if let Some(b) = bias {
        let bs = vector(Operand::Bias, b, x.cols)?;
        check_disjoint(Operand::X, xs, Operand::Bias, bs)?;
    }
    Ok(())
}

/// A view's span after checking its column stride is 1 (irrelevant for one column or none).
fn unit_rows(op: Operand, span: Span, cs: usize, cols: usize) -> Result<Span, Error> {
    if cs != 1 && cols > 1 {
        return Err(Error::NonUnitStride {
            operand: op,
            stride: cs,
        });
    }
    Ok(span)
}

/// A per-column vector of exactly `n` entries; its span.
fn vector(op: Operand, v: &[f32], n: usize) -> Result<Span, Error> {
    if v.len() != n {
        return Err(Error::DimMismatch {
            dim: Dim::Cols,
            expected: n,
            got: v.len(),
        });
    }
    check_mat_ref(op, &MatRef::row_major(v, 1, n))
}

/// `rows × cols` equal to those of `x`.
fn same_shape(rows: usize, cols: usize, x: &MatRef<'_>) -> Result<(), Error> {
    if rows != x.rows {
        return Err(Error::DimMismatch {
            dim: Dim::Rows,
            expected: x.rows,
            got: rows,
        });
    }
    if cols != x.cols {
        return Err(Error::DimMismatch {
            dim: Dim::Cols,
            expected: x.cols,
            got: cols,
        });
    }
    Ok(())
}
