//! [`Kernels`]: one table of whole-operation entry points per ISA tier.
//!
//! Dispatch costs one indirect call per operation, never one per tile: each field is a
//! monomorphised entry point that runs the whole loop nest for its ISA.

use crate::isa::IsaId;
#[cfg(target_arch = "aarch64")]
use crate::isa::Neon;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::isa::{X86V3, X86V4};

/// A table of kernels for one ISA tier. Cheap to copy; build it once and reuse it.
///
/// ```
/// use huiyan_kernels::Kernels;
/// let k = Kernels::best_compile_time();
/// println!("using {}", k.isa().name());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    pub(crate) isa: IsaId,
    pub(crate) gemm: crate::gemm::GemmKernel,
    pub(crate) softmax: crate::softmax::SoftmaxKernel,
    pub(crate) attention: crate::attention::AttentionKernel,
    pub(crate) norm: crate::norm::NormKernel,
}

impl Kernels {
    /// The scalar kernels: plain Rust, correct everywhere.
    ///
    /// ```
    /// use huiyan_kernels::{isa::IsaId, Kernels};
    /// assert_eq!(Kernels::scalar().isa(), IsaId::Scalar);
    /// ```
    pub fn scalar() -> Self {
        crate::tiers::scalar::kernels(crate::isa::Scalar)
    }

    /// The portable kernels on `wide`, as good as the compile-time target features allow.
    ///
    /// ```
    /// use huiyan_kernels::{isa::IsaId, Kernels};
    /// assert_eq!(Kernels::portable().isa(), IsaId::Portable);
    /// ```
    pub fn portable() -> Self {
        crate::tiers::portable::kernels(crate::isa::Portable)
    }

    /// The AVX2 + FMA kernels.
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// if let Some(t) = huiyan_kernels::isa::X86V3::compile_time() {
    ///     let k = huiyan_kernels::Kernels::x86_v3(t);
    ///     assert_eq!(k.isa(), huiyan_kernels::isa::IsaId::X86V3);
    /// }
    /// ```
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    pub fn x86_v3(token: X86V3) -> Self {
        crate::tiers::x86_v3::kernels(token)
    }

    /// The AVX-512 kernels.
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// if let Some(t) = huiyan_kernels::isa::X86V4::compile_time() {
    ///     let k = huiyan_kernels::Kernels::x86_v4(t);
    ///     assert_eq!(k.isa(), huiyan_kernels::isa::IsaId::X86V4);
    /// }
    /// ```
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    pub fn x86_v4(token: X86V4) -> Self {
        crate::tiers::x86_v4::kernels(token)
    }

    /// The NEON kernels.
    ///
    /// ```
    /// #[cfg(target_arch = "aarch64")]
    /// if let Some(t) = huiyan_kernels::isa::Neon::compile_time() {
    ///     let k = huiyan_kernels::Kernels::neon(t);
    ///     assert_eq!(k.isa(), huiyan_kernels::isa::IsaId::Neon);
    /// }
    /// ```
    #[cfg(target_arch = "aarch64")]
    pub fn neon(token: Neon) -> Self {
        crate::tiers::neon::kernels(token)
    }

    /// The best table the *compile-time* target features allow (for bare-metal users who
    /// cannot detect features at run time): x86-64-v4 or v3, NEON, then [`Kernels::portable`]
    /// where `wide` has a SIMD backend (SSE2, NEON, wasm `simd128`), else [`Kernels::scalar`]
    /// — on a core without SIMD (Cortex-M, RISC-V) `wide` emulates its vectors lane by lane,
    /// which is the scalar tier's arithmetic in more code.
    ///
    /// ```
    /// use huiyan_kernels::{isa::IsaId, Kernels};
    /// let k = Kernels::best_compile_time();
    /// // x86_64 always has SSE2, so never the scalar tier here.
    /// #[cfg(target_arch = "x86_64")]
    /// assert_ne!(k.isa(), IsaId::Scalar);
    /// ```
    pub fn best_compile_time() -> Self {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            if let Some(t) = X86V4::compile_time() {
                return Self::x86_v4(t);
            }
            if let Some(t) = X86V3::compile_time() {
                return Self::x86_v3(t);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if let Some(t) = Neon::compile_time() {
                return Self::neon(t);
            }
        }
        if cfg!(any(
            all(
                any(target_arch = "x86_64", target_arch = "x86"),
                target_feature = "sse2"
            ),
            all(target_arch = "aarch64", target_feature = "neon"),
            all(target_arch = "wasm32", target_feature = "simd128"),
        )) {
            Self::portable()
        } else {
            Self::scalar()
        }
    }

    /// The table of tier `id`, without checking the CPU; `None` when this build has no such
    /// tier ([`IsaId::in_build`]). This is how run-time dispatch (the `huiyan` crate) builds
    /// the table of each tier it detected: every feature of [`IsaId::features`] present.
    ///
    /// # Safety
    ///
    /// The CPU that runs the table's kernels has every feature of `id.features()`.
    ///
    /// ```
    /// use huiyan_kernels::{isa::IsaId, Kernels};
    /// // SAFETY: the scalar tier needs no feature.
    /// let k = unsafe { Kernels::new_unchecked(IsaId::Scalar) }.unwrap();
    /// assert_eq!(k.isa(), IsaId::Scalar);
    /// ```
    pub unsafe fn new_unchecked(id: IsaId) -> Option<Kernels> {
        match id {
            IsaId::Scalar => Some(Self::scalar()),
            IsaId::Portable => Some(Self::portable()),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            IsaId::X86V3 => {
                // SAFETY: the caller guarantees the CPU has X86V3::FEATURES.
                Some(Self::x86_v3(unsafe { X86V3::new_unchecked() }))
            }
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            IsaId::X86V4 => {
                // SAFETY: the caller guarantees the CPU has X86V4::FEATURES.
                Some(Self::x86_v4(unsafe { X86V4::new_unchecked() }))
            }
            #[cfg(target_arch = "aarch64")]
            IsaId::Neon => {
                // SAFETY: the caller guarantees the CPU has Neon::FEATURES.
                Some(Self::neon(unsafe { Neon::new_unchecked() }))
            }
            _ => None,
        }
    }

    /// Which tier this table uses.
    ///
    /// ```
    /// use huiyan_kernels::{isa::IsaId, Kernels};
    /// let k = Kernels::scalar();
    /// assert_eq!(k.isa().name(), "scalar");
    /// assert_eq!(IsaId::from_name(k.isa().name()), Some(k.isa()));
    /// ```
    pub fn isa(&self) -> IsaId {
        self.isa
    }
}
