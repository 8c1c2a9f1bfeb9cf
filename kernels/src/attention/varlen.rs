//! Variable-length batches: sequences packed end to end, no padding (contract: [the
//! module](super), per sequence).
//!
//! Q is `[total_q, Hq, dk]`, K `[total_k, Hkv, dk]`, V `[total_k, Hkv, dv]`, O `[total_q, Hq,
//! dv]`: 4-d views with a batch axis of 1 (`Tensor4Ref::thd`, or any strides). Sequence `s`
//! owns query tokens `cu_q[s]..cu_q[s + 1]` and key tokens `cu_k[s]..cu_k[s + 1]` — the
//! cumulative offsets of FlashAttention's varlen interface (`cu_seqlens_q`, `cu_seqlens_k`),
//! `B + 1` entries each, non-decreasing, the last at most the packed token count. Each
//! sequence is an attention call of its own: positions (causal masks of both variants,
//! sliding window, ALiBi) count from the sequence's first token, and scale, softcap and sinks
//! apply as in any call. The logsumexp is `[Hq, total_q]` (the `[B, Hq, Lq]` layout with
//! `B = 1`). A 4-d mask or bias and key-padding lengths have no per-sequence meaning and are
//! refused ([`Error::NotPerSequence`]).
//!
//! Work is proportional to `Σ Lqₛ·Lkₛ`: a sequence's rows never see another sequence's keys,
//! and nothing is computed for padding because there is none.

use core::marker::PhantomData;
use core::sync::atomic::AtomicUsize;

use super::call::Call;
use super::job::AttentionJob;
use super::plan::{path, Path, Plan, Seqs};
use super::{decode, short};
use crate::error::Error;
use crate::job::Job;
use crate::kernels::Kernels;
use crate::options::AttentionOptions;
pub use crate::shape::check_attention_varlen;
use crate::shape::{check_workspace, AttnDims};
use crate::view::{Tensor4Mut, Tensor4Ref};

impl<'a> Call<'a> {
    /// Sequence `s` of a variable-length call as a call of its own (`B = 1`, its `Lq` and
    /// `Lk`), its views starting at the sequence's first tokens. Pointers are computed with
    /// wrapping arithmetic; they lie inside the packed views because the offsets were
    /// validated.
    pub(crate) fn sequence(&self, seqs: &Seqs<'_>, s: usize) -> Call<'a> {
        let (q0, k0) = (seqs.cu_q[s], seqs.cu_k[s]);
        let (lq, lk) = seqs.lens(s);
        Call {
            q: self.q.sequence(q0, lq),
            k: self.k.sequence(k0),
            v: self.v.sequence(k0),
            o: self.o.wrapping_add(q0 * self.os[2]),
            lse: if self.lse.is_null() {
                self.lse
            } else {
                self.lse.wrapping_add(q0)
            },
            d: AttnDims {
                len_q: lq,
                len_kv: lk,
                ..self.d
            },
            ..*self
        }
    }
}

/// Units per single-block task: those of the average sequence, as for a call of it alone.
fn units(d: &AttnDims, seqs: &Seqs<'_>) -> usize {
    let n = seqs.len().max(1);
    let (lq, lk) = (d.len_q.div_ceil(n), d.len_kv.div_ceil(n));
    short::units_per_task(d.group(), lq, lk, d.dim_qk, d.dim_v)
}

/// Elements of workspace [`attention_varlen`] needs: the decode partials of the decode-path
/// sequences, then the largest task workspace of any sequence's path. Independent of the
/// values and the options; meaningless (but harmless) for offsets it would reject.
///
/// ```
/// use huiyan_kernels::attention::attention_varlen_workspace_len;
/// use huiyan_kernels::{Kernels, Tensor4Ref};
/// let x = vec![0.0f32; 40 * 4 * 16];
/// let t = Tensor4Ref::thd(&x, [40, 4, 16]);
/// let n = attention_varlen_workspace_len(&Kernels::scalar(), &t, &t, &t, &[0, 10, 40], &[0, 10, 40]);
/// assert!(n >= 30 * 16); // at least the packed keys of the longest sequence
/// ```
pub fn attention_varlen_workspace_len(
    kernels: &Kernels,
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    v: &Tensor4Ref<'_>,
    cu_seqlens_q: &[usize],
    cu_seqlens_k: &[usize],
) -> usize {
    let (shared, ws) = needs(kernels, q, k, v, cu_seqlens_q, cu_seqlens_k);
    shared.saturating_add(ws)
}

/// `(shared, task workspace)` of a variable-length call.
fn needs(
    kernels: &Kernels,
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    v: &Tensor4Ref<'_>,
    cu_q: &[usize],
    cu_k: &[usize],
) -> (usize, usize) {
    let dims = [q.dims[1], k.dims[1], q.dims[3], v.dims[3]];
    let p = Plan::new(&kernels.attention, dims, cu_q, cu_k, 1);
    (p.shared, p.ws)
}

/// Attention over a variable-length batch (the [contract](super), per sequence) on one
/// thread, with the caller's workspace of at least [`attention_varlen_workspace_len`] elements. No
/// allocation; on `Err` nothing was written.
///
/// ```
/// use huiyan_kernels::attention::{attention_varlen, attention_varlen_workspace_len, AttentionOptions};
/// use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};
/// // Two sequences of 2 and 3 tokens, 1 head of dimension 2.
/// let q = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
/// let v = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
/// let mut o = [0.0f32; 10];
/// let (cu, kern) = ([0usize, 2, 5], Kernels::best_compile_time());
/// let t = |x| Tensor4Ref::thd(x, [5, 1, 2]);
/// let mut ws = vec![0.0; attention_varlen_workspace_len(&kern, &t(&q), &t(&q), &t(&v), &cu, &cu)];
/// let opts = AttentionOptions { is_causal: true, ..Default::default() };
/// attention_varlen(&kern, t(&q), t(&q), t(&v), Tensor4Mut::thd(&mut o, [5, 1, 2]),
///                  &cu, &cu, &opts, None, &mut ws)?;
/// // The first token of each sequence sees only itself, not the other sequence's tokens.
/// assert_eq!((o[0], o[1]), (1.0, 2.0));
/// assert_eq!((o[4], o[5]), (5.0, 6.0));
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn attention_varlen<'a>(
    kernels: &Kernels,
    q: Tensor4Ref<'a>,
    k: Tensor4Ref<'a>,
    v: Tensor4Ref<'a>,
    o: Tensor4Mut<'_>,
    cu_seqlens_q: &'a [usize],
    cu_seqlens_k: &'a [usize],
    opts: &AttentionOptions<'a>,
    lse: Option<&mut [f32]>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    check_attention_varlen(
        &q,
        &k,
        &v,
        &o,
        cu_seqlens_q,
        cu_seqlens_k,
        opts,
        lse.as_deref(),
    )?;
    let need = attention_varlen_workspace_len(kernels, &q, &k, &v, cu_seqlens_q, cu_seqlens_k);
    check_workspace(need, workspace.len())?;
    let shared_len =
        AttentionJob::varlen_shared_len(kernels, &q, &k, &v, cu_seqlens_q, cu_seqlens_k);
    let (shared, ws) = workspace.split_at_mut(shared_len);
    let job = AttentionJob::new_varlen(
        kernels,
        q,
        k,
        v,
        o,
        cu_seqlens_q,
        cu_seqlens_k,
        opts,
        lse,
        shared,
    )?;
    while job.run_next(ws)? {}
    Ok(())
}

