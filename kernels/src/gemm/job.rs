//! [`GemmJob`]: one matrix product as tasks of whole rows (or columns) of C.

use core::marker::PhantomData;

use super::check::{validated, validated_packed};
use super::packed::PackedB;
use super::{GemmArgs, GemmKernel};
use crate::elem::Element;
use crate::error::Error;
use crate::job::{blocks, Claims, Job};
use crate::kernels::Kernels;
use crate::shape::check_workspace;
use crate::view::{MatMut, MatRef};

/// Rows of C per task are a multiple of this (a multiple of every microkernel's `MR` and `NR`,
/// so every task is whole tiles but the last).
const GRAIN: usize = 96;
/// Fewest rows of C per task: each task packs all of B again, which costs about one copy of
/// B per task against `rows·k·n` multiply-adds; from 192 rows that is under 1 %. (A product
/// with B prepacked packs nothing per task but its share of A: `GRAIN` is enough there.)
const MIN_ROWS: usize = 2 * GRAIN;
/// Fewest multiply-adds per task: below this a thread hop costs more than the task.
const MIN_FMAS: usize = 1 << 21;
/// Fewest columns of `Cᵀ` (tokens of a layer's product) per task when a product with B
/// prepacked is also cut along them: a layer's output has few `GRAIN` blocks of features
/// (hidden 384: four), too few to share evenly between threads, so each block of features is
/// cut into blocks of tokens too (every task still reads only prepacked panels).
const MIN_COLS: usize = 32;

/// `C ← α·A·B + β·C` (contract: [the module](super)) as tasks any number of threads can
/// share ([`Job`]).
///
/// C is cut along its larger stride into blocks of whole rows (or whole columns, as rows of
/// `Cᵀ = Bᵀ·Aᵀ`), so blocks occupy disjoint memory; each task is a complete product of its
/// block, with its own packing workspace. The cut depends only on the shapes, and every
/// element of C is summed in the same order in any block, so the result has the bits of
/// [`gemm`](super::gemm) whatever the thread count.
///
/// With B prepacked ([`GemmJob::packed`]) the blocks are columns of C (a range of the
/// prepacked panels each) cut into blocks of rows, so no task packs B and every task shares
/// the one [`PackedB`]: the way to run a layer's projections on several threads.
///
/// ```
/// use huiyan_kernels::gemm::GemmJob;
/// use huiyan_kernels::job::Job;
/// use huiyan_kernels::{Kernels, MatMut, MatRef};
/// let (m, n, k) = (600, 64, 300);
/// let a = vec![1.0f32; m * k];
/// let b = vec![0.5f32; k * n];
/// let mut c = vec![0.0f32; m * n];
/// let kern = Kernels::best_compile_time();
/// let job = GemmJob::new(&kern, 1.0, MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n),
///                        0.0, MatMut::row_major(&mut c, m, n))?;
/// assert!(job.tasks() > 1);
/// std::thread::scope(|s| {
///     for _ in 0..2 {
///         s.spawn(|| {
///             let mut ws = vec![0.0f32; job.task_workspace_len()];
///             while job.run_next(&mut ws).unwrap() {}
///         });
///     }
/// });
/// drop(job);
/// assert!(c.iter().all(|&x| x == 150.0));
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub struct GemmJob<'a> {
    /// The whole product, transposed if need be so that tasks are blocks of rows.
    args: GemmArgs,
    kern: GemmKernel,
    /// Whether B is prepacked (then `args` is `Cᵀ = Bᵀ·Aᵀ`, the panels on its A side).
    packed: bool,
    rows_per_task: usize,
    /// Columns of `args`' C per task (all of them unless B is prepacked).
    cols_per_task: usize,
    /// Blocks of columns: task `t` is row block `t / col_blocks`, column block
    /// `t % col_blocks`.
    col_blocks: usize,
    claims: Claims,
    _out: PhantomData<&'a mut [f32]>,
}

