//! THE `exp`: `f32` exponential by a 16-entry table, range reduction and a degree-3
//! polynomial.
//!
//! [`exp_lane`] is the specification: plain scalar code, one IEEE-754 binary32 operation per
//! line (`fma` = fused multiply-add, `a·b + c` rounded once), each rounded once to
//! nearest-even, plus exact integer operations on bit patterns. [`exp`] is the same sequence
//! written over [`SimdF32`]; every ISA tier runs it, so every tier returns the bits of
//! [`exp_lane`] (tested over the whole domain in `tests/softmax/exp.rs`). Tiers without a
//! hardware FMA (scalar; `wide` on plain SSE2 or wasm) use `libm::fmaf`, which is correctly
//! rounded: slower, same bits. Fusing halves the FP-add work, which on AMD Zen 4 (where
//! 512-bit multiplies and adds each issue once per cycle) is the difference between ~12 and
//! ~8 cycles per vector.
//!
//! # Method
//!
//! `eˣ = 2ⁿ · 2^(j/16) · eʳ` with `k = round(x · 16/ln2)`, `n = ⌊k/16⌋`, `j = k mod 16` and
//! `r = x − k·ln2/16`, so `|r| ≤ ln2/32 ≈ 0.0217`.
//!
//! 1. **Clamp** `x` to `[LO, HI] = [−104, 89]`, keeping NaN. Below `−103.972…` (`ln 2⁻¹⁵⁰`)
//!    the exact result is under half the smallest subnormal and rounds to `+0`; clamping
//!    there keeps `n ≥ −151` so step 7's scale factors stay normal, and maps `−∞` to `+0`
//!    without a special case (`−∞ − k·ln2/16` would be NaN). Above `88.722839…` (`ln FLT_MAX`)
//!    the result overflows; clamping at 89 keeps `n ≤ 128` and still overflows to `+∞`. NaN
//!    fails both compares and passes through.
//! 2. `kb = fma(x, K, 1.5·2²³)` (`K = 16/ln2`) and `kf = kb − 1.5·2²³`: `kf` is `x·K` rounded
//!    to the nearest integer, ties to even (`kb` lies in `[2²³, 2²⁴)` where the spacing is 1;
//!    `|x·K| ≤ 2401`), and the low bits of `kb`'s bit pattern hold `k` as a two's-complement
//!    integer: `j = bits(kb) & 15`, `n = (bits(kb) − bits(1.5·2²³)) >> 4` (arithmetic shift =
//!    floor division).
//! 3. `r = fma(kf, −LN2_16_HI, x)`. Cody–Waite: `LN2_16_HI` has 12 significant bits and
//!    `|k| ≤ 2401` has 12, so the product is exact, and so is the difference by Sterbenz'
//!    lemma (for `k ≠ 0`, `x` is within a factor 2 of `kf·LN2_16_HI`; for `k = 0` it is `x`).
//! 4. `r = fma(kf, −LN2_16_LO, r)`: `HI + LO` is ln2/16 within 1.1e-13, so `r` is the reduced
//!    argument within half an ulp of `r` (≤ 2⁻³⁰ absolute).
//! 5. `s = fma(r², fma(C3, r, C2), r) ≈ eʳ − 1` (`|s| ≤ 0.022`).
//! 6. `y = fma(T[j], s, T[j])` with `T[j] = 2^(j/16)` rounded to `f32` (`y ∈ [0.97, 2.05)`).
//! 7. `y · 2ⁿ`, as `(y · 2^(n>>1)) · 2^(n − (n>>1))`: both factors are normal powers of two
//!    for `n ∈ [−151, 128]` and the first product is exact, so this is `y·2ⁿ` rounded once —
//!    gradual underflow into subnormals, overflow to `+∞`.
//!
//! # Polynomial and error
//!
//! `C2, C3` minimise the maximum relative error of `1 + r + r²(C2 + C3·r)` against `eʳ` on
//! `|r| ≤ 1.02·ln2/32` (Lawson's iteration in `f64`, coefficients then rounded to `f32`):
//! ≤ 1.8e-9 ≈ 0.03·2⁻²⁴ relative with the rounded coefficients. The table entries are within
//! 0.8·2⁻²⁴ of `2^(j/16)` (relative). Error budget for results in `[1, 2)` (ulp = 2⁻²³):
//! table ≤ 0.4 ulp, the final fma ≤ 0.5 ulp, `s` and `r` ≤ 0.02 ulp; below 1 (`j = 0`) the
//! table entry is exact. Bound ≈ 1 ulp. **Measured**: the exhaustive sweep over all
//! 2,237,661,186 `f32` in `[−87.3, 88.7]` (`HUIYAN_FULL_EXP_SWEEP=1 cargo test --release
//! --test softmax exp_full_sweep`, every tier bit-identical) finds at most **0.988 ulp**, at
//! `x = 6.389849` (`0x40cc_79a5`), against `f64::exp`.
//!
//! # Specials and underflow
//!
//! `exp(−∞) = +0`, `exp(+∞) = +∞`, `exp(NaN)` = NaN, `x > 88.7228…` → `+∞`. Between
//! `−103.97` and `−87.34` the result is subnormal: `y·2ⁿ` rounded once, so within 1 unit of
//! the subnormal spacing `2⁻¹⁴⁹` (gradual underflow, no flush to zero); below, `+0`.
//!
//! # The softmax variant
//!
//! [`exp_flush_lane`] (vector form [`exp_flush_xn`]) is the exponential the softmax and
//! attention kernels use, for `x ≤ 0` (the logit minus the row maximum). It differs from
//! [`exp_lane`] in three places, each removing work from the hot loop:
//!
//! * **One-step reduction**: `r = fma(kf, −LN2_16, x)` with `LN2_16 = ln2/16` rounded to `f32`
//!   (`0x3d31_7218`). The fma rounds once, so the only error beyond [`exp_lane`]'s is the
//!   constant's: `LN2_16 − ln2/16 = 1.19e-10`, which shifts `r` by `|k|·1.19e-10`, a relative
//!   error of `|k|·1.19e-10 ≈ 0.002·|k|` units of `2⁻²⁴` in the result (`|k| ≤ 23.1·|x|`):
//!   under 0.05 of those units for `|x| ≤ 1`, about 4 at `x = −87` — below the rounding of
//!   `x = t − m` itself (`|x|·2⁻²⁴`), which every softmax bound already carries.
//! * **Flush**: `+0` below `FLUSH = −87.33` (`exp_lane` returns values under `1.2e-38` there).
//!   [`exp_softmax_xn`] with `CHECK_FLUSH = false` omits the compare, for rows whose smallest logit is
//!   known to lie above `FLUSH` (same bits on those inputs).
//! * **Scaling before the last fma**: `P = T[j]·2ⁿ` is one integer add to a pre-adjusted
//!   table entry, and `fma(P, s, P) = 2ⁿ·fma(T[j], s, T[j])` exactly, because scaling by a
//!   power of two commutes with rounding while the result is normal — which it is for every
//!   `x ≥ FLUSH > ln 2⁻¹²⁶`.
//!
//! **Measured** against `f64::exp` over every `f32` in `[FLUSH, 0]` (1.1e9 values,
//! `HUIYAN_FULL_EXP_SWEEP=1 cargo test --release -p huiyan-kernels flush_variant_accuracy`):
//! at most **4.49 ulp** (at `x = −86.65`, where `eˣ ≈ 2.3e-38`); the worst error grows with
//! `|x|` as derived above: 0.96 ulp on `[−1, 0]`, 1.25 on `[−10, 0]`, 2.51 on `[−44, 0]`
//! (measured the same way). A strided sweep runs in every test run. Every tier returns
//! [`exp_flush_lane`]'s bits (in-crate test `flush_variant_and_row_primitives_on_every_tier`).

