//! [`MultiHeadAttention`]: the layer a user meets — Q/K/V projections, split heads, attention,
//! output projection — for self and cross attention over batch-first `[B, L, E]` inputs.

use huiyan_kernels::attention::AttentionOptions;
use huiyan_kernels::elem::Element;
use huiyan_kernels::shape::product;
use huiyan_kernels::{Dim, Error, Kernels, MatMut, MatRef, Operand, Tensor4Mut, Tensor4Ref};

/// Shape of a [`MultiHeadAttention`] layer.
///
/// `head_dim` defaults to `embed_dim / num_heads` in [`MhaConfig::new`]; `kdim`/`vdim` (the
/// feature sizes of the key and value inputs) default to `embed_dim`, as in PyTorch's
/// `nn.MultiheadAttention`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MhaConfig {
    /// Model dimension `E`: query input and output features.
    pub embed_dim: usize,
    /// Query heads `Hq`.
    pub num_heads: usize,
    /// Key/value heads `Hkv` (`Hq % Hkv == 0`; `Hkv < Hq` is grouped-query attention).
    pub num_kv_heads: usize,
    /// Features per head `d`.
    pub head_dim: usize,
    /// Key input features.
    pub kdim: usize,
    /// Value input features.
    pub vdim: usize,
}

impl MhaConfig {
    /// Multi-head attention with `num_heads` heads of `embed_dim / num_heads` features.
    ///
    /// ```
    /// let cfg = huiyan::MhaConfig::new(512, 8)?;
    /// assert_eq!(cfg.head_dim, 64);
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn new(embed_dim: usize, num_heads: usize) -> Result<Self, Error> {
        if num_heads == 0 {
            return Err(Error::ZeroDim { dim: Dim::HeadsQ });
        }
        if embed_dim == 0 {
            return Err(Error::ZeroDim { dim: Dim::Embed });
        }
        if !embed_dim.is_multiple_of(num_heads) {
            return Err(Error::NotDivisible {
                dim: Dim::Embed,
                value: embed_dim,
                divisor: num_heads,
            });
        }
        Ok(MhaConfig {
            embed_dim,
            num_heads,
            num_kv_heads: num_heads,
            head_dim: embed_dim / num_heads,
            kdim: embed_dim,
            vdim: embed_dim,
        })
    }

    /// The same layer with `kv_heads` key/value heads (GQA; `1` is multi-query attention).
    ///
    /// ```
    /// use huiyan::MhaConfig;
    /// // 8 query heads sharing 2 key/value heads (GQA).
    /// let cfg = MhaConfig::new(64, 8)?.with_kv_heads(2);
    /// assert_eq!((cfg.num_heads, cfg.num_kv_heads, cfg.head_dim), (8, 2, 8));
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn with_kv_heads(self, kv_heads: usize) -> Self {
        MhaConfig {
            num_kv_heads: kv_heads,
            ..self
        }
    }

    /// The same layer with key and value inputs of `kdim` and `vdim` features (cross attention
    /// from another modality).
    ///
    /// ```
    /// use huiyan::MhaConfig;
    /// let cfg = MhaConfig::new(32, 4)?.with_kv_dims(48, 16);
    /// assert_eq!((cfg.embed_dim, cfg.kdim, cfg.vdim), (32, 48, 16));
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn with_kv_dims(self, kdim: usize, vdim: usize) -> Self {
        MhaConfig { kdim, vdim, ..self }
    }

    fn validate(&self) -> Result<(), Error> {
        for (v, dim) in [
            (self.embed_dim, Dim::Embed),
            (self.num_heads, Dim::HeadsQ),
            (self.num_kv_heads, Dim::HeadsKv),
            (self.head_dim, Dim::DimQk),
            (self.kdim, Dim::KeyIn),
            (self.vdim, Dim::ValueIn),
        ] {
            if v == 0 {
                return Err(Error::ZeroDim { dim });
            }
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return Err(Error::HeadsNotDivisible {
                heads_q: self.num_heads,
                heads_kv: self.num_kv_heads,
            });
        }
        product(&[
            self.num_heads,
            self.head_dim,
            self.embed_dim.max(self.kdim).max(self.vdim),
        ])
        .ok_or(Error::Overflow {
            operand: Operand::Wq,
        })?;
        Ok(())
    }

    fn q_out(&self) -> usize {
        self.num_heads * self.head_dim
    }

    fn kv_out(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }
}

