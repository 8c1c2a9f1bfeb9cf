//! The crate's vector layer: [`SimdF32`], the handful of vector operations every row kernel
//! is written in, implemented once per tier (`scalar.rs`, `portable.rs`, `x86_64/v3.rs`,
//! `x86_64/v4.rs`, `aarch64/neon.rs`), and the numerics built on it: the `exp` of softmax and
//! attention ([`exp_lane`], derivation in `exp.rs`), the `tanh` of the attention softcap
//! ([`tanh_lane`], `tanh.rs`), the GELU of encoder feed-forward layers ([`gelu_lane`], `gelu.rs`) and the row primitives both operations share (`row.rs`).
//!
//! Generic code holds every loop, tail and special case; an implementation only maps each
//! method to instructions. Methods are `#[inline(always)]` so that a generic function
//! instantiated inside a tier's `#[target_feature]` entry point (`tiers/`) compiles to
//! straight-line code with that tier's instructions (the pattern of the `pulp` crate). A value
//! of the implementing type is the ISA token: holding it proves the CPU runs the instructions,
//! which is what the `// SAFETY:` comments in the implementations cite.
//!
//! Arithmetic methods are IEEE-754 binary32 operations with round-to-nearest-even, each rounded
//! once ([`fma`](SimdF32::fma) included), so that every tier computes [`exp_lane`] and
//! [`tanh_lane`] bit for bit.

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub(crate) mod exp;
pub(crate) mod gelu;
mod portable;
pub(crate) mod row;
mod scalar;
pub(crate) mod tanh;
#[cfg(test)]
mod tests;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86_64;

pub use exp::{exp_flush_lane, exp_lane};
pub use gelu::gelu_lane;
pub use tanh::tanh_lane;

/// Vector operations on `LANES` lanes of `f32`. See the [module docs](self).
pub(crate) trait SimdF32: Copy {
    /// A vector of `LANES` floats.
    type V: Copy;
    /// A lane mask (one boolean per lane).
    type M: Copy;
    /// Lanes per vector.
    const LANES: usize;
    /// Whether [`fma`](SimdF32::fma) is one hardware instruction on this tier. Where it is not
    /// (a software `fmaf` per lane), dot products use a multiply and an add instead.
    const HW_FMA: bool;

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
    /// `a / b`, correctly rounded (IEEE division; used off the hot paths, e.g. the softcap's
    /// `t / c`).
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c` rounded once (a true fused multiply-add; software `libm::fmaf` per lane where
    /// the target has none).
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise maximum. Exact; which operand a NaN lane yields is unspecified (callers
    /// detect NaN separately with [`is_nan`](SimdF32::is_nan)).
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise minimum; NaN as for [`max`](SimdF32::max).
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// `if x < lo { lo } else { x }`: a NaN `x` stays NaN.
    fn clamp_below(self, x: Self::V, lo: Self::V) -> Self::V;
    /// `if x > hi { hi } else { x }`: a NaN `x` stays NaN.
    fn clamp_above(self, x: Self::V, hi: Self::V) -> Self::V;
    /// `TABLE[bits(kb) & 15]` per lane ([`exp::TABLE`], `2^(j/16)`).
    fn lookup16(self, kb: Self::V) -> Self::V;
    /// `y · 2ⁿ` rounded once, `n = (bits(kb) − bits(1.5·2²³)) >> 4` in `[−151, 128]`, as
    /// `(y · 2^(n>>1)) · 2^(n − (n>>1))` with both factors built from exponent bits (`y` in
    /// `[0.9, 2.1)` or NaN). Gradual underflow and overflow to `+∞` as IEEE multiplication.
    fn pow2_scale(self, y: Self::V, kb: Self::V) -> Self::V;
    /// `TABLE_ADJ[bits(kb) & 15] + (bits(kb) << 19)` as bits: `2^(j/16) · 2ⁿ` for the
    /// softmax variant (see `exp_flush_xn`).
    fn lookup16_scaled(self, kb: Self::V) -> Self::V;
    /// `if x < thr { +0 } else { fma(a, b, c) }` per lane (a NaN `x` keeps the fma).
    fn fma_or_zero(self, x: Self::V, thr: Self::V, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
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
    /// Widens `n` binary16 values (their bits) at `src` into `dst`, exactly. By default the
    /// branch-free lane code of [`f16_bits_to_f32`](crate::elem::f16_bits_to_f32), which the
    /// compiler vectorises; x86 tiers convert with F16C instead (one instruction per vector).
    ///
    /// # Safety
    /// `src..src+n` readable, `dst..dst+n` writable, the two disjoint.
    #[inline(always)]
    unsafe fn widen_f16(self, src: *const u16, n: usize, dst: *mut f32) {
        // SAFETY: the caller's ranges; `f16` is `repr(transparent)` over `u16`.
        unsafe { crate::elem::widen(src as *const crate::elem::f16, 1, n, dst) }
    }
    /// Hints that the cache line holding `p` will be read soon. Never faults, whatever `p`.
    #[inline(always)]
    fn prefetch_read(self, p: *const f32) {
        let _ = p;
    }
    /// Whether [`store_stream`](SimdF32::store_stream) is a non-temporal store on this tier
    /// (around the caches, no read for ownership); otherwise it is [`store`](SimdF32::store)
    /// and the streaming path is not taken.
    const STREAM: bool = false;
    /// Stores `LANES` floats at `p`, non-temporally where [`STREAM`](SimdF32::STREAM) says so.
    /// Such stores are weakly ordered: [`stream_fence`](SimdF32::stream_fence) must follow
    /// them before the kernel returns.
    ///
    /// # Safety
    /// `p..p+LANES` writable and `p` aligned to `4·LANES` bytes.
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut f32, v: Self::V) {
        // SAFETY: forwarded.
        unsafe { self.store(p, v) }
    }
    /// Orders every earlier [`store_stream`](SimdF32::store_stream) before every later store.
    #[inline(always)]
    fn stream_fence(self) {}
}