use super::SimdF32;

/// Lower clamp: `−104` (`0xc2d0_0000`); `exp(−104) < 2⁻¹⁵⁰`, rounds to `+0`.
pub(crate) const LO: f32 = f32::from_bits(0xc2d0_0000);
/// Upper clamp: `89` (`0x42b2_0000`); `exp(89) > FLT_MAX`, overflows to `+∞`.
pub(crate) const HI: f32 = f32::from_bits(0x42b2_0000);
/// Flush threshold of the softmax variant: `−87.33` (`0xc2ae_a8f6`), above `ln 2⁻¹²⁶`.
pub(crate) const FLUSH: f32 = f32::from_bits(0xc2ae_a8f6);
/// `16/ln2` rounded to `f32`: 23.083120 (`0x41b8_aa3b`).
pub(crate) const K: f32 = f32::from_bits(0x41b8_aa3b);
/// `1.5 · 2²³` (`0x4b40_0000`): adding and subtracting it rounds `|v| < 2²²` to an integer.
pub(crate) const ROUND_MAGIC: f32 = f32::from_bits(0x4b40_0000);
/// `−LN2_16_HI`: minus the high part of ln2/16, 12 significant bits: −0.0433197021484375
/// (`0xbd31_7000`; negated because the fma adds).
pub(crate) const NEG_LN2_16_HI: f32 = f32::from_bits(0xbd31_7000);
/// `−LN2_16_LO`: minus `ln2/16 − LN2_16_HI` rounded to `f32`, −1.9966365e-6 (`0xb605_fdf4`).
pub(crate) const NEG_LN2_16_LO: f32 = f32::from_bits(0xb605_fdf4);
/// `−LN2_16`: minus ln2/16 rounded to `f32`, −0.0433216989 (`0xbd31_7218`; the softmax
/// variant's one-step reduction, see the module docs).
pub(crate) const NEG_LN2_16: f32 = f32::from_bits(0xbd31_7218);
/// `r²` coefficient, ≈ 1/2: 0.50001681 (`0x3f00_011a`).
pub(crate) const C2: f32 = f32::from_bits(0x3f00_011a);
/// `r³` coefficient, ≈ 1/6: 0.16666722 (`0x3e2a_aad0`).
pub(crate) const C3: f32 = f32::from_bits(0x3e2a_aad0);

