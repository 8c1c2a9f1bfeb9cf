//! The multi-head attention layer (`MultiHeadAttention::forward_with`) on every ISA:
//!
//! * **valid** small configurations (self and cross attention, GQA, `head_dim` independent of
//!   `embed_dim`, optional biases, every attention option the layer passes through, attention
//!   weights per head or averaged) against the composition of the references — reference
//!   matmul projections, `reference::attention`, reference output projection — within a
//!   composite bound derived below from the testkit's gemm and attention bounds;
//! * the same configurations with **one thing broken** (a zero or non-dividing dimension, a
//!   weight, bias, input or output slice of the wrong length, a bad option): a typed `Err`, and
//!   the output and weights buffers untouched;
//! * **raw** dimensions (huge batch or lengths with tiny slices, arbitrary slice lengths):
//!   `Ok` or `Err`, never a panic or an unbounded allocation; untouched buffers on `Err`.
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
#![no_main]

use arbitrary::Arbitrary;
use huiyan::{
    reference, AttentionOptions, CausalVariant, MatMut, MatRef, MhaConfig, MhaWeights,
    MultiHeadAttention, NeedWeights, Tensor4Mut, Tensor4Ref,
};
use huiyan_testkit::assert_within;
use huiyan_testkit::tol::{self, UNCHECKED};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// Never a value the layer computes from the inputs here: an untouched buffer still holds it.
const SENTINEL: f32 = -7.25;

/// `f32` arithmetic may overflow from here up (as in `tol`).
const F32_OVERFLOW: f64 = f32::MAX as f64 * (1.0 - 1e-3);

#[derive(Arbitrary, Debug)]
struct Shape {
    heads_kv: u8,
    group: u8,
    head_dim: u8,
    /// `None`: `embed_dim = Hq·d` (what `MhaConfig::new` makes); else any `E`.
    embed: Option<u8>,
    /// Cross attention with these key/value input features; `None`: self attention.
    cross: Option<(u8, u8, u8)>,
    batch: u8,
    len_q: u8,
    /// Which of `bq, bk, bv, bo` are given.
    biases: [bool; 4],
}

#[derive(Arbitrary, Debug)]
struct Opts {
    causal: Option<bool>,
    window: Option<u8>,
    pad: Option<Vec<u8>>,
    /// Boolean mask; bit `a` of the byte broadcasts axis `a` (size 1).
    mask: Option<u8>,
    /// Additive bias, broadcast like the mask.
    bias: Option<u8>,
    alibi: bool,
    softcap: bool,
    sinks: bool,
    scale: Option<u8>,
    /// 0: no weights, 1: per head, 2: averaged.
    need: u8,
}

/// One thing made invalid.
#[derive(Arbitrary, Debug)]
enum Break {
    ZeroDim(u8),
    KvHeadsNotDividing,
    WeightLen(u8, bool),
    BiasLen(u8, bool),
    /// query, key, value, out one element short.
    SliceShort(u8),
    WeightsOutShort,
    WeightsOutMissing,
    Window0,
    PadTooLong,
    PadCount,
    MaskDims(u8),
    BiasDims(u8),
    AlibiLen,
    SinksLen,
    Softcap(u8),
    Scale(u8),
}

#[derive(Arbitrary, Debug)]
struct Raw {
    /// `E, Hq, Hkv, d, kdim, vdim` (0 allowed).
    cfg: [u8; 6],
    /// Each weight: the exact length, or this length.
    wlens: [Option<u16>; 4],
    /// `batch, len_q, len_kv`: see [`raw_dim`].
    dims: [u8; 3],
    /// query, key, value, out, weights lengths.
    lens: [u16; 5],
    need: u8,
    window0: bool,
}

#[derive(Arbitrary, Debug)]
enum Mode {
    Valid,
    Broken(Break),
    Raw(Raw),
}

