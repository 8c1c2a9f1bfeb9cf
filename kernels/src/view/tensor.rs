//! [`Tensor4Ref`] and [`Tensor4Mut`]: strided 4-d views (contract: [the module](super)).

use core::marker::PhantomData;

use super::{bhsd_strides, bshd_strides};

/// A read-only strided 4-d view in the logical order `[batch, head, seq, dim]`.
///
/// `dims` is always logical (`[B, H, L, D]`); `strides` says where each axis lives, so BHSD and
/// BSHD memory are both described without copies ([`Tensor4Ref::bhsd`], [`Tensor4Ref::bshd`]).
#[derive(Debug)]
pub struct Tensor4Ref<'a, T = f32> {
    pub(crate) ptr: *const T,
    pub(crate) len: usize,
    /// Logical shape `[B, H, L, D]`.
    pub dims: [usize; 4],
    /// Element strides of the four logical axes.
    pub strides: [usize; 4],
    _life: PhantomData<&'a [T]>,
}

impl<T> Clone for Tensor4Ref<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Tensor4Ref<'_, T> {}
// SAFETY: shared borrow of `[T]` in disguise.
unsafe impl<T: Sync> Send for Tensor4Ref<'_, T> {}
// SAFETY: shared borrow of `[T]` in disguise.
unsafe impl<T: Sync> Sync for Tensor4Ref<'_, T> {}

impl<'a, T: crate::elem::Element> Tensor4Ref<'a, T> {
    /// The same view typed as `f32`, when `T` is `f32`; `None` for a half-precision view.
    ///
    /// ```
    /// use huiyan_kernels::{elem::bf16, Tensor4Ref};
    /// assert!(Tensor4Ref::bhsd(&[0.5f32; 8], [1, 2, 2, 2]).as_f32().is_some());
    /// assert!(Tensor4Ref::bhsd(&[bf16::ONE; 8], [1, 2, 2, 2]).as_f32().is_none());
    /// ```
    pub fn as_f32(self) -> Option<Tensor4Ref<'a, f32>> {
        (T::DTYPE == crate::elem::Dtype::F32).then_some(Tensor4Ref {
            ptr: self.ptr as *const f32,
            len: self.len,
            dims: self.dims,
            strides: self.strides,
            _life: PhantomData,
        })
    }
}

impl<'a, T> Tensor4Ref<'a, T> {
    /// A view with explicit strides.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x: Vec<f32> = (0..24).map(|i| i as f32).collect();
    /// // Logical [B=1, H=2, L=3, D=4] stored as [B, L, H, D]:
    /// let t = Tensor4Ref::new(&x, [1, 2, 3, 4], [24, 4, 8, 1]);
    /// assert_eq!(t.get([0, 1, 2, 3]), Some(&(2.0 * 8.0 + 4.0 + 3.0)));
    /// ```
    pub fn new(data: &'a [T], dims: [usize; 4], strides: [usize; 4]) -> Self {
        Tensor4Ref {
            ptr: data.as_ptr(),
            len: data.len(),
            dims,
            strides,
            _life: PhantomData,
        }
    }

    /// Contiguous `[B, H, L, D]` memory (PyTorch SDPA's layout).
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let q = vec![0.0f32; 2 * 4 * 16 * 8];
    /// let v = Tensor4Ref::bhsd(&q, [2, 4, 16, 8]);
    /// assert_eq!(v.strides, [4 * 16 * 8, 16 * 8, 8, 1]);
    /// ```
    pub fn bhsd(data: &'a [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bhsd_strides(dims))
    }

    /// Contiguous `[B, L, H, D]` memory (heads interleaved, the layout a projection produces);
    /// `dims` stays logical `[B, H, L, D]`.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x = vec![0.0f32; 2 * 16 * 4 * 8]; // [B, L, H, D] memory
    /// let t = Tensor4Ref::bshd(&x, [2, 4, 16, 8]); // logical [B, H, L, D]
    /// assert_eq!(t.strides, [16 * 4 * 8, 8, 4 * 8, 1]);
    /// ```
    pub fn bshd(data: &'a [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bshd_strides(dims))
    }

    /// A packed variable-length layout `[total, heads, dim]` (tokens of every sequence end to
    /// end, heads interleaved) as the logical `[1, heads, total, dim]` view the
    /// variable-length attention takes (`attention_varlen`): BSHD with a batch of 1.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x: Vec<f32> = (0..5 * 2 * 3).map(|i| i as f32).collect(); // 5 tokens, 2 heads, d 3
    /// let t = Tensor4Ref::thd(&x, [5, 2, 3]);
    /// assert_eq!(t.dims, [1, 2, 5, 3]);
    /// assert_eq!(t.get([0, 1, 4, 2]), Some(&29.0)); // token 4, head 1, feature 2
    /// ```
    pub fn thd(data: &'a [T], [total, heads, dim]: [usize; 3]) -> Self {
        Self::bshd(data, [1, heads, total, dim])
    }

