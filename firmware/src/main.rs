//! huiyan on a Cortex-M4F: the attention self-check of [`check`] as firmware for the Arm
//! MPS2-AN386 board (`qemu-system-arm -machine mps2-an386`), reporting through semihosting and
//! exiting with its status; on any other target, the same check as a host program.
//!
//! Build and run (what `ci/cross.sh` does, with the Debian toolchain of DESIGN.md §8):
//!
//! ```text
//! cargo build -Zbuild-std=core --target thumbv7em-none-eabihf -p huiyan-firmware --release
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
//!     -semihosting-config enable=on,target=native -kernel <target>/release/huiyan-firmware
//! ```
#![cfg_attr(all(target_arch = "arm", target_os = "none"), no_std, no_main)]

mod check;

/// Added to one expected value: 0 unless built with `HUIYAN_FIRMWARE_PERTURB=<f32>`, which
/// `ci/cross.sh` uses to prove that a wrong result fails the run.
fn perturb() -> f32 {
    option_env!("HUIYAN_FIRMWARE_PERTURB")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
mod firmware {
    use core::fmt::Write;

    use cortex_m_semihosting::{debug, hio};

    /// Semihosting stdout; output is best effort (a missing host console must not hide the
    /// exit status).
    struct Console(Option<hio::HostStream>);

    impl Write for Console {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            match &mut self.0 {
                Some(h) => h.write_str(s),
                None => Ok(()),
            }
        }
    }

    #[cortex_m_rt::entry]
    fn main() -> ! {
        let mut out = Console(hio::hstdout().ok());
        let status = match super::check::run(&mut out, super::perturb()) {
            Ok(()) => {
                let _ = writeln!(out, "PASS");
                debug::EXIT_SUCCESS
            }
            Err(e) => {
                let _ = writeln!(out, "FAIL: {e}");
                debug::EXIT_FAILURE
            }
        };
        debug::exit(status);
        // Only reached without a semihosting host (real hardware): park.
        loop {
            core::hint::spin_loop();
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        let mut out = Console(hio::hstdout().ok());
        let _ = writeln!(out, "PANIC: {info}");
        debug::exit(debug::EXIT_FAILURE);
        loop {
            core::hint::spin_loop();
        }
    }
}

#[cfg(not(all(target_arch = "arm", target_os = "none")))]
fn main() -> std::process::ExitCode {
    check::host_main(perturb())
}
