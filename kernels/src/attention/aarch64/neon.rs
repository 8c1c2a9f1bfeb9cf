//! NEON attention entries: the generic tile and decode code compiled with NEON.

use crate::attention::tile::{self, AttnIsa, Call};
use crate::attention::{decode, AttentionKernel};
use crate::gemm::aarch64::neon::UkrNeon;
use crate::isa::Neon;

impl AttnIsa for Neon {
    type Ukr = UkrNeon;
    type Simd = Neon;
    const HW_FMA: bool = true;
    fn ukr(self) -> UkrNeon {
        UkrNeon(self)
    }
    fn simd(self) -> Neon {
        self
    }
}

/// # Safety
///
/// As [`tile::run_task`]; the CPU supports NEON.
#[target_feature(enable = "neon")]
unsafe fn tile_entry(c: &Call<'_>, task: usize, ws: *mut f32) {
    // SAFETY: reachable only through an AttentionKernel built from a Neon token (`kernel`).
    unsafe { tile::run_task(Neon::new_unchecked(), c, task, ws) }
}

/// # Safety
///
/// As [`decode::run_chunk`]; the CPU supports NEON.
#[target_feature(enable = "neon")]
unsafe fn chunk_entry(c: &Call<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: as in `tile_entry`.
    unsafe { decode::run_chunk(Neon::new_unchecked(), c, task, shared, ws) }
}

pub(crate) fn kernel(_t: Neon) -> AttentionKernel {
    AttentionKernel {
        tile: tile_entry,
        chunk: chunk_entry,
        tile_ws: tile::workspace_len::<UkrNeon>,
        qchunk: tile::QBLOCKS * tile::blocks::<UkrNeon>().0,
    }
}