// SAFETY: the raw pointers are those of a validated call (C injective and disjoint from A, B,
// the prepacked panels and the bias, all borrowed for 'a by the constructors). Each task index
// is claimed once (`Claims`), and task t writes only rows t·R..(t+1)·R of `args`' C (rows or
// columns of the caller's C), elements no other task writes: sharing the job between threads
// is as sound as handing each thread a disjoint block of C.
unsafe impl Sync for GemmJob<'_> {}
// SAFETY: as above; the job owns no thread-bound state.
unsafe impl Send for GemmJob<'_> {}

impl core::fmt::Debug for GemmJob<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GemmJob")
            .field("m", &self.args.m)
            .field("n", &self.args.n)
            .field("k", &self.args.k)
            .field("tasks", &self.claims.len())
            .finish()
    }
}

impl<'a> GemmJob<'a> {
    /// Validates the call (everything: on `Err` nothing is written) and cuts it into tasks.
    pub fn new<TA: Element, TB: Element>(
        kernels: &Kernels,
        alpha: f32,
        a: MatRef<'a, TA>,
        b: MatRef<'a, TB>,
        beta: f32,
        c: MatMut<'a>,
    ) -> Result<Self, Error> {
        Self::with_bias(kernels, alpha, a, b, beta, c, None)
    }

    /// [`GemmJob::new`] for `C ← α·A·B + β·C + bias` ([`gemm_bias`](super::gemm_bias)).
    ///
    /// ```
    /// use huiyan_kernels::gemm::GemmJob;
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Kernels, MatMut, MatRef};
    /// let (a, b, bias) = ([1.0f32; 6], [1.0f32; 6], [0.5f32, -0.5]);
    /// let mut c = [0.0f32; 6];
    /// let job = GemmJob::with_bias(&Kernels::scalar(), 1.0, MatRef::row_major(&a, 3, 2),
    ///                              MatRef::row_major(&b, 2, 2).t(), 0.0,
    ///                              MatMut::row_major(&mut c, 3, 2), Some(&bias))?;
    /// let mut ws = vec![0.0f32; job.task_workspace_len()];
    /// while job.run_next(&mut ws)? {}
    /// drop(job);
    /// assert_eq!(c, [2.5, 1.5, 2.5, 1.5, 2.5, 1.5]);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn with_bias<TA: Element, TB: Element>(
        kernels: &Kernels,
        alpha: f32,
        a: MatRef<'a, TA>,
        b: MatRef<'a, TB>,
        beta: f32,
        c: MatMut<'a>,
        bias: Option<&'a [f32]>,
    ) -> Result<Self, Error> {
        let args = validated(alpha, a, b, beta, c, bias)?;
        // Blocks along C's larger stride occupy disjoint memory ranges.
        let args = if args.rsc >= args.csc {
            args
        } else {
            args.transposed()
        };
        let (m, n, k) = (args.m, args.n, args.k);
        let fmas = m.saturating_mul(n).saturating_mul(k);
        let tasks = (fmas / MIN_FMAS).min(m / MIN_ROWS).max(1);
        Ok(Self::cut(kernels, args, tasks, 1, false))
    }

    /// [`GemmJob::with_bias`] with B prepacked ([`gemm_packed`](super::gemm_packed)); the
    /// tasks are blocks of columns of C, each cut into blocks of rows, and all of them read
    /// `b`'s panels.
    ///
    /// ```
    /// use huiyan_kernels::gemm::{packed_b_len, GemmJob, PackedB};
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Kernels, MatMut, MatRef};
    /// let kern = Kernels::best_compile_time();
    /// let (m, n, k) = (64, 768, 384);
    /// let (a, b) = (vec![1.0f32; m * k], vec![0.5f32; k * n]);
    /// let pb = PackedB::new(&kern, MatRef::row_major(&b, k, n), vec![0.0; packed_b_len(&kern, k, n)])?;
    /// let mut c = vec![0.0f32; m * n];
    /// let job = GemmJob::packed(&kern, 1.0, MatRef::row_major(&a, m, k), &pb, 0.0,
    ///                           MatMut::row_major(&mut c, m, n), None)?;
    /// assert!(job.tasks() > 1);
    /// std::thread::scope(|s| {
    ///     for _ in 0..2 {
    ///         s.spawn(|| {
    ///             let mut ws = vec![0.0f32; job.task_workspace_len()];
    ///             while job.run_next(&mut ws).unwrap() {}
    ///         });
    ///     }
    /// });
    /// drop(job);
    /// assert!(c.iter().all(|&x| x == 192.0));
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn packed<TA: Element, S: AsRef<[f32]>>(
        kernels: &Kernels,
        alpha: f32,
        a: MatRef<'a, TA>,
        b: &'a PackedB<S>,
        beta: f32,
        c: MatMut<'a>,
        bias: Option<&'a [f32]>,
    ) -> Result<Self, Error> {
        let args = validated_packed(kernels, alpha, a, b, beta, c, bias)?;
        // Rows of Cᵀ = Bᵀ·Aᵀ are columns of C and ranges of B's panels (GRAIN is a multiple
        // of every MR, so each task starts at a panel).
        let args = args.transposed();
        let (m, n, k) = (args.m, args.n, args.k);
        let fmas = m.saturating_mul(n).saturating_mul(k);
        let want = (fmas / MIN_FMAS).max(1);
        let tasks = want.min(m / GRAIN).max(1);
        let col_tasks = (want / tasks).min(n / MIN_COLS).max(1);
        Ok(Self::cut(kernels, args, tasks, col_tasks, true))
    }

    /// The job of `args` in `tasks` blocks of whole rows (multiples of `GRAIN`), each cut
    /// into `col_tasks` blocks of columns.
    fn cut(
        kernels: &Kernels,
        args: GemmArgs,
        tasks: usize,
        col_tasks: usize,
        packed: bool,
    ) -> Self {
        let (m, n) = (args.m, args.n);
        let rows_per_task = m.div_ceil(tasks).div_ceil(GRAIN) * GRAIN;
        let cols_per_task = n.div_ceil(col_tasks).max(1);
        let col_blocks = blocks(n, cols_per_task).max(1);
        GemmJob {
            args,
            kern: kernels.gemm,
            packed,
            rows_per_task,
            cols_per_task,
            col_blocks,
            claims: Claims::new(blocks(m, rows_per_task) * col_blocks),
            _out: PhantomData,
        }
    }
}

