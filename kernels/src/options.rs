//! Plain option data of every operation: what a caller asks for, with no behaviour.
//!
//! These types sit below every user — the kernels, the validation in [`shape`](crate::shape)
//! and the `f64` [`reference`](mod@crate::reference) — so that none of them imports another
//! for its options. The meaning of each option is part of its operation's contract:
//! [`softmax`](crate::softmax) and [`attention`](crate::attention).

use crate::view::{MatRef, Tensor4Ref};

/// Options of a softmax call. [`Default`] is plain softmax: scale 1, no mask, no bias.
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxOptions<'a> {
    /// Multiplies `x` before the bias is added. Finite and non-zero.
    pub scale: f32,
    /// Boolean mask, true = attend; `rows × cols` or broadcast (an axis of 1).
    pub mask: Option<MatRef<'a, bool>>,
    /// Additive bias applied after scaling; `rows × cols` or broadcast.
    pub bias: Option<MatRef<'a, f32>>,
    /// Produce log-softmax instead of softmax.
    pub log: bool,
}

impl Default for SoftmaxOptions<'_> {
    fn default() -> Self {
        SoftmaxOptions {
            scale: 1.0,
            mask: None,
            bias: None,
            log: false,
        }
    }
}

/// Where query positions sit relative to key positions (see the [module](crate::attention) contract).
///
/// Named after PyTorch's `torch.nn.attention.bias.CausalVariant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CausalVariant {
    /// `p(i) = i`: the top-left aligned causal mask of PyTorch's `is_causal=True`.
    #[default]
    UpperLeft,
    /// `p(i) = i + Lk − Lq`: bottom-right aligned, for decoding against a KV cache.
    LowerRight,
}

/// Every option of an attention call. [`Default`] is plain bidirectional attention with the
/// default scale `1/√dk`.
///
/// ```
/// use huiyan_kernels::attention::{AttentionOptions, CausalVariant};
/// let lens = [7usize, 5];
/// let opts = AttentionOptions {
///     is_causal: true,
///     causal_variant: CausalVariant::LowerRight,
///     key_padding_lens: Some(&lens),
///     ..AttentionOptions::default()
/// };
/// assert!(opts.scale.is_none());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AttentionOptions<'a> {
    /// Logit scale; `None` means `1/√dk`.
    pub scale: Option<f32>,
    /// Apply the causal mask `j ≤ p(i)`.
    pub is_causal: bool,
    /// Alignment of query positions for causal masking, the window and ALiBi.
    pub causal_variant: CausalVariant,
    /// Valid key count per batch entry (keys `j ≥ len` are masked). Length ≥ `B`.
    pub key_padding_lens: Option<&'a [usize]>,
    /// Sliding window size `w ≥ 1` (see the contract).
    pub window: Option<usize>,
    /// Boolean mask, true = attend, broadcastable to `[B, Hq, Lq, Lk]`.
    pub attn_mask: Option<Tensor4Ref<'a, bool>>,
    /// Additive bias, broadcastable to `[B, Hq, Lq, Lk]`.
    pub attn_bias: Option<Tensor4Ref<'a, f32>>,
    /// ALiBi slope per query head: `t −= slope_h · |p(i) − j|`.
    pub alibi_slopes: Option<&'a [f32]>,
    /// Logit softcap `c`: `t = c·tanh(t/c)` before bias and ALiBi.
    pub softcap: Option<f32>,
    /// Attention-sink logit per query head (joins the normaliser, has no value).
    pub sinks: Option<&'a [f32]>,
}

/// Options of a LayerNorm call ([`norm::layer_norm`](crate::norm::layer_norm)): per row,
/// `z = (x + bias) + residual`, `y = (z − mean z)/√(var z + eps)·gamma + beta`.
#[derive(Clone, Copy, Debug)]
pub struct LayerNormOptions<'a> {
    /// Scale `γ`, one per column.
    pub gamma: &'a [f32],
    /// Shift `β`, one per column.
    pub beta: &'a [f32],
    /// Added to every row of `x` before the residual (a projection's bias), one per column.
    pub bias: Option<&'a [f32]>,
    /// Added after the bias: the residual stream, the shape of `x`.
    pub residual: Option<MatRef<'a, f32>>,
    /// Added to the variance; finite and positive (BERT: `1e-12`).
    pub eps: f32,
}

/// The activation of a bias epilogue ([`norm::bias_act`](crate::norm::bias_act)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activation {
    /// `y = x + bias`.
    #[default]
    Identity,
    /// `y = gelu(x + bias)`, erf form ([`gelu_lane`](crate::norm::gelu_lane)).
    Gelu,
}
