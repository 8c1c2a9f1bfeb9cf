//! Row kernels, generic over [`SimdF32`]: all loops, tails and special rows of the softmax
//! live here and in [`pass`](super::pass) / [`small`](super::small), no ISA code (contract:
//! [`super`]).
//!
//! # Which path a row takes
//!
//! * **plain** rows (no mask, no per-element bias — the hot case), softmax or log-softmax:
//!   pass 1 reads `x` for its maximum and minimum (`t = scale·x` is monotone in `x`, so the
//!   largest logit is the logit of one of them, the smallest of the other); pass 2 recomputes
//!   `tⱼ`, writes `eⱼ = exp(tⱼ − m)` and sums — with the `exp`'s flush compare left out when
//!   the smallest logit is within `FLUSH` of `m`; pass 3 multiplies by `1/Σ` (log-softmax:
//!   pass 2 only sums, pass 3 writes `(tⱼ − m) − ln Σ`). Rows are software-pipelined
//!   ([`mid_rows`]): pass 1 of the next row runs in the same loop as pass 3 of this one.
//!   - **short** rows (`cols ≤ 4·LANES`, softmax): two rows at a time, terms kept in
//!     registers ([`small`](super::small)).
//!   - **streamed** rows (softmax, out of place, `2048 ≤ cols ≤ 32768`, an output spanning
//!     8 MiB or more, on a tier with non-temporal stores, with a scratch row lent by the
//!     caller): `y` written around the caches, never read, each row's terms waiting in the
//!     scratch while the previous row streams out ([`stream`](super::stream)).
//!   - **long** rows (softmax, out of place; `cols ≥ 8192`, or `cols ≥ 2048` when the output
//!     spans 8 MiB or more): two passes over memory, chunk by chunk, with the online-softmax
//!     rescale between chunks ([`long_row`]). In place, long rows take the three-pass path (a
//!     chunk's `x` would be gone when a NaN turns up later in the row), so in-place and
//!     out-of-place results of a long row may differ in the last bits — both within the
//!     testkit's `tol::softmax` bound.
//!   - Out of place, a NaN logit is found from the row's sum, which it makes NaN; in place,
//!     pass 1 also takes a NaN flag (pass 2 overwrites `x`).
//!   - Stores of pass 3 are aligned to whole vectors (a part-vector first): elementwise
//!     work, so the bits do not depend on where `y` starts; pass 2 sums in row order from the
//!     row's first element whatever the alignment.
//! * **general** rows (a mask row or a bias row): pass 1 forms `tⱼ = scale·xⱼ + biasⱼ`,
//!   masked → `−∞`, *stores it into `y`* and takes the maximum and a NaN flag; passes 2–3 run
//!   on `y` in place.
//! * **degenerate** rows (a NaN or `+∞` logit, or no entry taking part) are found before a
//!   row's own `x` is overwritten and are filled by a plain scalar loop that evaluates the
//!   contract entry by entry ([`degenerate`]).
//!
//! Every row's arithmetic depends only on that row (and on the path its shape and the call's
//! in-place-ness select), never on the row count or on which thread runs it.

use super::exp::exp;
use super::exp::FLUSH;
use super::pass::{extreme, extremes, log_out, mul_inplace, sum_exp, Ext, FromX, Logits, Stored};
use super::simd::SimdF32;
use super::small::{is_small, small_rows};
use super::stream::{stream_rows, streams, SCRATCH_SLACK};

/// A validated softmax call: the whole operation, in raw pointers (see [`super::softmax`]).
pub(crate) struct Call {
    pub(crate) x: *const f32,
    pub(crate) rsx: usize,
    /// Equal to `x` for in-place calls.
    pub(crate) y: *mut f32,
    pub(crate) rsy: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) scale: f32,
    pub(crate) mask: Option<Bcast<bool>>,
    pub(crate) bias: Option<Bcast<f32>>,
    pub(crate) log: bool,
    /// One entry per row, or null when the caller did not ask for the logsumexp.
    pub(crate) lse: *mut f32,
    /// A scratch of `w_len` writable elements disjoint from every operand, or null: lent by
    /// [`softmax_scratch`](super::softmax_scratch) for the streaming path
    /// ([`stream`](super::stream)).
    pub(crate) w: *mut f32,
    pub(crate) w_len: usize,
}

