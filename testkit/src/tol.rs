//! Tolerances, stated once and explained, and the helpers that turn a problem into a bound per
//! output element.
//!
//! Every bound compares an `f32` kernel with the `f64` reference (`huiyan_kernels::reference`),
//! whose own error is one final rounding to `f32` (≤ `U` relative) — the bounds below include
//! it. `U = 2⁻²⁴` is the unit roundoff of `f32`. The bounds are first-order worst cases
//! (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1), valid for any summation
//! order, blocking or FMA use, so they hold at every size and for every ISA; typical errors are
//! far below them (≈ `√n·U`). They are still tight enough that any indexing, masking, scaling
//! or normalisation mistake fails by orders of magnitude.
//!
//! | op | bound on `|got − want|` | helper |
//! |---|---|---|
//! | gemm | `gemm(k)·(|α|(|A||B|) + |β||C₀|) + floor` | [`gemm_bounds`] |
//! | gemm + bias | `gemm(k+1)·(|α|(|A||B|) + |β||C₀| + |bias_j|) + floor` | [`gemm_bias_bounds`] |
//! | softmax | `p_j·(δ_j + Σ_k p_k δ_k + (n+2)U) + 2·2⁻¹²⁶`, `δ_j = U(ln(1/p_j) + 2·EXP_ULP + 2)` | [`softmax_bounds`] |
//! | attention | `Σ_j p_j δ_j (|v_j| + |O|) + U((4Lk+16)Σ_j p_j|v_j| + (Lk+8)|O|) + floor` | [`attention_bounds`] |
//! | LayerNorm | `|γ|/σ·(|Δd_j| + |d_j|(ρ + U)) + 2U|y|`, see the helper | [`layer_norm_bounds`] |
//! | bias + GELU | `1.13U|v| + (2·GELU_ULP + 1)U|g| + floor` | [`bias_act_bounds`] |
//!
//! All helpers compute the magnitudes they need **with the reference itself** (on absolute
//! values, or on an identity `V` that makes it return the probability matrix), so there is no
//! second implementation of masking to get wrong.

use huiyan_kernels::attention::{AttentionOptions, CausalVariant};
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{reference, MatMut, MatRef, Tensor4Mut, Tensor4Ref};

/// Unit roundoff of `f32`: `2⁻²⁴`.
pub const U: f64 = 1.0 / (1u64 << 24) as f64;

/// Smallest normal `f32`, `2⁻¹²⁶`. Kernels may flush results below it to zero (a SIMD `exp`
/// typically returns 0 for arguments below ≈ −87.3), so outputs that small get it as an
/// absolute floor.
pub const MIN_NORMAL: f64 = f32::MIN_POSITIVE as f64;

/// Smallest subnormal `f32`, `2⁻¹⁴⁹`: the absolute rounding unit where products underflow.
pub const MIN_SUBNORMAL: f64 = 1.401298464324817e-45;

/// The `exp` kernel: at most this many ulp from the correctly rounded value over its domain
/// (an ulp is ≤ `2U` relative, so `exp` contributes ≤ `2·EXP_ULP·U` relative).
pub const EXP_ULP: f64 = 2.0;

/// Matmul relative factor: `|ΔC_ij| ≤ gemm(k)·(|α|·(|A||B|)_ij + |β|·|C₀_ij|)` (+ [`gemm_floor`]).
///
/// Summing `k` products in any order, with or without FMA, is within `γ_k ≤ k·U/(1−kU)` of the
/// exact dot product relative to `Σ|a||b|`; the extra `4U` covers the α product, the β product,
/// the final add and the reference's own rounding.
pub fn gemm(k: usize) -> f64 {
    (k as f64 + 4.0) * U
}

/// Matmul absolute floor for underflow: each of the `k` products and adds may round at the
/// subnormal spacing, scaled by `|α|`, plus the β term and the final rounding.
pub fn gemm_floor(k: usize, alpha: f32) -> f64 {
    (k as f64 + 2.0) * (1.0 + (alpha as f64).abs()) * MIN_SUBNORMAL + 2.0 * MIN_SUBNORMAL
}

