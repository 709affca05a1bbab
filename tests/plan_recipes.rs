//! Each bundled transform recipe, run by the real binary on a fixture: its
//! plan, its diff and its post-transform checks are verified, and the data
//! a plan leads to is written as an incremental export (what DynamoDB would
//! export after the apply) so that the preview can be compared with checks
//! on the real result, and a second run of the same migration plans nothing.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{csv_rows, ddbsnap, scalar, testdata};
use ddbsnap::generate::{ExportWriter, Rng};
use ddbsnap::item::{AttrValue, Item, Number};
use ddbsnap::plan::file::PlanFile;
use ddbsnap::snapshot::manifest::OutputFormat;
use serde_json::Value;

const MODEL_V2: &str = "testdata/models/contact-v2.json";

/// A bucket in a temp dir holding a copy of the Contact fixture's chain.
struct Bucket {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    /// End of the chain's last window: the next incremental starts here.
    last: DateTime<Utc>,
    physical: String,
}

impl Bucket {
    fn contacts() -> Bucket {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("bucket");
        copy_dir(&testdata("contacts"), &root);
        Bucket {
            _tmp: tmp,
            root,
            last: Utc.with_ymd_and_hms(2026, 1, 1, 0, 30, 0).unwrap(),
            physical: physical_name(&testdata("contacts")),
        }
    }

    /// A bucket with one full export of `items`.
    fn with_items(items: &[Item]) -> Bucket {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("bucket");
        let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let physical = "Contact-abcdefghijklmnopqrstuvwxyz-NONE".to_string();
        let mut rng = Rng::new(5);
        let mut w = ExportWriter::new(&root, "", &physical, OutputFormat::DynamodbJson, at, 2, false, &mut rng).unwrap();
        for it in items {
            w.add_item(it, &mut rng).unwrap();
        }
        w.finish(None).unwrap();
        Bucket { _tmp: tmp, root, last: at, physical }
    }

    fn arg(&self) -> String {
        self.root.to_str().unwrap().to_string()
    }

    fn plan_dir(&self, name: &str) -> PathBuf {
        self.root.parent().unwrap().join(name)
    }

    /// Writes the plan's changes to `table` as the chain's next incremental
    /// export: the data as DynamoDB would export it after the apply.
    fn apply(&mut self, plan: &Path) {
        let plan = PlanFile::open(plan).unwrap();
        let from = self.last;
        let to = from + Duration::minutes(15);
        let mut rng = Rng::new(9);
        let mut w =
            ExportWriter::new(&self.root, "", &self.physical, OutputFormat::DynamodbJson, to + Duration::seconds(5), 2, true, &mut rng)
                .unwrap();
        let mut micros = from.timestamp_micros() as u64;
        for op in plan.ops().unwrap() {
            let op = op.unwrap();
            micros += 1000;
            w.add_change(&op.key, op.before.as_ref(), op.after().as_ref(), micros, &mut rng).unwrap();
        }
        w.finish(Some((from, to))).unwrap();
        self.last = to;
    }
}

fn physical_name(export_root: &Path) -> String {
    for f in common::files_under(export_root) {
        if f.file_name().is_some_and(|n| n == "manifest-summary.json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let arn = v["tableArn"].as_str().unwrap();
            return arn.rsplit_once(":table/").unwrap().1.to_string();
        }
    }
    panic!("no manifest under {}", export_root.display());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Runs `plan --format json` and returns the exit code and manifest.
fn plan(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["plan", "--format", "json", "-q"];
    all.extend_from_slice(args);
    let run = ddbsnap(&all);
    assert!(matches!(run.code, Some(0) | Some(1)), "{}", run.show());
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.show()));
    (run.code.unwrap(), v)
}

fn ops(m: &Value, table: &str, op: &str) -> u64 {
    m["summary"]["operations"][table][op].as_u64().unwrap_or(0)
}

fn check<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name} in {m:#}"))
}

fn count(b: &Bucket, sql: &str) -> u64 {
    scalar(&[&b.arg()], sql).parse().unwrap()
}

