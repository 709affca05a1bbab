//! Apply's retry, rate and journal logic against a fake DynamoDB on a
//! paused clock: each answer is scripted, sleeps return at once and move
//! the clock, so backoff, give-up times and rates are checked exactly and
//! in microseconds. The same logic runs against DynamoDB Local in
//! tests/apply.rs and tests/rehearse.rs.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::*;
use crate::apply::journal::Header;
use crate::env::PausedClock;
use crate::item::AttrValue;

/// What the fake answers to one call.
#[derive(Clone)]
enum Answer {
    Ok,
    Throttle,
    ServerError,
    Final(&'static str),
    /// BatchWriteItem: these indexes of the call's items left unprocessed.
    Unprocessed(Vec<usize>),
    /// The condition failed; the item as it is now.
    Condition(Option<Item>),
}

/// A DynamoDB that answers from a script (then with `otherwise`) and
/// records each call: when it came (on the paused clock) and its keys.
struct Fake {
    script: Mutex<VecDeque<Answer>>,
    otherwise: Answer,
    clock: Arc<PausedClock>,
    calls: Mutex<Vec<(Duration, Vec<String>)>>,
}

impl Fake {
    fn new(script: Vec<Answer>, otherwise: Answer, clock: &Arc<PausedClock>) -> Arc<Fake> {
        Arc::new(Fake { script: Mutex::new(script.into()), otherwise, clock: clock.clone(), calls: Mutex::new(Vec::new()) })
    }

    fn answer(&self, keys: Vec<String>) -> Answer {
        self.calls.lock().unwrap().push((self.clock.now(), keys));
        self.script.lock().unwrap().pop_front().unwrap_or_else(|| self.otherwise.clone())
    }

    fn calls(&self) -> Vec<(Duration, Vec<String>)> {
        self.calls.lock().unwrap().clone()
    }
}

fn failure(a: &Answer) -> Option<Failure> {
    match a {
        Answer::Throttle => Some(Failure::Retry { cause: Cause::Throttled, message: "ThrottlingException: slow down".into() }),
        Answer::ServerError => Some(Failure::Retry { cause: Cause::ServerError, message: "InternalServerError: 500".into() }),
        Answer::Final(m) => Some(Failure::Final(m.to_string())),
        _ => None,
    }
}

impl Dynamo for Fake {
    fn write_one<'a>(&'a self, _table: &'a str, w: &'a Write) -> BoxFuture<'a, Result<Sent, Failure>> {
        let a = self.answer(vec![key_text(&w.key)]);
        Box::pin(async move {
            match (failure(&a), a) {
                (Some(f), _) => Err(f),
                (None, Answer::Condition(current)) => Ok(Sent::ConditionFailed(current)),
                _ => Ok(Sent::Written(1.0)),
            }
        })
    }

    fn write_batch<'a>(&'a self, _table: &'a str, items: &'a [&'a Item]) -> BoxFuture<'a, Result<(f64, Vec<usize>), Failure>> {
        let a = self.answer(items.iter().map(|i| key_text(&key_of(i))).collect());
        Box::pin(async move {
            match (failure(&a), a) {
                (Some(f), _) => Err(f),
                (None, Answer::Unprocessed(left)) => Ok(((items.len() - left.len()) as f64, left)),
                _ => Ok((items.len() as f64, Vec::new())),
            }
        })
    }

    fn get_batch<'a>(&'a self, _table: &'a str, _keys: Vec<Item>) -> BoxFuture<'a, Result<crate::apply::send::Got, String>> {
        Box::pin(async { Err("not used by apply".to_string()) })
    }
}

