//! x86-64-v3 (AVX2 + FMA) attention entries.

use crate::attention::tile::{self, AttnIsa, Call};
use crate::attention::{decode, AttentionKernel};
use crate::gemm::x86_64::v3::UkrX86V3;
use crate::isa::X86V3;

impl AttnIsa for X86V3 {
    type Ukr = UkrX86V3;
    type Simd = X86V3;
    const HW_FMA: bool = true;
    fn ukr(self) -> UkrX86V3 {
        UkrX86V3(self)
    }
    fn simd(self) -> X86V3 {
        self
    }
}

/// # Safety
///
/// As [`tile::run_task`]; the CPU supports x86-64-v3 (AVX2 + FMA).
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_entry(c: &Call<'_>, task: usize, ws: *mut f32) {
    // SAFETY: reachable only through an AttentionKernel built from a X86V3 token (`kernel`),
    // so the features are present; the rest is the caller's contract.
    unsafe { tile::run_task(X86V3::new_unchecked(), c, task, ws) }
}

/// # Safety
///
/// As [`decode::run_chunk`]; the CPU supports x86-64-v3 (AVX2 + FMA).
#[target_feature(enable = "avx2,fma")]
unsafe fn chunk_entry(c: &Call<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: as in `tile_entry`.
    unsafe { decode::run_chunk(X86V3::new_unchecked(), c, task, shared, ws) }
}

pub(crate) fn kernel(_t: X86V3) -> AttentionKernel {
    AttentionKernel {
        tile: tile_entry,
        chunk: chunk_entry,
        tile_ws: tile::workspace_len::<UkrX86V3>,
        qchunk: tile::QBLOCKS * tile::blocks::<UkrX86V3>().0,
    }
}
