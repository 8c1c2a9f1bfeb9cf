//! Workspaces described once: the same value sizes a workspace and carves it into regions.
//!
//! A driver writes one function of the shape that returns its [`Regions`]; the length it asks
//! callers for is [`Regions::len`] of that value and the pointers it works with are
//! [`Regions::carve`] of the same value, so a region added, resized or reordered in one place
//! cannot leave the size and the carving disagreeing (which would be an out-of-bounds write).

/// `N` consecutive regions of `f32`, each given by its length in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Regions<const N: usize>(pub(crate) [usize; N]);

impl<const N: usize> Regions<N> {
    /// Elements of all regions together, saturating: a shape whose workspace is not
    /// representable fails validation before a buffer of this size is needed.
    pub(crate) const fn len(&self) -> usize {
        let mut total = 0usize;
        let mut i = 0;
        while i < N {
            total = total.saturating_add(self.0[i]);
            i += 1;
        }
        total
    }

    /// The start of each region in a workspace at `base`, in order.
    ///
    /// # Safety
    ///
    /// `base` is valid for [`len`](Self::len) elements and that length did not saturate.
    #[inline(always)]
    pub(crate) unsafe fn carve(&self, base: *mut f32) -> [*mut f32; N] {
        let mut out = [base; N];
        let mut at = 0;
        for (p, &n) in out.iter_mut().zip(&self.0) {
            // SAFETY: at is the sum of the lengths before this region, at most `len()`, so
            // the pointer stays inside (or one past) the caller's workspace.
            *p = unsafe { base.add(at) };
            at += n;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Regions;

    #[test]
    fn regions_follow_each_other_and_len_saturates() {
        let r = Regions([3, 0, 5]);
        assert_eq!(r.len(), 8);
        let mut buf = [0.0f32; 8];
        let base = buf.as_mut_ptr();
        // SAFETY: buf holds r.len() elements.
        let [a, b, c] = unsafe { r.carve(base) };
        assert_eq!(
            (a, b, c),
            (base, base.wrapping_add(3), base.wrapping_add(3))
        );
        assert_eq!(Regions([usize::MAX, 2]).len(), usize::MAX);
    }
}
