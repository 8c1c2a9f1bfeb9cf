//! Cache-blocked f32 matrix multiplication.
//!
//! # Contract
//!
//! `C ← α·A·B + β·C` with `A` `m × k`, `B` `k × n`, `C` `m × n`, each a strided view
//! ([`MatRef`] / [`MatMut`]); a transpose is a swap of strides.
//!
//! * α and β have their BLAS meaning. **β = 0 never reads `C`**: `C` may hold NaN or garbage and
//!   is overwritten with `α·A·B`.
//! * **α = 0 never reads `A` or `B`** (the BLAS quick return): `C ← β·C` (`C ← 0` when β = 0),
//!   so NaN or ∞ in `A` or `B` does not reach `C`.
//! * Zero dimensions are a no-op as in BLAS: `m = 0` or `n = 0` writes nothing; `k = 0` gives
//!   `C ← β·C` (`C ← 0` when β = 0).
//! * `C` must not overlap `A` or `B`, and its strides must map distinct elements to distinct
//!   addresses; both are checked ([`Error::Overlap`],
//!   [`Error::AliasingStrides`]).
//! * NaN and ±∞ in `A`, `B` (and `C` when β ≠ 0) propagate as IEEE arithmetic says.
//! * **Bias** ([`gemm_bias`], [`gemm_packed`]): `C ← α·A·B + β·C + bias`, `bias` a row vector
//!   of `n` elements added to every row of C. It is added in the microkernel's write-back of
//!   the first rank-`KC` update, after `β·C`: `c ← (α·acc + β·c) + bias`, each step rounded
//!   (no fusion) in that order, so with `k ≤ KC` the result is `fl(fl(α·A·B + β·C) + bias)`
//!   on full and edge tiles alike; with α = 0 or `k = 0` it is `β·C + bias` (`bias` when
//!   β = 0). It must not overlap C.
//! * **Prepacked B** ([`PackedB`], [`gemm_packed`]): B packed once for a kernel table and
//!   reused; the products have the bits of the unpacked ones.
//! * Each element of `C` is accumulated over `k` in a fixed order that depends only on the ISA
//!   tier and `k`, never on the thread count or on where the element sits in `C`.
//!
//! # Example
//!
//! ```
//! use huiyan_kernels::{gemm, Kernels, MatMut, MatRef};
//! let k = Kernels::best_compile_time();
//! let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 × 3, row-major
//! let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // 3 × 2, row-major
//! let mut c = [f32::NAN; 4];             // β = 0: never read
//! let mut ws = vec![0.0; gemm::gemm_workspace_len(&k, 2, 2, 3)];
//! gemm::gemm(&k, 1.0, MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 2),
//!            0.0, MatMut::row_major(&mut c, 2, 2), &mut ws).unwrap();
//! assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
//! ```
//!
//! # Performance
//!
//! Bench `matmul/<m>x<n>x<k>/huiyan` (`benches/matmul.rs`, single thread, row-major, β = 0),
//! AMD EPYC Zen 4 class VM with 2 vCPUs, where a zmm FMA issues once per cycle (as two ymm
//! halves): measured peak 117 GFLOP/s per core for both the v4 and the v3 kernels. With
//! `HUIYAN_BENCH_CLOCK=cpu` (thread CPU time; the machine was shared, load 8–10), medians of
//! one run on 2026-11-24: 98–110 GFLOP/s (84–94 % of peak) on every shape of the bench,
//! 0.95–1.05× `gemm` 0.19 with `x86-v4` and 1.02–1.40× `matrixmultiply` 0.3.11 in the same run.
//! The v3 kernel (`HUIYAN_FORCE_ISA=x86-v3`) reaches 102 GFLOP/s at 1024³.
//!
//! # Layout of this module
//!
//! `microkernel` (the trait, the packed-panel diagram, the write-back order), `blocking`
//! (MC/KC/NC and why), `args` (a validated call in raw form), `check` (a call validated by
//! [`crate::shape`] into that form), `loops` (the BLIS nest, no ISA code), `pack`, `packed` ([`PackedB`]),
//! `job` ([`GemmJob`]), and one file per ISA: `scalar`, `portable`, `x86_64/v3`, `x86_64/v4`,
//! `aarch64/neon`.

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
mod args;
pub(crate) mod blocking;
mod check;
mod job;
pub(crate) mod loops;
pub(crate) mod microkernel;
pub(crate) mod pack;
mod packed;
pub(crate) mod portable;
pub(crate) mod scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) mod x86_64;

use crate::elem::Element;
use crate::error::Error;
use crate::kernels::Kernels;
use crate::shape::check_workspace;
use crate::view::{MatMut, MatRef};
pub(crate) use args::GemmArgs;
pub(crate) use blocking::Blocking;
use check::validated;
pub use job::GemmJob;
pub use packed::{gemm_packed, gemm_packed_workspace_len, packed_b_len, PackedB};