    /// A view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// As [`MatRef::from_raw_parts`](crate::MatRef::from_raw_parts).
    ///
    /// ```
    /// use huiyan_kernels::{view::bhsd_strides, Tensor4Ref};
    /// let x: Vec<f32> = (0..8).map(|i| i as f32).collect();
    /// let dims = [1, 2, 2, 2];
    /// // SAFETY: `x` holds 8 readable elements, outlives `t` and is not written while `t` is used.
    /// let t = unsafe { Tensor4Ref::from_raw_parts(x.as_ptr(), x.len(), dims, bhsd_strides(dims)) };
    /// assert_eq!(t.get([0, 1, 0, 1]), Some(&5.0));
    /// ```
    pub unsafe fn from_raw_parts(
        ptr: *const T,
        len: usize,
        dims: [usize; 4],
        strides: [usize; 4],
    ) -> Self {
        Tensor4Ref {
            ptr,
            len,
            dims,
            strides,
            _life: PhantomData,
        }
    }

    /// The view cut along `axis` (0..4: batch, head, seq, dim) before index `at`: indices
    /// `..at` and `at..` of that axis as two views, without copying; `None` when `axis > 3`,
    /// `at` exceeds the axis, or the slice does not reach index `at`.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x: Vec<f32> = (0..2 * 3 * 4 * 5).map(|i| i as f32).collect();
    /// let (b0, b1) = Tensor4Ref::bhsd(&x, [2, 3, 4, 5]).split_at(0, 1).unwrap();
    /// assert_eq!((b0.dims, b1.dims), ([1, 3, 4, 5], [1, 3, 4, 5]));
    /// assert_eq!(b1.get([0, 0, 0, 0]), Some(&60.0));
    /// ```
    pub fn split_at(self, axis: usize, at: usize) -> Option<(Self, Self)> {
        let off = split_offset(self.dims, self.strides, self.len, axis, at)?;
        let (mut lo_dims, mut hi_dims) = (self.dims, self.dims);
        lo_dims[axis] = at;
        hi_dims[axis] -= at;
        let lo = Tensor4Ref {
            dims: lo_dims,
            ..self
        };
        let hi = Tensor4Ref {
            ptr: self.ptr.wrapping_add(off),
            len: self.len - off,
            dims: hi_dims,
            ..self
        };
        Some((lo, hi))
    }

    /// Indices `at..at + len` of the sequence axis (axis 2), the batch axis cut to its first
    /// entry: a sequence of a packed variable-length view. Wrapping arithmetic, no checks: the
    /// caller validated that the range lies inside the view.
    pub(crate) fn sequence(self, at: usize, len: usize) -> Self {
        let off = at.wrapping_mul(self.strides[2]);
        Tensor4Ref {
            ptr: self.ptr.wrapping_add(off),
            len: self.len.saturating_sub(off),
            dims: [1, self.dims[1], len, self.dims[3]],
            ..self
        }
    }

    /// Element `[b, h, s, d]`, or `None` outside the shape or the slice.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x: Vec<f32> = (0..16).map(|i| i as f32).collect();
    /// let t = Tensor4Ref::bhsd(&x, [1, 2, 2, 4]);
    /// assert_eq!(t.get([0, 1, 1, 2]), Some(&14.0));
    /// assert_eq!(t.get([0, 2, 0, 0]), None); // head 2 does not exist
    /// ```
    pub fn get(&self, idx: [usize; 4]) -> Option<&'a T> {
        let mut off = 0usize;
        for ((&i, &d), &s) in idx.iter().zip(&self.dims).zip(&self.strides) {
            if i >= d {
                return None;
            }
            off = off.checked_add(i.checked_mul(s)?)?;
        }
        if off >= self.len {
            return None;
        }
        // SAFETY: `off < len`; the constructor's contract makes `ptr..ptr+len` readable for 'a.
        Some(unsafe { &*self.ptr.add(off) })
    }

    /// Number of elements of the underlying slice.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x = [0.0f32; 12];
    /// assert_eq!(Tensor4Ref::bhsd(&x, [1, 1, 3, 4]).len(), 12);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x: [f32; 0] = [];
    /// assert!(Tensor4Ref::bhsd(&x, [0, 1, 1, 1]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base pointer.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Ref;
    /// let x = [0.0f32; 4];
    /// assert_eq!(Tensor4Ref::bhsd(&x, [1, 1, 1, 4]).as_ptr(), x.as_ptr());
    /// ```
    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }
}

