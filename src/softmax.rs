//! Row softmax and `exp` through the dispatched kernels.
//!
//! [`softmax`] / [`softmax_inplace`] compute `y = softmax(scale·x + bias)` per row with an
//! optional boolean mask (contract: [`huiyan_kernels::softmax`]), optionally log-softmax and
//! the per-row logsumexp; [`exp`] is the kernels' vector `exp` (≤ 2 ulp). Each has a `_with`
//! variant taking the [`Kernels`] table explicitly (the tests run every ISA through them).
//! Bad input returns a typed [`Error`] and leaves every output untouched.
//!
//! Every call runs as a [`SoftmaxJob`](huiyan_kernels::softmax::SoftmaxJob): its row path is
//! chosen once for the whole call, and tasks of whole rows (at least [`PAR_MIN_ELEMENTS`]
//! elements each, cut by the shape alone) run it; with the `rayon` feature they spread over
//! the pool. Rows never interact, so the result is bit-identical whatever the thread count.

use huiyan_kernels::elem::Element;
use huiyan_kernels::softmax as k;
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{Error, Kernels, MatMut, MatRef};

use crate::dispatch;

/// Elements per task (at least): a call this size or smaller is one task, on one thread.
pub const PAR_MIN_ELEMENTS: usize = k::TASK_ELEMENTS;

/// Row softmax of `x` into `y` with the dispatched kernels; each row's logsumexp into `lse`
/// when given (`−∞` for a fully masked row). `x` may be `f32`, [`bf16`](crate::bf16) or
/// [`f16`](crate::f16) (scores that arrive in half precision): it is widened as it is read,
/// and the result has the bits of [`softmax_inplace`] on the widened values.
///
/// Outputs of 8 MiB or more with plain rows of 2048–32768 columns are written with
/// non-temporal stores on x86 (`y` is never read for ownership), through a scratch row of the
/// thread's task workspace ([`huiyan_kernels::softmax::softmax_scratch`]), allocated on the
/// first such call and reused after.
///
/// ```
/// use huiyan::{softmax, MatMut, MatRef, SoftmaxOptions};
/// let x = [1.0f32, 2.0, 3.0, 4.0];
/// let mut y = [0.0f32; 4];
/// let opts = SoftmaxOptions { scale: 0.5, ..Default::default() };
/// softmax(MatRef::row_major(&x, 2, 2), MatMut::row_major(&mut y, 2, 2), &opts, None).unwrap();
/// assert!((y[0] - 0.37754068).abs() < 1e-6 && (y[0] + y[1] - 1.0).abs() < 1e-6);
/// ```
pub fn softmax<E: Element>(
    x: MatRef<'_, E>,
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
pub fn softmax_with<E: Element>(
    kernels: &Kernels,
    x: MatRef<'_, E>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    crate::run::run(&k::SoftmaxJob::new(kernels, x, y, opts, lse)?)
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
    crate::run::run(&k::SoftmaxJob::new_inplace(kernels, x, opts, lse)?)
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
