//! ISA tokens: zero-sized proofs that the CPU has a set of features.
//!
//! A token can only be made by [`compile_time`](X86V4::compile_time) (the features are enabled
//! for the whole build) or by `unsafe new_unchecked` (the caller checked the CPU at run time,
//! which the `huiyan` crate does once per process). Kernel entry points are
//! `#[target_feature]` functions that take the token by value, so holding one is what makes
//! calling them sound. The core never detects features itself.
//!
//! Each tier's run-time feature list is written once, in [`IsaId::features`]; the tokens'
//! `FEATURES`, their `compile_time` checks and the std crate's detection all read it.
//!
//! The x86 tiers exist on `x86_64` targets with SSE2 (every hosted one). Soft-float targets
//! such as `x86_64-unknown-none` have no vector registers, so they get the scalar and portable
//! tiers only (LLVM cannot lower AVX-512 code there).

/// Which kernel tier a [`Kernels`](crate::Kernels) table uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IsaId {
    /// Plain Rust, one lane at a time. Always available.
    Scalar,
    /// `wide` vectors lowered for the compile-time target features.
    Portable,
    /// x86-64-v3: AVX2 + FMA (256-bit), with F16C (half-precision loads).
    X86V3,
    /// x86-64-v4: AVX-512 F/BW/DQ/VL (512-bit).
    X86V4,
    /// aarch64 Advanced SIMD (128-bit).
    Neon,
}

impl IsaId {
    /// Every tier, in dispatch order (a later tier is preferred where the CPU has it).
    pub const ALL: [IsaId; 5] = [
        IsaId::Scalar,
        IsaId::Portable,
        IsaId::X86V3,
        IsaId::X86V4,
        IsaId::Neon,
    ];

    /// The target features the tier needs at run time, comma-separated as
    /// `#[target_feature(enable = …)]` writes them; empty for tiers that need none (their
    /// code uses only the build's compile-time features).
    ///
    /// ```
    /// use huiyan_kernels::isa::IsaId;
    /// assert_eq!(IsaId::X86V3.features(), "avx2,fma,f16c");
    /// assert!(IsaId::Scalar.features().is_empty());
    /// ```
    pub const fn features(self) -> &'static str {
        match self {
            IsaId::Scalar | IsaId::Portable => "",
            IsaId::X86V3 => "avx2,fma,f16c",
            IsaId::X86V4 => "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c",
            IsaId::Neon => "neon",
        }
    }

    /// Whether this build has a kernel table for the tier (its code is compiled only for its
    /// own architecture; wasm32 runs the portable tier, on `simd128` when the build enables
    /// it).
    ///
    /// ```
    /// use huiyan_kernels::isa::IsaId;
    /// assert!(IsaId::Scalar.in_build());
    /// assert_eq!(IsaId::Neon.in_build(), cfg!(target_arch = "aarch64"));
    /// ```
    pub const fn in_build(self) -> bool {
        match self {
            IsaId::Scalar | IsaId::Portable => true,
            IsaId::X86V3 | IsaId::X86V4 => {
                cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
            }
            IsaId::Neon => cfg!(target_arch = "aarch64"),
        }
    }

    /// The name used by `HUIYAN_FORCE_ISA`, bench ids and test names.
    ///
    /// ```
    /// use huiyan_kernels::isa::IsaId;
    /// assert_eq!(IsaId::X86V4.name(), "x86-v4");
    /// assert_eq!(IsaId::Scalar.name(), "scalar");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            IsaId::Scalar => "scalar",
            IsaId::Portable => "portable",
            IsaId::X86V3 => "x86-v3",
            IsaId::X86V4 => "x86-v4",
            IsaId::Neon => "neon",
        }
    }

    /// Parses a [`name`](IsaId::name).
    ///
    /// ```
    /// use huiyan_kernels::isa::IsaId;
    /// assert_eq!(IsaId::from_name("neon"), Some(IsaId::Neon));
    /// assert_eq!(IsaId::from_name(IsaId::Portable.name()), Some(IsaId::Portable));
    /// assert_eq!(IsaId::from_name("avx9000"), None);
    /// ```
    pub fn from_name(s: &str) -> Option<IsaId> {
        IsaId::ALL.into_iter().find(|i| i.name() == s)
    }
}

/// The scalar tier: no features needed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

/// The portable tier (`wide`): whatever the compile-time target features give.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

/// Proof that the CPU supports AVX2, FMA and F16C (x86-64-v3).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[derive(Clone, Copy, Debug)]
pub struct X86V3(());

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl X86V3 {
    /// The target features a v3 kernel is compiled with ([`IsaId::features`]).
    pub const FEATURES: &'static str = IsaId::X86V3.features();

    /// Makes the token without checking.
    ///
    /// # Safety
    ///
    /// The CPU executing any kernel called with this token must support every feature of
    /// [`X86V3::FEATURES`].
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// {
    ///     use huiyan_kernels::{isa::X86V3, Kernels};
    ///     // Doc tests run with std, so the CPU can be checked at run time.
    ///     if is_x86_feature_detected!("avx2")
    ///         && is_x86_feature_detected!("fma")
    ///         && is_x86_feature_detected!("f16c")
    ///     {
    ///         // SAFETY: the running CPU was just checked for avx2, fma and f16c.
    ///         let token = unsafe { X86V3::new_unchecked() };
    ///         assert_eq!(Kernels::x86_v3(token).isa().name(), "x86-v3");
    ///     }
    /// }
    /// ```
    pub const unsafe fn new_unchecked() -> Self {
        X86V3(())
    }

    /// The token, when the build itself enables AVX2, FMA and F16C.
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// {
    ///     use huiyan_kernels::isa::X86V3;
    ///     // `Some` exactly when the build enables all three features.
    ///     let enabled =
    ///         cfg!(all(target_feature = "avx2", target_feature = "fma", target_feature = "f16c"));
    ///     assert_eq!(X86V3::compile_time().is_some(), enabled);
    /// }
    /// ```
    pub fn compile_time() -> Option<Self> {
        if compiled_with(Self::FEATURES) {
            Some(X86V3(()))
        } else {
            None
        }
    }
}

