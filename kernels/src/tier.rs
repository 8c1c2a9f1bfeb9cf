//! [`Tier`]: what an ISA tier is to the generic code — a token that is its vector layer
//! ([`SimdF32`]) and names its gemm [`Microkernel`]. The gemm loop nest, every softmax row
//! path and the attention drivers are generic over it; `tiers/` binds each tier to its target
//! features. A file of its own, below both the kernels that use it and the wiring that
//! instantiates them.

use crate::gemm::microkernel::Microkernel;
use crate::isa::IsaId;
use crate::simd::SimdF32;

/// An ISA tier: its vector operations ([`SimdF32`], implemented on the token itself) and its
/// gemm microkernel. A value is the token: holding one proves the CPU has the tier's features.
pub(crate) trait Tier: SimdF32 {
    /// The tier's name and place in the dispatch order.
    const ID: IsaId;
    /// The gemm microkernel (also the attention tile driver's `QKᵀ` and `P·V` tiles).
    type Ukr: Microkernel;

    /// The microkernel value (a token in disguise).
    fn ukr(self) -> Self::Ukr;

    /// The token, without checking the CPU.
    ///
    /// # Safety
    ///
    /// The CPU running any code given the token has the tier's features.
    unsafe fn new_unchecked() -> Self;
}
