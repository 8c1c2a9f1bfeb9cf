//! Validation of the gemm entry points: a call with a bias, and a call with a prepacked B, into
//! a [`GemmArgs`] the loop nest can trust. Built on the shared checks of [`crate::shape`].

use super::args::{GemmArgs, Prepacked, Side};
use super::microkernel::Bias;
use super::packed::PackedB;
use crate::error::{Dim, Error, Operand};
use crate::kernels::Kernels;
use crate::shape::{check_disjoint, check_gemm, check_mat_mut, check_mat_ref, Span};
use crate::view::{MatMut, MatRef};

/// Validates `C ← α·A·B + β·C + bias`: the shapes and views as [`check_gemm`], and the bias,
/// when given: exactly `n` elements ([`Error::SliceTooShort`] naming [`Operand::Bias`]; a
/// longer one is as wrong as a shorter one, it almost always means a wrong shape), not
/// overlapping C. Returns `(m, n, k)`.
///
/// (Here beside the gemm entry points until the validation module is split; every bias-taking
/// matmul entry, the reference included, calls it.)
///
/// ```
/// use huiyan_kernels::{gemm::check_gemm_bias, Error, MatMut, MatRef, Operand};
/// let (a, b) = ([0.0f32; 6], [0.0f32; 12]);
/// let mut c = [0.0f32; 8];
/// let (av, bv) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 4));
/// assert_eq!(check_gemm_bias(&av, &bv, &MatMut::row_major(&mut c, 2, 4), Some(&[0.0; 4])), Ok((2, 4, 3)));
/// let err = check_gemm_bias(&av, &bv, &MatMut::row_major(&mut c, 2, 4), Some(&[0.0; 5]));
/// assert_eq!(err, Err(Error::SliceTooShort { operand: Operand::Bias, needed: 4, got: 5 }));
/// ```
pub fn check_gemm_bias(
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    c: &MatMut<'_>,
    bias: Option<&[f32]>,
) -> Result<(usize, usize, usize), Error> {
    let (m, n, k) = check_gemm(a, b, c)?;
    check_bias(bias, n, check_mat_mut(Operand::C, c)?)?;
    Ok((m, n, k))
}

/// [`check_gemm_bias`] into the raw form of the call.
pub(crate) fn validated(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
) -> Result<GemmArgs, Error> {
    let (m, n, k) = check_gemm(&a, &b, &c)?;
    let bias = check_bias(bias, n, check_mat_mut(Operand::C, &c)?)?;
    let args = raw((m, n, k), alpha, a, beta, c, bias);
    Ok(GemmArgs {
        b: b.ptr,
        rsb: b.rs,
        csb: b.cs,
        ..args
    })
}

/// The raw form of a validated call, with no B yet (`b` null: the caller sets B, or the
/// prepacked panels that stand for it).
fn raw(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    bias: Bias,
) -> GemmArgs {
    GemmArgs {
        m,
        n,
        k,
        alpha,
        beta,
        a: a.ptr,
        rsa: a.rs,
        csa: a.cs,
        b: core::ptr::null(),
        rsb: 0,
        csb: 0,
        c: c.ptr,
        rsc: c.rs,
        csc: c.cs,
        bias,
        packed: None,
    }
}

/// Validates `C ← α·A·B + β·C + bias` with B prepacked: `packed` was packed for `kernels`
/// ([`Error::PackedForOtherKernels`]), A is `m × k` and C `m × n` for the packed `k × n`
/// ([`Error::DimMismatch`]), each view covers its shape, C is injective and overlaps neither A,
/// the packed storage nor the bias, which has exactly `n` elements.
pub(crate) fn validated_packed<S: AsRef<[f32]>>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_>,
    packed: &PackedB<S>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
) -> Result<GemmArgs, Error> {
    if packed.isa != kernels.isa || packed.blocking != kernels.gemm.blocking {
        return Err(Error::PackedForOtherKernels {
            operand: Operand::PackedB,
            packed: packed.isa,
            kernels: kernels.isa,
        });
    }
    let (m, n, k) = (a.rows, packed.n, packed.k);
    for (dim, expected, got) in [
        (Dim::K, a.cols, k),
        (Dim::M, m, c.rows),
        (Dim::N, n, c.cols),
    ] {
        if expected != got {
            return Err(Error::DimMismatch { dim, expected, got });
        }
    }
    let sa = check_mat_ref(Operand::A, &a)?;
    let sc = check_mat_mut(Operand::C, &c)?;
    check_disjoint(Operand::C, sc, Operand::A, sa)?;
    let (panels, sp) = packed.panels()?;
    check_disjoint(Operand::C, sc, Operand::PackedB, sp)?;
    let bias = check_bias(bias, n, sc)?;
    Ok(GemmArgs {
        packed: Some(Prepacked {
            side: Side::B,
            ptr: panels,
            ld: packed.npad(),
            first: 0,
        }),
        ..raw((m, n, k), alpha, a, beta, c, bias)
    })
}

/// A bias of exactly `n` elements, not overlapping C's span `sc`: the row vector broadcast
/// over the rows of C.
fn check_bias(bias: Option<&[f32]>, n: usize, sc: Span) -> Result<Bias, Error> {
    let Some(bias) = bias else {
        return Ok(Bias::NONE);
    };
    if bias.len() != n {
        return Err(Error::SliceTooShort {
            operand: Operand::Bias,
            needed: n,
            got: bias.len(),
        });
    }
    let sb = check_mat_ref(Operand::Bias, &MatRef::row_major(bias, 1, n))?;
    check_disjoint(Operand::C, sc, Operand::Bias, sb)?;
    Ok(Bias {
        ptr: bias.as_ptr(),
        rs: 0,
        cs: 1,
    })
}
