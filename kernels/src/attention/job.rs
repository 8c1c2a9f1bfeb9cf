//! The public entry points: [`attention`] (one call, one workspace) and [`AttentionJob`] (the
//! same work as independent tasks any number of threads can share, with identical bits).

use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::call::Call;
use super::decode;
use super::plan::{path, sizes, AttentionKernel, Path, Plan, Seqs};
use super::short;
use crate::elem::Element;
use crate::error::Error;
use crate::job::Job;
use crate::kernels::Kernels;
use crate::options::AttentionOptions;
use crate::shape::{check_attention, check_workspace};
use crate::view::{Tensor4Mut, Tensor4Ref};

/// Elements of workspace [`attention`] needs for these shapes (Q, K, V dims as in the
/// [contract](super)). Independent of the values and of the options.
///
/// ```
/// use huiyan_kernels::{attention::attention_workspace_len, Kernels, Tensor4Ref};
/// let x = vec![0.0f32; 2 * 8 * 512 * 64];
/// let t = Tensor4Ref::bhsd(&x, [2, 8, 512, 64]);
/// let n = attention_workspace_len(&Kernels::scalar(), &t, &t, &t);
/// assert!(n >= 512 * 2 * 64); // at least the packed K and V of one head
/// ```
pub fn attention_workspace_len<E: Element>(
    kernels: &Kernels,
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_, E>,
    v: &Tensor4Ref<'_, E>,
) -> usize {
    let (shared, ws) = sizes(&kernels.attention, q.dims, k.dims, v.dims);
    shared.saturating_add(ws)
}

/// Scaled dot-product attention (contract: [the module](super)) on one thread, with the
/// caller's workspace of at least [`attention_workspace_len`] elements. No allocation.
///
/// Validates everything first: on `Err`, `o` and `lse` are untouched.
///
/// ```
/// use huiyan_kernels::attention::{attention, attention_workspace_len, AttentionOptions};
/// use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};
/// let dims = [1, 2, 5, 4];
/// let q = vec![0.5f32; 40];
/// let mut o = vec![0.0f32; 40];
/// let kern = Kernels::best_compile_time();
/// let t = |s| Tensor4Ref::bhsd(s, dims);
/// let mut ws = vec![0.0f32; attention_workspace_len(&kern, &t(&q), &t(&q), &t(&q))];
/// attention(&kern, t(&q), t(&q), t(&q), Tensor4Mut::bhsd(&mut o, dims),
///           &AttentionOptions { is_causal: true, ..Default::default() }, None, &mut ws)?;
/// assert!(o.iter().all(|&x| (x - 0.5).abs() < 1e-6));
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn attention<'a, E: Element>(
    kernels: &Kernels,
    q: Tensor4Ref<'a>,
    k: Tensor4Ref<'a, E>,
    v: Tensor4Ref<'a, E>,
    o: Tensor4Mut<'_>,
    opts: &AttentionOptions<'a>,
    lse: Option<&mut [f32]>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    check_attention(&q, &k, &v, &o, opts, lse.as_deref())?;
    let (shared_len, ws_len) = sizes(&kernels.attention, q.dims, k.dims, v.dims);
    check_workspace(shared_len.saturating_add(ws_len), workspace.len())?;
    let (shared, ws) = workspace.split_at_mut(shared_len);
    let job = AttentionJob::new(kernels, q, k, v, o, opts, lse, shared)?;
    while job.run_next(ws)? {}
    Ok(())
}

