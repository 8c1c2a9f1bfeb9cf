//! All validation, in one place.
//!
//! Every entry point of both crates (reference, fast kernels, the std API, the layer) calls one
//! of the `check_*` functions here before it touches memory. They use checked arithmetic only,
//! never index, and return the first [`Error`] found; nothing is written before they pass, which
//! is what makes "on `Err` the output is untouched" true everywhere.
//!
//! Rules shared by all operations:
//! * a slice must cover `1 + Σ (dimᵢ − 1)·strideᵢ` elements (nothing when a dimension is 0);
//! * an output must map distinct elements to distinct addresses ([`Error::AliasingStrides`]);
//! * an output's address range must not intersect any input's ([`Error::Overlap`]);
//! * a broadcast operand (mask, bias) has each axis equal to the full size or to 1.

use crate::error::{Dim, Error, Operand};
use crate::options::{AttentionOptions, SoftmaxOptions};
use crate::view::{MatMut, MatRef, Tensor4Mut, Tensor4Ref};

/// A half-open byte-address range `[lo, hi)` covered by a view (empty when `lo == hi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    lo: usize,
    hi: usize,
}

impl Span {
    const EMPTY: Span = Span { lo: 0, hi: 0 };

    fn new<T>(ptr: *const T, elems: usize) -> Span {
        if elems == 0 {
            return Span::EMPTY;
        }
        let lo = ptr as usize;
        // Cannot overflow: the caller's slice (or raw-parts promise) covers `elems` elements.
        Span {
            lo,
            hi: lo.saturating_add(elems.saturating_mul(core::mem::size_of::<T>())),
        }
    }

    fn intersects(self, other: Span) -> bool {
        self.lo < self.hi && other.lo < other.hi && self.lo < other.hi && other.lo < self.hi
    }
}

/// Elements addressed by `dims`/`strides`: `1 + Σ (dᵢ − 1)·sᵢ`, or 0 when any `dᵢ = 0`.
/// `None` when the sum overflows `usize`.
///
/// ```
/// use huiyan_kernels::shape::extent;
/// // A row-major 2×3 matrix addresses offsets 0..=5; a padded one (row stride 4) 0..=6.
/// assert_eq!(extent(&[2, 3], &[3, 1]), Some(6));
/// assert_eq!(extent(&[2, 3], &[4, 1]), Some(7));
/// assert_eq!(extent(&[0, 3], &[3, 1]), Some(0));
/// assert_eq!(extent(&[usize::MAX, 2], &[2, 1]), None);
/// ```
pub fn extent(dims: &[usize], strides: &[usize]) -> Option<usize> {
    if dims.contains(&0) {
        return Some(0);
    }
    let mut last = 0usize;
    for (&d, &s) in dims.iter().zip(strides) {
        last = last.checked_add((d - 1).checked_mul(s)?)?;
    }
    last.checked_add(1)
}

/// Product of dimensions, `None` on overflow.
///
/// ```
/// use huiyan_kernels::shape::product;
/// assert_eq!(product(&[2, 3, 4]), Some(24));
/// assert_eq!(product(&[]), Some(1));
/// assert_eq!(product(&[usize::MAX, 2]), None);
/// ```
pub fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn covered<T>(
    op: Operand,
    ptr: *const T,
    len: usize,
    dims: &[usize],
    strides: &[usize],
) -> Result<Span, Error> {
    // The element count must fit too: kernels size loops and scratch from it.
    product(dims).ok_or(Error::Overflow { operand: op })?;
    let needed = extent(dims, strides).ok_or(Error::Overflow { operand: op })?;
    if needed > len {
        return Err(Error::SliceTooShort {
            operand: op,
            needed,
            got: len,
        });
    }
    Span::new(ptr, needed)
        .lo
        .checked_add(needed.saturating_mul(core::mem::size_of::<T>()))
        .ok_or(Error::Overflow { operand: op })?;
    Ok(Span::new(ptr, needed))
}

