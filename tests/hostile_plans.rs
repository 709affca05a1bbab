//! Issue 13, items 1 to 4: what gets planned is only what the transform
//! says. Items holding control-named attributes, integer overflow and
//! floating-point results, transforms that write files or splice
//! parameters, and plan folders re-sealed with correct hashes around bad
//! operations: each once made a wrong plan (or a panic), and each must now
//! stop with exit 2 and a message that names the cause.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{TimeZone, Utc};
use common::{Run, assert_error, ddbsnap};
use ddbsnap::generate::{ExportWriter, Rng};
use ddbsnap::item::{AttrValue, Item, Number};
use ddbsnap::snapshot::manifest::OutputFormat;

fn arg(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// A full export of `Contact-hostile-NONE` (model `Contact`, key `id`) of
/// `items` under `root`.
fn export(root: &Path, items: &[Item]) -> String {
    let mut rng = Rng::new(3);
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("time");
    let mut w = ExportWriter::new(root, "", "Contact-hostile-NONE", OutputFormat::DynamodbJson, at, 1, false, &mut rng).expect("writer");
    for it in items {
        w.add_item(it, &mut rng).expect("add item");
    }
    w.finish(None).expect("finish");
    arg(root)
}

fn item(id: &str, attrs: &[(&str, AttrValue)]) -> Item {
    let mut it = Item::new();
    it.insert("id".into(), AttrValue::S(id.into()));
    it.insert("email".into(), AttrValue::S(format!("{id}@example.com")));
    for (k, v) in attrs {
        it.insert(k.to_string(), v.clone());
    }
    it
}

fn s(v: &str) -> AttrValue {
    AttrValue::S(v.into())
}

fn n(v: &str) -> AttrValue {
    AttrValue::N(Number::parse(v).expect("number"))
}

fn plan(dir: &Path, exports: &str, sql: &str, extra: &[&str]) -> (Run, PathBuf) {
    let t = dir.join("t.sql");
    std::fs::write(&t, sql).expect("write transform");
    let out = dir.join("plan");
    let mut args = vec!["plan".to_string(), "-t".into(), arg(&t), exports.into(), "--out".into(), arg(&out)];
    args.extend(extra.iter().map(|a| a.to_string()));
    (ddbsnap(&args), out)
}

/// The operations of a written plan, counted by kind, from `plan show --format json`.
fn kinds(plan: &Path) -> serde_json::Value {
    let run = ddbsnap(&["plan", "show", &arg(plan), "--format", "json"]).ok();
    let m: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan show json");
    m["summary"]["operations"]["Contact"].clone()
}

// ------------------------------------------------------------------ item 1

#[test]
fn data_never_chooses_the_operation() {
    for (attr, value) in [("_op", s("DELETE")), ("_remove", s("email")), ("_skip", s("because")), ("set:email", s("hijack@evil"))] {
        let dir = tempfile::tempdir().expect("temp dir");
        let items = [item("a", &[(attr, value.clone())]), item("b", &[])];
        let exports = export(&dir.path().join("export"), &items);
        // `*` brings the attribute in under its control name: refused, naming table and attribute.
        let (run, out) = plan(dir.path(), &exports, "SELECT *, 'x' AS touched FROM Contact", &[]);
        assert_error(&run, &["Contact", &format!("{attr:?}"), "cannot choose", "EXCLUDE"]);
        assert!(!out.exists(), "no plan may be written\n{}", run.show());

        // Left out and kept as a plain attribute, as the message says: both
        // items get an UPDATE, the attribute is untouched.
        let sql = format!("SELECT * EXCLUDE (\"{attr}\"), 'x' AS touched FROM Contact");
        let (run, out) = plan(dir.path(), &exports, &sql, &[]);
        assert_eq!(run.code, Some(0), "{}", run.show());
        assert_eq!(kinds(&out), serde_json::json!({"UPDATE": 2}), "{attr}: {}", run.show());
        std::fs::remove_dir_all(&out).expect("remove plan");

        // Written under its own name through set:, it is a plain attribute.
        let sql = format!("SELECT id, 'y' AS \"set:{attr}\" FROM Contact");
        let (run, out) = plan(dir.path(), &exports, &sql, &[]);
        assert_eq!(run.code, Some(0), "{}", run.show());
        assert_eq!(kinds(&out), serde_json::json!({"UPDATE": 2}), "{attr}: {}", run.show());
    }
}

/// Found by the review: a column cast to text, and a field no item has
/// asked about by name (backfill_required's main use), plan as expected;
/// `plan show` names the DynamoDB table each target is written to.
#[test]
fn casts_and_absent_fields_plan_and_targets_are_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[("name", s("Ada"))]), item("b", &[])]);
    let (run, out) = plan(dir.path(), &exports, "SELECT id, CAST(name AS VARCHAR) AS name2 FROM Contact WHERE name IS NOT NULL", &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert_eq!(kinds(&out), serde_json::json!({"UPDATE": 1}));
    assert!(run.stdout.contains("target Contact -> DynamoDB table Contact-hostile-NONE, key id"), "{}", run.show());
    let out = dir.path().join("bf");
    let run = ddbsnap(&["plan", "-t", "backfill_required", &exports, "--out", &arg(&out)]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert_eq!(kinds(&out), serde_json::json!({"UPDATE": 2}), "both items lack status");
}

#[test]
fn an_explicit_control_column_still_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[("status", s("DELETE"))]), item("b", &[])]);
    // Computed, or an attribute renamed on purpose: the transform's choice.
    let (run, out) = plan(dir.path(), &exports, "SELECT id, status AS _op FROM Contact WHERE id = 'a'", &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert_eq!(kinds(&out), serde_json::json!({"DELETE": 1}));
}