/// A broadcast operand: row `r` starts at `ptr + r·rs` (`rs = 0` when it has one row); with
/// `per_row` (one column) that row is a single value for the whole row.
#[derive(Clone, Copy)]
pub(crate) struct Bcast<T> {
    pub(crate) ptr: *const T,
    pub(crate) rs: usize,
    pub(crate) per_row: bool,
}

/// Runs the whole call, row by row.
///
/// # Safety
/// `c` passed [`check_softmax`](crate::shape::check_softmax): every pointer covers its
/// `rows × cols` (or broadcast) range, `y` does not overlap the inputs other than being `x`
/// itself for in-place calls, and `lse` (if not null) has `rows` entries.
#[inline(always)]
pub(crate) unsafe fn softmax_rows<S: SimdF32>(s: S, c: &Call) {
    if c.mask.is_none() && c.bias.is_none() {
        // SAFETY: forwarded.
        unsafe {
            if c.scale == 1.0 {
                plain_rows::<S, false>(s, c)
            } else {
                plain_rows::<S, true>(s, c)
            }
        }
        return;
    }
    for r in 0..c.rows {
        // SAFETY: r < rows, so every offset below is inside the validated ranges.
        unsafe {
            let x = c.x.add(r * c.rsx);
            let y = c.y.add(r * c.rsy);
            let mask = match c.mask {
                None => None,
                Some(m) if m.per_row => {
                    if *m.ptr.add(r * m.rs) {
                        None
                    } else {
                        fill(y, c.cols, if c.log { f32::NEG_INFINITY } else { 0.0 });
                        if !c.lse.is_null() {
                            *c.lse.add(r) = f32::NEG_INFINITY;
                        }
                        continue;
                    }
                }
                Some(m) => Some(m.ptr.add(r * m.rs)),
            };
            let bias = match c.bias {
                None => Bias::None,
                Some(b) if b.per_row => Bias::Const(*b.ptr.add(r * b.rs)),
                Some(b) => Bias::Row(b.ptr.add(r * b.rs)),
            };
            let out = Out {
                log: c.log,
                lse: !c.lse.is_null(),
            };
            let lse = match (mask, bias) {
                (None, Bias::None) if c.scale == 1.0 => {
                    plain::<S, false, false>(s, x, y, c.cols, c.scale, 0.0, out)
                }
                (None, Bias::None) => plain::<S, true, false>(s, x, y, c.cols, c.scale, 0.0, out),
                (None, Bias::Const(b)) => plain::<S, true, true>(s, x, y, c.cols, c.scale, b, out),
                (mask, bias) => general(s, x, y, c.cols, c.scale, mask, bias, out),
            };
            if !c.lse.is_null() {
                *c.lse.add(r) = lse;
            }
        }
    }
}

