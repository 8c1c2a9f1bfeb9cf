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
//!
//! The same image proves that a wrong result fails the run: with
//! `-semihosting-config enable=on,target=native,arg=huiyan-firmware,arg=perturb=1e-3` the
//! firmware reads `perturb=<f32>` from its semihosting command line (`SYS_GET_CMDLINE`) and
//! adds it to one expected value (see [`check::run`]); the run must then fail. On the host,
//! `perturb=<f32>` is a program argument.
#![cfg_attr(all(target_arch = "arm", target_os = "none"), no_std, no_main)]

mod check;

/// The `perturb=<f32>` word of a command line (0 without one). Any other word, or a value
/// that is not a finite f32, is an error: a mistyped request for a wrong expected value must
/// not quietly run the real check instead.
fn perturb_from<'a>(words: impl Iterator<Item = &'a str>) -> Result<f32, &'a str> {
    let mut perturb = 0.0;
    for w in words {
        match w.strip_prefix("perturb=").map(str::parse::<f32>) {
            Some(Ok(x)) if x.is_finite() => perturb = x,
            _ => return Err(w),
        }
    }
    Ok(perturb)
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

    /// The semihosting command line (`SYS_GET_CMDLINE`) into `buf`: the words qemu was given
    /// with `-semihosting-config ...,arg=...` (the first is the program's name), or empty when
    /// the host has none (real hardware without a debugger, or an error).
    fn cmdline(buf: &mut [u8; 128]) -> &str {
        // The parameter block: buffer address and capacity; the host writes the string
        // (NUL-terminated) into the buffer and its length into the second word.
        let mut block = [buf.as_mut_ptr() as usize, buf.len()];
        // SAFETY: SYS_GET_CMDLINE writes at most `block[1]` bytes at `block[0]`, a live
        // exclusive borrow of `buf`, and one word into `block`, which outlives the call; the
        // block is passed by address, so no shared reference is written through.
        let status = unsafe {
            cortex_m_semihosting::syscall1(
                cortex_m_semihosting::nr::GET_CMDLINE,
                block.as_mut_ptr() as usize,
            )
        };
        let len = if status == 0 {
            block[1].min(buf.len())
        } else {
            0
        };
        let bytes = &buf[..len];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(len);
        core::str::from_utf8(&bytes[..end]).unwrap_or("")
    }

    #[cortex_m_rt::entry]
    fn main() -> ! {
        let mut out = Console(hio::hstdout().ok());
        let mut buf = [0u8; 128];
        // The first word is the program's name.
        let perturb = match super::perturb_from(cmdline(&mut buf).split_whitespace().skip(1)) {
            Ok(p) => p,
            Err(word) => {
                let _ = writeln!(out, "FAIL: unknown argument {word:?} (only perturb=<f32>)");
                debug::exit(debug::EXIT_FAILURE);
                loop {
                    core::hint::spin_loop();
                }
            }
        };
        let status = match super::check::run(&mut out, perturb) {
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    match perturb_from(args.iter().map(String::as_str)) {
        Ok(p) => check::host_main(p),
        Err(word) => {
            println!("FAIL: unknown argument {word:?} (only perturb=<f32>)");
            std::process::ExitCode::FAILURE
        }
    }
}
