//! The BERT encoder on huiyan: weights prepacked once at load, every sentence of a group packed
//! end to end (no padding anywhere), one huiyan call per operation.
//!
//! Per layer, for the `T` tokens of a group (`h` is `[T, H]`):
//!
//! 1. `qkv = h·W_qkvᵀ + b_qkv` — one matmul for the three projections (`[T, 3H]`: Q | K | V);
//! 2. `ctx = attention_varlen(Q, K, V)`, the heads read in place from `qkv` by strides, each
//!    sentence seeing only its own keys (`cu_seqlens`);
//! 3. `a = LayerNorm(ctx·W_oᵀ + b_o + h)` — the matmul, then one fused row pass;
//! 4. `f = gelu(a·W_1ᵀ + b_1)` — the matmul, then one fused row pass;
//! 5. `h = LayerNorm(f·W_2ᵀ + b_2 + a)`.
//!
//! Threads: each call is a huiyan job (with the `rayon` feature, spread over the pool, same
//! bits for any thread count); the gathers and the pooling here are sequential.

use huiyan::dispatch::Kernels;
use huiyan::{
    Activation, AttentionOptions, LayerNormOptions, MatMut, MatRef, Tensor4Mut, Tensor4Ref,
};

use crate::config::BertConfig;
use crate::error::EmbedError;
use crate::weights::TensorFile;

/// A linear layer `y = x·Wᵀ + b` with `W` packed once, at load, into the microkernel's panel
/// layout of the kernel table it will run on ([`huiyan::PackedB`]): no call packs a weight.
pub(crate) struct Linear {
    w: huiyan::PackedB,
    pub(crate) b: Vec<f32>,
    pub(crate) n_out: usize,
}

impl Linear {
    /// Reads the `[out, in]` weights and `[out]` biases of `names` (several are concatenated
    /// along the output axis: the fused QKV projection) and packs `Wᵀ` for `k`.
    fn load(
        f: &mut TensorFile,
        k: &Kernels,
        names: &[&str],
        n_in: usize,
        n_out_each: usize,
    ) -> Result<Self, EmbedError> {
        let n_out = n_out_each * names.len();
        let mut w = Vec::with_capacity(n_in * n_out);
        let mut b = Vec::with_capacity(n_out);
        for name in names {
            w.extend(f.read_f32(&format!("{name}.weight"), &[n_out_each, n_in])?);
            b.extend(f.read_f32(&format!("{name}.bias"), &[n_out_each])?);
        }
        let w = huiyan::PackedB::with_kernels(k, MatRef::row_major(&w, n_out, n_in).t())?;
        Ok(Linear { w, b, n_out })
    }

    /// `out[..rows·n_out] ← x·Wᵀ`, plus the bias in the matmul's write-back when `bias`
    /// (otherwise a later fused row pass adds it).
    pub(crate) fn apply(
        &self,
        x: &[f32],
        rows: usize,
        bias: bool,
        out: &mut [f32],
    ) -> Result<(), EmbedError> {
        let n_in = self.w.k();
        huiyan::matmul_packed(
            1.0,
            MatRef::row_major(&x[..rows * n_in], rows, n_in),
            &self.w,
            0.0,
            MatMut::row_major(&mut out[..rows * self.n_out], rows, self.n_out),
            bias.then_some(&self.b[..]),
        )?;
        Ok(())
    }
}

/// A LayerNorm's `γ` and `β`.
pub(crate) struct Norm {
    pub(crate) g: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

impl Norm {
    /// Options of this LayerNorm with a projection's bias and the residual fused in.
    fn opts<'a>(&'a self, bias: &'a [f32], residual: MatRef<'a>, eps: f32) -> LayerNormOptions<'a> {
        LayerNormOptions {
            gamma: &self.g,
            beta: &self.b,
            bias: Some(bias),
            residual: Some(residual),
            eps,
        }
    }

    fn load(f: &mut TensorFile, name: &str, n: usize) -> Result<Self, EmbedError> {
        Ok(Norm {
            g: f.read_f32(&format!("{name}.weight"), &[n])?,
            b: f.read_f32(&format!("{name}.bias"), &[n])?,
        })
    }
}

