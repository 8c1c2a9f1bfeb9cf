//! A BERT encoder in `f64`, naive and straight from the formulas (the oracle of
//! `huiyan-embed`'s tests), and a first-order error bound for one layer of an `f32`
//! implementation built from the kernels' own bounds ([`tol`](crate::tol)).
//!
//! Weights come through a closure (`name, shape → row-major f32`), PyTorch's layout (`[out,
//! in]` for a linear weight), so the oracle shares no code with the implementation under test.
//!
//! **Per-layer bound** ([`RefBert::layer_bound`]). Layer `l` is checked on the implementation's
//! own input to it (its layer `l − 1` output, taken as exact), so errors do not compound and
//! each bound is that layer's. With `U = 2⁻²⁴` and `|·|` elementwise, every quantity below is
//! computed in `f64` from the reference's intermediate values:
//!
//! * a projection `y = x·W + b` with input error `Δx`: `|Δy| ≤ (k + 4)U·(|x||W| + |b|) + |Δx||W|`
//!   (the gemm bound of `tol::gemm`, plus the input error carried through `|W|`);
//! * attention per head, logits `t = s·q·k` (`s = 1/√d`): `|Δt_ij| ≤ s(|Δq_i||k_j| +
//!   |q_i||Δk_j|) + (d + 4)U·s|q_i||k_j|`; probabilities `|ΔP_ij| ≤ P_ij(|Δt_ij| + Σ_k P_ik|Δt_ik|
//!   + δ)`, `δ = (2·EXP_ULP + 4 + Lk)U` (the softmax bound's terms); output
//!   `|Δo| ≤ Σ_j (|ΔP_ij||v_j| + P_ij|Δv_j|) + (Lk + 4)U·Σ_j P_ij|v_j|`;
//! * GELU: slope at most 1.13, plus `(2·GELU_ULP + 1)U|gelu|`;
//! * LayerNorm with input error `Δz` (row of `n`): `d = z − μ`, `|Δd_j| ≤ |Δz_j| + mean|Δz| +
//!   (n + 3)U·mean|z|`, `ρ = Σ|d||Δd|/(n·σ²_ε) + 3U` (`σ²_ε = σ² + eps`), and
//!   `|Δy_j| ≤ |γ_j|/σ_ε·(|Δd_j| + |d_j|(ρ + (n + 2)U)) + 2U|y_j|`.

/// Sizes of the encoder (the keys of a BERT `config.json`).
#[derive(Clone, Copy, Debug)]
pub struct RefConfig {
    /// Vocabulary size.
    pub vocab: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Number of layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Position embeddings.
    pub max_positions: usize,
    /// Token types.
    pub type_vocab: usize,
    /// LayerNorm epsilon.
    pub eps: f64,
}

struct Lin {
    w: Vec<f64>, // [out, in]
    b: Vec<f64>,
    n_in: usize,
    n_out: usize,
}

struct Ln {
    g: Vec<f64>,
    b: Vec<f64>,
}

struct Layer {
    q: Lin,
    k: Lin,
    v: Lin,
    o: Lin,
    ln1: Ln,
    ffn_in: Lin,
    ffn_out: Lin,
    ln2: Ln,
}

/// The `f64` BERT encoder (see the [module docs](self)).
pub struct RefBert {
    cfg: RefConfig,
    word: Vec<f64>,
    pos: Vec<f64>,
    type0: Vec<f64>,
    emb_ln: Ln,
    layers: Vec<Layer>,
}

fn f64s(v: Vec<f32>) -> Vec<f64> {
    v.into_iter().map(f64::from).collect()
}

/// Values and error bounds of a row-major `[t, n]` activation.
struct Val {
    x: Vec<f64>,
    e: Vec<f64>,
}

impl Lin {
    /// `x·Wᵀ + b` and its bound, `x` with error `ex` (`t` rows).
    fn apply(&self, x: &[f64], ex: &[f64], t: usize) -> Val {
        let (ni, no) = (self.n_in, self.n_out);
        let mut y = vec![0.0; t * no];
        let mut e = vec![0.0; t * no];
        let c = (ni as f64 + 4.0) * crate::tol::U;
        for r in 0..t {
            let (xr, er) = (&x[r * ni..][..ni], &ex[r * ni..][..ni]);
            for o in 0..no {
                let w = &self.w[o * ni..][..ni];
                let (mut s, mut mag, mut prop) = (self.b[o], self.b[o].abs(), 0.0);
                for i in 0..ni {
                    s += xr[i] * w[i];
                    mag += (xr[i] * w[i]).abs();
                    prop += er[i] * w[i].abs();
                }
                y[r * no + o] = s;
                e[r * no + o] = c * mag + prop;
            }
        }
        Val { x: y, e }
    }
}