impl Job for GemmJob<'_> {
    fn tasks(&self) -> usize {
        self.claims.len()
    }

    fn task_workspace_len(&self) -> usize {
        let (m, n, k) = (self.args.m, self.args.n, self.args.k);
        let bl = self.kern.blocking;
        let rows = self.rows_per_task.min(m);
        if self.packed {
            // `args` is transposed: the product of a task is `cols × rows × k` in C's terms.
            bl.packed_workspace_len(self.cols_per_task.min(n), rows, k)
        } else {
            bl.workspace_len(rows, n, k)
        }
    }

    fn run_next(&self, workspace: &mut [f32]) -> Result<bool, Error> {
        check_workspace(self.task_workspace_len(), workspace.len())?;
        let Some(t) = self.claims.claim() else {
            return Ok(false);
        };
        let (rt, ct) = (t / self.col_blocks, t % self.col_blocks);
        let r0 = rt * self.rows_per_task;
        let r1 = (r0 + self.rows_per_task).min(self.args.m);
        let c0 = ct * self.cols_per_task;
        let c1 = (c0 + self.cols_per_task).min(self.args.n);
        let block = self.args.rows(r0, r1).cols(c0, c1);
        // SAFETY: rows r0..r1 ≤ m and columns c0..c1 ≤ n of a validated product (its sub-views
        // stay inside A, B, C and the bias; with a prepacked A, r0 is a multiple of GRAIN, so
        // of its MR, and B is not prepacked); task t is this thread's alone, so no other thread
        // writes this block of C; the workspace is large enough for the largest block (checked
        // above) and the caller's exclusive slice; the entry's ISA was proven by the token that
        // built `kernels`.
        unsafe { (self.kern.run)(&block, workspace.as_mut_ptr()) };
        Ok(true)
    }
}
