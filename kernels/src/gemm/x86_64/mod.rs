//! x86-64 microkernels: `v3` (AVX2 + FMA, 16 × 6) and `v4` (AVX-512F, 32 × 12).

pub(crate) mod v3;
pub(crate) mod v4;