/// One attention call as independent tasks, for callers that bring their own threads (the
/// `huiyan` crate runs it on rayon).
///
/// Every thread calls [`run_next`](Job::run_next) with its own workspace of
/// [`task_workspace_len`](Job::task_workspace_len) elements until it returns `false`. Each
/// task is claimed exactly once (an atomic counter), tasks write disjoint parts of the output,
/// and the split points depend only on the shapes, so the result has the same bits whatever
/// the number of threads. Decode-shaped calls (`Lq ≤ 4`) have a second phase that merges the
/// first phase's partial results from the `shared` buffer; a thread that claims a merge task
/// waits for the partials it needs, which are being computed by threads that already claimed
/// them.
///
/// ```
/// use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
/// use huiyan_kernels::job::Job;
/// use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};
/// let dims = [1, 4, 1, 8]; // a decode step: one query per head
/// let (q, kv) = (vec![0.1f32; 32], vec![0.2f32; 4 * 100 * 8]);
/// let kvt = Tensor4Ref::bhsd(&kv, [1, 4, 100, 8]);
/// let mut o = vec![0.0f32; 32];
/// let kern = Kernels::scalar();
/// let qt = Tensor4Ref::bhsd(&q, dims);
/// let mut shared = vec![0.0f32; AttentionJob::shared_len(&kern, &qt, &kvt, &kvt)];
/// let opts = AttentionOptions::default();
/// let job = AttentionJob::new(&kern, qt, kvt, kvt, Tensor4Mut::bhsd(&mut o, dims), &opts, None, &mut shared)?;
/// let mut ws = vec![0.0f32; job.task_workspace_len()];
/// while job.run_next(&mut ws)? {}
/// drop(job);
/// assert!(o.iter().all(|&x| (x - 0.2).abs() < 1e-6));
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub struct AttentionJob<'a> {
    pub(super) call: Call<'a>,
    pub(super) kern: AttentionKernel,
    pub(super) path: Path,
    /// The sequences of a variable-length call and their tasks (`call` is then the packed
    /// call, `B = 1`, and `path` unused).
    pub(super) seqs: Option<(Seqs<'a>, Plan)>,
    pub(super) shared: *mut f32,
    pub(super) ws_len: usize,
    /// Phase-0 tasks (tile tasks, or decode chunks) and phase-1 tasks (decode merges).
    pub(super) n0: usize,
    pub(super) n1: usize,
    pub(super) next: AtomicUsize,
    pub(super) done0: AtomicUsize,
    pub(super) _out: PhantomData<&'a mut [f32]>,
}

// SAFETY: the job's raw pointers are the validated output views (disjoint from every input)
// and the caller's shared buffer. Tasks are claimed exactly once through `next`, each task
// writes a region no other task writes (its own O/lse rows, or its own partials), and merges
// read partials only after `done0` (Release/Acquire) says they are complete. So sharing a job
// between threads is as sound as handing each thread a disjoint `&mut` slice.
unsafe impl Sync for AttentionJob<'_> {}
// SAFETY: as above; the job owns no thread-bound state.
unsafe impl Send for AttentionJob<'_> {}

impl core::fmt::Debug for AttentionJob<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttentionJob")
            .field("dims", &self.call.d)
            .field("path", &self.path)
            .field("tasks", &(self.n0 + self.n1))
            .finish()
    }
}

impl<'a> AttentionJob<'a> {
    /// Elements of the `shared` buffer [`AttentionJob::new`] needs (0 unless decode-shaped).
    ///
    /// ```
    /// use huiyan_kernels::attention::AttentionJob;
    /// use huiyan_kernels::{Kernels, Tensor4Ref};
    /// let kern = Kernels::scalar();
    /// let (q1, q64, kv) = (vec![0.0f32; 8], vec![0.0f32; 64 * 8], vec![0.0f32; 100 * 8]);
    /// let kvt = Tensor4Ref::bhsd(&kv, [1, 1, 100, 8]);
    /// // A prefill-shaped call (64 queries) needs no shared buffer.
    /// assert_eq!(AttentionJob::shared_len(&kern, &Tensor4Ref::bhsd(&q64, [1, 1, 64, 8]), &kvt, &kvt), 0);
    /// // A decode-shaped one may (room for the partial results its merge phase combines).
    /// let q1t = Tensor4Ref::bhsd(&q1, [1, 1, 1, 8]);
    /// let _decode_len = AttentionJob::shared_len(&kern, &q1t, &kvt, &kvt);
    /// ```
    pub fn shared_len<E: Element>(
        kernels: &Kernels,
        q: &Tensor4Ref<'_>,
        k: &Tensor4Ref<'_, E>,
        v: &Tensor4Ref<'_, E>,
    ) -> usize {
        sizes(&kernels.attention, q.dims, k.dims, v.dims).0
    }

