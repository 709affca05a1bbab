//! The write-rate limit: a token bucket in write units per second, charged
//! with each write's estimate before it is sent and corrected by the
//! capacity DynamoDB reports it consumed. On throttling the rate halves;
//! it then recovers by a tenth of the limit per second.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::env::Clock;

pub struct RateLimit {
    max: f64,
    state: Mutex<Bucket>,
    clock: Arc<dyn Clock>,
}

struct Bucket {
    rate: f64,
    tokens: f64,
    at: Duration,
}

impl RateLimit {
    /// `max` write units per second, on `clock`'s time; None is unlimited.
    pub fn new(max: Option<f64>, clock: Arc<dyn Clock>) -> Option<RateLimit> {
        let max = max.filter(|m| *m > 0.0)?;
        let bucket = Bucket { rate: max, tokens: max.min(1.0), at: clock.now() };
        Some(RateLimit { max, state: Mutex::new(bucket), clock })
    }

    /// The rate allowed now (lower than the limit after throttling).
    pub fn rate(&self) -> f64 {
        self.state.lock().map(|b| b.rate).unwrap_or(self.max)
    }

    fn refill(&self, b: &mut Bucket) {
        let now = self.clock.now();
        let dt = now.saturating_sub(b.at).as_secs_f64();
        b.at = now;
        b.rate = (b.rate + self.max * 0.1 * dt).min(self.max);
        // At most one second's worth banked: bursts stay small.
        b.tokens = (b.tokens + b.rate * dt).min(b.rate.max(1.0));
    }

    /// Waits until `units` can be spent, then spends them.
    pub async fn acquire(&self, units: f64) {
        loop {
            let wait = {
                let mut b = self.state.lock().expect("rate limit lock");
                self.refill(&mut b);
                if b.tokens >= units.min(b.rate.max(1.0)) {
                    b.tokens -= units;
                    return;
                }
                (units.min(b.rate.max(1.0)) - b.tokens) / b.rate
            };
            self.clock.sleep(Duration::from_secs_f64(wait.clamp(0.001, 1.0))).await;
        }
    }

    /// Corrects the bucket once DynamoDB said what a write consumed.
    pub fn settle(&self, estimated: f64, consumed: f64) {
        let mut b = self.state.lock().expect("rate limit lock");
        b.tokens -= consumed - estimated;
    }

    /// DynamoDB throttled: halve the rate.
    pub fn throttled(&self) {
        let mut b = self.state.lock().expect("rate limit lock");
        b.rate = (b.rate / 2.0).max(self.max / 100.0).max(0.5);
    }
}