/// All rows of a call without mask or bias: short rows in registers ([`small_rows`]), long
/// rows chunk by chunk ([`long_row`]), the others software-pipelined ([`mid_rows`]).
///
/// # Safety
/// As [`softmax_rows`], with no mask and no bias.
#[inline(always)]
unsafe fn plain_rows<S: SimdF32, const SC: bool>(s: S, c: &Call) {
    let n = c.cols;
    if c.rows == 0 {
        return;
    }
    if is_small::<S>(c) {
        // SAFETY: forwarded.
        unsafe { small_rows::<S, SC>(s, c) };
        return;
    }
    if streams(S::STREAM, c) {
        // The scratch from its first 64-byte boundary (for speed only: the kernels access it
        // with unaligned loads and stores). w_len ≥ cols + SCRATCH_SLACK and the offset is at
        // most SCRATCH_SLACK, so cols elements follow w inside the scratch.
        let w = c.w.wrapping_add(c.w.align_offset(64).min(SCRATCH_SLACK));
        // SAFETY: forwarded; streams() checked the rest of stream_rows' contract, and w has
        // cols writable elements inside the scratch (above), which overlaps no operand.
        unsafe { stream_rows::<S, SC>(s, c, w) };
        return;
    }
    let in_place = core::ptr::eq(c.x, c.y);
    let in_memory = c.rows.saturating_mul(c.rsy).saturating_mul(4) >= MEMORY_BYTES;
    if !c.log && !in_place && (n >= LONG || (n >= LONG_IN_MEMORY && in_memory)) {
        for r in 0..c.rows {
            // SAFETY: row r of x and y is inside the validated ranges; out of place.
            unsafe {
                let (x, y) = (c.x.add(r * c.rsx), c.y.add(r * c.rsy));
                let l = long_row::<S, SC>(s, x, y, n, c.scale, !c.lse.is_null());
                if !c.lse.is_null() {
                    *c.lse.add(r) = l;
                }
            }
        }
        return;
    }
    // SAFETY: forwarded.
    unsafe {
        if in_place {
            mid_rows::<S, SC, true>(s, c)
        } else {
            mid_rows::<S, SC, false>(s, c)
        }
    }
}

/// Outputs of at least this many bytes (the span of `y`'s rows) count as memory-resident:
/// 8 MiB, far beyond any L2 and a fair share of an L3.
pub(super) const MEMORY_BYTES: usize = 8 << 20;
/// Out of place, rows from this length up take [`long_row`] when the output is memory-resident
/// ([`MEMORY_BYTES`]); in cache [`mid_rows`] is faster below [`LONG`]. Measured on Zen 4
/// (x86-v4, single thread, session 7, 16 MiB in and out; the host's memory bandwidth is shared
/// with other tenants, so A/B runs alternated): 2048 columns 2.7 → 3.9 elements/ns, 3072
/// 2.8 → 3.8, 4096 3.05 → 3.3; x86-v3 2048 2.1 → 2.6, 4096 1.9 → 2.0. With 1 Mi elements (in
/// L3) [`mid_rows`] stays: 5.2 against 4.2 at 2048 columns.
///
/// Replaced here (session 7): [`mid_rows`] with non-temporal stores — pass 2 into a 16 KiB
/// stack row, pass 3 streaming `y` out from it, so `y` is never read for ownership. Its rows
/// cost the `exp` work plus a burst of 16 KiB of streamed stores at the ~29 GB/s one core
/// gets (session 6, timestamps around the passes), and every way of spreading those stores
/// through the `exp` loop measured slower: row `r − 1`'s stores interleaved vector by vector
/// with row `r`'s `exp` (3.2 → 2.6 elements/ns at 4096; 2.5 with one scratch row rotated in
/// place), in blocks of 128–2048 elements (2.2–3.2), or with the next row's extremes in the
/// same loop (2.6; 1.0 with one rotated row). [`long_row`]'s plain stores, written back by
/// the caches while it computes, overlap better although `y` is then read for ownership.
/// Streaming stores in [`long_row`]'s pass B, onto lines it holds dirty in L2, halve its
/// speed (3.6 → 1.8). Short rows gain nothing from them either (64 columns, `y` aligned:
/// 3.3 both ways).
///
/// What bounds these rows from memory is how well the `exp` work overlaps the memory streams,
/// not the ownership reads of plain stores by themselves (session 7 guessed a ratio to the
/// copy near 2/3 from 12 bytes of traffic per element against 8; session 8 measured
/// otherwise). A plain-store copy loop (`x` → `y`, whole 64-byte stores) runs at memcpy's
/// rate on this host (5.0–5.4 against 4.7–5.3 elements/ns), and with eight dependent FMAs
/// per vector it still moves 5.3 from memory (6.9 in cache; twelve FMAs: 4.4 against 4.7).
/// The two passes of [`long_row`] give 3.3–3.9 from memory against 4.4 in L2: one pass with
/// its stores overlapped, then a second on `y` in cache that memory sits out, and the `exp`
/// between them.
///
/// When the caller lends a scratch row (the std API always does), x86 tiers stream these rows
/// instead ([`stream`](super::stream), merged in session 11): the output goes out through the
/// scratch with non-temporal stores, in the same loop as the next row's `exp`. In the
/// criterion bench (`x` and `y` two `Vec`s, both 16 bytes past a page) that path ran at 4.55
/// elements/ns at 4096 columns and 5.12 at 32768, where this one had run at 3.2–3.5 in the
/// runs of sessions 9 and 10. This path remains the one for callers of the kernel-level
/// [`softmax`](super::softmax) without a scratch, and for the tiers without streaming stores.
///
/// Found while building it (sessions 8–9): the streamed stores must be led away from the
/// loads (half a page modulo 4 KiB: in step, 4096 columns measured 0.71–1.05 of this path
/// with the buffers at the same offset in a page), and with `y` 16 bytes off a line it loses
/// ~20 % against `y` 64-byte aligned (4.5–4.9 elements/ns), because the stream then reads the
/// scratch on `y`'s vector grid while the `exp` writes it on `x`'s, and each load splits two
/// lines. Running the `exp` on `y`'s grid removes the split (a prototype: 3.05 → 3.5–3.7 in
/// the misaligned layout) at the price of a sum order that depends on `y`'s alignment; not
/// done. A prefetch into L1 of the next chunk of `y` in this path's pass B lost (2.95 → 2.7).
const LONG_IN_MEMORY: usize = 2048;

