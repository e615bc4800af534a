//! Staying inside a vendor's documented request rate: [`RateWindow`], a sliding window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `limit` requests in any `window` (a sliding window): [`RateWindow::admit`] says how
/// long to wait before the next request may go. Cloudflare documents 1 200 requests per 5
/// minutes per user.
#[derive(Debug)]
pub struct RateWindow {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl RateWindow {
    pub fn new(limit: usize, window: Duration) -> Self {
        RateWindow { limit: limit.max(1), window, sent: VecDeque::new() }
    }

    /// Records a request about to be sent at `now` and returns how long the caller must wait
    /// first (zero when the window has room). The request counts from when it may go.
    pub fn admit(&mut self, now: Instant) -> Duration {
        while self.sent.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            self.sent.pop_front();
        }
        let at = if self.sent.len() < self.limit {
            now
        } else {
            // The oldest of the last `limit` requests leaves the window at `oldest + window`.
            let oldest = self.sent[self.sent.len() - self.limit];
            (oldest + self.window).max(now)
        };
        self.sent.push_back(at);
        while self.sent.len() > self.limit {
            self.sent.pop_front();
        }
        at.duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window_never_lets_more_than_limit_through_in_a_window() {
        let start = Instant::now();
        let mut w = RateWindow::new(3, Duration::from_secs(10));
        let waits: Vec<Duration> = (0..7).map(|_| w.admit(start)).collect();
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        assert_eq!(&waits[3..6], &[Duration::from_secs(10); 3]);
        assert_eq!(waits[6], Duration::from_secs(20));
        // Later, the window has moved on.
        let later = start + Duration::from_secs(35);
        assert_eq!(w.admit(later), Duration::ZERO);
    }
}