/// Injectivity of `index ↦ Σ iₖ·sₖ`: sort the axes of size > 1 by stride; each stride must be at
/// least the extent spanned by all smaller ones. (Sufficient, and what every real layout meets.)
fn no_self_alias(op: Operand, dims: &[usize], strides: &[usize]) -> Result<(), Error> {
    // An empty view addresses nothing, so nothing can alias (a row-major `m × 0` matrix has
    // `rs = 0`, and that is fine).
    if dims.contains(&0) {
        return Ok(());
    }
    let mut axes = [(0usize, 0usize); 4];
    let mut n = 0;
    for (&d, &s) in dims.iter().zip(strides) {
        if d > 1 {
            axes[n] = (s, d);
            n += 1;
        }
    }
    let axes = &mut axes[..n];
    axes.sort_unstable();
    let mut reach = 1usize; // elements spanned by the axes seen so far
    for &(s, d) in axes.iter() {
        if s < reach {
            let mut st = [0usize; 4];
            st[..strides.len()].copy_from_slice(strides);
            return Err(Error::AliasingStrides {
                operand: op,
                strides: st,
            });
        }
        reach = (d - 1)
            .checked_mul(s)
            .and_then(|x| x.checked_add(reach))
            .ok_or(Error::Overflow { operand: op })?;
    }
    Ok(())
}

/// Validates an input matrix view; returns its address range.
///
/// ```
/// use huiyan_kernels::{shape::check_mat_ref, Error, MatRef, Operand};
/// let a = [0.0f32; 5];
/// assert!(check_mat_ref(Operand::A, &MatRef::row_major(&a[..], 1, 5)).is_ok());
/// let err = check_mat_ref(Operand::A, &MatRef::row_major(&a[..], 2, 3));
/// assert_eq!(err, Err(Error::SliceTooShort { operand: Operand::A, needed: 6, got: 5 }));
/// ```
pub fn check_mat_ref<T>(op: Operand, v: &MatRef<'_, T>) -> Result<Span, Error> {
    covered(op, v.ptr, v.len, &[v.rows, v.cols], &[v.rs, v.cs])
}

/// Validates an output matrix view (coverage and no aliasing); returns its address range.
///
/// ```
/// use huiyan_kernels::{shape::check_mat_mut, Error, MatMut, Operand};
/// let mut c = [0.0f32; 4];
/// assert!(check_mat_mut(Operand::C, &MatMut::row_major(&mut c[..], 2, 2)).is_ok());
/// // Row stride 0: both rows would be written to the same memory.
/// let aliased = MatMut::new(&mut c[..], 2, 2, 0, 1);
/// assert!(matches!(check_mat_mut(Operand::C, &aliased), Err(Error::AliasingStrides { .. })));
/// ```
pub fn check_mat_mut<T>(op: Operand, v: &MatMut<'_, T>) -> Result<Span, Error> {
    let span = covered(op, v.ptr, v.len, &[v.rows, v.cols], &[v.rs, v.cs])?;
    no_self_alias(op, &[v.rows, v.cols], &[v.rs, v.cs])?;
    Ok(span)
}

/// Validates an input 4-d view; returns its address range.
///
/// ```
/// use huiyan_kernels::{shape::check_t4_ref, Error, Operand, Tensor4Ref};
/// let q = [0.0f32; 16];
/// assert!(check_t4_ref(Operand::Q, &Tensor4Ref::bhsd(&q[..], [1, 2, 2, 4])).is_ok());
/// let short = Tensor4Ref::bhsd(&q[..], [1, 2, 4, 4]);
/// assert!(matches!(check_t4_ref(Operand::Q, &short), Err(Error::SliceTooShort { needed: 32, .. })));
/// ```
pub fn check_t4_ref<T>(op: Operand, v: &Tensor4Ref<'_, T>) -> Result<Span, Error> {
    covered(op, v.ptr, v.len, &v.dims, &v.strides)
}

