//! The shared kit of the attention drivers: a validated call as raw parts ([`Call`]) and
//! the strided offset every driver computes ([`off`]). Below [`tile`](super::tile),
//! [`decode`](super::decode) and [`job`](super::job), which all use it.

use crate::elem::{widen, Dtype, ElemPtr, Element};
use crate::gemm::pack::{pack_a, pack_a_elem, pack_b_cols, pack_b_cols_elem, pack_b_elem};
use crate::options::AttentionOptions;
use crate::shape::AttnDims;
use crate::simd::SimdF32;
use crate::view::{Tensor4Mut, Tensor4Ref};

/// K or V of a validated call: a strided 4-d view of [`Dtype`] elements. The `f32` kernels read
/// it in place ([`Kv::as_f32`]); every other read widens ([`Kv::get`], [`Kv::widen_row`], or a
/// packing routine instantiated for the element type through [`with_elem!`]).
#[derive(Clone, Copy)]
pub(crate) struct Kv {
    ptr: *const u8,
    pub(crate) strides: [usize; 4],
    pub(crate) dtype: Dtype,
}

impl Kv {
    pub(crate) fn new<E: Element>(t: &Tensor4Ref<'_, E>) -> Self {
        Kv {
            ptr: t.ptr as *const u8,
            strides: t.strides,
            dtype: E::DTYPE,
        }
    }

    /// Rows `at..` of a packed variable-length view (wrapping arithmetic, as
    /// `Tensor4Ref::sequence`).
    pub(crate) fn sequence(self, at: usize) -> Self {
        Kv {
            ptr: self.ptr.wrapping_add(
                at.wrapping_mul(self.strides[2])
                    .wrapping_mul(self.dtype.size()),
            ),
            ..self
        }
    }

    /// Element `idx`'s address as a prefetch hint (wrapping arithmetic; never read through).
    #[inline(always)]
    pub(crate) fn hint(&self, idx: [usize; 4]) -> *const f32 {
        self.ptr
            .wrapping_add(off(idx, self.strides).wrapping_mul(self.dtype.size()))
            as *const f32
    }

    /// Floats that span as many bytes as `n` elements (what a prefetch of `n` elements covers).
    #[inline(always)]
    pub(crate) fn f32_span(&self, n: usize) -> usize {
        (n * self.dtype.size()).div_ceil(4)
    }

    /// The base pointer as `f32` when the elements are `f32`.
    #[inline(always)]
    pub(crate) fn as_f32(&self) -> Option<*const f32> {
        (self.dtype == Dtype::F32).then_some(self.ptr as *const f32)
    }

    /// Element `idx`'s address as an `E` pointer (wrapping arithmetic: inside the view for
    /// indices inside its dims; meaningful only for `E` = the view's dtype).
    #[inline(always)]
    pub(crate) fn at<E: Copy>(&self, idx: [usize; 4]) -> *const E {
        (self.ptr as *const E).wrapping_add(off(idx, self.strides))
    }

    /// Element `idx`, widened to `f32`.
    ///
    /// # Safety
    ///
    /// `idx` is inside the view's dims.
    #[inline(always)]
    pub(crate) unsafe fn get(&self, idx: [usize; 4]) -> f32 {
        // SAFETY: inside the validated view (caller); each arm reads the view's own type.
        unsafe {
            match self.dtype {
                Dtype::F32 => *self.at::<f32>(idx),
                Dtype::Bf16 => (*self.at::<crate::elem::bf16>(idx)).widen(),
                Dtype::F16 => (*self.at::<crate::elem::f16>(idx)).widen(),
            }
        }
    }

    /// Widens `n` features of row `idx` (feature stride `strides[3]`) into `dst`, with the
    /// tier's own conversion where it has one (F16C).
    ///
    /// # Safety
    ///
    /// Features `idx[3]..idx[3] + n` of the row are inside the view; `dst` is writable for `n`
    /// floats and disjoint from the view; the CPU supports `S`.
    #[inline(always)]
    pub(crate) unsafe fn widen_row<S: SimdF32>(
        &self,
        s: S,
        idx: [usize; 4],
        n: usize,
        dst: *mut f32,
    ) {
        let st = self.strides[3];
        // SAFETY: the caller's ranges; each arm reads the view's own type.
        unsafe {
            if self.dtype == Dtype::F16 && st == 1 {
                s.widen_f16(self.at::<u16>(idx), n, dst)
            } else {
                with_elem!(self, idx, |p| widen(p, st, n, dst))
            }
        }
    }
}

