//! The portable tier: `wide` vectors lowered for the build's compile-time target features; no
//! run-time feature, so its entries are the generic ones as they are.

use super::{entry, table, Entries, Tier};
use crate::gemm::portable::UkrPortable8x6;
use crate::isa::{IsaId, Portable};
use crate::kernels::Kernels;

impl Tier for Portable {
    const ID: IsaId = IsaId::Portable;
    type Ukr = UkrPortable8x6;
    fn ukr(self) -> UkrPortable8x6 {
        UkrPortable8x6(self)
    }
    unsafe fn new_unchecked() -> Self {
        Portable
    }
}

/// The portable tier's table.
pub(crate) fn kernels(t: Portable) -> Kernels {
    table(
        t,
        Entries {
            gemm: entry::gemm::<Portable>,
            softmax: entry::softmax::<Portable>,
            exp: entry::exp::<Portable>,
            attn_tile: entry::attn_tile::<Portable>,
            attn_short: entry::attn_short::<Portable>,
            attn_chunk: entry::attn_chunk::<Portable>,
            layer_norm: entry::layer_norm::<Portable>,
            epilogue: entry::epilogue::<Portable>,
        },
    )
}