/// One transformer layer.
pub(crate) struct Layer {
    pub(crate) qkv: Linear,
    pub(crate) attn_out: Linear,
    pub(crate) ln1: Norm,
    pub(crate) ffn_in: Linear,
    pub(crate) ffn_out: Linear,
    pub(crate) ln2: Norm,
}

/// The whole encoder: embeddings and layers.
pub(crate) struct Encoder {
    pub(crate) cfg: BertConfig,
    /// The kernel table every call uses (the dispatched one unless a caller picks a tier).
    pub(crate) k: Kernels,
    word: Vec<f32>,
    pos: Vec<f32>,
    /// Row 0 of the token-type embeddings (a single-segment input has every type id 0).
    type0: Vec<f32>,
    emb_ln: Norm,
    pub(crate) layers: Vec<Layer>,
}

/// The activations of one group of `T` tokens, reused across layers.
pub(crate) struct Work {
    pub(crate) h: Vec<f32>,
    a: Vec<f32>,
    ctx: Vec<f32>,
    big: Vec<f32>,
}

impl Work {
    pub(crate) fn new(cfg: &BertConfig, tokens: usize) -> Self {
        let h = cfg.hidden;
        Work {
            h: vec![0.0; tokens * h],
            a: vec![0.0; tokens * h],
            ctx: vec![0.0; tokens * h],
            big: vec![0.0; tokens * (3 * h).max(cfg.intermediate)],
        }
    }
}

impl Encoder {
    /// Reads and prepacks every weight the config implies, checking each name, dtype and shape.
    pub(crate) fn load(
        f: &mut TensorFile,
        cfg: BertConfig,
        k: Kernels,
    ) -> Result<Self, EmbedError> {
        let (h, i) = (cfg.hidden, cfg.intermediate);
        let types = f.read_f32(
            "embeddings.token_type_embeddings.weight",
            &[cfg.type_vocab, h],
        )?;
        let mut enc = Encoder {
            cfg,
            k,
            word: f.read_f32("embeddings.word_embeddings.weight", &[cfg.vocab, h])?,
            pos: f.read_f32(
                "embeddings.position_embeddings.weight",
                &[cfg.max_positions, h],
            )?,
            type0: types[..h].to_vec(),
            emb_ln: Norm::load(f, "embeddings.LayerNorm", h)?,
            layers: Vec::with_capacity(cfg.layers),
        };
        for l in 0..cfg.layers {
            let p = format!("encoder.layer.{l}.");
            let s = format!("{p}attention.self.");
            enc.layers.push(Layer {
                qkv: Linear::load(
                    f,
                    &k,
                    &[
                        &format!("{s}query"),
                        &format!("{s}key"),
                        &format!("{s}value"),
                    ],
                    h,
                    h,
                )?,
                attn_out: Linear::load(f, &k, &[&format!("{p}attention.output.dense")], h, h)?,
                ln1: Norm::load(f, &format!("{p}attention.output.LayerNorm"), h)?,
                ffn_in: Linear::load(f, &k, &[&format!("{p}intermediate.dense")], h, i)?,
                ffn_out: Linear::load(f, &k, &[&format!("{p}output.dense")], i, h)?,
                ln2: Norm::load(f, &format!("{p}output.LayerNorm"), h)?,
            });
        }
        Ok(enc)
    }

    /// The embedding layer for the packed `ids` (sentence `s` owns `cu[s]..cu[s + 1]`):
    /// `LayerNorm((word + type₀) + position)` into `w.h`.
    pub(crate) fn embed_tokens(
        &self,
        ids: &[u32],
        cu: &[usize],
        w: &mut Work,
    ) -> Result<(), EmbedError> {
        let h = self.cfg.hidden;
        for s in 0..cu.len() - 1 {
            for (p, t) in (cu[s]..cu[s + 1]).enumerate() {
                let id = ids[t] as usize;
                let (we, pe) = (&self.word[id * h..][..h], &self.pos[p * h..][..h]);
                let out = &mut w.h[t * h..][..h];
                for j in 0..h {
                    out[j] = (we[j] + self.type0[j]) + pe[j];
                }
            }
        }
        let t = ids.len();
        huiyan::layer_norm_inplace_with(
            &self.k,
            MatMut::row_major(&mut w.h[..t * h], t, h),
            &LayerNormOptions {
                gamma: &self.emb_ln.g,
                beta: &self.emb_ln.b,
                bias: None,
                residual: None,
                eps: self.cfg.eps,
            },
        )?;
        Ok(())
    }