/// Validates an output 4-d view; returns its address range.
///
/// ```
/// use huiyan_kernels::{shape::check_t4_mut, Error, Operand, Tensor4Mut};
/// let mut o = [0.0f32; 16];
/// assert!(check_t4_mut(Operand::O, &Tensor4Mut::bhsd(&mut o[..], [1, 2, 2, 4])).is_ok());
/// // Head stride 0 with 2 heads: the heads would overwrite each other.
/// let aliased = Tensor4Mut::new(&mut o[..], [1, 2, 2, 4], [16, 0, 4, 1]);
/// assert!(matches!(check_t4_mut(Operand::O, &aliased), Err(Error::AliasingStrides { .. })));
/// ```
pub fn check_t4_mut<T>(op: Operand, v: &Tensor4Mut<'_, T>) -> Result<Span, Error> {
    let span = covered(op, v.ptr, v.len, &v.dims, &v.strides)?;
    no_self_alias(op, &v.dims, &v.strides)?;
    Ok(span)
}

/// Checks that output range `out` does not intersect input range `inp`.
///
/// ```
/// use huiyan_kernels::shape::{check_disjoint, check_mat_mut, check_mat_ref};
/// use huiyan_kernels::{Error, MatMut, MatRef, Operand};
/// let mut buf = vec![0.0f32; 8];
/// let p = buf.as_mut_ptr();
/// // SAFETY: both views lie inside `buf`, which outlives them; they are only validated here,
/// // never read or written.
/// let (a, c) = unsafe {
///     let a = MatRef::from_raw_parts(p as *const f32, 8, 4, 2, 2, 1); // all 8 elements
///     let c = MatMut::from_raw_parts(p.add(4), 4, 2, 2, 2, 1); // the last 4
///     (a, c)
/// };
/// let (sa, sc) = (check_mat_ref(Operand::A, &a)?, check_mat_mut(Operand::C, &c)?);
/// let err = check_disjoint(Operand::C, sc, Operand::A, sa);
/// assert_eq!(err, Err(Error::Overlap { output: Operand::C, input: Operand::A }));
/// // A's first two rows (elements 0..4) do not overlap C.
/// let top = check_mat_ref(Operand::A, &MatRef::row_major(&buf[..4], 2, 2))?;
/// assert!(check_disjoint(Operand::C, sc, Operand::A, top).is_ok());
/// # Ok::<(), Error>(())
/// ```
pub fn check_disjoint(output: Operand, out: Span, input: Operand, inp: Span) -> Result<(), Error> {
    if out.intersects(inp) {
        Err(Error::Overlap { output, input })
    } else {
        Ok(())
    }
}

/// Checks a caller-provided workspace length against what an operation needs.
///
/// ```
/// use huiyan_kernels::{shape::check_workspace, Error};
/// assert!(check_workspace(64, 100).is_ok());
/// assert_eq!(check_workspace(64, 10), Err(Error::WorkspaceTooSmall { needed: 64, got: 10 }));
/// ```
pub fn check_workspace(needed: usize, got: usize) -> Result<(), Error> {
    if got < needed {
        Err(Error::WorkspaceTooSmall { needed, got })
    } else {
        Ok(())
    }
}

fn check_slice_len<T>(op: Operand, s: &[T], needed: usize) -> Result<Span, Error> {
    if s.len() < needed {
        return Err(Error::SliceTooShort {
            operand: op,
            needed,
            got: s.len(),
        });
    }
    Ok(Span::new(s.as_ptr(), needed))
}

fn check_broadcast<T>(op: Operand, dims: &[usize], full: &[usize]) -> Result<(), Error> {
    let ok = dims.iter().zip(full).all(|(&d, &f)| d == f || d == 1);
    if ok {
        return Ok(());
    }
    let mut expected = [1usize; 4];
    let mut got = [1usize; 4];
    let off = 4 - full.len();
    expected[off..].copy_from_slice(full);
    got[off..].copy_from_slice(dims);
    let _ = core::marker::PhantomData::<T>;
    Err(Error::BroadcastShape {
        operand: op,
        expected,
        got,
    })
}

