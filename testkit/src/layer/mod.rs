//! The multi-head attention layer (`huiyan::MultiHeadAttention`) as an owned problem: its
//! weights, inputs and attention options, the layer composed from `huiyan_kernels::reference`,
//! and the error bound of an `f32` layer against that composition. `tests/layer.rs` and
//! `fuzz/mha_layer` both check the layer with [`LayerProblem::expected`].
//!
//! # The composite bound
//!
//! The layer runs `f32` kernels at every stage; the reference composes the `f64` references,
//! each rounded to `f32`. Stage by stage (`Δ` = |kernel − reference| at that stage):
//!
//! 1. projections `Q, K, V = X·Wᵀ + b`: `ΔQ, ΔK, ΔV ≤` [`tol::gemm_bounds`] (which includes the
//!    reference's own rounding, and marks elements whose `f32` sums may overflow UNCHECKED);
//! 2. attention on perturbed inputs. A logit `t_j = s·q·k_j` moves by at most
//!    `D_j = |s|·Σ_e (ΔQ_e|k_je| + |q_e|ΔK_je + ΔQ_eΔK_je)` (softcap's `c·tanh(t/c)` has slope
//!    ≤ 1 and range ±c, so also by at most `2c`); with `D = max_j D_j` over the visible keys,
//!    every weight satisfies `e^{-2D} ≤ p'_j/p_j ≤ e^{2D}` (numerator and normaliser each move
//!    by a factor within `e^{±D}`; a sink's logit does not move), so with `F = e^{2D} − 1`:
//!    `ΔO_e ≤ F·Σ_j p_j|v_je| + (1 + F)·(Σ_j p_j ΔV_je + ob_e + flush)`, where `ob_e` is the
//!    kernel's own error ([`tol::attention_bounds`] at the reference inputs; it scales with
//!    the weights, hence the `1 + F`) and `flush = 2⁻¹²⁶·(Lk + 1)·max|v|` covers reference
//!    weights that underflowed to 0 in `f32`. The weights output gets `F·p_j + (1 + F)·pb_j`
//!    (`pb` = the attention bound with `V = I`); averaged over heads, the sum of the heads'
//!    bounds plus the `f32` average's own `(Hq + 2)·U` relative to `Σ_h (p_h + bound_h)`,
//!    divided by `Hq`;
//! 3. output projection `Y = O·Woᵀ + bo`: `ΔY ≤ gemm_bounds(O_ref, Wo, bo) + (1 + γ)·|Wo|·ΔO`
//!    (`γ = tol::gemm(Hq·d)`: the kernel's rounding is proportional to `|O_kernel| ≤ |O| + ΔO`).
//!
//! A query row is not checked (UNCHECKED) when the contract does not determine it: any
//! non-finite or UNCHECKED element in its projected `q`, or in the projected `k`/`v` of a key it
//! can see (a tiny perturbation of a key sitting next to ±∞ can flip `∞·0` to `±∞`); a logit
//! that may overflow `f32` after perturbation; or a row the attention bound marks UNCHECKED.
//! Output rows mix every head, so one unchecked head leaves the whole `[b, l, :]` row
//! unchecked. Keys a row cannot see (masks, causal, window, padding) are *skipped* by the
//! contract, so NaN in their `k`/`v` leaves the row checked (and it must not reach it).
//! Visibility comes from the reference itself: a run with `q = k = 0` and the structural masks
//! only gives exactly 0 weight to the keys a row cannot see.
//!
//! Like every bound of [`tol`], it is a worst case over summation orders, and it grows with the
//! sizes, mostly through `F` (the projections' errors, each `≈ (K + 4)·U·Σ|x||w|`, reach the
//! logits through a dot product of `d` terms and are amplified by `|Wo|` over `Hq·d`). With
//! inputs, weights and biases uniform in `[−1, 1)` it is `≈ 1e-5` of the largest `|y|` at
//! `E = Hq·d = 8` and `≈ 2e-3` at `E = 64` (`kdim = vdim = 11`, `Lk = 8`); a wrong head
//! mapping, row or layout is off by `O(1)`.

use huiyan_kernels::attention::{AttentionOptions, CausalVariant};
use huiyan_kernels::{reference, MatMut, MatRef, Tensor4Mut, Tensor4Ref};

use crate::problems::Bcast4;
use crate::tol::{self, UNCHECKED};

