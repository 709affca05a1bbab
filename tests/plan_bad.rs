//! `ddbsnap plan` on bad transforms, tampered plans and in every report
//! format, run through the real binary on `testdata/contacts` (one table,
//! `Contact`, 199 items keyed by `id`).
//!
//! A transform whose result has an invalid row must stop with exit code 2,
//! name the offending rows and the cause on stderr, print nothing on stdout
//! and leave nothing behind: no plan at `--out` and no half-written
//! `.plan.partial-*` folder beside it.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, assert_error, ddbsnap};
use tempfile::TempDir;

const EXPORT: &str = "testdata/contacts";
const ITEMS: u64 = 199;
/// A valid transform: one UPDATE per item.
const NICKNAME: &str = "SELECT id, 'x' AS nickname FROM Contact";

/// A temporary folder with a transform file in it; plans go to `plan`.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn plan_dir(&self) -> PathBuf {
        self.path("plan")
    }

    /// Writes `sql` as the transform and runs `ddbsnap plan` into `out`,
    /// with `extra` arguments.
    fn plan_to(&self, sql: &str, out: &Path, extra: &[&str]) -> Run {
        let t = self.path("t.sql");
        std::fs::write(&t, sql).unwrap_or_else(|e| panic!("{}: {e}", t.display()));
        let mut args = vec!["plan".to_string(), "--transform".into(), arg(&t), EXPORT.into(), "--out".into(), arg(out)];
        args.extend(extra.iter().map(|a| a.to_string()));
        ddbsnap(&args)
    }

    fn plan(&self, sql: &str) -> Run {
        self.plan_to(sql, &self.plan_dir(), &[])
    }

    /// Writes a valid plan (with `extra` arguments) and returns its SHA-256
    /// (the first line of stdout).
    fn valid_plan(&self, sql: &str, extra: &[&str]) -> String {
        let run = self.plan_to(sql, &self.plan_dir(), extra).ok();
        let sha = plan_sha(&run);
        assert_eq!(sha.len(), 64, "{}", run.show());
        sha
    }

    /// The names in the temp folder that a failed run must not leave.
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path())
            .expect("read temp dir")
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n == "plan" || n.contains(".partial"))
            .collect()
    }
}

fn arg(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// The hash on the first stdout line, `plan <sha256>`, of `plan` and `plan show`.
fn plan_sha(run: &Run) -> String {
    let first = run.stdout.lines().next().unwrap_or_default();
    first.strip_prefix("plan ").unwrap_or_else(|| panic!("first stdout line is not `plan <sha256>`\n{}", run.show())).trim().to_string()
}

/// [`assert_error`], and no plan (whole or partial) was left behind.
fn assert_rejected(s: &Scratch, run: &Run, words: &[&str]) {
    assert_error(run, words);
    assert!(!s.plan_dir().exists(), "a plan folder was left at --out\n{}", run.show());
    let left = s.leftovers();
    assert!(left.is_empty(), "left behind in the temp folder: {left:?}\n{}", run.show());
}

/// The planner's listed errors: `row N (Table key): cause` or `row N: cause`,
/// as (N, the whole line).
fn row_errors(run: &Run) -> Vec<(u64, String)> {
    run.stderr
        .lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("row ")?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            Some((digits.parse().ok()?, l.trim().to_string()))
        })
        .collect()
}

/// The one listed error, which must be for row `row` and contain `words`.
fn assert_one_row_error(run: &Run, row: u64, words: &[&str]) {
    assert!(run.stderr.contains("has 1 invalid row; no plan was written"), "stderr should count one invalid row\n{}", run.show());
    let errors = row_errors(run);
    assert_eq!(errors.len(), 1, "expected one row listed\n{}", run.show());
    let (n, line) = errors.into_iter().next().expect("one");
    assert_eq!(n, row, "the error should name row {row}\n{}", run.show());
    for w in words {
        assert!(line.contains(w), "the row's error should contain {w:?}: {line}\n{}", run.show());
    }
}

fn min_id() -> String {
    common::scalar(&[EXPORT], "SELECT min(id) FROM Contact")
}

#[test]
fn duplicate_keys_name_both_rows() {
    let s = Scratch::new();
    let run = s.plan(
        "SELECT id, 'x' AS nickname FROM Contact \
         UNION ALL SELECT id, 'y' AS nickname FROM Contact WHERE id = (SELECT min(id) FROM Contact)",
    );
    assert_rejected(&s, &run, &["the same item as row", "one operation per item"]);
    assert!(run.stderr.contains("has 1 invalid row;"), "{}", run.show());
    let errors = row_errors(&run);
    assert_eq!(errors.len(), 1, "{}", run.show());
    let (second, line) = &errors[0];
    let first: u64 = line
        .split("the same item as row ")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no first row number in {line:?}\n{}", run.show()));
    assert_ne!(first, *second, "{}", run.show());
    for n in [first, *second] {
        assert!((1..=ITEMS + 1).contains(&n), "row {n} is outside the result's {} rows\n{}", ITEMS + 1, run.show());
    }
    assert!(line.contains(&format!("row {second} (Contact ")), "the error should name the table: {line}");
    let id = min_id();
    assert!(line.contains(&id), "the error should name the item's key {id}: {line}");
}

