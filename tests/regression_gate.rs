//! Issue 16, part 1: checks gate on what got worse. A failure that was
//! there before the plan, no worse after it, is pre-existing and does not
//! block `plan` or `apply`; a check the plan makes worse blocks both;
//! `--require-clean` blocks on every failure. `check --baseline` compares
//! two runs the same way.
//!
//! The model is the Contact v2 model with `age: Int`: the fixture has 7
//! items whose age is a string, a failure no transform here touches.

mod common;

use std::path::{Path, PathBuf};

use common::dynamo::{apply_args, create_table, export_items, load};
use common::{Run, ddbsnap};
use serde_json::Value;

/// contact-v2.json with `age: Int` on Contact, written into `dir`.
fn typed_model(dir: &Path) -> PathBuf {
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string("testdata/models/contact-v2.json").unwrap()).unwrap();
    m["data"]["model_introspection"]["models"]["Contact"]["fields"]["age"] =
        serde_json::json!({"name": "age", "isArray": false, "type": "Int", "isRequired": false, "attributes": []});
    let path = dir.join("typed.json");
    std::fs::write(&path, m.to_string()).unwrap();
    path
}

/// `ddbsnap plan` of `transform` on the Contact fixture with the typed model.
fn plan(dir: &Path, transform: &str, name: &str, extra: &[&str]) -> (Run, PathBuf) {
    let model = typed_model(dir);
    let out = dir.join(name);
    let mut args = vec!["plan", "-q", "-t", transform, "testdata/contacts", "--amplify", model.to_str().unwrap()];
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    (ddbsnap(&args), out)
}

fn manifest(plan: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(plan.join("plan.json")).unwrap()).unwrap()
}

fn sha(plan: &Path) -> String {
    manifest(plan)["sha256"].as_str().unwrap().to_string()
}

fn check<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {m:#}"))
}

/// A transform that makes `age` a string on three more items: the age
/// check goes from 7 to 10 violations.
const WORSE_AGE: &str = "-- name: worse_age\nSELECT id, 'unknown' AS age FROM Contact WHERE ddb_type(age) = 'N' ORDER BY id LIMIT 3";

/// A transform that breaks a passing check: three emails become invalid.
const BREAK_EMAIL: &str = "-- name: break_email\nSELECT id, 'not an email' AS email FROM Contact ORDER BY id LIMIT 3";