/// `f32` arithmetic may overflow from here up (as in `tol`).
const F32_OVERFLOW: f64 = f32::MAX as f64 * (1.0 - 1e-3);

/// Shape of one layer call: the fields of `huiyan::MhaConfig` plus the call's batch and
/// lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerShape {
    /// Model dimension `E`: query input and output features.
    pub embed_dim: usize,
    /// Query heads `Hq` (a multiple of `num_kv_heads`).
    pub num_heads: usize,
    /// Key/value heads `Hkv`.
    pub num_kv_heads: usize,
    /// Features per head `d`.
    pub head_dim: usize,
    /// Key input features.
    pub kdim: usize,
    /// Value input features.
    pub vdim: usize,
    /// Batch `B`.
    pub batch: usize,
    /// Query length `Lq`.
    pub len_q: usize,
    /// Key/value length `Lk`.
    pub len_kv: usize,
}

impl LayerShape {
    /// `[in, out]` features of the projections `Wq, Wk, Wv, Wo` (each weight is `out × in`,
    /// row-major, as `huiyan::MhaWeights` and PyTorch's `Linear` store it).
    pub fn projections(&self) -> [[usize; 2]; 4] {
        let (qo, kvo) = (
            self.num_heads * self.head_dim,
            self.num_kv_heads * self.head_dim,
        );
        [
            [self.embed_dim, qo],
            [self.kdim, kvo],
            [self.vdim, kvo],
            [qo, self.embed_dim],
        ]
    }

    /// `[rows, features]` of the query, key and value inputs (`[B, L, features]`).
    pub fn inputs(&self) -> [[usize; 2]; 3] {
        let (rq, rk) = (self.batch * self.len_q, self.batch * self.len_kv);
        [[rq, self.embed_dim], [rk, self.kdim], [rk, self.vdim]]
    }

    /// Elements of the output `[B, Lq, E]`.
    pub fn output_len(&self) -> usize {
        self.batch * self.len_q * self.embed_dim
    }

    /// Elements of the attention weights per head, `[B, Hq, Lq, Lk]`.
    pub fn weights_len(&self) -> usize {
        self.num_heads * self.averaged_weights_len()
    }

    /// Elements of the attention weights averaged over heads, `[B, Lq, Lk]`.
    pub fn averaged_weights_len(&self) -> usize {
        self.batch * self.len_q * self.len_kv
    }
}

/// A multi-head attention layer call with every attention option the layer passes through.
#[derive(Clone, Debug)]
pub struct LayerProblem {
    /// Shape.
    pub shape: LayerShape,
    /// `Wq, Wk, Wv, Wo`, each `out × in` row-major (see [`LayerShape::projections`]).
    pub w: [Vec<f32>; 4],
    /// Optional biases `bq, bk, bv, bo` (`out` elements each).
    pub b: [Option<Vec<f32>>; 4],
    /// Query, key and value inputs, `[B, L, features]` (see [`LayerShape::inputs`]).
    pub x: [Vec<f32>; 3],
    /// `AttentionOptions::scale`.
    pub scale: Option<f32>,
    /// `AttentionOptions::is_causal`.
    pub is_causal: bool,
    /// `AttentionOptions::causal_variant`.
    pub causal_variant: CausalVariant,
    /// `AttentionOptions::key_padding_lens` (one per batch).
    pub key_padding_lens: Option<Vec<usize>>,
    /// `AttentionOptions::window`.
    pub window: Option<usize>,
    /// `AttentionOptions::attn_mask` over `[B, Hq, Lq, Lk]`.
    pub attn_mask: Option<Bcast4<bool>>,
    /// `AttentionOptions::attn_bias` over `[B, Hq, Lq, Lk]`.
    pub attn_bias: Option<Bcast4<f32>>,
    /// `AttentionOptions::alibi_slopes` (one per query head).
    pub alibi_slopes: Option<Vec<f32>>,
    /// `AttentionOptions::softcap`.
    pub softcap: Option<f32>,
    /// `AttentionOptions::sinks` (one per query head).
    pub sinks: Option<Vec<f32>>,
    /// Whether [`expected`](Self::expected) also gives the attention weights.
    pub want_weights: bool,
}