/// Plain rows, software-pipelined: pass 1 of row `r + 1` runs fused with pass 3 of row `r`
/// ([`extremes`] with `MUL`), so the loads of the next row overlap the normalisation of this
/// one, and pass 2 prefetches row `r + 1` of `x` (what bounds rows larger than L1: their
/// passes 2–3 run from cache while memory would otherwise idle).
///
/// Pass 1 takes the row's largest and smallest `x`. The largest logit `m` is the logit of one
/// of them (`t = scale·x` is monotone in `x`); when the smallest logit `t_lo` has
/// `t_lo − m ≥ FLUSH`, so has every `tⱼ − m` (rounding is monotone), and pass 2 runs the `exp`
/// without its flush compare — the same bits.
///
/// NaN: out of place (`IP = false`) pass 1 does not look for one. A NaN logit makes the sum
/// NaN (and a `+∞` one makes `m` infinite), which sends the row to [`degenerate`] with `x`
/// still intact. In place, pass 2 would overwrite `x`, so pass 1 also takes the NaN flag
/// and the row goes to [`degenerate`] before pass 2.
///
/// # Safety
/// As [`softmax_rows`], with no mask and no bias; `IP` exactly when `c.x == c.y`.
#[inline(always)]
unsafe fn mid_rows<S: SimdF32, const SC: bool, const IP: bool>(s: S, c: &Call) {
    let n = c.cols;
    let want_lse = !c.lse.is_null();
    // SAFETY: row 0 < rows (plain_rows returned on an empty call).
    let mut cur = unsafe { row_ext::<S, IP>(s, c, 0) };
    for r in 0..c.rows {
        // SAFETY: r < rows: the row is inside the validated ranges.
        let (x, y) = unsafe { (c.x.add(r * c.rsx), c.y.add(r * c.rsy)) };
        let next = r + 1 < c.rows;
        // Row r + 1 of x (a prefetch target when r is the last row: any address will do).
        let xn = c.x.wrapping_add((r + 1) * c.rsx);
        let src = FromX::<SC, false> {
            x,
            scale: c.scale,
            b: 0.0,
        };
        let (hi, lo) = if c.scale > 0.0 {
            (cur.max, cur.min)
        } else {
            (cur.min, cur.max)
        };
        let m = src.logit1(hi);
        let store = !c.log;
        let sum = if cur.nan || !m.is_finite() {
            f32::NAN
        } else if src.logit1(lo) - m >= FLUSH {
            // SAFETY: x and y rows cover n elements; every tⱼ − m ≥ FLUSH (above).
            unsafe { sum_exp::<S, _, false>(s, src, y, n, m, store, xn) }
        } else {
            // SAFETY: x and y rows cover n elements.
            unsafe { sum_exp::<S, _, true>(s, src, y, n, m, store, xn) }
        };
        let lse = if sum.is_nan() {
            // SAFETY: y covers n elements; x is intact (out of place, or in place and caught
            // before pass 2) and read before each y[j] is written.
            let l = unsafe { degenerate(y, n, c.log, |j| src.logit1(*x.add(j))) };
            if next {
                // SAFETY: r + 1 < rows.
                cur = unsafe { row_ext::<S, IP>(s, c, r + 1) };
            }
            l
        } else if c.log {
            if next {
                // SAFETY: r + 1 < rows.
                cur = unsafe { row_ext::<S, IP>(s, c, r + 1) };
            }
            let ln_sum = libm::logf(sum);
            // SAFETY: x and y rows cover n elements.
            unsafe { log_out(s, src, y, n, m, ln_sum) };
            m + ln_sum
        } else {
            let f = 1.0 / sum;
            // SAFETY: y row r and x row r + 1 cover n elements and do not overlap (rows of a
            // validated call); row r + 1 exists when `next`.
            unsafe {
                if next {
                    cur = extremes::<S, IP, true>(s, xn, n, y, f);
                } else {
                    mul_inplace(s, y, n, f);
                }
            }
            if want_lse {
                m + libm::logf(sum)
            } else {
                m
            }
        };
        if want_lse {
            // SAFETY: lse has rows entries (validated).
            unsafe { *c.lse.add(r) = lse };
        }
    }
}

