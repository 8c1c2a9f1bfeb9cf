//! aarch64 softmax tier: [`neon`] (Advanced SIMD, 4 lanes). Contract: [`super`].

pub(crate) mod neon;
