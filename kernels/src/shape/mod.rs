//! All validation, in one place.
//!
//! Every entry point of both crates (reference, fast kernels, the std API, the layer) calls one
//! of the `check_*` functions here before it touches memory. They use checked arithmetic only,
//! never index, and return the first [`Error`] found; nothing is written before they pass, which
//! is what makes "on `Err` the output is untouched" true everywhere.
//!
//! Rules shared by all operations:
//! * a slice must cover `1 + Σ (dimᵢ − 1)·strideᵢ` elements (nothing when a dimension is 0);
//! * an output must map distinct elements to distinct addresses ([`Error::AliasingStrides`]);
//! * an output's address range must not intersect any input's ([`Error::Overlap`]);
//! * a broadcast operand (mask, bias) has each axis equal to the full size or to 1.
//!
//! One file per operation — `gemm.rs` ([`check_gemm`], [`check_gemm_bias`], and the checks of a
//! call with a prepacked B), `softmax.rs` ([`check_softmax`],
//! [`check_exp`]), `attention.rs` ([`check_attention`], [`check_attention_varlen`],
//! [`check_attention_weights`]), `norm.rs` ([`check_layer_norm`], [`check_bias_act`]) — over the
//! checks they share in `common.rs` (views, spans, broadcast shapes, workspace).
//!
//! [`Error`]: crate::Error
//! [`Error::AliasingStrides`]: crate::Error::AliasingStrides
//! [`Error::Overlap`]: crate::Error::Overlap

mod attention;
mod common;
mod gemm;
mod norm;
mod softmax;

pub use attention::{check_attention, check_attention_varlen, check_attention_weights, AttnDims};
pub use common::{
    check_disjoint, check_mat_mut, check_mat_ref, check_t4_mut, check_t4_ref, check_workspace,
    extent, product, Span,
};
pub(crate) use gemm::check_gemm_packed;
pub use gemm::{check_gemm, check_gemm_bias};
pub use norm::{check_bias_act, check_layer_norm};
pub use softmax::{check_exp, check_softmax};