/// Pass 1 of row `r` alone: [`extremes`] of its `x` (with the NaN flag when `NAN`).
///
/// # Safety
/// `r < c.rows` of a validated call.
#[inline(always)]
pub(super) unsafe fn row_ext<S: SimdF32, const NAN: bool>(s: S, c: &Call, r: usize) -> Ext {
    // SAFETY: row r of x is inside the validated range; no y (MUL is false).
    unsafe {
        let null = core::ptr::null_mut();
        extremes::<S, NAN, false>(s, c.x.add(r * c.rsx), c.cols, null, 0.0)
    }
}

/// Smallest chunk of a long row (4 KiB of `x`: a chunk of `x` and of `y` stay in L1). Rows of
/// `8·CHUNK` elements or more take [`long_row`] at every size: below that, a row of `x` and one
/// of `y` fit in L2, and while they are cached the pipelined three-pass order ([`mid_rows`])
/// is faster (4096 columns in L2: 5.2 against 4.4 elements/ns); from memory [`long_row`] is
/// (see [`LONG_IN_MEMORY`]).
const CHUNK: usize = 1024;
/// Rows from this length up take [`long_row`] (see [`CHUNK`]).
const LONG: usize = 8 * CHUNK;
/// Most chunks per row (their maxima live in a stack array).
const MAX_CHUNKS: usize = 64;

