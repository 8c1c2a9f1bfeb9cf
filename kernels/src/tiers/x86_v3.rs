//! The x86-64-v3 tier: AVX2 + FMA, 256-bit vectors, the 16 × 6 microkernel. Its entries are the generic ones compiled with
//! `#[target_feature(enable = "avx2,fma,f16c")]` ([`X86V3::FEATURES`]), reachable only through
//! the table [`kernels`] builds from a `X86V3` token.

use super::{entry, table, Entries, Tier};
use crate::attention::Call as AttnCall;
use crate::gemm::x86_64::v3::UkrX86V3;
use crate::gemm::GemmArgs;
use crate::isa::{IsaId, X86V3};
use crate::kernels::Kernels;
use crate::softmax::Call as SoftmaxCall;

impl Tier for X86V3 {
    const ID: IsaId = IsaId::X86V3;
    type Ukr = UkrX86V3;
    fn ukr(self) -> UkrX86V3 {
        UkrX86V3(self)
    }
    unsafe fn new_unchecked() -> Self {
        // SAFETY: the caller's contract is this token's.
        unsafe { X86V3::new_unchecked() }
    }
}

// In every entry below: the function is reachable only through the table `kernels` builds
// from a `X86V3` token, so the CPU has the features; the rest is the entry type's contract,
// forwarded.

/// # Safety
/// As [`GemmEntry`](crate::gemm::GemmEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm(args: &GemmArgs, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::gemm::<X86V3>(args, ws) }
}

/// # Safety
/// As [`SoftmaxEntry`](crate::softmax::SoftmaxEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn softmax(c: &SoftmaxCall) {
    // SAFETY: see the note above the entries.
    unsafe { entry::softmax::<X86V3>(c) }
}

/// # Safety
/// As [`ExpEntry`](crate::softmax::ExpEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn exp(x: *const f32, y: *mut f32, n: usize) {
    // SAFETY: see the note above the entries.
    unsafe { entry::exp::<X86V3>(x, y, n) }
}

/// # Safety
/// As [`TileEntry`](crate::attention::TileEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_tile(c: &AttnCall<'_>, task: usize, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::attn_tile::<X86V3>(c, task, ws) }
}

/// # Safety
/// As [`TileEntry`](crate::attention::TileEntry) for the single-block path; the CPU has
/// [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_short(c: &AttnCall<'_>, task: usize, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::attn_short::<X86V3>(c, task, ws) }
}

/// # Safety
/// As [`ChunkEntry`](crate::attention::ChunkEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_chunk(c: &AttnCall<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::attn_chunk::<X86V3>(c, task, shared, ws) }
}

/// # Safety
/// As [`LayerNormEntry`](crate::norm::LayerNormEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn layer_norm(c: &crate::norm::LnCall) {
    // SAFETY: see the note above the entries.
    unsafe { entry::layer_norm::<X86V3>(c) }
}

/// # Safety
/// As [`EpilogueEntry`](crate::norm::EpilogueEntry); the CPU has [`X86V3::FEATURES`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn epilogue(c: &crate::norm::EpiCall) {
    // SAFETY: see the note above the entries.
    unsafe { entry::epilogue::<X86V3>(c) }
}

/// The x86-64-v3 tier's table; the token proves the CPU has its features.
pub(crate) fn kernels(t: X86V3) -> Kernels {
    table(
        t,
        Entries {
            gemm,
            softmax,
            exp,
            attn_tile,
            attn_short,
            attn_chunk,
            layer_norm,
            epilogue,
        },
    )
}
