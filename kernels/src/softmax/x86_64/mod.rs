//! x86-64 softmax tiers: [`v3`] (AVX2 + FMA, 8 lanes) and [`v4`] (AVX-512, 16 lanes). Each
//! implements [`SimdF32`](super::simd::SimdF32) on its ISA token and exposes `#[target_feature]`
//! whole-operation entry points (contract: [`super`]).

pub(crate) mod v3;
pub(crate) mod v4;