/// The reference answer of a [`LayerProblem`] and its bounds (elements bounded
/// [`UNCHECKED`] are not determined by the contract; see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct LayerExpected {
    /// Output `[B, Lq, E]`.
    pub y: Vec<f32>,
    /// Bound per element of `y`.
    pub y_bounds: Vec<f64>,
    /// Attention weights per head `[B, Hq, Lq, Lk]` and their bounds, when
    /// [`LayerProblem::want_weights`].
    pub weights: Option<(Vec<f32>, Vec<f64>)>,
    /// Attention weights averaged over heads `[B, Lq, Lk]` and their bounds, when
    /// [`LayerProblem::want_weights`].
    pub averaged_weights: Option<(Vec<f32>, Vec<f64>)>,
}

impl LayerProblem {
    /// A call with these weights, biases and inputs, default options and no weights output.
    /// Panics if a length does not match `shape`.
    pub fn new(
        shape: LayerShape,
        w: [Vec<f32>; 4],
        b: [Option<Vec<f32>>; 4],
        x: [Vec<f32>; 3],
    ) -> Self {
        for (i, [inp, out]) in shape.projections().into_iter().enumerate() {
            assert_eq!(w[i].len(), out * inp, "LayerProblem: weight {i}");
            if let Some(b) = &b[i] {
                assert_eq!(b.len(), out, "LayerProblem: bias {i}");
            }
        }
        for (i, [rows, f]) in shape.inputs().into_iter().enumerate() {
            assert_eq!(x[i].len(), rows * f, "LayerProblem: input {i}");
        }
        LayerProblem {
            shape,
            w,
            b,
            x,
            scale: None,
            is_causal: false,
            causal_variant: CausalVariant::UpperLeft,
            key_padding_lens: None,
            window: None,
            attn_mask: None,
            attn_bias: None,
            alibi_slopes: None,
            softcap: None,
            sinks: None,
            want_weights: false,
        }
    }