impl Ln {
    /// LayerNorm of `z` (with error `ez`) and its bound.
    fn apply(&self, z: &[f64], ez: &[f64], t: usize, eps: f64) -> Val {
        let n = self.g.len();
        let nf = n as f64;
        let u = crate::tol::U;
        let mut y = vec![0.0; t * n];
        let mut e = vec![0.0; t * n];
        for r in 0..t {
            let (zr, er) = (&z[r * n..][..n], &ez[r * n..][..n]);
            let mean = zr.iter().sum::<f64>() / nf;
            let var = zr.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / nf;
            let se = (var + eps).sqrt();
            let mean_abs = zr.iter().map(|v| v.abs()).sum::<f64>() / nf;
            let mean_e = er.iter().sum::<f64>() / nf;
            let dd: Vec<f64> = (0..n)
                .map(|j| er[j] + mean_e + (nf + 3.0) * u * mean_abs + u * (zr[j] - mean).abs())
                .collect();
            let rho = (0..n).map(|j| (zr[j] - mean).abs() * dd[j]).sum::<f64>()
                / (nf * (var + eps))
                + 3.0 * u;
            for j in 0..n {
                let d = zr[j] - mean;
                let out = d / se * self.g[j] + self.b[j];
                y[r * n + j] = out;
                e[r * n + j] = self.g[j].abs() / se * (dd[j] + d.abs() * (rho + (nf + 2.0) * u))
                    + 2.0 * u * out.abs();
            }
        }
        Val { x: y, e }
    }
}

impl RefBert {
    /// The encoder whose tensors `get(name, shape)` returns (names as in a BERT checkpoint
    /// without the `bert.` prefix; `get` must return exactly `shape`'s element count).
    pub fn new(cfg: RefConfig, mut get: impl FnMut(&str, &[usize]) -> Vec<f32>) -> Self {
        let (h, i) = (cfg.hidden, cfg.intermediate);
        let mut lin = |name: &str, n_in: usize, n_out: usize| Lin {
            w: f64s(get(&format!("{name}.weight"), &[n_out, n_in])),
            b: f64s(get(&format!("{name}.bias"), &[n_out])),
            n_in,
            n_out,
        };
        let mut layers = Vec::new();
        for l in 0..cfg.layers {
            let p = format!("encoder.layer.{l}.");
            let s = format!("{p}attention.self.");
            let q = lin(&format!("{s}query"), h, h);
            let k = lin(&format!("{s}key"), h, h);
            let v = lin(&format!("{s}value"), h, h);
            let o = lin(&format!("{p}attention.output.dense"), h, h);
            let ffn_in = lin(&format!("{p}intermediate.dense"), h, i);
            let ffn_out = lin(&format!("{p}output.dense"), i, h);
            layers.push((p, q, k, v, o, ffn_in, ffn_out));
        }
        let mut ln = |name: &str| Ln {
            g: f64s(get(&format!("{name}.weight"), &[h])),
            b: f64s(get(&format!("{name}.bias"), &[h])),
        };
        let layers = layers
            .into_iter()
            .map(|(p, q, k, v, o, ffn_in, ffn_out)| Layer {
                q,
                k,
                v,
                o,
                ln1: ln(&format!("{p}attention.output.LayerNorm")),
                ffn_in,
                ffn_out,
                ln2: ln(&format!("{p}output.LayerNorm")),
            })
            .collect();
        let emb_ln = ln("embeddings.LayerNorm");
        let types = get(
            "embeddings.token_type_embeddings.weight",
            &[cfg.type_vocab, h],
        );
        RefBert {
            word: f64s(get("embeddings.word_embeddings.weight", &[cfg.vocab, h])),
            pos: f64s(get(
                "embeddings.position_embeddings.weight",
                &[cfg.max_positions, h],
            )),
            type0: f64s(types[..h].to_vec()),
            emb_ln,
            layers,
            cfg,
        }
    }

    /// The embedding layer's output for one sentence (`[t, hidden]`).
    pub fn embeddings(&self, ids: &[u32]) -> Vec<f64> {
        let h = self.cfg.hidden;
        let mut z = vec![0.0; ids.len() * h];
        for (p, &id) in ids.iter().enumerate() {
            for j in 0..h {
                z[p * h + j] = self.word[id as usize * h + j] + self.type0[j] + self.pos[p * h + j];
            }
        }
        let zero = vec![0.0; z.len()];
        self.emb_ln.apply(&z, &zero, ids.len(), self.cfg.eps).x
    }

