//! The self-check, `core` only, shared by the firmware, the wasm32 check and the host build.
//!
//! A small matmul (tails in every dimension, α and β ≠ 0, a transposed operand) and a small
//! softmax (scale, odd row length) against `reference::{matmul, softmax}`, then one attention
//! problem — `B = 1`, `H = 2`, `Lq = Lk = 16`, `dk = dv = 16`, causal (top-left),
//! inputs in `[-1, 1)` from a fixed xorshift — is run through every kernel table this target
//! has (`Kernels::scalar()`, `Kernels::portable()` and `Kernels::best_compile_time()`, which is
//! scalar on a core without SIMD), with the workspace in a stack
//! buffer, and each `O` and `lse` is compared with `huiyan_kernels::reference::attention` (f64
//! accumulation, rounded once to f32).

use core::fmt::Write;

use huiyan_kernels::attention::{attention, attention_workspace_len, AttentionOptions};
use huiyan_kernels::gemm::{gemm, gemm_workspace_len};
use huiyan_kernels::softmax::{softmax, SoftmaxOptions};
use huiyan_kernels::{reference, Kernels, MatMut, MatRef, Tensor4Mut, Tensor4Ref};

/// `[B, H, L, d]` of Q, K, V and O.
pub const DIMS: [usize; 4] = [1, 2, 16, 16];
/// Elements of each of Q, K, V, O.
pub const N: usize = DIMS[0] * DIMS[1] * DIMS[2] * DIMS[3];
/// Rows of `lse`.
pub const ROWS: usize = DIMS[0] * DIMS[1] * DIMS[2];
/// Capacity of the stack workspace, in f32 elements (the kernels ask for less; the check
/// fails, naming the size, if that ever changes).
pub const WS_CAP: usize = 12288;

/// Unit roundoff of f32, 2⁻²⁴.
const U: f32 = 1.0 / 16_777_216.0;

/// Allowed `|got − want|` for `O` and `lse`: 400 U ≈ 2.4e-5.
///
/// The testkit's attention bound (`huiyan_testkit::tol`, Higham-style first-order worst case)
/// is `Σ_j p_j δ_j (|v_j| + |O|) + U((4Lk + 16)·Σ_j p_j|v_j| + (Lk + 8)|O|)`. Here
/// `|q|, |k|, |v| < 1`, `d = 16` and `scale = 1/4`, so each logit has `|t| ≤ 4`, its error
/// `δ_j ≤ U((dk + 4)·4 + 4·4 + exp's 2·2 ulp + ln 16 + 2) ≈ 105 U`, hence
/// `≤ 2·105 U + U(80 + 24) ≈ 314 U`. Typical errors are a few U; an indexing, masking or
/// normalisation mistake is off by ≳ 1e-2.
pub const TOL: f32 = 400.0 * U;

/// Matmul shape `(m, n, k)`: not multiples of any tile, so every edge path runs.
const GEMM: (usize, usize, usize) = (13, 11, 9);
/// Matmul α, β.
const ALPHA_BETA: (f32, f32) = (0.5, -0.75);
/// Matmul tolerance: the testkit's `gemm(k)·(|α|(|A||B|) + |β||C₀|)` with `gemm(k) = (k + 4)U`
/// and every operand in `[-1, 1)`, so `(|A||B|)ᵢⱼ ≤ k`.
const TOL_GEMM: f32 = (GEMM.2 as f32 + 4.0) * U * (0.5 * GEMM.2 as f32 + 0.75);

/// Softmax shape `(rows, cols)` and scale; inputs in `[-4, 4)`.
const SOFTMAX: (usize, usize, f32) = (5, 37, 0.7);
/// Softmax tolerance for `y` and `lse`: the testkit's bound
/// `p_j(δ_j + Σ_k p_k δ_k + (n + 2)U)`, `δ_j = U(ln(1/p_j) + 2·EXP_ULP + 2)`, is at most
/// `U(0.37 + 6 + ln 37 + 6 + 39) ≈ 55 U` for `n = 37`; lse's `Σ p δ + U(n + 2) + 2U|lse|`
/// is ≈ 62 U here. 100 U allowed.
const TOL_SOFTMAX: f32 = 100.0 * U;

