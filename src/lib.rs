//! huiyan: the std API.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod attention;
pub mod dispatch;
mod matmul;
mod softmax;

pub use attention::attention;
pub use huiyan_kernels::{
    attention::AttentionOptions, attention::CausalVariant, softmax::SoftmaxOptions,
};
pub use huiyan_kernels::{reference, Dim, Error, MatMut, MatRef, Operand, Tensor4Mut, Tensor4Ref};
#[allow(unused_imports)]
pub use matmul::*;
#[allow(unused_imports)]
pub use softmax::*;