/// `2^(j/16)` rounded to nearest `f32`, `j = 0..16`.
pub(crate) const TABLE: [f32; 16] = [
    f32::from_bits(0x3f80_0000),
    f32::from_bits(0x3f85_aac3),
    f32::from_bits(0x3f8b_95c2),
    f32::from_bits(0x3f91_c3d3),
    f32::from_bits(0x3f98_37f0),
    f32::from_bits(0x3f9e_f532),
    f32::from_bits(0x3fa5_fed7),
    f32::from_bits(0x3fad_583f),
    f32::from_bits(0x3fb5_04f3),
    f32::from_bits(0x3fbd_08a4),
    f32::from_bits(0x3fc5_672a),
    f32::from_bits(0x3fce_248c),
    f32::from_bits(0x3fd7_44fd),
    f32::from_bits(0x3fe0_ccdf),
    f32::from_bits(0x3fea_c0c7),
    f32::from_bits(0x3ff5_257d),
];

/// `bits(TABLE[j]) − (j << 19)`: adding `bits(kb) << 19` (which is `(n << 23) + (j << 19)`)
/// to entry `j` gives the bits of `TABLE[j] · 2ⁿ` in one integer add (the softmax variant's
/// scaling, valid while that is a normal number).
pub(crate) const TABLE_ADJ: [u32; 16] = {
    let mut a = [0u32; 16];
    let mut j = 0;
    while j < 16 {
        a[j] = TABLE[j].to_bits().wrapping_sub((j as u32) << 19);
        j += 1;
    }
    a
};

/// `eˣ` for one `f32`: the specification every tier mirrors (method, constants and error
/// bound: this module).
///
/// ```
/// use huiyan_kernels::softmax::exp_lane;
/// assert_eq!(exp_lane(0.0), 1.0);
/// assert_eq!(exp_lane(f32::NEG_INFINITY), 0.0);
/// assert_eq!(exp_lane(100.0), f32::INFINITY);
/// assert!((exp_lane(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 2.0);
/// ```
#[inline]
pub fn exp_lane(x: f32) -> f32 {
    // 1. Clamp, NaN passing through (both compares are false for NaN).
    let x = if x > HI { HI } else { x };
    let x = if x < LO { LO } else { x };
    let (y, kb) = reduced(x);
    // 7. y·2ⁿ, rounded once.
    pow2_scale_lane(y, kb)
}

