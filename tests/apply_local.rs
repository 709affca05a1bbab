//! Applying plans against Amazon DynamoDB Local (started by
//! `scripts/servers.sh`): a table shaped like Amplify's is loaded with the
//! Contact fixture, a plan is made from the fixture's export, applied,
//! verified and rolled back, and the table is compared with the expected
//! state item by item (Scan).
//!
//! Skipped without `DDBSNAP_TEST_DYNAMODB_ENDPOINT`, unless
//! `DDBSNAP_REQUIRE_SERVERS=1` (as `scripts/test.sh` sets), where a missing
//! server fails the test.

mod common;

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PutRequest, ScalarAttributeType, WriteRequest};
use common::ddbsnap;
use ddbsnap::apply::value::{item_from_sdk, item_to_sdk};
use ddbsnap::item::{AttrValue, Item, same_item};
use ddbsnap::plan::file::PlanFile;
use serde_json::Value;

fn endpoint() -> Option<String> {
    match std::env::var("DDBSNAP_TEST_DYNAMODB_ENDPOINT") {
        Ok(e) => Some(e),
        Err(_) if std::env::var("DDBSNAP_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("DDBSNAP_REQUIRE_SERVERS=1 but DDBSNAP_TEST_DYNAMODB_ENDPOINT is not set; start them with scripts/servers.sh start")
        }
        Err(_) => None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn client(endpoint: &str) -> Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&shared).endpoint_url(endpoint).build())
}

/// Creates a table keyed by `id` (as Amplify's are) under a fresh name.
async fn create_table(c: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}-NONE", std::process::id() as u64 * 1000 + rand_suffix());
    c.create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap())
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await
        .unwrap();
    name
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    h.finish() % 1000
}

async fn load(c: &Client, table: &str, items: &[Item]) {
    for chunk in items.chunks(25) {
        let mut reqs: Vec<WriteRequest> = chunk
            .iter()
            .map(|it| WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item_to_sdk(it))).build().unwrap()).build())
            .collect();
        while !reqs.is_empty() {
            let out = c.batch_write_item().request_items(table, reqs).send().await.unwrap();
            reqs = out.unprocessed_items().and_then(|m| m.get(table)).cloned().unwrap_or_default();
        }
    }
}