impl<'a> AttentionJob<'a> {
    /// Elements of the `shared` buffer [`AttentionJob::new_varlen`] needs: the decode partials
    /// of the sequences with at most 4 queries (0 when there are none).
    pub fn varlen_shared_len(
        kernels: &Kernels,
        q: &Tensor4Ref<'_>,
        k: &Tensor4Ref<'_>,
        v: &Tensor4Ref<'_>,
        cu_seqlens_q: &[usize],
        cu_seqlens_k: &[usize],
    ) -> usize {
        needs(kernels, q, k, v, cu_seqlens_q, cu_seqlens_k).0
    }

    /// A variable-length call ([`attention_varlen`]) as tasks any number of threads
    /// can share, with the bits of one thread, each sequence with the bits of a call of it
    /// alone. Validates everything first ([`check_attention_varlen`]): on `Err` nothing is
    /// written. `shared` holds [`varlen_shared_len`](Self::varlen_shared_len) elements.
    ///
    /// ```
    /// use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
    /// use huiyan_kernels::job::Job;
    /// use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};
    /// let x = vec![0.5f32; 9 * 2 * 8];
    /// let mut o = vec![0.0f32; 9 * 2 * 8];
    /// let t = Tensor4Ref::thd(&x, [9, 2, 8]);
    /// let cu = [0usize, 2, 9]; // a 2-token sequence (the decode path) and a 7-token one
    /// let kern = Kernels::scalar();
    /// let mut shared = vec![0.0f32; AttentionJob::varlen_shared_len(&kern, &t, &t, &t, &cu, &cu)];
    /// let opts = AttentionOptions::default();
    /// let job = AttentionJob::new_varlen(&kern, t, t, t, Tensor4Mut::thd(&mut o, [9, 2, 8]),
    ///                                    &cu, &cu, &opts, None, &mut shared)?;
    /// let mut ws = vec![0.0f32; job.task_workspace_len()];
    /// while job.run_next(&mut ws)? {}
    /// assert!(o.iter().all(|&y| (y - 0.5).abs() < 1e-6));
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn new_varlen(
        kernels: &Kernels,
        q: Tensor4Ref<'a>,
        k: Tensor4Ref<'a>,
        v: Tensor4Ref<'a>,
        o: Tensor4Mut<'a>,
        cu_seqlens_q: &'a [usize],
        cu_seqlens_k: &'a [usize],
        opts: &AttentionOptions<'a>,
        lse: Option<&'a mut [f32]>,
        shared: &'a mut [f32],
    ) -> Result<Self, Error> {
        let d = check_attention_varlen(
            &q,
            &k,
            &v,
            &o,
            cu_seqlens_q,
            cu_seqlens_k,
            opts,
            lse.as_deref(),
        )?;
        let seqs = Seqs {
            cu_q: cu_seqlens_q,
            cu_k: cu_seqlens_k,
        };
        let kern = kernels.attention;
        let mut call = Call::new(q, k, v, &o, core::ptr::null_mut(), *opts, d);
        call.lse = lse.map_or(core::ptr::null_mut(), |l| l.as_mut_ptr());
        call.qchunk = kern.qchunk;
        call.units = units(&d, &seqs);
        let dims = [d.heads_q, d.heads_kv, d.dim_qk, d.dim_v];
        let plan = Plan::new(&kern, dims, cu_seqlens_q, cu_seqlens_k, call.units);
        check_workspace(plan.shared, shared.len())?;
        Ok(AttentionJob {
            call,
            kern,
            path: Path::Short,
            seqs: Some((seqs, plan)),
            shared: shared.as_mut_ptr(),
            ws_len: plan.ws,
            n0: plan.phase0(),
            n1: plan.phase1(),
            next: AtomicUsize::new(0),
            done0: AtomicUsize::new(0),
            _out: PhantomData,
        })
    }

