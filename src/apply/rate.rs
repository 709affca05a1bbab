//! The write-rate limit: a token bucket in write units per second, charged
//! with each write's estimate before it is sent and corrected by the
//! capacity DynamoDB reports it consumed. On throttling the rate halves;
//! it then recovers by a tenth of the limit per second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimit {
    max: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// `max` write units per second; None is unlimited.
    pub fn new(max: Option<f64>) -> Option<RateLimit> {
        let max = max.filter(|m| *m > 0.0)?;
        Some(RateLimit { max, state: Mutex::new(Bucket { rate: max, tokens: max.min(1.0), at: Instant::now() }) })
    }

    fn refill(&self, b: &mut Bucket) {
        let now = Instant::now();
        let dt = now.duration_since(b.at).as_secs_f64();
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
            tokio::time::sleep(Duration::from_secs_f64(wait.clamp(0.001, 1.0))).await;
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
