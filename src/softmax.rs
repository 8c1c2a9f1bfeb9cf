//! Row softmax and `exp` through the dispatched kernels.
//!
//! [`softmax`] / [`softmax_inplace`] compute `y = softmax(scale·x + bias)` per row with an
//! optional boolean mask (contract: [`huiyan_kernels::softmax`]), optionally log-softmax and
//! the per-row logsumexp; [`exp`] is the kernels' vector `exp` (≤ 2 ulp). Each has a `_with`
//! variant taking the [`Kernels`] table explicitly (the tests run every ISA through them).
//! Bad input returns a typed [`Error`] and leaves every output untouched.
//!
//! With the `rayon` feature, calls of at least [`PAR_MIN_ELEMENTS`] elements are split into
//! blocks of whole rows, one call of the same kernel per block. Rows never interact, so the
//! result is bit-identical to the single-thread one whatever the thread count.

use huiyan_kernels::softmax as k;
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{Error, Kernels, MatMut, MatRef};

use crate::dispatch;

/// Below this many elements a call runs on the calling thread only (rayon feature).
pub const PAR_MIN_ELEMENTS: usize = 1 << 16;

/// Row softmax of `x` into `y` with the dispatched kernels; each row's logsumexp into `lse`
/// when given (`−∞` for a fully masked row).
///
/// Outputs of 8 MiB or more with plain rows of 2048–32768 columns are written with
/// non-temporal stores on x86 (`y` is never read for ownership): the call lends the kernel a
/// scratch row kept per thread ([`huiyan_kernels::softmax::softmax_scratch`]), allocated on
/// the first such call and reused after.
///
/// ```
/// use huiyan::{softmax, MatMut, MatRef, SoftmaxOptions};
/// let x = [1.0f32, 2.0, 3.0, 4.0];
/// let mut y = [0.0f32; 4];
/// let opts = SoftmaxOptions { scale: 0.5, ..Default::default() };
/// softmax(MatRef::row_major(&x, 2, 2), MatMut::row_major(&mut y, 2, 2), &opts, None).unwrap();
/// assert!((y[0] - 0.37754068).abs() < 1e-6 && (y[0] + y[1] - 1.0).abs() < 1e-6);
/// ```
pub fn softmax(
    x: MatRef<'_>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    softmax_with(dispatch::kernels(), x, y, opts, lse)
}

/// [`softmax`] with an explicit kernel table.
///
/// ```
/// use huiyan::{dispatch, softmax_with, MatMut, MatRef, SoftmaxOptions};
/// let x = [1.0f32, 2.0, 3.0];
/// let opts = SoftmaxOptions::default();
/// // Every tier agrees with the others to within rounding.
/// let mut first: Option<[f32; 3]> = None;
/// for k in dispatch::available() {
///     let mut y = [0.0f32; 3];
///     softmax_with(&k, MatRef::row_major(&x, 1, 3), MatMut::row_major(&mut y, 1, 3), &opts, None)?;
///     assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
///     let f = *first.get_or_insert(y);
///     assert!(y.iter().zip(f).all(|(a, b)| (a - b).abs() < 1e-6));
/// }
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn softmax_with(
    kernels: &Kernels,
    x: MatRef<'_>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    #[cfg(feature = "rayon")]
    {
        if x.rows >= 2 && x.rows.saturating_mul(x.cols) >= PAR_MIN_ELEMENTS {
            return par::run(kernels, x, Some(y), opts, lse);
        }
    }
    one_call(kernels, x, y, opts, lse)
}

