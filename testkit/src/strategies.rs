//! proptest strategies for shapes, strides, values and whole problems.
//!
//! Dimensions are biased toward the values that break kernels: 1, small odd sizes, and tails
//! just below and above multiples of 8 and 16 (vector widths, microkernel tiles); values
//! toward those that break numerics (±1e4, ±1e30, −∞, fully masked rows). Every problem
//! strategy returns an owned problem ([`GemmProblem`], [`SoftmaxProblem`], [`AttnProblem`]).

use huiyan_kernels::attention::CausalVariant;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::layout::{Layout, Layout4, Order4};
use crate::problems::{AttnProblem, AttnShape, Bcast2, Bcast4, GemmProblem, SoftmaxProblem};

/// A dimension in `1..=max`, weighted toward 1, small sizes, and tails around multiples of 16.
pub fn dim(max: usize) -> impl Strategy<Value = usize> {
    let max = max.max(1);
    prop_oneof![
        2 => Just(1usize),
        3 => 1..=max.min(17),
        3 => (1..=(max / 16).max(1)).prop_flat_map(move |m| {
            let base = m * 16;
            prop_oneof![Just(base - 1), Just(base), Just(base + 1)]
        }).prop_map(move |d| d.clamp(1, max)),
        2 => 1..=max,
    ]
}

/// A matrix layout: row- or column-major, with 0 to 3 elements of padding.
pub fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        prop_oneof![3 => Just(0usize), 1 => 1usize..4],
    )
        .prop_map(|(col_major, pad)| Layout { col_major, pad })
}

/// A 4-d layout: BHSD or BSHD, sometimes with row and batch padding.
pub fn layout4() -> impl Strategy<Value = Layout4> {
    (
        prop_oneof![Just(Order4::Bhsd), Just(Order4::Bshd)],
        prop_oneof![3 => Just(0usize), 1 => 1usize..4],
        prop_oneof![3 => Just(0usize), 1 => 1usize..6],
    )
        .prop_map(|(order, row_pad, batch_pad)| Layout4 {
            order,
            row_pad,
            batch_pad,
        })
}

/// Ordinary values in `[-1, 1)`.
pub fn unit_values(len: usize) -> impl Strategy<Value = Vec<f32>> {
    vec(-1.0f32..1.0, len)
}

/// One logit: mostly moderate, sometimes huge (±1e4, ±1e30) or −∞.
pub fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -10.0f32..10.0,
        1 => prop_oneof![Just(1e4f32), Just(-1e4f32), Just(1e30f32), Just(-1e30f32)],
        1 => Just(f32::NEG_INFINITY),
    ]
}

/// A block of `len` logits from [`logit`].
pub fn logits(len: usize) -> impl Strategy<Value = Vec<f32>> {
    vec(logit(), len)
}

/// A boolean mask of `len` entries, mostly true.
pub fn mask(len: usize) -> impl Strategy<Value = Vec<bool>> {
    vec(prop_oneof![4 => Just(true), 1 => Just(false)], len)
}

/// α or β: the BLAS special values 0, 1, −1, 0.5 and a random one.
pub fn blas_scalar() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(0.0f32),
        Just(1.0f32),
        Just(-1.0f32),
        Just(0.5f32),
        -2.0f32..2.0
    ]
}

/// A gemm problem with `m, n ≤ max_mn`, `k ≤ max_k` (k = 0 sometimes), random layouts of A,
/// B, C (transposed, padded), α and β from [`blas_scalar`] (β = 0 ⇒ C₀ is NaN-filled).
pub fn gemm_problem(max_mn: usize, max_k: usize) -> impl Strategy<Value = GemmProblem> {
    let k = prop_oneof![1 => Just(0usize), 9 => dim(max_k)];
    (dim(max_mn), dim(max_mn), k, blas_scalar(), blas_scalar())
        .prop_flat_map(|(m, n, k, alpha, beta)| {
            (
                Just((m, n, k, alpha, beta)),
                unit_values(m * k),
                unit_values(k * n),
                unit_values(m * n),
                [layout(), layout(), layout()],
            )
        })
        .prop_map(|((m, n, k, alpha, beta), a, b, c, layouts)| {
            GemmProblem::new((m, n, k), alpha, beta, &a, &b, &c, layouts)
        })
}