// ------------------------------------------------------------------ item 2

#[test]
fn integer_overflow_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[("n", n("9223372036854775807"))]), item("b", &[("n", n("1"))])]);
    for sql in [
        "SELECT id, n + 1 AS n FROM Contact",
        "SELECT id, n * 2 AS n FROM Contact",
        "SELECT id, -(n) - 2 AS n FROM Contact",
        "SELECT id, n << 1 AS n FROM Contact",
    ] {
        let (run, out) = plan(dir.path(), &exports, sql, &[]);
        assert_error(&run, &["integer overflow", "DECIMAL(38, 0)"]);
        assert!(!out.exists(), "{}", run.show());
    }
    // sum() of integers, in an aggregate or a window, too (found by the
    // second review: it wrapped).
    for sql in [
        "SELECT id, (SELECT sum(n) FROM Contact) AS n FROM Contact",
        "SELECT id, sum(n) OVER () AS n FROM Contact",
        "SELECT id, sum(n) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS n FROM Contact",
    ] {
        let (run, out) = plan(dir.path(), &exports, sql, &[]);
        assert_error(&run, &["integer overflow", "sum"]);
        assert!(!out.exists(), "{}", run.show());
    }
    // Computed in decimals, the exact result is planned.
    let (run, out) = plan(dir.path(), &exports, "SELECT id, CAST(n AS DECIMAL(38, 0)) + 1 AS n FROM Contact WHERE id = 'a'", &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert_eq!(set_value(&out, "n"), "9223372036854775808");
}

/// The N value an UPDATE of the plan sets on `attr` (the first operation).
fn set_value(plan: &Path, attr: &str) -> String {
    let p = ddbsnap::plan::file::PlanFile::open(plan).expect("open plan");
    let op = p.ops().expect("ops").next().expect("one op").expect("op");
    match op.set.expect("set").get(attr).expect("attribute set") {
        AttrValue::N(v) => v.to_string(),
        other => panic!("{attr} is {other:?}"),
    }
}

