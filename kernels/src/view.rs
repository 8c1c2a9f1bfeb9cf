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
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let m = MatRef::row_major(&a, 2, 3);
    /// assert_eq!((m.rs, m.cs), (3, 1));
    /// assert_eq!(m.get(1, 2), Some(&6.0));
    /// ```
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A contiguous column-major `rows × cols` view (`rs = 1`, `cs = rows`).
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let m = MatRef::col_major(&a, 2, 3); // columns [1, 2], [3, 4], [5, 6]
    /// assert_eq!((m.rs, m.cs), (1, 2));
    /// assert_eq!(m.get(0, 1), Some(&3.0));
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = vec![1.0f32, 2.0, 3.0, 4.0];
    /// // SAFETY: `a` holds 4 readable elements, outlives `m` and is not written while `m` is used.
    /// let m = unsafe { MatRef::from_raw_parts(a.as_ptr(), a.len(), 2, 2, 2, 1) };
    /// assert_eq!(m.get(1, 0), Some(&3.0));
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let m = MatRef::row_major(&a, 2, 3);
    /// let t = m.t();
    /// assert_eq!((t.rows, t.cols), (3, 2));
    /// assert_eq!(t.get(2, 1), m.get(1, 2));
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [0.0f32; 10];
    /// // The slice length, not rows × cols.
    /// assert_eq!(MatRef::row_major(&a, 2, 3).len(), 10);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let empty: [f32; 0] = [];
    /// assert!(MatRef::row_major(&empty, 0, 3).is_empty());
    /// assert!(!MatRef::row_major(&[1.0f32], 1, 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `(i, j)`, or `None` when it lies outside the shape or the slice.
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0];
    /// let m = MatRef::row_major(&a, 2, 2);
    /// assert_eq!(m.get(0, 1), Some(&2.0));
    /// assert_eq!(m.get(2, 0), None); // outside the shape
    /// // Inside the shape but past the end of the slice:
    /// assert_eq!(MatRef::row_major(&a[..3], 2, 2).get(1, 1), None);
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0];
    /// assert_eq!(MatRef::row_major(&a, 1, 2).as_ptr(), a.as_ptr());
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [0.0f32; 6];
    /// let m = MatMut::new(&mut c, 2, 3, 1, 2); // column-major 2×3
    /// assert_eq!((m.rows, m.cols, m.rs, m.cs), (2, 3, 1, 2));
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::{reference, MatMut, MatRef};
    /// let a = [1.0f32, 2.0, 3.0, 4.0];
    /// let b = [1.0f32, 0.0, 0.0, 1.0];
    /// let mut c = [0.0f32; 4];
    /// let (a_v, b_v) = (MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2));
    /// reference::matmul(1.0, a_v, b_v, 0.0, MatMut::row_major(&mut c, 2, 2))?;
    /// assert_eq!(c, a); // A·I = A
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A contiguous column-major view.
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [0.0f32; 6];
    /// let m = MatMut::col_major(&mut c, 2, 3);
    /// assert_eq!((m.rs, m.cs), (1, 2));
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::{reference, MatMut, MatRef};
    /// let a = [1.0f32, 2.0, 3.0, 4.0];
    /// let mut c = vec![0.0f32; 4];
    /// // SAFETY: `c` holds 4 elements, outlives `out`, and nothing else touches it while `out` is used.
    /// let out = unsafe { MatMut::from_raw_parts(c.as_mut_ptr(), c.len(), 2, 2, 2, 1) };
    /// let id = [1.0f32, 0.0, 0.0, 1.0];
    /// reference::matmul(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&id, 2, 2), 0.0, out)?;
    /// assert_eq!(c, a);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::{reference, MatMut, MatRef};
    /// let a = [2.0f32];
    /// let mut c = [0.0f32];
    /// let mut out = MatMut::row_major(&mut c, 1, 1);
    /// // Use the same output view for two calls: C = a·a, then C = a·a + C.
    /// reference::matmul(1.0, MatRef::row_major(&a, 1, 1), MatRef::row_major(&a, 1, 1), 0.0, out.rb_mut())?;
    /// reference::matmul(1.0, MatRef::row_major(&a, 1, 1), MatRef::row_major(&a, 1, 1), 1.0, out.rb_mut())?;
    /// assert_eq!(c, [8.0]);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn rb_mut(&mut self) -> MatMut<'_, T> {
        MatMut {
            _life: PhantomData,
            ..*self
        }
    }

    /// Reborrow as a read-only view.
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [1.0f32, 2.0, 3.0, 4.0];
    /// let m = MatMut::row_major(&mut c, 2, 2);
    /// assert_eq!(m.as_ref().get(1, 0), Some(&3.0));
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::{reference, MatMut, MatRef};
    /// let a = [1.0f32, 2.0, 3.0, 4.0];
    /// let id = [1.0f32, 0.0, 0.0, 1.0];
    /// let mut c = [0.0f32; 4];
    /// // Writing A·I through the transposed view stores Aᵀ.
    /// let out = MatMut::row_major(&mut c, 2, 2).t();
    /// reference::matmul(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&id, 2, 2), 0.0, out)?;
    /// assert_eq!(c, [1.0, 3.0, 2.0, 4.0]);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
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
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [0.0f32; 8];
    /// assert_eq!(MatMut::row_major(&mut c, 2, 2).len(), 8);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the underlying slice is empty.
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c: [f32; 0] = [];
    /// assert!(MatMut::row_major(&mut c, 0, 0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base pointer.
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [0.0f32; 4];
    /// let p = c.as_mut_ptr();
    /// assert_eq!(MatMut::row_major(&mut c, 2, 2).as_mut_ptr(), p);
    /// ```
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

    /// A view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// As [`MatRef::from_raw_parts`].
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

    /// A mutable view over memory the caller vouches for.
    ///
    /// # Safety
    ///
    /// As [`MatMut::from_raw_parts`].
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

/// Strides of contiguous `[B, H, L, D]` memory. Wrapping arithmetic: an overflowing shape is
/// caught by validation, which recomputes extents with checked arithmetic.
///
/// ```
/// use huiyan_kernels::view::bhsd_strides;
/// assert_eq!(bhsd_strides([2, 4, 16, 8]), [512, 128, 8, 1]);
/// ```
pub const fn bhsd_strides(d: [usize; 4]) -> [usize; 4] {
    let s2 = d[3];
    let s1 = d[2].wrapping_mul(s2);
    let s0 = d[1].wrapping_mul(s1);
    [s0, s1, s2, 1]
}

/// Strides of contiguous `[B, L, H, D]` memory for logical dims `[B, H, L, D]`.
///
/// ```
/// use huiyan_kernels::view::bshd_strides;
/// // Logical [B, H, L, D] = [2, 4, 16, 8] stored as [B, L, H, D].
/// assert_eq!(bshd_strides([2, 4, 16, 8]), [512, 8, 32, 1]);
/// ```
pub const fn bshd_strides(d: [usize; 4]) -> [usize; 4] {
    let sh = d[3];
    let ss = d[1].wrapping_mul(d[3]);
    let sb = d[2].wrapping_mul(ss);
    [sb, sh, ss, 1]
}
