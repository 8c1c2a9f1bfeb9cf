//! Fused scale-softmax over rows.
//!
//! # Contract
//!
//! For each row `r` of `x` (`rows × cols`, unit column stride) the logits are
//! `t_j = scale · x_j + bias_j`, formed in `f32` (an `f32` overflow to ±∞ is part of the
//! contract), and
//!
//! * a **masked** entry (`mask[r][j] == false`; true = attend, PyTorch's polarity) and an entry
//!   whose logit is `−∞` do not take part: its output is exactly `0` (log-softmax: `−∞`);
//! * every other entry gets `y_j = exp(t_j − lse)`, `lse = ln Σ exp(t_k)` over the entries that
//!   take part (log-softmax: `y_j = t_j − lse`);
//! * a row where no entry takes part (fully masked, or all `−∞`) gives all zeros (log-softmax:
//!   all `−∞`) and `lse = −∞` — the same rule as attention's fully masked rows;
//! * a NaN, or a `+∞`, among the logits that take part makes every output of that row NaN
//!   except the entries that do not take part: masked entries and `−∞` logits stay exactly
//!   `0` (log-softmax: `−∞`), and `lse` is NaN.
//!
//! The mask and bias broadcast: each of their two axes is 1 or the full size. `scale` must be
//! finite and non-zero. `lse`, when asked for, has one entry per row.
//!
//! # Kernels
//!
//! Each call's rows take one path, chosen from the call's shape in `plan.rs` (which holds every
//! threshold), one file per path: `short.rs` (rows of at most four vectors, two rows at a time
//! in registers), `pipelined.rs` (three passes — maximum, `exp` and sum, normalise — with the
//! next row's first pass in this row's last), `long.rs` (long rows in two passes over memory,
//! chunk by chunk), `stream.rs` (memory-sized rows streamed out with non-temporal stores
//! through a scratch row the caller lends, [`softmax_scratch`]) and `general.rs` (rows with a
//! mask or a bias); `call.rs` holds what they share. All of it is written once over the vector
//! layer (`simd/`), whose `exp` ([`exp_lane`], derivation in `simd/exp.rs`) is the same
//! operation sequence on every tier, so every tier's `exp` returns identical bits; softmax
//! outputs agree across tiers within the `tol::softmax` bound of `huiyan-testkit` (the tiers
//! sum a row in different orders).

mod call;
mod general;
mod job;
mod long;
mod pipelined;
mod plan;
mod short;
mod stream;

pub use crate::simd::{exp_flush_lane, exp_lane, tanh_lane};
pub(crate) use call::Call;
pub use job::{SoftmaxJob, TASK_ELEMENTS};

use crate::elem::Element;
use crate::error::Error;
use crate::job::Job;
use crate::kernels::Kernels;
pub use crate::options::SoftmaxOptions;
use crate::shape::check_softmax;
use crate::simd::SimdF32;
use crate::view::{MatMut, MatRef};
use call::make_call;
use plan::Path;

/// A tier's whole softmax call.
///
/// # Safety (of calling one)
///
/// The call passed [`check_softmax`]; the CPU has the features of the tier the entry was built
/// for (guaranteed by the token that built the table).
pub(crate) type SoftmaxEntry = unsafe fn(&Call);

/// A tier's `y[j] ← exp(x[j])` over `n` elements.
///
/// # Safety (of calling one)
///
/// `x` and `y` cover `n` elements, `y` writable, equal or disjoint; the CPU guarantee of
/// [`SoftmaxEntry`].
pub(crate) type ExpEntry = unsafe fn(*const f32, *mut f32, usize);

/// The softmax entries of one tier.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoftmaxKernel {
    pub(crate) rows: SoftmaxEntry,
    pub(crate) exp: ExpEntry,
    /// The tier's lanes per vector (`SimdF32::LANES`): the short-row threshold.
    pub(crate) lanes: usize,
    /// The tier has non-temporal stores (`SimdF32::STREAM`): memory-sized calls can stream.
    pub(crate) stream: bool,
}

/// Runs a validated call on tier `S`: the path [`make_call`] decided, for every row.
///
/// # Safety
/// `c` passed [`check_softmax`]: every pointer covers its `rows × cols` (or broadcast) range,
/// `y` does not overlap the inputs other than being `x` itself for in-place calls, `lse` (if
/// not null) has `rows` entries; with [`Path::Stream`], `c.w` holds
/// [`scratch_len`](plan::scratch_len) writable elements that overlap nothing; `c.path` was
/// decided for `S` ([`make_call`] with `S`'s table); the CPU has `S`'s features.
#[inline(always)]
pub(crate) unsafe fn run<S: SimdF32>(s: S, c: &Call) {
    if c.rows == 0 {
        return;
    }
    let scaled = c.scale != 1.0;
    // SAFETY: the caller's contract; each path's own conditions are what `plan::path` checked
    // when it chose the path (for `Stream`: a scratch is lent, which the caller guarantees).
    unsafe {
        match (c.path, scaled) {
            (Path::PerRow, _) => general::rows(s, c),
            (Path::Short, false) => short::rows::<S, false>(s, c),
            (Path::Short, true) => short::rows::<S, true>(s, c),
            (Path::Stream, false) => stream::rows::<S, false>(s, c),
            (Path::Stream, true) => stream::rows::<S, true>(s, c),
            (Path::Long, false) => long::rows::<S, false>(s, c),
            (Path::Long, true) => long::rows::<S, true>(s, c),
            (Path::Pipelined, false) => pipelined::rows::<S, false>(s, c),
            (Path::Pipelined, true) => pipelined::rows::<S, true>(s, c),
        }
    }
}