thread_local! {
    /// The scratch row this thread lends to streaming softmax calls.
    static STREAM: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One out-of-place kernel call, lending this thread's scratch row when the call can stream
/// ([`k::softmax_scratch_len`]: plain rows of 2048–32768 columns, a memory-sized output, a
/// tier with non-temporal stores); the same result otherwise.
fn one_call(
    kernels: &Kernels,
    x: MatRef<'_>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    let want = k::softmax_scratch_len(kernels, &x, &y, opts);
    if want == 0 {
        return k::softmax(kernels, x, y, opts, lse);
    }
    crate::scratch::with_scratch(&STREAM, want, |w| {
        k::softmax_scratch(kernels, x, y, opts, lse, w)
    })
}

/// Row softmax of `x` in place with the dispatched kernels.
///
/// ```
/// use huiyan::{softmax_inplace, MatMut, SoftmaxOptions};
/// let mut x = [0.0f32, 0.0, f32::NEG_INFINITY];
/// let mut lse = [0.0f32];
/// softmax_inplace(MatMut::row_major(&mut x, 1, 3), &SoftmaxOptions::default(), Some(&mut lse))
///     .unwrap();
/// assert_eq!(x, [0.5, 0.5, 0.0]);
/// assert_eq!(lse[0], 2f32.ln());
/// ```
pub fn softmax_inplace(
    x: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    softmax_inplace_with(dispatch::kernels(), x, opts, lse)
}

/// [`softmax_inplace`] with an explicit kernel table.
///
/// ```
/// use huiyan::{dispatch::Kernels, softmax_inplace_with, MatMut, SoftmaxOptions};
/// let mut x = [0.0f32, 0.0, 0.0, 0.0];
/// let opts = SoftmaxOptions { log: true, ..Default::default() };
/// softmax_inplace_with(&Kernels::scalar(), MatMut::row_major(&mut x, 1, 4), &opts, None)?;
/// // log-softmax of a uniform row is −ln 4 everywhere.
/// assert!(x.iter().all(|&v| (v + 4f32.ln()).abs() < 1e-6));
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn softmax_inplace_with(
    kernels: &Kernels,
    x: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    #[cfg(feature = "rayon")]
    {
        if x.rows >= 2 && x.rows.saturating_mul(x.cols) >= PAR_MIN_ELEMENTS {
            return par::run_inplace(kernels, x, opts, lse);
        }
    }
    k::softmax_inplace(kernels, x, opts, lse)
}

/// `y[j] = exp(x[j])` with the dispatched kernels; `y.len()` must equal `x.len()`.
///
/// ```
/// let mut y = [0.0f32; 2];
/// huiyan::exp(&[0.0, f32::INFINITY], &mut y).unwrap();
/// assert_eq!(y, [1.0, f32::INFINITY]);
/// ```
pub fn exp(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    exp_with(dispatch::kernels(), x, y)
}

/// [`exp`] with an explicit kernel table.
///
/// ```
/// use huiyan::{dispatch::Kernels, exp_with, Error};
/// let mut y = [0.0f32; 3];
/// exp_with(&Kernels::scalar(), &[0.0, 1.0, f32::NEG_INFINITY], &mut y)?;
/// assert_eq!(y[0], 1.0);
/// assert!((y[1] - std::f32::consts::E).abs() < 1e-6);
/// assert_eq!(y[2], 0.0);
/// // Lengths must match.
/// assert!(matches!(exp_with(&Kernels::scalar(), &[1.0], &mut y), Err(Error::DimMismatch { .. })));
/// # Ok::<(), Error>(())
/// ```
pub fn exp_with(kernels: &Kernels, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    k::exp(kernels, x, y)
}

#[cfg(feature = "rayon")]
mod par {
    //! Splitting a validated call into blocks of whole rows.

    use huiyan_kernels::shape::check_softmax;
    use huiyan_kernels::softmax as k;
    use huiyan_kernels::softmax::SoftmaxOptions;
    use huiyan_kernels::{Error, Kernels, MatMut, MatRef};
    use rayon::prelude::*;

    /// One block: rows `r0..r0+rows` of every row-indexed operand.
    struct Block<'a> {
        x: MatRef<'a>,
        y: Option<MatMut<'a>>,
        xm: Option<MatMut<'a>>,
        mask: Option<MatRef<'a, bool>>,
        bias: Option<MatRef<'a, f32>>,
        lse: Option<&'a mut [f32]>,
    }

    /// Rows `r0..r0+rows` of a broadcastable operand (a one-row operand stays as it is).
    fn rows_of<'a, T>(v: Option<MatRef<'a, T>>, r0: usize, rows: usize) -> Option<MatRef<'a, T>> {
        v.map(|v| {
            if v.rows == 1 {
                return v;
            }
            let off = r0 * v.rs;
            // SAFETY: the whole view was validated (check_softmax), so its slice covers
            // `off + extent of the sub-view`; the sub-view is a part of the same borrow.
            unsafe {
                MatRef::from_raw_parts(v.as_ptr().add(off), v.len() - off, rows, v.cols, v.rs, v.cs)
            }
        })
    }

    fn blocks(total_rows: usize, cols: usize) -> usize {
        let by_size = (total_rows * cols / super::PAR_MIN_ELEMENTS).max(1);
        (rayon::current_num_threads() * 4)
            .min(by_size)
            .min(total_rows)
            .max(1)
    }

    fn execute(kernels: &Kernels, opts: &SoftmaxOptions<'_>, blocks: Vec<Block<'_>>) {
        blocks.into_par_iter().for_each(|b| {
            let o = SoftmaxOptions {
                mask: b.mask,
                bias: b.bias,
                ..*opts
            };
            // Each block is a sub-view of a validated call: it validates again and cannot fail.
            let r = match (b.y, b.xm) {
                (Some(y), _) => super::one_call(kernels, b.x, y, &o, b.lse),
                (None, Some(xm)) => k::softmax_inplace(kernels, xm, &o, b.lse),
                (None, None) => Ok(()),
            };
            debug_assert!(r.is_ok());
        });
    }

    pub(super) fn run(
        kernels: &Kernels,
        x: MatRef<'_>,
        y: Option<MatMut<'_>>,
        opts: &SoftmaxOptions<'_>,
        lse: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        let Some(mut y) = y else { return Ok(()) };
        check_softmax(&x, Some(&y), opts, lse.as_deref())?;
        let (rows, cols) = (x.rows, x.cols);
        let n = blocks(rows, cols);
        let mut lse = lse;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (r0, r1) = (rows * i / n, rows * (i + 1) / n);
            let (yp, ylen, yrs) = (y.as_mut_ptr(), y.len(), y.rs);
            let (xo, yo) = (r0 * x.rs, r0 * yrs);
            out.push(Block {
                // SAFETY: validated views; rows r0..r1 of each are disjoint parts of the
                // same borrows, and the y blocks are disjoint (y does not self-alias).
                x: unsafe {
                    MatRef::from_raw_parts(
                        x.as_ptr().add(xo),
                        x.len() - xo,
                        r1 - r0,
                        cols,
                        x.rs,
                        x.cs,
                    )
                },
                // SAFETY: as above.
                y: Some(unsafe {
                    MatMut::from_raw_parts(yp.add(yo), ylen - yo, r1 - r0, cols, yrs, y.cs)
                }),
                xm: None,
                mask: rows_of(opts.mask, r0, r1 - r0),
                bias: rows_of(opts.bias, r0, r1 - r0),
                lse: lse.as_deref_mut().map(|l| {
                    // SAFETY: l has ≥ rows entries (validated); blocks take disjoint ranges.
                    unsafe { core::slice::from_raw_parts_mut(l.as_mut_ptr().add(r0), r1 - r0) }
                }),
            });
        }
        execute(kernels, opts, out);
        Ok(())
    }

    pub(super) fn run_inplace(
        kernels: &Kernels,
        mut x: MatMut<'_>,
        opts: &SoftmaxOptions<'_>,
        lse: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        check_softmax(&x.as_ref(), None, opts, lse.as_deref())?;
        let (rows, cols, rs, cs, len) = (x.rows, x.cols, x.rs, x.cs, x.len());
        let p = x.as_mut_ptr();
        let n = blocks(rows, cols);
        let mut lse = lse;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (r0, r1) = (rows * i / n, rows * (i + 1) / n);
            let o = r0 * rs;
            out.push(Block {
                // SAFETY: an empty placeholder; the block runs in place on `xm`.
                x: MatRef::row_major(&[], 0, 0),
                y: None,
                // SAFETY: validated view; the row blocks are disjoint (x does not self-alias).
                xm: Some(unsafe {
                    MatMut::from_raw_parts(p.add(o), len - o, r1 - r0, cols, rs, cs)
                }),
                mask: rows_of(opts.mask, r0, r1 - r0),
                bias: rows_of(opts.bias, r0, r1 - r0),
                lse: lse.as_deref_mut().map(|l| {
                    // SAFETY: l has ≥ rows entries (validated); blocks take disjoint ranges.
                    unsafe { core::slice::from_raw_parts_mut(l.as_mut_ptr().add(r0), r1 - r0) }
                }),
            });
        }
        execute(kernels, opts, out);
        Ok(())
    }
}