/// Validates `C ← α·A·B + β·C`: `A` is `m × k`, `B` is `k × n`, `C` is `m × n`.
///
/// Returns `(m, n, k)`. Zero dimensions are allowed (BLAS semantics): `m = 0` or `n = 0` is a
/// no-op; `k = 0` gives `C ← β·C` (or `C ← 0` when `β = 0`).
///
/// ```
/// use huiyan_kernels::{shape::check_gemm, Dim, Error, MatMut, MatRef};
/// let (a, b) = ([0.0f32; 6], [0.0f32; 12]);
/// let mut c = [0.0f32; 8];
/// let (av, bv) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 4));
/// assert_eq!(check_gemm(&av, &bv, &MatMut::row_major(&mut c, 2, 4)), Ok((2, 4, 3)));
/// let bad = MatRef::row_major(&b, 4, 3); // inner dimension 4 ≠ 3
/// let err = check_gemm(&av, &bad, &MatMut::row_major(&mut c, 2, 3));
/// assert_eq!(err, Err(Error::DimMismatch { dim: Dim::K, expected: 3, got: 4 }));
/// ```
pub fn check_gemm(
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    c: &MatMut<'_>,
) -> Result<(usize, usize, usize), Error> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(Error::DimMismatch {
            dim: Dim::K,
            expected: k,
            got: b.rows,
        });
    }
    if c.rows != m {
        return Err(Error::DimMismatch {
            dim: Dim::M,
            expected: m,
            got: c.rows,
        });
    }
    if c.cols != n {
        return Err(Error::DimMismatch {
            dim: Dim::N,
            expected: n,
            got: c.cols,
        });
    }
    let sa = check_mat_ref(Operand::A, a)?;
    let sb = check_mat_ref(Operand::B, b)?;
    let sc = check_mat_mut(Operand::C, c)?;
    check_disjoint(Operand::C, sc, Operand::A, sa)?;
    check_disjoint(Operand::C, sc, Operand::B, sb)?;
    Ok((m, n, k))
}

fn check_finite_nonzero_scale(scale: f32) -> Result<(), Error> {
    if scale.is_finite() && scale != 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidScale { scale })
    }
}

fn unit_last_axis(op: Operand, len_last: usize, stride_last: usize) -> Result<(), Error> {
    if len_last > 1 && stride_last != 1 {
        Err(Error::NonUnitStride {
            operand: op,
            stride: stride_last,
        })
    } else {
        Ok(())
    }
}

