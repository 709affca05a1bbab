//! Helpers for the tests that apply plans against Amazon DynamoDB Local
//! (started by `scripts/servers.sh`): `tests/apply_local.rs` and
//! `tests/apply_faults.rs`. They live here, once, because both files must set
//! up, load, read and judge a table in exactly the same way: if the two
//! copies drifted apart, one file could pass while checking less than the
//! other believes it does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PutRequest, ScalarAttributeType, WriteRequest};
use ddbsnap::apply::value::{item_from_sdk, item_to_sdk};
use ddbsnap::item::{AttrValue, Item, same_item};
use ddbsnap::plan::file::PlanFile;
use futures::StreamExt;
use serde_json::Value;

use super::{Run, ddbsnap};

/// DynamoDB Local's endpoint, or None to skip the test: the tests are skipped
/// without `DDBSNAP_TEST_DYNAMODB_ENDPOINT`, unless
/// `DDBSNAP_REQUIRE_SERVERS=1` (as `scripts/test.sh` sets), where a missing
/// server fails the test instead of passing it unseen.
pub fn endpoint() -> Option<String> {
    match std::env::var("DDBSNAP_TEST_DYNAMODB_ENDPOINT") {
        Ok(e) => Some(e),
        Err(_) if std::env::var("DDBSNAP_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("DDBSNAP_REQUIRE_SERVERS=1 but DDBSNAP_TEST_DYNAMODB_ENDPOINT is not set; start them with scripts/servers.sh start")
        }
        Err(_) => None,
    }
}

/// The runtime the tests drive the SDK with (the tests themselves are plain
/// `#[test]`s, as they also run the binary and sleep between kills).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A client straight to `endpoint` (DynamoDB Local, never a fault-injecting
/// proxy): the tests' own loading and reading must not meet the faults.
pub async fn client(endpoint: &str) -> Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    // Generous connect timeouts and retries: on a loaded 2-core machine
    // DynamoDB Local can take seconds to accept a connection, and the
    // harness's own setup must not fail a test that judges ddbsnap.
    let timeouts = aws_config::timeout::TimeoutConfig::builder().connect_timeout(std::time::Duration::from_secs(30)).build();
    let retries = aws_config::retry::RetryConfig::standard().with_max_attempts(8);
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&shared).endpoint_url(endpoint).timeout_config(timeouts).retry_config(retries).build(),
    )
}

/// Creates a table keyed by `id` (as Amplify's are) under a fresh name, so
/// that tests running at once, or again on the same server, never share one:
/// the process id, a counter within the process and the clock's
/// milliseconds. Because the name is this call's alone, a table that already
/// has it can only come from this call's own first attempt (the SDK retries
/// a CreateTable whose answer was lost), and is taken as created.
pub async fn create_table(c: &Client, prefix: &str) -> String {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() % 1_000_000).unwrap_or(0);
    let name = format!("{prefix}-{}{call:03}{millis:06}-NONE", std::process::id());
    let created = c
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap())
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await;
    if let Err(e) = created
        && !e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception())
    {
        panic!("CreateTable {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e));
    }
    name
}

/// PUTs `items` (whole items: an item already there is replaced, which is
/// how the SIGKILL trials put the table back between trials), retrying what
/// BatchWriteItem leaves unprocessed.
pub async fn load(c: &Client, table: &str, items: &[Item]) {
    futures::stream::iter(items.chunks(25))
        .for_each_concurrent(8, |chunk| async move {
            let mut reqs: Vec<WriteRequest> = chunk
                .iter()
                .map(|it| {
                    WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item_to_sdk(it))).build().unwrap()).build()
                })
                .collect();
            while !reqs.is_empty() {
                let out = c.batch_write_item().request_items(table, reqs).send().await.unwrap();
                reqs = out.unprocessed_items().and_then(|m| m.get(table)).cloned().unwrap_or_default();
            }
        })
        .await;
}