/// A monomorphised whole-operation entry: runs the loop nest for one ISA.
///
/// # Safety (of calling one)
///
/// `args` is validated by [`check_gemm`], `ws` is writable for
/// `blocking.workspace_len(m, n, k)` elements and disjoint from the operands, and the CPU has
/// the features of the ISA the entry was built for (guaranteed by the token that built the
/// [`GemmKernel`]).
pub(crate) type GemmEntry = unsafe fn(&GemmArgs, *mut f32);

/// The gemm entry of one ISA tier: the whole-op entry point and its block sizes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmKernel {
    pub(crate) run: GemmEntry,
    pub(crate) blocking: Blocking,
}

/// Elements of workspace [`gemm`] needs for an `m × n × k` product with `kernels`: room for one
/// packed block of A and one packed panel of B (bounded by the block sizes, so at most a few
/// MiB however large the product), plus alignment slack. 0 when any dimension is 0.
///
/// ```
/// use huiyan_kernels::{gemm::gemm_workspace_len, Kernels};
/// let k = Kernels::scalar();
/// assert_eq!(gemm_workspace_len(&k, 0, 5, 5), 0);
/// assert!(gemm_workspace_len(&k, 64, 64, 64) >= 2 * 64 * 64);
/// ```
pub fn gemm_workspace_len(kernels: &Kernels, m: usize, n: usize, k: usize) -> usize {
    kernels.gemm.blocking.workspace_len(m, n, k)
}

/// `C ← α·A·B + β·C` on the calling thread (contract: [this module](self)).
///
/// Validates every operand and the workspace length first and returns the first [`Error`]
/// found without touching `c`. Never allocates, never panics. `workspace` needs
/// [`gemm_workspace_len`] elements; its contents are ignored and left unspecified.
///
/// ```
/// use huiyan_kernels::{gemm, Error, Kernels, MatMut, MatRef};
/// let k = Kernels::scalar();
/// let a = [1.0f32; 6];
/// let mut c = [0.0f32; 4];
/// let err = gemm::gemm(&k, 1.0, MatRef::row_major(&a, 2, 3), MatRef::row_major(&a, 2, 3),
///                      0.0, MatMut::row_major(&mut c, 2, 2), &mut []);
/// assert!(matches!(err, Err(Error::DimMismatch { .. })));
/// ```
pub fn gemm<TA: Element, TB: Element>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    gemm_bias(kernels, alpha, a, b, beta, c, None, workspace)
}

/// `C ← α·A·B + β·C + bias` on the calling thread, `bias` (when given) a row vector of `n`
/// elements added to every row of C in the microkernel's write-back (contract and rounding
/// order: [this module](self)). [`gemm`] is this without a bias.
///
/// Validates as [`gemm`] does, and the bias: exactly `n` elements ([`Error::SliceTooShort`]
/// naming [`Operand::Bias`](crate::Operand::Bias) otherwise), not overlapping `c`.
///
/// ```
/// use huiyan_kernels::{gemm, Error, Kernels, MatMut, MatRef, Operand};
/// let k = Kernels::best_compile_time();
/// let a = [1.0, 2.0, 3.0, 4.0];    // 2 × 2
/// let b = [1.0, 0.0, 0.0, 1.0];    // identity
/// let mut c = [f32::NAN; 4];        // β = 0: never read
/// let mut ws = vec![0.0; gemm::gemm_workspace_len(&k, 2, 2, 2)];
/// gemm::gemm_bias(&k, 1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2), 0.0,
///                 MatMut::row_major(&mut c, 2, 2), Some(&[10.0, 20.0]), &mut ws)?;
/// assert_eq!(c, [11.0, 22.0, 13.0, 24.0]);
/// let err = gemm::gemm_bias(&k, 1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2),
///                           0.0, MatMut::row_major(&mut c, 2, 2), Some(&[1.0; 3]), &mut ws);
/// assert_eq!(err, Err(Error::SliceTooShort { operand: Operand::Bias, needed: 2, got: 3 }));
/// # Ok::<(), Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn gemm_bias<TA: Element, TB: Element>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    let args = validated(alpha, a, b, beta, c, bias)?;
    let gk = &kernels.gemm;
    check_workspace(
        gk.blocking.workspace_len(args.m, args.n, args.k),
        workspace.len(),
    )?;
    // SAFETY: `validated` checked the three views (coverage, C injective and disjoint from A
    // and B) and the bias (n elements, disjoint from C); the workspace is a `&mut` slice of
    // the required length, so it is writable and cannot overlap the views (A, B and the bias
    // are shared borrows, C an exclusive one, or raw views whose contract forbids other
    // writers); `kernels` could only be built from a token proving its ISA.
    unsafe { (gk.run)(&args, workspace.as_mut_ptr()) };
    Ok(())
}