#[test]
fn update_of_an_item_the_snapshot_lacks() {
    let s = Scratch::new();
    let run = s.plan("SELECT 'no-such-id' AS id, 'x' AS nickname");
    assert_rejected(&s, &run, &["does not have"]);
    assert_one_row_error(&run, 1, &["row 1 (Contact ", "no-such-id", "UPDATE of an item the snapshot does not have"]);
}

#[test]
fn empty_set() {
    let s = Scratch::new();
    let run = s.plan(r#"SELECT id, ddb('{"SS":[]}') AS tags FROM Contact LIMIT 1"#);
    // ddb() itself refuses a set DynamoDB cannot hold, while the query runs.
    assert_rejected(&s, &run, &["an empty SS", "no empty sets"]);
}

#[test]
fn numbers_beyond_dynamodbs_range() {
    // Made with ddb_number() or ddb(): the function itself refuses the value
    // while the query runs (a DataFusion execution error).
    for expr in ["ddb_number('1e200')", r#"ddb('{"N":"1e200"}')"#] {
        let s = Scratch::new();
        let run = s.plan(&format!("SELECT id, {expr} AS big FROM Contact LIMIT 1"));
        assert_rejected(&s, &run, &["1e200", "outside DynamoDB's range"]);
    }
    // A plain SQL double: the planner refuses it when it reads the row.
    let s = Scratch::new();
    let run = s.plan("SELECT id, CAST('1e200' AS DOUBLE) AS big FROM Contact LIMIT 1");
    assert_rejected(&s, &run, &["outside DynamoDB's range"]);
    assert_one_row_error(&run, 1, &["column \"big\"", "outside DynamoDB's range"]);
}

#[test]
fn item_over_400_kb() {
    let s = Scratch::new();
    let run = s.plan("SELECT id, repeat('x', 410000) AS blob FROM Contact LIMIT 1");
    assert_rejected(&s, &run, &["limit"]);
    assert_one_row_error(&run, 1, &["row 1 (Contact ", "bytes", "DynamoDB's limit is 409600"]);
}

#[test]
fn removing_the_key_attribute() {
    let s = Scratch::new();
    let run = s.plan("SELECT id, 'id' AS _remove FROM Contact LIMIT 1");
    assert_rejected(&s, &run, &["key attribute"]);
    assert_one_row_error(&run, 1, &["row 1 (Contact ", "_remove names the key attribute \"id\""]);
}

#[test]
fn unknown_target_table() {
    let s = Scratch::new();
    let run = s.plan("SELECT 'Nope' AS _table, id, 'x' AS a FROM Contact LIMIT 1");
    assert_rejected(&s, &run, &["unknown target table"]);
    assert_one_row_error(&run, 1, &["unknown target table \"Nope\"", "known: Contact", "--key"]);
}

#[test]
fn bad_op() {
    let s = Scratch::new();
    let run = s.plan("SELECT id, 'MERGE' AS _op, 'x' AS a FROM Contact LIMIT 1");
    assert_rejected(&s, &run, &["MERGE"]);
    assert_one_row_error(&run, 1, &["_op is \"MERGE\"", "UPDATE, PUT or DELETE"]);
}

#[test]
fn many_invalid_rows_list_25_and_count_the_rest() {
    let s = Scratch::new();
    let run = s.plan("SELECT id, 'id' AS _remove FROM Contact");
    assert_rejected(&s, &run, &[&format!("has {ITEMS} invalid rows; no plan was written"), &format!("... and {} more", ITEMS - 25)]);
    let errors = row_errors(&run);
    assert_eq!(errors.len(), 25, "at most 25 rows are listed\n{}", run.show());
    let rows: Vec<u64> = errors.iter().map(|(n, _)| *n).collect();
    assert_eq!(rows, (1..=25).collect::<Vec<u64>>(), "the first 25 rows, in order\n{}", run.show());
    for (_, line) in &errors {
        assert!(line.contains("(Contact ") && line.contains("_remove names the key attribute"), "{line}");
    }
    assert!(run.stderr.trim_end().ends_with(&format!("... and {} more", ITEMS - 25)), "{}", run.show());
}

/// Copies the files of plan folder `from` to a new folder `to`.
fn copy_plan(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for f in common::files_under(from) {
        let dest = to.join(f.file_name().expect("file name"));
        std::fs::copy(&f, &dest).unwrap_or_else(|e| panic!("{} -> {}: {e}", f.display(), dest.display()));
    }
}

fn show(plan: &Path, format: &str) -> Run {
    ddbsnap(&["plan", "show", &arg(plan), "--format", format])
}

fn read_manifest(plan: &Path) -> serde_json::Value {
    let path = plan.join("plan.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("plan.json is JSON")
}

#[test]
fn tampered_plans_are_refused() {
    let s = Scratch::new();
    let sha = s.valid_plan(NICKNAME, &[]);
    let plan = s.plan_dir();
    let shown = show(&plan, "text").ok();
    assert_eq!(plan_sha(&shown), sha, "plan show prints the hash plan printed\n{}", shown.show());
    assert!(shown.stdout.contains("verified"), "{}", shown.show());

    // (a) One byte of the operations changed.
    let a = s.path("a");
    copy_plan(&plan, &a);
    let ops = a.join("ops.parquet");
    let mut bytes = std::fs::read(&ops).expect("read ops.parquet");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&ops, &bytes).expect("write ops.parquet");
    let run = show(&a, "text");
    assert_error(&run, &["ops.parquet", "the operations were changed after the plan was written"]);

    // (b) The manifest's content changed, its layout kept: summary.rows
    // (plan.json has another "rows", the operations file's).
    let b = s.path("b");
    copy_plan(&plan, &b);
    edit_manifest(&b, |text| {
        let summary = text.find("\"summary\": {").expect("a summary member");
        let rows = summary + text[summary..].find(&format!("\"rows\": {ITEMS},")).expect("summary.rows");
        format!("{}\"rows\": {},{}", &text[..rows], ITEMS + 1, &text[rows + format!("\"rows\": {ITEMS},").len()..])
    });
    assert_eq!(read_manifest(&b)["summary"]["rows"].as_u64(), Some(ITEMS + 1), "the edit changed summary.rows");
    let run = show(&b, "text");
    assert_error(&run, &["plan.json", "the plan was changed after it was written", &format!("it records {}...", &sha[..12])]);

    // (b') The same change made by rewriting the manifest as a JSON value.
    let b2 = s.path("b2");
    copy_plan(&plan, &b2);
    let mut m = read_manifest(&b2);
    m["summary"]["rows"] = serde_json::json!(ITEMS + 1);
    edit_manifest(&b2, |_| serde_json::to_string_pretty(&m).expect("serialize") + "\n");
    let run = show(&b2, "text");
    assert_error(&run, &["plan.json"]);
    assert!(run.stderr.contains("changed after it was written") || run.stderr.contains("it was edited"), "{}", run.show());

    // (c) Whitespace only: the hash covers the manifest's exact text (floats
    // would not survive a JSON round trip), so even this is refused.
    let c = s.path("c");
    copy_plan(&plan, &c);
    let value = read_manifest(&c);
    edit_manifest(&c, |text| text.replacen("\"format\": ", "\"format\":  ", 1));
    assert_eq!(read_manifest(&c), value, "the edit changed only whitespace");
    let run = show(&c, "text");
    assert_error(&run, &["plan.json", "the plan was changed after it was written", &format!("it records {}...", &sha[..12])]);

    // (c') The manifest re-serialized compactly (members reordered, the
    // hash no longer last): refused as edited.
    let c2 = s.path("c2");
    copy_plan(&plan, &c2);
    edit_manifest(&c2, |_| serde_json::to_string(&value).expect("serialize"));
    let run = show(&c2, "text");
    assert_error(&run, &["plan.json"]);
    assert!(run.stderr.contains("changed after it was written") || run.stderr.contains("it was edited"), "{}", run.show());

    // The original is untouched by all of it.
    assert_eq!(plan_sha(&show(&plan, "text").ok()), sha);
}

/// Rewrites `plan.json` in plan folder `plan` with `f` of its text.
fn edit_manifest(plan: &Path, f: impl FnOnce(String) -> String) {
    let path = plan.join("plan.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let new = f(text.clone());
    assert_ne!(new, text, "the edit changed nothing");
    std::fs::write(&path, new).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A plan nobody touched must verify, whatever floats its cost figures
/// hold. Some (199 write units at $0.006 per million is
/// 1.1940000000000001e-6 USD; 199 units at 0.017 units/s) do not survive
/// serde_json's default float parsing: while the hash was taken over the
/// manifest's JSON value before writing and over the value parsed back when
/// verifying, such a plan was refused as "changed after it was written".
#[test]
fn an_untouched_plan_verifies_whatever_its_cost_figures() {
    for extra in [["--price-per-million", "0.006"], ["--write-rate", "0.017"], ["--price-per-million", "0.625"]] {
        let s = Scratch::new();
        let sha = s.valid_plan(NICKNAME, &extra);
        let run = show(&s.plan_dir(), "text");
        assert_eq!(run.code, Some(0), "a plan written with {extra:?} and never changed must verify\n{}", run.show());
        assert_eq!(plan_sha(&run), sha, "{}", run.show());
    }
}

#[test]
fn a_plan_is_never_overwritten() {
    let s = Scratch::new();
    let sha = s.valid_plan(NICKNAME, &[]);
    let plan = s.plan_dir();
    let before: Vec<(PathBuf, Vec<u8>)> =
        common::files_under(&plan).into_iter().map(|f| (f.clone(), std::fs::read(&f).expect("read"))).collect();

    let run = s.plan_to("SELECT id, 'y' AS nickname FROM Contact", &plan, &[]);
    assert_error(&run, &["never overwritten", &arg(&plan)]);
    let after: Vec<(PathBuf, Vec<u8>)> =
        common::files_under(&plan).into_iter().map(|f| (f.clone(), std::fs::read(&f).expect("read"))).collect();
    assert!(before == after, "the existing plan's files changed\n{}", run.show());
    let partial: Vec<String> = s.leftovers().into_iter().filter(|n| n != "plan").collect();
    assert!(partial.is_empty(), "left behind: {partial:?}");
    assert_eq!(plan_sha(&show(&plan, "text").ok()), sha);
}

#[test]
fn report_formats() {
    let s = Scratch::new();
    let sha = s.valid_plan(NICKNAME, &[]);
    let plan = s.plan_dir();

    let json = show(&plan, "json").ok();
    let m: serde_json::Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("not JSON: {e}\n{}", json.show()));
    assert_eq!(m["summary"]["operations"]["Contact"]["UPDATE"].as_u64(), Some(ITEMS), "{}", json.show());
    assert_eq!(m["summary"]["rows"].as_u64(), Some(ITEMS), "{}", json.show());
    assert_eq!(m["sha256"].as_str(), Some(sha.as_str()), "{}", json.show());

    let md = show(&plan, "markdown").ok();
    assert!(md.stdout.contains(&sha), "{}", md.show());
    assert!(md.stdout.contains("```diff"), "{}", md.show());
    assert!(md.stdout.lines().any(|l| l.starts_with("+ nickname:")), "{}", md.show());

    let html = show(&plan, "html").ok();
    assert!(html.stdout.starts_with("<!DOCTYPE html>"), "{}", html.show());
    assert!(html.stdout.contains("id=\"samples\""), "{}", html.show());
    assert!(html.stdout.contains("nickname"), "{}", html.show());
    assert!(html.stdout.contains(&sha), "{}", html.show());
    assert!(html.stdout.trim_end().ends_with("</html>"), "{}", html.show());
}

#[test]
fn recipes_are_listed() {
    let run = ddbsnap(&["plan", "recipes"]).ok();
    let names: Vec<&str> = run.stdout.lines().filter(|l| !l.is_empty() && !l.starts_with(' ')).collect();
    for r in ["split_name", "blue_green_copy"] {
        assert!(names.contains(&r), "{r} is not listed\n{}", run.show());
    }
    assert!(run.stderr.trim().is_empty(), "{}", run.show());
}

/// A --key that does not tell the snapshot's items apart, or that some item
/// lacks, stops planning with the offending key named, and no plan.
#[test]
fn a_key_the_snapshot_does_not_hold_uniquely() {
    let s = Scratch::new();
    let run = s.plan_to("SELECT __typename, 'x' AS nickname FROM Contact LIMIT 1", &s.plan_dir(), &["--key", "Contact=__typename"]);
    assert_rejected(&s, &run, &["two items of the snapshot have the key {\"__typename\":{\"S\":\"Contact\"}}", "give --key"]);
    let run =
        s.plan_to("SELECT phone, 'x' AS nickname FROM Contact WHERE phone IS NOT NULL LIMIT 1", &s.plan_dir(), &["--key", "Contact=phone"]);
    assert_rejected(&s, &run, &["an item of the snapshot has no usable key", "\"phone\""]);
}

/// A FIFO in place of plan.json or ops.parquet is refused at once: opening
/// one blocks until a writer comes (found by the second review).
#[test]
fn a_fifo_in_a_plan_folder_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["plan.json", "ops.parquet"] {
        let plan = dir.path().join(name.replace('.', "-"));
        ddbsnap(&["plan", "-q", "-t", "split_name", "testdata/contacts", "--out", plan.to_str().unwrap()]);
        std::fs::remove_file(plan.join(name)).unwrap();
        let made = std::process::Command::new("mkfifo").arg(plan.join(name)).status().unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        let run = ddbsnap(&["plan", "show", plan.to_str().unwrap()]);
        assert_eq!(run.code, Some(2), "{}", run.show());
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{name}: it waited on the FIFO");
        assert!(run.stderr.contains(name) && run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
}
