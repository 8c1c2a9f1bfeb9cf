//! Element types of stored inputs: `f32`, and the half-precision storage types [`bf16`] and
//! [`f16`](struct@f16) of the `half` crate.
//!
//! Arithmetic is always `f32`. A half-precision input is widened to `f32` where the kernel reads
//! it (while packing, or a block at a time into a buffer in L1), so a kernel that streams its
//! input from memory reads half the bytes. Widening is exact: every `bf16` and every `f16`
//! (subnormals and infinities included) is an `f32`; a NaN stays a NaN of the same sign (a
//! signalling one may come back quiet, as from F16C and from `half`).
//!
//! ```
//! use huiyan_kernels::elem::{bf16, f16, Dtype, Element};
//! assert_eq!(<f16 as Element>::DTYPE, Dtype::F16);
//! assert_eq!(f16::from_f32(0.5).widen(), 0.5);
//! assert_eq!(bf16::from_f32(-3.0).widen(), -3.0);
//! assert_eq!(Dtype::Bf16.size(), 2);
//! ```

pub use half::{bf16, f16};

/// The element type of a stored input, as a value (what the kernels branch on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// IEEE-754 binary32.
    F32,
    /// bfloat16: the upper half of a binary32 (8 exponent bits, 7 fraction bits).
    Bf16,
    /// IEEE-754 binary16 (5 exponent bits, 10 fraction bits).
    F16,
}

impl Dtype {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::Bf16 | Dtype::F16 => 2,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for super::bf16 {}
    impl Sealed for super::f16 {}
}

/// A storage element type the kernels read: `f32`, [`bf16`] or [`f16`](struct@f16) (sealed).
pub trait Element: Copy + Send + Sync + sealed::Sealed + 'static {
    /// This type as a [`Dtype`].
    const DTYPE: Dtype;
    /// The value as an `f32`, exactly.
    fn widen(self) -> f32;
    /// `x` rounded to this type, to nearest even (`f32`: `x` itself); beyond the type's range
    /// it is ±∞, and a NaN stays a NaN.
    fn narrow(x: f32) -> Self;
}

impl Element for f32 {
    const DTYPE: Dtype = Dtype::F32;
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        x
    }
}

impl Element for bf16 {
    const DTYPE: Dtype = Dtype::Bf16;
    #[inline(always)]
    fn widen(self) -> f32 {
        bf16_bits_to_f32(self.to_bits())
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        bf16::from_f32(x)
    }
}

impl Element for f16 {
    const DTYPE: Dtype = Dtype::F16;
    #[inline(always)]
    fn widen(self) -> f32 {
        f16_bits_to_f32(self.to_bits())
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        f16::from_f32(x)
    }
}

/// The `f32` whose upper half is `h`: a bfloat16 is a truncated binary32.
///
/// ```
/// use huiyan_kernels::elem::bf16_bits_to_f32;
/// assert_eq!(bf16_bits_to_f32(0x3f80), 1.0);
/// assert_eq!(bf16_bits_to_f32(0xff80), f32::NEG_INFINITY);
/// ```
#[inline(always)]
pub const fn bf16_bits_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// The binary16 with bits `h` as an `f32`, exactly, without branches (so that a loop of it
/// vectorises on every tier; `half`'s own conversion is the reference it is tested against on
/// all 65,536 inputs).
///
/// The exponent and fraction fields, shifted into a binary32's places, read as `x·2⁻¹¹²`
/// (the two biases differ by 112): one product by `2¹¹²` restores the value, for normal and
/// subnormal halves alike, exactly (a power of two, and the result is normal in `f32`).
/// Infinities and NaNs (exponent field 31) get the binary32 exponent 255 instead, keeping the
/// fraction (a NaN keeps its payload; `half` and F16C also set the quiet bit).
///
/// ```
/// use huiyan_kernels::elem::f16_bits_to_f32;
/// assert_eq!(f16_bits_to_f32(0x3c00), 1.0);
/// assert_eq!(f16_bits_to_f32(0x0001), 2f32.powi(-24)); // the smallest subnormal
/// assert_eq!(f16_bits_to_f32(0xfc00), f32::NEG_INFINITY);
/// assert!(f16_bits_to_f32(0x7e00).is_nan());
/// ```
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let mag = (h & 0x7fff) << 13;
    // 2¹¹² = 0x7780_0000.
    let finite = (f32::from_bits(mag) * f32::from_bits(0x7780_0000)).to_bits();
    let special = mag | 0x7f80_0000;
    let bits = if mag >= 0x7c00 << 13 { special } else { finite };
    f32::from_bits(bits | sign)
}