/// A long plain row, out of place, softmax: **two passes over memory**, chunk by chunk.
///
/// Pass A, per chunk of `c ≥ CHUNK` elements: the chunk's maximum `mₖ` (this read brings the
/// chunk into L1), then `yⱼ ← exp(tⱼ − mₖ)` and `sₖ = Σ` from L1; the running pair `(M, S)`
/// absorbs it as in online softmax (`S ← S·e^(M−mₖ) + sₖ` when `mₖ > M`, else
/// `S ← S + sₖ·e^(mₖ−M)`). Pass B: `yⱼ ← yⱼ · e^(mₖ−M)/S`, one factor per chunk, on `y`
/// still in cache, **last chunk first**: pass A wrote those last, so they are still in L1,
/// where a first-to-last order would evict each chunk just before reaching it (4096 columns
/// from memory: 2.6 → 3.4 elements/ns; no change from 8192 up, where most of `y` is in L2
/// anyway). Memory sees `x` read once and `y` written once (and read once for ownership:
/// plain stores), and every chunk's read overlaps the previous chunk's `exp` work instead of
/// all of `x` being read while nothing computes (the three-pass order on a row larger than
/// L1). Out of place only: a NaN or `+∞` found in a later chunk sends the row to
/// [`degenerate`], which re-reads `x`.
///
/// Tried and dropped: running pass B of this row fused with pass A of the next (chunk `k` of
/// this row's `y` scaled in the loop that takes chunk `k`'s extremes of the next row's `x`,
/// as [`mid_rows`] fuses its passes). In L2 it gains a little (32768 columns: 4.36 → 4.6
/// elements/ns) but with 16 MiB in and out it lost badly (3.6 → 2.2): `y` is then re-read a
/// whole row after it was written instead of at once. The cause was not pinned down (no
/// counters on the machine that measured it).
///
/// # Safety
/// `x` covers `n` elements, `y` covers `n` writable elements disjoint from `x`.
#[inline(always)]
unsafe fn long_row<S: SimdF32, const SC: bool>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    want_lse: bool,
) -> f32 {
    let whole = FromX::<SC, false> { x, scale, b: 0.0 };
    // A multiple of 64 elements (whole vectors on every tier).
    let c = CHUNK.max(n.div_ceil(MAX_CHUNKS).div_ceil(64) * 64);
    let mut ms = [f32::NEG_INFINITY; MAX_CHUNKS];
    let (mut big_m, mut big_s) = (f32::NEG_INFINITY, 0.0f32);
    let mut start = 0;
    let mut k = 0;
    while start < n {
        let len = c.min(n - start);
        // SAFETY: start + len ≤ n.
        let (xk, yk) = unsafe { (x.add(start), y.add(start)) };
        // SAFETY: xk covers len elements.
        let e = unsafe {
            let null = core::ptr::null_mut();
            extremes::<S, false, false>(s, xk, len, null, 0.0)
        };
        let (hi, lo) = if scale > 0.0 {
            (e.max, e.min)
        } else {
            (e.min, e.max)
        };
        let mk = whole.logit1(hi);
        if mk.is_nan() || mk == f32::INFINITY {
            // SAFETY: x is intact (out of place).
            return unsafe { degenerate(y, n, false, |j| whole.logit1(*x.add(j))) };
        }
        if let Some(slot) = ms.get_mut(k) {
            *slot = mk;
        }
        if mk == f32::NEG_INFINITY {
            // No entry of this chunk takes part.
            // SAFETY: yk covers len writable elements.
            unsafe { fill(yk, len, 0.0) };
        } else {
            let src = FromX::<SC, false> {
                x: xk,
                scale,
                b: 0.0,
            };
            // The next chunk (or row) of x: a prefetch target only.
            let px = xk.wrapping_add(len);
            // SAFETY: xk and yk cover len elements; without the flush every tⱼ − mₖ ≥ FLUSH.
            let sk = unsafe {
                if whole.logit1(lo) - mk >= FLUSH {
                    sum_exp::<S, _, false>(s, src, yk, len, mk, true, px)
                } else {
                    sum_exp::<S, _, true>(s, src, yk, len, mk, true, px)
                }
            };
            if sk.is_nan() {
                // A NaN logit in this chunk. SAFETY: x is intact (out of place).
                return unsafe { degenerate(y, n, false, |j| whole.logit1(*x.add(j))) };
            }
            if mk > big_m {
                big_s = big_s * exp1(s, big_m - mk) + sk;
                big_m = mk;
            } else {
                big_s += sk * exp1(s, mk - big_m);
            }
        }
        start += len;
        k += 1;
    }
    if big_m == f32::NEG_INFINITY {
        return f32::NEG_INFINITY; // every chunk filled with zeros
    }
    let inv = 1.0 / big_s;
    // Pass B from the last chunk back: the chunks pass A wrote last are the ones still in L1.
    for k in (0..n.div_ceil(c)).rev() {
        let start = k * c;
        let mk = ms.get(k).copied().unwrap_or(big_m);
        if mk != f32::NEG_INFINITY {
            // SAFETY: start < n (k < ⌈n/c⌉), and the chunk ends at or before n.
            unsafe { mul_inplace(s, y.add(start), c.min(n - start), exp1(s, mk - big_m) * inv) };
        }
    }
    if want_lse {
        big_m + libm::logf(big_s)
    } else {
        big_m
    }
}