/// Row softmax of `x` into `y` (contract: [this module](self)), with the kernels of
/// `kernels`; writes each row's logsumexp into `lse` when given. `x` may be stored in `f32`,
/// [`bf16`](crate::elem::bf16) or [`f16`](crate::elem::f16); a half-precision `x` gives the
/// bits of [`softmax_inplace`] on its widened values ([`SoftmaxJob::new`]).
///
/// Validates everything first ([`check_softmax`]); on `Err` nothing was written. Never
/// allocates, never panics.
///
/// ```
/// use huiyan_kernels::{softmax::{softmax, SoftmaxOptions}, Kernels, MatMut, MatRef};
/// let k = Kernels::best_compile_time();
/// let x = [1.0f32, 2.0, 3.0, 0.0, 0.0, f32::NEG_INFINITY];
/// let mut y = [0.0f32; 6];
/// let mut lse = [0.0f32; 2];
/// softmax(&k, MatRef::row_major(&x, 2, 3), MatMut::row_major(&mut y, 2, 3),
///         &SoftmaxOptions::default(), Some(&mut lse)).unwrap();
/// assert!((y[0] + y[1] + y[2] - 1.0).abs() < 1e-6);
/// assert_eq!(&y[3..], &[0.5, 0.5, 0.0]);
/// assert_eq!(lse[1], 2f32.ln());
///
/// // Bad input: an error naming the operand, and `y` untouched.
/// let mut y2 = [7.0f32; 5];
/// let e = softmax(&k, MatRef::row_major(&x, 2, 3), MatMut::row_major(&mut y2, 2, 3),
///                 &SoftmaxOptions::default(), None);
/// assert!(e.is_err());
/// assert_eq!(y2, [7.0; 5]);
/// ```
pub fn softmax<E: Element>(
    kernels: &Kernels,
    x: MatRef<'_, E>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    let Some(x) = x.as_f32() else {
        // Half precision: widened into `y` chunk by chunk ([`SoftmaxJob::new`]), no workspace.
        let job = SoftmaxJob::new(kernels, x, y, opts, lse)?;
        while job.run_next(&mut [])? {}
        return Ok(());
    };
    check_softmax(&x, Some(&y), opts, lse.as_deref())?;
    let call = make_call(&kernels.softmax, &x, y.ptr, y.rs, opts, lse, false);
    // SAFETY: the call was validated above, without a scratch (so it does not stream); the
    // table's constructor took the tier's token.
    unsafe { (kernels.softmax.rows)(&call) };
    Ok(())
}

/// [`softmax`] with a scratch lent for the streaming path: on a tier with non-temporal stores
/// (x86-64-v4, x86-64-v3), a plain softmax (no mask or bias, not log-softmax) of rows of
/// 2048 to 32768 columns whose output spans 8 MiB or more writes `y` **without reading it
/// first**. Each row's terms wait in the scratch while the previous row's output is streamed
/// out of it with non-temporal stores, in the same loop as this row's `exp` and the next
/// row's maximum, so memory sees `x` read once and `y` written once (plain stores also read
/// every line of `y` for ownership, a third of the traffic).
///
/// [`softmax_scratch_len`] says how many elements the call can use; a shorter `scratch`
/// (an empty one included) is not used, and the call is then exactly [`softmax`]. The result
/// is within the `tol::softmax` bound of the [`softmax`] result (the sum runs in another
/// order), and its bits do not depend on where `y` or the scratch start; the scratch's
/// contents on return are unspecified. The non-temporal stores are fenced before the call
/// returns, so `y` is ordinary memory again for this thread and any it hands `y` to.
/// Validation, errors and the untouched-on-error guarantee are those of [`softmax`]. The std
/// crate's `huiyan::softmax` lends a per-thread scratch row by itself.
///
/// ```
/// use huiyan_kernels::softmax::{softmax_scratch, softmax_scratch_len, SoftmaxOptions};
/// use huiyan_kernels::{Kernels, MatMut, MatRef};
/// let k = Kernels::best_compile_time();
/// let (rows, cols) = (512, 4096); // 8 MiB of output: memory-sized
/// let x: Vec<f32> = (0..rows * cols).map(|i| (i % 7) as f32).collect();
/// let mut y = vec![0.0f32; rows * cols];
/// let opts = SoftmaxOptions::default();
/// // cols + 32 on a tier with streaming stores; 0 on the others (the call is then `softmax`).
/// let len = softmax_scratch_len(&k, &MatRef::row_major(&x, rows, cols),
///                               &MatMut::row_major(&mut y, rows, cols), &opts);
/// let mut scratch = vec![0.0f32; len];
/// softmax_scratch(&k, MatRef::row_major(&x, rows, cols), MatMut::row_major(&mut y, rows, cols),
///                 &opts, None, &mut scratch).unwrap();
/// for row in y.chunks(cols) {
///     assert!((row.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-5);
/// }
/// ```
pub fn softmax_scratch(
    kernels: &Kernels,
    x: MatRef<'_>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<(), Error> {
    check_softmax(&x, Some(&y), opts, lse.as_deref())?;
    let lent = scratch.len() >= plan::scratch_len(x.cols);
    let mut call = make_call(&kernels.softmax, &x, y.ptr, y.rs, opts, lse, lent);
    call.w = scratch.as_mut_ptr();
    // SAFETY: the call was validated above; it streams only when the scratch holds
    // scratch_len elements (`lent`), and the scratch is a `&mut` borrow, so it overlaps no
    // operand; the table's constructor took the tier's token.
    unsafe { (kernels.softmax.rows)(&call) };
    Ok(())
}

