//! aarch64 attention entries.

pub(crate) mod neon;
