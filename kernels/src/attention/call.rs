//! The shared kit of the attention drivers: a validated call as raw parts ([`Call`]) and
//! the strided offset every driver computes ([`off`]). Below [`tile`](super::tile),
//! [`decode`](super::decode) and [`job`](super::job), which all use it.

use crate::options::AttentionOptions;
use crate::shape::AttnDims;
use crate::view::{Tensor4Mut, Tensor4Ref};

/// A validated attention call, as raw parts (see [`job`](super::job)).
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) q: Tensor4Ref<'a>,
    pub(crate) k: Tensor4Ref<'a>,
    pub(crate) v: Tensor4Ref<'a>,
    /// Base pointer and strides of O (validated; disjoint from every input).
    pub(crate) o: *mut f32,
    pub(crate) os: [usize; 4],
    /// `[B, Hq, Lq]` logsumexp output, or null.
    pub(crate) lse: *mut f32,
    /// Elements between the logsumexp rows of two heads (`Lq`; in a sequence of a
    /// variable-length call, the packed query count).
    pub(crate) lse_ld: usize,
    pub(crate) opts: AttentionOptions<'a>,
    pub(crate) d: AttnDims,
    /// Query rows per tile task (`QBLOCKS·Br` of the ISA).
    pub(crate) qchunk: usize,
    /// `(b, kv head)` units per single-block task.
    pub(crate) units: usize,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        q: Tensor4Ref<'a>,
        k: Tensor4Ref<'a>,
        v: Tensor4Ref<'a>,
        o: &Tensor4Mut<'_>,
        lse: *mut f32,
        opts: AttentionOptions<'a>,
        d: AttnDims,
    ) -> Self {
        Call {
            q,
            k,
            v,
            o: o.ptr,
            os: o.strides,
            lse,
            lse_ld: d.len_q,
            opts,
            d,
            qchunk: 1,
            units: 1,
        }
    }

    /// The logsumexp of query `i` of head `h`, batch `b` (a pointer into `lse`, which must not
    /// be null; wrapping arithmetic, inside `lse` for indices inside the call).
    #[inline(always)]
    pub(crate) fn lse_at(&self, b: usize, h: usize, i: usize) -> *mut f32 {
        self.lse
            .wrapping_add((b * self.d.heads_q + h) * self.lse_ld + i)
    }

    /// Query chunks per `(b, kv head)`.
    pub(crate) fn qchunks(&self) -> usize {
        self.d.len_q.div_ceil(self.qchunk)
    }
}

/// Element offset of `idx` in a 4-d view with strides `st`.
#[inline(always)]
pub(crate) fn off(idx: [usize; 4], st: [usize; 4]) -> usize {
    idx[0] * st[0] + idx[1] * st[1] + idx[2] * st[2] + idx[3] * st[3]
}