/// A mutable strided 4-d view in logical order `[batch, head, seq, dim]`.
#[derive(Debug)]
pub struct Tensor4Mut<'a, T = f32> {
    pub(crate) ptr: *mut T,
    pub(crate) len: usize,
    /// Logical shape `[B, H, L, D]`.
    pub dims: [usize; 4],
    /// Element strides of the four logical axes.
    pub strides: [usize; 4],
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: exclusive borrow of `[T]` in disguise.
unsafe impl<T: Send> Send for Tensor4Mut<'_, T> {}
// SAFETY: `&self` methods give read-only access, as for `&mut [T]`.
unsafe impl<T: Sync> Sync for Tensor4Mut<'_, T> {}

impl<'a, T: crate::elem::Element> Tensor4Mut<'a, T> {
    /// The same view typed as `f32`, when `T` is `f32`; the view itself back otherwise.
    ///
    /// ```
    /// use huiyan_kernels::{elem::f16, Tensor4Mut};
    /// let mut o = [0.0f32; 8];
    /// assert!(Tensor4Mut::bhsd(&mut o, [1, 2, 2, 2]).as_f32().is_ok());
    /// let mut h = [f16::ZERO; 8];
    /// assert!(Tensor4Mut::bhsd(&mut h, [1, 2, 2, 2]).as_f32().is_err());
    /// ```
    pub fn as_f32(self) -> Result<Tensor4Mut<'a, f32>, Self> {
        if T::DTYPE != crate::elem::Dtype::F32 {
            return Err(self);
        }
        Ok(Tensor4Mut {
            ptr: self.ptr as *mut f32,
            len: self.len,
            dims: self.dims,
            strides: self.strides,
            _life: PhantomData,
        })
    }
}

impl<'a, T> Tensor4Mut<'a, T> {
    /// A mutable view with explicit strides.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = vec![0.0f32; 2 * 3 * 4];
    /// let t = Tensor4Mut::new(&mut o, [1, 2, 3, 4], [24, 12, 4, 1]);
    /// assert_eq!(t.dims, [1, 2, 3, 4]);
    /// ```
    pub fn new(data: &'a mut [T], dims: [usize; 4], strides: [usize; 4]) -> Self {
        Tensor4Mut {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            dims,
            strides,
            _life: PhantomData,
        }
    }

    /// Contiguous `[B, H, L, D]` memory.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = vec![0.0f32; 2 * 4 * 16 * 8];
    /// let t = Tensor4Mut::bhsd(&mut o, [2, 4, 16, 8]);
    /// assert_eq!(t.strides, [4 * 16 * 8, 16 * 8, 8, 1]);
    /// ```
    pub fn bhsd(data: &'a mut [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bhsd_strides(dims))
    }

    /// Contiguous `[B, L, H, D]` memory; `dims` stays logical `[B, H, L, D]`.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = vec![0.0f32; 2 * 16 * 4 * 8];
    /// let t = Tensor4Mut::bshd(&mut o, [2, 4, 16, 8]);
    /// assert_eq!(t.strides, [16 * 4 * 8, 8, 4 * 8, 1]);
    /// ```
    pub fn bshd(data: &'a mut [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bshd_strides(dims))
    }

    /// The mutable form of [`Tensor4Ref::thd`]: packed `[total, heads, dim]` as
    /// `[1, heads, total, dim]`.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = vec![0.0f32; 5 * 2 * 3];
    /// assert_eq!(Tensor4Mut::thd(&mut o, [5, 2, 3]).dims, [1, 2, 5, 3]);
    /// ```
    pub fn thd(data: &'a mut [T], [total, heads, dim]: [usize; 3]) -> Self {
        Self::bshd(data, [1, heads, total, dim])
    }

    /// A mutable view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// As [`MatMut::from_raw_parts`](crate::MatMut::from_raw_parts).
    ///
    /// ```
    /// use huiyan_kernels::{view::bhsd_strides, Tensor4Mut};
    /// let mut o = vec![0.0f32; 8];
    /// let dims = [1, 2, 2, 2];
    /// // SAFETY: `o` holds 8 elements, outlives `t`, and nothing else accesses it while `t` is used.
    /// let t = unsafe { Tensor4Mut::from_raw_parts(o.as_mut_ptr(), o.len(), dims, bhsd_strides(dims)) };
    /// assert_eq!(t.len(), 8);
    /// ```
    pub unsafe fn from_raw_parts(
        ptr: *mut T,
        len: usize,
        dims: [usize; 4],
        strides: [usize; 4],
    ) -> Self {
        Tensor4Mut {
            ptr,
            len,
            dims,
            strides,
            _life: PhantomData,
        }
    }