/// Bound per element of `C` (logical row-major `m × n`) for `C ← α·A·B + β·C₀`, or
/// [`UNCHECKED`] where `f32` arithmetic may overflow.
///
/// The magnitude `|α|(|A||B|) + |β||C₀|` is formed from `S = |A||B|`, computed by
/// `reference::matmul` on copies holding absolute values (rounded to `f32`, hence the `1 + 2U`
/// factor). Non-finite inputs count as 0 there: the elements they reach are ±∞ or NaN in the
/// reference and are compared exactly, whatever their bound. With `β = 0` `C₀` is never read,
/// so it may hold NaN (pass it anyway, or `None`); with `α = 0` neither `A` nor `B` is read
/// (the BLAS quick return) and the bound is that of `β·C₀`.
///
/// **Overflow.** Where `max(1, |α|)·S + |β||C₀|` reaches `f32::MAX`, an `f32` product or
/// partial sum may overflow (to ±∞, or NaN from `∞ − ∞`) in one summation order and not in
/// another, while the `f64` reference stays finite: the answer is not determined by the
/// contract, and the element's bound is [`UNCHECKED`]. (Found by `fuzz/matmul_diff`:
/// `1e30·1e30` with α = 0.)
pub fn gemm_bounds(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c0: Option<MatRef<'_>>,
) -> Vec<f64> {
    gemm_bias_bounds(alpha, a, b, beta, c0, None)
}

/// [`gemm_bounds`] for `C ← α·A·B + β·C₀ + bias`, `bias` a row vector of `n` elements added to
/// every row of C: `gemm(k + 1)·(|α|(|A||B|) + |β||C₀| + |bias_j|) + floor`.
///
/// The bias is one more addend with one more rounding (the kernels add it after `α·acc + β·c`,
/// the reference adds it exactly before its one rounding), so the bound is that of a product
/// one deeper with `|bias_j|` in the magnitude. A non-finite bias counts 0 (such elements are
/// ±∞ or NaN in the reference and compared exactly); where the magnitude may overflow the
/// element is [`UNCHECKED`].
pub fn gemm_bias_bounds(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c0: Option<MatRef<'_>>,
    bias: Option<&[f32]>,
) -> Vec<f64> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let abs_of = |x: &MatRef<'_>| -> Vec<f32> {
        let mut v = Vec::with_capacity(x.rows * x.cols);
        for i in 0..x.rows {
            for j in 0..x.cols {
                let e = x.get(i, j).expect("operand shorter than its shape").abs();
                v.push(if e.is_finite() { e } else { 0.0 });
            }
        }
        v
    };
    let (aa, ba) = (abs_of(&a), abs_of(&b));
    let c_mag = match (&c0, beta != 0.0) {
        (Some(c), true) => abs_of(c),
        _ => vec![0.0f32; m * n],
    };
    let mut s = vec![0.0f32; m * n];
    if alpha != 0.0 {
        reference::matmul(
            1.0,
            MatRef::row_major(&aa, m, k),
            MatRef::row_major(&ba, k, n),
            0.0,
            MatMut::row_major(&mut s, m, n),
        )
        .expect("gemm_bounds: operands do not form a valid matmul");
    }
    let (al, be) = ((alpha as f64).abs(), (beta as f64).abs());
    let depth = k + usize::from(bias.is_some());
    let (rel, floor) = (gemm(depth) * (1.0 + 2.0 * U), gemm_floor(depth, alpha));
    let bias_mag = |idx: usize| -> f64 {
        match bias.and_then(|b| b.get(idx % n.max(1))) {
            Some(&x) if x.is_finite() => (x as f64).abs(),
            _ => 0.0,
        }
    };
    s.iter()
        .zip(&c_mag)
        .enumerate()
        .map(|(idx, (&s, &c))| {
            let (s, c, d) = (s as f64, c as f64, bias_mag(idx));
            if al.max(1.0) * s + be * c + d >= F32_OVERFLOW {
                UNCHECKED
            } else {
                rel * (al * s + be * c + d) + floor
            }
        })
        .collect()
}

/// Magnitudes from here up may overflow `f32` in some summation order: `f32::MAX` less a
/// margin for the rounding of the magnitudes themselves.
const F32_OVERFLOW: f64 = f32::MAX as f64 * (1.0 - 1e-3);

