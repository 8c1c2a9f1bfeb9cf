//! Per-thread scratch buffers, grown on demand and reused: after the first call of a given size
//! on a thread, huiyan's calls allocate nothing.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A per-thread scratch slot.
pub(crate) type Slot = LocalKey<RefCell<Vec<f32>>>;

/// Runs `f` with at least `len` elements of `slot`'s buffer. If the buffer is already borrowed
/// on this thread (a nested call, e.g. from a rayon job this thread ran while waiting), `f`
/// gets a fresh buffer instead of a panic.
pub(crate) fn with_scratch<R>(
    slot: &'static Slot,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    slot.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}