/// Projection weights of a [`MultiHeadAttention`] layer, borrowed from plain slices of `f32`,
/// [`bf16`](crate::bf16) or [`f16`](crate::f16) (`W`; the biases are widened to `f32` when the
/// layer is built, the weights kept in `W` and widened as each product packs them).
///
/// Layout: PyTorch's `nn.Linear` — each weight is `[out_features, in_features]`, row-major,
/// and a projection computes `y = x·Wᵀ + b`. So a PyTorch state dict's tensors can be copied
/// in as they are.
///
/// | weight | shape | bias |
/// |---|---|---|
/// | `wq` | `[Hq·d, E]` | `bq: [Hq·d]` |
/// | `wk` | `[Hkv·d, kdim]` | `bk: [Hkv·d]` |
/// | `wv` | `[Hkv·d, vdim]` | `bv: [Hkv·d]` |
/// | `wo` | `[E, Hq·d]` | `bo: [E]` |
#[derive(Clone, Copy, Debug, Default)]
pub struct MhaWeights<'a, W = f32> {
    /// Query projection `[Hq·d, E]`.
    pub wq: &'a [W],
    /// Key projection `[Hkv·d, kdim]`.
    pub wk: &'a [W],
    /// Value projection `[Hkv·d, vdim]`.
    pub wv: &'a [W],
    /// Output projection `[E, Hq·d]`.
    pub wo: &'a [W],
    /// Optional query bias `[Hq·d]`.
    pub bq: Option<&'a [W]>,
    /// Optional key bias `[Hkv·d]`.
    pub bk: Option<&'a [W]>,
    /// Optional value bias `[Hkv·d]`.
    pub bv: Option<&'a [W]>,
    /// Optional output bias `[E]`.
    pub bo: Option<&'a [W]>,
}

/// Which attention weights [`MultiHeadAttention::forward`] should also return.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NeedWeights {
    /// None (the default: nothing `[Lq, Lk]`-sized is ever materialised).
    #[default]
    No,
    /// Per head: `[B, Hq, Lq, Lk]`.
    PerHead,
    /// Averaged over heads: `[B, Lq, Lk]` (PyTorch's `average_attn_weights=True`).
    Averaged,
}

/// Largest attention-weight tensor [`MultiHeadAttention::forward`] will materialise, in
/// elements (64 Mi f32 = 256 MiB). Above it the call fails with [`Error::TooLarge`].
pub const MAX_WEIGHTS_ELEMENTS: usize = 64 << 20;

/// Multi-head attention with Wq/Wk/Wv/Wo (+ optional biases), GQA, self and cross attention.
///
/// Owns a copy of its weights (in their own element type `W`: `f32`, [`bf16`](crate::bf16) or
/// [`f16`](crate::f16)) and reusable scratch: after the first call with a given shape,
/// [`forward`](Self::forward) allocates nothing. Inputs may be any of the three types too;
/// everything is computed in `f32`, and a half-precision layer gives the bits of the `f32`
/// layer built from the widened weights.
///
/// ```
/// use huiyan::{AttentionOptions, MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights};
/// let cfg = MhaConfig::new(8, 2)?; // E = 8, 2 heads of 4
/// let eye: Vec<f32> = (0..64).map(|i| if i % 9 == 0 { 1.0 } else { 0.0 }).collect();
/// let w = MhaWeights { wq: &eye, wk: &eye, wv: &eye, wo: &eye, ..Default::default() };
/// let mut mha = MultiHeadAttention::new(cfg, &w)?;
/// let x = vec![0.5f32; 3 * 8]; // [B = 1, L = 3, E = 8]
/// let mut out = vec![0.0f32; 3 * 8];
/// mha.forward(&x, &x, &x, 1, 3, 3, &AttentionOptions::default(), &mut out, NeedWeights::No, None)?;
/// assert!(out.iter().all(|&v| (v - 0.5).abs() < 1e-6)); // identity weights, equal rows
/// # Ok::<(), huiyan::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MultiHeadAttention<W = f32> {
    cfg: MhaConfig,
    wq: Vec<W>,
    wk: Vec<W>,
    wv: Vec<W>,
    wo: Vec<W>,
    bq: Option<Vec<f32>>,
    bk: Option<Vec<f32>>,
    bv: Option<Vec<f32>>,
    bo: Option<Vec<f32>>,
    scratch: Scratch,
}

#[derive(Clone, Debug, Default)]
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    o: Vec<f32>,
    /// One row of logits for the attention weights.
    row: Vec<f32>,
}