#[test]
fn numbers_are_written_only_from_exact_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[])]);
    // Literals are exact decimals, however long.
    for (expr, want) in [("12345678901234567890123", "12345678901234567890123"), ("0.1 + 0.2", "0.3")] {
        let (run, out) = plan(dir.path(), &exports, &format!("SELECT id, {expr} AS v FROM Contact"), &[]);
        assert_eq!(run.code, Some(0), "{}", run.show());
        assert_eq!(set_value(&out, "v"), want, "{expr}");
        std::fs::remove_dir_all(&out).expect("remove plan");
    }
    // A decimal result past 38 digits (DataFusion's decimal kernels wrap)
    // is refused, not written as another number (found by the second review).
    let (run, out) = plan(dir.path(), &exports, "SELECT id, 99999999999999999999999999999999999999 + 1 AS v FROM Contact", &[]);
    assert_error(&run, &["decimal overflow", "38 digits"]);
    assert!(!out.exists());
    // A floating-point rounding error is refused, with the exact ways named.
    let (run, out) = plan(dir.path(), &exports, "SELECT id, CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS v FROM Contact", &[]);
    assert_error(&run, &["0.30000000000000004", "not an exact decimal", "ddb_number"]);
    assert!(!out.exists());
}

// ------------------------------------------------------------------ item 3

#[test]
fn transforms_are_one_read_only_query() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[])]);
    let target = dir.path().join("pwned.csv");
    let t = arg(&target);
    for sql in [
        format!("COPY (SELECT 1 AS x) TO '{t}'"),
        format!("SELECT id, 'x' AS a FROM Contact; COPY (SELECT 1 AS x) TO '{t}'"),
        format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{t}'"),
        "CREATE TABLE x AS SELECT 1".to_string(),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "EXPLAIN SELECT 1".to_string(),
    ] {
        let (run, out) = plan(dir.path(), &exports, &sql, &[]);
        assert_error(&run, &["the transform"]);
        assert!(run.stderr.contains("one query") || run.stderr.contains("read-only"), "{}", run.show());
        assert!(!target.exists(), "{sql} wrote a file");
        assert!(!out.exists());
    }
    let (run, _) = plan(dir.path(), &exports, "WITH c AS (SELECT id FROM Contact) SELECT id, 'x' AS a FROM c", &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
}

#[test]
fn check_files_are_one_read_only_query() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[])]);
    let target = dir.path().join("pwned.csv");
    let checks = dir.path().join("checks");
    std::fs::create_dir(&checks).expect("mkdir");
    let body = format!(
        "-- name: sneaky\n-- table: Contact\n-- severity: error\nSELECT id FROM Contact WHERE false) AS v; COPY (SELECT 1 AS x) TO '{}'; SELECT * FROM (SELECT 1\n",
        arg(&target)
    );
    std::fs::write(checks.join("sneaky.sql"), body).expect("write check");
    let run = ddbsnap(&["check", "--checks", &arg(&checks), &exports]);
    assert_ne!(run.code, Some(0), "{}", run.show());
    assert!(!target.exists(), "a check wrote a file\n{}", run.show());
}

#[test]
fn parameters_cannot_inject_sql_or_forge_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[])]);
    let target = dir.path().join("pwned.csv");
    let inject = format!("x'; COPY (SELECT 1 AS x) TO '{}'; --", arg(&target));
    let out = dir.path().join("p1");
    let run = ddbsnap(&["plan", "-t", "backfill_required", "-p", &format!("field={inject}"), &exports, "--out", &arg(&out)]);
    assert!(!target.exists(), "{}", run.show());
    let out = arg(&dir.path().join("p2"));
    let run = ddbsnap(&[
        "plan",
        "-t",
        "backfill_required",
        "-p",
        &format!("value=1; COPY (SELECT 1) TO '{}'", arg(&target)),
        &exports,
        "--out",
        &out,
    ]);
    assert_error(&run, &["parameter \"value\"", "not one SQL expression"]);
    assert!(!target.exists());
    let run = ddbsnap(&["plan", "-t", "backfill_required", "-p", "field=status\nplan 0000 forged", &exports, "--out", &out]);
    assert_error(&run, &["control character"]);
    assert!(!run.stderr.contains("\nplan 0000"), "{}", run.show());
}

