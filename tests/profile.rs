//! `ddbsnap profile` through the real binary on the committed fixtures: the
//! figures checked against the generator's ground truth and against what
//! `sql` and `inspect` answer on the same exports, and the rules on which
//! values may be written.

mod common;

use std::collections::BTreeMap;

use common::{ddbsnap, scalar, testdata, truth};
use serde_json::Value;

const CONTACTS: &str = "testdata/contacts";
const CONTACTS_ION: &str = "testdata/contacts-ion";
const EVERY_JSON: &str = "testdata/every-type/json";

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// `ddbsnap profile ARGS` with the profile on stdout, parsed.
fn profile(args: &[&str]) -> Value {
    let mut all = vec!["profile"];
    all.extend(args);
    let run = ddbsnap(&all).ok();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("profile JSON: {e}\n{}", run.show()))
}

fn inspect(export: &str) -> Value {
    let run = ddbsnap(&["inspect", "--format", "json", export]).ok();
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("inspect JSON: {e}\n{}", run.show()));
    v["tables"][0].clone()
}

fn attrs(p: &Value, table: &str) -> BTreeMap<String, Value> {
    serde_json::from_value(p["tables"][table]["attributes"].clone()).expect("attributes")
}

/// `(attribute, top list)` for every attribute that has one.
fn tops(p: &Value) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    for table in p["tables"].as_object().expect("tables").values() {
        for (name, a) in table["attributes"].as_object().expect("attributes") {
            if let Some(top) = a.get("top") {
                out.push((name.clone(), top.as_array().expect("top is a list").clone()));
            }
        }
    }
    out
}

#[test]
fn contacts_profile_matches_the_truth_sql_and_inspect() {
    let t = truth("contacts");
    let p = profile(&[CONTACTS]);
    assert_eq!(p["format"], "ddbsnap-profile/1");
    assert_eq!(p["values_included"], true);
    assert!(chrono::DateTime::parse_from_rfc3339(p["created_at"].as_str().expect("created_at")).is_ok(), "{}", p["created_at"]);
    assert_eq!(p["sources"][0]["table"], "Contact");
    assert_eq!(p["sources"][0]["exports"], t["exports"]);
    let table = &p["tables"]["Contact"];
    assert_eq!(u(&table["items"]), u(&t["final_items"]));

    // age: N in most items, S in some; counted independently by SQL over the same export.
    let a = attrs(&p, "Contact");
    let age = &a["age"];
    let sql_count = |ty: &str| scalar(&[CONTACTS], &format!("SELECT count(*) FROM Contact WHERE ddb_type(age) = '{ty}'"));
    assert_eq!(age["types"]["N"].to_string(), sql_count("N"), "{age}");
    assert_eq!(age["types"]["S"].to_string(), sql_count("S"), "{age}");
    assert!(u(&age["types"]["S"]) > 0 && u(&age["types"]["S"]) <= u(&t["age_as_string"]) + u(&t["inserted"]), "{age}");
    let distinct = scalar(&[CONTACTS], "SELECT count(DISTINCT ddb_type(age) || ':' || age) FROM Contact WHERE age IS NOT NULL");
    assert_eq!(age["distinct"].to_string(), distinct);
    let most =
        scalar(&[CONTACTS], "SELECT max(c) FROM (SELECT count(*) AS c FROM Contact WHERE age IS NOT NULL GROUP BY ddb_type(age), age)");
    assert_eq!(age["max_per_value"].to_string(), most);
    assert!(age.get("top").is_none(), "age has more than 50 distinct values: {age}");

    // phone: explicit NULLs counted apart from missing.
    let phone = &a["phone"];
    assert_eq!(phone["nulls"].to_string(), sql_count_of("phone", "NULL"));
    let rate = u(&phone["nulls"]) as f64 / u(&table["items"]) as f64;
    assert!((phone["null_rate"].as_f64().expect("rate") - rate).abs() < 1e-6, "{phone}");

    // email lengths in characters, as SQL's character_length.
    let email = &a["email"]["length"];
    assert_eq!(email["min"].to_string(), scalar(&[CONTACTS], "SELECT min(character_length(email)) FROM Contact"));
    assert_eq!(email["max"].to_string(), scalar(&[CONTACTS], "SELECT max(character_length(email)) FROM Contact"));

    // isActive: both values listed with SQL's counts, most common first.
    let top = a["isActive"]["top"].as_array().expect("isActive top");
    let rows =
        common::csv_rows(&[CONTACTS], "SELECT CAST(\"isActive\" AS VARCHAR), count(*) AS c FROM Contact GROUP BY 1 ORDER BY c DESC, 1");
    let listed: Vec<String> = top.iter().map(|v| format!("{},{}", v["value"].as_str().expect("value"), v["count"])).collect();
    assert_eq!(listed, rows);

    // Presence and item sizes agree with inspect (computed on the read path).
    let i = inspect(CONTACTS);
    for ia in i["attributes"].as_array().expect("attributes") {
        assert_eq!(a[ia["name"].as_str().expect("name")]["present"], ia["present"], "{ia}");
    }
    assert_item_bytes_match(table, &i);
}

