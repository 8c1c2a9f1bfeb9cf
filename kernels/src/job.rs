//! Operations as independent tasks: [`Job`], the one shape of parallel work in this crate.
//!
//! A job is a validated call split into tasks at points that depend only on the call's shapes,
//! never on how many threads run it; each task writes a part of the output no other task
//! writes, and every output element is computed by the same arithmetic whichever task holds
//! it. Any number of threads may share one job, each calling [`Job::run_next`] with a
//! workspace of its own until it returns `false`: the result has the same bits for one thread
//! or many. The crate brings no threads of its own (it is `no_std`); the `huiyan` crate runs
//! jobs on rayon, and a bare-metal caller can run one in a loop.
//!
//! Jobs: [`GemmJob`](crate::gemm::GemmJob), [`SoftmaxJob`](crate::softmax::SoftmaxJob),
//! [`AttentionJob`](crate::attention::AttentionJob).

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;

/// A validated operation as tasks any number of threads can share (see the
/// [module docs](self)).
pub trait Job: Sync {
    /// Total number of tasks (fixed by the call's shapes).
    fn tasks(&self) -> usize;

    /// Elements of workspace each [`run_next`](Job::run_next) call needs (0 when none).
    fn task_workspace_len(&self) -> usize;

    /// Claims and runs the next task; `Ok(false)` when none is left. `workspace` must hold
    /// [`task_workspace_len`](Job::task_workspace_len) elements (checked before claiming:
    /// [`Error::WorkspaceTooSmall`]); its contents are ignored and left unspecified.
    fn run_next(&self, workspace: &mut [f32]) -> Result<bool, Error>;
}

/// Hands out task indices `0..n`, each exactly once, to whichever thread asks first.
#[derive(Debug)]
pub(crate) struct Claims {
    next: AtomicUsize,
    n: usize,
}

impl Claims {
    pub(crate) const fn new(n: usize) -> Self {
        Claims {
            next: AtomicUsize::new(0),
            n,
        }
    }

    /// The number of tasks.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The next unclaimed task, or `None` when every task has been claimed.
    pub(crate) fn claim(&self) -> Option<usize> {
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        (t < self.n).then_some(t)
    }
}

/// Splits `0..len` into blocks of `block` (the last one shorter): the task count.
pub(crate) fn blocks(len: usize, block: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.div_ceil(block.max(1))
    }
}