fn key_of(item: &Item) -> Item {
    item.iter().filter(|(k, _)| *k == "id").map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn item(id: u64) -> Item {
    [("id".to_string(), AttrValue::S(format!("c{id}"))), ("name".to_string(), AttrValue::S(format!("Name {id}")))].into_iter().collect()
}

/// An unconditional PUT (sent in batches) or a conditional one (sent alone).
fn job(seq: u64, conditional: bool) -> Job {
    let it = item(seq);
    let write = Write {
        kind: OpKind::Put,
        key: key_of(&it),
        update: None,
        item: Some(it.clone()),
        condition: conditional.then(|| "attribute_exists(id)".to_string()),
        names: HashMap::new(),
        values: HashMap::new(),
        expected: Some(it),
        stamps: Vec::new(),
    };
    Job { seq, table: "Contact".into(), write, units: 1.0 }
}

/// One round of `jobs` through the apply's logic; the report, counters and
/// the journal as read back from disk.
struct Run {
    report: Report,
    counters: Arc<Counters>,
    journaled: HashMap<u64, Entry>,
}

fn run(jobs: Vec<Job>, fake: &Arc<Fake>, clock: &Arc<PausedClock>, max_wcu: Option<f64>, retry_for: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.journal");
    let header = Header {
        format: crate::apply::journal::FORMAT.into(),
        kind: "apply".into(),
        plan_sha256: "ab".repeat(32),
        plan_dir: "plan".into(),
        started_at: "2026-12-07T00:00:00Z".into(),
        stamp_now: "2026-12-07T00:00:00Z".into(),
        stamp_now_ms: 0,
        undoes: None,
        tables: None,
    };
    let mut journal = Journal::create(&path, header).unwrap();
    let counters = Arc::new(Counters::default());
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let limit = RateLimit::new(max_wcu, clock_dyn.clone());
    let ctx = Ctx { client: fake.as_ref(), clock: clock.as_ref(), limit: limit.as_ref(), retry_for, counters: &counters, dry_run: false };
    let mut report = Report::new(false);
    futures::executor::block_on(run_round(&ctx, jobs, &mut report, &mut journal, 4)).unwrap();
    drop(journal);
    let (_, journaled) = crate::apply::journal::read(&path).unwrap();
    Run { report, counters, journaled }
}

fn retries(c: &Counters, cause: Cause) -> u64 {
    c.retries_by_cause[Cause::ALL.iter().position(|x| *x == cause).unwrap()].load(Ordering::Relaxed)
}

#[test]
fn throttled_writes_back_off_on_the_clock_then_land_and_are_journaled() {
    let clock = Arc::new(PausedClock::new(7));
    let fake = Fake::new(vec![Answer::Throttle, Answer::Throttle], Answer::Ok, &clock);
    let r = run(vec![job(1, true)], &fake, &clock, None, Duration::from_secs(60));
    assert_eq!((r.report.written, r.report.failed), (1, 0));
    assert_eq!(retries(&r.counters, Cause::Throttled), 2);
    assert_eq!(clock.sleeps(), 2, "one backoff per retry");
    // Full jitter: the first wait is at most 50 ms, the second at most 100 ms.
    assert!(clock.now() <= Duration::from_millis(150), "{:?}", clock.now());
    assert_eq!(fake.calls().len(), 3);
    assert_eq!(r.journaled[&1].outcome, Outcome::Done);
}

#[test]
fn a_write_that_keeps_failing_gives_up_after_retry_for_and_is_journaled_failed() {
    let clock = Arc::new(PausedClock::new(7));
    let fake = Fake::new(Vec::new(), Answer::ServerError, &clock);
    let r = run(vec![job(1, true)], &fake, &clock, None, Duration::from_secs(30));
    assert_eq!((r.report.written, r.report.failed), (0, 1));
    let calls = fake.calls();
    let last = calls.last().unwrap().0;
    assert!(last >= Duration::from_secs(30) && last < Duration::from_secs(36), "the last try comes once 30 s have passed: {last:?}");
    // Backoff grows to its 5 s cap: far fewer tries than at a fixed 50 ms.
    assert!(calls.len() > 5 && calls.len() < 60, "{} tries", calls.len());
    let e = &r.journaled[&1];
    assert_eq!(e.outcome, Outcome::Failed);
    assert!(e.error.as_deref().unwrap().contains("gave up after") && e.error.as_deref().unwrap().contains("InternalServerError"));
    assert_eq!(retries(&r.counters, Cause::ServerError), calls.len() as u64 - 1);
}

#[test]
fn unprocessed_items_are_sent_again_and_only_they() {
    let clock = Arc::new(PausedClock::new(3));
    let fake = Fake::new(vec![Answer::Unprocessed(vec![1, 3])], Answer::Ok, &clock);
    let r = run((1..=5).map(|s| job(s, false)).collect(), &fake, &clock, None, Duration::from_secs(60));
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1.len(), 5);
    let again: Vec<&String> = calls[1].1.iter().collect();
    assert_eq!(again, vec![&calls[0].1[1], &calls[0].1[3]]);
    assert_eq!(r.report.written, 5);
    assert_eq!(retries(&r.counters, Cause::Unprocessed), 1);
    assert!((1..=5).all(|s| r.journaled[&s].outcome == Outcome::Done));
}

