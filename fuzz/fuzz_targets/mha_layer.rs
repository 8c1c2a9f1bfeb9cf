//! The multi-head attention layer (`MultiHeadAttention::forward_with`) on every ISA:
//!
//! * **valid** small configurations (self and cross attention, GQA, `head_dim` independent of
//!   `embed_dim`, optional biases, every attention option the layer passes through, attention
//!   weights per head or averaged) against the composition of the references — reference
//!   matmul projections, `reference::attention`, reference output projection — within a
//!   composite bound derived from the testkit's gemm and attention bounds;
//! * the same configurations with **one thing broken** (a zero or non-dividing dimension, a
//!   weight, bias, input or output slice of the wrong length, a bad option): a typed `Err`, and
//!   the output and weights buffers untouched;
//! * **raw** dimensions (huge batch or lengths with tiny slices, arbitrary slice lengths):
//!   `Ok` or `Err`, never a panic or an unbounded allocation; untouched buffers on `Err`.
//!
//! The reference composition and its error bound are `huiyan_testkit::layer` (shared with
//! `tests/layer.rs`).
#![no_main]

use arbitrary::Arbitrary;
use huiyan::{
    AttentionOptions, CausalVariant, MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights,
};
use huiyan_testkit::problems::Bcast4;
use huiyan_testkit::{assert_within, LayerProblem, LayerShape};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// Never a value the layer computes from the inputs here: an untouched buffer still holds it.
const SENTINEL: f32 = -7.25;

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

/// Everything one call needs, owned: the layer problem (configuration, weights, inputs,
/// options; the oracle runs on it) and the output lengths. A [`Break`] edits any of them.
struct Case {
    p: LayerProblem,
    out_len: usize,
    need: NeedWeights,
    wout_len: Option<usize>,
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
    let shape = LayerShape {
        embed_dim: e,
        num_heads: hq,
        num_kv_heads: hkv,
        head_dim: d,
        kdim,
        vdim,
        batch,
        len_q,
        len_kv,
    };
    let dat = &inp.data;
    let part = |i: usize| &dat[dat.len() * i / 13..];
    let set = inp.values;
    let proj = shape.projections();
    let w: [Vec<f32>; 4] = core::array::from_fn(|i| vals(part(i), proj[i][0] * proj[i][1], set));
    let b: [Option<Vec<f32>>; 4] =
        core::array::from_fn(|i| s.biases[i].then(|| vals(part(4 + i), proj[i][1], set)));
    let [[rq, _], [rk, _], _] = shape.inputs();
    let xq = vals(part(8), rq * e, set);
    let (xk, xv) = if cross {
        (
            vals(part(9), rk * kdim, set),
            vals(part(10), rk * vdim, set),
        )
    } else {
        (xq.clone(), xq.clone())
    };
    let mut p = LayerProblem::new(shape, w, b, [xq, xk, xv]);
    let op = &inp.opts;
    let full = [batch, hq, len_q, len_kv];
    let bdims = |bits: u8| -> [usize; 4] {
        core::array::from_fn(|a| if bits >> a & 1 == 1 { 1 } else { full[a] })
    };
    p.scale = op.scale.map(|x| (1 + x as usize % 8) as f32 * 0.25);
    p.window = op.window.map(|w| 1 + w as usize % 24);
    p.softcap = op.softcap.then_some(5.0);
    if let Some(lr) = op.causal {
        p.is_causal = true;
        p.causal_variant = if lr {
            CausalVariant::LowerRight
        } else {
            CausalVariant::UpperLeft
        };
    }
    p.key_padding_lens = op.pad.as_ref().map(|v| {
        (0..batch)
            .map(|i| v.get(i).map_or(len_kv, |&x| x as usize % (len_kv + 1)))
            .collect()
    });
    p.attn_mask = op.mask.map(|bits| {
        let dims = bdims(bits);
        let n: usize = dims.iter().product();
        let src = part(11);
        let m: Vec<bool> = (0..n)
            .map(|i| src.get(i).is_none_or(|&x| x % 4 != 0))
            .collect();
        Bcast4::dense(dims, &m)
    });
    p.attn_bias = op.bias.map(|bits| {
        let dims = bdims(bits);
        let n: usize = dims.iter().product();
        // −∞ (a mask by bias) wherever the value set has it, or one byte in 16.
        let src = part(12);
        let v: Vec<f32> = vals(src, n, set)
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
        Bcast4::dense(dims, &v)
    });
    p.alibi_slopes = op
        .alibi
        .then(|| (0..hq).map(|h| 0.5f32.powi(h as i32 + 1)).collect());
    p.sinks = op.sinks.then(|| vals(part(7), hq, set));
    let need = need_of(op.need);
    p.want_weights = need != NeedWeights::No;
    let wout_len = match need {
        NeedWeights::No => None,
        NeedWeights::PerHead => Some(shape.weights_len()),
        NeedWeights::Averaged => Some(shape.averaged_weights_len()),
    };
    Case {
        p,
        out_len: shape.output_len(),
        need,
        wout_len,
    }
}