/// Every item of `table` by `id`, read with a consistent Scan.
pub async fn scan(c: &Client, table: &str) -> HashMap<String, Item> {
    let mut out = HashMap::new();
    let mut start = None;
    loop {
        let r = c.scan().table_name(table).consistent_read(true).set_exclusive_start_key(start).send().await.unwrap();
        for m in r.items() {
            let it = item_from_sdk(m).unwrap();
            assert!(out.insert(id_of(&it), it).is_none(), "a scan returned an item twice");
        }
        start = r.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// An item's `id` (the key of every table here).
pub fn id_of(it: &Item) -> String {
    match &it["id"] {
        AttrValue::S(s) => s.clone(),
        other => panic!("id {other:?}"),
    }
}

/// `items` by `id`, as `scan` returns a table.
pub fn by_id(items: &[Item]) -> HashMap<String, Item> {
    items.iter().map(|it| (id_of(it), it.clone())).collect()
}

/// The items of the export in `dir`, read through the library.
pub fn export_items(dir: &Path) -> Vec<Item> {
    runtime().block_on(async {
        let env = ddbsnap::load::LoadEnv { read: ddbsnap::snapshot::ReadOptions::default(), ..Default::default() };
        let tables = ddbsnap::load::locate(&[dir.display().to_string()], &env).await.unwrap();
        let loaded = ddbsnap::load::load_table(&tables[0], &env).await.unwrap();
        loaded.batches.iter().flat_map(|b| ddbsnap::convert::batch_to_items(b).unwrap()).collect()
    })
}

/// The start most apply tests share: the Contact fixture
/// (`testdata/contacts`) loaded into a fresh table of DynamoDB Local, and its
/// `split_name` plan in a temporary folder. Bind every field, `_tmp` too:
/// dropping it deletes the plan.
pub struct SplitContacts {
    pub ep: String,
    pub rt: tokio::runtime::Runtime,
    /// Straight to DynamoDB Local (see `client`).
    pub c: Client,
    /// The fixture's items, as loaded.
    pub original: Vec<Item>,
    /// The table's name (model Contact).
    pub table: String,
    /// The plan's folder.
    pub plan: PathBuf,
    /// The plan's SHA-256, for `--approve`.
    pub sha: String,
    pub _tmp: tempfile::TempDir,
}

impl SplitContacts {
    /// None: skip the test (see `endpoint`).
    pub fn start() -> Option<SplitContacts> {
        let ep = endpoint()?;
        let rt = runtime();
        let original = export_items(&super::testdata("contacts"));
        let c = rt.block_on(client(&ep));
        let table = rt.block_on(create_table(&c, "Contact"));
        rt.block_on(load(&c, &table, &original));
        let tmp = tempfile::tempdir().unwrap();
        let plan_dir = tmp.path().join("split");
        let sha = plan("split_name", Path::new("testdata/contacts"), &plan_dir, &[], 0);
        Some(SplitContacts { ep, rt, c, original, table, plan: plan_dir, sha, _tmp: tmp })
    }
}

/// Plans `recipe` on `export` into `dir`; returns the plan's SHA-256. `code`
/// is the exit code expected (1: the plan is written, but checks fail after it).
pub fn plan(recipe: &str, export: &Path, dir: &Path, extra: &[&str], code: i32) -> String {
    let mut args = vec!["plan", "-q", "-t", recipe, export.to_str().unwrap(), "--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = ddbsnap(&args);
    assert_eq!(run.code, Some(code), "{}", run.show());
    run.stdout.lines().next().unwrap().strip_prefix("plan ").unwrap().to_string()
}

/// The arguments of `ddbsnap apply` for `plan`, `--table` giving `map`
/// (MODEL=TABLE), JSON report on stdout.
pub fn apply_args(endpoint: &str, plan: &Path, sha: &str, map: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["apply", plan.to_str().unwrap(), "--approve", &sha[..12], "--dynamodb-endpoint-url", endpoint];
    args.extend(["--table", map, "--format", "json", "-q"]);
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

/// A run's JSON report (`--format json`), or a panic that shows the run.
pub fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("the report is not JSON ({e})\n{}", run.show()))
}

/// Where `apply` keeps the journal of `plan`: beside it, `PLAN.journal`.
pub fn journal_path(plan: &Path) -> PathBuf {
    plan.with_file_name(format!("{}.journal", plan.file_name().unwrap().to_str().unwrap()))
}

/// The updatedAt each operation of the apply of `plan` stamped, by
/// sequence number: the time its write was sent, as the journal records it
/// (`stamp_ms`), which the expected table needs.
pub fn journal_stamps(plan: &Path) -> HashMap<u64, String> {
    let text = std::fs::read_to_string(journal_path(plan)).unwrap();
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let Ok(e) = serde_json::from_str::<Value>(line) else { continue };
        if let (Some(seq), Some(ms)) = (e["seq"].as_u64(), e["stamp_ms"].as_i64()) {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            out.insert(seq, t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }
    out
}

/// [`journal_stamps`] by the `id` of each operation's item.
pub fn stamps_by_id(plan: &Path) -> HashMap<String, String> {
    let stamps = journal_stamps(plan);
    PlanFile::open(plan)
        .unwrap()
        .ops()
        .unwrap()
        .map(|op| op.unwrap())
        .filter_map(|op| Some((id_of(&op.key), stamps.get(&op.seq)?.clone())))
        .collect()
}

/// The target table as the plan leaves it: `original` (empty: the table
/// started empty) with every operation's after-image, stamped with the
/// apply's updatedAt (the fixtures have no DataStore `_version`), except the
/// operations on the keys in `skip` (conflicts: those items keep what the
/// caller puts there).
pub fn expected_after(plan: &Path, original: &[Item], stamps: &HashMap<u64, String>, skip: &[String]) -> HashMap<String, Item> {
    let mut want = by_id(original);
    for op in PlanFile::open(plan).unwrap().ops().unwrap() {
        let op = op.unwrap();
        let id = id_of(&op.key);
        if skip.contains(&id) {
            continue;
        }
        let mut after = op.after().expect("these plans delete nothing");
        assert!(!after.contains_key("_version"), "expected_after does not model DataStore's _version");
        // An operation not journaled yet (a killed run) has no known time:
        // its updatedAt is left out, and `matches` takes any.
        match stamps.get(&op.seq) {
            Some(stamp) => after.insert("updatedAt".into(), AttrValue::S(stamp.clone())),
            None => after.remove("updatedAt"),
        };
        want.insert(id, after);
    }
    want
}

/// Asserts that the table `actual` holds exactly the items of `want`: none
/// missing, none extra, each the same (`same_item`). `context` leads every
/// failure message.
pub fn assert_table(actual: &HashMap<String, Item>, want: &HashMap<String, Item>, context: &str) {
    let missing: Vec<&String> = want.keys().filter(|id| !actual.contains_key(*id)).collect();
    let extra: Vec<&String> = actual.keys().filter(|id| !want.contains_key(*id)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{context}: {} items missing {missing:?}, {} unexpected {extra:?}",
        missing.len(),
        extra.len()
    );
    for (id, w) in want {
        let a = &actual[id];
        assert!(matches(a, w), "{context}: item {id}\nactual {a:?}\nwanted {w:?}");
    }
}

/// `same_item`, except that a wanted item without `updatedAt` (a write
/// whose time is not known: see `expected_after`) takes any `updatedAt`.
pub fn matches(actual: &Item, want: &Item) -> bool {
    if want.contains_key("updatedAt") || !actual.contains_key("updatedAt") {
        return same_item(actual, want);
    }
    let mut a = actual.clone();
    a.remove("updatedAt");
    same_item(&a, want)
}
