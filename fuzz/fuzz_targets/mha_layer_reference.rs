//! The reference side of `mha_layer`: the layer composed from `huiyan_kernels::reference`,
//! and the error bound of the kernels against it.
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
//!    (`pb` = the attention bound with `V = I`);
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

use huiyan::{reference, AttentionOptions, MatMut, MatRef, NeedWeights, Tensor4Mut, Tensor4Ref};
use huiyan_testkit::tol::{self, UNCHECKED};

use crate::Case;

/// `f32` arithmetic may overflow from here up (as in `tol`).
const F32_OVERFLOW: f64 = f32::MAX as f64 * (1.0 - 1e-3);

/// The reference composition and its bounds.
pub struct Expected {
    /// Output `[B, Lq, E]` and its bound.
    pub y: Vec<f32>,
    pub yb: Vec<f64>,
    /// Weights (`[B, Hq, Lq, Lk]` or averaged `[B, Lq, Lk]`) and their bound.
    pub weights: Option<(Vec<f32>, Vec<f64>)>,
}

/// `x[rows, inp]·Wᵀ + b` by the reference, with its [`tol::gemm_bounds`].
fn proj(
    x: &[f32],
    rows: usize,
    inp: usize,
    w: &[f32],
    out: usize,
    b: Option<&[f32]>,
) -> (Vec<f32>, Vec<f64>) {
    let c0 = match b {
        Some(b) => b.repeat(rows),
        None => vec![0.0; rows * out],
    };
    let beta = if b.is_some() { 1.0 } else { 0.0 };
    let xa = MatRef::row_major(&x[..rows * inp], rows, inp);
    let wt = MatRef::row_major(w, out, inp).t();
    let mut y = c0.clone();
    reference::matmul(1.0, xa, wt, beta, MatMut::row_major(&mut y, rows, out)).unwrap();
    let bound = tol::gemm_bounds(1.0, xa, wt, beta, Some(MatRef::row_major(&c0, rows, out)));
    (y, bound)
}

/// Whether `row` holds a value the next stage cannot be bounded from.
fn bad(vals: &[f32], bounds: &[f64]) -> bool {
    vals.iter().any(|x| !x.is_finite()) || bounds.contains(&UNCHECKED)
}