    /// The view cut along `axis` before index `at` into two mutable views over disjoint
    /// memory (see [`Tensor4Ref::split_at`]); also `None` when the two parts interleave in
    /// memory (the axis' stride is not larger than the extent of the other axes, e.g. heads of
    /// BSHD memory).
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = vec![0.0f32; 3 * 4 * 5];
    /// let (h0, h12) = Tensor4Mut::bhsd(&mut o, [1, 3, 4, 5]).split_at(1, 1).unwrap();
    /// assert_eq!((h0.dims[1], h12.dims[1]), (1, 2));
    /// // Heads of BSHD memory interleave with the sequence axis: no split there.
    /// assert!(Tensor4Mut::bshd(&mut o, [1, 3, 4, 5]).split_at(1, 1).is_none());
    /// ```
    pub fn split_at(self, axis: usize, at: usize) -> Option<(Self, Self)> {
        let off = split_offset(self.dims, self.strides, self.len, axis, at)?;
        // The lower part ends before index `at` of the axis starts: its largest offset is
        // (at − 1)·s_axis + Σ_other (d − 1)·s, below at·s_axis when Σ_other < s_axis.
        if at > 0 {
            let mut rest = 0usize;
            for a in (0..4).filter(|&a| a != axis) {
                let extent = self.dims[a]
                    .saturating_sub(1)
                    .checked_mul(self.strides[a])?;
                rest = rest.checked_add(extent)?;
            }
            if self.dims.contains(&0) {
                rest = 0;
            }
            if rest >= self.strides[axis] && at < self.dims[axis] {
                return None;
            }
        }
        let (mut lo_dims, mut hi_dims) = (self.dims, self.dims);
        lo_dims[axis] = at;
        hi_dims[axis] -= at;
        let lo = Tensor4Mut {
            len: off,
            dims: lo_dims,
            _life: PhantomData,
            ..self
        };
        let hi = Tensor4Mut {
            ptr: self.ptr.wrapping_add(off),
            len: self.len - off,
            dims: hi_dims,
            ..self
        };
        Some((lo, hi))
    }

    /// Reborrow as a shorter-lived mutable view.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = vec![0.0f32; 8];
    /// let mut t = Tensor4Mut::bhsd(&mut o, [1, 2, 2, 2]);
    /// let short = t.rb_mut(); // `t` is usable again once `short` is gone
    /// assert_eq!(short.dims, [1, 2, 2, 2]);
    /// assert_eq!(t.len(), 8);
    /// ```
    pub fn rb_mut(&mut self) -> Tensor4Mut<'_, T> {
        Tensor4Mut {
            _life: PhantomData,
            ..*self
        }
    }

    /// Reborrow as a read-only view.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o: Vec<f32> = (0..8).map(|i| i as f32).collect();
    /// let t = Tensor4Mut::bhsd(&mut o, [1, 2, 2, 2]);
    /// assert_eq!(t.as_ref().get([0, 1, 1, 0]), Some(&6.0));
    /// ```
    pub fn as_ref(&self) -> Tensor4Ref<'_, T> {
        Tensor4Ref {
            ptr: self.ptr,
            len: self.len,
            dims: self.dims,
            strides: self.strides,
            _life: PhantomData,
        }
    }

    /// Number of elements of the underlying slice.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o = [0.0f32; 12];
    /// assert_eq!(Tensor4Mut::bhsd(&mut o, [1, 1, 3, 4]).len(), 12);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    ///
    /// ```
    /// use huiyan_kernels::Tensor4Mut;
    /// let mut o: [f32; 0] = [];
    /// assert!(Tensor4Mut::bhsd(&mut o, [1, 1, 0, 4]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Offset of index `at` of `axis` in a view with `dims`, `strides` over `len` elements: the
/// start of the upper part of a split (`len` itself when `at` is the whole axis), or `None`
/// when `axis > 3`, `at` exceeds the axis, or the slice ends before index `at`.
fn split_offset(
    dims: [usize; 4],
    strides: [usize; 4],
    len: usize,
    axis: usize,
    at: usize,
) -> Option<usize> {
    if axis > 3 || at > dims[axis] {
        return None;
    }
    if (0..4).any(|a| a != axis && dims[a] == 0) {
        return Some(0); // no elements: both parts are empty views
    }
    let off = if at == dims[axis] {
        len
    } else {
        at.checked_mul(strides[axis])?
    };
    (off <= len).then_some(off)
}