fn sql_count_of(attr: &str, ty: &str) -> String {
    scalar(&[CONTACTS], &format!("SELECT count(*) FROM Contact WHERE ddb_type({attr}) = '{ty}'"))
}

fn assert_item_bytes_match(table: &Value, inspect: &Value) {
    let b = &table["item_bytes"];
    assert_eq!(b["max"], inspect["max_item_bytes"], "{b}");
    let mean = b["mean"].as_f64().expect("mean");
    assert!((mean - inspect["avg_item_bytes"].as_f64().expect("avg")).abs() < 0.006, "{b} vs {}", inspect["avg_item_bytes"]);
    let ordered = [&b["min"], &b["p50"], &b["p90"], &b["p99"], &b["max"]].map(u);
    assert!(ordered.windows(2).all(|w| w[0] <= w[1]), "{b}");
}

#[test]
fn ion_and_json_exports_of_the_same_items_profile_the_same() {
    let json = profile(&[CONTACTS]);
    let ion = profile(&[CONTACTS_ION]);
    assert_eq!(json["tables"], ion["tables"]);
}

#[test]
fn every_type_sizes_lengths_and_types() {
    let p = profile(&[EVERY_JSON]);
    let (name, table) = p["tables"].as_object().expect("tables").iter().next().expect("one table");
    assert_item_bytes_match(table, &inspect(EVERY_JSON));
    let a = attrs(&p, name);
    assert_eq!(a["drift"]["types"], serde_json::json!({"S": 1, "N": 1, "BOOL": 1}));
    assert_eq!(a["null"]["types"], serde_json::json!({"NULL": 1}));
    assert_eq!((u(&a["null"]["nulls"]), u(&a["null"]["distinct"])), (1, 0));
    assert!(a["null"].get("length").is_none() && a["bool"].get("length").is_none());
    assert_eq!(a["maybe"]["null_rate"].as_f64(), Some(0.4));
    // Characters, not bytes; canonical number text; elements of sets.
    assert_eq!(u(&a["ünïcödé"]["length"]["max"]), 12);
    assert_eq!(u(&a["i64_min"]["length"]["max"]), "-9223372036854775808".len() as u64);
    assert_eq!(u(&a["zero"]["length"]["max"]), 1);
    assert_eq!(u(&a["ss"]["length"]["max"]), 3);
    // Every value occurs once: nothing repeats, so no values and no skew.
    assert!(tops(&p).is_empty(), "{:?}", tops(&p));
    assert!(a.values().all(|v| v.get("max_per_value").is_none()));
}

#[test]
fn no_values_removes_every_top() {
    let with = profile(&[CONTACTS]);
    assert!(tops(&with).len() >= 2, "the control run lists values: {:?}", tops(&with));
    let run = ddbsnap(&["profile", "--no-values", CONTACTS]).ok();
    let p: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(p["values_included"], false);
    assert!(tops(&p).is_empty(), "{:?}", tops(&p));
    assert!(!run.stdout.contains("\"top\": [") && !run.stdout.contains("\"value\""), "{}", run.stdout);
    // Only the values are gone.
    let strip = |mut v: Value| {
        for a in v["tables"]["Contact"]["attributes"].as_object_mut().expect("attributes").values_mut() {
            a.as_object_mut().expect("attribute").remove("top");
        }
        v["tables"].clone()
    };
    assert_eq!(strip(with), p["tables"]);
}

