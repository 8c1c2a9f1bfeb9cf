//! [`NormJob`]: a LayerNorm or a bias epilogue as tasks of whole rows.

use core::marker::PhantomData;

use super::rows::{EpiCall, LnCall};
use super::NormKernel;
use crate::error::Error;
use crate::job::{blocks, Claims, Job};
use crate::kernels::Kernels;
use crate::options::{Activation, LayerNormOptions};
use crate::shape::{check_bias_act, check_layer_norm};
use crate::softmax::TASK_ELEMENTS;
use crate::view::{MatMut, MatRef};

/// The operation of a [`NormJob`].
#[derive(Clone, Copy)]
enum Op {
    Ln(LnCall),
    Epi(EpiCall),
}

/// [`layer_norm_inplace`](super::layer_norm_inplace) or [`bias_act`](super::bias_act) as
/// tasks any number of threads can share ([`Job`]): blocks of whole rows (at least
/// [`TASK_ELEMENTS`] elements each), cut by the shape alone. Rows never interact, so the
/// result has the bits of the one-call functions whatever the thread count. No workspace.
///
/// ```
/// use huiyan_kernels::job::Job;
/// use huiyan_kernels::norm::{Activation, NormJob};
/// use huiyan_kernels::{Kernels, MatMut};
/// let mut x = vec![1.0f32; 4096 * 64];
/// let kern = Kernels::best_compile_time();
/// let job = NormJob::bias_act(&kern, MatMut::row_major(&mut x, 4096, 64), None, Activation::Gelu)?;
/// assert!(job.tasks() > 1);
/// while job.run_next(&mut [])? {}
/// drop(job);
/// assert!((x[0] - 0.8413447).abs() < 1e-6);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub struct NormJob<'a> {
    op: Op,
    kern: NormKernel,
    rows: usize,
    rows_per_task: usize,
    claims: Claims,
    _out: PhantomData<(MatRef<'a>, &'a mut [f32])>,
}

// SAFETY: the raw pointers are those of a validated call, borrowed for 'a by the constructor.
// Each task index is claimed once (`Claims`), and task t reads and writes only its own rows of
// x and y (gamma, beta and bias are only read): sharing the job is as sound as handing each
// thread a disjoint block of rows.
unsafe impl Sync for NormJob<'_> {}
// SAFETY: as above; the job owns no thread-bound state.
unsafe impl Send for NormJob<'_> {}

impl core::fmt::Debug for NormJob<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NormJob")
            .field("rows", &self.rows)
            .field("tasks", &self.claims.len())
            .finish()
    }
}

impl<'a> NormJob<'a> {
    /// LayerNorm of `x` in place. Validates everything first (on `Err` nothing is written).
    pub fn layer_norm_inplace(
        kernels: &Kernels,
        x: MatMut<'a>,
        opts: &LayerNormOptions<'a>,
    ) -> Result<Self, Error> {
        let xr = x.as_ref();
        check_layer_norm(&xr, None, opts)?;
        let call = LnCall::new(&xr, x.ptr, x.rs, opts);
        Ok(Self::of(kernels, Op::Ln(call), call.rows, call.cols))
    }

    /// `x ← act(x + bias)` in place. Validates everything first.
    pub fn bias_act(
        kernels: &Kernels,
        x: MatMut<'a>,
        bias: Option<&'a [f32]>,
        act: Activation,
    ) -> Result<Self, Error> {
        check_bias_act(&x, bias)?;
        let call = EpiCall::new(&x, bias, act);
        Ok(Self::of(kernels, Op::Epi(call), call.rows, call.cols))
    }

    fn of(kernels: &Kernels, op: Op, rows: usize, cols: usize) -> Self {
        let rows_per_task = TASK_ELEMENTS.div_ceil(cols.max(1));
        NormJob {
            op,
            kern: kernels.norm,
            rows,
            rows_per_task,
            claims: Claims::new(blocks(rows, rows_per_task)),
            _out: PhantomData,
        }
    }
}

impl Job for NormJob<'_> {
    fn tasks(&self) -> usize {
        self.claims.len()
    }

    fn task_workspace_len(&self) -> usize {
        0
    }

    fn run_next(&self, _workspace: &mut [f32]) -> Result<bool, Error> {
        let Some(t) = self.claims.claim() else {
            return Ok(false);
        };
        let r0 = t * self.rows_per_task;
        let r1 = (r0 + self.rows_per_task).min(self.rows);
        // SAFETY: rows r0..r1 ≤ rows of a validated call (its sub-views stay inside every
        // operand); task t is this thread's alone; the entries' ISA was proven by the token
        // that built `kernels`.
        unsafe {
            match self.op {
                Op::Ln(c) => (self.kern.layer_norm)(&c.rows(r0, r1)),
                Op::Epi(c) => (self.kern.epilogue)(&c.rows(r0, r1)),
            }
        }
        Ok(true)
    }
}