/// Steps 2–6 of [`exp_lane`]: `(y, kb)` with `eˣ = y · 2ⁿ`, `n` and `j` in `bits(kb)`.
#[inline(always)]
fn reduced(x: f32) -> (f32, f32) {
    let (s, kb) = reduced_s::<false>(x);
    // 6. y = 2^(j/16) · eʳ.
    let t = TABLE[(kb.to_bits() & 15) as usize];
    (fma(t, s, t), kb)
}

/// Steps 2–5 of [`exp_lane`]: `(s, kb)` with `s = eʳ − 1`; with `ONE`, the softmax variant's
/// one-step reduction instead of steps 3–4.
#[inline(always)]
fn reduced_s<const ONE: bool>(x: f32) -> (f32, f32) {
    // 2. k = round(x·16/ln2), in kf and in the low bits of kb.
    let kb = fma(x, K, ROUND_MAGIC);
    let kf = kb - ROUND_MAGIC;
    // 3.–4. Cody–Waite reduction (or one fma with ln2/16 rounded to f32).
    let r = if ONE {
        fma(kf, NEG_LN2_16, x)
    } else {
        fma(kf, NEG_LN2_16_LO, fma(kf, NEG_LN2_16_HI, x))
    };
    // 5. s = eʳ − 1.
    let q = fma(C3, r, C2);
    let r2 = r * r;
    (fma(r2, q, r), kb)
}

/// `a·b + c` rounded once (`libm::fmaf` is correctly rounded on every target).
#[inline(always)]
pub(crate) fn fma(a: f32, b: f32, c: f32) -> f32 {
    libm::fmaf(a, b, c)
}

/// `n` of [`exp_lane`] from `bits(kb)`: `(bits(kb) − bits(1.5·2²³)) >> 4`.
#[inline(always)]
pub(crate) fn k_to_n(kb_bits: u32) -> i32 {
    (kb_bits.wrapping_sub(ROUND_MAGIC.to_bits()) as i32) >> 4
}

/// `2ᵐ` for `m ∈ [−126, 127]`, built from its exponent bits.
#[inline(always)]
pub(crate) fn pow2(m: i32) -> f32 {
    f32::from_bits(((m + 127) as u32) << 23)
}

/// Step 7: `y · 2ⁿ` rounded once, in two steps.
#[inline(always)]
fn pow2_scale_lane(y: f32, kb: f32) -> f32 {
    // For NaN kb (NaN x) the factors are garbage but y is NaN too.
    let n = k_to_n(kb.to_bits());
    let n1 = n >> 1;
    (y * pow2(n1)) * pow2(n - n1)
}

/// The softmax variant of [`exp_lane`], for `x ≤ 0`: `+0` below `FLUSH = −87.33`, a one-step
/// range reduction (within a few units of `2⁻²⁴` of `eˣ`: see this module).
///
/// ```
/// use huiyan_kernels::softmax::{exp_flush_lane, exp_lane};
/// assert_eq!(exp_flush_lane(0.0), 1.0);
/// assert!((exp_flush_lane(-3.5) - exp_lane(-3.5)).abs() <= 1e-7 * exp_lane(-3.5));
/// assert_eq!(exp_flush_lane(-87.4), 0.0);
/// assert_eq!(exp_flush_lane(f32::NEG_INFINITY), 0.0);
/// ```
#[inline]
pub fn exp_flush_lane(x: f32) -> f32 {
    // exp_lane's steps 2–5 with r in one step.
    let (s, kb) = reduced_s::<true>(x);
    // P = 2^(j/16) · 2ⁿ from the adjusted table: one integer add (see TABLE_ADJ).
    let b = kb.to_bits();
    let p = f32::from_bits(TABLE_ADJ[(b & 15) as usize].wrapping_add(b << 19));
    // y = fma(P, s, P) = 2ⁿ · fma(T[j], s, T[j]) exactly while normal.
    let y = fma(p, s, p);
    if x < FLUSH {
        0.0
    } else {
        y
    }
}

