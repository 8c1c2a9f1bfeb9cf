//! [`SoftmaxJob`]: one softmax call as tasks of whole rows.

use core::marker::PhantomData;

use super::call::{make_call, Call};
use super::plan::{scratch_len, Path};
use super::SoftmaxKernel;
use crate::error::Error;
use crate::job::{blocks, Claims, Job};
use crate::kernels::Kernels;
use crate::options::SoftmaxOptions;
use crate::shape::{check_softmax, check_workspace};
use crate::view::{MatMut, MatRef};

/// Elements per task (at least; whole rows, an even number of them): a task this size runs
/// long enough (tens of microseconds) that handing it to another thread pays.
pub const TASK_ELEMENTS: usize = 1 << 16;

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
    pub fn new(
        kernels: &Kernels,
        x: MatRef<'a>,
        y: MatMut<'a>,
        opts: &SoftmaxOptions<'a>,
        lse: Option<&'a mut [f32]>,
    ) -> Result<Self, Error> {
        check_softmax(&x, Some(&y), opts, lse.as_deref())?;
        let call = make_call(&kernels.softmax, &x, y.ptr, y.rs, opts, lse, true);
        Ok(Self::of(kernels, call))
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
        Ok(Self::of(kernels, call))
    }

    fn of(kernels: &Kernels, call: Call) -> Self {
        // An even number of rows: the short path takes rows in pairs.
        let rows_per_task = TASK_ELEMENTS.div_ceil(call.cols.max(1)).next_multiple_of(2);
        SoftmaxJob {
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
        let rows = self.call.rows(r0, r1, workspace.as_mut_ptr());
        // SAFETY: rows r0..r1 ≤ rows of a validated call (its sub-views stay inside every
        // operand); task t is this thread's alone; on the streaming path the workspace holds
        // scratch_len elements (checked above) and is the caller's exclusive slice; the entry's
        // ISA was proven by the token that built `kernels`.
        unsafe { (self.kern.rows)(&rows) };
        Ok(true)
    }
}
