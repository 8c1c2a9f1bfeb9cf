//! # huiyan-kernels
//!
//! `#![no_std]` SIMD f32 kernels for attention, without allocation and without panics on the
//! public surface. The std crate `huiyan` adds runtime ISA detection, scratch management and
//! threading on top; bare-metal users call this crate directly with
//! [`Kernels::best_compile_time`].
//!
//! ## Map
//!
//! | module | what |
//! |---|---|
//! | [`view`] | strided views [`MatRef`], [`MatMut`], [`Tensor4Ref`], [`Tensor4Mut`] |
//! | [`shape`] | all validation, in one place |
//! | [`error`] | [`Error`]: every kind of bad input, with the offending values |
//! | [`isa`] | ISA tokens: zero-sized proofs of CPU features |
//! | [`Kernels`] | a table of whole-operation entry points per ISA |
//! | [`gemm`] | `C ← α·A·B + β·C` (contract on the module) |
//! | [`softmax`] | fused scale(+bias, mask)-softmax over rows (contract on the module) |
//! | [`attention`] | scaled dot-product attention, every mask kind (contract on the module) |
//! | [`reference`](mod@reference) | naive `f64` oracles of all three |
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
//! memory; after that, kernels use raw pointers whose ranges the validation proved. ISA-specific
//! code lives only in `x86_64/` and `aarch64/` folders and runs only behind a token (see
//! [`isa`]). Every `unsafe` block names what makes it sound.
// no_std everywhere except this crate's own unit-test build, which needs the test harness.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod attention;
pub mod error;
pub mod gemm;
pub mod isa;
mod kernels;
pub mod options;
pub mod reference;
pub mod shape;
pub mod simd;
pub mod softmax;
mod tiers;
pub mod view;

pub use error::{Dim, Error, Operand};
pub use kernels::Kernels;
pub use view::{MatMut, MatRef, Tensor4Mut, Tensor4Ref};