/// Probabilities `[B, Hq, Lq, Lk]` of attention over `q`, `k` (`V = I`), by the reference.
fn probs(q: Tensor4Ref<'_>, k: Tensor4Ref<'_>, opts: &AttentionOptions<'_>) -> Vec<f32> {
    let [b, hq, lq, _] = q.dims;
    let [_, hkv, lk, _] = k.dims;
    if lk == 0 {
        return Vec::new();
    }
    let eye: Vec<f32> = (0..lk * lk)
        .map(|n| if n % (lk + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let mut p = vec![0.0f32; b * hq * lq * lk];
    reference::attention(
        q,
        k,
        Tensor4Ref::new(&eye, [b, hkv, lk, lk], [0, 0, lk, 1]),
        Tensor4Mut::bhsd(&mut p, [b, hq, lq, lk]),
        opts,
        None,
    )
    .unwrap();
    p
}

impl Expected {
    pub fn new(c: &Case, opts: &AttentionOptions<'_>) -> Self {
        let cfg = c.cfg;
        let (e, hq, hkv, d) = (cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim);
        let (nb, lq, lk) = (c.batch, c.len_q, c.len_kv);
        let (rq, rk) = (nb * lq, nb * lk);
        let bias = |i: usize| c.b[i].as_deref();
        let (q, bq) = proj(&c.x[0], rq, e, &c.w[0], hq * d, bias(0));
        let (k, bk) = proj(&c.x[1], rk, cfg.kdim, &c.w[1], hkv * d, bias(1));
        let (v, bv) = proj(&c.x[2], rk, cfg.vdim, &c.w[2], hkv * d, bias(2));
        let (qd, kd) = ([nb, hq, lq, d], [nb, hkv, lk, d]);
        let (qv, kv, vv) = (
            Tensor4Ref::bshd(&q, qd),
            Tensor4Ref::bshd(&k, kd),
            Tensor4Ref::bshd(&v, kd),
        );
        let mut o = vec![0.0f32; rq * hq * d];
        reference::attention(qv, kv, vv, Tensor4Mut::bshd(&mut o, qd), opts, None).unwrap();
        let (ob, _) = tol::attention_bounds(qv, kv, vv, opts); // logical [B, Hq, Lq, d]
        let p = probs(qv, kv, opts);
        // Visibility: q = k = 0 and only the structural masks (causal, window, padding,
        // boolean mask) give every visible key the same positive weight, the others exactly 0.
        // (A −∞ bias is not a structural mask: such keys count as visible here.)
        let zq = vec![0.0f32; q.len()];
        let zk = vec![0.0f32; k.len()];
        let vis_opts = AttentionOptions {
            scale: Some(1.0),
            attn_bias: None,
            alibi_slopes: None,
            softcap: None,
            sinks: None,
            ..*opts
        };
        let vis = probs(
            Tensor4Ref::bshd(&zq, qd),
            Tensor4Ref::bshd(&zk, kd),
            &vis_opts,
        );
        let wants_w = c.wout_len.is_some();
        let pb = if wants_w && lk > 0 {
            let eye: Vec<f32> = (0..lk * lk)
                .map(|n| if n % (lk + 1) == 0 { 1.0 } else { 0.0 })
                .collect();
            let eye_v = Tensor4Ref::new(&eye, [nb, hkv, lk, lk], [0, 0, lk, 1]);
            tol::attention_bounds(qv, kv, eye_v, opts).0
        } else {
            vec![0.0; nb * hq * lq * lk]
        };

        let scale = opts.scale.unwrap_or((1.0 / (d as f64).sqrt()) as f32) as f64;
        let group = hq / hkv;
        // Row index helpers: q/o rows are BSHD `[b, i, h, :]`, k/v `[b, j, hk, :]`.
        let qrow = |b: usize, i: usize, h: usize| ((b * lq + i) * hq + h) * d;
        let krow = |b: usize, j: usize, h: usize| ((b * lk + j) * hkv + h) * d;
        let mut dout = vec![0.0f64; rq * hq * d]; // ΔO, BSHD like `o`
                                                  // Largest |O| the kernel can produce: a convex combination of its v (Σp ≤ 1).
        let mut omag = vec![0.0f64; rq * hq * d];
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
        // Output projection on the reference O.
        let (y, gy) = proj(&o, rq, hq * d, &c.w[3], e, bias(3));
        let gamma = tol::gemm(hq * d);
        let mut yb = gy;
        for b in 0..nb {
            for i in 0..lq {
                let row = b * lq + i;
                let unchecked = (0..hq).any(|h| o_unchecked[(b * hq + h) * lq + i]);
                for x in 0..e {
                    let at = row * e + x;
                    let wo = &c.w[3][x * hq * d..(x + 1) * hq * d];
                    let (dr, mr) = (
                        &dout[row * hq * d..(row + 1) * hq * d],
                        &omag[row * hq * d..(row + 1) * hq * d],
                    );
                    // A non-finite weight meeting a perturbed O element: `∞·0` in one and
                    // `±∞` in the other is not decided by the contract.
                    let inf_meets_delta =
                        wo.iter().zip(dr).any(|(w, &dd)| !w.is_finite() && dd > 0.0);
                    // The kernel's O may be larger than the reference's: overflow of the sum.
                    let bo = bias(3).map_or(0.0, |bo| (bo[x] as f64).abs());
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
        let weights = match c.need {
            NeedWeights::No => None,
            NeedWeights::PerHead => {
                let wb = (0..pw.len())
                    .map(|x| {
                        if w_unchecked[x / lk.max(1)] {
                            UNCHECKED
                        } else {
                            pw[x].min(f64::MAX)
                        }
                    })
                    .collect();
                Some((p.clone(), wb))
            }
            NeedWeights::Averaged => {
                // f32: Σ over heads in order, then ÷ Hq: ≤ (Hq + 2)·U relative to Σ_h |p_h|.
                let (mut wa, mut wb) = (vec![0.0f32; nb * lq * lk], vec![0.0f64; nb * lq * lk]);
                for b in 0..nb {
                    for i in 0..lq {
                        for j in 0..lk {
                            let at = |h: usize| ((b * hq + h) * lq + i) * lk + j;
                            let sum: f64 = (0..hq).map(|h| p[at(h)] as f64).sum();
                            let err: f64 = (0..hq).map(|h| pw[at(h)]).sum();
                            let x = (b * lq + i) * lk + j;
                            wa[x] = (sum / hq as f64) as f32;
                            wb[x] = if (0..hq).any(|h| w_unchecked[(b * hq + h) * lq + i]) {
                                UNCHECKED
                            } else {
                                ((err + (hq as f64 + 2.0) * tol::U * (sum + err)) / hq as f64)
                                    .min(f64::MAX)
                            };
                        }
                    }
                }
                Some((wa, wb))
            }
        };
        Expected { y, yb, weights }
    }
}
