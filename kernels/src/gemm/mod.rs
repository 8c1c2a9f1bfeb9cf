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
//! `microkernel` (the trait and the packed-panel diagram), `blocking` (MC/KC/NC and why),
//! `loops` (the BLIS nest, no ISA code), `pack`, and one file per ISA: `scalar`, `portable`,
//! `x86_64/v3`, `x86_64/v4`, `aarch64/neon`.

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
pub(crate) mod blocking;
mod job;
pub(crate) mod loops;
pub(crate) mod microkernel;
pub(crate) mod pack;
pub(crate) mod portable;
pub(crate) mod scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) mod x86_64;

use crate::error::Error;
use crate::kernels::Kernels;
use crate::shape::{check_gemm, check_workspace};
use crate::view::{MatMut, MatRef};
pub(crate) use blocking::Blocking;
pub use job::GemmJob;
pub(crate) use loops::GemmArgs;

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
pub fn gemm(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    let args = validated(alpha, a, b, beta, c)?;
    let gk = &kernels.gemm;
    check_workspace(
        gk.blocking.workspace_len(args.m, args.n, args.k),
        workspace.len(),
    )?;
    // SAFETY: check_gemm validated the three views (coverage, C injective and disjoint from A
    // and B); the workspace is a `&mut` slice of the required length, so it is writable and
    // cannot overlap the views (A and B are shared borrows, C an exclusive one, or raw views
    // whose contract forbids other writers); `kernels` could only be built from a token
    // proving its ISA.
    unsafe { (gk.run)(&args, workspace.as_mut_ptr()) };
    Ok(())
}

/// The raw form of a call that passed [`check_gemm`].
fn validated(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) -> Result<GemmArgs, Error> {
    let (m, n, k) = check_gemm(&a, &b, &c)?;
    Ok(GemmArgs {
        m,
        n,
        k,
        alpha,
        beta,
        a: a.ptr,
        rsa: a.rs,
        csa: a.cs,
        b: b.ptr,
        rsb: b.rs,
        csb: b.cs,
        c: c.ptr,
        rsc: c.rs,
        csc: c.cs,
    })
}
