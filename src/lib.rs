//! huiyan: the std API.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod attention;
pub mod dispatch;
mod layer;
mod matmul;
mod pool;
mod scratch;
mod softmax;
mod weights;

pub use attention::{attention, attention_with};
pub use huiyan_kernels::{
    attention::AttentionOptions, attention::CausalVariant, softmax::SoftmaxOptions,
};
pub use huiyan_kernels::{reference, Dim, Error, MatMut, MatRef, Operand, Tensor4Mut, Tensor4Ref};
pub use layer::{MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights, MAX_WEIGHTS_ELEMENTS};
#[allow(unused_imports)]
pub use matmul::*;
pub use pool::AttentionPool;
#[allow(unused_imports)]
pub use softmax::*;

/// The matmul every layer projection goes through.
fn linear_matmul(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) -> Result<(), Error> {
    reference::matmul(alpha, a, b, beta, c)
}