// ------------------------------------------------------------------ item 4

/// A valid plan of one UPDATE per item, then re-sealed after `edit`
/// rewrote its operations (and optionally its manifest text), so that
/// every hash is correct and only the content is wrong.
struct Crafted {
    _dir: tempfile::TempDir,
    plan: PathBuf,
}

const ITEMS: usize = 6;

fn crafted(edit_ops: impl FnOnce(RecordBatch) -> RecordBatch, edit_manifest: impl FnOnce(String) -> String) -> (Crafted, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let items: Vec<Item> = (0..ITEMS).map(|i| item(&format!("id{i}"), &[])).collect();
    let exports = export(&dir.path().join("export"), &items);
    let (run, plan) = plan(dir.path(), &exports, "SELECT id, 'x' AS nickname FROM Contact", &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let ops = plan.join("ops.parquet");
    let file = std::fs::File::open(&ops).expect("open ops");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("concat");
    let batch = edit_ops(batch);
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&ops).expect("create"), batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let sha = common::plans::reseal(&plan, edit_manifest);
    (Crafted { _dir: dir, plan }, sha)
}

fn replace_column(b: RecordBatch, name: &str, field: Field, values: ArrayRef) -> RecordBatch {
    let i = b.schema().index_of(name).expect("column");
    let mut fields: Vec<Field> = b.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = b.columns().to_vec();
    fields[i] = field;
    columns[i] = values;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
}

/// Text column `name` with row `row` replaced by `value` (None: NULL).
fn set_text(b: RecordBatch, name: &str, row: usize, value: Option<&str>) -> RecordBatch {
    let col = b.column_by_name(name).expect("column").as_any().downcast_ref::<StringArray>().expect("text").clone();
    let values: StringArray = (0..col.len())
        .map(|i| if i == row { value.map(str::to_string) } else { col.is_valid(i).then(|| col.value(i).to_string()) })
        .collect();
    let nullable = b.schema().field_with_name(name).expect("field").is_nullable();
    replace_column(b, name, Field::new(name, DataType::Utf8, nullable), Arc::new(values))
}

fn text_at(b: &RecordBatch, name: &str, row: usize) -> String {
    b.column_by_name(name).expect("column").as_any().downcast_ref::<StringArray>().expect("text").value(row).to_string()
}

/// `plan show`, `apply --dry-run` and `verify` all refuse the plan with
/// exit 2 and `words`, and no journal is created.
fn refused(c: &Crafted, sha: &str, words: &[&str]) {
    let p = arg(&c.plan);
    let show = ddbsnap(&["plan", "show", &p]);
    assert_error(&show, words);
    let apply = ddbsnap(&["apply", &p, "--approve", sha, "--dry-run", "--endpoint-url", "http://127.0.0.1:9"]);
    assert_error(&apply, words);
    let verify = ddbsnap(&["verify", &p, "--endpoint-url", "http://127.0.0.1:9"]);
    assert_error(&verify, words);
    let journals: Vec<_> =
        common::files_under(c.plan.parent().expect("parent")).into_iter().filter(|f| arg(f).contains("journal")).collect();
    assert!(journals.is_empty(), "a refused plan left journals: {journals:?}");
}