fn need<T>(op: Operand, s: &[T], needed: usize) -> Result<(), Error> {
    if s.len() != needed {
        // Weights must match exactly: a longer slice almost always means a wrong shape.
        return Err(Error::SliceTooShort {
            operand: op,
            needed,
            got: s.len(),
        });
    }
    Ok(())
}

/// The values of `s` as `f32` (exact).
fn widened<T: Element>(s: &[T]) -> Vec<f32> {
    s.iter().map(|x| x.widen()).collect()
}

/// `y[rows, out] = x[rows, in]·Wᵀ (+ b)`, through huiyan's matmul.
#[allow(clippy::too_many_arguments)]
fn linear<X: Element, W: Element>(
    kernels: &Kernels,
    x: &[X],
    rows: usize,
    inp: usize,
    w: &[W],
    out: usize,
    b: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), Error> {
    let beta = match b {
        Some(b) => {
            for row in y.chunks_exact_mut(out).take(rows) {
                row.copy_from_slice(b);
            }
            1.0
        }
        None => 0.0,
    };
    crate::matmul_with(
        kernels,
        1.0,
        MatRef::row_major(x, rows, inp),
        MatRef::row_major(w, out, inp).t(),
        beta,
        MatMut::row_major(y, rows, out),
    )
}

impl<W: Element> MultiHeadAttention<W> {
    /// Builds the layer, copying and checking the weights (lengths must match the config
    /// exactly: [`Error::SliceTooShort`] names the weight and the length it needs).
    ///
    /// ```
    /// use huiyan::{Error, MhaConfig, MhaWeights, MultiHeadAttention, Operand};
    /// let cfg = MhaConfig::new(4, 2)?; // Wq, Wk, Wv, Wo are all [4, 4]
    /// let w16 = vec![0.1f32; 16];
    /// let w = MhaWeights { wq: &w16, wk: &w16, wv: &w16, wo: &w16, ..Default::default() };
    /// assert!(MultiHeadAttention::new(cfg, &w).is_ok());
    /// // A weight of the wrong length is named in the error.
    /// let w12 = vec![0.1f32; 12];
    /// let bad = MhaWeights { wk: &w12, ..w };
    /// let err = MultiHeadAttention::new(cfg, &bad).unwrap_err();
    /// assert_eq!(err, Error::SliceTooShort { operand: Operand::Wk, needed: 16, got: 12 });
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(cfg: MhaConfig, w: &MhaWeights<'_, W>) -> Result<Self, Error> {
        cfg.validate()?;
        let (e, qo, kvo) = (cfg.embed_dim, cfg.q_out(), cfg.kv_out());
        need(Operand::Wq, w.wq, qo * e)?;
        need(Operand::Wk, w.wk, kvo * cfg.kdim)?;
        need(Operand::Wv, w.wv, kvo * cfg.vdim)?;
        need(Operand::Wo, w.wo, e * qo)?;
        for (b, n) in [(w.bq, qo), (w.bk, kvo), (w.bv, kvo), (w.bo, e)] {
            if let Some(b) = b {
                need(Operand::ProjBias, b, n)?;
            }
        }
        Ok(MultiHeadAttention {
            cfg,
            wq: w.wq.to_vec(),
            wk: w.wk.to_vec(),
            wv: w.wv.to_vec(),
            wo: w.wo.to_vec(),
            bq: w.bq.map(widened),
            bk: w.bk.map(widened),
            bv: w.bv.map(widened),
            bo: w.bo.map(widened),
            scratch: Scratch::default(),
        })
    }

    /// The layer's shape.
    ///
    /// ```
    /// use huiyan::{MhaConfig, MhaWeights, MultiHeadAttention};
    /// let cfg = MhaConfig::new(4, 2)?.with_kv_heads(1);
    /// let (wq, wkv) = (vec![0.0f32; 16], vec![0.0f32; 8]); // Hkv·d = 2
    /// let w = MhaWeights { wq: &wq, wk: &wkv, wv: &wkv, wo: &wq, ..Default::default() };
    /// let mha = MultiHeadAttention::new(cfg, &w)?;
    /// assert_eq!(*mha.config(), cfg);
    /// assert_eq!(mha.config().num_kv_heads, 1);
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn config(&self) -> &MhaConfig {
        &self.cfg
    }

