//! Validation of matrix multiplication.

use super::common::{check_disjoint, check_mat_mut, check_mat_ref, Span};
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
pub fn check_gemm<TA, TB, TC>(
    a: &MatRef<'_, TA>,
    b: &MatRef<'_, TB>,
    c: &MatMut<'_, TC>,
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

/// Validates `C ← α·A·B + β·C + bias`: the shapes and views as [`check_gemm`], and the bias,
/// when given: exactly `n` elements ([`Error::SliceTooShort`] naming [`Operand::Bias`]; a
/// longer one is as wrong as a shorter one, it almost always means a wrong shape), not
/// overlapping C. Returns `(m, n, k)`. Every bias-taking matmul entry, the reference included,
/// calls it.
///
/// ```
/// use huiyan_kernels::{shape::check_gemm_bias, Error, MatMut, MatRef, Operand};
/// let (a, b) = ([0.0f32; 6], [0.0f32; 12]);
/// let mut c = [0.0f32; 8];
/// let (av, bv) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 4));
/// let cv = MatMut::row_major(&mut c, 2, 4);
/// assert_eq!(check_gemm_bias(&av, &bv, &cv, Some(&[0.0; 4])), Ok((2, 4, 3)));
/// let err = check_gemm_bias(&av, &bv, &cv, Some(&[0.0; 5]));
/// assert_eq!(err, Err(Error::SliceTooShort { operand: Operand::Bias, needed: 4, got: 5 }));
/// ```
pub fn check_gemm_bias<TA, TB, TC>(
    a: &MatRef<'_, TA>,
    b: &MatRef<'_, TB>,
    c: &MatMut<'_, TC>,
    bias: Option<&[f32]>,
) -> Result<(usize, usize, usize), Error> {
    let (m, n, k) = check_gemm(a, b, c)?;
    check_bias(bias, n, check_mat_mut(Operand::C, c)?)?;
    Ok((m, n, k))
}

/// Validates `C ← α·A·B + β·C + bias` with B prepacked: `(k, n)` is the packed shape and
/// `packed` the span of its panels (already checked against their storage by the caller, which
/// also checks the kernel table). A is `m × k` and C `m × n` ([`Error::DimMismatch`]), each
/// view covers its shape, C is injective and overlaps neither A, the panels nor the bias, which
/// has exactly `n` elements. Returns `(m, n, k)`.
pub(crate) fn check_gemm_packed<TA, TC>(
    a: &MatRef<'_, TA>,
    (k, n): (usize, usize),
    packed: Span,
    c: &MatMut<'_, TC>,
    bias: Option<&[f32]>,
) -> Result<(usize, usize, usize), Error> {
    let m = a.rows;
    for (dim, expected, got) in [
        (Dim::K, a.cols, k),
        (Dim::M, m, c.rows),
        (Dim::N, n, c.cols),
    ] {
        if expected != got {
            return Err(Error::DimMismatch { dim, expected, got });
        }
    }
    let sa = check_mat_ref(Operand::A, a)?;
    let sc = check_mat_mut(Operand::C, c)?;
    check_disjoint(Operand::C, sc, Operand::A, sa)?;
    check_disjoint(Operand::C, sc, Operand::PackedB, packed)?;
    check_bias(bias, n, sc)?;
    Ok((m, n, k))
}

/// A bias of exactly `n` elements, not overlapping C's span `sc`: the row vector broadcast
/// over the rows of C.
fn check_bias(bias: Option<&[f32]>, n: usize, sc: Span) -> Result<(), Error> {
    let Some(bias) = bias else {
        return Ok(());
    };
    if bias.len() != n {
        return Err(Error::SliceTooShort {
            operand: Operand::Bias,
            needed: n,
            got: bias.len(),
        });
    }
    let sb = check_mat_ref(Operand::Bias, &MatRef::row_major(bias, 1, n))?;
    check_disjoint(Operand::C, sc, Operand::Bias, sb)
}