fn s(v: &str) -> AttrValue {
    AttrValue::S(v.into())
}

fn n(v: &str) -> AttrValue {
    AttrValue::N(Number::parse(v).unwrap())
}

fn item(id: &str, attrs: &[(&str, AttrValue)]) -> Item {
    let mut it: Item = attrs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    it.insert("id".into(), s(id));
    it.insert("__typename".into(), s("Contact"));
    it.insert("email".into(), s(&format!("{id}@example.com")));
    it.insert("createdAt".into(), s("2026-01-05T10:00:00.000Z"));
    it.insert("updatedAt".into(), s("2026-01-06T10:00:00.000Z"));
    it
}

#[test]
fn split_name_preview_matches_the_checks_on_the_migrated_data_and_runs_once() {
    let mut b = Bucket::contacts();
    let out = b.plan_dir("split");
    let (code, m) = plan(&["-t", "split_name", &b.arg(), "--amplify", MODEL_V2, "--out", out.to_str().unwrap()]);
    let named = count(&b, "SELECT count(*) FROM Contact WHERE ddb_type(name) = 'S' AND trim(name) <> ''");
    let total = count(&b, "SELECT count(*) FROM Contact");
    assert!(named > 0 && named < total, "the fixture has items without a name: {named}/{total}");
    assert_eq!(ops(&m, "Contact", "UPDATE"), named);
    assert_eq!(m["summary"]["attributes"]["Contact"]["firstName"]["added"], named);
    assert_eq!(m["summary"]["attributes"]["Contact"]["firstName"]["types"]["- -> S"], named);
    // The new schema requires firstName: before, every item lacks it; after, exactly the unnamed ones.
    let req = check(&m, "Contact.firstName.required");
    assert_eq!(req["before"]["violations"], total);
    assert_eq!(req["after"]["violations"], total - named);
    // firstName.required still fails after the plan, on fewer items than
    // before: pre-existing and improved, so it does not block (exit 0)...
    assert_eq!(code, 0, "fewer violations after the plan do not block");
    // ...unless --require-clean asks for every check to pass.
    let strict = b.plan_dir("split-strict");
    let (code, _) = plan(&["-t", "split_name", &b.arg(), "--amplify", MODEL_V2, "--out", strict.to_str().unwrap(), "--require-clean"]);
    assert_eq!(code, 1, "--require-clean blocks on the remaining failure");
    // Sample diffs show the split.
    let sample = &m["samples"][0];
    let first = sample["changes"].as_array().unwrap().iter().find(|c| c["attribute"] == "firstName").unwrap();
    assert!(first["before"].is_null() && first["after"].as_str().unwrap().starts_with("{\"S\":"), "{sample:#}");

    // Apply it (as the export DynamoDB would then produce) and check for real.
    b.apply(&out);
    let real = ddbsnap(&["check", "--amplify", MODEL_V2, "--format", "json", &b.arg()]);
    assert_eq!(real.code, Some(1), "{}", real.show());
    let real: Value = serde_json::from_str(&real.stdout).unwrap();
    let planned = m["checks"].as_array().unwrap();
    assert_eq!(planned.len(), real["checks"].as_array().unwrap().len());
    for r in real["checks"].as_array().unwrap() {
        let p = check(&m, r["name"].as_str().unwrap());
        assert_eq!(p["after"]["status"], r["status"], "{}", r["name"]);
        assert_eq!(p["after"]["violations"], r["violations"], "{}", r["name"]);
    }
    assert_eq!(count(&b, "SELECT count(*) FROM Contact WHERE \"firstName\" || ' ' || \"lastName\" = name"), named);

    // The same migration again plans nothing.
    let again = b.plan_dir("split-again");
    let (_, m2) = plan(&["-t", "split_name", &b.arg(), "--amplify", MODEL_V2, "--out", again.to_str().unwrap()]);
    assert_eq!(m2["summary"]["operations"], serde_json::json!({}), "{m2:#}");
    assert_eq!(m2["summary"]["noops"], named);
    assert_eq!(m2["ops_file"]["rows"], 0);
}