    /// Self or cross attention over batch-first inputs.
    ///
    /// * `query`: `[batch, len_q, E]`; `key`: `[batch, len_kv, kdim]`; `value`:
    ///   `[batch, len_kv, vdim]` (self attention: pass the same slice three times);
    /// * `opts`: every attention option ([`AttentionOptions`]) passed through to the kernel
    ///   (masks broadcast over `[batch, Hq, len_q, len_kv]`);
    /// * `out`: `[batch, len_q, E]`;
    /// * `weights`/`weights_out`: the attention weights for inspection, materialised only when
    ///   asked: `[batch, Hq, len_q, len_kv]` (`PerHead`) or `[batch, len_q, len_kv]`
    ///   (`Averaged`); rows of fully masked queries are 0. Refused above
    ///   [`MAX_WEIGHTS_ELEMENTS`]. Computed by [`attention_weights`](crate::attention_weights)
    ///   at `O(batch·Hq·len_q·len_kv·head_dim)` extra time and one `len_kv` row of scratch.
    ///
    /// On `Err`, `out` and `weights_out` are untouched.
    ///
    /// ```
    /// use huiyan::{AttentionOptions, MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights};
    /// let cfg = MhaConfig::new(4, 2)?; // E = 4, 2 heads of 2
    /// let eye: Vec<f32> = (0..16).map(|i| if i % 5 == 0 { 1.0 } else { 0.0 }).collect();
    /// let w = MhaWeights { wq: &eye, wk: &eye, wv: &eye, wo: &eye, ..Default::default() };
    /// let mut mha = MultiHeadAttention::new(cfg, &w)?;
    /// // Cross attention: 2 queries against 3 keys/values (B = 1).
    /// let q = vec![1.0f32; 2 * 4];
    /// let kv = vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0];
    /// let mut out = vec![0.0f32; 2 * 4];
    /// let mut wts = vec![0.0f32; 2 * 3]; // averaged over heads: [B, Lq, Lk]
    /// let opts = AttentionOptions::default();
    /// mha.forward(&q, &kv, &kv, 1, 2, 3, &opts, &mut out, NeedWeights::Averaged, Some(&mut wts))?;
    /// // Each query's weights form a distribution over the 3 keys, favouring the largest key.
    /// for row in wts.chunks(3) {
    ///     assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    ///     assert!(row[2] > row[1] && row[1] > row[0]);
    /// }
    /// // With identity projections the output is the weighted mean of the values.
    /// let mean: f32 = wts[..3].iter().zip([0.0, 1.0, 2.0]).map(|(w, v)| w * v).sum();
    /// assert!(out.iter().all(|&o| (o - mean).abs() < 1e-5));
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn forward<X: Element>(
        &mut self,
        query: &[X],
        key: &[X],
        value: &[X],
        batch: usize,
        len_q: usize,
        len_kv: usize,
        opts: &AttentionOptions<'_>,
        out: &mut [f32],
        weights: NeedWeights,
        weights_out: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        self.forward_with(
            crate::dispatch::kernels(),
            query,
            key,
            value,
            batch,
            len_q,
            len_kv,
            opts,
            out,
            weights,
            weights_out,
        )
    }