async fn scan(c: &Client, table: &str) -> HashMap<String, Item> {
    let mut out = HashMap::new();
    let mut start = None;
    loop {
        let r = c.scan().table_name(table).consistent_read(true).set_exclusive_start_key(start).send().await.unwrap();
        for m in r.items() {
            let it = item_from_sdk(m).unwrap();
            out.insert(id_of(&it), it);
        }
        start = r.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

fn id_of(it: &Item) -> String {
    match &it["id"] {
        AttrValue::S(s) => s.clone(),
        other => panic!("id {other:?}"),
    }
}

/// The fixture's items, read through the library.
fn fixture_items() -> Vec<Item> {
    runtime().block_on(async {
        let env =
            ddbsnap::load::LoadEnv { read: ddbsnap::snapshot::ReadOptions { concurrency: 2, ..Default::default() }, ..Default::default() };
        let dir = common::testdata("contacts").display().to_string();
        let tables = ddbsnap::load::locate(&[dir], &env).await.unwrap();
        let loaded = ddbsnap::load::load_table(&tables[0], &env).await.unwrap();
        loaded.batches.iter().flat_map(|b| ddbsnap::convert::batch_to_items(b).unwrap()).collect()
    })
}

fn plan_split(dir: &Path) -> String {
    let run = ddbsnap(&["plan", "-q", "-t", "split_name", "testdata/contacts", "--out", dir.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    run.stdout.lines().next().unwrap().strip_prefix("plan ").unwrap().to_string()
}

fn apply(endpoint: &str, plan: &Path, sha: &str, table: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["apply", plan.to_str().unwrap(), "--approve", &sha[..12], "--endpoint-url", endpoint];
    let map = format!("Contact={table}");
    args.extend(["--table", &map, "--format", "json", "-q"]);
    args.extend_from_slice(extra);
    ddbsnap(&args)
}

/// The table as the plan leaves it, with the apply's updatedAt stamp.
fn expected_after(plan: &Path, original: &[Item], stamp: &str, skip: &[String]) -> HashMap<String, Item> {
    let mut want: HashMap<String, Item> = original.iter().map(|it| (id_of(it), it.clone())).collect();
    for op in PlanFile::open(plan).unwrap().ops().unwrap() {
        let op = op.unwrap();
        let id = id_of(&op.key);
        if skip.contains(&id) {
            continue;
        }
        let mut after = op.after().unwrap();
        after.insert("updatedAt".into(), AttrValue::S(stamp.into()));
        want.insert(id, after);
    }
    want
}

fn journal_stamp(plan: &Path) -> String {
    let j = plan.with_file_name(format!("{}.journal", plan.file_name().unwrap().to_str().unwrap()));
    let first = std::fs::read_to_string(j).unwrap().lines().next().unwrap().to_string();
    serde_json::from_str::<Value>(&first).unwrap()["stamp_now"].as_str().unwrap().to_string()
}

fn assert_table(actual: &HashMap<String, Item>, want: &HashMap<String, Item>) {
    assert_eq!(actual.len(), want.len());
    for (id, w) in want {
        let a = actual.get(id).unwrap_or_else(|| panic!("item {id} missing"));
        assert!(same_item(a, w), "item {id}\nactual {a:?}\nwanted {w:?}");
    }
}

#[test]
fn apply_verify_and_rollback_leave_exactly_the_expected_table() {
    let Some(ep) = endpoint() else { return };
    let rt = runtime();
    let original = fixture_items();
    let c = rt.block_on(client(&ep));
    let table = rt.block_on(create_table(&c, "Contact"));
    rt.block_on(load(&c, &table, &original));
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("split");
    let sha = plan_split(&plan);

    // A dry run writes nothing and leaves no journal.
    let dry = apply(&ep, &plan, &sha, &table, &["--dry-run"]);
    assert_eq!(dry.code, Some(0), "{}", dry.show());
    assert_table(&rt.block_on(scan(&c, &table)), &original.iter().map(|i| (id_of(i), i.clone())).collect());
    assert!(!plan.with_file_name("split.journal").exists());

    // A wrong approval is refused.
    let wrong =
        ddbsnap(&["apply", plan.to_str().unwrap(), "--approve", "00000000", "--endpoint-url", &ep, "--table", &format!("Contact={table}")]);
    assert_eq!(wrong.code, Some(2), "{}", wrong.show());

    let run = apply(&ep, &plan, &sha, &table, &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let ops = PlanFile::open(&plan).unwrap().manifest.ops_file.rows;
    assert_eq!(report["written"], ops);
    let stamp = journal_stamp(&plan);
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan, &original, &stamp, &[]));

    let v = ddbsnap(&["verify", plan.to_str().unwrap(), "--endpoint-url", &ep, "--table", &format!("Contact={table}"), "--format", "json"]);
    assert_eq!(v.code, Some(0), "{}", v.show());

    // Applying again resumes nothing and changes nothing.
    let again = apply(&ep, &plan, &sha, &table, &["--resume"]);
    assert_eq!(again.code, Some(0), "{}", again.show());
    assert_eq!(serde_json::from_str::<Value>(&again.stdout).unwrap()["already_journaled"], ops);

    let journal = plan.with_file_name("split.journal");
    let rb = ddbsnap(&[
        "rollback",
        journal.to_str().unwrap(),
        "--endpoint-url",
        &ep,
        "--table",
        &format!("Contact={table}"),
        "--format",
        "json",
        "-q",
    ]);
    assert_eq!(rb.code, Some(0), "{}", rb.show());
    assert_table(&rt.block_on(scan(&c, &table)), &original.iter().map(|i| (id_of(i), i.clone())).collect());
}

#[test]
fn items_changed_after_the_snapshot_are_conflicts_and_stay_as_they_are() {
    let Some(ep) = endpoint() else { return };
    let rt = runtime();
    let original = fixture_items();
    let c = rt.block_on(client(&ep));
    let table = rt.block_on(create_table(&c, "Contact"));
    // Three items were edited by the app after the export (updatedAt moves on).
    let named: Vec<&Item> = original.iter().filter(|i| matches!(i.get("name"), Some(AttrValue::S(s)) if !s.trim().is_empty())).collect();
    let mut live = original.clone();
    let mut changed = Vec::new();
    for it in live.iter_mut().filter(|i| named.iter().take(3).any(|n| id_of(n) == id_of(i))) {
        it.insert("updatedAt".into(), AttrValue::S("2030-01-01T00:00:00.000Z".into()));
        changed.push(id_of(it));
    }
    assert_eq!(changed.len(), 3);
    rt.block_on(load(&c, &table, &live));
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("split");
    let sha = plan_split(&plan);
    let run = apply(&ep, &plan, &sha, &table, &[]);
    assert_eq!(run.code, Some(1), "conflicts exit 1\n{}", run.show());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["conflicts"], 3);
    let mut conflicted: Vec<String> = report["conflict_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| id_of(&ddbsnap::item::ddbjson::item_from_str(c["key"].as_str().unwrap()).unwrap()))
        .collect();
    conflicted.sort();
    changed.sort();
    assert_eq!(conflicted, changed);
    let stamp = journal_stamp(&plan);
    let mut want = expected_after(&plan, &original, &stamp, &changed);
    for it in live.iter().filter(|i| changed.contains(&id_of(i))) {
        want.insert(id_of(it), it.clone());
    }
    assert_table(&rt.block_on(scan(&c, &table)), &want);
    let v = ddbsnap(&["verify", plan.to_str().unwrap(), "--endpoint-url", &ep, "--table", &format!("Contact={table}"), "--format", "json"]);
    assert_eq!(v.code, Some(1), "{}", v.show());
    assert_eq!(serde_json::from_str::<Value>(&v.stdout).unwrap()["mismatches"].as_array().unwrap().len(), 3);
}

#[test]
fn a_lost_journal_tail_is_resumed_without_losing_or_doubling_a_write() {
    let Some(ep) = endpoint() else { return };
    let rt = runtime();
    let original = fixture_items();
    let c = rt.block_on(client(&ep));
    let table = rt.block_on(create_table(&c, "Contact"));
    rt.block_on(load(&c, &table, &original));
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("split");
    let sha = plan_split(&plan);
    assert_eq!(apply(&ep, &plan, &sha, &table, &[]).code, Some(0));
    // As if the process died after writing but before journaling the last half.
    let journal = plan.with_file_name("split.journal");
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keep = 1 + (lines.len() - 1) / 2;
    std::fs::write(&journal, lines[..keep].join("\n") + "\n" + &lines[keep][..lines[keep].len() / 2]).unwrap();
    let run = apply(&ep, &plan, &sha, &table, &["--resume"]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["already_journaled"], (keep - 1) as u64);
    assert_eq!(report["written"], 0, "every write had landed: the conditions recognise them");
    assert_eq!(
        report["already_applied"].as_u64().unwrap() + report["already_journaled"].as_u64().unwrap(),
        report["operations"].as_u64().unwrap()
    );
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan, &original, &journal_stamp(&plan), &[]));
}
