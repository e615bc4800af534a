//! A criterion measurement of the bench thread's own CPU time, for a machine shared with other
//! work: wall-clock figures there mostly measure the neighbours.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// CPU time of the calling thread, from `/proc/thread-self/schedstat` (nanoseconds the thread
/// has run; Linux only, updated at scheduler ticks, so ±1 tick per sample).
pub struct ThreadCpu(pub WallTime);

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = std::time::Duration;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> std::time::Duration {
        std::time::Duration::from_nanos(thread_cpu_ns().saturating_sub(start))
    }
    fn add(&self, a: &std::time::Duration, b: &std::time::Duration) -> std::time::Duration {
        *a + *b
    }
    fn zero(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    fn to_f64(&self, value: &std::time::Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

/// The bench's `main`: the generic `$bench(c, group)` run twice, in wall-clock time as group
/// `$wall` and in the thread's CPU time as group `$cpu`.
macro_rules! wall_and_cpu_main {
    ($bench:ident, $wall:literal, $cpu:literal) => {
        fn wall(c: &mut criterion::Criterion) {
            $bench(c, $wall);
        }
        fn cpu(c: &mut criterion::Criterion<cpu::ThreadCpu>) {
            $bench(c, $cpu);
        }
        criterion::criterion_group!(wall_time, wall);
        criterion::criterion_group! {
            name = cpu_time;
            config = criterion::Criterion::default().with_measurement(cpu::ThreadCpu(criterion::measurement::WallTime));
            targets = cpu
        }
        criterion::criterion_main!(wall_time, cpu_time);
    };
}