/// Validates a row softmax of `x` (`rows × cols`) into `y` (`None`: in place in `x`'s memory,
/// passed as `x_out`), with its options and optional per-row logsumexp output.
///
/// Rows must be contiguous (unit column stride) in `x`, `y`, the mask and the bias; the mask and
/// bias broadcast (`1` or the full size on each axis); `scale` is finite and non-zero; `lse` has
/// at least `rows` elements.
///
/// ```
/// use huiyan_kernels::{shape::check_softmax, softmax::SoftmaxOptions, Error, MatMut, MatRef};
/// let x = [0.0f32; 6];
/// let mut y = [0.0f32; 6];
/// let opts = SoftmaxOptions::default();
/// let ok = check_softmax(&MatRef::row_major(&x, 2, 3), Some(&MatMut::row_major(&mut y, 2, 3)), &opts, None);
/// assert_eq!(ok, Ok((2, 3)));
/// let zero = SoftmaxOptions { scale: 0.0, ..opts };
/// let err = check_softmax(&MatRef::row_major(&x, 2, 3), None, &zero, None);
/// assert_eq!(err, Err(Error::InvalidScale { scale: 0.0 }));
/// ```
pub fn check_softmax(
    x: &MatRef<'_>,
    y: Option<&MatMut<'_>>,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&[f32]>,
) -> Result<(usize, usize), Error> {
    let (rows, cols) = (x.rows, x.cols);
    let out_op = if y.is_some() { Operand::Y } else { Operand::X };
    let sx = check_mat_ref(Operand::X, x)?;
    unit_last_axis(Operand::X, cols, x.cs)?;
    let mut sy = sx;
    if let Some(y) = y {
        if y.rows != rows {
            return Err(Error::DimMismatch {
                dim: Dim::Rows,
                expected: rows,
                got: y.rows,
            });
        }
        if y.cols != cols {
            return Err(Error::DimMismatch {
                dim: Dim::Cols,
                expected: cols,
                got: y.cols,
            });
        }
        sy = check_mat_mut(Operand::Y, y)?;
        unit_last_axis(Operand::Y, cols, y.cs)?;
        check_disjoint(Operand::Y, sy, Operand::X, sx)?;
    } else {
        // In place: x is also the output, so it must not alias itself.
        no_self_alias(Operand::X, &[rows, cols], &[x.rs, x.cs])?;
    }
    check_finite_nonzero_scale(opts.scale)?;
    if let Some(m) = &opts.mask {
        check_broadcast::<bool>(Operand::Mask, &[m.rows, m.cols], &[rows, cols])?;
        let sm = check_mat_ref(Operand::Mask, m)?;
        unit_last_axis(Operand::Mask, m.cols, m.cs)?;
        check_disjoint(out_op, sy, Operand::Mask, sm)?;
    }
    if let Some(b) = &opts.bias {
        check_broadcast::<f32>(Operand::Bias, &[b.rows, b.cols], &[rows, cols])?;
        let sb = check_mat_ref(Operand::Bias, b)?;
        unit_last_axis(Operand::Bias, b.cols, b.cs)?;
        check_disjoint(out_op, sy, Operand::Bias, sb)?;
    }
    if let Some(l) = lse {
        let sl = check_slice_len(Operand::Lse, l, rows)?;
        check_disjoint(Operand::Lse, sl, Operand::X, sx)?;
        check_disjoint(Operand::Lse, sl, out_op, sy)?;
    }
    Ok((rows, cols))
}

/// Validates an element-wise vector call (`exp`): the output has as many elements as the input.
/// (`&[f32]` and `&mut [f32]` cannot overlap, so no address check is needed.)
///
/// ```
/// use huiyan_kernels::{shape::check_exp, Error};
/// assert!(check_exp(&[0.0; 3], &[0.0; 3]).is_ok());
/// assert!(matches!(check_exp(&[0.0; 3], &[0.0; 2]), Err(Error::DimMismatch { .. })));
/// ```
pub fn check_exp(x: &[f32], y: &[f32]) -> Result<(), Error> {
    if y.len() != x.len() {
        return Err(Error::DimMismatch {
            dim: Dim::Cols,
            expected: x.len(),
            got: y.len(),
        });
    }
    Ok(())
}

/// Shape of a validated attention call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttnDims {
    /// Batch size `B`.
    pub batch: usize,
    /// Query heads `Hq`.
    pub heads_q: usize,
    /// Key/value heads `Hkv` (divides `Hq`).
    pub heads_kv: usize,
    /// Query length `Lq`.
    pub len_q: usize,
    /// Key/value length `Lk`.
    pub len_kv: usize,
    /// Query/key head dimension `dk`.
    pub dim_qk: usize,
    /// Value head dimension `dv`.
    pub dim_v: usize,
    /// The scale actually used (`opts.scale` or `1/√dk`).
    pub scale: f32,
}

impl AttnDims {
    /// Query heads per kv head (`Hq / Hkv`): query head `h` reads kv head `h / group()`.
    ///
    /// ```
    /// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention, Tensor4Mut, Tensor4Ref};
    /// let (q, kv) = (vec![0.0f32; 8 * 4], vec![0.0f32; 2 * 4]);
    /// let mut o = vec![0.0f32; 8 * 4];
    /// let d = check_attention(
    ///     &Tensor4Ref::bhsd(&q, [1, 8, 1, 4]),
    ///     &Tensor4Ref::bhsd(&kv, [1, 2, 1, 4]),
    ///     &Tensor4Ref::bhsd(&kv, [1, 2, 1, 4]),
    ///     &Tensor4Mut::bhsd(&mut o, [1, 8, 1, 4]),
    ///     &AttentionOptions::default(),
    ///     None,
    /// )?;
    /// assert_eq!(d.group(), 4); // 8 query heads share 2 kv heads
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn group(&self) -> usize {
        self.heads_q / self.heads_kv
    }
}

