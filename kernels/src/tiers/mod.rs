//! The tiers' wiring: one file per tier, binding the generic operations to its target
//! features and building its [`Kernels`] table.
//!
//! A tier ([`Tier`], `tier.rs`) is an ISA token that implements the vector layer's `SimdF32`
//! and names its gemm microkernel. Everything else — the gemm loop nest, every softmax row
//! path, the attention tile and decode drivers — is generic over [`Tier`], and each tier's
//! wiring file (`scalar.rs`, `portable.rs`, `x86_v3.rs`, `x86_v4.rs`, `neon.rs`) does two
//! things only:
//!
//! 1. instantiates the generic entries of [`entry`] inside functions compiled with the tier's
//!    target features (`#[target_feature]`; the scalar and portable tiers need none and use
//!    the generic entries as they are), so every inlined loop gets the tier's instructions;
//! 2. builds the tier's [`Kernels`] table from those functions with [`table`].
//!
//! Adding a tier: its token and feature list (`isa.rs`), its `SimdF32` implementation
//! (`simd/<arch>/<tier>.rs`), its microkernel (`gemm/<arch>/<tier>.rs`), its wiring file here,
//! and its line in [`Kernels::new_unchecked`]. The README keeps the same checklist, and a test
//! of this module checks that every `#[target_feature]` list here is the token's `FEATURES`.

#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
pub(crate) mod portable;
pub(crate) mod scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) mod x86_v3;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) mod x86_v4;

use crate::attention::{AttentionKernel, ChunkEntry, TileEntry};
use crate::gemm::{Blocking, GemmEntry, GemmKernel};
#[cfg(test)]
use crate::isa::IsaId;
use crate::kernels::Kernels;
use crate::norm::{EpilogueEntry, LayerNormEntry, NormKernel};
use crate::softmax::{ExpEntry, SoftmaxEntry, SoftmaxKernel};
pub(crate) use crate::tier::Tier;

/// The whole-operation entries of every tier, generic: each runs one operation's loop nest on
/// tier `T`. `#[inline(always)]`, so a tier's `#[target_feature]` function that calls one gets
/// the whole operation compiled with its features.
pub(crate) mod entry {
    use super::Tier;
    use crate::attention::{decode, short, tile, Call as AttnCall};
    use crate::gemm::GemmArgs;
    use crate::softmax::Call as SoftmaxCall;

    /// The gemm loop nest (a [`GemmEntry`](crate::gemm::GemmEntry)).
    ///
    /// # Safety
    ///
    /// As [`GemmEntry`](crate::gemm::GemmEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn gemm<T: Tier>(args: &GemmArgs, ws: *mut f32) {
        // SAFETY: the caller's contract: the CPU has T's features, args and ws are valid.
        unsafe { crate::gemm::loops::gemm_nest(T::new_unchecked().ukr(), args, ws) }
    }

    /// Every row of a softmax call (a [`SoftmaxEntry`](crate::softmax::SoftmaxEntry)).
    ///
    /// # Safety
    ///
    /// As [`SoftmaxEntry`](crate::softmax::SoftmaxEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn softmax<T: Tier>(c: &SoftmaxCall) {
        // SAFETY: as for `gemm`.
        unsafe { crate::softmax::run(T::new_unchecked(), c) }
    }

    /// `y ← exp(x)` over `n` elements (an [`ExpEntry`](crate::softmax::ExpEntry)).
    ///
    /// # Safety
    ///
    /// As [`ExpEntry`](crate::softmax::ExpEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn exp<T: Tier>(x: *const f32, y: *mut f32, n: usize) {
        // SAFETY: as for `gemm`.
        unsafe { crate::simd::row::exp_slice(T::new_unchecked(), x, y, n) }
    }

    /// One attention tile task (a [`TileEntry`](crate::attention::TileEntry)).
    ///
    /// # Safety
    ///
    /// As [`TileEntry`](crate::attention::TileEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn attn_tile<T: Tier>(c: &AttnCall<'_>, task: usize, ws: *mut f32) {
        // SAFETY: as for `gemm`.
        unsafe { tile::run_task(T::new_unchecked(), c, task, ws) }
    }

    /// One single-block task (a [`TileEntry`](crate::attention::TileEntry) of the short path).
    ///
    /// # Safety
    ///
    /// As [`TileEntry`](crate::attention::TileEntry) for a call with `Lk ≤ short::MAX_KEYS`;
    /// the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn attn_short<T: Tier>(c: &AttnCall<'_>, task: usize, ws: *mut f32) {
        // SAFETY: as for `gemm`.
        unsafe { short::run_task(T::new_unchecked(), c, task, ws) }
    }

    /// One decode chunk task (a [`ChunkEntry`](crate::attention::ChunkEntry)).
    ///
    /// # Safety
    ///
    /// As [`ChunkEntry`](crate::attention::ChunkEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn attn_chunk<T: Tier>(
        c: &AttnCall<'_>,
        task: usize,
        shared: *mut f32,
        ws: *mut f32,
    ) {
        // SAFETY: as for `gemm`.
        unsafe { decode::run_chunk(T::new_unchecked(), c, task, shared, ws) }
    }

    /// Every row of a LayerNorm call (a [`LayerNormEntry`](crate::norm::LayerNormEntry)).
    ///
    /// # Safety
    ///
    /// As [`LayerNormEntry`](crate::norm::LayerNormEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn layer_norm<T: Tier>(c: &crate::norm::LnCall) {
        // SAFETY: as for `gemm`.
        unsafe { crate::norm::run_layer_norm(T::new_unchecked(), c) }
    }

    /// Every row of a bias epilogue (an [`EpilogueEntry`](crate::norm::EpilogueEntry)).
    ///
    /// # Safety
    ///
    /// As [`EpilogueEntry`](crate::norm::EpilogueEntry); the CPU has `T`'s features.
    #[inline(always)]
    pub(crate) unsafe fn epilogue<T: Tier>(c: &crate::norm::EpiCall) {
        // SAFETY: as for `gemm`.
        unsafe { crate::norm::run_epilogue(T::new_unchecked(), c) }
    }
}