/// The bound of an element whose value `f32` arithmetic does not determine (see
/// [`gemm_bounds`]): [`crate::assert_close`] accepts any value there, NaN and ±∞ included.
/// The other bound helpers never return it (their infinite bounds are clamped to `f64::MAX`).
pub const UNCHECKED: f64 = f64::INFINITY;

/// Relative error `δ` of one unnormalised weight `exp(t_j − m)` whose probability is `p`:
/// rounding `t_j − m` (an `f32` subtraction, `|t_j − m| ≤ ln(1/p)`), `exp` itself, one more
/// rounding. `p = 0` (underflowed) gives 0: such terms are covered by the absolute floors.
fn weight_err(p: f64) -> f64 {
    if p > 0.0 {
        U * (-p.ln() + 2.0 * EXP_ULP + 2.0)
    } else {
        0.0
    }
}

/// Bounds for a softmax call: `(per output element, logical row-major; per row for lse)`,
/// for the output kind `opts.log` selects.
///
/// Derivation, per row with `n` columns and reference probabilities `p_j` (computed by
/// `reference::softmax`): each weight `exp(t_j − m)` has relative error `δ_j` (`weight_err`),
/// so the normaliser has relative error `≤ Σ_k p_k δ_k + nU` and
/// * softmax: `|Δy_j| ≤ p_j·(δ_j + Σ_k p_k δ_k + (n + 2)U) + 2·2⁻¹²⁶` (the floor: a kernel may
///   flush weights below the normal range);
/// * log-softmax: `|Δy_j| ≤ U(ln(1/p_j) + |y_j| + 2) + Σ_k p_k δ_k + (n + 2 + ln n)U`;
/// * lse: `|Δlse| ≤ Σ_k p_k δ_k + U(n + 2 + ln n + 2|lse|)`.
///
/// Entries that do not take part (masked, `−∞`) must be exactly `0` (log: `−∞`): their bound
/// is 0. **The logits are assumed formed exactly as the contract and the reference form them,
/// `fl(fl(scale·x) + bias)`** — a kernel that fuses the multiply-add sees a different `t` and
/// needs an extra `U·|t_j|` per weight, which this bound does not grant (with logits of ±1e4
/// that is a 6e-4 relative error, far above everything else here).
pub fn softmax_bounds(x: MatRef<'_>, opts: &SoftmaxOptions<'_>) -> (Vec<f64>, Vec<f64>) {
    let (rows, cols) = (x.rows, x.cols);
    let mut logp = vec![0.0f32; rows * cols];
    let mut lse = vec![0.0f32; rows];
    let log_opts = SoftmaxOptions { log: true, ..*opts };
    reference::softmax(
        x,
        MatMut::row_major(&mut logp, rows, cols),
        &log_opts,
        Some(&mut lse),
    )
    .expect("softmax_bounds: invalid softmax problem");
    let n = cols as f64;
    let mut yb = vec![0.0f64; rows * cols];
    let mut lb = vec![0.0f64; rows];
    for r in 0..rows {
        let row = &logp[r * cols..(r + 1) * cols];
        if !lse[r].is_finite() {
            continue; // NaN row or fully masked: exact expectations (NaN / 0 / −∞)
        }
        let s: f64 = row
            .iter()
            .map(|&l| {
                let p = (l as f64).exp();
                p * weight_err(p)
            })
            .sum();
        let common = s + (n + 2.0 + n.ln()) * U;
        for (j, &l) in row.iter().enumerate() {
            if l == f32::NEG_INFINITY {
                continue; // does not take part: exact
            }
            let p = (l as f64).exp();
            yb[r * cols + j] = if opts.log {
                U * (-(l as f64) + (l as f64).abs() + 2.0) + common
            } else {
                p * (weight_err(p) + s + (n + 2.0) * U) + 2.0 * MIN_NORMAL
            };
        }
        lb[r] = common + 2.0 * U * (lse[r] as f64).abs();
    }
    (clamp_inf(yb), clamp_inf(lb))
}

/// Bounds that overflowed `f64` become `f64::MAX`: still a bound, never [`UNCHECKED`].
fn clamp_inf(v: Vec<f64>) -> Vec<f64> {
    v.into_iter()
        .map(|b| if b == UNCHECKED { f64::MAX } else { b })
        .collect()
}

