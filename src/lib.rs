//! # huiyan 慧眼 — SIMD CPU kernels for attention
//!
//! The std API over [`huiyan_kernels`]: runtime ISA detection once per process
//! ([`dispatch`]), safe shape-checked calls that return [`Result`], per-thread scratch reuse
//! (no allocation once warm), optional `rayon` threading with bit-identical results, and the
//! layers a user meets: [`MultiHeadAttention`] and [`AttentionPool`].
//!
//! ## Quickstart
//!
//! ```
//! use huiyan::{attention, AttentionOptions, Tensor4Mut, Tensor4Ref};
//!
//! // Q, K, V, O in PyTorch's [batch, heads, seq, head_dim] layout (BHSD), contiguous.
//! let (b, h, l, d) = (2, 4, 16, 32);
//! let q = vec![0.25f32; b * h * l * d];
//! let k = q.clone();
//! let v = vec![1.0f32; b * h * l * d];
//! let mut o = vec![0.0f32; b * h * l * d];
//!
//! let dims = [b, h, l, d];
//! attention(
//!     Tensor4Ref::bhsd(&q, dims),
//!     Tensor4Ref::bhsd(&k, dims),
//!     Tensor4Ref::bhsd(&v, dims),
//!     Tensor4Mut::bhsd(&mut o, dims),
//!     &AttentionOptions { is_causal: true, ..Default::default() },
//!     None, // or Some(&mut lse) for the per-row logsumexp
//! )?;
//! assert!(o.iter().all(|&x| (x - 1.0).abs() < 1e-6));
//! # Ok::<(), huiyan::Error>(())
//! ```
//!
//! Memory laid out as `[batch, seq, heads, head_dim]` (what a projection produces) is
//! [`Tensor4Ref::bshd`]: no transposing copy. Any other strides: [`Tensor4Ref::new`].
//!
//! ## From PyTorch
//!
//! `torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p,
//! is_causal, scale, enable_gqa)` maps to [`attention`]:
//!
//! | PyTorch | huiyan |
//! |---|---|
//! | `query`, `key`, `value` (`[B, H, L, D]`) | `q`, `k`, `v`: [`Tensor4Ref`] (any strides) |
//! | return value | `o`: [`Tensor4Mut`] you provide |
//! | `attn_mask` bool, `True` = attend | [`AttentionOptions::attn_mask`] (`Tensor4Ref<bool>`, broadcastable) |
//! | `attn_mask` float (added to scores) | [`AttentionOptions::attn_bias`] (broadcastable) |
//! | `is_causal=True` | [`AttentionOptions::is_causal`] (top-left: [`CausalVariant::UpperLeft`]) |
//! | `torch.nn.attention.bias.causal_lower_right` | `causal_variant: CausalVariant::LowerRight` |
//! | `scale=None` (→ `1/√E`) | [`AttentionOptions::scale`] `None` (→ `1/√dk`) |
//! | `enable_gqa=True` | implicit: `Hq % Hkv == 0`, head `h` reads kv head `h / (Hq/Hkv)` |
//! | `dropout_p` | not supported (inference kernels) |
//! | — | `key_padding_lens`, `window`, `alibi_slopes`, `softcap`, `sinks`, logsumexp output |
//!
//! `torch.nn.MultiheadAttention(embed_dim, num_heads, bias, kdim, vdim, batch_first=True)` maps
//! to [`MultiHeadAttention`] with [`MhaConfig`]:
//!
//! | PyTorch | huiyan |
//! |---|---|
//! | `embed_dim`, `num_heads` | [`MhaConfig::new`]`(embed_dim, num_heads)` |
//! | `kdim`, `vdim` | [`MhaConfig::with_kv_dims`] |
//! | (GQA, not in `nn.MultiheadAttention`) | [`MhaConfig::with_kv_heads`] |
//! | `q_proj_weight`, `k_proj_weight`, `v_proj_weight` / `in_proj_weight` split in 3 | [`MhaWeights`] `wq`, `wk`, `wv` (`[out, in]`, as `nn.Linear`) |
//! | `in_proj_bias` split in 3, `out_proj.bias` | `bq`, `bk`, `bv`, `bo` |
//! | `out_proj.weight` | `wo` |
//! | `forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal)` | [`MultiHeadAttention::forward`]: padding as lengths in `opts.key_padding_lens`; `need_weights` + `average_attn_weights` as [`NeedWeights`]; masks in `opts` |
//!
//! ## Contracts
//!
//! Written once, on the kernel modules: [`huiyan_kernels::gemm`] (matmul),
//! [`huiyan_kernels::softmax`] and [`huiyan_kernels::attention`]. Bad input of any kind returns
//! a typed [`Error`] naming the operand and the offending values, and leaves every output
//! untouched; all validation lives in [`huiyan_kernels::shape`].
//!
//! ## Threads
//!
//! With the `rayon` feature, [`matmul`], [`softmax`], [`attention`] and the row operations
//! ([`layer_norm_inplace`], [`bias_act`]) spread their work over
//! the current rayon pool. Work is split only at points that depend on the shapes, and every
//! reduction runs in a fixed order, so results have the same bits for any thread count.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod attention;
pub mod dispatch;
mod layer;
mod matmul;
mod norm;
mod pool;
mod run;
mod scratch;
mod softmax;
mod weights;

pub use attention::{attention, attention_varlen, attention_varlen_with, attention_with};
pub use huiyan_kernels::elem::{bf16, f16, Dtype, Element};
pub use huiyan_kernels::norm::{Activation, LayerNormOptions};
pub use huiyan_kernels::{
    attention::AttentionOptions, attention::CausalVariant, softmax::SoftmaxOptions,
};
pub use huiyan_kernels::{reference, Dim, Error, MatMut, MatRef, Operand, Tensor4Mut, Tensor4Ref};
pub use layer::{MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights, MAX_WEIGHTS_ELEMENTS};
pub use matmul::*;
pub use norm::{bias_act, bias_act_with, layer_norm_inplace, layer_norm_inplace_with};
pub use pool::AttentionPool;
pub use softmax::*;
pub use weights::attention_weights;