/// A tier's entry functions, as its wiring file compiled them.
pub(crate) struct Entries {
    pub(crate) gemm: GemmEntry,
    pub(crate) softmax: SoftmaxEntry,
    pub(crate) exp: ExpEntry,
    pub(crate) attn_tile: TileEntry,
    pub(crate) attn_short: TileEntry,
    pub(crate) attn_chunk: ChunkEntry,
    pub(crate) layer_norm: LayerNormEntry,
    pub(crate) epilogue: EpilogueEntry,
}

/// Tier `T`'s [`Kernels`] table from its entries; every other field (blocking, workspace
/// sizes, streaming stores) is derived from `T`.
pub(crate) fn table<T: Tier>(_token: T, e: Entries) -> Kernels {
    Kernels {
        isa: T::ID,
        gemm: GemmKernel {
            run: e.gemm,
            blocking: Blocking::of::<T::Ukr>(),
        },
        softmax: SoftmaxKernel {
            rows: e.softmax,
            exp: e.exp,
            lanes: T::LANES,
            stream: T::STREAM,
        },
        attention: AttentionKernel::of::<T>(e.attn_tile, e.attn_short, e.attn_chunk),
        norm: NormKernel {
            layer_norm: e.layer_norm,
            epilogue: e.epilogue,
        },
    }
}

/// A generic function that tests run once per tier ([`for_each_tier`]).
#[cfg(test)]
pub(crate) trait VisitTier {
    /// Called with each tier under test.
    fn visit<T: Tier>(&mut self, t: T);
}

/// Runs `v` on every tier under test: the tiers `huiyan::dispatch::under_test` lists (every
/// tier this CPU has, or the one `HUIYAN_FORCE_ISA` names; it prints each tier it skips).
#[cfg(test)]
pub(crate) fn for_each_tier(v: &mut impl VisitTier) {
    for k in huiyan::dispatch::under_test() {
        // The std crate links its own copy of this crate: the tier crosses by name.
        let id = IsaId::from_name(k.isa().name()).expect("a tier of this crate");
        // SAFETY: `under_test` lists only tiers whose features this CPU has.
        unsafe {
            match id {
                IsaId::Scalar => v.visit(crate::isa::Scalar::new_unchecked()),
                IsaId::Portable => v.visit(crate::isa::Portable::new_unchecked()),
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                IsaId::X86V3 => v.visit(crate::isa::X86V3::new_unchecked()),
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                IsaId::X86V4 => v.visit(crate::isa::X86V4::new_unchecked()),
                #[cfg(target_arch = "aarch64")]
                IsaId::Neon => v.visit(crate::isa::Neon::new_unchecked()),
                other => panic!("tier {} has no token in this build", other.name()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::isa::IsaId;

    /// Every `#[target_feature(enable = "…")]` of a wiring file and of a microkernel names
    /// exactly its tier's feature list ([`IsaId::features`], written once in `isa.rs`; an
    /// attribute needs a literal, so these are its only copies).
    #[test]
    fn target_feature_lists_are_the_tier_features() {
        let files: &[(&str, &str, IsaId, usize)] = &[
            (
                "tiers/x86_v3.rs",
                include_str!("x86_v3.rs"),
                IsaId::X86V3,
                5,
            ),
            (
                "tiers/x86_v4.rs",
                include_str!("x86_v4.rs"),
                IsaId::X86V4,
                5,
            ),
            ("tiers/neon.rs", include_str!("neon.rs"), IsaId::Neon, 5),
            (
                "gemm/x86_64/v3.rs",
                include_str!("../gemm/x86_64/v3.rs"),
                IsaId::X86V3,
                1,
            ),
            (
                "gemm/x86_64/v4.rs",
                include_str!("../gemm/x86_64/v4.rs"),
                IsaId::X86V4,
                1,
            ),
            (
                "gemm/aarch64/neon.rs",
                include_str!("../gemm/aarch64/neon.rs"),
                IsaId::Neon,
                1,
            ),
        ];
        for &(name, src, id, at_least) in files {
            let mut seen = 0;
            for line in src.lines() {
                if let Some(rest) = line.trim().strip_prefix("#[target_feature(enable = \"") {
                    let got = rest.split('"').next().unwrap_or("");
                    assert_eq!(got, id.features(), "{name}: a feature list drifted: {line}");
                    seen += 1;
                }
            }
            assert!(seen >= at_least, "{name}: {seen} #[target_feature] lists");
        }
    }
}
