//! Validation of the row softmax and of the element-wise `exp`.

use super::common::{
    check_broadcast, check_disjoint, check_finite_nonzero_scale, check_mat_mut, check_mat_ref,
    check_slice_len, no_self_alias,
};
use crate::error::{Dim, Error, Operand};
use crate::options::SoftmaxOptions;
use crate::view::{MatMut, MatRef};

fn unit_last_axis(op: Operand, len_last: usize, stride_last: usize) -> Result<(), Error> {
    if len_last > 1 && stride_last != 1 {
        Err(Error::NonUnitStride {
            operand: op,
            stride: stride_last,
        })
    } else {
        Ok(())
    }
}

/// Validates a row softmax of `x` (`rows × cols`) into `y` (`None`: in place in `x`'s memory,
/// passed as `x_out`), with its options and optional per-row logsumexp output.
///
/// Rows must be contiguous (unit column stride) in `x`, `y`, the mask and the bias; the mask and
/// bias broadcast (`1` or the full size on each axis); `scale` is finite and non-zero; `lse` has
/// at least `rows` elements.
///
/// ```
/// use huiyan_kernels::{shape::check_softmax, softmax::SoftmaxOptions, Error, MatMut, MatRef};
/// let x = [0.0f32; 6];
/// let mut y = [0.0f32; 6];
/// let opts = SoftmaxOptions::default();
/// let ok = check_softmax(&MatRef::row_major(&x, 2, 3), Some(&MatMut::row_major(&mut y, 2, 3)), &opts, None);
/// assert_eq!(ok, Ok((2, 3)));
/// let zero = SoftmaxOptions { scale: 0.0, ..opts };
/// let err = check_softmax(&MatRef::row_major(&x, 2, 3), None, &zero, None);
/// assert_eq!(err, Err(Error::InvalidScale { scale: 0.0 }));
/// ```
pub fn check_softmax<T>(
    x: &MatRef<'_, T>,
    y: Option<&MatMut<'_>>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&[f32]>,
) -> Result<(usize, usize), Error> {
    let (rows, cols) = (x.rows, x.cols);
    let out_op = if y.is_some() { Operand::Y } else { Operand::X };
    let sx = check_mat_ref(Operand::X, x)?;
    unit_last_axis(Operand::X, cols, x.cs)?;
    let mut sy = sx;
    if let Some(y) = y {
        if y.rows != rows {
            return Err(Error::DimMismatch {
                dim: Dim::Rows,
                expected: rows,
                got: y.rows,
            });
        }
        if y.cols != cols {
            return Err(Error::DimMismatch {
                dim: Dim::Cols,
                expected: cols,
                got: y.cols,
            });
        }
        sy = check_mat_mut(Operand::Y, y)?;
        unit_last_axis(Operand::Y, cols, y.cs)?;
        check_disjoint(Operand::Y, sy, Operand::X, sx)?;
    } else {
        // In place: x is also the output, so it must not alias itself.
        no_self_alias(Operand::X, &[rows, cols], &[x.rs, x.cs])?;
    }
    check_finite_nonzero_scale(opts.scale)?;
    if let Some(m) = &opts.mask {
        check_broadcast::<bool>(Operand::Mask, &[m.rows, m.cols], &[rows, cols])?;
        let sm = check_mat_ref(Operand::Mask, m)?;
        unit_last_axis(Operand::Mask, m.cols, m.cs)?;
        check_disjoint(out_op, sy, Operand::Mask, sm)?;
    }
    if let Some(b) = &opts.bias {
        check_broadcast::<f32>(Operand::Bias, &[b.rows, b.cols], &[rows, cols])?;
        let sb = check_mat_ref(Operand::Bias, b)?;
        unit_last_axis(Operand::Bias, b.cols, b.cs)?;
        check_disjoint(out_op, sy, Operand::Bias, sb)?;
    }
    if let Some(l) = lse {
        let sl = check_slice_len(Operand::Lse, l, rows)?;
        check_disjoint(Operand::Lse, sl, Operand::X, sx)?;
        check_disjoint(Operand::Lse, sl, out_op, sy)?;
    }
    Ok((rows, cols))
}

/// Validates an element-wise vector call (`exp`): the output has as many elements as the input.
/// (`&[f32]` and `&mut [f32]` cannot overlap, so no address check is needed.)
///
/// ```
/// use huiyan_kernels::{shape::check_exp, Error};
/// assert!(check_exp(&[0.0; 3], &[0.0; 3]).is_ok());
/// assert!(matches!(check_exp(&[0.0; 3], &[0.0; 2]), Err(Error::DimMismatch { .. })));
/// ```
pub fn check_exp(x: &[f32], y: &[f32]) -> Result<(), Error> {
    if y.len() != x.len() {
        return Err(Error::DimMismatch {
            dim: Dim::Cols,
            expected: x.len(),
            got: y.len(),
        });
    }
    Ok(())
}
