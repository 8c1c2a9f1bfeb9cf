//! The one runner of every [`Job`]: the std side of `huiyan_kernels::job`.
//!
//! Without the `rayon` feature a job's tasks run on the calling thread, one after another. With
//! it, `min(threads, tasks)` workers of rayon's pool claim tasks until none is left, each with
//! its own per-thread workspace. Tasks and their bits are fixed by the job's shapes, so the
//! result is the same for any thread count.

use huiyan_kernels::job::Job;
use huiyan_kernels::Error;

use crate::scratch::with_scratch;

thread_local! {
    /// The task workspace of this thread (packing panels, tile buffers, a scratch row).
    static TASK: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs every task of `job`.
pub(crate) fn run(job: &impl Job) -> Result<(), Error> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        let workers = rayon::current_num_threads().min(job.tasks());
        if workers > 1 {
            return (0..workers).into_par_iter().try_for_each(|_| run_here(job));
        }
    }
    run_here(job)
}

/// Claims and runs tasks on this thread until none is left.
fn run_here(job: &impl Job) -> Result<(), Error> {
    with_task_workspace(job.task_workspace_len(), |ws| {
        while job.run_next(ws)? {}
        Ok(())
    })
}

/// Runs `f` with at least `len` elements of this thread's task workspace.
pub(crate) fn with_task_workspace<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_scratch(&TASK, len, f)
}