/// Bounds for an attention call: `(per O element, logical [B, Hq, Lq, dv]; per lse entry)`.
///
/// The reference is run twice: once as given (for `O` and `lse`) and once with `V` replaced
/// by the identity (`dv = Lk`), which makes it return the probability matrix `p_ij` — masked
/// keys get exactly 0 there, so no masking logic is repeated here. Then, per query row:
///
/// * each logit `t_j` carries an `f32` error `≤ U·((dk + 4)·G_j + 2|bias_j| + 2|alibi_j| +
///   4|t_j|)` with `G_j = |scale|·Σ_e |q_e||k_je|` (dot product, scale, softcap's tanh, the
///   bias and ALiBi additions; `|t_j| ≤ |lse| + ln(1/p_j)`), and its weight the further
///   `weight_err(p_j)`; together `δ_j`;
/// * `∂O/∂t_j = p_j(v_j − O)`, so logit errors move `O` by `≤ Σ_j p_j δ_j (|v_j| + |O|)`;
/// * the `f32` sums (the `P·V` accumulation, online-softmax rescaling by `exp(m_old − m_new)`,
///   the normaliser, the final division) add `≤ U((4Lk + 16)·Σ_j p_j|v_j| + (Lk + 8)|O|)`;
/// * weights below `2⁻¹²⁶` may be flushed: `+ 2⁻¹²⁶·(Lk + 1)·max|v|` (finite `v` of the head);
/// * `lse`: `Σ_j p_j δ_j + U(Lk + 10 + 2|lse|)`.
///
/// NaN rows and fully masked rows have exact expectations (NaN, `0`, `−∞`) and bound 0. A row
/// where some logit may overflow `f32` (`max(1, |scale|)·Σ_e|q_e k_je| + |bias_j|` reaches
/// `f32::MAX`) is [`UNCHECKED`], O and lse, for the reason [`gemm_bounds`] gives. An
/// infinite element of `O` is compared exactly (its bound is irrelevant), the rest of its row is
/// bounded as usual.
pub fn attention_bounds(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    v: Tensor4Ref<'_>,
    opts: &AttentionOptions<'_>,
) -> (Vec<f64>, Vec<f64>) {
    let [nb, hq, lq, dk] = q.dims;
    let [_, hkv, lk, _] = k.dims;
    let dv = v.dims[3];
    let rows = nb * hq * lq;
    let mut o = vec![0.0f32; rows * dv];
    let mut lse = vec![0.0f32; rows];
    reference::attention(
        q,
        k,
        v,
        Tensor4Mut::bhsd(&mut o, [nb, hq, lq, dv]),
        opts,
        Some(&mut lse),
    )
    .expect("attention_bounds: invalid attention problem");
    let mut ob = vec![0.0f64; rows * dv];
    let mut lb = vec![0.0f64; rows];
    if lk == 0 || hkv == 0 {
        return (ob, lb); // every row fully masked: O = 0 exactly
    }
    // p_ij via the identity V.
    let eye: Vec<f32> = (0..nb * hkv * lk * lk)
        .map(|n| if n % lk == (n / lk) % lk { 1.0 } else { 0.0 })
        .collect();
    let mut p = vec![0.0f32; rows * lk];
    reference::attention(
        q,
        k,
        Tensor4Ref::bhsd(&eye, [nb, hkv, lk, lk]),
        Tensor4Mut::bhsd(&mut p, [nb, hq, lq, lk]),
        opts,
        None,
    )
    .expect("attention_bounds: identity-V run");
    let scale = opts.scale.unwrap_or((1.0 / (dk as f64).sqrt()) as f32) as f64;
    let at = |t: &Tensor4Ref<'_>, idx: [usize; 4]| -> f64 {
        *t.get(idx).expect("operand shorter than its shape") as f64
    };
    let bcast = |dims: [usize; 4], idx: [usize; 4]| -> [usize; 4] {
        core::array::from_fn(|ax| if dims[ax] == 1 { 0 } else { idx[ax] })
    };
    let group = hq / hkv;
    let lkf = lk as f64;
    let mut unchecked = Vec::new(); // rows whose logits may overflow f32
    for b in 0..nb {
        for h in 0..hq {
            let hk = h / group;
            // Largest finite |v| of this kv head, for the flush floor.
            let mut vmax = 0.0f64;
            for j in 0..lk {
                for e in 0..dv {
                    let x = at(&v, [b, hk, j, e]).abs();
                    if x.is_finite() {
                        vmax = vmax.max(x);
                    }
                }
            }
            for i in 0..lq {
                let r = (b * hq + h) * lq + i;
                let l = lse[r] as f64;
                let orow = &o[r * dv..(r + 1) * dv];
                if l.is_nan() || l == f64::NEG_INFINITY {
                    continue; // NaN or fully masked row: exact expectations
                }
                // f32 overflow of a logit (the raw dot product, before or after the scale, or
                // with the bias): the f64 reference stays finite while an f32 kernel may see
                // ±∞ or NaN, so the row is not determined by the contract (see gemm_bounds).
                // Regression, from attention_diff: q = k = 1e30 gave a NaN row, want 1e30.
                let overflows = (0..lk).any(|j| {
                    let g: f64 = (0..dk)
                        .map(|e| (at(&q, [b, h, i, e]) * at(&k, [b, hk, j, e])).abs())
                        .filter(|x| x.is_finite())
                        .sum::<f64>()
                        * scale.abs().max(1.0);
                    let bias = opts
                        .attn_bias
                        .as_ref()
                        .map_or(0.0, |t| at(t, bcast(t.dims, [b, h, i, j])).abs());
                    let bias = if bias.is_finite() { bias } else { 0.0 };
                    g + bias >= F32_OVERFLOW
                });
                let lse_beyond_f32 = l.is_infinite() && orow.iter().all(|x| !x.is_nan());
                if overflows || lse_beyond_f32 {
                    // (+∞ lse with a NaN-free O: an f64 logit beyond f32's range, which an f32
                    // kernel cannot form; a +∞ logit given as input makes the reference NaN.)
                    unchecked.push(r);
                    continue;
                }
                // An infinite V entry makes its O column ±∞ (compared exactly by assert_close);
                // the row's finite columns still get their bounds below. (Regression: a fuzz
                // case with one ∞ column had every bound of the row set to 0.)
                let pos = match opts.causal_variant {
                    CausalVariant::UpperLeft => i as f64,
                    CausalVariant::LowerRight => i as f64 + lk as f64 - lq as f64,
                };
                let mut s_delta = 0.0f64; // Σ_j p_j δ_j
                let mut w = vec![0.0f64; dv]; // Σ_j p_j δ_j |v_j|
                let mut sv = vec![0.0f64; dv]; // Σ_j p_j |v_j|
                let mut deltas = Vec::new(); // (p_j, δ_j, j) for the non-linear bound
                for j in 0..lk {
                    let pj = p[r * lk + j] as f64;
                    if pj <= 0.0 {
                        continue; // masked (exactly 0) or underflowed (the floor covers it)
                    }
                    let g: f64 = (0..dk)
                        .map(|e| (at(&q, [b, h, i, e]) * at(&k, [b, hk, j, e])).abs())
                        .sum::<f64>()
                        * scale.abs();
                    let bias = opts
                        .attn_bias
                        .as_ref()
                        .map_or(0.0, |t| at(t, bcast(t.dims, [b, h, i, j])).abs());
                    let alibi = opts
                        .alibi_slopes
                        .map_or(0.0, |s| (s[h] as f64 * (pos - j as f64)).abs());
                    let t_abs = l.abs() - pj.ln();
                    // The dot product's error, through softcap's tanh (slope ≤ 1, range
                    // ±c): never more than 2c. (Regression, from attention_diff: an infinite
                    // raw dot product gives the finite logit c·tanh(∞) = c, and the unclamped
                    // term made the bound ∞·0 = NaN.)
                    let mut dot_err = U * (dk as f64 + 4.0) * g;
                    if let Some(c) = opts.softcap {
                        dot_err = if dot_err.is_nan() {
                            2.0 * c as f64
                        } else {
                            dot_err.min(2.0 * c as f64)
                        };
                    }
                    let dj =
                        dot_err + U * (2.0 * bias + 2.0 * alibi + 4.0 * t_abs) + weight_err(pj);
                    s_delta += pj * dj;
                    deltas.push((pj, dj, j));
                    for e in 0..dv {
                        let ve = at(&v, [b, hk, j, e]).abs();
                        w[e] += pj * dj * ve;
                        sv[e] += pj * ve;
                    }
                }
                for e in 0..dv {
                    let oe = (orow[e] as f64).abs();
                    ob[r * dv + e] = w[e]
                        + s_delta * oe
                        + U * ((4.0 * lkf + 16.0) * sv[e] + (lkf + 8.0) * oe)
                        + MIN_NORMAL * (lkf + 1.0) * vmax
                        + MIN_SUBNORMAL;
                }
                lb[r] = s_delta + U * (lkf + 10.0 + 2.0 * l.abs());
                // The bounds above are first order in δ_j. A logit error that is not small
                // (a dot product that cancels: q·k = 1e34 − 1e34 in f32 is off by ~1e27,
                // which a softcap turns into up to 2c) moves its weight by a factor up to
                // e^{±δ_j}; then bound exactly: with A = Σ p_j(e^{δ_j} − 1) and
                // B = Σ p_j(1 − e^{−δ_j}) the normaliser moves by a factor in [1 − B, 1 + A],
                // lse by at most max(ln(1 + A), −ln(1 − B)), and each weight by at most
                // p_j·max(e^{δ_j}/(1 − B) − 1, 1 − e^{−δ_j}/(1 + A)).
                // (Regression, from attention_diff: q = [1e4, −1e4], k = [1e30, 1e30] under
                // softcap 20 gave an lse 0.41 above the reference, against a first-order bound
                // of 0.018.)
                if deltas.iter().any(|&(_, dj, _)| dj > 1e-3) {
                    let a: f64 = deltas.iter().map(|&(pj, dj, _)| pj * dj.exp_m1()).sum();
                    let bb: f64 = deltas.iter().map(|&(pj, dj, _)| -pj * (-dj).exp_m1()).sum();
                    let dl = if bb >= 1.0 {
                        f64::INFINITY
                    } else {
                        a.ln_1p().max(-(-bb).ln_1p())
                    };
                    lb[r] = lb[r].max(dl + U * (lkf + 10.0 + 2.0 * l.abs()));
                    for e in 0..dv {
                        let oe = (orow[e] as f64).abs();
                        let moved: f64 = deltas
                            .iter()
                            .map(|&(pj, dj, j)| {
                                let up = if bb >= 1.0 {
                                    f64::INFINITY
                                } else {
                                    dj.exp() / (1.0 - bb) - 1.0
                                };
                                let down = 1.0 - (-dj).exp() / (1.0 + a);
                                pj * up.max(down) * at(&v, [b, hk, j, e]).abs()
                            })
                            .sum();
                        let nl = moved
                            + U * ((4.0 * lkf + 16.0) * sv[e] + (lkf + 8.0) * oe)
                            + MIN_NORMAL * (lkf + 1.0) * vmax
                            + MIN_SUBNORMAL;
                        let nl = if nl.is_nan() { f64::INFINITY } else { nl };
                        ob[r * dv + e] = ob[r * dv + e].max(nl);
                    }
                }
            }
        }
    }
    let (mut ob, mut lb) = (clamp_inf(ob), clamp_inf(lb));
    for r in unchecked {
        ob[r * dv..(r + 1) * dv].fill(UNCHECKED);
        lb[r] = UNCHECKED;
    }
    (ob, lb)
}