#[test]
fn a_resealed_plan_is_validated_operation_by_operation() {
    let keep = |m: String| m;
    // NULL before-image (and fingerprint) on an UPDATE.
    let (c, sha) = crafted(|b| set_text(set_text(b, "before", 3, None), "before_sha256", 3, None), keep);
    refused(&c, &sha, &["plan operation 3", "UPDATE without the item before"]);
    // A PUT with no item.
    let (c, sha) = crafted(|b| set_text(set_text(b, "op", 2, Some("PUT")), "set", 2, None), keep);
    refused(&c, &sha, &["plan operation 2", "PUT without the item"]);
    // A table that is not a target.
    let (c, sha) = crafted(|b| set_text(b, "table", 1, Some("Other")), keep);
    refused(&c, &sha, &["plan operation 1", "\"Other\" is not among the plan's targets"]);
    // Two operations on one item.
    let (c, sha) = crafted(
        |b| {
            let (key, before, fp) = (text_at(&b, "key", 4), text_at(&b, "before", 4), text_at(&b, "before_sha256", 4));
            set_text(set_text(set_text(b, "key", 5, Some(&key)), "before", 5, Some(&before)), "before_sha256", 5, Some(&fp))
        },
        keep,
    );
    refused(&c, &sha, &["plan operation 5", "a second operation on the item"]);
    // A key that is not the item's.
    let (c, sha) = crafted(|b| set_text(b, "key", 0, Some(r#"{"id":{"S":"someone-else"}}"#)), keep);
    refused(&c, &sha, &["plan operation 0", "does not hold the operation's key"]);
    // A key with the wrong attributes.
    let (c, sha) = crafted(|b| set_text(b, "key", 0, Some(r#"{"pk":{"S":"id0"}}"#)), keep);
    refused(&c, &sha, &["plan operation 0", "exactly the table's key attributes"]);
    // An empty set.
    let (c, sha) = crafted(|b| set_text(b, "set", 1, Some(r#"{"tags":{"SS":[]}}"#)), keep);
    refused(&c, &sha, &["plan operation 1", "an empty SS"]);
    // A before-image that does not match its fingerprint.
    let (c, sha) = crafted(|b| set_text(b, "before", 2, Some(r#"{"id":{"S":"id2"},"email":{"S":"changed"}}"#)), keep);
    refused(&c, &sha, &["plan operation 2", "hashes to"]);
    // Write units that understate the cost.
    let (c, sha) = crafted(
        |b| {
            replace_column(
                b,
                "write_units",
                Field::new("write_units", DataType::UInt32, false),
                Arc::new(UInt32Array::from(vec![0; ITEMS])),
            )
        },
        keep,
    );
    refused(&c, &sha, &["plan operation 0", "write units"]);
}

/// What a reviewer reads must be what the operations do: a DELETE or an
/// extra attribute hidden behind a summary of UPDATEs, or a sample that
/// shows other values, is refused (found by the adversarial review).
#[test]
fn a_resealed_plan_must_show_what_its_operations_do() {
    let keep = |m: String| m;
    // (Row 5 is not among the manifest's 5 samples, which are checked too.)
    let (c, sha) = crafted(|b| set_text(set_text(b, "op", 5, Some("DELETE")), "set", 5, None), keep);
    refused(&c, &sha, &["operation counts do not match its operations"]);
    let (c, sha) = crafted(|b| set_text(set_text(b, "op", 0, Some("DELETE")), "set", 0, None), keep);
    refused(&c, &sha, &["plan operation 0", "sample of this item shows other changes"]);
    let (c, sha) = crafted(
        |b| {
            let set = text_at(&b, "set", 5).replacen('{', r#"{"isAdmin":{"BOOL":true},"#, 1);
            set_text(b, "set", 5, Some(&set))
        },
        keep,
    );
    refused(&c, &sha, &["attribute changes do not match its operations"]);
    let (c, sha) = crafted(|b| b, |m| m.replacen(r#"{\"S\":\"x\"}"#, r#"{\"S\":\"harmless\"}"#, 1));
    refused(&c, &sha, &["sample of this item shows other changes"]);
}

#[test]
fn a_resealed_plan_with_a_wrong_file_or_manifest_is_refused() {
    let keep = |m: String| m;
    // A wrongly typed column.
    let (c, sha) = crafted(
        |b| {
            let units: StringArray = (0..ITEMS).map(|_| Some("1")).collect();
            replace_column(b, "write_units", Field::new("write_units", DataType::Utf8, false), Arc::new(units))
        },
        keep,
    );
    refused(&c, &sha, &["columns are not a plan's"]);
    // A missing column.
    let (c, sha) = crafted(
        |b| {
            let i = b.schema().index_of("before_sha256").expect("column");
            let mut b = b;
            b.remove_column(i);
            b
        },
        keep,
    );
    refused(&c, &sha, &["columns are not a plan's"]);
    // Another format version.
    let (c, sha) = crafted(|b| b, |m| m.replace("\"ddbsnap-plan/1\"", "\"ddbsnap-plan/9\""));
    refused(&c, &sha, &["format", "ddbsnap-plan/9"]);
    // An operations file outside the folder.
    let (c, sha) = crafted(|b| b, |m| m.replace("\"name\": \"ops.parquet\"", "\"name\": \"../elsewhere/ops.parquet\""));
    refused(&c, &sha, &["../elsewhere/ops.parquet", "in its folder"]);
    // A target written elsewhere than where its snapshot came from.
    let (c, sha) = crafted(|b| b, |m| m.replace("\"physical\": \"Contact-hostile-NONE\"", "\"physical\": \"victim-table\""));
    refused(&c, &sha, &["target Contact writes to table victim-table", "Contact-hostile-NONE"]);
    // Counts that disagree: the summary says one more operation.
    let (c, sha) = crafted(|b| b, |m| m.replace(&format!("\"UPDATE\": {ITEMS}"), &format!("\"UPDATE\": {}", ITEMS + 1)));
    refused(&c, &sha, &["counts 7 operations", "records 6"]);
}

/// The checked sum() gives what sum() gives wherever it does not overflow:
/// totals, groups, windows, empty input (NULL), unsigned values.
#[test]
fn ordinary_sums_are_unchanged() {
    let e = ["testdata/contacts"];
    assert_eq!(common::scalar(&e, "SELECT sum(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT NULL)"), "3");
    assert_eq!(common::scalar(&e, "SELECT sum(x) FROM (SELECT 1 AS x) WHERE x > 5"), "\"\"", "NULL, as CSV writes it");
    assert_eq!(
        common::scalar(&e, "SELECT sum(CAST(x AS BIGINT UNSIGNED)) FROM (SELECT 18446744073709551614 AS x UNION ALL SELECT 1)"),
        "18446744073709551615"
    );
    assert_eq!(common::scalar(&e, "SELECT count(*) FROM (SELECT sum(1) OVER (PARTITION BY id) AS s FROM Contact) WHERE s = 1"), "199");
    assert_eq!(
        common::scalar(
            &e,
            "SELECT max(s) FROM (SELECT sum(1) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM Contact)"
        ),
        "3"
    );
    assert_eq!(common::scalar(&e, "SELECT sum(x) FROM (SELECT 1.5 AS x UNION ALL SELECT 2.25)"), "3.75");
}

/// Found by the third review: an attribute name holding a code fence closed
/// the Markdown preview's diff block, putting markup in a pull request.
#[test]
fn markdown_previews_keep_names_inside_their_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exports = export(&dir.path().join("export"), &[item("a", &[])]);
    let sql = "SELECT id, 'x' AS \"```\n\n<img src=x onerror=alert(1)>\n\n```\u{1b}[2J\" FROM Contact";
    let (run, out) = plan(dir.path(), &exports, sql, &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let md = ddbsnap(&["plan", "show", &arg(&out), "--format", "markdown"]).ok().stdout;
    assert!(!md.contains('\u{1b}'), "{md}");
    // The transform's own text is shown in a fence longer than any run of backticks in it.
    let (md, sql) = md.split_once("<summary>Transform SQL</summary>").expect("the transform's section");
    assert!(sql.contains("````sql\n") && sql.trim_end().ends_with("````\n</details>") || sql.contains("\n````\n</details>"), "{sql}");
    assert!(!md.contains("```\n\n<img"), "{md}");
    let block = md.split("````diff\n").nth(1).and_then(|rest| rest.split("\n````\n").next()).expect("a fenced diff block");
    assert!(block.contains("<img src=x onerror=alert(1)>"), "the name stays inside the block: {md}");
    assert!(block.lines().all(|l| l.starts_with("@@") || l.starts_with("+ ") || l.starts_with("- ")), "{block}");
}