    /// The options, borrowing this problem's buffers.
    pub fn options(&self) -> AttentionOptions<'_> {
        AttentionOptions {
            scale: self.scale,
            is_causal: self.is_causal,
            causal_variant: self.causal_variant,
            key_padding_lens: self.key_padding_lens.as_deref(),
            window: self.window,
            attn_mask: self.attn_mask.as_ref().map(Bcast4::view),
            attn_bias: self.attn_bias.as_ref().map(Bcast4::view),
            alibi_slopes: self.alibi_slopes.as_deref(),
            softcap: self.softcap,
            sinks: self.sinks.as_deref(),
        }
    }

    /// Projection `i` (`0..4` = q, k, v, out) of `rows` rows of `x` by the reference, with its
    /// [`tol::gemm_bounds`].
    fn project(&self, i: usize, x: &[f32], rows: usize) -> (Vec<f32>, Vec<f64>) {
        let [inp, out] = self.shape.projections()[i];
        let b = self.b[i].as_deref();
        let c0 = match b {
            Some(b) => b.repeat(rows),
            None => vec![0.0; rows * out],
        };
        let beta = if b.is_some() { 1.0 } else { 0.0 };
        let xa = MatRef::row_major(&x[..rows * inp], rows, inp);
        let wt = MatRef::row_major(&self.w[i], out, inp).t();
        let mut y = c0.clone();
        reference::matmul(1.0, xa, wt, beta, MatMut::row_major(&mut y, rows, out))
            .expect("LayerProblem: invalid projection");
        let bound = tol::gemm_bounds(1.0, xa, wt, beta, Some(MatRef::row_major(&c0, rows, out)));
        (y, bound)
    }

    /// The reference composition (projections → `reference::attention` → output projection)
    /// and its composite bound, derived in the [module documentation](self).
    pub fn expected(&self) -> LayerExpected {
        let s = self.shape;
        let opts = self.options();
        let (hq, hkv, d) = (s.num_heads, s.num_kv_heads, s.head_dim);
        let (nb, lq, lk) = (s.batch, s.len_q, s.len_kv);
        let (rq, rk) = (nb * lq, nb * lk);
        let (q, bq) = self.project(0, &self.x[0], rq);
        let (k, bk) = self.project(1, &self.x[1], rk);
        let (v, bv) = self.project(2, &self.x[2], rk);
        let (qd, kd) = ([nb, hq, lq, d], [nb, hkv, lk, d]);
        let (qv, kv, vv) = (
            Tensor4Ref::bshd(&q, qd),
            Tensor4Ref::bshd(&k, kd),
            Tensor4Ref::bshd(&v, kd),
        );
        let mut o = vec![0.0f32; rq * hq * d];
        reference::attention(qv, kv, vv, Tensor4Mut::bshd(&mut o, qd), &opts, None)
            .expect("LayerProblem: invalid attention");
        let (ob, _) = tol::attention_bounds(qv, kv, vv, &opts); // logical [B, Hq, Lq, d]
        let eye = identity(lk);
        let eye_v = Tensor4Ref::new(&eye, [nb, hkv, lk, lk], [0, 0, lk, 1]);
        let p = probabilities(qv, kv, eye_v, &opts);
        // Visibility: q = k = 0 and only the structural masks (causal, window, padding,
        // boolean mask) give every visible key the same positive weight, the others exactly 0.
        // (A −∞ bias is not a structural mask: such keys count as visible here.)
        let (zq, zk) = (vec![0.0f32; q.len()], vec![0.0f32; k.len()]);
        let vis_opts = AttentionOptions {
            scale: Some(1.0),
            attn_bias: None,
            alibi_slopes: None,
            softcap: None,
            sinks: None,
            ..opts
        };
        let (zqv, zkv) = (Tensor4Ref::bshd(&zq, qd), Tensor4Ref::bshd(&zk, kd));
        let vis = probabilities(zqv, zkv, eye_v, &vis_opts);
        let pb = if self.want_weights && lk > 0 {
            tol::attention_bounds(qv, kv, eye_v, &opts).0
        } else {
            vec![0.0; nb * hq * lq * lk]
        };

        let scale = opts.scale.unwrap_or((1.0 / (d as f64).sqrt()) as f32) as f64;
        let group = hq / hkv;
        // Row index helpers: q/o rows are BSHD `[b, i, h, :]`, k/v `[b, j, hk, :]`.
        let qrow = |b: usize, i: usize, h: usize| ((b * lq + i) * hq + h) * d;
        let krow = |b: usize, j: usize, h: usize| ((b * lk + j) * hkv + h) * d;
        // ΔO, BSHD like `o`.
        let mut dout = vec![0.0f64; o.len()];
        // Largest |O| the kernel can produce: a convex combination of its v (Σp ≤ 1).
        let mut omag = vec![0.0f64; o.len()];
        let mut o_unchecked = vec![false; nb * hq * lq]; // [b, h, i]
        let mut pw = vec![0.0f64; nb * hq * lq * lk]; // weights bound, [b, h, i, j]
        let mut w_unchecked = vec![false; nb * hq * lq];
        for b in 0..nb {
            for h in 0..hq {
                let hk = h / group;
                let vmax = (0..lk)
                    .flat_map(|j| &v[krow(b, j, hk)..krow(b, j, hk) + d])
                    .filter(|x| x.is_finite())
                    .fold(0.0f64, |m, &x| m.max((x as f64).abs()));
                // |v| + ΔV over the head's keys, with room for the kernel's rounding.
                let vcap = (0..lk * d)
                    .map(|n| krow(b, n / d, hk) + n % d)
                    .map(|a| (v[a] as f64).abs() + bv[a])
                    .fold(0.0f64, f64::max)
                    * 1.001;
                for i in 0..lq {
                    let r = (b * hq + h) * lq + i;
                    let qr = qrow(b, i, h);
                    let (qe, dq) = (&q[qr..qr + d], &bq[qr..qr + d]);
                    let prow = &p[r * lk..(r + 1) * lk];
                    let visible = |j: usize| vis[r * lk + j] > 0.0;
                    let q_bad = bad(qe, dq);
                    let k_bad = (0..lk).any(|j| {
                        let kr = krow(b, j, hk);
                        visible(j) && bad(&k[kr..kr + d], &bk[kr..kr + d])
                    });
                    let v_bad = (0..lk).any(|j| {
                        let kr = krow(b, j, hk);
                        visible(j) && bad(&v[kr..kr + d], &bv[kr..kr + d])
                    });
                    let (mut dmax, mut overflow) = (0.0f64, false);
                    if !q_bad && !k_bad {
                        for j in (0..lk).filter(|&j| visible(j)) {
                            let kr = krow(b, j, hk);
                            let (ke, dk) = (&k[kr..kr + d], &bk[kr..kr + d]);
                            let (mut dj, mut mag) = (0.0f64, 0.0f64);
                            for x in 0..d {
                                let (qa, ka) = ((qe[x] as f64).abs(), (ke[x] as f64).abs());
                                dj += dq[x] * ka + qa * dk[x] + dq[x] * dk[x];
                                mag += (qa + dq[x]) * (ka + dk[x]);
                            }
                            let bias_j = opts.attn_bias.as_ref().map_or(0.0, |t| {
                                let idx = core::array::from_fn(|a| {
                                    if t.dims[a] == 1 {
                                        0
                                    } else {
                                        [b, h, i, j][a]
                                    }
                                });
                                (*t.get(idx).unwrap() as f64).abs()
                            });
                            let bias_j = if bias_j.is_finite() { bias_j } else { 0.0 };
                            overflow |= mag * scale.abs().max(1.0) + bias_j >= F32_OVERFLOW;
                            dmax = dmax.max(scale.abs() * dj);
                        }
                    }
                    if let Some(cap) = opts.softcap {
                        dmax = dmax.min(2.0 * cap as f64);
                    }
                    // Clamped: `F·0` must stay 0 (a key with v = 0 contributes nothing).
                    let f = (2.0 * dmax).exp_m1().min(f64::MAX);
                    let orow_bounds = &ob[r * d..(r + 1) * d];
                    o_unchecked[r] =
                        q_bad || k_bad || v_bad || overflow || orow_bounds.contains(&UNCHECKED);
                    w_unchecked[r] =
                        q_bad || k_bad || overflow || pb[r * lk..(r + 1) * lk].contains(&UNCHECKED);
                    if !o_unchecked[r] && o[qr..qr + d].iter().all(|x| x.is_finite()) {
                        for x in 0..d {
                            let (mut spv, mut spdv) = (0.0f64, 0.0f64);
                            for (j, &pj) in prow.iter().enumerate() {
                                let (pj, kr) = (pj as f64, krow(b, j, hk));
                                if pj > 0.0 {
                                    spv += pj * (v[kr + x] as f64).abs();
                                    spdv += pj * bv[kr + x];
                                }
                            }
                            let flush = tol::MIN_NORMAL * (lk as f64 + 1.0) * vmax;
                            let dx = f * spv + (1.0 + f) * (spdv + orow_bounds[x] + flush);
                            dout[qr + x] = dx.min(f64::MAX);
                            omag[qr + x] = ((o[qr + x] as f64).abs() + dx).min(vcap);
                        }
                    }
                    if !w_unchecked[r] {
                        for j in 0..lk {
                            let x = r * lk + j;
                            pw[x] = (f * p[x] as f64 + (1.0 + f) * pb[x]).min(f64::MAX);
                        }
                    }
                }
            }
        }
        let (y, y_bounds) = self.output_stage(&o, &dout, &omag, &o_unchecked);
        let (weights, averaged_weights) = if self.want_weights {
            let wb: Vec<f64> = (0..pw.len())
                .map(|x| {
                    if w_unchecked[x / lk.max(1)] {
                        UNCHECKED
                    } else {
                        pw[x]
                    }
                })
                .collect();
            let avg = average_over_heads(&p, &wb, [nb, hq, lq, lk]);
            (Some((p, wb)), Some(avg))
        } else {
            (None, None)
        };
        LayerExpected {
            y,
            y_bounds,
            weights,
            averaged_weights,
        }
    }

    /// Output projection of the reference `o` (`[B, Lq, Hq·d]`) and the bound of `Y` given
    /// the attention stage's `ΔO` (`dout`), the largest `|O|` the kernel can produce (`omag`)
    /// and the unchecked `[b, h, i]` rows.
    fn output_stage(
        &self,
        o: &[f32],
        dout: &[f64],
        omag: &[f64],
        o_unchecked: &[bool],
    ) -> (Vec<f32>, Vec<f64>) {
        let s = self.shape;
        let (e, hq, lq) = (s.embed_dim, s.num_heads, s.len_q);
        let hd = hq * s.head_dim;
        let (y, mut yb) = self.project(3, o, s.batch * lq);
        let gamma = tol::gemm(hd);
        let bo = self.b[3].as_deref();
        for b in 0..s.batch {
            for i in 0..lq {
                let row = b * lq + i;
                let unchecked = (0..hq).any(|h| o_unchecked[(b * hq + h) * lq + i]);
                let (dr, mr) = (
                    &dout[row * hd..(row + 1) * hd],
                    &omag[row * hd..(row + 1) * hd],
                );
                for x in 0..e {
                    let at = row * e + x;
                    let wo = &self.w[3][x * hd..(x + 1) * hd];
                    // A non-finite weight meeting a perturbed O element: `∞·0` in one and
                    // `±∞` in the other is not decided by the contract.
                    let inf_meets_delta =
                        wo.iter().zip(dr).any(|(w, &dd)| !w.is_finite() && dd > 0.0);
                    // The kernel's O may be larger than the reference's: overflow of the sum.
                    let bo = bo.map_or(0.0, |bo| (bo[x] as f64).abs());
                    let mag: f64 = wo
                        .iter()
                        .zip(mr)
                        .filter(|(w, _)| w.is_finite())
                        .map(|(w, m)| (*w as f64).abs() * m)
                        .sum::<f64>()
                        + if bo.is_finite() { bo } else { 0.0 };
                    if unchecked || inf_meets_delta || mag >= F32_OVERFLOW {
                        yb[at] = UNCHECKED;
                    } else if yb[at] != UNCHECKED {
                        let prop: f64 = wo
                            .iter()
                            .zip(dr)
                            .filter(|(_, &dd)| dd > 0.0)
                            .map(|(w, dd)| (*w as f64).abs() * dd)
                            .sum();
                        yb[at] = (yb[at] + (1.0 + gamma) * prop).min(f64::MAX);
                    }
                }
            }
        }
        (y, yb)
    }
}