/// [`exp_lane`](super::exp_lane)`(d)` computed on `S`'s vectors (same bits; no call to
/// `libm::fmaf` from inside a kernel).
#[inline(always)]
fn exp1<S: SimdF32>(s: S, d: f32) -> f32 {
    s.reduce_max(exp(s, s.splat(d)))
}

/// What a row must produce besides `y`.
#[derive(Clone, Copy)]
struct Out {
    /// Log-softmax instead of softmax.
    log: bool,
    /// The caller wants the logsumexp (otherwise `ln Σ` is skipped for softmax).
    lse: bool,
}

#[derive(Clone, Copy)]
enum Bias {
    None,
    Const(f32),
    Row(*const f32),
}

/// A plain row. Returns its logsumexp.
#[inline(always)]
unsafe fn plain<S: SimdF32, const SC: bool, const BI: bool>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    b: f32,
    out: Out,
) -> f32 {
    let src = FromX::<SC, BI> { x, scale, b };
    // Pass 1. In the blocks below: x and y cover n elements (caller).
    // SAFETY: x and y cover n elements (caller).
    let (ext, nan) = unsafe {
        if scale > 0.0 {
            extreme::<S, true, true>(s, x, n)
        } else {
            extreme::<S, false, true>(s, x, n)
        }
    };
    let m = src.logit1(ext);
    if nan || !m.is_finite() {
        // SAFETY: y covers n elements; x is read before each y[j] is written.
        return unsafe { degenerate(y, n, out.log, |j| src.logit1(*x.add(j))) };
    }
    finish(s, src, y, n, m, out)
}

/// A row with a mask row and/or a bias row. Returns its logsumexp.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn general<S: SimdF32>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    mask: Option<*const bool>,
    bias: Bias,
    out: Out,
) -> f32 {
    let l = S::LANES;
    let ninf = s.splat(f32::NEG_INFINITY);
    let (sc, bc) = (
        s.splat(scale),
        s.splat(if let Bias::Const(b) = bias { b } else { 0.0 }),
    );
    let mut acc = ninf;
    let mut nan = s.is_nan(s.splat(0.0));
    let mut j = 0;
    // Pass 1: t = scale·x + bias, masked → −∞, stored into y.
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        // SAFETY: j + k ≤ n; x, y, the mask row and the bias row cover n elements (caller);
        // y may be x (in place): each chunk is read before it is written.
        unsafe {
            let xv = if k == l {
                s.load(x.add(j))
            } else {
                s.load_part(x.add(j), k, 0.0)
            };
            let mut t = s.mul(xv, sc);
            t = match bias {
                Bias::None => t,
                Bias::Const(_) => s.add(t, bc),
                Bias::Row(p) => {
                    let bv = if k == l {
                        s.load(p.add(j))
                    } else {
                        s.load_part(p.add(j), k, 0.0)
                    };
                    s.add(t, bv)
                }
            };
            if let Some(p) = mask {
                let mv = if k == l {
                    s.load_bools(p.add(j))
                } else {
                    s.load_bools_part(p.add(j), k)
                };
                t = s.select(mv, t, ninf);
            }
            if k == l {
                s.store(y.add(j), t);
            } else {
                s.store_part(y.add(j), k, t);
                // Keep the pad lanes out of the max and the NaN flag.
                t = s.load_part(y.add(j), k, f32::NEG_INFINITY);
            }
            acc = s.max(acc, t);
            nan = s.mask_or(nan, s.is_nan(t));
        }
        j += k;
    }
    let m = s.reduce_max(acc);
    if s.mask_any(nan) || !m.is_finite() {
        // SAFETY: y holds the n logits.
        return unsafe { degenerate(y, n, out.log, |j| *y.add(j)) };
    }
    finish(s, Stored(y), y, n, m, out)
}

