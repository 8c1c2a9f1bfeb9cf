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

mod mat;
mod tensor;

pub use mat::{MatMut, MatRef};
pub use tensor::{Tensor4Mut, Tensor4Ref};

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