#[test]
fn top_and_max_distinct_bound_the_lists() {
    let default = profile(&[CONTACTS]);
    let a = attrs(&default, "Contact");
    for (name, top) in tops(&default) {
        let attr = &a[&name];
        assert!(u(&attr["distinct"]) <= 50 && top.len() <= 20, "{name}: {attr}");
        assert!(u(&attr["distinct"]) < u(&attr["present"]) - u(&attr["nulls"]), "{name}: unique values are never listed");
        let counts: Vec<u64> = top.iter().map(|v| u(&v["count"])).collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{name}: {counts:?}");
    }
    let names = |p: &Value| tops(p).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert!(names(&default).contains(&"isActive".to_string()), "{:?}", names(&default));

    let one = profile(&["--top", "1", CONTACTS]);
    assert_eq!(names(&one), names(&default));
    for (name, top) in tops(&one) {
        assert_eq!(top.len(), 1, "{name}");
        let first = &tops(&default).into_iter().find(|(n, _)| *n == name).expect("same attribute").1[0];
        assert_eq!(&top[0], first, "{name}");
    }

    let narrow = profile(&["--max-distinct", "1", CONTACTS]);
    let single: Vec<String> = a.iter().filter(|(_, v)| v["distinct"] == 1).map(|(n, _)| n.clone()).collect();
    assert_eq!(names(&narrow), single, "only attributes with one distinct value");
    assert!(!names(&narrow).contains(&"isActive".to_string()));
    assert_eq!(narrow["options"], serde_json::json!({"top": 20, "max_distinct": 1}));
}

/// contact-v2's Contact model with a sort key of `__typename` (a field with
/// one value, listed without a model) and an index on `isActive`.
fn keyed_model(dir: &std::path::Path) -> std::path::PathBuf {
    let path = testdata("models/contact-v2.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).expect("model")).expect("model JSON");
    let contact = &mut m["data"]["model_introspection"]["models"]["Contact"];
    contact["primaryKeyInfo"]["sortKeyFieldNames"] = serde_json::json!(["__typename"]);
    let index = serde_json::json!({"type": "key", "properties": {"name": "byActive", "fields": ["isActive", "createdAt"]}});
    contact["attributes"].as_array_mut().expect("attributes").push(index);
    let out = dir.join("amplify_outputs.json");
    std::fs::write(&out, serde_json::to_vec(&m).expect("JSON")).expect("write model");
    out
}

#[test]
fn key_fields_never_carry_values_and_roles_are_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = keyed_model(dir.path());
    let plain = attrs(&profile(&[CONTACTS]), "Contact");
    assert!(plain["__typename"].get("top").is_some(), "control: without the model __typename is listed");
    let p = profile(&["--amplify", model.to_str().expect("path"), CONTACTS]);
    let a = attrs(&p, "Contact");
    for (name, role) in [("id", "key"), ("__typename", "key"), ("isActive", "index"), ("email", "")] {
        assert_eq!(a[name].get("role").and_then(Value::as_str).unwrap_or(""), role, "{name}: {}", a[name]);
    }
    for (name, v) in &a {
        if v.get("role").and_then(Value::as_str) == Some("key") {
            assert!(v.get("top").is_none(), "{name}: {v}");
            assert!(v.get("max_per_value").is_some(), "{name}: skew is shown on keys: {v}");
        }
    }
    assert_eq!((u(&a["id"]["max_per_value"]), u(&a["__typename"]["max_per_value"])), (1, u(&p["tables"]["Contact"]["items"])));
    assert!(a["isActive"].get("top").is_some(), "index fields keep their values: {}", a["isActive"]);
}

#[test]
fn out_file_gets_the_json_and_stdout_a_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("profile.json");
    let run = ddbsnap(&["profile", CONTACTS, "--out", out.to_str().expect("path")]).ok();
    let written: Value = serde_json::from_slice(&std::fs::read(&out).expect("profile written")).expect("JSON");
    assert_eq!(written["tables"], profile(&["--out", "-", CONTACTS])["tables"]);
    assert!(run.stdout.contains("wrote ") && run.stdout.contains("Contact: 199 items"), "{}", run.show());
    assert!(run.stdout.lines().any(|l| l.trim_start().starts_with("age ")), "{}", run.show());
}

#[test]
fn bad_inputs_exit_2_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("p.json");
    let out_arg = out.to_str().expect("path");
    let run = ddbsnap(&["profile", "testdata/no-such-export", "--out", out_arg]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("testdata/no-such-export"), "{}", run.show());
    assert!(!out.exists(), "no profile is written on error");
    let run = ddbsnap(&["profile", "--amplify", "testdata/no-such-model.json", CONTACTS, "--out", out_arg]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("testdata/no-such-model.json"), "{}", run.show());
    let run = ddbsnap(&["profile", CONTACTS, "--out", dir.path().join("missing/dir/p.json").to_str().expect("path")]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("missing/dir/p.json"), "{}", run.show());
    common::assert_no_repeated_cause(&run);
}
