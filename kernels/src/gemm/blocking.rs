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
//! The target machine (bench figures in this crate come from it): AMD EPYC (Zen 4 class),
//! 32 KiB L1d and 1 MiB L2 per core, 32 MiB L3 shared.
//!
//! `KC` is also the number of rank-1 updates between two write-backs of a C tile, so a larger
//! `KC` amortises the write-back; it is split evenly (`k = 300` → two blocks of 150, not
//! 256 + 44) and depends on `k` only, so every element of C is summed in the same order wherever
//! it sits and however the work is split between threads.

/// Block sizes of one ISA tier (`MR`, `NR` come from its microkernel).
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
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code)
    )]
    /// x86-64-v4, 32 × 12 kernel (24 zmm accumulators).
    ///
    /// * `KC = 384`: the B micropanel is 384·12·4 = 18 KiB, just over half of the 32 KiB L1,
    ///   leaving room for the A micropanel columns streaming through (128 B per step) and the
    ///   C tile; 384 steps amortise the 24-vector write-back of C to about 1 %.
    /// * `MC = 96`: the A block is 96·384·4 = 144 KiB, a seventh of the 1 MiB L2, so it stays
    ///   there while B micropanels and C lines pass through; three A micropanels per block.
    /// * `NC = 768`: the B panel is 384·768·4 = 1.1 MiB of the 32 MiB L3 the cores share;
    ///   A is packed once per 768 columns. Measured against 1536 and 3072 at 2048³ with the
    ///   other core busy: 3 % ahead (a small panel keeps its L3 share under contention).
    ///
    /// Tuned on the bench machine (Zen 4 class EPYC): KC 128/192/256/384/512 and MC
    /// 64/96/192/384 were measured at 512³–2048³; KC = 128 lost 5–8 %, the rest were within
    /// the ±3 % noise of a shared machine, with small MC slightly ahead at 2048³.
    pub const X86_V4: Blocking = Blocking {
        mr: 32,
        nr: 12,
        mc: 96,
        kc: 384,
        nc: 768,
    };

    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code)
    )]
    /// x86-64-v3, 16 × 6 kernel (12 ymm accumulators): B micropanel 384·6·4 = 9 KiB and the
    /// A micropanel columns streaming through L1, A block 96·384·4 = 144 KiB in L2, B panel
    /// 4.5 MiB in L3 (the v4 reasoning). Measured against MC/KC = 384/256 and 192/512: 2–3 %
    /// ahead at 1024³–2048³, equal at 512³.
    pub const X86_V3: Blocking = Blocking {
        mr: 16,
        nr: 6,
        mc: 96,
        kc: 384,
        nc: 3072,
    };

    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    /// aarch64 NEON, 8 × 8 kernel (16 q accumulators): 8 KiB B micropanel, 256 KiB A block
    /// (typical 64 KiB L1 / 1–2 MiB L2 cores have room to spare).
    pub const NEON: Blocking = Blocking {
        mr: 8,
        nr: 8,
        mc: 256,
        kc: 256,
        nc: 2048,
    };

    /// Portable `wide` 8 × 6 kernel: small blocks that fit any cache hierarchy.
    pub const PORTABLE: Blocking = Blocking {
        mr: 8,
        nr: 6,
        mc: 128,
        kc: 256,
        nc: 1536,
    };

    /// Scalar 4 × 4 kernel.
    pub const SCALAR: Blocking = Blocking {
        mr: 4,
        nr: 4,
        mc: 128,
        kc: 256,
        nc: 1024,
    };

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

    /// Workspace elements for one orientation (`m` rows of packed A, `n` columns of packed B),
    /// including 16 elements of slack to align the panels to 64 bytes.
    pub(crate) const fn workspace_len_oriented(&self, m: usize, n: usize, k: usize) -> usize {
        if m == 0 || n == 0 || k == 0 {
            return 0;
        }
        let kc = self.kc_for(k);
        let mc = if m < self.mc { m } else { self.mc };
        let nc = if n < self.nc { n } else { self.nc };
        (round_up(mc, self.mr) + round_up(nc, self.nr)) * kc + 16
    }

    /// Workspace elements for `m × n × k`, whichever orientation the nest picks.
    pub(crate) const fn workspace_len(&self, m: usize, n: usize, k: usize) -> usize {
        let x = self.workspace_len_oriented(m, n, k);
        let y = self.workspace_len_oriented(n, m, k);
        if x > y {
            x
        } else {
            y
        }
    }
}
