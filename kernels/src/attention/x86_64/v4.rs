//! x86-64-v4 (AVX-512) attention entries.

use crate::attention::tile::{self, AttnIsa, Call};
use crate::attention::{decode, AttentionKernel};
use crate::gemm::x86_64::v4::UkrX86V4;
use crate::isa::X86V4;

impl AttnIsa for X86V4 {
    type Ukr = UkrX86V4;
    type Simd = X86V4;
    const HW_FMA: bool = true;
    fn ukr(self) -> UkrX86V4 {
        UkrX86V4(self)
    }
    fn simd(self) -> X86V4 {
        self
    }
}

/// # Safety
///
/// As [`tile::run_task`]; the CPU supports x86-64-v4 (AVX-512).
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn tile_entry(c: &Call<'_>, task: usize, ws: *mut f32) {
    // SAFETY: reachable only through an AttentionKernel built from a X86V4 token (`kernel`),
    // so the features are present; the rest is the caller's contract.
    unsafe { tile::run_task(X86V4::new_unchecked(), c, task, ws) }
}

/// # Safety
///
/// As [`decode::run_chunk`]; the CPU supports x86-64-v4 (AVX-512).
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn chunk_entry(c: &Call<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: as in `tile_entry`.
    unsafe { decode::run_chunk(X86V4::new_unchecked(), c, task, shared, ws) }
}

pub(crate) fn kernel(_t: X86V4) -> AttentionKernel {
    AttentionKernel {
        tile: tile_entry,
        chunk: chunk_entry,
        tile_ws: tile::workspace_len::<UkrX86V4>,
        qchunk: tile::QBLOCKS * tile::blocks::<UkrX86V4>().0,
    }
}
