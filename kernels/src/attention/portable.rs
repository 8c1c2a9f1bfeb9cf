//! Attention entries for the scalar and portable (`wide`) tiers: the generic tile and decode
//! code bound to those tiers' microkernels and vector ops. No intrinsics here: both tiers are
//! plain (or `wide`) Rust compiled for the build's own target features.

use super::tile::{self, AttnIsa, Call};
use super::{decode, AttentionKernel};
use crate::gemm::portable::UkrPortable8x6;
use crate::gemm::scalar::UkrScalar4x4;
use crate::isa::{Portable, Scalar};

impl AttnIsa for Scalar {
    type Ukr = UkrScalar4x4;
    type Simd = Scalar;
    fn ukr(self) -> UkrScalar4x4 {
        UkrScalar4x4(self)
    }
    fn simd(self) -> Scalar {
        self
    }
}

impl AttnIsa for Portable {
    type Ukr = UkrPortable8x6;
    type Simd = Portable;
    /// `wide`'s `mul_add` is fused only with these compile-time features (as `softmax::portable`).
    const HW_FMA: bool = cfg!(any(
        all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "fma"
        ),
        all(target_arch = "aarch64", target_feature = "neon")
    ));
    fn ukr(self) -> UkrPortable8x6 {
        UkrPortable8x6(self)
    }
    fn simd(self) -> Portable {
        self
    }
}

/// # Safety
///
/// As [`tile::run_task`] (no CPU features needed).
unsafe fn tile_scalar(c: &Call<'_>, task: usize, ws: *mut f32) {
    // SAFETY: the caller's contract is run_task's.
    unsafe { tile::run_task(Scalar, c, task, ws) }
}

/// # Safety
///
/// As [`decode::run_chunk`] (no CPU features needed).
unsafe fn chunk_scalar(c: &Call<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: the caller's contract is run_chunk's.
    unsafe { decode::run_chunk(Scalar, c, task, shared, ws) }
}

/// # Safety
///
/// As [`tile::run_task`]; `wide` uses only compile-time target features.
unsafe fn tile_portable(c: &Call<'_>, task: usize, ws: *mut f32) {
    // SAFETY: the caller's contract is run_task's.
    unsafe { tile::run_task(Portable, c, task, ws) }
}

/// # Safety
///
/// As [`decode::run_chunk`].
unsafe fn chunk_portable(c: &Call<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: the caller's contract is run_chunk's.
    unsafe { decode::run_chunk(Portable, c, task, shared, ws) }
}

pub(crate) fn scalar_kernel(_t: Scalar) -> AttentionKernel {
    AttentionKernel {
        tile: tile_scalar,
        chunk: chunk_scalar,
        tile_ws: tile::workspace_len::<UkrScalar4x4>,
        qchunk: tile::QBLOCKS * tile::blocks::<UkrScalar4x4>().0,
    }
}

pub(crate) fn portable_kernel(_t: Portable) -> AttentionKernel {
    AttentionKernel {
        tile: tile_portable,
        chunk: chunk_portable,
        tile_ws: tile::workspace_len::<UkrPortable8x6>,
        qchunk: tile::QBLOCKS * tile::blocks::<UkrPortable8x6>().0,
    }
}
