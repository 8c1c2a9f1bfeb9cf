//! [`GemmArgs`]: a validated product in raw form, and the views of it the loop nest and the
//! jobs take (transposed, a block of rows or of columns).

use super::microkernel::Bias;
use crate::elem::ElemPtr;

/// Which operand of a [`GemmArgs`] is given as prepacked micropanels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// A, in the layout of a packed A block (micropanels of `MR` rows).
    A,
    /// B, in that same layout seen from `Cᵀ = Bᵀ·Aᵀ`: micropanels of `MR` columns of B
    /// ([`PackedB`](super::PackedB)); the loop nest runs such a product transposed.
    B,
}

/// A prepacked operand (see [`PackedB`](super::PackedB) for the layout): the micropanel that
/// holds rows `r .. r + MR` (`r` a multiple of `MR`, counted in the whole packed operand) for
/// the rank-`kc` update at depth `pc` starts at `ptr + pc·ld + r·kc`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepacked {
    pub side: Side,
    pub ptr: *const f32,
    /// Elements per unit of depth between rank-`kc` blocks: the packed width rounded up to `MR`.
    pub ld: usize,
    /// Row of the whole packed operand where this product's rows begin (a multiple of `MR`).
    pub first: usize,
}

/// A validated gemm call in raw form. Element `(i, j)` of X is at `x + i·rsx + j·csx` (A and B
/// may hold any [`Element`](crate::elem::Element) type; C and the bias are `f32`); the bias term of `C(i, j)` is `bias`'s `(i, j)`. With `packed`, that side's pointer and strides
/// are unused (the prepacked panels stand for the operand).
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmArgs {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub beta: f32,
    pub a: ElemPtr,
    pub rsa: usize,
    pub csa: usize,
    pub b: ElemPtr,
    pub rsb: usize,
    pub csb: usize,
    pub c: *mut f32,
    pub rsc: usize,
    pub csc: usize,
    pub bias: Bias,
    pub packed: Option<Prepacked>,
}

impl GemmArgs {
    /// The same product, transposed when that gives C a unit row stride, and always when B is
    /// prepacked (its panels are laid out for `Cᵀ = Bᵀ·Aᵀ`).
    #[inline(always)]
    pub(crate) fn oriented(self) -> GemmArgs {
        match self.packed {
            Some(p) if p.side == Side::B => self.transposed(),
            Some(_) => self,
            None if self.rsc != 1 && (self.csc == 1 || self.n == 1) => self.transposed(),
            None => self,
        }
    }

    /// `Cᵀ ← α·Bᵀ·Aᵀ + β·Cᵀ + biasᵀ`: the same elements of C, each by the same arithmetic.
    #[inline(always)]
    pub(crate) fn transposed(self) -> GemmArgs {
        GemmArgs {
            m: self.n,
            n: self.m,
            a: self.b,
            rsa: self.csb,
            csa: self.rsb,
            b: self.a,
            rsb: self.csa,
            csb: self.rsa,
            rsc: self.csc,
            csc: self.rsc,
            bias: self.bias.transposed(),
            packed: self.packed.map(|p| Prepacked {
                side: match p.side {
                    Side::A => Side::B,
                    Side::B => Side::A,
                },
                ..p
            }),
            ..self
        }
    }

    /// Columns `c0..c1` of C (and of B): a product of `c1 − c0` columns, with wrapping
    /// pointer arithmetic as [`rows`](Self::rows). B must not be the prepacked side.
    #[inline(always)]
    pub(crate) fn cols(self, c0: usize, c1: usize) -> GemmArgs {
        GemmArgs {
            n: c1 - c0,
            b: self.b.wrapping_add(c0 * self.csb),
            c: self.c.wrapping_add(c0 * self.csc),
            bias: self.bias.at(0, c0),
            ..self
        }
    }

    /// Rows `r0..r1` of C (and of A): a product of `r1 − r0` rows. The pointers are computed
    /// with wrapping arithmetic; they address elements of the whole product when
    /// `r0 ≤ r1 ≤ m`. A prepacked A needs `r0` to be a multiple of its `MR`.
    #[inline(always)]
    pub(crate) fn rows(self, r0: usize, r1: usize) -> GemmArgs {
        let mut g = GemmArgs {
            m: r1 - r0,
            c: self.c.wrapping_add(r0 * self.rsc),
            bias: self.bias.at(r0, 0),
            ..self
        };
        match &mut g.packed {
            Some(p) if p.side == Side::A => p.first += r0,
            _ => g.a = self.a.wrapping_add(r0 * self.rsa),
        }
        g
    }
}