#[derive(Arbitrary, Debug)]
struct Input {
    shape: Shape,
    opts: Opts,
    /// Value set: 0–1 ordinary values only, 2 adds ±1e4, 3 adds NaN, ±∞ and 1e30.
    values: u8,
    mode: Mode,
    data: Vec<u8>,
}

fuzz_target!(|inp: Input| {
    let kernels = common::kernels();
    match &inp.mode {
        Mode::Raw(raw) => run_raw(raw, &kernels),
        Mode::Valid => run_case(&inp, None, &kernels),
        Mode::Broken(b) => run_case(&inp, Some(b), &kernels),
    }
});

/// A raw dimension: mostly small, sometimes a power of two up to 2¹⁹, or huge.
fn raw_dim(x: u8) -> usize {
    match x {
        0..=199 => x as usize % 12,
        200..=219 => 1 << (x - 200),
        220..=247 => usize::MAX >> (x - 220),
        _ => usize::MAX / (x as usize - 246),
    }
}

fn need_of(x: u8) -> NeedWeights {
    match x % 3 {
        0 => NeedWeights::No,
        1 => NeedWeights::PerHead,
        _ => NeedWeights::Averaged,
    }
}

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|&x| x.to_bits() == SENTINEL.to_bits())
}

fn run_raw(raw: &Raw, kernels: &[huiyan::dispatch::Kernels]) {
    let [e, hq, hkv, d, kdim, vdim] = raw.cfg.map(|x| x as usize % 9);
    let cfg = MhaConfig {
        embed_dim: e,
        num_heads: hq,
        num_kv_heads: hkv,
        head_dim: d,
        kdim,
        vdim,
    };
    let exact = [hq * d * e, hkv * d * kdim, hkv * d * vdim, e * hq * d];
    let w: Vec<Vec<f32>> = (0..4)
        .map(|i| vec![0.5f32; raw.wlens[i].map_or(exact[i], |l| l as usize % 4096)])
        .collect();
    let ws = MhaWeights {
        wq: &w[0],
        wk: &w[1],
        wv: &w[2],
        wo: &w[3],
        ..Default::default()
    };
    let Ok(mut mha) = MultiHeadAttention::new(cfg, &ws) else {
        return;
    };
    let [b, lq, lk] = raw.dims.map(raw_dim);
    let [ql, kl, vl, ol, wl] = raw.lens.map(|l| l as usize % 4096);
    let (q, k, v) = (vec![0.25f32; ql], vec![0.5f32; kl], vec![-0.5f32; vl]);
    let opts = AttentionOptions {
        window: raw.window0.then_some(0),
        ..Default::default()
    };
    for kern in kernels {
        let mut out = vec![SENTINEL; ol];
        let mut wout = vec![SENTINEL; wl];
        let r = mha.forward_with(
            kern,
            &q,
            &k,
            &v,
            b,
            lq,
            lk,
            &opts,
            &mut out,
            need_of(raw.need),
            Some(&mut wout),
        );
        if r.is_err() {
            assert!(untouched(&out), "{r:?}: output written");
            assert!(untouched(&wout), "{r:?}: weights written");
        }
    }
}

/// Everything one call needs, owned.
struct Case {
    cfg: MhaConfig,
    w: [Vec<f32>; 4],
    b: [Option<Vec<f32>>; 4],
    batch: usize,
    len_q: usize,
    len_kv: usize,
    x: [Vec<f32>; 3],
    out_len: usize,
    need: NeedWeights,
    wout_len: Option<usize>,
    o: OwnedOpts,
}

#[derive(Clone, Default)]
struct OwnedOpts {
    scale: Option<f32>,
    is_causal: bool,
    causal_variant: CausalVariant,
    pad: Option<Vec<usize>>,
    window: Option<usize>,
    mask: Option<(Vec<bool>, [usize; 4])>,
    bias: Option<(Vec<f32>, [usize; 4])>,
    alibi: Option<Vec<f32>>,
    softcap: Option<f32>,
    sinks: Option<Vec<f32>>,
}