/// Why the check failed.
pub enum Failure {
    /// A kernel or the reference rejected the problem.
    Call(&'static str, huiyan_kernels::Error),
    /// The kernels want more workspace than [`WS_CAP`].
    Workspace(usize),
    /// A result was outside [`TOL`] (or NaN).
    Mismatch,
    /// The output stream failed.
    Output,
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Call(who, e) => write!(f, "{who} rejected the problem: {e}"),
            Failure::Workspace(n) => write!(f, "kernels want {n} f32 of workspace > {WS_CAP}"),
            Failure::Mismatch => f.write_str("result outside the tolerance"),
            Failure::Output => f.write_str("output stream failed"),
        }
    }
}

impl From<core::fmt::Error> for Failure {
    fn from(_: core::fmt::Error) -> Self {
        Failure::Output
    }
}

/// Deterministic inputs in `[-1, 1)`.
fn fill(buf: &mut [f32], seed: u32) {
    let mut s = seed.wrapping_mul(0x9E37_79B9) | 1;
    for x in buf {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *x = (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
    }
}

/// Largest `|got − want|`, NaN-aware (a NaN anywhere gives `f32::INFINITY`).
fn max_err(got: &[f32], want: &[f32]) -> f32 {
    let mut m = 0.0f32;
    for (g, w) in got.iter().zip(want) {
        let e = (g - w).abs();
        m = if e.is_nan() { f32::INFINITY } else { m.max(e) };
    }
    m
}

/// The causal attention options of the check.
fn options() -> AttentionOptions<'static> {
    AttentionOptions {
        is_causal: true,
        ..AttentionOptions::default()
    }
}

/// Runs the check, writing a report to `out`. `Ok(())` means every table matched.
///
/// `perturb` is added to the reference's first output element before comparing: 0 for the
/// real check; `ci/cross.sh` runs the same firmware image a second time with `perturb=1e-3` on
/// its semihosting command line to prove that a wrong result fails the run.
pub fn run(out: &mut impl Write, perturb: f32) -> Result<(), Failure> {
    let (mut q, mut k, mut v) = ([0.0f32; N], [0.0f32; N], [0.0f32; N]);
    fill(&mut q, 1);
    fill(&mut k, 2);
    fill(&mut v, 3);
    let t = |s| Tensor4Ref::bhsd(s, DIMS);
    let opts = options();

    let (mut want, mut want_lse) = ([0.0f32; N], [0.0f32; ROWS]);
    reference::attention(
        t(&q),
        t(&k),
        t(&v),
        Tensor4Mut::bhsd(&mut want, DIMS),
        &opts,
        Some(&mut want_lse),
    )
    .map_err(|e| Failure::Call("reference", e))?;
    want[0] += perturb;

    writeln!(
        out,
        "huiyan self-check: gemm, softmax, attention {DIMS:?} causal (attention tolerance {TOL:e})"
    )?;
    if perturb != 0.0 {
        writeln!(
            out,
            "  expected O[0] moved by {perturb:e} (a deliberately wrong value: attention must MISMATCH)"
        )?;
    }
    let mut ok = true;
    for (name, kern) in [
        ("scalar", Kernels::scalar()),
        ("portable", Kernels::portable()),
        ("best_compile_time", Kernels::best_compile_time()),
    ] {
        ok &= check_gemm(out, name, &kern)?;
        ok &= check_softmax(out, name, &kern)?;
    }
    for (name, kern) in [
        ("scalar", Kernels::scalar()),
        ("portable", Kernels::portable()),
        ("best_compile_time", Kernels::best_compile_time()),
    ] {
        let need = attention_workspace_len(&kern, &t(&q), &t(&k), &t(&v));
        if need > WS_CAP {
            return Err(Failure::Workspace(need));
        }
        let mut ws = [0.0f32; WS_CAP];
        let (mut o, mut lse) = ([f32::NAN; N], [f32::NAN; ROWS]);
        attention(
            &kern,
            t(&q),
            t(&k),
            t(&v),
            Tensor4Mut::bhsd(&mut o, DIMS),
            &opts,
            Some(&mut lse),
            &mut ws[..need],
        )
        .map_err(|e| Failure::Call(name, e))?;
        let (eo, el) = (max_err(&o, &want), max_err(&lse, &want_lse));
        let pass = eo <= TOL && el <= TOL;
        ok &= pass;
        writeln!(
            out,
            "  attention {name:<17} isa {:?}: workspace {need} f32, max |O err| {eo:e}, max |lse err| {el:e}: {}",
            kern.isa(),
            verdict(pass)
        )?;
    }
    if ok {
        Ok(())
    } else {
        Err(Failure::Mismatch)
    }
}

