//! Which path a softmax call's rows take, and every threshold that decides it.
//!
//! A call takes one path for all its rows, chosen from its shape alone (never from values),
//! so a row's bits depend only on the row and the call's shape — not on the row count or on
//! which thread runs it. Figures below: bench `softmax/<rows>x<cols>` (`benches/softmax.rs`),
//! x86-v4 on an AMD EPYC Zen 4, one thread, elements/ns, 16 MiB in and 16 MiB out unless said.

/// The row paths, one file each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// A mask or a bias: each row by itself ([`general`](super::general)).
    PerRow,
    /// Plain softmax rows of at most [`SHORT_VECTORS`] vectors: two rows at a time, their
    /// terms kept in registers ([`short`](super::short)).
    Short,
    /// Plain memory-sized softmax rows, the output streamed out with non-temporal stores
    /// through the scratch row the caller lent ([`stream`](super::stream)).
    Stream,
    /// Plain long softmax rows, out of place: two passes over memory, chunk by chunk
    /// ([`long`](super::long)).
    Long,
    /// Every other plain call: three passes per row, software-pipelined with the next row
    /// ([`pipelined`](super::pipelined)).
    Pipelined,
}

/// What the path depends on: the call's shape and options, never its values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Row stride of the output, in elements.
    pub(crate) rsy: usize,
    /// A mask or a bias.
    pub(crate) masked: bool,
    pub(crate) log: bool,
    /// The call writes `x` itself.
    pub(crate) in_place: bool,
}

/// Smallest chunk of a [`Path::Long`] row: 4 KiB of `x`, so a chunk of `x` and of `y` stay in L1.
pub(crate) const CHUNK: usize = 1024;

/// Rows of at most this many vectors take [`Path::Short`] (64 columns with 16 lanes): a row
/// that fits four registers is bound by the latency of its max → exp → sum → `1/Σ` chain,
/// which two interleaved rows hide; its output is stored once, never re-read.
pub(crate) const SHORT_VECTORS: usize = 4;

/// Outputs spanning at least this many bytes are memory-sized: 8 MiB, beyond any L2 and a fair
/// share of an L3.
pub(crate) const MEMORY_BYTES: usize = 8 << 20;

/// Rows of this many elements or more take [`Path::Long`] at every size. Below it a row of `x`
/// and one of `y` stay in L2, where the pipelined three passes are faster (4096 columns in
/// L2: 5.2 against 4.4).
pub(crate) const LONG: usize = 8 * CHUNK;

/// With a memory-sized output, rows from this length up take [`Path::Long`]: it overlaps the
/// reads of one chunk with the `exp` of the previous where three passes would read the whole
/// row while nothing computes (2048 columns 2.7 → 3.9, 4096 3.05 → 3.3; x86-v3 2048 2.1 →
/// 2.6). In L3 (1 Mi elements) the pipelined path stays ahead: 5.2 against 4.2 at 2048.
pub(crate) const LONG_IN_MEMORY: usize = 2048;

/// Narrowest rows that stream: below it the other paths are as fast.
pub(crate) const STREAM_MIN: usize = 2048;
/// Widest rows that stream: the scratch row and three rows of `x` (512 KiB at this width)
/// stay in a 1 MiB L2.
pub(crate) const STREAM_MAX: usize = 1 << 15;
/// Scratch elements beyond the row: room to start it on a 64-byte boundary.
pub(crate) const SCRATCH_SLACK: usize = 32;

/// Scratch elements a streaming call of `cols` columns uses.
pub(crate) const fn scratch_len(cols: usize) -> usize {
    cols + SCRATCH_SLACK
}

/// The path of a call of shape `c` on a tier with `lanes` lanes; `stream`: the tier has non-temporal
/// stores and the rows will be run with a scratch of [`scratch_len`] elements.
pub(crate) fn path(lanes: usize, stream: bool, c: &Shape) -> Path {
    if c.masked {
        return Path::PerRow;
    }
    if !c.log && c.cols > 0 && c.cols <= SHORT_VECTORS * lanes {
        return Path::Short;
    }
    if stream_shape(stream, c) {
        return Path::Stream;
    }
    let long = c.cols >= LONG || (c.cols >= LONG_IN_MEMORY && memory_sized(c));
    if !c.log && !c.in_place && long {
        return Path::Long;
    }
    Path::Pipelined
}

/// Whether a plain call of this shape would take [`Path::Stream`] given a scratch of
/// [`scratch_len`]: softmax out of place, no mask or bias, rows of
/// [`STREAM_MIN`]`..=`[`STREAM_MAX`], a memory-sized output, a tier with non-temporal stores.
/// Streaming takes the ownership reads of `y` off the memory bus: 4096 columns 3.4 → 4.2
/// (a copy of the same bytes: 4.9), 32768 columns 3.6 → 4.9 (copy 4.8).
pub(crate) fn stream_shape(stream_tier: bool, c: &Shape) -> bool {
    stream_tier
        && !c.log
        && !c.in_place
        && !c.masked
        && (STREAM_MIN..=STREAM_MAX).contains(&c.cols)
        && memory_sized(c)
}

/// Whether the output spans [`MEMORY_BYTES`] or more.
fn memory_sized(c: &Shape) -> bool {
    c.rows.saturating_mul(c.rsy).saturating_mul(4) >= MEMORY_BYTES
}
