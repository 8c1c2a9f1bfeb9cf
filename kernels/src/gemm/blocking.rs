//! Cache blocking: `MC`, `KC`, `NC` per ISA tier, with the reasoning beside the numbers.
//!
//! The loop nest ([`super::loops`]) keeps three working sets in three cache levels (BLIS's
//! analysis, Low et al., *Analytical modeling is enough for high-performance BLIS*, 2016):
//!
//! | block | bytes | lives in | reused by |
//! |---|---|---|---|
//! | packed B micropanel `KC × NR` | `4·KC·NR` | L1 | every `MR` tile of LOOP 1 |
//! | packed A block `MC × KC` | `4·MC·KC` | L2 | every `NR` micropanel of LOOP 2 |
//! | packed B panel `KC × NC` | `4·KC·NC` | L3 | every `MC` block of LOOP 3 |
//!
//! Each microkernel states its `MC`, `KC`, `NC` ([`Microkernel`]), tuned for a core with
//! 32 KiB L1d, 1 MiB L2 and a shared L3 of tens of MiB (AMD EPYC, Zen 4 class).
//!
//! `KC` is also the number of rank-1 updates between two write-backs of a C tile, so a larger
//! `KC` amortises the write-back; it is split evenly (`k = 300` → two blocks of 150, not
//! 256 + 44) and depends on `k` only, so every element of C is summed in the same order wherever
//! it sits and however the work is split between threads.

use super::microkernel::Microkernel;
use crate::workspace::Regions;

/// Elements of slack in front of a gemm workspace: enough to reach a 64-byte boundary.
pub(crate) const ALIGN_SLACK: usize = 16;

/// Block sizes of one microkernel ([`Blocking::of`]); each tier's values and the reasoning
/// behind them stand beside its microkernel's `MC`, `KC`, `NC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// Microkernel rows.
    pub mr: usize,
    /// Microkernel columns.
    pub nr: usize,
    /// Rows of the packed A block (a multiple of `mr`).
    pub mc: usize,
    /// Depth of one rank-`KC` update (the largest; see [`Blocking::kc_for`]).
    pub kc: usize,
    /// Columns of the packed B panel (a multiple of `nr`).
    pub nc: usize,
}

/// Round `x` up to a multiple of `to` (`to > 0`); saturates instead of overflowing.
#[inline(always)]
pub(crate) const fn round_up(x: usize, to: usize) -> usize {
    match x.checked_add(to - 1) {
        Some(y) => y / to * to,
        None => usize::MAX / to * to,
    }
}

impl Blocking {
    /// The blocking of microkernel `K`: its tile and its cache blocks.
    pub(crate) const fn of<K: Microkernel>() -> Blocking {
        Blocking {
            mr: K::MR,
            nr: K::NR,
            mc: K::MC,
            kc: K::KC,
            nc: K::NC,
        }
    }

    /// The depth of each rank-`kc` update for a product of depth `k ≥ 1`: `k` split into
    /// `⌈k / KC⌉` blocks as equal as possible. A function of `k` alone (see the module docs).
    #[inline(always)]
    pub(crate) const fn kc_for(&self, k: usize) -> usize {
        if k == 0 {
            return 0;
        }
        let blocks = k.div_ceil(self.kc);
        k.div_ceil(blocks)
    }

    /// The workspace of one orientation (`m` rows of A, `n` columns of B): the packed A block
    /// (`MC × KC` at most; none when A comes prepacked, `pack_a = false`) and the packed B
    /// panel (`KC × NC` at most). Callers provide [`ALIGN_SLACK`] more elements, so the loop
    /// nest can start it on a 64-byte boundary.
    pub(crate) const fn workspace(&self, m: usize, n: usize, k: usize, pack_a: bool) -> Regions<2> {
        if m == 0 || n == 0 || k == 0 {
            return Regions([0, 0]);
        }
        let kc = self.kc_for(k);
        let mc = if m < self.mc { m } else { self.mc };
        let nc = if n < self.nc { n } else { self.nc };
        let a = if pack_a {
            round_up(mc, self.mr).saturating_mul(kc)
        } else {
            0
        };
        Regions([a, round_up(nc, self.nr).saturating_mul(kc)])
    }

    /// Workspace elements for `m × n × k`, whichever orientation the nest picks (0 when a
    /// dimension is 0: nothing is packed).
    pub(crate) const fn workspace_len(&self, m: usize, n: usize, k: usize) -> usize {
        let x = self.workspace(m, n, k, true).len();
        let y = self.workspace(n, m, k, true).len();
        with_slack(if x > y { x } else { y })
    }

    /// Workspace elements for `m × n × k` with B prepacked: the nest runs `Cᵀ = Bᵀ·Aᵀ` and
    /// packs only (the ragged part of) Aᵀ, never B.
    pub(crate) const fn packed_workspace_len(&self, m: usize, n: usize, k: usize) -> usize {
        with_slack(self.workspace(n, m, k, false).len())
    }

    /// Elements of a prepacked `k × n` B ([`PackedB`](super::PackedB)): `⌈k / kc⌉` blocks of
    /// `round_up(n, MR)·kc` (the last block shallower), `k·round_up(n, MR)` in all, plus
    /// [`ALIGN_SLACK`]; 0 when `k` or `n` is 0. `None` when it overflows `usize`.
    pub(crate) const fn packed_b_len(&self, k: usize, n: usize) -> Option<usize> {
        if k == 0 || n == 0 {
            return Some(0);
        }
        match n.checked_add(self.mr - 1) {
            Some(x) => match (x / self.mr * self.mr).checked_mul(k) {
                Some(y) => y.checked_add(ALIGN_SLACK),
                None => None,
            },
            None => None,
        }
    }
}

/// `len` plus [`ALIGN_SLACK`], or 0 when nothing is packed.
const fn with_slack(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.saturating_add(ALIGN_SLACK)
    }
}