    /// [`forward`](Self::forward) with an explicit kernel table (for example one of
    /// [`dispatch::available`](crate::dispatch::available)) for every matmul and attention
    /// call it makes.
    ///
    /// ```
    /// use huiyan::{AttentionOptions, MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights};
    /// let cfg = MhaConfig::new(4, 2)?;
    /// let eye: Vec<f32> = (0..16).map(|i| if i % 5 == 0 { 1.0 } else { 0.0 }).collect();
    /// let w = MhaWeights { wq: &eye, wk: &eye, wv: &eye, wo: &eye, ..Default::default() };
    /// let mut mha = MultiHeadAttention::new(cfg, &w)?;
    /// let x = [0.25f32, -1.0, 2.0, 0.5]; // one token: attention to itself returns it
    /// for k in huiyan::dispatch::available() {
    ///     let mut out = [0.0f32; 4];
    ///     mha.forward_with(&k, &x, &x, &x, 1, 1, 1, &AttentionOptions::default(), &mut out,
    ///                      NeedWeights::No, None)?;
    ///     assert_eq!(out, x, "{}", k.isa().name());
    /// }
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn forward_with<X: Element>(
        &mut self,
        kernels: &Kernels,
        query: &[X],
        key: &[X],
        value: &[X],
        batch: usize,
        len_q: usize,
        len_kv: usize,
        opts: &AttentionOptions<'_>,
        out: &mut [f32],
        weights: NeedWeights,
        weights_out: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        let c = self.cfg;
        let (e, d, hq, hkv) = (c.embed_dim, c.head_dim, c.num_heads, c.num_kv_heads);
        let ov = |op| Error::Overflow { operand: op };
        let rows_q = product(&[batch, len_q]).ok_or(ov(Operand::Input))?;
        let rows_k = product(&[batch, len_kv]).ok_or(ov(Operand::Context))?;
        let len = |op, got: usize, n: Option<usize>| -> Result<(), Error> {
            let n = n.ok_or(ov(op))?;
            if got < n {
                return Err(Error::SliceTooShort {
                    operand: op,
                    needed: n,
                    got,
                });
            }
            Ok(())
        };
        len(Operand::Input, query.len(), rows_q.checked_mul(e))?;
        len(Operand::Context, key.len(), rows_k.checked_mul(c.kdim))?;
        len(Operand::Context, value.len(), rows_k.checked_mul(c.vdim))?;
        len(Operand::O, out.len(), rows_q.checked_mul(e))?;
        let wdims = match weights {
            NeedWeights::No => None,
            NeedWeights::PerHead => Some([batch, hq, len_q, len_kv]),
            NeedWeights::Averaged => Some([batch, 1, len_q, len_kv]),
        };
        if let Some(wd) = wdims {
            let n = product(&wd).ok_or(ov(Operand::Weights))?;
            if n > MAX_WEIGHTS_ELEMENTS {
                return Err(Error::TooLarge {
                    operand: Operand::Weights,
                    elements: n,
                    limit: MAX_WEIGHTS_ELEMENTS,
                });
            }
            let got = weights_out.as_deref().map_or(0, <[f32]>::len);
            if got < n {
                return Err(Error::SliceTooShort {
                    operand: Operand::Weights,
                    needed: n,
                    got,
                });
            }
        }
        // Validate the attention call itself (masks, padding, scale, …) before writing
        // anything the caller can see: check it on the scratch shapes with empty data first.
        let qd = [batch, hq, len_q, d];
        let kd = [batch, hkv, len_kv, d];
        let s = &mut self.scratch;
        s.q.resize(rows_q * hq * d, 0.0);
        s.k.resize(rows_k * hkv * d, 0.0);
        s.v.resize(rows_k * hkv * d, 0.0);
        s.o.resize(rows_q * hq * d, 0.0);
        huiyan_kernels::shape::check_attention(
            &Tensor4Ref::bshd(&s.q, qd),
            &Tensor4Ref::bshd(&s.k, kd),
            &Tensor4Ref::bshd(&s.v, kd),
            &Tensor4Mut::bshd(&mut s.o, qd),
            opts,
            None,
        )?;

        // Projections: [B·L, in] · Wᵀ → [B·L, H·d], which *is* BSHD memory: no head split copy.
        linear(
            kernels,
            query,
            rows_q,
            e,
            &self.wq,
            hq * d,
            self.bq.as_deref(),
            &mut s.q,
        )?;
        linear(
            kernels,
            key,
            rows_k,
            c.kdim,
            &self.wk,
            hkv * d,
            self.bk.as_deref(),
            &mut s.k,
        )?;
        linear(
            kernels,
            value,
            rows_k,
            c.vdim,
            &self.wv,
            hkv * d,
            self.bv.as_deref(),
            &mut s.v,
        )?;
        crate::attention_with(
            kernels,
            Tensor4Ref::bshd(&s.q, qd),
            Tensor4Ref::bshd(&s.k, kd),
            Tensor4Ref::bshd(&s.v, kd),
            Tensor4Mut::bshd(&mut s.o, qd),
            opts,
            None,
        )?;
        if let (Some(wd), Some(wout)) = (wdims, weights_out) {
            // Only a non-empty weights tensor bounds `len_kv` (by MAX_WEIGHTS_ELEMENTS): with
            // `batch` or `len_q` 0 it may be anything. (Regression, from fuzz/mha_layer: a raw
            // `len_kv` near 2⁶⁰ with `len_q = 0` sized this row and aborted on the allocation.)
            if !wd.contains(&0) {
                s.row.resize(
                    huiyan_kernels::attention::attention_weights_workspace_len(len_kv),
                    0.0,
                );
            }
            huiyan_kernels::attention::attention_weights(
                Tensor4Ref::bshd(&s.q, qd),
                Tensor4Ref::bshd(&s.k, kd),
                opts,
                Tensor4Mut::bhsd(wout, wd),
                &mut s.row,
            )?;
        }
        // Merge heads (already interleaved: [B, Lq, Hq·d]) and project out.
        linear(
            kernels,
            &s.o,
            rows_q,
            hq * d,
            &self.wo,
            e,
            self.bo.as_deref(),
            out,
        )
    }
}