/// Proof that the CPU supports AVX-512 F/BW/DQ/VL plus AVX2, FMA and F16C (x86-64-v4).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[derive(Clone, Copy, Debug)]
pub struct X86V4(());

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl X86V4 {
    /// The target features a v4 kernel is compiled with ([`IsaId::features`]).
    pub const FEATURES: &'static str = IsaId::X86V4.features();

    /// Makes the token without checking.
    ///
    /// # Safety
    ///
    /// The CPU must support every feature of [`X86V4::FEATURES`].
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// {
    ///     use huiyan_kernels::{isa::X86V4, Kernels};
    ///     let has = |f: &str| match f {
    ///         "avx512f" => is_x86_feature_detected!("avx512f"),
    ///         "avx512bw" => is_x86_feature_detected!("avx512bw"),
    ///         "avx512dq" => is_x86_feature_detected!("avx512dq"),
    ///         "avx512vl" => is_x86_feature_detected!("avx512vl"),
    ///         "avx2" => is_x86_feature_detected!("avx2"),
    ///         "fma" => is_x86_feature_detected!("fma"),
    ///         "f16c" => is_x86_feature_detected!("f16c"),
    ///         _ => false,
    ///     };
    ///     if X86V4::FEATURES.split(',').all(has) {
    ///         // SAFETY: the running CPU was just checked for every feature in X86V4::FEATURES.
    ///         let token = unsafe { X86V4::new_unchecked() };
    ///         assert_eq!(Kernels::x86_v4(token).isa().name(), "x86-v4");
    ///     }
    /// }
    /// ```
    pub const unsafe fn new_unchecked() -> Self {
        X86V4(())
    }

    /// The token, when the build itself enables those features.
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// {
    ///     use huiyan_kernels::isa::{X86V3, X86V4};
    ///     // A v4 build is always a v3 build too.
    ///     if X86V4::compile_time().is_some() {
    ///         assert!(X86V3::compile_time().is_some());
    ///     }
    /// }
    /// ```
    pub fn compile_time() -> Option<Self> {
        if compiled_with(Self::FEATURES) {
            Some(X86V4(()))
        } else {
            None
        }
    }

    /// Every v4 CPU is also v3.
    ///
    /// ```
    /// #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    /// {
    ///     use huiyan_kernels::{isa::X86V4, Kernels};
    ///     if let Some(v4) = X86V4::compile_time() {
    ///         // A v4 token can drive the narrower AVX2 kernels.
    ///         assert_eq!(Kernels::x86_v3(v4.v3()).isa().name(), "x86-v3");
    ///     }
    /// }
    /// ```
    pub fn v3(self) -> X86V3 {
        X86V3(())
    }
}

/// Proof that the CPU supports aarch64 Advanced SIMD (NEON).
#[cfg(target_arch = "aarch64")]
#[derive(Clone, Copy, Debug)]
pub struct Neon(());

#[cfg(target_arch = "aarch64")]
impl Neon {
    /// The target features a NEON kernel is compiled with ([`IsaId::features`]).
    pub const FEATURES: &'static str = IsaId::Neon.features();

    /// Makes the token without checking.
    ///
    /// # Safety
    ///
    /// The CPU must support the `neon` feature.
    ///
    /// ```
    /// #[cfg(target_arch = "aarch64")]
    /// {
    ///     use huiyan_kernels::{isa::Neon, Kernels};
    ///     if std::arch::is_aarch64_feature_detected!("neon") {
    ///         // SAFETY: the running CPU was just checked for `neon`.
    ///         let token = unsafe { Neon::new_unchecked() };
    ///         assert_eq!(Kernels::neon(token).isa().name(), "neon");
    ///     }
    /// }
    /// ```
    pub const unsafe fn new_unchecked() -> Self {
        Neon(())
    }

    /// The token, when the build enables `neon` (every aarch64 Linux/Apple/none target does).
    ///
    /// ```
    /// #[cfg(target_arch = "aarch64")]
    /// {
    ///     use huiyan_kernels::isa::Neon;
    ///     assert_eq!(Neon::compile_time().is_some(), cfg!(target_feature = "neon"));
    /// }
    /// ```
    pub fn compile_time() -> Option<Self> {
        if compiled_with(Self::FEATURES) {
            Some(Neon(()))
        } else {
            None
        }
    }
}

/// Whether the build enables every feature of a comma-separated list (the features a tier's
/// tokens may take for granted when the whole build has them).
#[cfg(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    target_arch = "aarch64"
))]
fn compiled_with(features: &str) -> bool {
    features.split(',').all(|f| match f {
        "avx2" => cfg!(target_feature = "avx2"),
        "fma" => cfg!(target_feature = "fma"),
        "f16c" => cfg!(target_feature = "f16c"),
        "avx512f" => cfg!(target_feature = "avx512f"),
        "avx512bw" => cfg!(target_feature = "avx512bw"),
        "avx512dq" => cfg!(target_feature = "avx512dq"),
        "avx512vl" => cfg!(target_feature = "avx512vl"),
        "neon" => cfg!(target_feature = "neon"),
        _ => false,
    })
}
