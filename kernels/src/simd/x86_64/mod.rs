//! x86-64 vector tiers: [`v3`] (AVX2 + FMA, 8 lanes) and [`v4`] (AVX-512, 16 lanes), each
//! implementing [`SimdF32`](super::SimdF32) on its ISA token.

pub(crate) mod v3;
pub(crate) mod v4;
