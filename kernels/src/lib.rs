//! # huiyan-kernels
//!
//! `#![no_std]` SIMD f32 kernels for attention, without allocation and without panics on the
//! public surface. The std crate `huiyan` adds runtime ISA detection, scratch management and
//! threading on top; bare-metal users call this crate directly with
//! [`Kernels::best_compile_time`].
//!
//! ## Map
//!
//! From the bottom up; a module uses only modules above it in this table, except that the
//! operations take the [`Kernels`] table their tiers build (the one circle: the registry).
//!
//! | module | what |
//! |---|---|
//! | [`view`], [`error`], [`isa`] | strided views ([`MatRef`], [`MatMut`], [`Tensor4Ref`], [`Tensor4Mut`]); [`Error`]; ISA tokens and each tier's feature list |
//! | [`options`], [`elem`] | the option data of every operation; the stored element types (`f32`, `bf16`, `f16`) |
//! | [`shape`] | all validation, in one place |
//! | `simd` | the vector layer: `SimdF32` per tier, the `exp` and `tanh`, the row primitives |
//! | [`gemm`] | `C ← α·A·B + β·C`: microkernel trait, blocking, loop nest, packing, one microkernel per ISA |
//! | `tier` | the `Tier` trait: a token's vector layer and microkernel |
//! | [`softmax`] | fused scale(+bias, mask)-softmax: a plan and one file per row path |
//! | [`attention`] | scaled dot-product attention: tile and decode drivers, tasks ([`attention::AttentionJob`]) |
//! | [`norm`] | LayerNorm with bias and residual fused, the bias(+GELU) epilogue ([`norm::NormJob`]) |
//! | `tiers` | one wiring file per tier: its `#[target_feature]` entries and its [`Kernels`] table |
//! | [`Kernels`] | the table of whole-operation entry points of one tier |
//! | [`reference`](mod@reference) | naive `f64` oracles of all three operations (uses only views, options, errors, validation) |
//!
//! ## The three contracts
//!
//! Each is written once, on its module: [`gemm`] (BLAS α/β, β = 0 never reads C),
//! [`softmax`] (masked → 0, fully masked row → zeros, NaN propagation) and [`attention`]
//! (shapes, GQA head mapping, every mask kind, default scale `1/√dk`, logsumexp, fully masked
//! rows → 0, masked keys skipped, determinism across thread counts).
//!
//! ## Safety model
//!
//! Public functions are safe. Each validates *every* operand with [`shape`] before touching
//! memory; after that, kernels use raw pointers whose ranges the validation proved. Intrinsics
//! live only in `x86_64/` and `aarch64/` folders (of `simd/` and `gemm/`) and run only behind a
//! token (see [`isa`]); `#[target_feature]` functions are the entries in `tiers/` and the
//! microkernels' tile functions. Every `unsafe` block names what makes it sound.
// no_std everywhere except this crate's own unit-test build, which needs the test harness.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod attention;
pub mod convert;
pub mod elem;
pub mod error;
pub mod gemm;
pub mod isa;
pub mod job;
mod kernels;
pub mod norm;
pub mod options;
pub mod reference;
pub mod shape;
mod simd;
pub mod softmax;
mod tier;
mod tiers;
pub mod view;
mod workspace;

pub use error::{Dim, Error, Operand};
pub use kernels::Kernels;
pub use view::{MatMut, MatRef, Tensor4Mut, Tensor4Ref};