impl OwnedOpts {
    fn view(&self) -> AttentionOptions<'_> {
        AttentionOptions {
            scale: self.scale,
            is_causal: self.is_causal,
            causal_variant: self.causal_variant,
            key_padding_lens: self.pad.as_deref(),
            window: self.window,
            attn_mask: self.mask.as_ref().map(|(m, d)| Tensor4Ref::bhsd(m, *d)),
            attn_bias: self.bias.as_ref().map(|(b, d)| Tensor4Ref::bhsd(b, *d)),
            alibi_slopes: self.alibi.as_deref(),
            softcap: self.softcap,
            sinks: self.sinks.as_deref(),
        }
    }
}

/// Values from the fuzz bytes, restricted to the chosen value set.
fn vals(bytes: &[u8], n: usize, set: u8) -> Vec<f32> {
    let mut v = common::values(bytes, n);
    for x in &mut v {
        let special = !x.is_finite() || x.abs() > 1e5;
        let big = x.abs() > 4.0;
        if (set % 4 < 3 && special) || (set % 4 < 2 && big) {
            *x = 0.75;
        }
    }
    v
}

fn build(inp: &Input) -> Case {
    let s = &inp.shape;
    let hkv = 1 + s.heads_kv as usize % 2;
    let hq = hkv * (1 + s.group as usize % 3);
    let d = 1 + s.head_dim as usize % 8;
    let e = s.embed.map_or(hq * d, |x| 1 + x as usize % 16);
    let (kdim, vdim, len_kv, cross) = match s.cross {
        Some((kd, vd, lk)) => (
            1 + kd as usize % 12,
            1 + vd as usize % 12,
            lk as usize % 40,
            true,
        ),
        None => (e, e, 0, false),
    };
    let batch = s.batch as usize % 3;
    let len_q = s.len_q as usize % 20;
    let len_kv = if cross { len_kv } else { len_q };
    let cfg = MhaConfig {
        embed_dim: e,
        num_heads: hq,
        num_kv_heads: hkv,
        head_dim: d,
        kdim,
        vdim,
    };
    let dat = &inp.data;
    let part = |i: usize| &dat[dat.len() * i / 13..];
    let set = inp.values;
    let (qo, kvo) = (hq * d, hkv * d);
    let w = [
        vals(part(0), qo * e, set),
        vals(part(1), kvo * kdim, set),
        vals(part(2), kvo * vdim, set),
        vals(part(3), e * qo, set),
    ];
    let blen = [qo, kvo, kvo, e];
    let b: [Option<Vec<f32>>; 4] =
        core::array::from_fn(|i| s.biases[i].then(|| vals(part(4 + i), blen[i], set)));
    let xq = vals(part(8), batch * len_q * e, set);
    let (xk, xv) = if cross {
        (
            vals(part(9), batch * len_kv * kdim, set),
            vals(part(10), batch * len_kv * vdim, set),
        )
    } else {
        (xq.clone(), xq.clone())
    };
    let op = &inp.opts;
    let full = [batch, hq, len_q, len_kv];
    let bdims = |bits: u8| -> [usize; 4] {
        core::array::from_fn(|a| if bits >> a & 1 == 1 { 1 } else { full[a] })
    };
    let mut o = OwnedOpts {
        scale: op.scale.map(|x| (1 + x as usize % 8) as f32 * 0.25),
        window: op.window.map(|w| 1 + w as usize % 24),
        softcap: op.softcap.then_some(5.0),
        ..Default::default()
    };
    if let Some(lr) = op.causal {
        o.is_causal = true;
        o.causal_variant = if lr {
            CausalVariant::LowerRight
        } else {
            CausalVariant::UpperLeft
        };
    }
    o.pad = op.pad.as_ref().map(|v| {
        (0..batch)
            .map(|i| v.get(i).map_or(len_kv, |&x| x as usize % (len_kv + 1)))
            .collect()
    });
    o.mask = op.mask.map(|bits| {
        let dims = bdims(bits);
        let n: usize = dims.iter().product();
        let src = part(11);
        let m = (0..n)
            .map(|i| src.get(i).is_none_or(|&x| x % 4 != 0))
            .collect();
        (m, dims)
    });
    o.bias = op.bias.map(|bits| {
        let dims = bdims(bits);
        let n: usize = dims.iter().product();
        // −∞ (a mask by bias) wherever the value set has it, or one byte in 16.
        let src = part(12);
        let v = vals(src, n, set)
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                if src.get(i).is_some_and(|&b| b % 16 == 1) {
                    f32::NEG_INFINITY
                } else {
                    x
                }
            })
            .collect();
        (v, dims)
    });
    o.alibi = op
        .alibi
        .then(|| (0..hq).map(|h| 0.5f32.powi(h as i32 + 1)).collect());
    o.sinks = op.sinks.then(|| vals(part(7), hq, set));
    let need = need_of(op.need);
    let wout_len = match need {
        NeedWeights::No => None,
        NeedWeights::PerHead => Some(batch * hq * len_q * len_kv),
        NeedWeights::Averaged => Some(batch * len_q * len_kv),
    };
    Case {
        cfg,
        w,
        b,
        batch,
        len_q,
        len_kv,
        x: [xq, xk, xv],
        out_len: batch * len_q * e,
        need,
        wout_len,
        o,
    }
}

