//! Which path a call takes — or, in a variable-length call, each sequence — decided by shapes
//! alone, with the kernel table and workspace sizes those paths need and the task plan of a
//! variable-length call. The drivers ([`job`](super::job), [`varlen`](super::varlen)) sit on
//! top of this file.

use super::call::Call;
use super::decode::{self, MAX_DECODE_LQ};
use super::{short, tile};
use crate::tier::Tier;

/// A tile-path entry: runs one `(b, kv head, query chunk)` task.
///
/// # Safety (of calling one)
///
/// As [`tile::run_task`]; the CPU has the features of the tier the entry was built for
/// (guaranteed by the token that built the [`AttentionKernel`]).
pub(crate) type TileEntry = unsafe fn(&Call<'_>, usize, *mut f32);

/// A decode phase-0 entry: runs one `(b, kv head, kv chunk)` task.
///
/// # Safety (of calling one)
///
/// As [`decode::run_chunk`], and the tier guarantee of [`TileEntry`].
pub(crate) type ChunkEntry = unsafe fn(&Call<'_>, usize, *mut f32, *mut f32);

/// The attention entries of one tier, with the tile geometry of its microkernel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttentionKernel {
    pub(crate) tile: TileEntry,
    pub(crate) short: TileEntry,
    pub(crate) chunk: ChunkEntry,
    /// Tile-task workspace for `(Lk, dk, dv)`.
    pub(crate) tile_ws: fn(usize, usize, usize) -> usize,
    /// Single-block-task workspace for `(Lk, dk, dv)`.
    pub(crate) short_ws: fn(usize, usize, usize) -> usize,
    /// Query rows per tile task.
    pub(crate) qchunk: usize,
}

impl AttentionKernel {
    /// Tier `T`'s entries with its microkernel's workspace sizes and task height.
    pub(crate) fn of<T: Tier>(tile: TileEntry, short: TileEntry, chunk: ChunkEntry) -> Self {
        AttentionKernel {
            tile,
            short,
            chunk,
            tile_ws: tile::workspace_len::<T::Ukr>,
            short_ws: short::workspace_len::<T::Ukr>,
            qchunk: tile::QBLOCKS * tile::blocks::<T::Ukr>().0,
        }
    }
}

/// How a call's rows are computed, decided by its shapes alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Path {
    /// `Lq ≤ MAX_DECODE_LQ`: a stream over the KV cache in chunks, merged ([`decode`]).
    Decode,
    /// `Lk ≤ short::MAX_KEYS`: every key in one block, exact softmax ([`short`]).
    Short,
    /// Everything else: flash tiles with the online softmax ([`tile`]).
    Tile,
}

pub(super) fn path(lq: usize, lk: usize) -> Path {
    if lq <= MAX_DECODE_LQ {
        Path::Decode
    } else if lk <= short::MAX_KEYS {
        Path::Short
    } else {
        Path::Tile
    }
}

/// Workspace sizes for a shape: `(shared, per task)`, in f32 elements. Saturating: an
/// unrepresentable shape fails validation before any buffer of this size is needed.
pub(super) fn sizes(
    kern: &AttentionKernel,
    q: [usize; 4],
    k: [usize; 4],
    v: [usize; 4],
) -> (usize, usize) {
    let (b, hq, lq, dk) = (q[0], q[1], q[2], q[3]);
    let (hkv, lk, dv) = (k[1].max(1), k[2], v[3]);
    if b == 0 || hq == 0 || lq == 0 {
        return (0, 0);
    }
    let group = hq / hkv;
    match path(lq, lk) {
        Path::Decode => (
            decode::shared_len([b, hkv, lk, group, lq, dv]),
            decode::workspace_len(lq, group, dk, dv),
        ),
        Path::Short => (0, (kern.short_ws)(lk, dk, dv)),
        Path::Tile => (0, (kern.tile_ws)(lk, dk, dv)),
    }
}

/// The cumulative offsets of a validated variable-length call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seqs<'a> {
    pub(crate) cu_q: &'a [usize],
    pub(crate) cu_k: &'a [usize],
}

impl Seqs<'_> {
    /// Number of sequences.
    pub(crate) fn len(&self) -> usize {
        self.cu_q.len() - 1
    }

    /// `(Lq, Lk)` of sequence `s`.
    pub(crate) fn lens(&self, s: usize) -> (usize, usize) {
        (
            self.cu_q[s + 1] - self.cu_q[s],
            self.cu_k[s + 1] - self.cu_k[s],
        )
    }
}

/// The tasks of a variable-length call. Every sequence takes the path a call of that sequence
/// alone would take ([`path`]), so each gets the bits of such a call. Phase 0 is: the
/// single-block tasks, `units` consecutive `(sequence, kv head)` units each (a task skips the
/// units of sequences on other paths); then the tile tasks of the tile-path sequences, then the
/// chunk tasks of the decode-path ones. Phase 1 is one merge task per `(sequence, kv head)` of
/// the decode-path sequences.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Plan {
    /// Single-block tasks (a fixed count: `⌈B·Hkv / units⌉`, or 0 when no sequence takes
    /// the path).
    pub(super) short: usize,
    /// Tile tasks of the tile-path sequences.
    pub(super) tile: usize,
    /// Chunk tasks of the decode-path sequences.
    pub(super) chunk: usize,
    /// Merge tasks (phase 1).
    pub(super) merge: usize,
    /// Elements of the decode partials of every decode-path sequence.
    pub(super) shared: usize,
    /// The task workspace: the largest any sequence's path needs.
    pub(super) ws: usize,
}

impl Plan {
    /// The plan for heads `(hq, hkv)`, head dims `(dk, dv)` and the offsets as given
    /// (differences saturate: offsets validation rejects give a meaningless, harmless plan);
    /// `units` per single-block task.
    pub(super) fn new(
        kern: &AttentionKernel,
        [hq, hkv, dk, dv]: [usize; 4],
        cu_q: &[usize],
        cu_k: &[usize],
        units: usize,
    ) -> Self {
        let hkv = hkv.max(1);
        let group = hq / hkv;
        let mut p = Plan::default();
        let mut any_short = false;
        for (wq, wk) in cu_q.windows(2).zip(cu_k.windows(2)) {
            let (lq, lk) = (wq[1].saturating_sub(wq[0]), wk[1].saturating_sub(wk[0]));
            if lq == 0 || hq == 0 {
                continue;
            }
            let ws = match path(lq, lk) {
                Path::Short => {
                    any_short = true;
                    (kern.short_ws)(lk, dk, dv)
                }
                Path::Tile => {
                    p.tile += hkv * lq.div_ceil(kern.qchunk);
                    (kern.tile_ws)(lk, dk, dv)
                }
                Path::Decode => {
                    p.chunk += hkv * lk.div_ceil(decode::KV_CHUNK);
                    p.merge += hkv;
                    p.shared = p
                        .shared
                        .saturating_add(decode::shared_len([1, hkv, lk, group, lq, dv]));
                    decode::workspace_len(lq, group, dk, dv)
                }
            };
            p.ws = p.ws.max(ws);
        }
        if any_short {
            p.short = (cu_q.len().saturating_sub(1) * hkv).div_ceil(units.max(1));
        }
        p
    }

    /// Phase-0 tasks.
    pub(super) fn phase0(&self) -> usize {
        self.short + self.tile + self.chunk
    }

    /// Phase-1 tasks.
    pub(super) fn phase1(&self) -> usize {
        self.merge
    }
}