/// Validates an attention call (see [`crate::attention`] for the contract).
///
/// ```
/// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention, Error};
/// use huiyan_kernels::{Tensor4Mut, Tensor4Ref};
/// let (q, k, v) = (vec![0.0f32; 2 * 3 * 16], vec![0.0f32; 5 * 16], vec![0.0f32; 5 * 8]);
/// let mut o = vec![0.0f32; 2 * 3 * 8];
/// let (qv, kv, vv) = (
///     Tensor4Ref::bhsd(&q, [1, 2, 3, 16]),
///     Tensor4Ref::bhsd(&k, [1, 1, 5, 16]),
///     Tensor4Ref::bhsd(&v, [1, 1, 5, 8]),
/// );
/// let opts = AttentionOptions::default();
/// let d = check_attention(&qv, &kv, &vv, &Tensor4Mut::bhsd(&mut o, [1, 2, 3, 8]), &opts, None)?;
/// assert_eq!((d.len_q, d.len_kv, d.dim_qk, d.dim_v), (3, 5, 16, 8));
/// assert_eq!(d.scale, 0.25); // 1/√16
/// let bad = AttentionOptions { window: Some(0), ..opts };
/// let err = check_attention(&qv, &kv, &vv, &Tensor4Mut::bhsd(&mut o, [1, 2, 3, 8]), &bad, None);
/// assert_eq!(err, Err(Error::ZeroWindow));
/// # Ok::<(), Error>(())
/// ```
pub fn check_attention(
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    v: &Tensor4Ref<'_>,
    o: &Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
    lse: Option<&[f32]>,
) -> Result<AttnDims, Error> {
    let [batch, heads_q, len_q, dim_qk] = q.dims;
    let [kb, heads_kv, len_kv, kd] = k.dims;
    let [vb, vh, vl, dim_v] = v.dims;
    let mismatch = |dim, expected, got| Err(Error::DimMismatch { dim, expected, got });
    if kb != batch {
        return mismatch(Dim::Batch, batch, kb);
    }
    if vb != batch {
        return mismatch(Dim::Batch, batch, vb);
    }
    if kd != dim_qk {
        return mismatch(Dim::DimQk, dim_qk, kd);
    }
    if vh != heads_kv {
        return mismatch(Dim::HeadsKv, heads_kv, vh);
    }
    if vl != len_kv {
        return mismatch(Dim::LenKv, len_kv, vl);
    }
    let od = [batch, heads_q, len_q, dim_v];
    for (ax, dim) in [Dim::Batch, Dim::HeadsQ, Dim::LenQ, Dim::DimV]
        .into_iter()
        .enumerate()
    {
        if o.dims[ax] != od[ax] {
            return mismatch(dim, od[ax], o.dims[ax]);
        }
    }
    if dim_qk == 0 {
        return Err(Error::ZeroDim { dim: Dim::DimQk });
    }
    if dim_v == 0 {
        return Err(Error::ZeroDim { dim: Dim::DimV });
    }
    check_kv_heads(heads_q, heads_kv)?;
    let sq = check_t4_ref(Operand::Q, q)?;
    let sk = check_t4_ref(Operand::K, k)?;
    let sv = check_t4_ref(Operand::V, v)?;
    let so = check_t4_mut(Operand::O, o)?;
    for (op, s) in [(Operand::Q, sq), (Operand::K, sk), (Operand::V, sv)] {
        check_disjoint(Operand::O, so, op, s)?;
    }
    let scale = check_attention_options(
        opts,
        [batch, heads_q, len_q, len_kv],
        dim_qk,
        Operand::O,
        so,
    )?;
    if let Some(l) = lse {
        let rows = product(&[batch, heads_q, len_q]).ok_or(Error::Overflow {
            operand: Operand::Lse,
        })?;
        let sl = check_slice_len(Operand::Lse, l, rows)?;
        for (op, s) in [
            (Operand::Q, sq),
            (Operand::K, sk),
            (Operand::V, sv),
            (Operand::O, so),
        ] {
            check_disjoint(Operand::Lse, sl, op, s)?;
        }
    }
    Ok(AttnDims {
        batch,
        heads_q,
        heads_kv,
        len_q,
        len_kv,
        dim_qk,
        dim_v,
        scale,
    })
}