/// Applies `br` to `c`. Returns whether the call is now certainly invalid (some breaks are
/// no-ops on some shapes, e.g. "one element short" of an empty slice).
fn apply(c: &mut Case, br: &Break) -> bool {
    let cfg = &mut c.cfg;
    let hq = cfg.num_heads;
    let full = [c.batch, hq, c.len_q, c.len_kv];
    let shorten = |v: &mut Vec<f32>, longer: bool| {
        if longer {
            v.push(0.5);
        } else {
            v.pop();
        }
    };
    match *br {
        Break::ZeroDim(i) => {
            let f = [
                &mut cfg.embed_dim,
                &mut cfg.num_heads,
                &mut cfg.num_kv_heads,
                &mut cfg.head_dim,
                &mut cfg.kdim,
                &mut cfg.vdim,
            ];
            *f.into_iter().nth(i as usize % 6).unwrap() = 0;
            true
        }
        Break::KvHeadsNotDividing => {
            cfg.num_kv_heads = hq + 1;
            true
        }
        Break::WeightLen(i, longer) => {
            shorten(&mut c.w[i as usize % 4], longer);
            true
        }
        Break::BiasLen(i, longer) => match &mut c.b[i as usize % 4] {
            Some(b) => {
                shorten(b, longer);
                true
            }
            None => false,
        },
        Break::SliceShort(i) => {
            let i = i as usize % 4;
            if i == 3 {
                let short = c.out_len > 0;
                c.out_len = c.out_len.saturating_sub(1);
                short
            } else {
                c.x[i].pop().is_some()
            }
        }
        Break::WeightsOutShort => match c.wout_len {
            Some(n) if n > 0 => {
                c.wout_len = Some(n - 1);
                true
            }
            _ => false,
        },
        Break::WeightsOutMissing => match c.wout_len {
            Some(n) if n > 0 => {
                c.wout_len = None;
                true
            }
            _ => false,
        },
        Break::Window0 => {
            c.o.window = Some(0);
            true
        }
        Break::PadTooLong => {
            if c.batch == 0 {
                return false;
            }
            let mut p = c.o.pad.take().unwrap_or(vec![0; c.batch]);
            p[0] = c.len_kv + 1;
            c.o.pad = Some(p);
            true
        }
        Break::PadCount => {
            if c.batch == 0 {
                return false;
            }
            c.o.pad = Some(vec![0; c.batch - 1]);
            true
        }
        Break::MaskDims(ax) => {
            let mut dims = full;
            dims[ax as usize % 4] += 2;
            let n = dims.iter().product();
            c.o.mask = Some((vec![true; n], dims));
            true
        }
        Break::BiasDims(ax) => {
            let mut dims = full;
            dims[ax as usize % 4] += 2;
            let n = dims.iter().product();
            c.o.bias = Some((vec![0.0; n], dims));
            true
        }
        Break::AlibiLen => {
            c.o.alibi = Some(vec![0.5; hq - 1]);
            true
        }
        Break::SinksLen => {
            c.o.sinks = Some(vec![0.5; hq - 1]);
            true
        }
        Break::Softcap(x) => {
            c.o.softcap = Some([0.0, -1.0, f32::NAN, f32::INFINITY][x as usize % 4]);
            true
        }
        Break::Scale(x) => {
            c.o.scale = Some([0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY][x as usize % 4]);
            true
        }
    }
}

