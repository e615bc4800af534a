//! The `process_*` metrics every Prometheus client library exports (upstream has them from Go's
//! client): CPU time, memory, file descriptors, start time, network bytes — read from `/proc`
//! when `/metrics` is scraped. Elsewhere than Linux they stay 0.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// What `/proc` says about this process right now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    pub virtual_max_bytes: f64,
    pub open_fds: f64,
    pub max_fds: f64,
    pub start_time_seconds: f64,
    pub network_receive_bytes: f64,
    pub network_transmit_bytes: f64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on every Linux architecture).
const TICKS: f64 = 100.0;
const PAGE: f64 = 4096.0;

impl ProcessStats {
    /// Reads `/proc/self`; fields it cannot read stay 0.
    pub fn read() -> ProcessStats {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let mut s = parse_stat(&read("/proc/self/stat"), &read("/proc/stat"));
        (s.max_fds, s.virtual_max_bytes) = parse_limits(&read("/proc/self/limits"));
        (s.network_receive_bytes, s.network_transmit_bytes) = parse_net_dev(&read("/proc/self/net/dev"));
        s.open_fds = std::fs::read_dir("/proc/self/fd").map_or(0.0, |d| d.count() as f64);
        s
    }
}

/// `/proc/self/stat` (after the command name: state is field 3) and the boot time from
/// `/proc/stat`.
fn parse_stat(stat: &str, system: &str) -> ProcessStats {
    let Some((_, rest)) = stat.rsplit_once(')') else { return ProcessStats::default() };
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // Fields counted from 3 (state) at index 0.
    let field = |n: usize| f.get(n - 3).copied().unwrap_or(0.0);
    let boot = system.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse::<f64>().ok());
    ProcessStats {
        cpu_seconds: (field(14) + field(15)) / TICKS,
        virtual_bytes: field(23),
        resident_bytes: field(24) * PAGE,
        start_time_seconds: boot.map_or(0.0, |b| b + field(22) / TICKS),
        ..ProcessStats::default()
    }
}

/// Soft limits of open files and address space (`unlimited`: the largest value, as Go's client).
fn parse_limits(limits: &str) -> (f64, f64) {
    let soft = |name: &str| {
        let line = limits.lines().find(|l| l.starts_with(name))?;
        let v = line[name.len()..].split_whitespace().next()?;
        Some(if v == "unlimited" { u64::MAX as f64 } else { v.parse().ok()? })
    };
    (soft("Max open files").unwrap_or(0.0), soft("Max address space").unwrap_or(0.0))
}

/// Bytes received and sent over every interface of the process's network namespace.
fn parse_net_dev(dev: &str) -> (f64, f64) {
    let (mut rx, mut tx) = (0.0, 0.0);
    for line in dev.lines().skip(2) {
        let Some((_, counters)) = line.split_once(':') else { continue };
        let v: Vec<f64> = counters.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
        rx += v.first().copied().unwrap_or(0.0);
        tx += v.get(8).copied().unwrap_or(0.0);
    }
    (rx, tx)
}

/// The families, set from [`ProcessStats::read`] at every scrape.
#[derive(Default)]
pub struct ProcessMetrics {
    cpu: Counter<f64, AtomicU64>,
    resident: Gauge<f64, AtomicU64>,
    virtual_bytes: Gauge<f64, AtomicU64>,
    virtual_max: Gauge<f64, AtomicU64>,
    open_fds: Gauge<f64, AtomicU64>,
    max_fds: Gauge<f64, AtomicU64>,
    start_time: Gauge<f64, AtomicU64>,
    rx: Counter<f64, AtomicU64>,
    tx: Counter<f64, AtomicU64>,
}

impl ProcessMetrics {
    /// Registers the families as `process_*` on `registry`.
    pub fn register(registry: &mut Registry) -> ProcessMetrics {
        let m = ProcessMetrics::default();
        let p = registry.sub_registry_with_prefix("process");
        p.register("cpu_seconds", "Total user and system CPU time spent in seconds", m.cpu.clone());
        p.register("resident_memory_bytes", "Resident memory size in bytes", m.resident.clone());
        p.register("virtual_memory_bytes", "Virtual memory size in bytes", m.virtual_bytes.clone());
        p.register(
            "virtual_memory_max_bytes",
            "Maximum amount of virtual memory available in bytes",
            m.virtual_max.clone(),
        );
        p.register("open_fds", "Number of open file descriptors", m.open_fds.clone());
        p.register("max_fds", "Maximum number of open file descriptors", m.max_fds.clone());
        p.register("start_time_seconds", "Start time of the process since unix epoch in seconds", m.start_time.clone());
        p.register("network_receive_bytes", "Number of bytes received by the process over the network", m.rx.clone());
        p.register("network_transmit_bytes", "Number of bytes sent by the process over the network", m.tx.clone());
        m
    }

    /// Sets every family from `/proc` (counters move by the difference, never back).
    pub fn refresh(&self) {
        let s = ProcessStats::read();
        let grow = |c: &Counter<f64, AtomicU64>, to: f64| {
            let by = to - c.get();
            if by > 0.0 {
                c.inc_by(by);
            }
        };
        grow(&self.cpu, s.cpu_seconds);
        grow(&self.rx, s.network_receive_bytes);
        grow(&self.tx, s.network_transmit_bytes);
        self.resident.set(s.resident_bytes);
        self.virtual_bytes.set(s.virtual_bytes);
        self.virtual_max.set(s.virtual_max_bytes);
        self.open_fds.set(s.open_fds);
        self.max_fds.set(s.max_fds);
        self.start_time.set(s.start_time_seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        let stat = "4242 (exo dns) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 12000 123456789 2500 18446744073709551615";
        let s = parse_stat(stat, "cpu  1 2 3\nbtime 1700000000\n");
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.virtual_bytes, 123456789.0);
        assert_eq!(s.resident_bytes, 2500.0 * 4096.0);
        assert_eq!(s.start_time_seconds, 1700000120.0);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max address space         unlimited            unlimited            bytes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_limits(limits), (1024.0, u64::MAX as f64));
        let dev = "Inter-|   Receive                                                |  Transmit\n \
                   face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
                   lo:  1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0\n  \
                   eth0:   500       5    0    0    0     0          0         0      700       7    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(dev), (1500.0, 2700.0));
    }

    #[test]
    fn this_process_is_seen() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let s = ProcessStats::read();
        assert!(s.resident_bytes > 0.0 && s.open_fds > 0.0 && s.max_fds > 0.0, "{s:?}");
        assert!(s.start_time_seconds > 1.6e9, "{s:?}");
    }
}
