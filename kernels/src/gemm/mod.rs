//! Cache-blocked f32 matrix multiplication.
//!
//! # Contract
//!
//! `C ← α·A·B + β·C` with `A` `m × k`, `B` `k × n`, `C` `m × n`, each a strided view
//! ([`MatRef`](crate::MatRef) / [`MatMut`](crate::MatMut)); a transpose is a swap of strides.
//!
//! * α and β have their BLAS meaning. **β = 0 never reads `C`**: `C` may hold NaN or garbage and
//!   is overwritten with `α·A·B`.
//! * Zero dimensions are a no-op as in BLAS: `m = 0` or `n = 0` writes nothing; `k = 0` gives
//!   `C ← β·C` (`C ← 0` when β = 0).
//! * `C` must not overlap `A` or `B`, and its strides must map distinct elements to distinct
//!   addresses; both are checked ([`Error::Overlap`](crate::Error::Overlap),
//!   [`Error::AliasingStrides`](crate::Error::AliasingStrides)).
//! * NaN and ±∞ in `A`, `B` (and `C` when β ≠ 0) propagate as IEEE arithmetic says.
//! * Each element of `C` is accumulated over `k` in a fixed order that depends only on the ISA
//!   tier and `k`, never on the thread count or on where the element sits in `C`.

#[cfg(target_arch = "aarch64")]
use crate::isa::Neon;
use crate::isa::{Portable, Scalar};
#[cfg(target_arch = "x86_64")]
use crate::isa::{X86V3, X86V4};

/// The gemm entry of one ISA tier (filled in by the gemm kernels).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmKernel;

impl GemmKernel {
    pub(crate) fn scalar() -> Self {
        let _ = Scalar;
        GemmKernel
    }
    pub(crate) fn portable() -> Self {
        let _ = Portable;
        GemmKernel
    }
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn x86_v3(_t: X86V3) -> Self {
        GemmKernel
    }
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn x86_v4(_t: X86V4) -> Self {
        GemmKernel
    }
    #[cfg(target_arch = "aarch64")]
    pub(crate) fn neon(_t: Neon) -> Self {
        GemmKernel
    }
}