fn run_case(inp: &Input, br: Option<&Break>, kernels: &[huiyan::dispatch::Kernels]) {
    let mut c = build(inp);
    let invalid = br.is_some_and(|br| apply(&mut c, br));
    let ws = MhaWeights {
        wq: &c.w[0],
        wk: &c.w[1],
        wv: &c.w[2],
        wo: &c.w[3],
        bq: c.b[0].as_deref(),
        bk: c.b[1].as_deref(),
        bv: c.b[2].as_deref(),
        bo: c.b[3].as_deref(),
    };
    let mut mha = match MultiHeadAttention::new(c.cfg, &ws) {
        Ok(m) => m,
        Err(e) => {
            assert!(invalid, "valid layer refused: {e:?}");
            return;
        }
    };
    let opts = c.o.view();
    let want = (!invalid).then(|| Expected::new(&c, &opts));
    // Buffers one element longer than needed: the extra element must never be written.
    for kern in kernels {
        let isa = kern.isa().name();
        let mut out = vec![SENTINEL; c.out_len + 1];
        let mut wout = c.wout_len.map(|n| vec![SENTINEL; n + 1]);
        let r = mha.forward_with(
            kern,
            &c.x[0],
            &c.x[1],
            &c.x[2],
            c.batch,
            c.len_q,
            c.len_kv,
            &opts,
            &mut out[..c.out_len],
            c.need,
            wout.as_deref_mut().map(|w| {
                let n = w.len() - 1;
                &mut w[..n]
            }),
        );
        match (&r, &want) {
            (Err(_), _) if invalid => {
                assert!(untouched(&out), "{isa}: {r:?}: output written");
                assert!(
                    wout.as_deref().is_none_or(untouched),
                    "{isa}: {r:?}: weights written"
                );
            }
            (Ok(()), _) if invalid => panic!("{isa}: invalid call accepted ({br:?})"),
            (Err(e), _) => panic!("{isa}: valid call refused: {e:?}"),
            (Ok(()), Some(want)) => {
                assert!(untouched(&out[c.out_len..]), "{isa}: wrote past the output");
                assert_within(
                    &out[..c.out_len],
                    &want.y,
                    &want.yb,
                    &format!("{isa} layer output"),
                );
                if let (Some(w), Some((ww, wb))) = (&wout, &want.weights) {
                    assert!(
                        untouched(&w[w.len() - 1..]),
                        "{isa}: wrote past the weights"
                    );
                    assert_within(
                        &w[..w.len() - 1],
                        ww,
                        wb,
                        &format!("{isa} attention weights"),
                    );
                }
            }
            (Ok(()), None) => unreachable!(),
        }
    }
}

/// The reference composition and its bounds.
struct Expected {
    /// Output `[B, Lq, E]` and its bound.
    y: Vec<f32>,
    yb: Vec<f64>,
    /// Weights (`[B, Hq, Lq, Lk]` or averaged `[B, Lq, Lk]`) and their bound.
    weights: Option<(Vec<f32>, Vec<f64>)>,
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
    fn new(c: &Case, opts: &AttentionOptions<'_>) -> Self {
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
