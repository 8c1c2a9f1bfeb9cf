//! Scaled dot-product attention.
//!
//! # Contract
//!
//! Shapes (logical axis order, any strides — BHSD and BSHD memory both work without copies):
//! `Q [B, Hq, Lq, dk]`, `K [B, Hkv, Lk, dk]`, `V [B, Hkv, Lk, dv]`, `O [B, Hq, Lq, dv]`.
//! `dk, dv, Hkv ≥ 1`; `B, Hq, Lq = 0` are no-ops and `Lk = 0` makes every row fully masked.
//!
//! **Heads (GQA/MQA).** `Hq % Hkv == 0`; query head `h` reads kv head `h / (Hq / Hkv)`.
//! `Hkv = Hq` is multi-head, `Hkv = 1` multi-query attention. K and V are never copied.
//!
//! **Query positions.** Query `i` sits at key position `p(i) = i` for
//! [`CausalVariant::UpperLeft`] (PyTorch's `is_causal`), or `p(i) = i + Lk − Lq` for
//! [`CausalVariant::LowerRight`] (the KV-cache convention: the last query sees the last key).
//! The variant fixes `p` for the causal mask, the sliding window and ALiBi alike.
//!
//! **Visibility.** Key `j` is visible to query `i` of batch `b`, head `h` iff all hold:
//! * `j < key_padding_lens[b]` (when given; each length ≤ `Lk`);
//! * `is_causal` ⇒ `j ≤ p(i)`;
//! * `window = Some(w)` ⇒ `p(i) − j < w`, and when not causal also `j − p(i) < w`
//!   (`w ≥ 1`: with causal, a query sees itself and the `w − 1` keys before it);
//! * `attn_mask[b, h, i, j]` is true (true = attend, PyTorch's polarity);
//! * its logit below is not `−∞`.
//!
//! **Logits.** For a visible key, in this order:
//! `t = scale · (q_i · k_j)`; with `softcap = Some(c)`: `t = c · tanh(t / c)`;
//! `t += attn_bias[b, h, i, j]`; with ALiBi: `t −= slope_h · |p(i) − j|`.
//! `scale` defaults to `1/√dk` and must be finite and non-zero; `softcap` finite and positive.
//!
//! **Softmax and output.** With `sink_h` the head's sink logit (when `sinks` is given; it joins
//! the normaliser but has no value row):
//! `lse = ln(Σ_visible exp(t_j) [+ exp(sink_h)])`, `O[b,h,i,:] = Σ_visible exp(t_j − lse) · v_j`.
//! A row with no visible key gives `O = 0` and `lse = −∞` (`lse = sink_h` with sinks).
//!
//! **Masked keys are skipped**, never multiplied by zero: NaN or ∞ in a masked key's K or V row
//! does not reach `O`. NaN in anything that is used propagates to the affected outputs: a NaN
//! logit of a visible key makes its whole row of `O` and its `lse` NaN, and so does a `+∞`
//! logit (e.g. from a `+∞` bias), as in softmax. A NaN or `+∞` sink makes every row of its head
//! NaN (`O` and `lse`), whether or not the row sees a key (a `−∞` sink is the same as none). An infinite entry in a visible key's V
//! row makes that column of `O` non-finite: `±∞`, or NaN when the key's weight underflows to 0
//! in `f32` (`0·∞`); the `f64` reference, whose weights underflow much later, gives `±∞`.
//!
//! **Broadcasting.** `attn_mask` and `attn_bias` are 4-d views whose each axis is the full size
//! of `[B, Hq, Lq, Lk]` or 1 (a 2-d `[Lq, Lk]` mask is `dims = [1, 1, Lq, Lk]`).
//! `alibi_slopes` and `sinks` have one entry per query head; `key_padding_lens` one per batch.
//!
//! **logsumexp output.** Optional, contiguous `[B, Hq, Lq]`, as defined above.
//!
//! **Half-precision K and V** (a KV cache in `bf16` or `f16`, [`crate::elem`]): K and V are
//! `Tensor4Ref<'_, E>` of one element type `E` (`f32`, `bf16`, `f16`); Q, O, lse, masks and
//! bias stay `f32`. The values are those the halves hold, widened exactly, so the result has
//! the bits of the `f32` call on the widened K and V (every path, option and tier). Decode
//! reads each K row and V block in its stored bytes and widens it in L1 (F16C on x86), the
//! other paths widen while they pack.
//!
//! **Variable-length batches.** [`attention_varlen`] takes sequences packed end to end (Q
//! `[total_q, Hq, dk]` …) with cumulative offsets; each sequence is a call of its own under this
//! contract (module `varlen`).
//!
//! **Determinism.** The same inputs give the same bits whatever the thread count: work is split
//! only along batch, head, query-block and (in decode) fixed KV-chunk boundaries, and every
//! reduction runs in a fixed order.
//!
//! # Paths
//!
//! A call's shapes choose one of three drivers (`job.rs`): `Lq ≤ 4` streams the KV cache in
//! chunks merged by their logsumexps (`decode.rs`, flash-decoding); keys that fit one block
//! (`Lk ≤ 256`) take an exact softmax with `P·V` written straight into `O` (`short.rs`); the
//! rest runs flash tiles with the online softmax (`tile.rs`, `online.rs`). All three share the
//! masks (`mask.rs`) and the gemm microkernels.

mod call;
pub(crate) mod decode;
mod decode_block;
mod job;
mod mask;
mod online;
mod plan;
pub(crate) mod short;
pub(crate) mod tile;
mod varlen;
mod weights;

pub(crate) use call::Call;
pub use job::{attention, attention_workspace_len, AttentionJob};
pub(crate) use plan::{AttentionKernel, ChunkEntry, TileEntry};
pub use varlen::{attention_varlen, attention_varlen_workspace_len, check_attention_varlen};
pub use weights::{attention_weights, attention_weights_workspace_len};

pub use crate::options::{AttentionOptions, CausalVariant};