/// The GELU kernel (`huiyan_kernels::norm::gelu_lane`): at most this many ulp from the exact
/// value where the result is normal (derivation and measurement: `kernels/src/simd/gelu.rs`).
pub const GELU_ULP: f64 = 9.0;

/// Bounds for a LayerNorm call (logical row-major `rows × cols`), first order, any summation
/// order. Per row, with `a_j = |x_j| + |b_j| + |r_j|`, `d_j = z_j − μ` and `ρ` the relative
/// error of `1/√(σ² + eps)`:
/// `|Δz_j| ≤ 2U·a_j`, `|Δμ| ≤ (n + 3)U·Σa/n`, `|Δd_j| ≤ |Δz_j| + |Δμ| + U|d_j|`,
/// `|Δσ²| ≤ 2Σ|d_j||Δd_j|/n + (n + 2)U·σ²`, `ρ ≤ ½|Δσ²|/(σ² + eps) + 3U`, and
/// `|Δy_j| ≤ |γ_j|/√(σ² + eps)·(|Δd_j| + |d_j|(ρ + U)) + 2U|y_j| + 4·2⁻¹⁴⁹` (the fma and the
/// reference's rounding). Magnitudes come from the inputs in `f64`.
pub fn layer_norm_bounds(
    x: MatRef<'_>,
    opts: &huiyan_kernels::norm::LayerNormOptions<'_>,
) -> Vec<f64> {
    let (rows, n) = (x.rows, x.cols);
    let mut out = Vec::with_capacity(rows * n);
    let at = |m: &MatRef<'_>, i, j| f64::from(*m.get(i, j).expect("inside"));
    for i in 0..rows {
        let mut z = vec![0.0f64; n];
        let mut a = vec![0.0f64; n];
        for j in 0..n {
            let (xv, bv) = (at(&x, i, j), opts.bias.map_or(0.0, |b| f64::from(b[j])));
            let rv = opts.residual.as_ref().map_or(0.0, |r| at(r, i, j));
            z[j] = xv + bv + rv;
            a[j] = xv.abs() + bv.abs() + rv.abs();
        }
        let nf = n as f64;
        let mean = z.iter().sum::<f64>() / nf;
        let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / nf;
        let dmu = (nf + 3.0) * U * a.iter().sum::<f64>() / nf;
        let dd: Vec<f64> = (0..n)
            .map(|j| 2.0 * U * a[j] + dmu + U * (z[j] - mean).abs())
            .collect();
        let dvar = 2.0 * (0..n).map(|j| (z[j] - mean).abs() * dd[j]).sum::<f64>() / nf
            + (nf + 2.0) * U * var;
        let ve = var + f64::from(opts.eps);
        let rho = 0.5 * dvar / ve + 3.0 * U;
        let rstd = 1.0 / ve.sqrt();
        for j in 0..n {
            let d = z[j] - mean;
            let g = f64::from(opts.gamma[j]).abs();
            let y = d * rstd * f64::from(opts.gamma[j]) + f64::from(opts.beta[j]);
            out.push(
                g * rstd * (dd[j] + d.abs() * (rho + U)) + 2.0 * U * y.abs() + 4.0 * MIN_SUBNORMAL,
            );
        }
    }
    clamp_inf(out)
}

