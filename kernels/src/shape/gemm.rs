//! Validation of matrix multiplication.

use super::common::{check_disjoint, check_mat_mut, check_mat_ref};
use crate::error::{Dim, Error, Operand};
use crate::view::{MatMut, MatRef};

/// Validates `C ← α·A·B + β·C`: `A` is `m × k`, `B` is `k × n`, `C` is `m × n`.
///
/// Returns `(m, n, k)`. Zero dimensions are allowed (BLAS semantics): `m = 0` or `n = 0` is a
/// no-op; `k = 0` gives `C ← β·C` (or `C ← 0` when `β = 0`).
///
/// ```
/// use huiyan_kernels::{shape::check_gemm, Dim, Error, MatMut, MatRef};
/// let (a, b) = ([0.0f32; 6], [0.0f32; 12]);
/// let mut c = [0.0f32; 8];
/// let (av, bv) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 4));
/// assert_eq!(check_gemm(&av, &bv, &MatMut::row_major(&mut c, 2, 4)), Ok((2, 4, 3)));
/// let bad = MatRef::row_major(&b, 4, 3); // inner dimension 4 ≠ 3
/// let err = check_gemm(&av, &bad, &MatMut::row_major(&mut c, 2, 3));
/// assert_eq!(err, Err(Error::DimMismatch { dim: Dim::K, expected: 3, got: 4 }));
/// ```
pub fn check_gemm(
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    c: &MatMut<'_>,
) -> Result<(usize, usize, usize), Error> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(Error::DimMismatch {
            dim: Dim::K,
            expected: k,
            got: b.rows,
        });
    }
    if c.rows != m {
        return Err(Error::DimMismatch {
            dim: Dim::M,
            expected: m,
            got: c.rows,
        });
    }
    if c.cols != n {
        return Err(Error::DimMismatch {
            dim: Dim::N,
            expected: n,
            got: c.cols,
        });
    }
    let sa = check_mat_ref(Operand::A, a)?;
    let sb = check_mat_ref(Operand::B, b)?;
    let sc = check_mat_mut(Operand::C, c)?;
    check_disjoint(Operand::C, sc, Operand::A, sa)?;
    check_disjoint(Operand::C, sc, Operand::B, sb)?;
    Ok((m, n, k))
}