/// Passes 2 and 3 of a row whose maximum logit `m` is finite and which has no NaN. Returns
/// the logsumexp when `out` needs it (otherwise `m`, unused).
#[inline(always)]
fn finish<S: SimdF32, T: Logits<S>>(s: S, src: T, y: *mut f32, n: usize, m: f32, out: Out) -> f32 {
    // SAFETY: src and y cover n elements (callers); src is x or y itself. No prefetch.
    let sum = unsafe { sum_exp::<S, T, true>(s, src, y, n, m, !out.log, y) };
    normalise(s, src, y, n, m, sum, out)
}

/// Pass 3 given pass 2's `sum` (≥ 1: the maximum contributes exp(0) = 1; ≤ n).
#[inline(always)]
fn normalise<S: SimdF32, T: Logits<S>>(
    s: S,
    src: T,
    y: *mut f32,
    n: usize,
    m: f32,
    sum: f32,
    out: Out,
) -> f32 {
    // In the blocks below: src and y cover n elements (callers).
    if !out.log && !out.lse {
        // SAFETY: y covers n elements (caller).
        unsafe { mul_inplace(s, y, n, 1.0 / sum) };
        return m;
    }
    let ln_sum = libm::logf(sum);
    if out.log {
        // SAFETY: src and y cover n elements (caller).
        unsafe { log_out(s, src, y, n, m, ln_sum) };
    } else {
        // SAFETY: y covers n elements (caller).
        unsafe { mul_inplace(s, y, n, 1.0 / sum) };
    }
    m + ln_sum
}

/// Fills a degenerate row (a NaN or `+∞` logit, or none taking part) entry by entry from the
/// contract. `logit(j)` is `tⱼ`. Returns the logsumexp (NaN or `−∞`).
///
/// # Safety
/// `y` covers `n` elements; `logit(j)` is sound for `j < n` and reads `y[j]` at most.
#[inline(never)]
#[cold]
pub(super) unsafe fn degenerate(
    y: *mut f32,
    n: usize,
    log: bool,
    logit: impl Fn(usize) -> f32,
) -> f32 {
    let mut nan_row = false;
    for j in 0..n {
        // Unreachable for a row with neither NaN, +∞ nor only −∞ logits; any entry taking
        // part in a degenerate row therefore means the row is NaN.
        nan_row |= logit(j) != f32::NEG_INFINITY;
    }
    let off = if log { f32::NEG_INFINITY } else { 0.0 };
    for j in 0..n {
        let t = logit(j);
        let out = if t == f32::NEG_INFINITY {
            off
        } else {
            f32::NAN
        };
        // SAFETY: j < n.
        unsafe { *y.add(j) = out };
    }
    if nan_row {
        f32::NAN
    } else {
        f32::NEG_INFINITY
    }
}

/// `y[..n] ← v`.
///
/// # Safety
/// `y` covers `n` elements.
unsafe fn fill(y: *mut f32, n: usize, v: f32) {
    for j in 0..n {
        // SAFETY: j < n.
        unsafe { *y.add(j) = v };
    }
}
