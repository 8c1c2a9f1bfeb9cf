//! Strided views: the one way operands are described.
//!
//! A view is a base pointer, the number of elements the caller vouches for (`len`, the slice
//! length), a shape and element strides. Views made from slices are safe to build and are *not*
//! validated when built: every operation validates all of its views at once (see
//! [`crate::shape`]) and returns a typed [`Error`](crate::Error) naming the operand, so a
//! malformed view can never cause an out-of-bounds access.
//!
//! Strides are in elements and non-negative. A transpose is a swap of strides ([`MatRef::t`]);
//! a broadcast input axis has stride 0. Output views must map distinct elements to distinct
//! addresses.

use core::marker::PhantomData;

/// A read-only strided matrix view: element `(i, j)` lives at `ptr + i·rs + j·cs`.
#[derive(Debug)]
pub struct MatRef<'a, T = f32> {
    pub(crate) ptr: *const T,
    pub(crate) len: usize,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row stride in elements (`rs` in BLAS vocabulary).
    pub rs: usize,
    /// Column stride in elements (`cs`).
    pub cs: usize,
    _life: PhantomData<&'a [T]>,
}

impl<T> Clone for MatRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for MatRef<'_, T> {}

// SAFETY: a MatRef is a shared borrow of `[T]` in disguise; sharing it across threads is as
// sound as sharing `&[T]`.
unsafe impl<T: Sync> Send for MatRef<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for MatRef<'_, T> {}

impl<'a, T> MatRef<'a, T> {
    /// A `rows × cols` view of `data` with row stride `rs` and column stride `cs`.
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let m = MatRef::new(&a, 2, 3, 3, 1); // row-major 2×3
    /// assert_eq!(m.get(1, 0), Some(&4.0));
    /// ```
    pub fn new(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        MatRef {
            ptr: data.as_ptr(),
            len: data.len(),
            rows,
            cols,
            rs,
            cs,
            _life: PhantomData,
        }
    }

    /// A contiguous row-major `rows × cols` view (`rs = cols`, `cs = 1`).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A contiguous column-major `rows × cols` view (`rs = 1`, `cs = rows`).
    pub fn col_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, rows)
    }

    /// A view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads of `len` elements of `T` for the lifetime `'a`, and those
    /// elements must not be written through any other pointer while the view is used, except
    /// through a [`MatMut`]/[`Tensor4Mut`] handed to the *same* operation: operations check
    /// address ranges and return [`Error::Overlap`](crate::Error::Overlap) without touching
    /// memory when an output overlaps an input.
    pub unsafe fn from_raw_parts(
        ptr: *const T,
        len: usize,
        rows: usize,
        cols: usize,
        rs: usize,
        cs: usize,
    ) -> Self {
        MatRef {
            ptr,
            len,
            rows,
            cols,
            rs,
            cs,
            _life: PhantomData,
        }
    }

    /// The transpose: same memory, rows and columns (and their strides) swapped.
    pub fn t(self) -> Self {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Number of elements of the underlying slice.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `(i, j)`, or `None` when it lies outside the shape or the slice.
    pub fn get(&self, i: usize, j: usize) -> Option<&'a T> {
        if i >= self.rows || j >= self.cols {
            return None;
        }
        let off = i
            .checked_mul(self.rs)?
            .checked_add(j.checked_mul(self.cs)?)?;
        if off >= self.len {
            return None;
        }
        // SAFETY: `off < len` and the constructor's contract makes `ptr..ptr+len` readable for 'a.
        Some(unsafe { &*self.ptr.add(off) })
    }

    /// Base pointer.
    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }
}

