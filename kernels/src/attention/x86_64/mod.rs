//! x86_64 attention entries: the generic tile and decode code compiled with AVX2+FMA or
//! AVX-512 inside `#[target_feature]` functions.

pub(crate) mod v3;
pub(crate) mod v4;