/// Validates an [`attention_weights`](crate::attention::attention_weights) call: `q` and `k`
/// as in [`check_attention`], the weights `out` of dims `[B, Hq, Lq, Lk]` (per head) or
/// `[B, 1, Lq, Lk]` (averaged over heads), disjoint from every input. The returned
/// [`AttnDims::dim_v`] is `Lk`: the weights are the output of attention with `V = I`.
///
/// ```
/// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention_weights};
/// use huiyan_kernels::{Dim, Error, Tensor4Mut, Tensor4Ref};
/// let (q, k) = (vec![0.0f32; 2 * 3 * 4], vec![0.0f32; 5 * 4]);
/// let mut w = vec![0.0f32; 2 * 3 * 5];
/// let (qv, kv) = (Tensor4Ref::bhsd(&q, [1, 2, 3, 4]), Tensor4Ref::bhsd(&k, [1, 1, 5, 4]));
/// let opts = AttentionOptions::default();
/// let d = check_attention_weights(&qv, &kv, &Tensor4Mut::bhsd(&mut w, [1, 2, 3, 5]), &opts)?;
/// assert_eq!((d.len_q, d.len_kv, d.dim_v), (3, 5, 5));
/// let bad = check_attention_weights(&qv, &kv, &Tensor4Mut::bhsd(&mut w, [1, 2, 3, 4]), &opts);
/// assert_eq!(bad, Err(Error::DimMismatch { dim: Dim::LenKv, expected: 5, got: 4 }));
/// # Ok::<(), Error>(())
/// ```
pub fn check_attention_weights(
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    out: &Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
) -> Result<AttnDims, Error> {
    let [batch, heads_q, len_q, dim_qk] = q.dims;
    let [kb, heads_kv, len_kv, kd] = k.dims;
    let mismatch = |dim, expected, got| Err(Error::DimMismatch { dim, expected, got });
    if kb != batch {
        return mismatch(Dim::Batch, batch, kb);
    }
    if kd != dim_qk {
        return mismatch(Dim::DimQk, dim_qk, kd);
    }
    // A head axis of 1 asks for the average over heads (the same thing when `Hq = 1`).
    let heads_out = if out.dims[1] == 1 { 1 } else { heads_q };
    let od = [batch, heads_out, len_q, len_kv];
    for (ax, dim) in [Dim::Batch, Dim::HeadsQ, Dim::LenQ, Dim::LenKv]
        .into_iter()
        .enumerate()
    {
        if out.dims[ax] != od[ax] {
            return mismatch(dim, od[ax], out.dims[ax]);
        }
    }
    if dim_qk == 0 {
        return Err(Error::ZeroDim { dim: Dim::DimQk });
    }
    check_kv_heads(heads_q, heads_kv)?;
    let sq = check_t4_ref(Operand::Q, q)?;
    let sk = check_t4_ref(Operand::K, k)?;
    let so = check_t4_mut(Operand::Weights, out)?;
    for (op, s) in [(Operand::Q, sq), (Operand::K, sk)] {
        check_disjoint(Operand::Weights, so, op, s)?;
    }
    let full = [batch, heads_q, len_q, len_kv];
    let scale = check_attention_options(opts, full, dim_qk, Operand::Weights, so)?;
    Ok(AttnDims {
        batch,
        heads_q,
        heads_kv,
        len_q,
        len_kv,
        dim_qk,
        dim_v: len_kv,
        scale,
    })
}