/// A mutable strided matrix view: element `(i, j)` lives at `ptr + i·rs + j·cs`.
#[derive(Debug)]
pub struct MatMut<'a, T = f32> {
    pub(crate) ptr: *mut T,
    pub(crate) len: usize,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row stride in elements.
    pub rs: usize,
    /// Column stride in elements.
    pub cs: usize,
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: a MatMut is an exclusive borrow of `[T]` in disguise, as `&mut [T]` is Send.
unsafe impl<T: Send> Send for MatMut<'_, T> {}
// SAFETY: shared access to a MatMut gives no access to the elements (`&self` methods only read
// metadata and produce shared views), as for `&mut [T]`.
unsafe impl<T: Sync> Sync for MatMut<'_, T> {}

impl<'a, T> MatMut<'a, T> {
    /// A `rows × cols` mutable view of `data` with strides `rs`, `cs`.
    pub fn new(data: &'a mut [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        MatMut {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            rows,
            cols,
            rs,
            cs,
            _life: PhantomData,
        }
    }

    /// A contiguous row-major view.
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A contiguous column-major view.
    pub fn col_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, 1, rows)
    }

    /// A mutable view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes of `len` elements of `T` for `'a`, and no other
    /// pointer may access them while the view is used, except input views handed to the same
    /// operation (which detects the overlap and returns an error without touching memory).
    pub unsafe fn from_raw_parts(
        ptr: *mut T,
        len: usize,
        rows: usize,
        cols: usize,
        rs: usize,
        cs: usize,
    ) -> Self {
        MatMut {
            ptr,
            len,
            rows,
            cols,
            rs,
            cs,
            _life: PhantomData,
        }
    }

    /// Reborrow as a shorter-lived mutable view.
    pub fn rb_mut(&mut self) -> MatMut<'_, T> {
        MatMut {
            _life: PhantomData,
            ..*self
        }
    }

    /// Reborrow as a read-only view.
    pub fn as_ref(&self) -> MatRef<'_, T> {
        MatRef {
            ptr: self.ptr,
            len: self.len,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        }
    }

    /// The transpose.
    pub fn t(self) -> Self {
        MatMut {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Number of elements of the underlying slice.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base pointer.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }
}

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

impl<'a, T> Tensor4Ref<'a, T> {
    /// A view with explicit strides.
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
    pub fn bshd(data: &'a [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bshd_strides(dims))
    }

    /// A view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// As [`MatRef::from_raw_parts`].
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

    /// Element `[b, h, s, d]`, or `None` outside the shape or the slice.
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
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base pointer.
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

impl<'a, T> Tensor4Mut<'a, T> {
    /// A mutable view with explicit strides.
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
    pub fn bhsd(data: &'a mut [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bhsd_strides(dims))
    }

    /// Contiguous `[B, L, H, D]` memory; `dims` stays logical `[B, H, L, D]`.
    pub fn bshd(data: &'a mut [T], dims: [usize; 4]) -> Self {
        Self::new(data, dims, bshd_strides(dims))
    }

    /// A mutable view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// As [`MatMut::from_raw_parts`].
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

    /// Reborrow as a shorter-lived mutable view.
    pub fn rb_mut(&mut self) -> Tensor4Mut<'_, T> {
        Tensor4Mut {
            _life: PhantomData,
            ..*self
        }
    }

    /// Reborrow as a read-only view.
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
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Strides of contiguous `[B, H, L, D]` memory. Wrapping arithmetic: an overflowing shape is
/// caught by validation, which recomputes extents with checked arithmetic.
pub const fn bhsd_strides(d: [usize; 4]) -> [usize; 4] {
    let s2 = d[3];
    let s1 = d[2].wrapping_mul(s2);
    let s0 = d[1].wrapping_mul(s1);
    [s0, s1, s2, 1]
}

/// Strides of contiguous `[B, L, H, D]` memory for logical dims `[B, H, L, D]`.
pub const fn bshd_strides(d: [usize; 4]) -> [usize; 4] {
    let sh = d[3];
    let ss = d[1].wrapping_mul(d[3]);
    let sb = d[2].wrapping_mul(ss);
    [sb, sh, ss, 1]
}