/// [`exp_lane`] on every lane of a vector.
#[inline(always)]
pub(crate) fn exp<S: SimdF32>(s: S, x: S::V) -> S::V {
    let x = s.clamp_above(x, s.splat(HI));
    let x = s.clamp_below(x, s.splat(LO));
    let [(sv, kb)] = reduced_xn::<S, 1, false>(s, [x]);
    let t = s.lookup16(kb);
    s.pow2_scale(s.fma(t, sv, t), kb)
}

/// [`exp_flush_lane`] on `N` vectors, operation by operation in lockstep: interleaving
/// independent dependency chains lets an out-of-order core keep its FP pipes busy (one chain
/// is ~12 dependent operations).
#[inline(always)]
pub(crate) fn exp_flush_xn<S: SimdF32, const N: usize>(s: S, x: [S::V; N]) -> [S::V; N] {
    exp_softmax_xn::<S, N, true>(s, x)
}

/// [`exp_flush_lane`] on `N` vectors, with (`CHECK_FLUSH`) or without the flush compare. Without it,
/// the result has the same bits for every input in `[FLUSH, 0]` or NaN (a caller that knows
/// its inputs lie there saves the compare); below `FLUSH` it is garbage.
#[inline(always)]
pub(crate) fn exp_softmax_xn<S: SimdF32, const N: usize, const CHECK_FLUSH: bool>(
    s: S,
    x: [S::V; N],
) -> [S::V; N] {
    let sk = reduced_xn::<S, N, true>(s, x);
    let mut p = x;
    for i in 0..N {
        p[i] = s.lookup16_scaled(sk[i].1);
    }
    let fl = s.splat(FLUSH);
    let mut out = x;
    for i in 0..N {
        out[i] = if CHECK_FLUSH {
            s.fma_or_zero(x[i], fl, p[i], sk[i].0, p[i])
        } else {
            s.fma(p[i], sk[i].0, p[i])
        };
    }
    out
}

/// [`exp_flush_lane`] on one vector.
#[inline(always)]
pub(crate) fn exp_flush<S: SimdF32>(s: S, x: S::V) -> S::V {
    exp_flush_xn(s, [x])[0]
}

/// Steps 2–5 on `N` vectors in lockstep (see [`reduced`]): `(s, kb)` per vector; with `ONE`
/// the softmax variant's one-step reduction (`NEG_LN2_16`) replaces Cody–Waite's two steps.
/// Plain loops, not `array::map`:
/// `map` is not always inlined, and a call out of a `#[target_feature]` kernel costs the
/// vector registers.
#[inline(always)]
fn reduced_xn<S: SimdF32, const N: usize, const ONE: bool>(
    s: S,
    x: [S::V; N],
) -> [(S::V, S::V); N] {
    let (mut kb, mut kf, mut r, mut q, mut r2) = (x, x, x, x, x);
    for i in 0..N {
        kb[i] = s.fma(x[i], s.splat(K), s.splat(ROUND_MAGIC));
    }
    for i in 0..N {
        kf[i] = s.sub(kb[i], s.splat(ROUND_MAGIC));
    }
    if ONE {
        for i in 0..N {
            r[i] = s.fma(kf[i], s.splat(NEG_LN2_16), x[i]);
        }
    } else {
        for i in 0..N {
            r[i] = s.fma(kf[i], s.splat(NEG_LN2_16_HI), x[i]);
        }
        for i in 0..N {
            r[i] = s.fma(kf[i], s.splat(NEG_LN2_16_LO), r[i]);
        }
    }
    for i in 0..N {
        q[i] = s.fma(s.splat(C3), r[i], s.splat(C2));
    }
    for i in 0..N {
        r2[i] = s.mul(r[i], r[i]);
    }
    let mut sv = r2;
    for i in 0..N {
        sv[i] = s.fma(r2[i], q[i], r[i]);
    }
    let mut out = [(x[0], x[0]); N];
    for i in 0..N {
        out[i] = (sv[i], kb[i]);
    }
    out
}