#[test]
fn split_name_checks_pass_exactly_when_every_item_satisfies_the_new_schema() {
    let items = vec![
        item("a", &[("name", s("Ada Lovelace"))]),
        item("b", &[("name", s("Grace Brewster Hopper"))]),
        item("c", &[("name", s("Cher"))]),
    ];
    let b = Bucket::with_items(&items);
    let out = b.plan_dir("p");
    let (code, m) = plan(&["-t", "split_name", &b.arg(), "--amplify", MODEL_V2, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{m:#}");
    assert!(m["checks"].as_array().unwrap().iter().all(|c| c["after"]["status"] == "pass"), "{m:#}");
    assert_eq!(check(&m, "Contact.firstName.required")["before"]["violations"], 3);
    let diffs: Vec<&Value> = m["samples"].as_array().unwrap().iter().collect();
    let of = |id: &str, attr: &str| -> Value {
        let d = diffs.iter().find(|d| d["key"]["id"] == id).unwrap();
        d["changes"].as_array().unwrap().iter().find(|c| c["attribute"] == attr).map(|c| c["after"].clone()).unwrap_or(Value::Null)
    };
    assert_eq!(of("b", "firstName"), "{\"S\":\"Grace\"}");
    assert_eq!(of("b", "lastName"), "{\"S\":\"Brewster Hopper\"}");
    assert_eq!(of("c", "lastName"), Value::Null, "a single name has no last name");

    // One item without a name: exactly it fails the new schema afterwards.
    let mut items = items;
    items.push(item("d", &[("name", AttrValue::Null)]));
    let b = Bucket::with_items(&items);
    let (code, m) = plan(&["-t", "split_name", &b.arg(), "--amplify", MODEL_V2, "--out", b.plan_dir("q").to_str().unwrap()]);
    assert_eq!(code, 0, "4 violations before, 1 after: improved, not worse");
    let req = check(&m, "Contact.firstName.required");
    assert_eq!(req["after"]["violations"], 1);
    assert_eq!(req["after"]["sample"][0]["id"], "d");
}

#[test]
fn backfill_sets_a_computed_default_only_where_the_field_is_missing_or_null() {
    let items = vec![item("a", &[]), item("b", &[("nickname", AttrValue::Null)]), item("c", &[("nickname", s("keep"))])];
    let mut b = Bucket::with_items(&items);
    let out = b.plan_dir("p");
    let (_, m) = plan(&[
        "-t",
        "backfill_required",
        "-p",
        "field=nickname",
        "-p",
        "value=upper(\"id\")",
        &b.arg(),
        "--amplify",
        MODEL_V2,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(ops(&m, "Contact", "UPDATE"), 2);
    assert_eq!(m["summary"]["attributes"]["Contact"]["nickname"]["types"], serde_json::json!({"- -> S": 1, "NULL -> S": 1}));
    b.apply(&out);
    assert_eq!(csv_rows(&[&b.arg()], "SELECT id, nickname FROM Contact ORDER BY id"), ["a,A", "b,B", "c,keep"]);
}

#[test]
fn rename_copies_exactly_then_removes_only_where_the_copy_still_matches() {
    let addr = AttrValue::M([("city".to_string(), s("Oslo"))].into());
    let items = vec![
        item("a", &[("phone", s("+41 1"))]),
        item("b", &[("phone", AttrValue::Null)]),
        item("c", &[("phone", addr.clone())]),
        item("d", &[]),
    ];
    let mut b = Bucket::with_items(&items);
    let copy = b.plan_dir("copy");
    let (_, m) = plan(&["-t", "rename_copy", &b.arg(), "--amplify", MODEL_V2, "--out", copy.to_str().unwrap()]);
    assert_eq!(ops(&m, "Contact", "UPDATE"), 3);
    assert_eq!(
        m["summary"]["attributes"]["Contact"]["phoneNumber"]["types"],
        serde_json::json!({"- -> M": 1, "- -> NULL": 1, "- -> S": 1})
    );
    b.apply(&copy);

    // A client changes item a's new field after the copy: its old field must stay.
    let mut changed = item("a", &[("phone", s("+41 1")), ("phoneNumber", s("+41 2"))]);
    changed.insert("updatedAt".into(), s("2026-02-02T00:00:00.000Z"));
    let from = b.last;
    let to = from + Duration::minutes(15);
    let mut rng = Rng::new(3);
    let mut w =
        ExportWriter::new(&b.root, "", &b.physical, OutputFormat::DynamodbJson, to + Duration::seconds(5), 1, true, &mut rng).unwrap();
    w.add_change(&changed, None, Some(&changed), from.timestamp_micros() as u64 + 10, &mut rng).unwrap();
    w.finish(Some((from, to))).unwrap();
    b.last = to;

    let remove = b.plan_dir("remove");
    let (code, m) = plan(&["-t", "rename_remove", &b.arg(), "--amplify", MODEL_V2, "--out", remove.to_str().unwrap()]);
    assert_eq!(code, 1, "a skipped row is reported in the exit code");
    assert_eq!(ops(&m, "Contact", "UPDATE"), 2);
    assert_eq!(m["summary"]["skipped"], 1);
    assert_eq!(m["skipped"][0]["key"]["id"], "a");
    assert!(m["skipped"][0]["reason"].as_str().unwrap().contains("differs"), "{m:#}");
    b.apply(&remove);
    let rows = csv_rows(&[&b.arg()], "SELECT id, ddb_type(phone), ddb_type(\"phoneNumber\") FROM Contact ORDER BY id");
    assert_eq!(rows, ["a,S,S", "b,,NULL", "c,,M", "d,,"]);
    assert_eq!(scalar(&[&b.arg()], "SELECT ddb_json(\"phoneNumber\") FROM Contact WHERE id = 'c'"), "\"{\"\"city\"\":\"\"Oslo\"\"}\"");
}

#[test]
fn string_to_number_converts_exact_numbers_and_reports_the_rest() {
    let items = vec![
        item("a", &[("age", s("42"))]),
        item("b", &[("age", s(" 7"))]),
        item("c", &[("age", s("abc"))]),
        item("d", &[("age", s("12345678901234567890123456789012345678"))]),
        item("e", &[("age", n("5"))]),
        item("f", &[("age", s("-0.50"))]),
    ];
    let mut b = Bucket::with_items(&items);
    let out = b.plan_dir("p");
    let (code, m) = plan(&["-t", "string_to_number", &b.arg(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(ops(&m, "Contact", "UPDATE"), 3);
    assert_eq!(m["summary"]["attributes"]["Contact"]["age"]["types"], serde_json::json!({"S -> N": 3}));
    let mut skipped: Vec<(String, String)> = m["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"]["id"].as_str().unwrap().into(), s["reason"].as_str().unwrap().into()))
        .collect();
    skipped.sort();
    assert_eq!(skipped, [("b".into(), "not a number:  7".into()), ("c".into(), "not a number: abc".into())]);
    b.apply(&out);
    let rows = csv_rows(&[&b.arg()], "SELECT id, ddb_type(age), ddb_text(age) FROM Contact ORDER BY id");
    assert_eq!(rows, ["a,N,42", "b,S, 7", "c,S,abc", "d,N,12345678901234567890123456789012345678", "e,N,5", "f,N,-0.5"]);

    // And back: N to S keeps every digit (DynamoDB's canonical form).
    let back = b.plan_dir("back");
    let (code, m) = plan(&["-t", "number_to_string", &b.arg(), "--out", back.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(ops(&m, "Contact", "UPDATE"), 4);
    b.apply(&back);
    let rows = csv_rows(&[&b.arg()], "SELECT id, ddb_type(age), age FROM Contact ORDER BY id");
    assert_eq!(rows, ["a,S,42", "b,S, 7", "c,S,abc", "d,S,12345678901234567890123456789012345678", "e,S,5", "f,S,-0.5"]);
}

#[test]
fn blue_green_copies_every_item_exactly_into_the_new_model_table() {
    let b = Bucket::contacts();
    let out = b.plan_dir("bg");
    let (_, m) = plan(&["-t", "blue_green_copy", &b.arg(), "--amplify", MODEL_V2, "--out", out.to_str().unwrap()]);
    let total = count(&b, "SELECT count(*) FROM Contact");
    assert_eq!(ops(&m, "ContactV2", "PUT"), total);
    assert_eq!(m["summary"]["operations"].as_object().unwrap().len(), 1, "the old table is untouched");
    let target = &m["targets"][0];
    assert_eq!(target["name"], "ContactV2");
    assert_eq!(target["physical"].as_str().unwrap(), b.physical.replacen("Contact", "ContactV2", 1));
    assert_eq!(target["in_snapshot"], false);
    // The new table's checks run on the after-state and pass.
    for c in m["checks"].as_array().unwrap().iter().filter(|c| c["table"] == "ContactV2") {
        assert_eq!(c["after"]["status"], "pass", "{c:#}");
        assert!(c["before"].is_null());
    }
    // Every planned item equals its source item in the new shape, type for type.
    let sources: std::collections::HashMap<String, Item> = load_items(&b.arg(), "Contact").into_iter().map(|it| (id_of(&it), it)).collect();
    let plan = PlanFile::open(&out).unwrap();
    let mut seen = 0;
    for op in plan.ops().unwrap() {
        let after = op.unwrap().after().unwrap();
        let mut want = sources[&id_of(&after)].clone();
        let name = want.remove("name");
        want.insert("__typename".into(), s("ContactV2"));
        want.insert("schemaVersion".into(), n("2"));
        if let Some(AttrValue::S(full)) = name {
            let (first, last) = full.split_once(' ').unwrap();
            want.insert("firstName".into(), s(first));
            want.insert("lastName".into(), s(last));
        }
        assert!(ddbsnap::item::same_item(&after, &want), "{after:?}\n{want:?}");
        seen += 1;
    }
    assert_eq!(seen, total);
}

#[test]
fn datastore_recipes_purge_tombstones_and_backfill_sync_fields() {
    let items = vec![
        item("a", &[("_deleted", AttrValue::Bool(true)), ("_version", n("3")), ("_lastChangedAt", n("1767000000000"))]),
        item("b", &[("_deleted", AttrValue::Bool(false)), ("_version", n("2")), ("_lastChangedAt", n("1767000000001"))]),
        item("c", &[]),
        item("d", &[("_version", AttrValue::Null)]),
    ];
    let mut b = Bucket::with_items(&items);
    let purge = b.plan_dir("purge");
    let (_, m) = plan(&["-t", "datastore_purge_tombstones", &b.arg(), "--out", purge.to_str().unwrap()]);
    assert_eq!(ops(&m, "Contact", "DELETE"), 1);
    assert_eq!(m["samples"][0]["key"]["id"], "a");
    b.apply(&purge);
    assert_eq!(csv_rows(&[&b.arg()], "SELECT id FROM Contact ORDER BY id"), ["b", "c", "d"]);

    let fill = b.plan_dir("fill");
    let (_, m) = plan(&["-t", "datastore_backfill", &b.arg(), "--out", fill.to_str().unwrap()]);
    assert_eq!(ops(&m, "Contact", "UPDATE"), 2);
    b.apply(&fill);
    // updatedAt 2026-01-06T10:00:00Z in epoch milliseconds
    assert_eq!(
        csv_rows(&[&b.arg()], "SELECT id, _version, _lastChangedAt FROM Contact ORDER BY id"),
        ["b,2,1767000000001", "c,1,1767693600000", "d,1,1767693600000"]
    );
}

#[test]
fn seed_from_csv_and_parquet_puts_typed_items() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("seed.csv");
    std::fs::write(&csv, "id,name,age,isActive\nx1,Ada Lovelace,36,true\nx2,Alan Turing,41,false\n").unwrap();
    let seed = |file: &std::path::Path, out: &str| {
        let (input, out) = (format!("seed={}", file.display()), tmp.path().join(out));
        plan(&["-t", "seed_from_file", "-p", "table=Sandbox", "--key", "Sandbox=id", "--input", &input, "--out", out.to_str().unwrap()])
    };
    let (code, m) = seed(&csv, "plan");
    assert_eq!(code, 0);
    assert_eq!(ops(&m, "Sandbox", "PUT"), 2);
    let attrs = &m["summary"]["attributes"]["Sandbox"];
    assert_eq!(attrs["age"]["types"], serde_json::json!({"- -> N": 2}));
    assert_eq!(attrs["isActive"]["types"], serde_json::json!({"- -> BOOL": 2}));
    assert_eq!(attrs["name"]["types"], serde_json::json!({"- -> S": 2}));

    // A Parquet file: a float column becomes an exact N.
    let pq = tmp.path().join("seed.parquet");
    let batch = arrow::record_batch::RecordBatch::try_from_iter(vec![
        ("id", std::sync::Arc::new(arrow::array::StringArray::from(vec!["p1"])) as arrow::array::ArrayRef),
        ("score", std::sync::Arc::new(arrow::array::Float64Array::from(vec![0.25])) as arrow::array::ArrayRef),
    ])
    .unwrap();
    let f = std::fs::File::create(&pq).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (_, m) = seed(&pq, "plan2");
    assert_eq!(
        m["samples"][0]["changes"].as_array().unwrap().iter().find(|c| c["attribute"] == "score").unwrap()["after"],
        "{\"N\":\"0.25\"}"
    );
}

fn id_of(it: &Item) -> String {
    match &it["id"] {
        AttrValue::S(s) => s.clone(),
        other => panic!("id is {other:?}"),
    }
}

/// Every item of a table, read through the library.
fn load_items(export: &str, table: &str) -> Vec<Item> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let env = ddbsnap::load::LoadEnv { read: ddbsnap::snapshot::ReadOptions::default(), ..Default::default() };
        let tables = ddbsnap::load::locate(&[export.to_string()], &env).await.unwrap();
        let t = tables.iter().find(|t| t.name == table).unwrap();
        let loaded = ddbsnap::load::load_table(t, &env).await.unwrap();
        loaded.batches.iter().flat_map(|b| ddbsnap::convert::batch_to_items(b).unwrap()).collect()
    })
}

/// Issue 16, part 2, on a hand-counted fixture: six items, three with a
/// name to split (one of them already split: a no-op), three the transform
/// leaves out (NULL, missing, blank name). The plan counts them and names
/// the check those three still fail; `plan show --ops` lists every
/// operation with its before and after, filtered by SQL.
#[test]
fn a_plan_counts_what_it_leaves_out_and_lists_every_operation() {
    let mut done = item("c", &[("name", s("Cher Sarkisian"))]);
    done.insert("firstName".into(), s("Cher"));
    done.insert("lastName".into(), s("Sarkisian"));
    done.insert("schemaVersion".into(), n("2"));
    let items = vec![
        item("a", &[("name", s("Ada Lovelace"))]),
        item("b", &[("name", s("Grace Hopper"))]),
        done,
        item("d", &[("name", AttrValue::Null)]),
        item("e", &[]),
        item("f", &[("name", s("  "))]),
    ];
    let b = Bucket::with_items(&items);
    let out = b.plan_dir("p");
    let (code, m) = plan(&["-t", "split_name", &b.arg(), "--amplify", MODEL_V2, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "firstName.required: 6 before, 3 after\n{m:#}");
    let c = &m["summary"]["tables"]["Contact"];
    let counts: Vec<u64> =
        ["read", "returned", "operations", "noops", "skipped", "not_returned"].iter().map(|k| c[k].as_u64().unwrap()).collect();
    assert_eq!(counts, [6, 3, 2, 1, 0, 3], "{c:#}");
    assert_eq!(c["untouched_failing"]["Contact.firstName.required"], 3, "{c:#}");

    let text = ddbsnap(&["plan", "show", out.to_str().unwrap()]).ok();
    assert!(
        text.stdout.contains("Contact: 6 items read; the transform returned 3 of them (2 operations, 1 no-ops, 0 skipped) and left 3 out"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("3 of the items left out fail Contact.firstName.required after the plan"), "{}", text.stdout);
    for format in ["markdown", "html"] {
        let r = ddbsnap(&["plan", "show", out.to_str().unwrap(), "--format", format]).ok();
        assert!(r.stdout.contains("3 of the items left out fail Contact.firstName.required"), "{format}: {}", r.stdout);
    }

    // Every operation, before and after.
    let dir = out.to_str().unwrap();
    let all = ddbsnap(&["plan", "show", dir, "--ops"]).ok();
    let rows: Vec<Value> = all.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{}", all.stdout);
    let mut rows = rows;
    rows.sort_by_key(|r| r["key"]["id"]["S"].as_str().unwrap().to_string());
    let ids: Vec<&str> = rows.iter().map(|r| r["key"]["id"]["S"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(rows[1]["before"]["name"]["S"], "Grace Hopper");
    assert_eq!(rows[1]["after"]["firstName"]["S"], "Grace");
    assert_eq!(rows[1]["after"]["lastName"]["S"], "Hopper");
    assert_eq!(rows[1]["after"]["name"]["S"], "Grace Hopper", "the old field stays");
    assert_eq!(rows[1]["op"], "UPDATE");

    let some = ddbsnap(&["plan", "show", dir, "--ops", "--where", "after LIKE '%Grace%'"]).ok();
    assert_eq!(some.stdout.lines().count(), 1, "{}", some.stdout);
    let none = ddbsnap(&["plan", "show", dir, "--ops", "--where", "op = 'DELETE'"]).ok();
    assert_eq!(none.stdout, "");
    let csv = ddbsnap(&["plan", "show", dir, "--ops", "--format", "csv"]).ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert!(lines[0].starts_with("seq,row,table,op,key,set,remove,before,before_sha256,write_units,after"), "{}", csv.stdout);
    assert_eq!(lines.len(), 3, "{}", csv.stdout);
    // No operation selected (or none planned): CSV still has its header.
    let no_rows = ddbsnap(&["plan", "show", dir, "--ops", "--format", "csv", "--where", "op = 'DELETE'"]).ok();
    assert_eq!(no_rows.stdout.lines().collect::<Vec<_>>(), [lines[0]], "{}", no_rows.stdout);

    // The operations as a table for SQL (stdin is not a terminal here).
    let sql = common::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
            .args(["plan", "show", dir, "--sql", "--format", "csv"])
            .stdin(std::fs::File::open(write_tmp(&b, "q.sql", "SELECT op, count(*) AS n FROM ops GROUP BY op")).unwrap()),
    );
    assert_eq!(String::from_utf8_lossy(&sql.stdout), "op,n\nUPDATE,2\n", "{}", String::from_utf8_lossy(&sql.stderr));

    // Wrong uses say what is wrong.
    for (args, words) in [
        (vec!["--ops", "--where", "nosuchcolumn = 1"], "nosuchcolumn"),
        (vec!["--ops", "--where", "1=1); DROP TABLE ops; --"], "--where"),
        (vec!["--ops", "--where", "1=0) UNION ALL SELECT * FROM ops WHERE (1=1"], "not one SQL condition"),
        (vec!["--ops", "--format", "text"], "jsonl or csv"),
        (vec!["--format", "jsonl"], "add --ops"),
    ] {
        let mut all = vec!["plan", "show", dir];
        all.extend(args.iter().copied());
        let r = ddbsnap(&all);
        assert_eq!(r.code, Some(2), "{}", r.show());
        assert!(r.stderr.contains(words), "{words}: {}", r.stderr);
    }
}

fn write_tmp(b: &Bucket, name: &str, text: &str) -> PathBuf {
    let p = b.plan_dir(name);
    std::fs::write(&p, text).unwrap();
    p
}