/// Applies `br` to `c`. Returns whether the call is now certainly invalid (some breaks are
/// no-ops on some shapes, e.g. "one element short" of an empty slice).
fn apply(c: &mut Case, br: &Break) -> bool {
    let p = &mut c.p;
    let cfg = &mut p.shape;
    let (hq, batch, len_kv) = (cfg.num_heads, cfg.batch, cfg.len_kv);
    let full = [batch, hq, cfg.len_q, len_kv];
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
            shorten(&mut p.w[i as usize % 4], longer);
            true
        }
        Break::BiasLen(i, longer) => match &mut p.b[i as usize % 4] {
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
                p.x[i].pop().is_some()
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
            p.window = Some(0);
            true
        }
        Break::PadTooLong => {
            if batch == 0 {
                return false;
            }
            let lens = p.key_padding_lens.get_or_insert_with(|| vec![0; batch]);
            lens[0] = len_kv + 1;
            true
        }
        Break::PadCount => {
            if batch == 0 {
                return false;
            }
            p.key_padding_lens = Some(vec![0; batch - 1]);
            true
        }
        Break::MaskDims(ax) => {
            let mut dims = full;
            dims[ax as usize % 4] += 2;
            let n = dims.iter().product();
            p.attn_mask = Some(Bcast4::dense(dims, &vec![true; n]));
            true
        }
        Break::BiasDims(ax) => {
            let mut dims = full;
            dims[ax as usize % 4] += 2;
            let n = dims.iter().product();
            p.attn_bias = Some(Bcast4::dense(dims, &vec![0.0; n]));
            true
        }
        Break::AlibiLen => {
            p.alibi_slopes = Some(vec![0.5; hq - 1]);
            true
        }
        Break::SinksLen => {
            p.sinks = Some(vec![0.5; hq - 1]);
            true
        }
        Break::Softcap(x) => {
            p.softcap = Some([0.0, -1.0, f32::NAN, f32::INFINITY][x as usize % 4]);
            true
        }
        Break::Scale(x) => {
            p.scale = Some([0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY][x as usize % 4]);
            true
        }
    }
}

fn run_case(inp: &Input, br: Option<&Break>, kernels: &[huiyan::dispatch::Kernels]) {
    let mut c = build(inp);
    let invalid = br.is_some_and(|br| apply(&mut c, br));
    let p = &c.p;
    let ws = MhaWeights {
        wq: &p.w[0],
        wk: &p.w[1],
        wv: &p.w[2],
        wo: &p.w[3],
        bq: p.b[0].as_deref(),
        bk: p.b[1].as_deref(),
        bv: p.b[2].as_deref(),
        bo: p.b[3].as_deref(),
    };
    let cfg = MhaConfig {
        embed_dim: p.shape.embed_dim,
        num_heads: p.shape.num_heads,
        num_kv_heads: p.shape.num_kv_heads,
        head_dim: p.shape.head_dim,
        kdim: p.shape.kdim,
        vdim: p.shape.vdim,
    };
    let mut mha = match MultiHeadAttention::new(cfg, &ws) {
        Ok(m) => m,
        Err(e) => {
            assert!(invalid, "valid layer refused: {e:?}");
            return;
        }
    };
    let opts = p.options();
    let want = (!invalid).then(|| p.expected());
    let want_weights = want.as_ref().and_then(|w| match c.need {
        NeedWeights::No => None,
        NeedWeights::PerHead => w.weights.as_ref(),
        NeedWeights::Averaged => w.averaged_weights.as_ref(),
    });
    // Buffers one element longer than needed: the extra element must never be written.
    for kern in kernels {
        let isa = kern.isa().name();
        let mut out = vec![SENTINEL; c.out_len + 1];
        let mut wout = c.wout_len.map(|n| vec![SENTINEL; n + 1]);
        let r = mha.forward_with(
            kern,
            &p.x[0],
            &p.x[1],
            &p.x[2],
            p.shape.batch,
            p.shape.len_q,
            p.shape.len_kv,
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
                    &want.y_bounds,
                    &format!("{isa} layer output"),
                );
                if let (Some(w), Some((ww, wb))) = (&wout, want_weights) {
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
