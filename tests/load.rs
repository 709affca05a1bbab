//! `ddbsnap load` against Amazon DynamoDB Local (scripts/servers.sh): an
//! export and CSV rows typed by the Amplify model into tables it creates,
//! converted Parquet, refusals before the first write, and a load killed
//! with SIGKILL and resumed from its journal.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::dynamo::{self, by_id, export_items, id_of, matches};
use common::{ddbsnap, testdata};
use ddbsnap::item::{AttrValue, Item, Number};

const MODEL: &str = r#"{"version":"1","data":{"model_introspection":{"version":1,
"enums":{"Status":{"name":"Status","values":["ACTIVE","ARCHIVED"]}},
"nonModels":{"Address":{"name":"Address","fields":{
  "city":{"name":"city","isArray":false,"type":"String","isRequired":false,"attributes":[]},
  "zip":{"name":"zip","isArray":false,"type":"String","isRequired":false,"attributes":[]}}}},
"models":{"Contact":{"name":"Contact","pluralName":"Contacts","syncable":true,
  "attributes":[{"type":"model","properties":{}},{"type":"auth","properties":{"rules":[{"provider":"userPools","ownerField":"owner","allow":"owner","identityClaim":"cognito:username","operations":["create","update","delete","read"]}]}}],
  "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{
    "id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
    "name":{"name":"name","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "code":{"name":"code","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "age":{"name":"age","isArray":false,"type":"Int","isRequired":false,"attributes":[]},
    "score":{"name":"score","isArray":false,"type":"Float","isRequired":false,"attributes":[]},
    "isActive":{"name":"isActive","isArray":false,"type":"Boolean","isRequired":false,"attributes":[]},
    "status":{"name":"status","isArray":false,"type":{"enum":"Status"},"isRequired":false,"attributes":[]},
    "tags":{"name":"tags","isArray":true,"type":"String","isRequired":false,"attributes":[],"isArrayNullable":true},
    "address":{"name":"address","isArray":false,"type":{"nonModel":"Address"},"isRequired":false,"attributes":[]},
    "owner":{"name":"owner","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "createdAt":{"name":"createdAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true},
    "updatedAt":{"name":"updatedAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true}}}}}}}"#;

const ROWS: &str = "name,code,age,score,isActive,status,tags,address\n\
\"41.0\",007,41,12345678901234567890.5,true,ACTIVE,\"[\"\"a\"\",\"\"b\"\"]\",\"{\"\"city\"\":\"\"Oslo\"\",\"\"zip\"\":\"\"0150\"\"}\"\n\
Ann,\"\",,,FALSE,,,\n";

/// A fresh table name on DynamoDB Local.
fn table_name(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 10_000_000;
    format!("Load{tag}-{}{n}{ms}-NONE", std::process::id())
}

fn n(text: &str) -> AttrValue {
    AttrValue::N(Number::parse(text).unwrap())
}

fn s(text: &str) -> AttrValue {
    AttrValue::S(text.into())
}

fn scan(ep: &str, table: &str) -> HashMap<String, Item> {
    let rt = dynamo::runtime();
    rt.block_on(async { dynamo::scan(&dynamo::client(ep).await, table).await })
}

#[test]
fn an_export_and_typed_csv_rows_load_into_created_tables() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (model, csv) = (dir.path().join("amplify_outputs.json"), dir.path().join("contacts.csv"));
    std::fs::write(&model, MODEL).unwrap();
    std::fs::write(&csv, ROWS).unwrap();
    let table = table_name("Csv");
    let journal = dir.path().join("load.journal");
    let contacts = testdata("contacts");
    let run = ddbsnap(&[
        "load",
        contacts.to_str().unwrap(),
        "--csv",
        &format!("Contact={}", csv.display()),
        "--amplify",
        model.to_str().unwrap(),
        "--create",
        "--owner",
        "sub-1::alice",
        "--to-table",
        &format!("Contact={table}"),
        "--journal",
        journal.to_str().unwrap(),
        "--dynamodb-endpoint-url",
        &ep,
        "--format",
        "json",
    ])
    .ok();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["tables"][0]["created"], true, "{}", run.show());
    assert!(!journal.exists(), "a finished load removes its journal");
    let original = export_items(&contacts);
    let got = scan(&ep, &table);
    assert_eq!(got.len(), original.len() + 2, "{}", run.show());
    // The export's items arrive exactly as exported.
    for (id, want) in by_id(&original) {
        assert!(matches(&got[&id], &want), "{id}: {:?} != {want:?}", got[&id]);
    }
    let csv_items: Vec<&Item> = got.values().filter(|it| !original.iter().any(|o| id_of(o) == id_of(it))).collect();
    let first = csv_items.iter().find(|it| it.get("name") == Some(&s("41.0"))).expect("the first CSV row");
    // Typed by the model: String fields stay strings, however numeric they look.
    assert_eq!(first["code"], s("007"));
    assert_eq!(first["age"], n("41"));
    assert_eq!(first["score"], n("12345678901234567890.5"));
    assert_eq!(first["isActive"], AttrValue::Bool(true));
    assert_eq!(first["tags"], AttrValue::L(vec![s("a"), s("b")]));
    assert_eq!(first["address"], AttrValue::M([("city".to_string(), s("Oslo")), ("zip".to_string(), s("0150"))].into()));
    // Amplify's own fields, as the app writes them.
    assert_eq!(first["__typename"], s("Contact"));
    assert_eq!(first["owner"], s("sub-1::alice"));
    assert!(matches!(&first["createdAt"], AttrValue::S(t) if t.ends_with('Z') && t.len() == 24), "{first:?}");
    assert_eq!(first["createdAt"], first["updatedAt"]);
    assert_eq!(id_of(first).len(), 36);
    // An empty cell leaves the attribute out; "" is the empty string.
    let second = csv_items.iter().find(|it| it.get("name") == Some(&s("Ann"))).expect("the second CSV row");
    assert_eq!(second["code"], s(""));
    assert!(!second.contains_key("age") && !second.contains_key("tags"), "{second:?}");
    assert_eq!(second["isActive"], AttrValue::Bool(false));

    // The table now holds items: a second load is refused before writing,
    // and leaves no journal behind.
    let again = ddbsnap(&[
        "load",
        contacts.to_str().unwrap(),
        "--to-table",
        &format!("Contact={table}"),
        "--journal",
        journal.to_str().unwrap(),
        "--dynamodb-endpoint-url",
        &ep,
    ]);
    assert_eq!(again.code, Some(2), "{}", again.show());
    assert!(again.stderr.contains("already holds items") && again.stderr.contains("--allow-existing"), "{}", again.show());
    assert!(!journal.exists());
}

#[test]
fn bad_rows_and_missing_targets_are_refused_before_any_write() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).unwrap();
    let cases: [(&str, &[&str]); 5] = [
        ("name,age\nBo,41.5\n", &["bad.csv:2:", "field age", "not an integer"]),
        ("name,nmae\nBo,x\n", &["bad.csv:1:", "\"nmae\" is not a field of model Contact"]),
        ("name,status\nBo,GONE\n", &["bad.csv:2:", "not a value of enum Status"]),
        ("name,isActive\nBo,yes\n", &["bad.csv:2:", "not true or false"]),
        ("name,age\nBo\n", &["bad.csv:2:", "1 cells, but the header names 2"]),
    ];
    let table = table_name("Bad");
    for (text, words) in cases {
        let csv = dir.path().join("bad.csv");
        std::fs::write(&csv, text).unwrap();
        let run = ddbsnap(&[
            "load",
            "--csv",
            &format!("Contact={}", csv.display()),
            "--amplify",
            model.to_str().unwrap(),
            "--create",
            "--to-table",
            &format!("Contact={table}"),
            "--dynamodb-endpoint-url",
            &ep,
        ]);
        assert_eq!(run.code, Some(2), "{}", run.show());
        for w in words {
            assert!(run.stderr.contains(w), "{w:?} in\n{}", run.show());
        }
    }
    let missing = ddbsnap(&["load", "testdata/contacts", "--to-table", &format!("Contact={table}"), "--dynamodb-endpoint-url", &ep]);
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("does not exist") && missing.stderr.contains("--create"), "{}", missing.show());
    let unnamed = ddbsnap(&["load", "testdata/contacts", "--to-table", "Order=XYZ", "--dynamodb-endpoint-url", &ep]);
    assert!(unnamed.stderr.contains("no --to-table names"), "{}", unnamed.show());
    let ambiguous = ddbsnap(&["load", "s3://bucket/p", "--to-table", "Contact=XYZ", "--endpoint-url", &ep]);
    assert!(ambiguous.stderr.contains("ambiguous for `load`"), "{}", ambiguous.show());
    // With local sources the old flag can only mean DynamoDB.
    let local = ddbsnap(&["load", "testdata/contacts", "--to-table", &format!("Contact={table}"), "--endpoint-url", &ep]);
    assert!(local.stderr.contains("does not exist") && local.stderr.contains(&ep), "{}", local.show());
    // Nothing was created by any of them.
    let rt = dynamo::runtime();
    let exists = rt.block_on(async { dynamo::client(&ep).await.describe_table().table_name(&table).send().await.is_ok() });
    assert!(!exists, "a refused load created {table}");
}