/// `Hkv ≥ 1` and `Hq % Hkv == 0` (GQA: each kv head serves `Hq / Hkv` query heads).
fn check_kv_heads(heads_q: usize, heads_kv: usize) -> Result<(), Error> {
    if heads_kv == 0 {
        return Err(Error::ZeroDim { dim: Dim::HeadsKv });
    }
    if !heads_q.is_multiple_of(heads_kv) {
        return Err(Error::HeadsNotDivisible { heads_q, heads_kv });
    }
    Ok(())
}

/// The option checks shared by [`check_attention`] and [`check_attention_weights`]: scale,
/// softcap, window, and every optional operand (its shape, its extent, and that the output
/// span `so` of `out_op` does not overlap it). `full` is `[B, Hq, Lq, Lk]`. Returns the scale
/// in use.
fn check_attention_options(
    opts: &AttentionOptions<'_>,
    full: [usize; 4],
    dim_qk: usize,
    out_op: Operand,
    so: Span,
) -> Result<f32, Error> {
    let [batch, heads_q, _, len_kv] = full;
    let scale = match opts.scale {
        Some(s) => s,
        None => (1.0 / libm::sqrt(dim_qk as f64)) as f32,
    };
    check_finite_nonzero_scale(scale)?;
    if let Some(c) = opts.softcap {
        if !(c.is_finite() && c > 0.0) {
            return Err(Error::InvalidSoftcap { softcap: c });
        }
    }
    if opts.window == Some(0) {
        return Err(Error::ZeroWindow);
    }
    if let Some(m) = &opts.attn_mask {
        check_broadcast::<bool>(Operand::Mask, &m.dims, &full)?;
        let sm = check_t4_ref(Operand::Mask, m)?;
        check_disjoint(out_op, so, Operand::Mask, sm)?;
    }
    if let Some(b) = &opts.attn_bias {
        check_broadcast::<f32>(Operand::Bias, &b.dims, &full)?;
        let sb = check_t4_ref(Operand::Bias, b)?;
        check_disjoint(out_op, so, Operand::Bias, sb)?;
    }
    if let Some(p) = opts.key_padding_lens {
        let sp = check_slice_len(Operand::KeyPadding, p, batch)?;
        check_disjoint(out_op, so, Operand::KeyPadding, sp)?;
        if let Some((b, &len)) = p[..batch].iter().enumerate().find(|(_, &l)| l > len_kv) {
            return Err(Error::PaddingTooLong {
                batch: b,
                len,
                len_kv,
            });
        }
    }
    if let Some(s) = opts.alibi_slopes {
        let ss = check_slice_len(Operand::AlibiSlopes, s, heads_q)?;
        check_disjoint(out_op, so, Operand::AlibiSlopes, ss)?;
    }
    if let Some(s) = opts.sinks {
        let ss = check_slice_len(Operand::Sinks, s, heads_q)?;
        check_disjoint(out_op, so, Operand::Sinks, ss)?;
    }
    Ok(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_counts_last_offset_plus_one() {
        assert_eq!(extent(&[2, 3], &[3, 1]), Some(6));
        assert_eq!(extent(&[2, 3], &[1, 2]), Some(6));
        assert_eq!(extent(&[0, 3], &[3, 1]), Some(0));
        assert_eq!(extent(&[usize::MAX, 3], &[3, 1]), None);
    }

    #[test]
    fn aliasing_strides_are_caught() {
        assert!(no_self_alias(Operand::C, &[4, 4], &[4, 1]).is_ok());
        assert!(no_self_alias(Operand::C, &[4, 4], &[1, 4]).is_ok());
        assert!(no_self_alias(Operand::C, &[4, 4], &[0, 1]).is_err());
        assert!(no_self_alias(Operand::C, &[4, 4], &[2, 1]).is_err());
        assert!(no_self_alias(Operand::C, &[1, 4], &[0, 1]).is_ok());
        // Regression: empty outputs were rejected (row-major m × 0 has rs = 0).
        assert!(no_self_alias(Operand::C, &[3, 0], &[0, 1]).is_ok());
        assert!(no_self_alias(Operand::O, &[2, 2, 0, 2], &[0, 0, 2, 1]).is_ok());
    }
}
