//! aarch64 vector tier: [`neon`] (Advanced SIMD, 4 lanes).

pub(crate) mod neon;
