//! aarch64 microkernels: `neon` (Advanced SIMD, 8 × 8).

pub(crate) mod neon;