    /// Validates the call (everything: on `Err` nothing is written) and splits it into tasks.
    ///
    /// ```
    /// use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Error, Kernels, Tensor4Mut, Tensor4Ref};
    /// let kern = Kernels::scalar();
    /// let (q, kv) = (vec![0.0f32; 2 * 4 * 8], vec![0.0f32; 3 * 4 * 8]);
    /// let mut o = vec![7.0f32; 2 * 4 * 8];
    /// // 2 query heads but 3 kv heads: rejected, and `o` is left as it was.
    /// let err = AttentionJob::new(
    ///     &kern,
    ///     Tensor4Ref::bhsd(&q, [1, 2, 4, 8]),
    ///     Tensor4Ref::bhsd(&kv, [1, 3, 4, 8]),
    ///     Tensor4Ref::bhsd(&kv, [1, 3, 4, 8]),
    ///     Tensor4Mut::bhsd(&mut o, [1, 2, 4, 8]),
    ///     &AttentionOptions::default(),
    ///     None,
    ///     &mut [],
    /// );
    /// assert_eq!(err.unwrap_err(), Error::HeadsNotDivisible { heads_q: 2, heads_kv: 3 });
    /// assert!(o.iter().all(|&x| x == 7.0));
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn new<E: Element>(
        kernels: &Kernels,
        q: Tensor4Ref<'a>,
        k: Tensor4Ref<'a, E>,
        v: Tensor4Ref<'a, E>,
        o: Tensor4Mut<'a>,
        opts: &AttentionOptions<'a>,
        lse: Option<&'a mut [f32]>,
        shared: &'a mut [f32],
    ) -> Result<Self, Error> {
        let d = check_attention(&q, &k, &v, &o, opts, lse.as_deref())?;
        let kern = kernels.attention;
        let (shared_len, ws_len) = sizes(&kern, q.dims, k.dims, v.dims);
        check_workspace(shared_len, shared.len())?;
        let lse_ptr = lse.map_or(core::ptr::null_mut(), |l| l.as_mut_ptr());
        let mut call = Call::new(q, k, v, &o, lse_ptr, *opts, d);
        call.qchunk = kern.qchunk;
        call.units = short::units_per_task(d.group(), d.len_q, d.len_kv, d.dim_qk, d.dim_v);
        let empty = d.batch == 0 || d.heads_q == 0 || d.len_q == 0;
        let path = path(d.len_q, d.len_kv);
        let units = d.batch * d.heads_kv;
        let (n0, n1) = match path {
            _ if empty => (0, 0),
            Path::Decode => (units * decode::chunks(&call), units),
            Path::Short => (units.div_ceil(call.units), 0),
            Path::Tile => (units * call.qchunks(), 0),
        };
        Ok(AttentionJob {
            call,
            kern,
            path,
            seqs: None,
            shared: shared.as_mut_ptr(),
            ws_len,
            n0,
            n1,
            next: AtomicUsize::new(0),
            done0: AtomicUsize::new(0),
            _out: PhantomData,
        })
    }
}

