//! [`SoftmaxJob`]: one softmax call as tasks of whole rows.

use core::marker::PhantomData;

use super::call::{make_call, Call};
use super::plan::{scratch_len, Path};
use super::SoftmaxKernel;
use crate::elem::{widen, with_dtype, ElemPtr, Element};
use crate::error::Error;
use crate::job::{blocks, Claims, Job};
use crate::kernels::Kernels;
use crate::options::SoftmaxOptions;
use crate::shape::{check_softmax, check_workspace};
use crate::view::{MatMut, MatRef};

/// Elements per task (at least; whole rows, an even number of them): a task this size runs
/// long enough (tens of microseconds) that handing it to another thread pays.
pub const TASK_ELEMENTS: usize = 1 << 16;

/// Elements of a half-precision input widened into `y` before they are normalised (16 KiB of
/// `f32`: half an L1 data cache).
const WIDEN_CHUNK: usize = 4096;

/// Row softmax (contract: [the module](super)) as tasks any number of threads can share
/// ([`Job`]), out of place or in place.
///
/// The row path is chosen once, for the whole call, exactly as [`softmax_scratch`] would
/// choose it with a scratch lent; each task runs it on a block of whole rows with its own
/// workspace (the scratch row of the streaming path, when the call streams). Rows never
/// interact and the blocks depend only on the shape, so the result has the bits of
/// [`softmax_scratch`] whatever the thread count.
///
/// [`softmax_scratch`]: super::softmax_scratch
///
/// ```
/// use huiyan_kernels::job::Job;
/// use huiyan_kernels::softmax::{SoftmaxJob, SoftmaxOptions};
/// use huiyan_kernels::{Kernels, MatMut, MatRef};
/// let (rows, cols) = (1024, 256);
/// let x: Vec<f32> = (0..rows * cols).map(|i| (i % 13) as f32).collect();
/// let mut y = vec![0.0f32; rows * cols];
/// let kern = Kernels::best_compile_time();
/// let opts = SoftmaxOptions::default();
/// let job = SoftmaxJob::new(&kern, MatRef::row_major(&x, rows, cols),
///                           MatMut::row_major(&mut y, rows, cols), &opts, None)?;
/// let mut ws = vec![0.0f32; job.task_workspace_len()];
/// while job.run_next(&mut ws)? {}
/// drop(job);
/// for row in y.chunks(cols) {
///     assert!((row.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-5);
/// }
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub struct SoftmaxJob<'a> {
    call: Call,
    /// A half-precision `x` (its first element, row stride): each task widens its rows into
    /// `y` a chunk at a time and runs `call`, which is in place on `y`.
    src: Option<(ElemPtr, usize)>,
    kern: SoftmaxKernel,
    rows_per_task: usize,
    claims: Claims,
    _out: PhantomData<(MatRef<'a>, &'a mut [f32])>,
}

// SAFETY: the raw pointers are those of a validated call (y, and lse, disjoint from the
// inputs unless in place, borrowed for 'a by the constructor). Each task index is claimed once
// (`Claims`) and task t reads and writes only its own rows of x, y and lse, which no other task
// writes: sharing the job is as sound as handing each thread a disjoint block of rows.
unsafe impl Sync for SoftmaxJob<'_> {}
// SAFETY: as above; the job owns no thread-bound state.
unsafe impl Send for SoftmaxJob<'_> {}

impl core::fmt::Debug for SoftmaxJob<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SoftmaxJob")
            .field("rows", &self.call.rows)
            .field("cols", &self.call.cols)
            .field("path", &self.call.path)
            .field("tasks", &self.claims.len())
            .finish()
    }
}