impl Kv {
    /// Element `idx` as a run-time typed pointer (wrapping arithmetic, as [`Kv::at`]).
    #[inline(always)]
    fn elem_at(&self, idx: [usize; 4]) -> ElemPtr {
        ElemPtr::from_raw(self.ptr, self.dtype).wrapping_add(off(idx, self.strides))
    }

    /// Packs the `kc × nc` B block at element `idx` (strides `rsb`, `csb`) as
    /// `gemm::pack::pack_b_elem`, or column by column as `pack_b_cols_elem` when `cols`
    /// (`rsb = 1`). `f32` is packed inline; half precision is widened by an out-of-line copy,
    /// so that the `f32` code around the call is not reshaped by it.
    ///
    /// # Safety
    ///
    /// As the pack function, for the block at `idx`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) unsafe fn pack_b(
        &self,
        idx: [usize; 4],
        cols: bool,
        nr: usize,
        dst: *mut f32,
        (rsb, csb): (usize, usize),
        kc: usize,
        nc: usize,
    ) {
        // SAFETY: forwarded; the f32 arm reads the view's own type.
        unsafe {
            match self.as_f32() {
                Some(_) if cols => pack_b_cols(nr, dst, self.at::<f32>(idx), csb, kc, nc),
                // Packing B is packing Bᵀ as an A: the strides swap.
                Some(_) => pack_a(nr, dst, self.at::<f32>(idx), csb, rsb, nc, kc),
                None => self.pack_b_widen(idx, cols, nr, dst, (rsb, csb), kc, nc),
            }
        }
    }

    /// [`Kv::pack_b`] for half precision.
    ///
    /// # Safety
    ///
    /// As [`Kv::pack_b`].
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    unsafe fn pack_b_widen(
        &self,
        idx: [usize; 4],
        cols: bool,
        nr: usize,
        dst: *mut f32,
        (rsb, csb): (usize, usize),
        kc: usize,
        nc: usize,
    ) {
        let b = self.elem_at(idx);
        // SAFETY: forwarded.
        unsafe {
            if cols {
                pack_b_cols_elem(nr, dst, b, csb, kc, nc)
            } else {
                pack_b_elem(nr, dst, b, rsb, csb, kc, nc, |_| {})
            }
        }
    }

    /// `gemm::pack::pack_a` of the `mc × kc` block at element `idx` (strides `rsa`, `csa`),
    /// widening half precision out of line (as [`Kv::pack_b`]).
    ///
    /// # Safety
    ///
    /// As `pack_a`, for the block at `idx`.
    #[inline(always)]
    pub(crate) unsafe fn pack_a(
        &self,
        idx: [usize; 4],
        mr: usize,
        dst: *mut f32,
        (rsa, csa): (usize, usize),
        mc: usize,
        kc: usize,
    ) {
        // SAFETY: forwarded; the f32 arm reads the view's own type.
        unsafe {
            match self.as_f32() {
                Some(_) => pack_a(mr, dst, self.at::<f32>(idx), rsa, csa, mc, kc),
                None => self.pack_a_widen(idx, mr, dst, (rsa, csa), mc, kc),
            }
        }
    }

    /// [`Kv::pack_a`] for half precision.
    ///
    /// # Safety
    ///
    /// As [`Kv::pack_a`].
    #[cold]
    #[inline(never)]
    unsafe fn pack_a_widen(
        &self,
        idx: [usize; 4],
        mr: usize,
        dst: *mut f32,
        (rsa, csa): (usize, usize),
        mc: usize,
        kc: usize,
    ) {
        // SAFETY: forwarded.
        unsafe { pack_a_elem(mr, dst, self.elem_at(idx), rsa, csa, mc, kc, |_| {}) }
    }
}

/// Evaluates `$body` with `$p` bound to `$kv.at::<E>($idx)` for the view's element type `E`:
/// one instance of `$body` per [`Dtype`].
macro_rules! with_elem {
    ($kv:expr, $idx:expr, |$p:ident| $body:expr) => {
        $crate::elem::with_dtype!($kv.dtype, E => {
            let $p = $kv.at::<E>($idx);
            $body
        })
    };
}
pub(crate) use with_elem;

/// A validated attention call, as raw parts (see [`job`](super::job)).
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) q: Tensor4Ref<'a>,
    pub(crate) k: Kv,
    pub(crate) v: Kv,
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
    pub(crate) fn new<E: Element>(
        q: Tensor4Ref<'a>,
        k: Tensor4Ref<'a, E>,
        v: Tensor4Ref<'a, E>,
        o: &Tensor4Mut<'_>,
        lse: *mut f32,
        opts: AttentionOptions<'a>,
        d: AttnDims,
    ) -> Self {
        Call {
            q,
            k: Kv::new(&k),
            v: Kv::new(&v),
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
