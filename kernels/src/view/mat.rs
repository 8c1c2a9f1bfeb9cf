//! [`MatRef`] and [`MatMut`]: strided matrix views (contract: [the module](super)).

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

impl<'a, T: crate::elem::Element> MatRef<'a, T> {
    /// The same view typed as `f32`, when `T` is `f32` (the element trait is sealed: its
    /// `DTYPE` names the type); `None` for a half-precision view.
    ///
    /// ```
    /// use huiyan_kernels::{elem::bf16, MatRef};
    /// assert!(MatRef::row_major(&[1.0f32; 4], 2, 2).as_f32().is_some());
    /// assert!(MatRef::row_major(&[bf16::ONE; 4], 2, 2).as_f32().is_none());
    /// ```
    pub fn as_f32(self) -> Option<MatRef<'a, f32>> {
        (T::DTYPE == crate::elem::Dtype::F32).then_some(MatRef {
            ptr: self.ptr as *const f32,
            len: self.len,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        })
    }
}

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
    /// through a [`MatMut`]/[`Tensor4Mut`](crate::Tensor4Mut) handed to the *same* operation: operations check
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

    /// Rows `..at` and rows `at..` as two views, without copying; `None` when `at > rows` or
    /// the slice does not reach row `at`.
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let (top, bottom) = MatRef::row_major(&a, 3, 2).split_at_row(1).unwrap();
    /// assert_eq!((top.rows, bottom.rows), (1, 2));
    /// assert_eq!(bottom.get(0, 1), Some(&4.0));
    /// assert!(MatRef::row_major(&a, 3, 2).split_at_row(4).is_none());
    /// ```
    pub fn split_at_row(self, at: usize) -> Option<(Self, Self)> {
        let off = split_offset(self.rows, self.cols, self.rs, self.len, at)?;
        let top = MatRef { rows: at, ..self };
        let bottom = MatRef {
            ptr: self.ptr.wrapping_add(off),
            len: self.len - off,
            rows: self.rows - at,
            ..self
        };
        Some((top, bottom))
    }

    /// Columns `..at` and columns `at..` as two views (see [`split_at_row`](Self::split_at_row)).
    ///
    /// ```
    /// use huiyan_kernels::MatRef;
    /// let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let (left, right) = MatRef::row_major(&a, 2, 3).split_at_col(2).unwrap();
    /// assert_eq!((left.cols, right.cols), (2, 1));
    /// assert_eq!(right.get(1, 0), Some(&6.0));
    /// ```
    pub fn split_at_col(self, at: usize) -> Option<(Self, Self)> {
        let (l, r) = self.t().split_at_row(at)?;
        Some((l.t(), r.t()))
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

impl<'a, T: crate::elem::Element> MatMut<'a, T> {
    /// The same view typed as `f32`, when `T` is `f32` (as [`MatRef::as_f32`]); the view
    /// itself back otherwise.
    ///
    /// ```
    /// use huiyan_kernels::{elem::f16, MatMut};
    /// let mut y = [0.0f32; 4];
    /// assert!(MatMut::row_major(&mut y, 2, 2).as_f32().is_ok());
    /// let mut h = [f16::ZERO; 4];
    /// assert!(MatMut::row_major(&mut h, 2, 2).as_f32().is_err());
    /// ```
    pub fn as_f32(self) -> Result<MatMut<'a, f32>, Self> {
        if T::DTYPE != crate::elem::Dtype::F32 {
            return Err(self);
        }
        Ok(MatMut {
            ptr: self.ptr as *mut f32,
            len: self.len,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
            _life: PhantomData,
        })
    }
}

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

    /// Rows `..at` and rows `at..` as two mutable views over disjoint memory, without
    /// copying; `None` when `at > rows`, when the slice does not reach row `at`, or when rows
    /// interleave in memory (`(cols − 1)·cs ≥ rs`, e.g. a column-major view: split its
    /// columns instead).
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [0.0f32; 6];
    /// let (top, mut bottom) = MatMut::row_major(&mut c, 3, 2).split_at_row(1).unwrap();
    /// assert_eq!((top.rows, bottom.rows), (1, 2));
    /// bottom.as_mut_ptr(); // each half is the only access to its rows
    /// // Rows of a column-major view interleave: no row split.
    /// assert!(MatMut::col_major(&mut c, 3, 2).split_at_row(1).is_none());
    /// ```
    pub fn split_at_row(self, at: usize) -> Option<(Self, Self)> {
        let off = split_offset(self.rows, self.cols, self.rs, self.len, at)?;
        // The top rows end before row `at` starts: element (i, j) with i < at lies at
        // i·rs + j·cs ≤ (at − 1)·rs + (cols − 1)·cs < at·rs.
        if at > 0 && self.cols > 1 && self.cols.checked_sub(1)?.checked_mul(self.cs)? >= self.rs {
            return None;
        }
        let top = MatMut {
            len: off,
            rows: at,
            _life: PhantomData,
            ..self
        };
        let bottom = MatMut {
            ptr: self.ptr.wrapping_add(off),
            len: self.len - off,
            rows: self.rows - at,
            ..self
        };
        Some((top, bottom))
    }

    /// Columns `..at` and columns `at..` as two mutable views over disjoint memory (see
    /// [`split_at_row`](Self::split_at_row); here columns must not interleave).
    ///
    /// ```
    /// use huiyan_kernels::MatMut;
    /// let mut c = [0.0f32; 6];
    /// let (left, right) = MatMut::col_major(&mut c, 2, 3).split_at_col(1).unwrap();
    /// assert_eq!((left.cols, right.cols), (1, 2));
    /// ```
    pub fn split_at_col(self, at: usize) -> Option<(Self, Self)> {
        let (l, r) = self.t().split_at_row(at)?;
        Some((l.t(), r.t()))
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

/// Offset of row `at` of a view of `rows × cols` with row stride `rs` over `len` elements: the
/// start of the bottom part of a split (`len` itself when `at = rows`), or `None` when
/// `at > rows` or the slice ends before row `at`.
fn split_offset(rows: usize, cols: usize, rs: usize, len: usize, at: usize) -> Option<usize> {
    if at > rows {
        return None;
    }
    if cols == 0 {
        return Some(0); // no elements: both parts are empty views
    }
    let off = if at == rows { len } else { at.checked_mul(rs)? };
    (off <= len).then_some(off)
}
