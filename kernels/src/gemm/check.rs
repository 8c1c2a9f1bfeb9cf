//! The gemm entry points' calls in raw form: validated by [`crate::shape`] (a prepacked B's
//! kernel table and storage checked here first, as only this module sees its fields), then
//! turned into a [`GemmArgs`] the loop nest can trust.

use super::args::{GemmArgs, Prepacked, Side};
use super::microkernel::Bias;
use super::packed::PackedB;
use crate::elem::{ElemPtr, Element};
use crate::error::{Error, Operand};
use crate::kernels::Kernels;
use crate::shape::{check_gemm_bias, check_gemm_packed};
use crate::view::{MatMut, MatRef};

/// [`check_gemm_bias`] into the raw form of the call.
pub(crate) fn validated<TA: Element, TB: Element>(
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
) -> Result<GemmArgs, Error> {
    let dims = check_gemm_bias(&a, &b, &c, bias)?;
    let args = raw(dims, alpha, a, beta, c, bias);
    Ok(GemmArgs {
        b: ElemPtr::new(b.ptr),
        rsb: b.rs,
        csb: b.cs,
        ..args
    })
}

/// The raw form of a validated call, with no B yet (`b` null: the caller sets B, or the
/// prepacked panels that stand for it).
fn raw<TA: Element>(
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: MatRef<'_, TA>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
) -> GemmArgs {
    let bias = match bias {
        Some(b) => Bias {
            ptr: b.as_ptr(),
            rs: 0,
            cs: 1,
        },
        None => Bias::NONE,
    };
    GemmArgs {
        m,
        n,
        k,
        alpha,
        beta,
        a: ElemPtr::new(a.ptr),
        rsa: a.rs,
        csa: a.cs,
        b: ElemPtr::NULL,
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
/// ([`Error::PackedForOtherKernels`]), its storage still holds its panels, and the rest as
/// [`check_gemm_packed`].
pub(crate) fn validated_packed<TA: Element, S: AsRef<[f32]>>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_, TA>,
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
    let (panels, sp) = packed.panels()?;
    let dims = check_gemm_packed(&a, (packed.k, packed.n), sp, &c, bias)?;
    Ok(GemmArgs {
        packed: Some(Prepacked {
            side: Side::B,
            ptr: panels,
            ld: packed.npad(),
            first: 0,
        }),
        ..raw(dims, alpha, a, beta, c, bias)
    })
}
