//! [`convert`] and [`convert4`]: a strided matrix or 4-d tensor copied into another element
//! type — widened exactly, or narrowed with one rounding to nearest even — as the
//! half-precision inputs and outputs of the std API need.

use crate::elem::Element;
use crate::error::{Dim, Error, Operand};
use crate::shape::{check_disjoint, check_mat_mut, check_mat_ref, check_t4_mut, check_t4_ref};
use crate::view::{MatMut, MatRef, Tensor4Mut, Tensor4Ref};

/// `dst ← src`, element by element, each value converted to `D`: exactly when `D` holds every
/// value of `S` (any type to `f32`, a type to itself), otherwise rounded once to nearest even
/// (values beyond `D`'s range become ±∞; NaN stays NaN).
///
/// Both views may have any strides. Errors, with `dst` untouched: shapes that differ
/// ([`Error::DimMismatch`] on [`Dim::Rows`] or [`Dim::Cols`]), a view shorter than its shape,
/// `dst` aliasing itself or overlapping `src`. Never allocates, never panics.
///
/// ```
/// use huiyan_kernels::{convert::convert, elem::bf16, MatMut, MatRef};
/// let x = [1.0f32, 1.0 / 3.0, 70000.0, -0.0];
/// let mut h = [bf16::ZERO; 4];
/// convert(MatRef::row_major(&x, 2, 2), MatMut::row_major(&mut h, 2, 2))?;
/// assert_eq!(h[1], bf16::from_f32(1.0 / 3.0)); // rounded once, to nearest even
/// let mut back = [0.0f32; 4];
/// convert(MatRef::row_major(&h, 2, 2).t(), MatMut::row_major(&mut back, 2, 2))?;
/// assert_eq!(back[0], 1.0);
/// assert_eq!(back[1], 70144.0); // the transpose of h, widened exactly
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn convert<S: Element, D: Element>(
    src: MatRef<'_, S>,
    dst: MatMut<'_, D>,
) -> Result<(), Error> {
    for (dim, expected, got) in [
        (Dim::Rows, src.rows, dst.rows),
        (Dim::Cols, src.cols, dst.cols),
    ] {
        if expected != got {
            return Err(Error::DimMismatch { dim, expected, got });
        }
    }
    let ss = check_mat_ref(Operand::X, &src)?;
    let sd = check_mat_mut(Operand::Y, &dst)?;
    check_disjoint(Operand::Y, sd, Operand::X, ss)?;
    for i in 0..src.rows {
        for j in 0..src.cols {
            // SAFETY: (i, j) lies inside both validated views; `dst` is an exclusive borrow
            // (or a raw view whose contract forbids other writers) that does not overlap
            // `src` and whose strides map distinct elements to distinct addresses.
            unsafe {
                let x = *src.ptr.add(i * src.rs + j * src.cs);
                *dst.ptr.add(i * dst.rs + j * dst.cs) = D::narrow(x.widen());
            }
        }
    }
    Ok(())
}

/// [`convert`] for 4-d views (`[B, H, L, D]`, any strides): `dst ← src` converted to `D`.
/// Shapes that differ are [`Error::DimMismatch`] on [`Dim::Batch`], [`Dim::HeadsQ`],
/// [`Dim::LenQ`] or [`Dim::Cols`] (the axes in order); otherwise as [`convert`].
///
/// ```
/// use huiyan_kernels::{convert::convert4, elem::f16, Tensor4Mut, Tensor4Ref};
/// let x: Vec<f32> = (0..8).map(|i| i as f32 / 3.0).collect();
/// let mut h = [f16::ZERO; 8];
/// convert4(Tensor4Ref::bhsd(&x, [1, 2, 2, 2]), Tensor4Mut::bshd(&mut h, [1, 2, 2, 2]))?;
/// assert_eq!(h[2], f16::from_f32(x[4])); // [b, h, s, d] = [0, 1, 0, 0], stored as BSHD
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn convert4<S: Element, D: Element>(
    src: Tensor4Ref<'_, S>,
    dst: Tensor4Mut<'_, D>,
) -> Result<(), Error> {
    let axes = [Dim::Batch, Dim::HeadsQ, Dim::LenQ, Dim::Cols];
    for (ax, dim) in axes.into_iter().enumerate() {
        if src.dims[ax] != dst.dims[ax] {
            return Err(Error::DimMismatch {
                dim,
                expected: src.dims[ax],
                got: dst.dims[ax],
            });
        }
    }
    let ss = check_t4_ref(Operand::X, &src)?;
    let sd = check_t4_mut(Operand::Y, &dst)?;
    check_disjoint(Operand::Y, sd, Operand::X, ss)?;
    let [d0, d1, d2, d3] = src.dims;
    let (s, t) = (src.strides, dst.strides);
    for a in 0..d0 {
        for b in 0..d1 {
            for c in 0..d2 {
                for e in 0..d3 {
                    // SAFETY: the index lies inside both validated views; `dst` is exclusive,
                    // injective and disjoint from `src` (checked).
                    unsafe {
                        let x = *src.ptr.add(a * s[0] + b * s[1] + c * s[2] + e * s[3]);
                        *dst.ptr.add(a * t[0] + b * t[1] + c * t[2] + e * t[3]) =
                            D::narrow(x.widen());
                    }
                }
            }
        }
    }
    Ok(())
}