#[test]
fn a_final_error_fails_the_whole_batch_at_once() {
    let clock = Arc::new(PausedClock::new(3));
    let fake = Fake::new(vec![Answer::Final("ValidationException: item too large")], Answer::Ok, &clock);
    let r = run((1..=4).map(|s| job(s, false)).collect(), &fake, &clock, None, Duration::from_secs(60));
    assert_eq!((r.report.written, r.report.failed), (0, 4));
    assert_eq!((fake.calls().len(), clock.sleeps()), (1, 0), "no retry of a final error");
    assert!((1..=4).all(|s| r.journaled[&s].error.as_deref() == Some("ValidationException: item too large")));
}

#[test]
fn a_conflict_is_journaled_with_the_item_as_it_is_now() {
    let clock = Arc::new(PausedClock::new(3));
    let mut now = item(1);
    now.insert("name".into(), AttrValue::S("changed since the snapshot".into()));
    let fake = Fake::new(vec![Answer::Condition(Some(now))], Answer::Ok, &clock);
    let r = run(vec![job(1, true)], &fake, &clock, None, Duration::from_secs(60));
    assert_eq!((r.report.written, r.report.conflicts), (0, 1));
    let e = &r.journaled[&1];
    assert_eq!(e.outcome, Outcome::Conflict);
    assert!(e.current.as_deref().unwrap().contains("changed since the snapshot"));
    assert_eq!(fake.calls().len(), 1, "a conflict is not retried");
}

#[test]
fn an_attempt_that_landed_before_counts_as_already_applied() {
    let clock = Arc::new(PausedClock::new(3));
    let fake = Fake::new(vec![Answer::ServerError, Answer::Condition(Some(item(1)))], Answer::Ok, &clock);
    let r = run(vec![job(1, true)], &fake, &clock, None, Duration::from_secs(60));
    assert_eq!((r.report.written, r.report.already_applied, r.report.conflicts), (0, 1, 0));
    assert_eq!(r.journaled[&1].outcome, Outcome::Already);
}

#[test]
fn the_rate_limit_spaces_writes_on_the_clock() {
    let clock = Arc::new(PausedClock::new(5));
    let fake = Fake::new(Vec::new(), Answer::Ok, &clock);
    let r = run((1..=50).map(|s| job(s, true)).collect(), &fake, &clock, Some(10.0), Duration::from_secs(60));
    assert_eq!(r.report.written, 50);
    let calls = fake.calls();
    let span = calls.last().unwrap().0 - calls[0].0;
    // 50 writes of one unit at 10 units a second: 4.9 s between the first and the last.
    assert!(span >= Duration::from_millis(4700) && span <= Duration::from_millis(5200), "{span:?}");
}

#[test]
fn throttling_halves_the_rate_which_then_recovers_by_a_tenth_a_second() {
    let clock = Arc::new(PausedClock::new(5));
    let limit = RateLimit::new(Some(100.0), clock.clone()).unwrap();
    limit.throttled();
    assert_eq!(limit.rate(), 50.0);
    limit.throttled();
    assert_eq!(limit.rate(), 25.0);
    clock.advance(Duration::from_secs(2));
    futures::executor::block_on(limit.acquire(1.0));
    assert!((limit.rate() - 45.0).abs() < 1e-9, "{}", limit.rate());
    clock.advance(Duration::from_secs(60));
    futures::executor::block_on(limit.acquire(1.0));
    assert_eq!(limit.rate(), 100.0, "never above the limit");
}

#[test]
fn a_throttled_apply_writes_slower_than_its_limit() {
    let clock = Arc::new(PausedClock::new(5));
    let fake = Fake::new(vec![Answer::Throttle; 3], Answer::Ok, &clock);
    let r = run((1..=40).map(|s| job(s, true)).collect(), &fake, &clock, Some(20.0), Duration::from_secs(60));
    assert_eq!((r.report.written, r.report.failed), (40, 0));
    let calls = fake.calls();
    let span = calls.last().unwrap().0 - calls[0].0;
    // Unthrottled, 40 writes at 20 a second take 1.95 s; three throttles cut the rate to 2.5.
    assert!(span > Duration::from_millis(2500), "{span:?}");
}
