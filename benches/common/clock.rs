//! The benches' clock: wall time, or with `HUIYAN_BENCH_CLOCK=cpu` the benchmark thread's CPU
//! time (Linux `CLOCK_THREAD_CPUTIME_ID`), so that on a machine shared with other work the
//! time slices given to other processes do not count (cache and memory-bandwidth sharing still
//! do). The benches are single-threaded, so the two clocks agree on an idle machine.

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::Criterion;

/// CPU time of the calling thread.
pub struct ThreadCpuTime;

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// Linux's `CLOCK_THREAD_CPUTIME_ID`.
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn thread_cpu_time() -> Duration {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, i: Duration) -> Duration {
        thread_cpu_time() - i
    }
    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as for wall time.
        WallTime.formatter()
    }
}

/// Runs a bench's groups with the clock `HUIYAN_BENCH_CLOCK` selects (`cpu`, else wall time).
pub fn main_with_clock(wall: fn(&mut Criterion<WallTime>), cpu: fn(&mut Criterion<ThreadCpuTime>)) {
    if std::env::var("HUIYAN_BENCH_CLOCK").as_deref() == Ok("cpu") {
        let mut cr = Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        cpu(&mut cr);
        cr.final_summary();
    } else {
        let mut cr = Criterion::default().configure_from_args();
        wall(&mut cr);
        cr.final_summary();
    }
}