/// `C ← αAB + βC` with a transposed B, against the reference.
fn check_gemm(out: &mut impl Write, name: &'static str, kern: &Kernels) -> Result<bool, Failure> {
    const M: usize = GEMM.0;
    const NN: usize = GEMM.1;
    const K: usize = GEMM.2;
    let (alpha, beta) = ALPHA_BETA;
    let (mut a, mut bt, mut c0) = ([0.0f32; M * K], [0.0f32; NN * K], [0.0f32; M * NN]);
    fill(&mut a, 4);
    fill(&mut bt, 5);
    fill(&mut c0, 6);
    let b = MatRef::row_major(&bt, NN, K).t(); // K × N, column-major
    let mut want = c0;
    reference::matmul(
        alpha,
        MatRef::row_major(&a, M, K),
        b,
        beta,
        MatMut::row_major(&mut want, M, NN),
    )
    .map_err(|e| Failure::Call("reference::matmul", e))?;
    let need = gemm_workspace_len(kern, M, NN, K);
    if need > WS_CAP {
        return Err(Failure::Workspace(need));
    }
    let mut ws = [0.0f32; WS_CAP];
    let mut c = c0;
    gemm(
        kern,
        alpha,
        MatRef::row_major(&a, M, K),
        b,
        beta,
        MatMut::row_major(&mut c, M, NN),
        &mut ws[..need],
    )
    .map_err(|e| Failure::Call(name, e))?;
    let e = max_err(&c, &want);
    let pass = e <= TOL_GEMM;
    writeln!(
        out,
        "  gemm {GEMM:?}  {name:<17} isa {:?}: max err {e:e} (tol {TOL_GEMM:e}): {}",
        kern.isa(),
        verdict(pass)
    )?;
    Ok(pass)
}

/// Row softmax with a scale and its logsumexp, against the reference.
fn check_softmax(
    out: &mut impl Write,
    name: &'static str,
    kern: &Kernels,
) -> Result<bool, Failure> {
    const R: usize = SOFTMAX.0;
    const C: usize = SOFTMAX.1;
    let mut x = [0.0f32; R * C];
    fill(&mut x, 7);
    x.iter_mut().for_each(|v| *v *= 4.0);
    let opts = SoftmaxOptions {
        scale: SOFTMAX.2,
        ..SoftmaxOptions::default()
    };
    let (mut want, mut want_lse) = ([0.0f32; R * C], [0.0f32; R]);
    reference::softmax(
        MatRef::row_major(&x, R, C),
        MatMut::row_major(&mut want, R, C),
        &opts,
        Some(&mut want_lse),
    )
    .map_err(|e| Failure::Call("reference::softmax", e))?;
    let (mut y, mut lse) = ([f32::NAN; R * C], [f32::NAN; R]);
    softmax(
        kern,
        MatRef::row_major(&x, R, C),
        MatMut::row_major(&mut y, R, C),
        &opts,
        Some(&mut lse),
    )
    .map_err(|e| Failure::Call(name, e))?;
    let (ey, el) = (max_err(&y, &want), max_err(&lse, &want_lse));
    let pass = ey <= TOL_SOFTMAX && el <= TOL_SOFTMAX;
    writeln!(
        out,
        "  softmax {R}x{C} {name:<17} isa {:?}: max |y err| {ey:e}, max |lse err| {el:e} (tol {TOL_SOFTMAX:e}): {}",
        kern.isa(),
        verdict(pass)
    )?;
    Ok(pass)
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "ok"
    } else {
        "MISMATCH"
    }
}

/// The check as a host program (every target with `std`): report on stdout, exit status 0 iff
/// everything matched.
#[cfg(not(any(target_os = "none", target_arch = "wasm32")))]
pub fn host_main(perturb: f32) -> std::process::ExitCode {
    /// `core::fmt::Write` onto stdout.
    struct Stdout;
    impl Write for Stdout {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(s.as_bytes())
                .map_err(|_| core::fmt::Error)
        }
    }
    match run(&mut Stdout, perturb) {
        Ok(()) => {
            println!("PASS");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            println!("FAIL: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
