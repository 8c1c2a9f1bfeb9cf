//! [`SimdF32`]: the handful of vector operations the softmax row kernels and the `exp` are
//! written in, implemented once per ISA tier (`scalar.rs`, `portable.rs`, `x86_64/v3.rs`,
//! `x86_64/v4.rs`, `aarch64/neon.rs`).
//!
//! The generic code in [`exp`](super::exp) and [`row`](super::row) holds every loop, tail and
//! special case; an implementation only maps each method to instructions. Methods are
//! `#[inline(always)]` so that a generic function instantiated inside a `#[target_feature]`
//! entry point compiles to straight-line code with that ISA's instructions (the pattern of the
//! `pulp` crate). A value of the implementing type is the ISA token: holding it proves the CPU
//! runs the instructions, which is what the `// SAFETY:` comments in the implementations cite.
//!
//! Arithmetic methods are IEEE-754 binary32 operations with round-to-nearest-even, each rounded
//! once (no fused multiply-add anywhere), so that every tier computes [`exp_lane`] bit for bit.
//!
//! [`exp_lane`]: super::exp::exp_lane

/// Vector operations on `LANES` lanes of `f32`. See the [module docs](self).
pub(crate) trait SimdF32: Copy {
    /// A vector of `LANES` floats.
    type V: Copy;
    /// A lane mask (one boolean per lane).
    type M: Copy;
    /// Lanes per vector.
    const LANES: usize;

    /// Every lane `x`.
    fn splat(self, x: f32) -> Self::V;
    /// Loads `LANES` floats.
    ///
    /// # Safety
    /// `p..p+LANES` readable.
    unsafe fn load(self, p: *const f32) -> Self::V;
    /// Loads `n < LANES` floats into the low lanes; the other lanes are `fill`. Reads nothing
    /// past `p + n`.
    ///
    /// # Safety
    /// `p..p+n` readable.
    unsafe fn load_part(self, p: *const f32, n: usize, fill: f32) -> Self::V;
    /// Stores `LANES` floats.
    ///
    /// # Safety
    /// `p..p+LANES` writable.
    unsafe fn store(self, p: *mut f32, v: Self::V);
    /// Stores the low `n < LANES` lanes; writes nothing past `p + n`.
    ///
    /// # Safety
    /// `p..p+n` writable.
    unsafe fn store_part(self, p: *mut f32, n: usize, v: Self::V);
    /// Loads `LANES` booleans as a lane mask.
    ///
    /// # Safety
    /// `p..p+LANES` readable (each a valid `bool`).
    unsafe fn load_bools(self, p: *const bool) -> Self::M;
    /// Loads `n < LANES` booleans into the low lanes (other lanes false); reads nothing past
    /// `p + n`.
    ///
    /// # Safety
    /// `p..p+n` readable.
    unsafe fn load_bools_part(self, p: *const bool, n: usize) -> Self::M;

    /// `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a − b`.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise maximum. Exact; which operand a NaN lane yields is unspecified (callers
    /// detect NaN separately with [`is_nan`](SimdF32::is_nan)).
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise minimum; NaN as for [`max`](SimdF32::max).
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// `if x < lo { lo } else { x }`: a NaN `x` stays NaN.
    fn clamp_below(self, x: Self::V, lo: Self::V) -> Self::V;
    /// `if x > hi { hi } else { x }`: a NaN `x` stays NaN.
    fn clamp_above(self, x: Self::V, hi: Self::V) -> Self::V;
    /// Round to the nearest integer, ties to even, for `|x| < 2²²` (and NaN stays NaN).
    fn round(self, x: Self::V) -> Self::V;
    /// `p · 2ⁿ` rounded once, for `n` an integer in `[−150, 128]` held as a float and `p` in
    /// `[0.5, 2)` (or NaN, which gives NaN). Gradual underflow and overflow to `+∞` as IEEE
    /// multiplication gives them.
    fn ldexp(self, p: Self::V, n: Self::V) -> Self::V;
    /// `if m { a } else { b }` per lane.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;
    /// Lanes that are NaN.
    fn is_nan(self, v: Self::V) -> Self::M;
    /// `a | b`.
    fn mask_or(self, a: Self::M, b: Self::M) -> Self::M;
    /// Whether any lane is set.
    fn mask_any(self, m: Self::M) -> bool;
    /// Maximum over lanes (exact for NaN-free input).
    fn reduce_max(self, v: Self::V) -> f32;
    /// Minimum over lanes (exact for NaN-free input).
    fn reduce_min(self, v: Self::V) -> f32;
    /// Sum over lanes, in this ISA's fixed order.
    fn reduce_add(self, v: Self::V) -> f32;
}
