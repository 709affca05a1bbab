//! `ddbsnap check` through the real binary: exit codes, the JSON contract,
//! JUnit, redaction, printed checks that run as check files.

mod common;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddbsnap");
const CONTACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/contacts");

fn model_file(dir: &std::path::Path) -> std::path::PathBuf {
    let model = r#"{"data":{"model_introspection":{"version":1,"enums":{"Status":{"name":"Status","values":["A"]}},"nonModels":{},
      "models":{"Contact":{"name":"Contact","attributes":[],
      "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
      "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
        "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":true,"attributes":[]},
        "age":{"name":"age","isArray":false,"type":"Int","isRequired":false,"attributes":[]}}},
      "Note":{"name":"Note","attributes":[],
      "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
      "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]}}}}}}}"#;
    let p = dir.join("amplify_outputs.json");
    std::fs::write(&p, model).unwrap();
    p
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = common::output_within(Command::new(BIN).args(args));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn json_report_contract_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let (code, out, err) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "json", CONTACTS]);
    assert_eq!(code, 1, "an error-severity check fails (age drift): {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tables"][0]["name"], "Contact");
    assert_eq!(v["tables"][0]["items"], 199);
    let checks = v["checks"].as_array().unwrap();
    let age = checks.iter().find(|c| c["name"] == "Contact.age.type").unwrap();
    for field in ["name", "table", "severity", "status", "violations", "sample"] {
        assert!(age.get(field).is_some(), "missing {field}");
    }
    assert_eq!(age["status"], "fail");
    assert_eq!(age["severity"], "error");
    assert!(age["violations"].as_u64().unwrap() > 0);
    assert!(age["sample"].as_array().unwrap().iter().all(|s| s.as_object().unwrap().keys().eq(["id"])), "keys only by default");
    assert!(v["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("model Note has no export")));
    let (_, shown, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "json", "--show-values", CONTACTS]);
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let age = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "Contact.age.type").unwrap();
    assert_eq!(age["sample"][0]["found"], "S", "values when asked");
}

#[test]
fn junit_has_one_testcase_per_check() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let (_, json, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "json", CONTACTS]);
    let n = serde_json::from_str::<serde_json::Value>(&json).unwrap()["checks"].as_array().unwrap().len();
    let (code, xml, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "junit", CONTACTS]);
    assert_eq!(code, 1);
    assert_eq!(xml.matches("<testcase ").count(), n);
    assert!(xml.contains("failures=\"") && xml.contains("<failure "));
}

#[test]
fn markdown_lists_failures_first_with_samples() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let (code, md, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "markdown", CONTACTS]);
    assert_eq!(code, 1);
    assert!(md.starts_with("## ddbsnap check: "), "{md}");
    assert!(md.contains("Tables: Contact (199 items)"));
    let first_row = md.lines().find(|l| l.starts_with("| **")).unwrap();
    assert!(first_row.contains("Contact.age.type"), "failures first: {first_row}");
    assert!(md.contains("<details><summary><code>Contact.age.type</code></summary>") && md.contains("```sql"));
}

#[test]
fn printed_checks_run_as_check_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let (code, printed, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--print", CONTACTS]);
    assert_eq!(code, 0);
    let checks = dir.path().join("checks");
    std::fs::create_dir(&checks).unwrap();
    for (i, block) in printed.split("\n\n").filter(|b| !b.trim().is_empty()).enumerate() {
        std::fs::write(checks.join(format!("{i:03}.sql")), block).unwrap();
    }
    let (_, from_files, err) = run(&["-q", "check", "--checks", checks.to_str().unwrap(), "--format", "json", CONTACTS]);
    let (_, generated, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "json", CONTACTS]);
    let pick = |s: &str| -> Vec<(String, u64)> {
        let v: serde_json::Value = serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s} {err}"));
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["violations"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(pick(&from_files), pick(&generated));
}

#[test]
fn a_broken_check_file_is_exit_2_and_the_bundled_library_runs_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.sql"), "-- name: bad\nSELECT nosuch FROM Contact").unwrap();
    let (code, out, _) = run(&["-q", "check", "--checks", dir.path().to_str().unwrap(), CONTACTS]);
    assert_eq!(code, 2);
    assert!(out.contains("ERROR") && out.contains("nosuch"), "{out}");
    // no --amplify, no --checks: the bundled library runs (queries/checks)
    let (code, json, err) = run(&["-q", "check", "--format", "json", CONTACTS]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Contact.typename_present") && names.contains(&"Contact.timestamps_format"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("datastore")), "DataStore checks skip tables without DataStore fields: {names:?}");
}

#[test]
fn checks_over_parquet_match_checks_over_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let pq = dir.path().join("pq");
    let (code, _, err) = run(&["-q", "convert", CONTACTS, "--to", pq.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let pick = |s: &str| -> (u64, Vec<(String, u64)>) {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        let checks = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["violations"].as_u64().unwrap()))
            .collect();
        (v["tables"][0]["items"].as_u64().unwrap(), checks)
    };
    let (_, export, _) = run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "json", CONTACTS]);
    let (code, parquet, err) =
        run(&["-q", "check", "--amplify", model.to_str().unwrap(), "--format", "json", "--parquet", pq.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(pick(&parquet), pick(&export));
}

/// The sample ids of check `name` at `--threads 1`, `2` and `3`
/// (`source` selects the checks); each must be in ascending order.
fn sample_ids_by_threads(source: &[&str], name: &str) -> Vec<Vec<String>> {
    let mut seen = Vec::new();
    for threads in ["1", "2", "3"] {
        let mut args = vec!["-q", "--threads", threads, "check", "--format", "json", "--show-values"];
        args.extend_from_slice(source);
        args.push(CONTACTS);
        let (_, out, err) = run(&args);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        let c = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
        let ids: Vec<String> = c["sample"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
        assert!(ids.len() > 1, "{c}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered at --threads {threads}: {ids:?}");
        seen.push(ids);
    }
    seen
}

/// Samples are the first violations by key, whatever the partitioning: a
/// report compared run to run (a baseline in CI) does not change on its own.
#[test]
fn samples_are_the_first_violations_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let seen = sample_ids_by_threads(&["--amplify", model.to_str().unwrap()], "Contact.age.type");
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

/// Many violations sharing one key value (here every item's `__typename`)
/// are ordered by the rest of the result too: still one sample whatever
/// the partitioning.
#[test]
fn samples_with_shared_keys_are_ordered_by_the_whole_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shared_key.sql"),
        "-- name: shared_key\n-- table: Contact\n-- keys: __typename\n-- severity: error\n-- description: every item\nSELECT \"__typename\", id FROM Contact\n",
    )
    .unwrap();
    let seen = sample_ids_by_threads(&["--checks", dir.path().to_str().unwrap()], "shared_key");
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}