impl Job for AttentionJob<'_> {
    /// Total number of tasks.
    ///
    /// ```
    /// use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};
    /// let kern = Kernels::scalar();
    /// let dims = [2, 2, 512, 8];
    /// let (q, kv) = (vec![0.0f32; 2 * 2 * 512 * 8], vec![0.0f32; 2 * 2 * 512 * 8]);
    /// let mut o = vec![0.0f32; q.len()];
    /// let t = |d| Tensor4Ref::bhsd(&kv, d);
    /// let opts = AttentionOptions::default();
    /// let job = AttentionJob::new(&kern, Tensor4Ref::bhsd(&q, dims), t(dims), t(dims),
    ///                             Tensor4Mut::bhsd(&mut o, dims), &opts, None, &mut [])?;
    /// // Long keys: at least one task per (batch, kv head) pair; each `run_next` runs one.
    /// assert!(job.tasks() >= 2 * 2);
    /// let mut ws = vec![0.0f32; job.task_workspace_len()];
    /// let mut ran = 0;
    /// while job.run_next(&mut ws)? {
    ///     ran += 1;
    /// }
    /// assert_eq!(ran, job.tasks());
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    fn tasks(&self) -> usize {
        self.n0 + self.n1
    }

    /// Elements of workspace each [`run_next`](Job::run_next) call needs.
    ///
    /// ```
    /// use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Error, Kernels, Tensor4Mut, Tensor4Ref};
    /// let kern = Kernels::scalar();
    /// let dims = [1, 1, 32, 16];
    /// let x = vec![0.5f32; 32 * 16];
    /// let mut o = vec![0.0f32; x.len()];
    /// let opts = AttentionOptions::default();
    /// let t = Tensor4Ref::bhsd(&x, dims);
    /// let job = AttentionJob::new(&kern, t, t, t, Tensor4Mut::bhsd(&mut o, dims), &opts, None, &mut [])?;
    /// let need = job.task_workspace_len();
    /// if need > 0 {
    ///     // A workspace one element short is refused before any task is claimed.
    ///     let mut small = vec![0.0f32; need - 1];
    ///     assert_eq!(job.run_next(&mut small), Err(Error::WorkspaceTooSmall { needed: need, got: need - 1 }));
    /// }
    /// let mut ws = vec![0.0f32; need];
    /// while job.run_next(&mut ws)? {}
    /// # Ok::<(), Error>(())
    /// ```
    fn task_workspace_len(&self) -> usize {
        self.ws_len
    }

    /// Claims and runs the next task; `Ok(false)` when none is left. The workspace must hold
    /// [`task_workspace_len`](Job::task_workspace_len) elements (checked before claiming).
    ///
    /// ```
    /// use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};
    /// let kern = Kernels::scalar();
    /// let dims = [1, 2, 16, 4];
    /// let q = vec![0.0f32; 2 * 16 * 4];
    /// let v: Vec<f32> = (0..2 * 16 * 4).map(|i| (i % 4) as f32).collect();
    /// let mut o = vec![0.0f32; q.len()];
    /// let opts = AttentionOptions::default();
    /// let (qt, vt) = (Tensor4Ref::bhsd(&q, dims), Tensor4Ref::bhsd(&v, dims));
    /// let job = AttentionJob::new(&kern, qt, qt, vt, Tensor4Mut::bhsd(&mut o, dims), &opts, None, &mut [])?;
    /// // Share the job between two threads; each claims tasks until none is left.
    /// std::thread::scope(|s| {
    ///     for _ in 0..2 {
    ///         s.spawn(|| {
    ///             let mut ws = vec![0.0f32; job.task_workspace_len()];
    ///             while job.run_next(&mut ws).unwrap() {}
    ///         });
    ///     }
    /// });
    /// drop(job);
    /// // All-zero queries weight every key equally: each output row is the mean of V's rows.
    /// for row in o.chunks(4) {
    ///     for (x, want) in row.iter().zip([0.0, 1.0, 2.0, 3.0]) {
    ///         assert!((x - want).abs() < 1e-5);
    ///     }
    /// }
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    fn run_next(&self, workspace: &mut [f32]) -> Result<bool, Error> {
        check_workspace(self.ws_len, workspace.len())?;
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        let ws = workspace.as_mut_ptr();
        if t < self.n0 {
            // SAFETY: the call was validated in `new`; task t is claimed by this thread only;
            // the workspace is large enough (checked above) and is the caller's exclusive
            // slice; the shared buffer holds `shared_len` elements (checked in `new`); the
            // entry's ISA was proven by the token that built `kernels`.
            unsafe {
                match (&self.seqs, self.path) {
                    (Some((seqs, plan)), _) => self.run_varlen(seqs, plan, t, ws),
                    (None, Path::Decode) => (self.kern.chunk)(&self.call, t, self.shared, ws),
                    (None, Path::Short) => (self.kern.short)(&self.call, t, ws),
                    (None, Path::Tile) => (self.kern.tile)(&self.call, t, ws),
                }
            }
            self.done0.fetch_add(1, Ordering::Release);
            return Ok(true);
        }
        if t < self.n0 + self.n1 {
            // Every phase-0 task was claimed before this one (the counter is monotonic) and
            // runs to completion on the thread that claimed it.
            while self.done0.load(Ordering::Acquire) < self.n0 {
                core::hint::spin_loop();
            }
            // SAFETY: as above; all partials are complete (Acquire pairs with Release).
            unsafe {
                match &self.seqs {
                    Some((seqs, plan)) => self.run_varlen(seqs, plan, t, ws),
                    None => decode::run_merge(&self.call, t - self.n0, self.shared),
                }
            }
            return Ok(true);
        }
        Ok(false)
    }
}