    /// Runs task `t` of a variable-length job: phase 0 when `t < n0`, else phase 1 (every
    /// phase-0 task complete).
    ///
    /// # Safety
    ///
    /// The job was made by [`new_varlen`](Self::new_varlen) (its call and offsets validated,
    /// its shared buffer as large as the plan says); task `t < n0 + n1` is claimed by this
    /// thread only; `ws` holds `ws_len` elements of the caller's exclusive workspace.
    pub(super) unsafe fn run_varlen(&self, seqs: &Seqs<'_>, plan: &Plan, t: usize, ws: *mut f32) {
        let hkv = self.call.d.heads_kv;
        let lens = |s: usize| seqs.lens(s);
        if t < plan.short {
            let units = seqs.len() * hkv;
            let u0 = t * self.call.units;
            for u in u0..(u0 + self.call.units).min(units) {
                let s = u / hkv;
                let (lq, lk) = lens(s);
                if lq == 0 || path(lq, lk) != Path::Short {
                    continue;
                }
                let mut sub = self.call.sequence(seqs, s);
                sub.units = 1;
                // SAFETY: sequence s of a validated call is a valid call (its views lie
                // inside the packed ones) with Lk ≤ MAX_KEYS; its task u % hkv is its kv head
                // u % hkv, which only this task computes.
                unsafe { (self.kern.short)(&sub, u % hkv, ws) };
            }
            return;
        }
        // The sequence whose tasks of `kind` hold task number `t` (counted from the first
        // task of that kind), with the index of that task among the sequence's.
        let find = |kind: Path, per: &dyn Fn(usize, usize) -> usize, mut t: usize| {
            for s in 0..seqs.len() {
                let (lq, lk) = lens(s);
                if lq == 0 || path(lq, lk) != kind {
                    continue;
                }
                let n = per(lq, lk);
                if t < n {
                    return Some((s, t));
                }
                t -= n;
            }
            None
        };
        let qchunk = self.call.qchunk;
        let t = t - plan.short;
        if t < plan.tile {
            if let Some((s, i)) = find(Path::Tile, &|lq, _| hkv * lq.div_ceil(qchunk), t) {
                let sub = self.call.sequence(seqs, s);
                // SAFETY: as above, for tile task i of sequence s.
                unsafe { (self.kern.tile)(&sub, i, ws) };
            }
            return;
        }
        let t = t - plan.tile;
        let chunks = |_: usize, lk: usize| hkv * lk.div_ceil(decode::KV_CHUNK);
        if t < plan.chunk {
            if let Some((s, i)) = find(Path::Decode, &chunks, t) {
                let sub = self.call.sequence(seqs, s);
                let shared = self.shared.wrapping_add(self.decode_offset(seqs, s));
                // SAFETY: as above, for chunk task i of sequence s; the sequence's partials
                // lie at its offset in the shared buffer (the plan sized it as the sum over
                // the decode-path sequences) and only this task writes partial i.
                unsafe { (self.kern.chunk)(&sub, i, shared, ws) };
            }
        } else if let Some((s, i)) = find(Path::Decode, &|_, _| hkv, t - plan.chunk) {
            let sub = self.call.sequence(seqs, s);
            let shared = self.shared.wrapping_add(self.decode_offset(seqs, s));
            // SAFETY: as above; every chunk task has completed (phase 1 runs after phase 0),
            // so the sequence's partials are complete.
            unsafe { decode::run_merge(&sub, i, shared) };
        }
    }

    /// Where sequence `s`'s decode partials start in the shared buffer.
    fn decode_offset(&self, seqs: &Seqs<'_>, s: usize) -> usize {
        let d = &self.call.d;
        (0..s)
            .filter(|&r| {
                let (lq, lk) = seqs.lens(r);
                lq > 0 && path(lq, lk) == Path::Decode
            })
            .map(|r| {
                let (lq, lk) = seqs.lens(r);
                decode::shared_len([1, d.heads_kv, lk, d.group(), lq, d.dim_v])
            })
            .sum()
    }
}