/// Bounds for a bias epilogue on logical row-major `x`: `v = fl(x + b)` (`U|v|`, passed on
/// with GELU's slope, at most 1.13), GELU's own [`GELU_ULP`] (an ulp is `≤ 2U|g|`), the
/// reference's rounding, and a floor of a few subnormal units for results below `2⁻¹²⁶`.
pub fn bias_act_bounds(
    x: &[f32],
    cols: usize,
    bias: Option<&[f32]>,
    act: huiyan_kernels::norm::Activation,
) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, &xv)| {
            let v = f64::from(xv) + bias.map_or(0.0, |b| f64::from(b[i % cols]));
            match act {
                huiyan_kernels::norm::Activation::Identity => U * v.abs(),
                huiyan_kernels::norm::Activation::Gelu => {
                    let g = reference::gelu(v).abs();
                    1.13 * U * v.abs() + (2.0 * GELU_ULP + 1.0) * U * g + 8.0 * MIN_SUBNORMAL
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_bounds_by_hand() {
        // A = [[1, −2]], B = [[3], [4]], α = 2, β = −1, C₀ = [5]:
        // |α|(|A||B|) + |β||C₀| = 2·(1·3 + 2·4) + 1·5 = 27.
        let (a, b, c) = ([1.0f32, -2.0], [3.0f32, 4.0], [5.0f32]);
        let (av, bv) = (MatRef::row_major(&a, 1, 2), MatRef::row_major(&b, 2, 1));
        let got = gemm_bounds(2.0, av, bv, -1.0, Some(MatRef::row_major(&c, 1, 1)));
        let want = gemm(2) * (1.0 + 2.0 * U) * 27.0 + gemm_floor(2, 2.0);
        assert_eq!(got, [want]);
        // β = 0 never reads C₀, so NaN there gives a finite bound over 2·11 = 22.
        let nan = [f32::NAN];
        let got = gemm_bounds(2.0, av, bv, 0.0, Some(MatRef::row_major(&nan, 1, 1)));
        assert_eq!(got, [gemm(2) * (1.0 + 2.0 * U) * 22.0 + gemm_floor(2, 2.0)]);
    }

    #[test]
    fn softmax_bounds_are_zero_where_the_answer_is_exact() {
        // Row 0: [0, 0, masked]; row 1 fully masked; row 2 has a NaN.
        let x = [0.0f32, 0.0, 0.0, 1.0, 2.0, 3.0, f32::NAN, 0.0, 0.0];
        let m = [true, true, false, false, false, false, true, true, true];
        let opts = SoftmaxOptions {
            mask: Some(MatRef::row_major(&m, 3, 3)),
            ..SoftmaxOptions::default()
        };
        let (yb, lb) = softmax_bounds(MatRef::row_major(&x, 3, 3), &opts);
        // p = 1/2: δ = U(ln 2 + 6), S = δ, bound = ½(2δ + 5U) + 2·2⁻¹²⁶.
        let d = U * (2f64.ln() + 2.0 * EXP_ULP + 2.0);
        let want = 0.5 * (2.0 * d + 5.0 * U) + 2.0 * MIN_NORMAL;
        assert!((yb[0] - want).abs() < 1e-3 * want, "{} vs {want}", yb[0]);
        assert_eq!(yb[0], yb[1]);
        assert_eq!(&yb[2..], &[0.0; 7]);
        assert!(lb[0] > 0.0 && lb[0] < 1e-5);
        assert_eq!(&lb[1..], &[0.0, 0.0]);
    }

    #[test]
    fn attention_bounds_are_small_and_zero_where_exact() {
        // One head, Lq = 2, Lk = 3, dk = dv = 1; row 1 fully masked by a bool mask.
        let (q, k, v) = ([1.0f32, 1.0], [0.5f32, -0.5, 0.25], [1.0f32, -2.0, 4.0]);
        let m = [true, true, true, false, false, false];
        let opts = AttentionOptions {
            attn_mask: Some(Tensor4Ref::bhsd(&m, [1, 1, 2, 3])),
            ..AttentionOptions::default()
        };
        let (ob, lb) = attention_bounds(
            Tensor4Ref::bhsd(&q, [1, 1, 2, 1]),
            Tensor4Ref::bhsd(&k, [1, 1, 3, 1]),
            Tensor4Ref::bhsd(&v, [1, 1, 3, 1]),
            &opts,
        );
        // Σ p|v| ≤ 4, so the bound is a few dozen U times that, not more.
        assert!(ob[0] > 0.0 && ob[0] < 200.0 * U * 4.0, "{}", ob[0]);
        assert!(lb[0] > 0.0 && lb[0] < 100.0 * U);
        assert_eq!((ob[1], lb[1]), (0.0, 0.0));
        // Lk = 0: nothing to bound.
        let e: [f32; 0] = [];
        let (ob, lb) = attention_bounds(
            Tensor4Ref::bhsd(&q, [1, 1, 2, 1]),
            Tensor4Ref::bhsd(&e, [1, 1, 0, 1]),
            Tensor4Ref::bhsd(&e, [1, 1, 0, 1]),
            &AttentionOptions::default(),
        );
        assert_eq!((ob, lb), (vec![0.0; 2], vec![0.0; 2]));
    }

    /// Regression (found by `attention_diff` fuzzing): one infinite column of `O` zeroed the
    /// bounds of the whole row, so the finite columns were required to be exact.
    #[test]
    fn attention_bound_of_finite_columns_survives_an_infinite_column() {
        // One query, two keys, dv = 2; V's column 1 holds +∞ in a visible row.
        let (q, k) = ([1.0f32], [0.5f32, -0.5]);
        let v = [1.0f32, f32::INFINITY, 2.0, 3.0];
        let (ob, _) = attention_bounds(
            Tensor4Ref::bhsd(&q, [1, 1, 1, 1]),
            Tensor4Ref::bhsd(&k, [1, 1, 2, 1]),
            Tensor4Ref::bhsd(&v, [1, 1, 2, 2]),
            &AttentionOptions::default(),
        );
        assert!(
            ob[0] > 0.0,
            "finite column 0 must keep a positive bound, got {}",
            ob[0]
        );
    }
}
