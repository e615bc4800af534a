//! Polling until a condition holds, for tests: a panic naming what was awaited (and a log, when
//! given) after the time limit.

use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);

/// Polls `ready` every 50 ms, blocking the thread, until it holds; returns how long that took.
/// Panics after `limit`, naming `what`.
pub fn wait_until(what: &str, limit: Duration, ready: impl FnMut() -> bool) -> Duration {
    wait_until_log(what, limit, ready, String::new)
}

/// [`wait_until`], with `log()` (a process's output, say) in the panic message.
pub fn wait_until_log(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
    log: impl Fn() -> String,
) -> Duration {
    let started = Instant::now();
    loop {
        if ready() {
            return started.elapsed();
        }
        if started.elapsed() > limit {
            timed_out(what, limit, &log());
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for async tests: sleeps on the runtime between polls, so that the tasks the
/// condition waits for keep running.
pub async fn wait_until_async(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if ready() {
            return started.elapsed();
        }
        if started.elapsed() > limit {
            timed_out(what, limit, "");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_until_async`] with a check that is itself async (a query to a peer, say).
pub async fn wait_until_checked<F: std::future::Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> F,
) -> Duration {
    let started = Instant::now();
    loop {
        if ready().await {
            return started.elapsed();
        }
        if started.elapsed() > limit {
            timed_out(what, limit, "");
        }
        tokio::time::sleep(POLL).await;
    }
}

fn timed_out(what: &str, limit: Duration, log: &str) -> ! {
    if log.is_empty() {
        panic!("timed out after {limit:?} waiting for {what}");
    }
    panic!("timed out after {limit:?} waiting for {what}; log:\n{log}");
}