#[test]
fn converted_parquet_loads_exactly() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let contacts = testdata("contacts");
    ddbsnap(&["convert", contacts.to_str().unwrap(), "--to", dir.path().join("pq").to_str().unwrap()]).ok();
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).unwrap();
    let table = table_name("Pq");
    let journal = dir.path().join("j");
    ddbsnap(&[
        "load",
        "--parquet",
        dir.path().join("pq").to_str().unwrap(),
        "--amplify",
        model.to_str().unwrap(),
        "--create",
        "--to-table",
        &format!("Contact={table}"),
        "--journal",
        journal.to_str().unwrap(),
        "--dynamodb-endpoint-url",
        &ep,
    ])
    .ok();
    let got = scan(&ep, &table);
    let want = by_id(&export_items(&contacts));
    assert_eq!(got.len(), want.len());
    for (id, w) in want {
        assert!(matches(&got[&id], &w), "{id}");
    }
}

/// Runs `ddbsnap ARGS` and kills it (SIGKILL) once its journal holds 30
/// lines; returns the items it journaled.
fn kill_part_way(args: &[String], journal: &Path) -> usize {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
        .args(args)
        .current_dir(common::root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = || std::fs::read_to_string(journal).map(|t| t.lines().count()).unwrap_or(0);
    let started = std::time::Instant::now();
    while lines() < 30 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines().saturating_sub(1)
}

#[test]
fn a_load_killed_part_way_resumes_from_its_journal() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).unwrap();
    let journal = dir.path().join("load.journal");
    let table = table_name("Kill");
    let contacts = testdata("contacts");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> =
            ["load", contacts.to_str().unwrap(), "--amplify", model.to_str().unwrap(), "--create"].iter().map(|s| s.to_string()).collect();
        v.extend(["--to-table".into(), format!("Contact={table}"), "--journal".into(), journal.display().to_string()]);
        v.extend(["--dynamodb-endpoint-url".into(), ep.clone(), "--concurrency".into(), "1".into()]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    // 199 items at 40 write units a second: about five seconds of writing.
    let recorded = kill_part_way(&args(&["--max-wcu-per-sec", "40"]), &journal);
    assert!(recorded > 0 && recorded < 199, "killed part way: {recorded} items journaled");
    // Without --resume the journal stops a second, unrelated start.
    let fresh = ddbsnap(&args(&[]));
    assert!(fresh.stderr.contains("--resume"), "{}", fresh.show());
    let resumed = ddbsnap(&args(&["--resume", "--format", "json"])).ok();
    let report: serde_json::Value = serde_json::from_str(&resumed.stdout).unwrap();
    let t = &report["tables"][0];
    assert_eq!(t["already"].as_u64().unwrap() + t["items"].as_u64().unwrap(), 199, "{}", resumed.show());
    assert!(t["already"].as_u64().unwrap() >= recorded as u64);
    assert_eq!(scan(&ep, &table).len(), 199);
    assert!(!journal.exists());

    // A table deleted and created again holds none of the journaled items:
    // resuming into it is refused, never reported as complete.
    let table2 = table_name("Recreated");
    let args2 = |extra: &[&str]| -> Vec<String> {
        args(extra).into_iter().map(|a| if a == format!("Contact={table}") { format!("Contact={table2}") } else { a }).collect()
    };
    kill_part_way(&args2(&["--max-wcu-per-sec", "40"]), &journal);
    dynamo::runtime().block_on(async { dynamo::client(&ep).await.delete_table().table_name(&table2).send().await.unwrap() });
    let resumed = ddbsnap(&args2(&["--resume"]));
    assert_eq!(resumed.code, Some(2), "{}", resumed.show());
    assert!(resumed.stderr.contains("is not the table this load began writing"), "{}", resumed.show());
}