fn transform_file(dir: &Path, text: &str) -> String {
    let p = dir.join(format!("t{}.sql", text.len()));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Fixes the 7 string ages and breaks 7 good ones: the count stays 7, but
/// 7 items that passed now fail (found by the adversarial review).
const SWAP_AGE: &str = "-- name: swap_age
SELECT id, ddb_number(age) AS age FROM Contact WHERE ddb_type(age) = 'S'
UNION ALL
SELECT * FROM (SELECT id, ddb('{\"S\":\"x\"}') AS age FROM Contact WHERE ddb_type(age) = 'N' ORDER BY id LIMIT 7)";

#[test]
fn a_plan_that_breaks_as_many_items_as_it_fixes_is_worse() {
    let tmp = tempfile::tempdir().unwrap();
    let t = transform_file(tmp.path(), SWAP_AGE);
    let (run, out) = plan(tmp.path(), &t, "swap", &[]);
    assert_eq!(run.code, Some(1), "{}", run.show());
    let age = check(&manifest(&out), "Contact.age.type").clone();
    assert_eq!((age["before"]["violations"].as_u64(), age["after"]["violations"].as_u64()), (Some(7), Some(7)), "{age:#}");
    assert_eq!(age["newly_failing"], 7, "{age:#}");
    assert!(run.stdout.contains("Contact.age.type: FAIL 7 -> FAIL 7  [regressed: 7 items newly fail]"), "{}", run.stdout);
    let refused = ddbsnap(&["apply", out.to_str().unwrap(), "--approve", &sha(&out), "--dynamodb-endpoint-url", "http://127.0.0.1:9"]);
    assert_eq!(refused.code, Some(2), "{}", refused.show());
    assert!(refused.stderr.contains("Contact.age.type (regressed)"), "{}", refused.stderr);
}

/// A check file without `-- keys:` whose rows carry the table's key is
/// compared item by item too (found by the second review).
#[test]
fn a_check_without_keys_is_compared_by_the_table_key() {
    let tmp = tempfile::tempdir().unwrap();
    let checks = tmp.path().join("checks");
    std::fs::create_dir(&checks).unwrap();
    std::fs::write(
        checks.join("a.sql"),
        "-- name: agetype_nokeys\n-- table: Contact\n-- severity: error\nSELECT \"id\", ddb_type(\"age\") AS found FROM \"Contact\" WHERE ddb_type(\"age\") NOT IN ('N', 'NULL')",
    )
    .unwrap();
    let t = transform_file(tmp.path(), SWAP_AGE);
    let out = tmp.path().join("p");
    let run = ddbsnap(&["plan", "-q", "-t", &t, "testdata/contacts", "--checks", checks.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.show());
    assert_eq!(check(&manifest(&out), "agetype_nokeys")["newly_failing"], 7, "{}", run.stdout);
}

#[test]
fn an_unchanged_failure_does_not_block_the_plan_but_require_clean_does() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, out) = plan(tmp.path(), "split_name", "split", &[]);
    let m = manifest(&out);
    let age = check(&m, "Contact.age.type");
    assert_eq!((age["before"]["violations"].as_u64(), age["after"]["violations"].as_u64()), (Some(7), Some(7)), "{age:#}");
    assert_eq!(age["after"]["status"], "fail");
    assert_eq!(run.code, Some(0), "the age failure is pre-existing\n{}", run.show());
    assert!(
        run.stdout.contains("pre-existing:") && run.stdout.contains("Contact.age.type: FAIL 7 -> FAIL 7  [unchanged]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("no check is worse"), "{}", run.stdout);

    let (strict, _) = plan(tmp.path(), "split_name", "split-strict", &["--require-clean"]);
    assert_eq!(strict.code, Some(1), "--require-clean blocks on the pre-existing failure\n{}", strict.show());
}

#[test]
fn a_check_made_worse_blocks_plan_and_apply_and_reports_list_it_first() {
    let tmp = tempfile::tempdir().unwrap();
    for (text, name, change) in [(WORSE_AGE, "Contact.age.type", "regressed"), (BREAK_EMAIL, "Contact.email.format", "new")] {
        let t = transform_file(tmp.path(), text);
        let (run, out) = plan(tmp.path(), &t, change, &[]);
        assert_eq!(run.code, Some(1), "{}", run.show());
        let m = manifest(&out);
        let c = check(&m, name);
        assert_eq!(c["after"]["status"], "fail", "{c:#}");
        if change == "regressed" {
            // 7 -> 10: the three items made strings are the new ones (found from the smaller, before side).
            assert_eq!(c["newly_failing"], 3, "{c:#}");
        }
        assert!(run.stdout.contains("new or worse:"), "{}", run.stdout);
        assert!(run.stdout.contains(&format!("[{change}")), "{}", run.stdout);
        let worse_at = run.stdout.find("new or worse:").unwrap();
        assert!(run.stdout.find("pre-existing:").is_none_or(|p| p > worse_at), "new or worse first\n{}", run.stdout);
        assert!(run.stdout.contains("apply refuses this plan"), "{}", run.stdout);

        // The Markdown and HTML renderings list it first too.
        let md = ddbsnap(&["plan", "show", out.to_str().unwrap(), "--format", "markdown"]).ok();
        let first_row = md.stdout.lines().find(|l| l.starts_with("| **new or worse**")).unwrap_or_else(|| panic!("{}", md.stdout));
        assert!(first_row.contains(name), "{first_row}");
        let html = ddbsnap(&["plan", "show", out.to_str().unwrap(), "--format", "html"]).ok();
        assert!(html.stdout.contains("apply refuses this plan"), "{}", html.stdout);

        // apply refuses before it touches DynamoDB, naming the check and how it got worse.
        let sha = sha(&out);
        let refused = ddbsnap(&["apply", out.to_str().unwrap(), "--approve", &sha, "--dynamodb-endpoint-url", "http://127.0.0.1:9"]);
        assert_eq!(refused.code, Some(2), "{}", refused.show());
        assert!(refused.stderr.contains(&format!("{name} ({change})")) && refused.stderr.contains("made worse"), "{}", refused.stderr);
    }
}

/// With DynamoDB Local: the plan whose only failure is pre-existing applies
/// without --allow-failing-checks; --require-clean refuses it.
#[test]
fn apply_proceeds_past_a_pre_existing_failure_and_require_clean_refuses() {
    let Some(ep) = common::dynamo::endpoint() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (run, out) = plan(tmp.path(), "split_name", "split", &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let rt = common::dynamo::runtime();
    let c = rt.block_on(common::dynamo::client(&ep));
    let table = rt.block_on(create_table(&c, "Contact"));
    rt.block_on(load(&c, &table, &export_items(&common::testdata("contacts"))));
    let sha = sha(&out);
    let map = format!("Contact={table}");

    let strict = ddbsnap(&apply_args(&ep, &out, &sha, &map, &["--require-clean"]));
    assert_eq!(strict.code, Some(2), "{}", strict.show());
    assert!(strict.stderr.contains("Contact.age.type (unchanged)") && strict.stderr.contains("--require-clean"), "{}", strict.stderr);

    let run = ddbsnap(&apply_args(&ep, &out, &sha, &map, &[]));
    assert_eq!(run.code, Some(0), "{}", run.show());
    let report = common::dynamo::report(&run);
    assert_eq!(report["written"], manifest(&out)["ops_file"]["rows"], "{report:#}");
}

fn check_json(model: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--cache", "never", "--amplify", model.to_str().unwrap(), "testdata/contacts"];
    args.extend_from_slice(extra);
    ddbsnap(&args)
}

#[test]
fn check_against_a_baseline_fails_on_regressions_only() {
    let tmp = tempfile::tempdir().unwrap();
    let model = typed_model(tmp.path());
    let first = check_json(&model, &["--format", "json"]);
    assert_eq!(first.code, Some(1), "age.type and firstName.required fail\n{}", first.show());
    let baseline = tmp.path().join("baseline.json");
    std::fs::write(&baseline, &first.stdout).unwrap();
    let b = baseline.to_str().unwrap();

    // The same data against itself: everything unchanged, exit 0.
    let same = check_json(&model, &["--format", "json", "--baseline", b]);
    assert_eq!(same.code, Some(0), "{}", same.show());
    let doc: Value = serde_json::from_str(&same.stdout).unwrap();
    for c in doc["checks"].as_array().unwrap() {
        let want = if c["status"] == "pass" { "passing" } else { "unchanged" };
        assert_eq!(c["change"], want, "{c:#}");
    }
    // --fail-on failures keeps the absolute rule.
    assert_eq!(check_json(&model, &["--baseline", b, "--fail-on", "failures"]).code, Some(1));

    // A baseline where age.type passed and firstName.required had more
    // violations: age is new, firstName improved, and a check that is gone.
    let mut old: Value = serde_json::from_str(&first.stdout).unwrap();
    for c in old["checks"].as_array_mut().unwrap() {
        if c["name"] == "Contact.age.type" {
            c["status"] = "pass".into();
            c["violations"] = 0.into();
        }
        if c["name"] == "Contact.firstName.required" {
            c["violations"] = 500.into();
        }
    }
    old["checks"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "Contact.gone", "table": "Contact", "severity": "warn", "status": "pass", "violations": 0}));
    std::fs::write(&baseline, old.to_string()).unwrap();
    let text = check_json(&model, &["--baseline", b]);
    assert_eq!(text.code, Some(1), "age.type is new\n{}", text.show());
    let lines: Vec<&str> = text.stdout.lines().collect();
    let at = |s: &str| lines.iter().position(|l| l.contains(s)).unwrap_or_else(|| panic!("no {s:?} in\n{}", text.stdout));
    assert!(at("new or worse:") < at("Contact.age.type") && at("Contact.age.type") < at("pre-existing:"), "{}", text.stdout);
    assert!(at("pre-existing:") < at("[improved (500 -> 199)]"), "{}", text.stdout);
    assert!(lines[at("Contact.age.type")].contains("[new (0 -> 7)]"), "{}", text.stdout);
    assert!(at("missing (in the baseline, not run this time):") < at("Contact.gone on Contact"), "{}", text.stdout);

    let md = check_json(&model, &["--baseline", b, "--format", "markdown"]);
    let rows: Vec<&str> = md.stdout.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| group")).collect();
    assert!(rows[0].starts_with("| new or worse | new (0 -> 7) |") && rows[0].contains("Contact.age.type"), "{}", md.stdout);
    assert!(rows[1].starts_with("| new or worse | missing |") && rows[1].contains("Contact.gone"), "{}", md.stdout);
    assert!(md.stdout.starts_with("## ddbsnap check: 2 new or worse against the baseline"), "{}", md.stdout);

    let junit = check_json(&model, &["--baseline", b, "--format", "junit"]);
    assert!(junit.stdout.contains("failures=\"1\"") && junit.stdout.contains("skipped=\"2\""), "{}", junit.stdout);

    // A warn-severity check that is gone is listed but does not fail; an error one does.
    let mut gone: Value = serde_json::from_str(&first.stdout).unwrap();
    gone["checks"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "Contact.gone", "table": "Contact", "severity": "error", "status": "pass", "violations": 0}));
    std::fs::write(&baseline, gone.to_string()).unwrap();
    let run = check_json(&model, &["--baseline", b, "--format", "json"]);
    assert_eq!(run.code, Some(1), "{}", run.show());
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["baseline"]["missing"][0]["name"], "Contact.gone");
}

#[test]
fn a_bad_baseline_or_flag_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let model = typed_model(tmp.path());
    let run = check_json(&model, &["--fail-on", "regressions"]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("--fail-on regressions needs --baseline"), "{}", run.stderr);
    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let run = check_json(&model, &["--baseline", empty.to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("empty.json") && run.stderr.contains("is empty"), "{}", run.stderr);
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{\n  \"checks\": [1]\n}").unwrap();
    let run = check_json(&model, &["--baseline", junk.to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("junk.json:2:") && run.stderr.contains("not a report of `ddbsnap check --format json`"), "{}", run.stderr);
    let run = check_json(&model, &["--baseline", tmp.path().to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("not a file"), "{}", run.stderr);
}
