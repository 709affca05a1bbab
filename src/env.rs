//! One execution context per run, built once by the CLI and passed down.
//!
//! Everything that decides how a run uses the machine lives here, so that no
//! stage picks its own thread count or reads a process-wide setting:
//! - [`Pool`]: the one thread pool every CPU-bound fan-out runs on, sized by
//!   `--threads` (default: every core). No stage has a fixed number of lanes.
//! - the DataFusion runtime: the memory pool (`--memory-limit`) and spill
//!   folder every session of this run shares.
//! - [`Clock`]: time and randomness for retries, backoff and rate limits.
//!   Tests swap in [`PausedClock`], whose sleeps return at once and advance
//!   its time, so retry and rate logic is tested in microseconds.
//!
//! The DynamoDB client interface ([`crate::apply::send::Dynamo`]) is built
//! per command (its endpoint depends on the command) and travels in the
//! write settings next to this context's clock.

use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use futures::future::BoxFuture;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// The run's execution context.
#[derive(Clone)]
pub struct Env {
    pool: Pool,
    runtime: Arc<RuntimeEnv>,
    clock: Arc<dyn Clock>,
}

impl Env {
    /// `threads` workers (None: one per core); `memory_limit` bytes of
    /// query state before DataFusion spills (None: unlimited).
    pub fn new(threads: Option<usize>, memory_limit: Option<usize>) -> Result<Env> {
        let pool = Pool::new(threads.unwrap_or_else(cores))?;
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = memory_limit {
            // A fair spilling pool: each spilling operator gets an equal
            // share, and the pool names the largest consumers when it refuses.
            let limited = TrackConsumersPool::new(FairSpillPool::new(bytes), NonZeroUsize::new(5).expect("5 is not zero"));
            runtime = runtime.with_memory_pool(Arc::new(limited));
        }
        Ok(Env { pool, runtime: runtime.build_arc()?, clock: Arc::new(SystemClock::new()) })
    }

    /// The same context with another clock (tests, simulations).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Env {
        self.clock = clock;
        self
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    pub fn runtime(&self) -> Arc<RuntimeEnv> {
        self.runtime.clone()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

impl Default for Env {
    /// One worker per core, no memory limit, the system clock.
    fn default() -> Env {
        Env::new(None, None).expect("a default runtime and pool can always be built")
    }
}

/// The machine's cores (2 when it cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// The run's thread pool. Cheap to clone: clones share the threads.
#[derive(Clone)]
pub struct Pool(Arc<rayon::ThreadPool>);

impl Pool {
    pub fn new(threads: usize) -> Result<Pool> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ddbsnap-{i}"))
            .build()
            .map_err(|e| Error::Invalid(format!("cannot start {threads} worker threads: {e}")))?;
        Ok(Pool(Arc::new(pool)))
    }

    pub fn threads(&self) -> usize {
        self.0.current_num_threads()
    }

    /// `f` for each of `0..n`, spread over the pool; results in order. A
    /// panic in `f` is that task's error, not the process's end.
    pub fn map<T: Send>(&self, n: usize, f: impl Fn(usize) -> Result<T> + Sync + Send) -> Vec<Result<T>> {
        self.0.install(|| (0..n).into_par_iter().map(|i| guarded(|| f(i))).collect())
    }

    /// `f` for each element of `items` (by value, each with its index),
    /// spread over the pool; results in order.
    pub fn map_vec<I: Send, T: Send>(&self, items: Vec<I>, f: impl Fn(usize, I) -> Result<T> + Sync + Send) -> Vec<Result<T>> {
        self.0.install(|| items.into_par_iter().enumerate().map(|(i, x)| guarded(|| f(i, x))).collect())
    }

    /// `f` for each element of `items`, in place, spread over the pool.
    pub fn for_each_mut<I: Send>(&self, items: &mut [I], f: impl Fn(&mut I) + Sync + Send) {
        self.0.install(|| items.par_iter_mut().for_each(f))
    }

    /// Runs `f` on the pool and waits for it without blocking the async
    /// runtime (file decoding: the async side opens, the pool decodes).
    /// `f` runs inside the caller's runtime context, so it may bridge to
    /// async I/O (an S3 body read as a blocking reader).
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Handle::try_current().ok();
        self.0.spawn(move || {
            let _context = runtime.as_ref().map(|h| h.enter());
            let _ = tx.send(guarded(f));
        });
        rx.await.map_err(|_| Error::Invalid("a worker stopped without an answer".into()))?
    }