/// Shape of a broadcast operand over a `full` shape: each axis full or 1.
fn bcast_dims<const N: usize>(full: [usize; N]) -> impl Strategy<Value = [usize; N]> {
    vec(any::<bool>(), N)
        .prop_map(move |keep| core::array::from_fn(|ax| if keep[ax] { full[ax] } else { 1 }))
}

/// A bias value: moderate, sometimes ±1e4 or −∞.
fn bias_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        12 => -3.0f32..3.0,
        1 => prop_oneof![Just(1e4f32), Just(-1e4f32)],
        1 => Just(f32::NEG_INFINITY),
    ]
}

/// A softmax problem: `rows ≤ max_rows`, `cols ≤ max_cols`, logits from [`logit`], padded
/// rows, scale from {1, 1/8, −1, random}, optional mask and bias each with a random broadcast
/// shape (a whole row of the mask is sometimes false: fully masked rows), log-softmax and lse
/// sometimes.
pub fn softmax_problem(max_rows: usize, max_cols: usize) -> impl Strategy<Value = SoftmaxProblem> {
    (dim(max_rows), dim(max_cols))
        .prop_flat_map(|(rows, cols)| {
            let mask = proptest::option::weighted(
                0.4,
                (bcast_dims([rows, cols]), 0..3usize).prop_flat_map(|([mr, mc], pad)| {
                    (
                        Just((mr, mc, pad)),
                        mask((mc + pad) * mr),
                        any::<prop::sample::Index>(),
                    )
                }),
            );
            let bias = proptest::option::weighted(
                0.4,
                (bcast_dims([rows, cols]), 0..3usize).prop_flat_map(|([br, bc], pad)| {
                    (Just((br, bc, pad)), vec(bias_value(), (bc + pad) * br))
                }),
            );
            (
                Just((rows, cols)),
                logits(rows * cols),
                0..3usize,
                0..3usize,
                prop_oneof![Just(1.0f32), Just(0.125f32), Just(-1.0f32), 0.01f32..4.0],
                mask,
                bias,
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(
            |((rows, cols), x, x_pad, y_pad, scale, mask, bias, log, want_lse)| {
                let mut p = SoftmaxProblem::new(rows, cols, &x);
                p.x = scatter_rows(&x, rows, cols, x_pad);
                p.x_pad = x_pad;
                p.y_pad = y_pad;
                p.scale = scale;
                p.log = log;
                p.want_lse = want_lse;
                p.mask = mask.map(|((mr, mc, pad), mut data, row)| {
                    // Sometimes (when the mask has whole rows) blank one row completely.
                    if mc == cols && mr > 0 {
                        let r = row.index(mr * 2); // half the time out of range: no blank row
                        if r < mr {
                            data[r * (mc + pad)..r * (mc + pad) + mc].fill(false);
                        }
                    }
                    Bcast2 {
                        data,
                        rows: mr,
                        cols: mc,
                        rs: mc + pad,
                    }
                });
                p.bias = bias.map(|((br, bc, pad), data)| Bcast2 {
                    data,
                    rows: br,
                    cols: bc,
                    rs: bc + pad,
                });
                p
            },
        )
}

fn scatter_rows(x: &[f32], rows: usize, cols: usize, pad: usize) -> Vec<f32> {
    let (rs, cs, len) = Layout {
        col_major: false,
        pad,
    }
    .strides(rows, cols);
    crate::layout::scatter2(x, (rows, cols), (rs, cs, len), f32::NAN)
}

/// Size limits for [`attn_problem`].
#[derive(Clone, Copy, Debug)]
pub struct AttnLimits {
    /// Max batch.
    pub batch: usize,
    /// Max kv heads.
    pub heads_kv: usize,
    /// Max query heads per kv head (`Hq / Hkv`).
    pub group: usize,
    /// Max `Lq` and `Lk`.
    pub len: usize,
    /// Max `dk` and `dv`.
    pub dim: usize,
    /// Keys from this many up (`Lk` is then drawn from `min_len_kv..=min_len_kv + len`,
    /// never 0): puts the keys past a path's threshold. 0 for the default distribution.
    pub min_len_kv: usize,
}

impl AttnLimits {
    /// Tiny problems, for properties of the reference and quick kernel checks.
    pub const SMALL: AttnLimits = AttnLimits {
        batch: 2,
        heads_kv: 2,
        group: 3,
        len: 9,
        dim: 9,
        min_len_kv: 0,
    };
    /// Sizes that cross common tile boundaries (Lq, Lk up to 70; d up to 40).
    pub const TILES: AttnLimits = AttnLimits {
        batch: 2,
        heads_kv: 2,
        group: 2,
        len: 70,
        dim: 40,
        min_len_kv: 0,
    };
    /// Keys past the single-block path (`Lk` in 257..=297) with short query blocks: the flash
    /// tile path, every option.
    pub const LONG_KEYS: AttnLimits = AttnLimits {
        batch: 1,
        heads_kv: 2,
        group: 2,
        len: 40,
        dim: 24,
        min_len_kv: 257,
    };
}

/// An attention shape within `lim`: `Hq = Hkv·group`, `Lq ≠ Lk` usually, `Lq = 1` often (via
/// [`dim`]), `dk ≠ dv` usually, `Lk = 0` occasionally.
pub fn attn_shape(lim: AttnLimits) -> impl Strategy<Value = AttnShape> {
    let len_kv = if lim.min_len_kv == 0 {
        prop_oneof![1 => Just(0usize), 19 => dim(lim.len)].boxed()
    } else {
        (lim.min_len_kv..=lim.min_len_kv + lim.len).boxed()
    };
    (
        1..=lim.batch.max(1),
        1..=lim.heads_kv.max(1),
        1..=lim.group.max(1),
        dim(lim.len),
        len_kv,
        dim(lim.dim),
        dim(lim.dim),
    )
        .prop_map(
            |(batch, heads_kv, group, len_q, len_kv, dim_qk, dim_v)| AttnShape {
                batch,
                heads_q: heads_kv * group,
                heads_kv,
                len_q,
                len_kv,
                dim_qk,
                dim_v,
            },
        )
}

/// Which options [`attn_problem_with`] may switch on.
#[derive(Clone, Copy, Debug)]
pub struct AttnOptionSet {
    /// Causal masks (both variants).
    pub causal: bool,
    /// Key-padding lengths (with NaN written into the padded K/V rows).
    pub padding: bool,
    /// Sliding window.
    pub window: bool,
    /// Boolean mask (random broadcast shape).
    pub mask: bool,
    /// Additive bias (random broadcast shape).
    pub bias: bool,
    /// ALiBi slopes.
    pub alibi: bool,
    /// Logit softcap.
    pub softcap: bool,
    /// Attention sinks.
    pub sinks: bool,
    /// Explicit scale (else the default `1/√dk`).
    pub scale: bool,
    /// Huge logits (Q and K scaled up so `|t|` reaches ~1e3–1e4).
    pub huge: bool,
}

impl AttnOptionSet {
    /// Everything.
    pub const ALL: AttnOptionSet = AttnOptionSet {
        causal: true,
        padding: true,
        window: true,
        mask: true,
        bias: true,
        alibi: true,
        softcap: true,
        sinks: true,
        scale: true,
        huge: true,
    };
    /// Nothing: plain bidirectional attention with the default scale.
    pub const NONE: AttnOptionSet = AttnOptionSet {
        causal: false,
        padding: false,
        window: false,
        mask: false,
        bias: false,
        alibi: false,
        softcap: false,
        sinks: false,
        scale: false,
        huge: false,
    };
}

/// A full attention problem within `lim` with every option of the contract possible
/// ([`attn_problem_with`] with [`AttnOptionSet::ALL`]).
pub fn attn_problem(lim: AttnLimits) -> impl Strategy<Value = AttnProblem> {
    attn_problem_with(lim, AttnOptionSet::ALL)
}

fn opt<T: std::fmt::Debug + Clone>(
    on: bool,
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    // (`option::weighted` rejects probability 0, so an option that is off is mapped away.)
    proptest::option::weighted(0.3, s).prop_map(move |x| if on { x } else { None })
}

/// A full attention problem: random shape ([`attn_shape`]), random layouts of Q, K, V, O
/// ([`layout4`]: BHSD/BSHD, padded), and each option in `set` switched on independently:
/// causal (both variants), key-padding lengths (padded K/V rows poisoned with NaN), window,
/// bool mask and bias with random broadcast shapes, ALiBi slopes, softcap, sinks, explicit
/// scale, huge logits, lse output.
pub fn attn_problem_with(
    lim: AttnLimits,
    set: AttnOptionSet,
) -> impl Strategy<Value = AttnProblem> {
    attn_problem_from(attn_shape(lim), set)
}

/// [`attn_problem_with`] over shapes from any strategy (e.g. `Lq = 1` decode shapes, or
/// `Lq = Lk`): values, layouts and options are drawn as there.
pub fn attn_problem_from(
    shapes: impl Strategy<Value = AttnShape>,
    set: AttnOptionSet,
) -> impl Strategy<Value = AttnProblem> {
    shapes
        .prop_flat_map(move |s| {
            let full = s.score_dims();
            let n_scores = |d: [usize; 4]| d.iter().product::<usize>();
            let data = (
                unit_values(s.q_dims().iter().product()),
                unit_values(s.k_dims().iter().product()),
                unit_values(s.v_dims().iter().product()),
                [layout4(), layout4(), layout4(), layout4()],
            );
            let opts1 = (
                opt(
                    set.causal,
                    prop_oneof![
                        Just(CausalVariant::UpperLeft),
                        Just(CausalVariant::LowerRight)
                    ],
                ),
                opt(set.padding, vec(0..=s.len_kv, s.batch)),
                opt(set.window, 1..=s.len_kv.max(1) + 2),
                opt(
                    set.scale,
                    prop_oneof![Just(1.0f32), Just(-0.5f32), 0.05f32..2.0],
                ),
                opt(set.huge, prop_oneof![Just(30.0f32), Just(100.0f32)]),
            );
            let mask = opt(
                set.mask,
                bcast_dims(full).prop_flat_map(move |d| (Just(d), mask(n_scores(d)))),
            );
            let bias = opt(
                set.bias,
                bcast_dims(full).prop_flat_map(move |d| (Just(d), vec(bias_value(), n_scores(d)))),
            );
            let opts2 = (
                mask,
                bias,
                opt(
                    set.alibi,
                    vec(prop_oneof![Just(0.0f32), 0.0f32..1.0], s.heads_q),
                ),
                opt(
                    set.softcap,
                    prop_oneof![Just(1.0f32), Just(5.0f32), 0.5f32..30.0],
                ),
                opt(
                    set.sinks,
                    vec(
                        prop_oneof![Just(f32::NEG_INFINITY), -3.0f32..3.0],
                        s.heads_q,
                    ),
                ),
                any::<bool>(),
            );
            (Just(s), data, opts1, opts2)
        })
        .prop_map(|(s, (q, k, v, layouts), o1, o2)| {
            let (causal, padding, window, scale, huge) = o1;
            let (mask, bias, alibi, softcap, sinks, want_lse) = o2;
            let boost = huge.unwrap_or(1.0);
            let q: Vec<f32> = q.iter().map(|x| x * boost).collect();
            let k: Vec<f32> = k.iter().map(|x| x * boost).collect();
            let mut p = AttnProblem::new(s, &q, &k, &v);
            p.is_causal = causal.is_some();
            p.causal_variant = causal.unwrap_or_default();
            p.key_padding_lens = padding;
            p.window = window;
            p.scale = scale;
            p.attn_mask = mask.map(|(d, m)| Bcast4::dense(d, &m));
            p.attn_bias = bias.map(|(d, b)| Bcast4::dense(d, &b));
            p.alibi_slopes = alibi;
            p.softcap = softcap;
            p.sinks = sinks;
            p.want_lse = want_lse;
            let mut p = p.relayout(layouts);
            p.poison_padded_keys();
            p
        })
}
