//! The attention path alone, for its code size: one `huiyan_kernels::attention::attention`
//! call (`Kernels::best_compile_time()`, or `Kernels::scalar()` when built with
//! `HUIYAN_SIZE_TABLE=scalar`; causal, `[1, 2, 16, 16]`) on inputs the optimiser
//! cannot see, with no reference and no printing. `ci/cross.sh` reports this binary's `.text`
//! for thumbv7em-none-eabihf (and runs it: exit status 0 iff the call succeeded and `O` is
//! finite).
#![cfg_attr(all(target_arch = "arm", target_os = "none"), no_std, no_main)]

use core::hint::black_box;

use huiyan_kernels::attention::{attention, attention_workspace_len, AttentionOptions};
use huiyan_kernels::{Kernels, Tensor4Mut, Tensor4Ref};

const DIMS: [usize; 4] = [1, 2, 16, 16];
const N: usize = DIMS[0] * DIMS[1] * DIMS[2] * DIMS[3];
const WS_CAP: usize = 12288;

/// Runs one attention call; true iff it succeeded with a finite output.
fn attend() -> bool {
    let q = black_box([0.25f32; N]);
    let k = black_box([0.5f32; N]);
    let v = black_box([0.75f32; N]);
    let mut o = [0.0f32; N];
    let mut ws = [0.0f32; WS_CAP];
    let kern = if matches!(option_env!("HUIYAN_SIZE_TABLE"), Some("scalar")) {
        Kernels::scalar()
    } else {
        Kernels::best_compile_time()
    };
    let t = |s| Tensor4Ref::bhsd(s, DIMS);
    let need = attention_workspace_len(&kern, &t(&q), &t(&k), &t(&v));
    let opts = AttentionOptions {
        is_causal: black_box(true),
        ..AttentionOptions::default()
    };
    need <= WS_CAP
        && attention(
            &kern,
            t(&q),
            t(&k),
            t(&v),
            Tensor4Mut::bhsd(&mut o, DIMS),
            &opts,
            None,
            &mut ws[..need],
        )
        .is_ok()
        && black_box(&o).iter().all(|x| x.is_finite())
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[cortex_m_rt::entry]
fn main() -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if attend() {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(not(all(target_arch = "arm", target_os = "none")))]
fn main() -> std::process::ExitCode {
    if attend() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