const INDEXED: &str = r#"{"version":"1","data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},
"models":{"Ticket":{"name":"Ticket","pluralName":"Tickets","syncable":true,
  "attributes":[{"type":"model","properties":{}},
    {"type":"key","properties":{"name":"ticketsByQueue","queryField":"listTicketsByQueue","fields":["queue","status","createdAt"]}},
    {"type":"key","properties":{"name":"ticketsByEmail","queryField":"listTicketsByEmail","fields":["email"]}}],
  "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{
    "id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
    "queue":{"name":"queue","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "status":{"name":"status","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "email":{"name":"email","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "body":{"name":"body","isArray":false,"type":"String","isRequired":false,"attributes":[]},
    "createdAt":{"name":"createdAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true},
    "updatedAt":{"name":"updatedAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true}}}}}}}"#;

fn load_csv(ep: &str, dir: &Path, model: &str, rows: &str, table: &str, extra: &[&str]) -> common::Run {
    let (m, csv) = (dir.join("model.json"), dir.join("rows.csv"));
    std::fs::write(&m, model).unwrap();
    std::fs::write(&csv, rows).unwrap();
    let mut args: Vec<String> = ["load", "--csv", &format!("Ticket={}", csv.display()), "--amplify", m.to_str().unwrap(), "--create"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--to-table".into(), format!("Ticket={table}"), "--journal".into(), dir.join("j").display().to_string()]);
    args.extend(["--dynamodb-endpoint-url".into(), ep.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    ddbsnap(&args)
}

fn table_exists(ep: &str, table: &str) -> bool {
    dynamo::runtime().block_on(async { dynamo::client(ep).await.describe_table().table_name(table).send().await.is_ok() })
}

#[test]
fn composite_sort_key_indexes_are_created_and_filled() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = table_name("Gsi");
    load_csv(&ep, dir.path(), INDEXED, "queue,status,email\nq1,OPEN,a@x.co\nq1,DONE,\n", &table, &[]).ok();
    let described =
        dynamo::runtime().block_on(async { dynamo::client(&ep).await.describe_table().table_name(&table).send().await.unwrap() });
    let mut indexes: Vec<(String, Vec<String>)> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .map(|g| (g.index_name().unwrap().to_string(), g.key_schema().iter().map(|k| k.attribute_name().to_string()).collect()))
        .collect();
    indexes.sort();
    assert_eq!(
        indexes,
        vec![
            ("ticketsByEmail".to_string(), vec!["email".to_string()]),
            ("ticketsByQueue".to_string(), vec!["queue".to_string(), "status#createdAt".to_string()])
        ]
    );
    for it in scan(&ep, &table).values() {
        let (AttrValue::S(st), AttrValue::S(at)) = (&it["status"], &it["createdAt"]) else { panic!("{it:?}") };
        assert_eq!(it["status#createdAt"], s(&format!("{st}#{at}")), "{it:?}");
    }
}

#[test]
fn items_dynamodb_would_refuse_are_refused_before_anything_is_created() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let big = format!("queue,body\nq1,small\nq2,{}\n", "A".repeat(420_000));
    let long_key = format!("id,queue\nshort,q1\n{},q2\n", "k".repeat(2100));
    let long_index = format!("queue,email\nq1,a@x.co\n{},b@x.co\n", "q".repeat(2100));
    let cases: [(&str, &[&str]); 5] = [
        (&big, &["rows.csv:3:", "over DynamoDB's 400 KB limit"]),
        (&long_key, &["rows.csv:3:", "key attribute id", "at most 2048 bytes in a partition key"]),
        (&long_index, &["rows.csv:3:", "attribute queue, a secondary index key", "at most 2048 bytes"]),
        ("queue,email\nq1,a@x.co\nq2,\"\"\n", &["rows.csv:3:", "email, a secondary index key", "must not be empty"]),
        ("queue,createdAt\nq1,yesterday\n", &["rows.csv:2:", "not a valid AWSDateTime"]),
    ];
    for (rows, words) in cases {
        let table = table_name("Refuse");
        let run = load_csv(&ep, dir.path(), INDEXED, rows, &table, &[]);
        assert_eq!(run.code, Some(2), "{}", run.show());
        for w in words {
            assert!(run.stderr.contains(w), "{w:?}\n{}", run.show());
        }
        assert!(!table_exists(&ep, &table), "a refused load created {table}");
        assert!(!dir.path().join("j").exists(), "a refused load left a journal");
    }
}

#[test]
fn two_sources_into_one_table_may_not_share_keys() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).unwrap();
    let rt = dynamo::runtime();
    let table = rt.block_on(async { dynamo::create_table(&dynamo::client(&ep).await, "LoadTwo").await });
    let run = ddbsnap(&[
        "load",
        "A=testdata/contacts",
        "B=testdata/contacts",
        "--to-table",
        &format!("A={table}"),
        "--to-table",
        &format!("B={table}"),
        "--journal",
        dir.path().join("j").to_str().unwrap(),
        "--dynamodb-endpoint-url",
        &ep,
    ]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("appears twice among the items for table"), "{}", run.show());
    assert!(scan(&ep, &table).is_empty(), "nothing was written");
}

#[test]
fn odd_flags_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notes.txt");
    std::fs::write(&journal, "my notes\n").unwrap();
    let base = ["load", "testdata/contacts", "--to-table", "Contact=Contact-x-NONE"];
    let with = |extra: &[&str]| -> common::Run {
        let mut v: Vec<&str> = base.to_vec();
        v.extend(extra);
        ddbsnap(&v)
    };
    let cases: [(&[&str], &str); 5] = [
        (&["--journal", journal.to_str().unwrap()], "is not a ddbsnap journal"),
        (&["--quarantine", "q.jsonl"], "--quarantine does not apply to load"),
        (&["--dynamodb-endpoint-url", "not a url"], "is not an endpoint URL"),
        (&["--dynamodb-endpoint-url", "127.0.0.1:8000"], "is not an endpoint URL"),
        (&["--to-table", "Contact=xyz"], "names model Contact twice"),
    ];
    for (extra, words) in cases {
        let run = with(extra);
        assert_eq!(run.code, Some(2), "{}", run.show());
        assert!(run.stderr.contains(words), "{words:?}\n{}", run.show());
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "one line\n{}", run.show());
    }
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), "my notes\n");
    // Nothing listens on port 1: one line at once, not a minute of retries.
    let refused =
        ddbsnap(&["load", "testdata/contacts", "--to-table", "Contact=Contact-x-NONE", "--dynamodb-endpoint-url", "http://127.0.0.1:1"]);
    assert!(refused.stderr.contains("cannot connect to DynamoDB at http://127.0.0.1:1"), "{}", refused.show());
    let bad_name = ddbsnap(&["load", "testdata/contacts", "--to-table", "Contact=a b", "--dynamodb-endpoint-url", "http://127.0.0.1:9"]);
    assert!(bad_name.stderr.contains("is not a DynamoDB table name"), "{}", bad_name.show());
}

#[test]
fn an_amplify_apps_tables_are_named_by_its_api_id() {
    let Some(ep) = dynamo::endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).unwrap();
    let api = table_name("api").replace('-', "").to_lowercase();
    let run = ddbsnap(&[
        "load",
        "testdata/contacts",
        "--amplify",
        model.to_str().unwrap(),
        "--create",
        "--to-api-id",
        &api,
        "--journal",
        dir.path().join("j").to_str().unwrap(),
        "--dynamodb-endpoint-url",
        &ep,
    ])
    .ok();
    assert!(run.stdout.contains(&format!("Contact -> Contact-{api}-NONE, created: 199 items")), "{}", run.show());
    assert_eq!(scan(&ep, &format!("Contact-{api}-NONE")).len(), 199);
}

#[test]
fn parquet_converted_with_quarantined_lines_is_never_loaded_as_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("pq");
    let q = dir.path().join("q.jsonl");
    ddbsnap(&["convert", "testdata/bad/quarantine-two-bad-lines", "--quarantine", q.to_str().unwrap(), "--to", pq.to_str().unwrap()]).ok();
    // Reading it says loudly that lines are missing.
    let sql = ddbsnap(&["sql", "--parquet", pq.to_str().unwrap(), "SELECT count(*) FROM \"Contact\""]).ok();
    assert!(sql.stderr.contains("were quarantined when this table was converted"), "{}", sql.show());
    // Loading it is refused before anything is contacted.
    let run = ddbsnap(&[
        "load",
        "--parquet",
        pq.to_str().unwrap(),
        "--to-table",
        "Contact=Contact-x-NONE",
        "--dynamodb-endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("not the whole table"), "{}", run.show());
}