/// Widens `n` elements from `src` (`stride` elements apart) into `dst` (contiguous).
///
/// # Safety
///
/// `src + i·stride` is readable for `i < n`; `dst` is writable for `n` floats and overlaps
/// nothing that is read.
#[inline(always)]
pub(crate) unsafe fn widen<E: Element>(src: *const E, stride: usize, n: usize, dst: *mut f32) {
    if E::DTYPE == Dtype::F32 && stride == 1 {
        // SAFETY: E is f32 (the dtype says so: the trait is sealed); ranges as the caller's.
        unsafe { core::ptr::copy_nonoverlapping(src as *const f32, dst, n) };
        return;
    }
    if stride == 1 {
        // A counted loop over slices: it vectorises with the caller's target features.
        // SAFETY: the caller's ranges, as slices (no overlap).
        let (s, d) = unsafe {
            (
                core::slice::from_raw_parts(src, n),
                core::slice::from_raw_parts_mut(dst, n),
            )
        };
        for (d, s) in d.iter_mut().zip(s) {
            *d = s.widen();
        }
        return;
    }
    for i in 0..n {
        // SAFETY: i < n: inside both ranges (caller).
        unsafe { *dst.add(i) = (*src.add(i * stride)).widen() };
    }
}

/// A read-only pointer to stored elements whose type is a run-time [`Dtype`]: how a validated
/// call carries an input of any [`Element`] type through code that is not generic over it.
/// Offsets count elements of that type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ElemPtr {
    ptr: *const u8,
    pub(crate) dtype: Dtype,
}

impl ElemPtr {
    /// The elements at `p`, of type `E`.
    #[inline(always)]
    pub(crate) fn new<E: Element>(p: *const E) -> Self {
        ElemPtr {
            ptr: p as *const u8,
            dtype: E::DTYPE,
        }
    }

    /// The elements of type `dtype` at `ptr`.
    #[inline(always)]
    pub(crate) fn from_raw(ptr: *const u8, dtype: Dtype) -> Self {
        ElemPtr { ptr, dtype }
    }

    /// A null `f32` pointer (an operand that is not there).
    pub(crate) const NULL: ElemPtr = ElemPtr {
        ptr: core::ptr::null(),
        dtype: Dtype::F32,
    };

    /// `n` elements further on (wrapping arithmetic: meaningful while inside the operand).
    #[inline(always)]
    pub(crate) fn wrapping_add(self, n: usize) -> Self {
        ElemPtr {
            ptr: self.ptr.wrapping_add(n.wrapping_mul(self.dtype.size())),
            ..self
        }
    }

    /// The pointer as `f32` when the elements are `f32`.
    #[inline(always)]
    pub(crate) fn as_f32(self) -> Option<*const f32> {
        (self.dtype == Dtype::F32).then_some(self.ptr as *const f32)
    }

    /// The pointer as an `E` pointer (meaningful only for `E` = the elements' type).
    #[inline(always)]
    pub(crate) fn cast<E>(self) -> *const E {
        self.ptr as *const E
    }
}

/// Evaluates `$body` once per [`Dtype`], with the type alias `$E` naming that element type:
/// `with_dtype!(d, E => f::<E>())` instantiates `f` for `f32`, [`bf16`] and [`f16`] and runs
/// the one `d` names.
macro_rules! with_dtype {
    ($dtype:expr, $E:ident => $body:expr) => {
        match $dtype {
            $crate::elem::Dtype::F32 => {
                type $E = f32;
                $body
            }
            $crate::elem::Dtype::Bf16 => {
                type $E = $crate::elem::bf16;
                $body
            }
            $crate::elem::Dtype::F16 => {
                type $E = $crate::elem::f16;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_widening_matches_half_on_every_input() {
        for h in 0..=u16::MAX {
            let want = f16::from_bits(h).to_f32();
            let got = f16_bits_to_f32(h);
            if want.is_nan() {
                // `half` quiets a signalling NaN; the payload is kept here (F16C quiets too).
                assert!(got.is_nan(), "f16 bits {h:#06x}");
                assert_eq!(got.to_bits() & 0xffbf_ffff, want.to_bits() & 0xffbf_ffff);
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "f16 bits {h:#06x}");
            }
        }
    }

    #[test]
    fn bf16_widening_matches_half_on_every_input() {
        for h in 0..=u16::MAX {
            let want = bf16::from_bits(h).to_f32();
            let got = bf16_bits_to_f32(h);
            if want.is_nan() {
                assert!(got.is_nan(), "bf16 bits {h:#06x}");
                assert_eq!(got.to_bits() & 0xffbf_ffff, want.to_bits() & 0xffbf_ffff);
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "bf16 bits {h:#06x}");
            }
        }
    }

    #[test]
    fn widen_strided_and_contiguous() {
        let src: [f16; 7] = core::array::from_fn(|i| f16::from_f32(i as f32 - 3.5));
        let mut d = [0.0f32; 7];
        // SAFETY: 7 elements each side.
        unsafe { widen(src.as_ptr(), 1, 7, d.as_mut_ptr()) };
        assert_eq!(d, [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5]);
        let mut e = [0.0f32; 3];
        // SAFETY: elements 0, 3, 6 of src; 3 of e.
        unsafe { widen(src.as_ptr(), 3, 3, e.as_mut_ptr()) };
        assert_eq!(e, [-3.5, -0.5, 2.5]);
        let f: [f32; 3] = [1.0, -0.0, f32::NAN];
        let mut g = [9.0f32; 3];
        // SAFETY: 3 elements each side.
        unsafe { widen(f.as_ptr(), 1, 3, g.as_mut_ptr()) };
        assert_eq!(g[..2], [1.0, -0.0]);
        assert!(g[2].is_nan());
    }
}
