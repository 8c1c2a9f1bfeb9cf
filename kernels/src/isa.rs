//! ISA tokens: zero-sized proofs that the CPU has a set of features.
//!
//! A token can only be made by [`compile_time`](X86V4::compile_time) (the features are enabled
//! for the whole build) or by `unsafe new_unchecked` (the caller checked the CPU at run time,
//! which the `huiyan` crate does once per process). Kernel entry points are
//! `#[target_feature]` functions that take the token by value, so holding one is what makes
//! calling them sound. The core never detects features itself.

/// Which kernel tier a [`Kernels`](crate::Kernels) table uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IsaId {
    /// Plain Rust, one lane at a time. Always available.
    Scalar,
    /// `wide` vectors lowered for the compile-time target features.
    Portable,
    /// x86-64-v3: AVX2 + FMA (256-bit).
    X86V3,
    /// x86-64-v4: AVX-512 F/BW/DQ/VL (512-bit).
    X86V4,
    /// aarch64 Advanced SIMD (128-bit).
    Neon,
    /// wasm32 `simd128`.
    Wasm128,
}

impl IsaId {
    /// The name used by `HUIYAN_FORCE_ISA`, bench ids and test names.
    pub const fn name(self) -> &'static str {
        match self {
            IsaId::Scalar => "scalar",
            IsaId::Portable => "portable",
            IsaId::X86V3 => "x86-v3",
            IsaId::X86V4 => "x86-v4",
            IsaId::Neon => "neon",
            IsaId::Wasm128 => "wasm128",
        }
    }

    /// Parses a [`name`](IsaId::name).
    pub fn from_name(s: &str) -> Option<IsaId> {
        [
            IsaId::Scalar,
            IsaId::Portable,
            IsaId::X86V3,
            IsaId::X86V4,
            IsaId::Neon,
            IsaId::Wasm128,
        ]
        .into_iter()
        .find(|i| i.name() == s)
    }
}

/// The scalar tier: no features needed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

/// The portable tier (`wide`): whatever the compile-time target features give.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

/// Proof that the CPU supports AVX2 and FMA (x86-64-v3).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct X86V3(());

#[cfg(target_arch = "x86_64")]
impl X86V3 {
    /// The target features a v3 kernel is compiled with.
    pub const FEATURES: &'static str = "avx2,fma";

    /// Makes the token without checking.
    ///
    /// # Safety
    ///
    /// The CPU executing any kernel called with this token must support `avx2` and `fma`.
    pub const unsafe fn new_unchecked() -> Self {
        X86V3(())
    }

    /// The token, when the build itself enables AVX2 and FMA.
    pub fn compile_time() -> Option<Self> {
        if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
            Some(X86V3(()))
        } else {
            None
        }
    }
}

/// Proof that the CPU supports AVX-512 F/BW/DQ/VL plus AVX2 and FMA (x86-64-v4).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct X86V4(());

#[cfg(target_arch = "x86_64")]
impl X86V4 {
    /// The target features a v4 kernel is compiled with.
    pub const FEATURES: &'static str = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma";

    /// Makes the token without checking.
    ///
    /// # Safety
    ///
    /// The CPU must support `avx512f`, `avx512bw`, `avx512dq`, `avx512vl`, `avx2` and `fma`.
    pub const unsafe fn new_unchecked() -> Self {
        X86V4(())
    }

    /// The token, when the build itself enables those features.
    pub fn compile_time() -> Option<Self> {
        if cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512dq",
            target_feature = "avx512vl",
            target_feature = "avx2",
            target_feature = "fma"
        )) {
            Some(X86V4(()))
        } else {
            None
        }
    }

    /// Every v4 CPU is also v3.
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
    /// Makes the token without checking.
    ///
    /// # Safety
    ///
    /// The CPU must support the `neon` feature.
    pub const unsafe fn new_unchecked() -> Self {
        Neon(())
    }

    /// The token, when the build enables `neon` (every aarch64 Linux/Apple/none target does).
    pub fn compile_time() -> Option<Self> {
        if cfg!(target_feature = "neon") {
            Some(Neon(()))
        } else {
            None
        }
    }
}