/// Elements of scratch [`softmax_scratch`] can use for this call with `kernels`:
/// `cols + 32` when it would take the streaming path, `0` when it would not (then it is [`softmax`]).
/// Never fails; for operands [`softmax`] would reject the answer is meaningless but harmless.
///
/// ```
/// use huiyan_kernels::softmax::{softmax_scratch_len, SoftmaxOptions};
/// use huiyan_kernels::{Kernels, MatMut, MatRef};
/// let (rows, cols) = (1024, 4096); // 16 MiB out: memory-sized
/// let x = vec![0.0f32; rows * cols];
/// let mut y = vec![0.0f32; rows * cols];
/// let (xv, yv) = (MatRef::row_major(&x, rows, cols), MatMut::row_major(&mut y, rows, cols));
/// let opts = SoftmaxOptions::default();
/// // The scalar tier has no non-temporal stores; log-softmax never streams.
/// assert_eq!(softmax_scratch_len(&Kernels::scalar(), &xv, &yv, &opts), 0);
/// let log = SoftmaxOptions { log: true, ..Default::default() };
/// assert_eq!(softmax_scratch_len(&Kernels::best_compile_time(), &xv, &yv, &log), 0);
/// ```
pub fn softmax_scratch_len(
    kernels: &Kernels,
    x: &MatRef<'_>,
    y: &MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
) -> usize {
    let call = make_call(&kernels.softmax, x, y.ptr, y.rs, opts, None, true);
    if call.path == Path::Stream {
        plan::scratch_len(x.cols)
    } else {
        0
    }
}

/// Row softmax of `x` in place (contract: [this module](self)); otherwise as [`softmax`].
///
/// ```
/// use huiyan_kernels::{softmax::{softmax_inplace, SoftmaxOptions}, Kernels, MatMut, MatRef};
/// let k = Kernels::best_compile_time();
/// let mut x = [0.0f32, 1.0, 2.0, 3.0];
/// let mask = [true, true, false, false];
/// let opts = SoftmaxOptions { mask: Some(MatRef::row_major(&mask, 1, 4)), ..Default::default() };
/// softmax_inplace(&k, MatMut::row_major(&mut x, 1, 4), &opts, None).unwrap();
/// assert!((x[0] - 0.26894143).abs() < 1e-6);
/// assert_eq!(&x[2..], &[0.0, 0.0]);
/// ```
pub fn softmax_inplace(
    kernels: &Kernels,
    x: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    let xr = x.as_ref();
    check_softmax(&xr, None, opts, lse.as_deref())?;
    let call = make_call(&kernels.softmax, &xr, x.ptr, x.rs, opts, lse, false);
    // SAFETY: as in `softmax`; in place, `y` is `x` itself, which the kernels allow.
    unsafe { (kernels.softmax.rows)(&call) };
    Ok(())
}

/// `y[j] = eˣʲ` for every `j`, the [`exp_lane`] of every tier (at most 2 ulp from the exact
/// value over `[−87.3, 88.7]`, exact specials; see the `exp` module docs).
///
/// `y` must have the length of `x` ([`Error::DimMismatch`] on [`Dim::Cols`](crate::Dim::Cols) otherwise, with
/// `y` untouched).
///
/// ```
/// use huiyan_kernels::{softmax::exp, Kernels};
/// let k = Kernels::best_compile_time();
/// let mut y = [0.0f32; 3];
/// exp(&k, &[0.0, f32::NEG_INFINITY, 1.0], &mut y).unwrap();
/// assert_eq!(&y[..2], &[1.0, 0.0]);
/// assert!((y[2] - core::f32::consts::E).abs() < 1e-6);
/// ```
pub fn exp(kernels: &Kernels, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    crate::shape::check_exp(x, y)?;
    // SAFETY: both slices have x.len() elements and cannot overlap (`&` and `&mut`); the
    // table's constructor took the tier's token.
    unsafe { (kernels.softmax.exp)(x.as_ptr(), y.as_mut_ptr(), x.len()) };
    Ok(())
}