impl<'a> SoftmaxJob<'a> {
    /// Out of place: `y ← softmax(x)`. Validates everything first (on `Err` nothing is
    /// written).
    ///
    /// `x` may be stored in `f32`, [`bf16`](crate::elem::bf16) or [`f16`](crate::elem::f16).
    /// A half-precision `x` is widened into `y` a chunk of rows at a time, each chunk then
    /// normalised in place while it is in cache: the result has the bits of
    /// [`new_inplace`](Self::new_inplace) on the widened values, and memory sees `x` read
    /// once (half the bytes of an `f32` input) and `y` written once.
    pub fn new<E: Element>(
        kernels: &Kernels,
        x: MatRef<'a, E>,
        y: MatMut<'a>,
        opts: &SoftmaxOptions<'a>,
        lse: Option<&'a mut [f32]>,
    ) -> Result<Self, Error> {
        check_softmax(&x, Some(&y), opts, lse.as_deref())?;
        let (call, src) = match x.as_f32() {
            Some(x) => (
                make_call(&kernels.softmax, &x, y.ptr, y.rs, opts, lse, true),
                None,
            ),
            None => {
                let (yp, rsy) = (y.ptr, y.rs);
                let call = make_call(&kernels.softmax, &y.as_ref(), yp, rsy, opts, lse, true);
                (call, Some((ElemPtr::new(x.ptr), x.rs)))
            }
        };
        Ok(Self::of(kernels, call, src))
    }

    /// In place: `x ← softmax(x)`. Validates everything first (on `Err` nothing is written).
    pub fn new_inplace(
        kernels: &Kernels,
        x: MatMut<'a>,
        opts: &SoftmaxOptions<'a>,
        lse: Option<&'a mut [f32]>,
    ) -> Result<Self, Error> {
        let xr = x.as_ref();
        check_softmax(&xr, None, opts, lse.as_deref())?;
        let call = make_call(&kernels.softmax, &xr, x.ptr, x.rs, opts, lse, true);
        Ok(Self::of(kernels, call, None))
    }

    fn of(kernels: &Kernels, call: Call, src: Option<(ElemPtr, usize)>) -> Self {
        // An even number of rows: the short path takes rows in pairs.
        let rows_per_task = TASK_ELEMENTS.div_ceil(call.cols.max(1)).next_multiple_of(2);
        SoftmaxJob {
            src,
            kern: kernels.softmax,
            rows_per_task,
            claims: Claims::new(blocks(call.rows, rows_per_task)),
            call,
            _out: PhantomData,
        }
    }
}

impl Job for SoftmaxJob<'_> {
    fn tasks(&self) -> usize {
        self.claims.len()
    }

    fn task_workspace_len(&self) -> usize {
        if self.call.path == Path::Stream {
            scratch_len(self.call.cols)
        } else {
            0
        }
    }

    fn run_next(&self, workspace: &mut [f32]) -> Result<bool, Error> {
        check_workspace(self.task_workspace_len(), workspace.len())?;
        let Some(t) = self.claims.claim() else {
            return Ok(false);
        };
        let r0 = t * self.rows_per_task;
        let r1 = (r0 + self.rows_per_task).min(self.call.rows);
        let Some((x, rsx)) = self.src else {
            let rows = self.call.rows(r0, r1, workspace.as_mut_ptr());
            // SAFETY: rows r0..r1 ≤ rows of a validated call (its sub-views stay inside every
            // operand); task t is this thread's alone; on the streaming path the workspace
            // holds scratch_len elements (checked above) and is the caller's exclusive slice;
            // the entry's ISA was proven by the token that built `kernels`.
            unsafe { (self.kern.rows)(&rows) };
            return Ok(true);
        };
        let (cols, rsy) = (self.call.cols, self.call.rsy);
        // Chunks of about WIDEN_CHUNK elements, an even number of rows (the short path takes
        // rows in pairs), so that the widened rows are still in L1 when they are normalised.
        let step = WIDEN_CHUNK.div_ceil(cols.max(1)).next_multiple_of(2);
        let mut c0 = r0;
        while c0 < r1 {
            let c1 = (c0 + step).min(r1);
            for r in c0..c1 {
                // SAFETY: row r < rows of the validated x (cols contiguous elements) and of y
                // (cols contiguous floats), which do not overlap (checked by check_softmax);
                // task t owns rows r0..r1 of y.
                unsafe {
                    with_dtype!(x.dtype, E => widen(
                        x.wrapping_add(r * rsx).cast::<E>(),
                        1,
                        cols,
                        self.call.y.add(r * rsy),
                    ))
                };
            }
            // The call is in place on y (never streamed: in-place calls do not stream).
            let rows = self.call.rows(c0, c1, core::ptr::null_mut());
            // SAFETY: rows c0..c1 of a validated in-place call on y, now holding the widened
            // x; task t is this thread's alone; the entry's ISA was proven by the token that
            // built `kernels`.
            unsafe { (self.kern.rows)(&rows) };
            c0 = c1;
        }
        Ok(true)
    }
}