    /// Views of Q, K and V of `t` tokens in the fused projection's output (`[t, 3H]`), heads
    /// read in place by strides.
    pub(crate) fn qkv_views<'a>(&self, qkv: &'a [f32], t: usize) -> [Tensor4Ref<'a>; 3] {
        let (h, nh, d) = (self.cfg.hidden, self.cfg.heads, self.cfg.head_dim());
        let dims = [1, nh, t, d];
        let strides = [t * 3 * h, d, 3 * h, 1];
        [0, h, 2 * h].map(|off| Tensor4Ref::new(&qkv[off..t * 3 * h], dims, strides))
    }

    /// Layer `l` on the `t` tokens of `w.h`, in place.
    pub(crate) fn layer(
        &self,
        l: usize,
        cu: &[usize],
        t: usize,
        w: &mut Work,
    ) -> Result<(), EmbedError> {
        let (h, nh, d) = (self.cfg.hidden, self.cfg.heads, self.cfg.head_dim());
        let layer = &self.layers[l];
        // 1.–2. fused QKV projection, attention over each sentence alone.
        layer.qkv.apply(&w.h, t, true, &mut w.big)?;
        let [q, k, v] = self.qkv_views(&w.big, t);
        huiyan::attention_varlen_with(
            &self.k,
            q,
            k,
            v,
            Tensor4Mut::thd(&mut w.ctx[..t * h], [t, nh, d]),
            cu,
            cu,
            &AttentionOptions::default(),
            None,
        )?;
        // 3. a = LN(ctx·Wo + bo + h).
        layer.attn_out.apply(&w.ctx, t, false, &mut w.a)?;
        huiyan::layer_norm_inplace_with(
            &self.k,
            MatMut::row_major(&mut w.a[..t * h], t, h),
            &layer.ln1.opts(
                &layer.attn_out.b,
                MatRef::row_major(&w.h[..t * h], t, h),
                self.cfg.eps,
            ),
        )?;
        // 4. f = gelu(a·W1 + b1).
        let i = layer.ffn_in.n_out;
        layer.ffn_in.apply(&w.a, t, false, &mut w.big)?;
        huiyan::bias_act_with(
            &self.k,
            MatMut::row_major(&mut w.big[..t * i], t, i),
            Some(&layer.ffn_in.b),
            Activation::Gelu,
        )?;
        // 5. h = LN(f·W2 + b2 + a).
        layer.ffn_out.apply(&w.big, t, false, &mut w.h)?;
        huiyan::layer_norm_inplace_with(
            &self.k,
            MatMut::row_major(&mut w.h[..t * h], t, h),
            &layer.ln2.opts(
                &layer.ffn_out.b,
                MatRef::row_major(&w.a[..t * h], t, h),
                self.cfg.eps,
            ),
        )?;
        Ok(())
    }

    /// Mean pooling over each sentence's tokens of `w.h`, then L2 normalisation (the norm
    /// clamped at `1e-12`, as `torch.nn.functional.normalize`), into `out` (`[sentences, H]`).
    pub(crate) fn pool(&self, cu: &[usize], w: &Work, out: &mut [f32]) {
        let h = self.cfg.hidden;
        for s in 0..cu.len() - 1 {
            let o = &mut out[s * h..][..h];
            o.fill(0.0);
            for t in cu[s]..cu[s + 1] {
                for (a, &v) in o.iter_mut().zip(&w.h[t * h..][..h]) {
                    *a += v;
                }
            }
            let n = (cu[s + 1] - cu[s]).max(1) as f32;
            let mut ss = 0.0f32;
            for a in o.iter_mut() {
                *a /= n;
                ss += *a * *a;
            }
            let norm = ss.sqrt().max(1e-12);
            for a in o.iter_mut() {
                *a /= norm;
            }
        }
    }
}