/// Whether `vals` holds a value the next stage cannot be bounded from.
fn bad(vals: &[f32], bounds: &[f64]) -> bool {
    vals.iter().any(|x| !x.is_finite()) || bounds.contains(&UNCHECKED)
}

/// The `n × n` identity, row-major.
fn identity(n: usize) -> Vec<f32> {
    (0..n * n)
        .map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect()
}

/// Probabilities `[B, Hq, Lq, Lk]` of attention over `q`, `k` by the reference, from `eye`,
/// the `Lk × Lk` identity as `V`.
fn probabilities(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    eye: Tensor4Ref<'_>,
    opts: &AttentionOptions<'_>,
) -> Vec<f32> {
    let [b, hq, lq, _] = q.dims;
    let lk = k.dims[2];
    if lk == 0 {
        return Vec::new();
    }
    let mut p = vec![0.0f32; b * hq * lq * lk];
    reference::attention(
        q,
        k,
        eye,
        Tensor4Mut::bhsd(&mut p, [b, hq, lq, lk]),
        opts,
        None,
    )
    .expect("LayerProblem: invalid attention");
    p
}

/// Per-head weights `p` `[B, Hq, Lq, Lk]` with bounds `pb`, averaged over heads: the mean of
/// `p` and its bound. `f32` sums over heads in order, then `÷ Hq`: `≤ (Hq + 2)·U` relative to
/// `Σ_h (p_h + pb_h)`. Unchecked where any head is.
fn average_over_heads(p: &[f32], pb: &[f64], dims: [usize; 4]) -> (Vec<f32>, Vec<f64>) {
    let [nb, hq, lq, lk] = dims;
    let (mut wa, mut wb) = (vec![0.0f32; nb * lq * lk], vec![0.0f64; nb * lq * lk]);
    let hqf = hq as f64;
    for b in 0..nb {
        for i in 0..lq {
            for j in 0..lk {
                let at = |h: usize| ((b * hq + h) * lq + i) * lk + j;
                let sum: f64 = (0..hq).map(|h| p[at(h)] as f64).sum();
                let err: f64 = (0..hq).map(|h| pb[at(h)]).sum();
                let x = (b * lq + i) * lk + j;
                wa[x] = (sum / hqf) as f32;
                wb[x] = if (0..hq).any(|h| pb[at(h)] == UNCHECKED) {
                    UNCHECKED
                } else {
                    ((err + (hqf + 2.0) * tol::U * (sum + err)) / hqf).min(f64::MAX)
                };
            }
        }
    }
    (wa, wb)
}

#[cfg(test)]
mod tests;