    /// Layer `l` on input `x` (`[t, hidden]`, taken as exact): `(output, bound)`, the bound as
    /// derived in the [module docs](self).
    pub fn layer_bound(&self, l: usize, x: &[f64], t: usize) -> (Vec<f64>, Vec<f64>) {
        let (h, nh) = (self.cfg.hidden, self.cfg.heads);
        let d = h / nh;
        let u = crate::tol::U;
        let lay = &self.layers[l];
        let zero = vec![0.0; t * h];
        let (q, k, v) = (
            lay.q.apply(x, &zero, t),
            lay.k.apply(x, &zero, t),
            lay.v.apply(x, &zero, t),
        );
        let s = 1.0 / (d as f64).sqrt();
        let mut ctx = Val {
            x: vec![0.0; t * h],
            e: vec![0.0; t * h],
        };
        let delta = (2.0 * crate::tol::EXP_ULP + 4.0 + t as f64) * u;
        for hd in 0..nh {
            let at = |m: &Vec<f64>, r: usize, c: usize| m[r * h + hd * d + c];
            for i in 0..t {
                let mut logit = vec![0.0; t];
                let mut dt = vec![0.0; t];
                for j in 0..t {
                    let (mut dot, mut mag, mut prop) = (0.0, 0.0, 0.0);
                    for c in 0..d {
                        let (qv, kv) = (at(&q.x, i, c), at(&k.x, j, c));
                        dot += qv * kv;
                        mag += (qv * kv).abs();
                        prop += at(&q.e, i, c) * kv.abs() + qv.abs() * at(&k.e, j, c);
                    }
                    logit[j] = s * dot;
                    dt[j] = s * prop + (d as f64 + 4.0) * u * s * mag;
                }
                let m = logit.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = logit.iter().map(|t| (t - m).exp()).collect();
                let sum: f64 = w.iter().sum();
                let p: Vec<f64> = w.iter().map(|w| w / sum).collect();
                let mean_dt: f64 = (0..t).map(|j| p[j] * dt[j]).sum();
                for c in 0..d {
                    let (mut o, mut e, mut mag) = (0.0, 0.0, 0.0);
                    for j in 0..t {
                        let vv = at(&v.x, j, c);
                        o += p[j] * vv;
                        mag += p[j] * vv.abs();
                        e += p[j] * (dt[j] + mean_dt + delta) * vv.abs() + p[j] * at(&v.e, j, c);
                    }
                    ctx.x[i * h + hd * d + c] = o;
                    ctx.e[i * h + hd * d + c] = e + (t as f64 + 4.0) * u * mag;
                }
            }
        }
        let mut a = lay.o.apply(&ctx.x, &ctx.e, t);
        for (av, xv) in a.x.iter_mut().zip(x) {
            *av += xv;
        }
        let a1 = lay.ln1.apply(&a.x, &a.e, t, self.cfg.eps);
        let mut f = lay.ffn_in.apply(&a1.x, &a1.e, t);
        for (fv, fe) in f.x.iter_mut().zip(f.e.iter_mut()) {
            let g = huiyan_kernels::reference::gelu(*fv);
            *fe = 1.13 * *fe + (2.0 * crate::tol::GELU_ULP + 1.0) * u * g.abs();
            *fv = g;
        }
        let mut o = lay.ffn_out.apply(&f.x, &f.e, t);
        for ((ov, oe), (av, ae)) in
            o.x.iter_mut()
                .zip(o.e.iter_mut())
                .zip(a1.x.iter().zip(&a1.e))
        {
            *ov += av;
            *oe += ae;
        }
        let out = lay.ln2.apply(&o.x, &o.e, t, self.cfg.eps);
        (out.x, out.e)
    }

    /// Every hidden state of one sentence: after the embeddings (index 0) and after each
    /// layer, each `[t, hidden]`.
    pub fn hidden_states(&self, ids: &[u32]) -> Vec<Vec<f64>> {
        let t = ids.len();
        let mut out = vec![self.embeddings(ids)];
        for l in 0..self.cfg.layers {
            let next = self.layer_bound(l, out.last().expect("one state"), t).0;
            out.push(next);
        }
        out
    }

    /// The sentence embedding: the mean of the last hidden states over the tokens, L2
    /// normalised.
    pub fn embed(&self, ids: &[u32]) -> Vec<f64> {
        let h = self.cfg.hidden;
        let last = self
            .hidden_states(ids)
            .pop()
            .expect("at least the embeddings");
        let t = ids.len().max(1) as f64;
        let mut m = vec![0.0; h];
        for r in last.chunks(h) {
            for (a, v) in m.iter_mut().zip(r) {
                *a += v / t;
            }
        }
        let n = m.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        m.iter().map(|v| v / n).collect()
    }
}
