//! The checks every operation shares: the address range a view covers ([`Span`]), its extent,
//! the view checks, disjointness of an output from an input, broadcast shapes, workspace and
//! scale.

use crate::error::{Error, Operand};
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
pub(super) fn no_self_alias(op: Operand, dims: &[usize], strides: &[usize]) -> Result<(), Error> {
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

pub(super) fn check_slice_len<T>(op: Operand, s: &[T], needed: usize) -> Result<Span, Error> {
    if s.len() < needed {
        return Err(Error::SliceTooShort {
            operand: op,
            needed,
            got: s.len(),
        });
    }
    Ok(Span::new(s.as_ptr(), needed))
}

pub(super) fn check_broadcast<T>(op: Operand, dims: &[usize], full: &[usize]) -> Result<(), Error> {
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

pub(super) fn check_finite_nonzero_scale(scale: f32) -> Result<(), Error> {
    if scale.is_finite() && scale != 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidScale { scale })
    }
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