    /// Starts `f` on the pool and returns where its result will be, for a
    /// caller outside the async runtime (a writer thread that waits for
    /// row groups in order). A panic in `f` is its error.
    pub fn spawn<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> std::sync::mpsc::Receiver<Result<T>> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.0.spawn(move || {
            let _ = tx.send(guarded(f));
        });
        rx
    }

    /// Runs `f` inside the pool, so rayon calls in it use these threads.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.0.install(f)
    }
}

impl Default for Pool {
    /// One worker per core.
    fn default() -> Pool {
        Pool::new(cores()).expect("a pool of one thread per core can be started")
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} threads)", self.threads())
    }
}

fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let what = crate::error::panic_message(&*p).unwrap_or_else(|| "panic".into());
        Err(Error::Invalid(format!("a worker failed: {what}")))
    })
}

/// Time and randomness for retries, backoff and rate limits.
pub trait Clock: Send + Sync {
    /// Time since the clock's origin.
    fn now(&self) -> Duration;
    /// Time since `start` (an earlier [`Clock::now`]).
    fn since(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
    /// A random number in `0..=max` (backoff jitter).
    fn random(&self, max: u64) -> u64;
}

/// The real clock: monotonic time, tokio's sleep, entropy-seeded jitter.
pub struct SystemClock {
    origin: std::time::Instant,
    rng: Mutex<fastrand::Rng>,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock { origin: std::time::Instant::now(), rng: Mutex::new(fastrand::Rng::new()) }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }

    fn random(&self, max: u64) -> u64 {
        self.rng.lock().map(|mut r| r.u64(0..=max)).unwrap_or(max / 2)
    }
}

/// A clock that only moves when something sleeps: each sleep returns at
/// once and advances the time by its length. With a seed, runs repeat
/// exactly. Tests of retry, backoff and rate limits run on it.
pub struct PausedClock {
    nanos: AtomicU64,
    slept: AtomicU64,
    rng: Mutex<fastrand::Rng>,
}

impl PausedClock {
    pub fn new(seed: u64) -> PausedClock {
        PausedClock { nanos: AtomicU64::new(0), slept: AtomicU64::new(0), rng: Mutex::new(fastrand::Rng::with_seed(seed)) }
    }

    /// Moves time forward without a sleep (time spent elsewhere).
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }

    /// How many sleeps there were.
    pub fn sleeps(&self) -> u64 {
        self.slept.load(Ordering::SeqCst)
    }
}

impl Clock for PausedClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.advance(d);
        self.slept.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }

    fn random(&self, max: u64) -> u64 {
        self.rng.lock().map(|mut r| r.u64(0..=max)).unwrap_or(max / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_order_and_turns_panics_into_errors() {
        let pool = Pool::new(3).unwrap();
        let out: Vec<usize> = pool.map(100, |i| Ok(i * 2)).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        let failed = pool.map(4, |i| if i == 2 { panic!("boom {i}") } else { Ok(i) });
        assert!(failed[2].as_ref().unwrap_err().to_string().contains("boom 2"));
        assert_eq!(*failed[3].as_ref().unwrap(), 3);
    }

    #[test]
    fn pool_is_sized_by_the_request_with_no_ceiling() {
        assert_eq!(Pool::new(0).unwrap().threads(), 1);
        assert_eq!(Pool::new(7).unwrap().threads(), 7);
        assert_eq!(Env::new(Some(5), None).unwrap().threads(), 5);
    }

    #[test]
    fn paused_clock_moves_only_when_slept() {
        let c = PausedClock::new(1);
        assert_eq!(c.now(), Duration::ZERO);
        futures::executor::block_on(c.sleep(Duration::from_millis(250)));
        assert_eq!(c.now(), Duration::from_millis(250));
        assert_eq!(c.sleeps(), 1);
        let (a, b) = (PausedClock::new(9), PausedClock::new(9));
        assert_eq!((0..5).map(|_| a.random(1000)).collect::<Vec<_>>(), (0..5).map(|_| b.random(1000)).collect::<Vec<_>>());
        assert!((0..100).all(|_| a.random(10) <= 10));
    }
}
