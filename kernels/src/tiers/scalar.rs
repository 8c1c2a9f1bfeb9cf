//! The scalar tier: plain Rust, one lane; needs no CPU feature, so its entries are the generic
//! ones as they are.

use super::{entry, table, Entries, Tier};
use crate::gemm::scalar::UkrScalar4x4;
use crate::isa::{IsaId, Scalar};
use crate::kernels::Kernels;

impl Tier for Scalar {
    const ID: IsaId = IsaId::Scalar;
    type Ukr = UkrScalar4x4;
    fn ukr(self) -> UkrScalar4x4 {
        UkrScalar4x4(self)
    }
    unsafe fn new_unchecked() -> Self {
        Scalar
    }
}

/// The scalar tier's table.
pub(crate) fn kernels(t: Scalar) -> Kernels {
    table(
        t,
        Entries {
            gemm: entry::gemm::<Scalar>,
            softmax: entry::softmax::<Scalar>,
            exp: entry::exp::<Scalar>,
            attn_tile: entry::attn_tile::<Scalar>,
            attn_short: entry::attn_short::<Scalar>,
            attn_chunk: entry::attn_chunk::<Scalar>,
            layer_norm: entry::layer_norm::<Scalar>,
            epilogue: entry::epilogue::<Scalar>,
        },
    )
}
