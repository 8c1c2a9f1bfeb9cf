//! The NEON tier: aarch64 Advanced SIMD, 128-bit vectors, the 8 × 8 microkernel. Its entries are the generic ones compiled with
//! `#[target_feature(enable = "neon")]` ([`Neon::FEATURES`]), reachable only through
//! the table [`kernels`] builds from a `Neon` token.

use super::{entry, table, Entries, Tier};
use crate::attention::Call as AttnCall;
use crate::gemm::aarch64::neon::UkrNeon;
use crate::gemm::GemmArgs;
use crate::isa::{IsaId, Neon};
use crate::kernels::Kernels;
use crate::softmax::Call as SoftmaxCall;

impl Tier for Neon {
    const ID: IsaId = IsaId::Neon;
    type Ukr = UkrNeon;
    fn ukr(self) -> UkrNeon {
        UkrNeon(self)
    }
    unsafe fn new_unchecked() -> Self {
        // SAFETY: the caller's contract is this token's.
        unsafe { Neon::new_unchecked() }
    }
}

// In every entry below: the function is reachable only through the table `kernels` builds
// from a `Neon` token, so the CPU has the features; the rest is the entry type's contract,
// forwarded.

/// # Safety
/// As [`GemmEntry`](crate::gemm::GemmEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn gemm(args: &GemmArgs, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::gemm::<Neon>(args, ws) }
}

/// # Safety
/// As [`SoftmaxEntry`](crate::softmax::SoftmaxEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn softmax(c: &SoftmaxCall) {
    // SAFETY: see the note above the entries.
    unsafe { entry::softmax::<Neon>(c) }
}

/// # Safety
/// As [`ExpEntry`](crate::softmax::ExpEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn exp(x: *const f32, y: *mut f32, n: usize) {
    // SAFETY: see the note above the entries.
    unsafe { entry::exp::<Neon>(x, y, n) }
}

/// # Safety
/// As [`TileEntry`](crate::attention::TileEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn attn_tile(c: &AttnCall<'_>, task: usize, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::attn_tile::<Neon>(c, task, ws) }
}

/// # Safety
/// As [`TileEntry`](crate::attention::TileEntry) for the single-block path; the CPU has
/// [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn attn_short(c: &AttnCall<'_>, task: usize, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::attn_short::<Neon>(c, task, ws) }
}

/// # Safety
/// As [`ChunkEntry`](crate::attention::ChunkEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn attn_chunk(c: &AttnCall<'_>, task: usize, shared: *mut f32, ws: *mut f32) {
    // SAFETY: see the note above the entries.
    unsafe { entry::attn_chunk::<Neon>(c, task, shared, ws) }
}

/// # Safety
/// As [`LayerNormEntry`](crate::norm::LayerNormEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn layer_norm(c: &crate::norm::LnCall) {
    // SAFETY: see the note above the entries.
    unsafe { entry::layer_norm::<Neon>(c) }
}

/// # Safety
/// As [`EpilogueEntry`](crate::norm::EpilogueEntry); the CPU has [`Neon::FEATURES`].
#[target_feature(enable = "neon")]
unsafe fn epilogue(c: &crate::norm::EpiCall) {
    // SAFETY: see the note above the entries.
    unsafe { entry::epilogue::<Neon>(c) }
}

/// The NEON tier's table; the token proves the CPU has its features.
pub(crate) fn kernels(t: Neon) -> Kernels {
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
