//! `ddbsnap generate --amplify`: exports of every model of a data model
//! (testdata/models/shop.json: Company hasMany Contact, Contact hasMany Note,
//! every scalar kind, enums, nested custom types, a list, a composite index,
//! owner auth, a syncable model) with defects planted at known rates.
//!
//! The ground truth is judged by the real tools: `ddbsnap check --amplify`
//! must report, for every error-severity check, exactly the violations the
//! truth lists (none where it lists none), and `ddbsnap sql` the final item
//! counts, in JSON and Ion, locally and through S3. A profile-driven run
//! must reproduce the profile's presence, NULL and type rates, lengths and
//! common values, with its type drift counted as wrong_type.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SHOP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/models/shop.json");
const DEFECTS: &str = "missing_required=0.01,wrong_type=0.01,dangling_ref=0.01,bad_format=0.01";

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

impl Out {
    fn ok(self) -> Out {
        assert_eq!(self.code, Some(0), "ddbsnap {}\n{}", self.args.join(" "), self.stderr);
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("ddbsnap {}: {e}\n{}\n{}", self.args.join(" "), self.stdout, self.stderr))
    }
}

/// Runs the binary with a clean environment (and S3 test credentials).
fn ddbsnap(args: &[&str]) -> Out {
    let out = common::output_within(
        Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("DDBSNAP_ENDPOINT_URL")
            .env_remove("DDBSNAP_S3_ENDPOINT_URL")
            .env_remove("DDBSNAP_DYNAMODB_ENDPOINT_URL")
            .env_remove("DDBSNAP_THREADS")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true"),
    );
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// `generate --amplify SHOP --out OUT` with `extra` flags; the truth it prints.
fn generate(pre: &[&str], out: &str, extra: &[&str]) -> Value {
    let mut args: Vec<&str> = pre.to_vec();
    args.extend(["-q", "generate", "--amplify", SHOP, "--out", out]);
    args.extend(extra);
    ddbsnap(&args).ok().json()
}

/// `check --amplify` of `target`: every error-severity check's violations
/// equal the truth's (0 where it has none); every truth entry is a check.
fn assert_check_matches(pre: &[&str], target: &str, truth: &Value) {
    let mut args: Vec<&str> = pre.to_vec();
    args.extend(["-q", "check", "--amplify", SHOP, "--format", "json", target]);
    let run = ddbsnap(&args);
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
    let report = run.json();
    let expected: BTreeMap<String, u64> = truth["models"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m["defects"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())))
        .collect();
    let checks = report["checks"].as_array().unwrap();
    let mut mismatches = Vec::new();
    for c in checks {
        let name = c["name"].as_str().unwrap();
        assert_ne!(c["status"], "error", "check {name} could not run: {c}");
        if c["severity"] == "error" {
            let want = expected.get(name).copied().unwrap_or(0);
            if c["violations"].as_u64() != Some(want) {
                mismatches.push(format!("{name}: check {} truth {want}", c["violations"]));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    for name in expected.keys() {
        assert!(checks.iter().any(|c| c["name"] == name.as_str() && c["severity"] == "error"), "no error check named {name}");
    }
    let tables: BTreeMap<String, u64> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["items"].as_u64().unwrap()))
        .collect();
    let finals: BTreeMap<String, u64> =
        truth["models"].as_object().unwrap().iter().map(|(k, m)| (k.clone(), m["final_items"].as_u64().unwrap())).collect();
    assert_eq!(tables, finals);
}

/// `count(*)` of each model through `ddbsnap sql`.
fn sql_counts(pre: &[&str], target: &str) -> BTreeMap<String, u64> {
    ["Company", "Contact", "Note"]
        .into_iter()
        .map(|m| {
            let sql = format!("SELECT count(*) AS n FROM {m}");
            let mut args: Vec<&str> = pre.to_vec();
            args.extend(["-q", "sql", "--format", "csv", "-e", target, &sql]);
            let out = ddbsnap(&args).ok();
            (m.to_string(), out.stdout.lines().nth(1).unwrap().trim().parse().unwrap())
        })
        .collect()
}

fn finals(truth: &Value) -> BTreeMap<String, u64> {
    truth["models"].as_object().unwrap().iter().map(|(k, m)| (k.clone(), m["final_items"].as_u64().unwrap())).collect()
}

/// Each defect kind was planted somewhere, and the incrementals changed items.
fn assert_truth_is_not_trivial(truth: &Value) {
    let models = truth["models"].as_object().unwrap();
    for kind in ["missing_required", "wrong_type", "dangling_ref", "bad_format"] {
        let n: u64 = models.values().map(|m| m["defect_kinds"][kind].as_u64().unwrap_or(0)).sum();
        assert!(n > 0, "no {kind} planted: {truth}");
    }
    for (name, m) in models {
        assert_eq!(m["exports"].as_array().unwrap().len(), 3, "{name}");
        assert!(m["inserted"].as_u64().unwrap() > 0 && m["updated"].as_u64().unwrap() > 0, "{name}: {m}");
        let deleted = m["deleted"].as_u64().unwrap();
        assert_eq!(deleted > 0, name == "Note", "only Note, which no model refers to, loses items: {name} {m}");
        let expect = m["full_items"].as_u64().unwrap() + m["inserted"].as_u64().unwrap() - deleted;
        assert_eq!(m["final_items"].as_u64().unwrap(), expect);
    }
    assert!(models["Contact"]["defects"]["Contact.company.reference"].as_u64().unwrap() > 0);
    assert!(models["Note"]["defects"]["Note.contact.reference"].as_u64().unwrap() > 0);
}

fn matches_truth(format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exports");
    let out = out.to_str().unwrap();
    let items = "Company=300,Contact=3000,Note=2000";
    let truth = generate(&["--threads", "2"], out, &["--items", items, "--defects", DEFECTS, "--incrementals", "2", "--format", format]);
    assert_truth_is_not_trivial(&truth);
    let file: Value = serde_json::from_slice(&std::fs::read(Path::new(out).join("ddbsnap-generate.json")).unwrap()).unwrap();
    assert_eq!(file, truth, "the truth file holds what was printed");
    assert_eq!(truth["models"]["Contact"]["full_items"], 3000);
    assert_check_matches(&[], out, &truth);
    assert_eq!(sql_counts(&[], out), finals(&truth));
}

#[test]
fn json_exports_hold_exactly_the_truth() {
    matches_truth("json");
}

#[test]
fn ion_exports_hold_exactly_the_truth() {
    matches_truth("ion");
}

/// Every file under `dir` by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// JSON with object keys sorted, whatever order they were written in.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, String> = m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let parts: Vec<String> = sorted.into_iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Every line of every data file, canonical and sorted, by export folder.
fn records(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in tree(dir) {
        if path.extension().is_some_and(|e| e == "gz") {
            let export = path.iter().nth(1).unwrap().to_string_lossy().to_string();
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
            out.extend(text.lines().map(|l| format!("{export} {}", canonical(&serde_json::from_str(l).unwrap()))));
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_same_files_and_threads_do_not_change_the_items() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: &str, seed: &str| {
        let out = dir.path().join(name);
        let flags = ["--items", "Company=50,Contact=800,Note=600", "--defects", DEFECTS, "--incrementals", "2", "--seed", seed];
        let truth = generate(&["--threads", threads], out.to_str().unwrap(), &flags);
        (tree(&out), records(&out), truth)
    };
    let (a, a_records, a_truth) = run("a", "2", "7");
    let (b, _, b_truth) = run("b", "2", "7");
    assert!(a.len() > 20);
    assert!(a == b, "the same options wrote different files");
    assert_eq!(a_truth, b_truth);
    let (c, c_records, c_truth) = run("c", "1", "7");
    assert_ne!(a.keys().collect::<Vec<_>>(), c.keys().collect::<Vec<_>>(), "one writer writes other data files");
    assert_eq!(a_records.len(), c_records.len());
    assert!(a_records == c_records, "items differ between 1 and 2 threads");
    assert_eq!(a_truth, c_truth);
    let (_, d_records, d_truth) = run("d", "2", "8");
    assert_ne!(a_records, d_records, "another seed, other items");
    assert_ne!(a_truth["models"]["Contact"]["exports"], d_truth["models"]["Contact"]["exports"]);
}

const PROFILE: &str = r#"{"format": "ddbsnap-profile/1", "created_at": "2026-01-14T10:30:00Z", "values_included": true,
 "tables": {
  "Company": {"items": 150, "attributes": {}},
  "Contact": {"items": 5000, "item_bytes": {"min": 200, "p50": 400, "p90": 500, "p99": 600, "max": 700, "mean": 410.5},
   "attributes": {
    "id": {"present": 5000, "types": {"S": 5000}, "nulls": 0, "null_rate": 0.0, "distinct": 5000, "role": "key"},
    "age": {"present": 4000, "types": {"N": 3600, "S": 150, "NULL": 250}, "nulls": 250, "null_rate": 0.05,
            "length": {"min": 1, "p50": 2, "p90": 2, "p99": 3, "max": 3, "mean": 1.9}, "distinct": 80},
    "status": {"present": 5000, "types": {"S": 5000}, "nulls": 0, "null_rate": 0.0, "distinct": 3,
               "top": [{"value": "ACTIVE", "count": 3000, "type": "S"}, {"value": "LEAD", "count": 1500, "type": "S"},
                       {"value": "legacy", "count": 500, "type": "S"}]},
    "name": {"present": 4500, "types": {"S": 4500}, "nulls": 0, "null_rate": 0.0,
             "length": {"min": 4, "p50": 12, "p90": 20, "p99": 30, "max": 40, "mean": 13.1}, "distinct": 4400},
    "email": {"present": 4950, "types": {"S": 4950}, "nulls": 0, "null_rate": 0.0, "distinct": 4950},
    "legacyCode": {"present": 1000, "types": {"S": 1000}, "nulls": 0, "null_rate": 0.0,
                   "length": {"min": 6, "p50": 6, "p90": 6, "p99": 6, "max": 6, "mean": 6.0}, "distinct": 990}}}}}"#;

fn scalar(target: &str, sql: &str) -> f64 {
    let out = ddbsnap(&["-q", "sql", "--format", "csv", "-e", target, sql]).ok();
    out.stdout.lines().nth(1).unwrap_or_else(|| panic!("{sql}: {}", out.stdout)).trim().parse().unwrap()
}

#[test]
fn a_profile_shapes_the_items_and_its_drift_is_truth() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let out = dir.path().join("exports");
    let out = out.to_str().unwrap();
    let truth = generate(&["--threads", "2"], out, &["--profile", profile.to_str().unwrap(), "--scale", "1", "--items", "Note=300"]);
    let contact = &truth["models"]["Contact"];
    assert_eq!(contact["full_items"], 5000, "the profile's count");
    assert_eq!(truth["models"]["Company"]["full_items"], 150);
    assert_eq!(truth["models"]["Note"]["full_items"], 300, "--items for a model the profile lacks");
    let rate = |sql: &str| scalar(out, &format!("SELECT CAST({sql} AS DOUBLE) / count(*) FROM Contact"));
    let near =
        |what: &str, got: f64, want: f64, tol: f64| assert!((got - want).abs() <= tol, "{what}: {got} is not within {tol} of {want}");
    near("age present", rate("count(ddb_type(age))"), 0.8, 0.025);
    near("age NULL", rate("sum(CASE WHEN ddb_type(age) = 'NULL' THEN 1 ELSE 0 END)"), 0.05, 0.012);
    near("age S", rate("sum(CASE WHEN ddb_type(age) = 'S' THEN 1 ELSE 0 END)"), 0.03, 0.01);
    near("name present", rate("count(name)"), 0.9, 0.02);
    near("legacyCode present", rate("count(\"legacyCode\")"), 0.2, 0.02);
    near("status ACTIVE", rate("sum(CASE WHEN status = 'ACTIVE' THEN 1 ELSE 0 END)"), 0.9 * 2.0 / 3.0 + 0.1 / 3.0, 0.03);
    assert_eq!(
        scalar(out, "SELECT count(*) FROM Contact WHERE status NOT IN ('ACTIVE', 'LEAD', 'CHURNED')"),
        0.0,
        "values outside the enum are dropped"
    );
    assert_eq!(
        scalar(out, "SELECT count(*) FROM Contact WHERE character_length(\"legacyCode\") <> 6 OR ddb_type(\"legacyCode\") <> 'S'"),
        0.0
    );
    near("name median length", scalar(out, "SELECT median(character_length(name)) FROM Contact"), 12.0, 1.5);
    assert!(scalar(out, "SELECT max(character_length(name)) FROM Contact") <= 40.0);
    assert!(scalar(out, "SELECT min(character_length(name)) FROM Contact") >= 4.0);
    let drift = scalar(out, "SELECT count(*) FROM Contact WHERE ddb_type(age) = 'S'") as u64;
    assert_eq!(contact["defects"]["Contact.age.type"].as_u64(), Some(drift), "type drift is truth: {contact}");
    assert_eq!(contact["defect_kinds"]["wrong_type"].as_u64(), Some(drift));
    let missing = scalar(out, "SELECT count(*) FROM Contact WHERE email IS NULL") as u64;
    assert!(missing > 20, "the profile's 1% of items without email: {missing}");
    assert_eq!(contact["defects"]["Contact.email.required"].as_u64(), Some(missing));
    assert_check_matches(&[], out, &truth);
}

/// `ddbsnap profile` of `dir` (with the model, so key fields are marked).
fn profile(dir: &str, out: &Path) -> Value {
    ddbsnap(&["-q", "profile", dir, "--amplify", SHOP, "--out", out.to_str().unwrap()]).ok();
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

#[test]
fn profile_of_a_generated_export_regenerates_the_same_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let items = "Company=300,Contact=2500,Note=1500";
    generate(&[], first.to_str().unwrap(), &["--items", items, "--defects", DEFECTS, "--seed", "11"]);
    let p1 = profile(first.to_str().unwrap(), &dir.path().join("p1.json"));
    let truth = generate(&[], second.to_str().unwrap(), &["--profile", dir.path().join("p1.json").to_str().unwrap(), "--seed", "12"]);
    let p2 = profile(second.to_str().unwrap(), &dir.path().join("p2.json"));
    let mut off = Vec::new();
    for (table, a) in p1["tables"].as_object().unwrap() {
        let b = &p2["tables"][table];
        let (na, nb) = (a["items"].as_f64().unwrap(), b["items"].as_f64().unwrap());
        assert_eq!(na, nb, "{table}: the profile's count");
        for (attr, x) in a["attributes"].as_object().unwrap() {
            let y = &b["attributes"][attr];
            let share = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
            let mut pairs = vec![("present".to_string(), share(x, "present") / na, share(y, "present") / nb)];
            for t in ["S", "N", "BOOL", "NULL", "M", "L", "SS"] {
                pairs.push((t.to_string(), share(&x["types"], t) / na, share(&y["types"], t) / nb));
            }
            off.extend(
                pairs
                    .into_iter()
                    .filter(|(_, p, q)| (p - q).abs() > 4.0 * (p * (1.0 - p) * (1.0 / na + 1.0 / nb)).sqrt() + 0.005)
                    .map(|(k, p, q)| format!("{table}.{attr} {k}: {p:.3} vs {q:.3}")),
            );
        }
        let (s1, s2) = (a["item_bytes"]["p50"].as_f64().unwrap(), b["item_bytes"]["p50"].as_f64().unwrap());
        assert!((s1 - s2).abs() / s1 < 0.1, "{table}: median item size {s1} vs {s2}");
    }
    // Both exports are samples: shares may differ by sampling error, here
    // bounded by four standard errors of the difference.
    assert!(off.is_empty(), "shares drifted:\n{}", off.join("\n"));
    let drift = truth["models"]["Contact"]["defect_kinds"]["wrong_type"].as_u64().unwrap_or(0);
    assert!(drift > 0, "the first export's wrong types are drift in the second: {truth}");
    assert_check_matches(&[], second.to_str().unwrap(), &truth);
}

#[test]
fn bad_options_and_inputs_are_errors_naming_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    let bad_profile = dir.path().join("p.json");
    std::fs::write(&bad_profile, r#"{"format": "something-else/1", "tables": {}}"#).unwrap();
    let bad_profile = bad_profile.to_str().unwrap();
    for (args, needle) in [
        (vec!["--out", out, "--items", "Nope=5"], "Nope"),
        (vec!["--out", out, "--defects", "wrong_type=2"], "--defects"),
        (vec!["--out", out, "--defects", "typo=0.1"], "typo"),
        (vec!["--out", out, "--profile", bad_profile], bad_profile),
        (vec!["--out", "s3:///prefix"], "bucket"),
    ] {
        let mut all = vec!["-q", "generate", "--amplify", SHOP];
        all.extend(args);
        let run = ddbsnap(&all);
        assert_eq!(run.code, Some(2), "{all:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{all:?}: {}", run.stderr);
    }
    generate(&[], out, &["--items", "3"]);
    let again = ddbsnap(&["-q", "generate", "--amplify", SHOP, "--out", out]);
    assert!(again.code == Some(2) && again.stderr.contains("already holds AWSDynamoDB"), "{}", again.stderr);
    let run = ddbsnap(&["-q", "generate", "--out", out, "--profile", bad_profile]);
    assert_eq!(run.code, Some(2), "--profile needs --amplify: {}", run.stderr);
    let run = ddbsnap(&["-q", "generate", "--amplify", "/nonexistent/amplify_outputs.json", "--out", out]);
    assert!(run.code == Some(2) && run.stderr.contains("/nonexistent/amplify_outputs.json"), "{}", run.stderr);
}

/// The S3 endpoint under test, or None (after a notice) to skip.
fn s3_endpoint() -> Option<String> {
    match std::env::var("DDBSNAP_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ if std::env::var("DDBSNAP_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("DDBSNAP_REQUIRE_SERVERS=1 but DDBSNAP_TEST_S3_ENDPOINT is not set; scripts/servers.sh start")
        }
        _ => {
            eprintln!(
                "SKIPPED: DDBSNAP_TEST_S3_ENDPOINT is not set; start it with scripts/servers.sh start && eval \"$(scripts/servers.sh env)\""
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_output_reads_back_as_the_truth() {
    let Some(endpoint) = s3_endpoint() else { return };
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "ddbsnap-tests"))
        .endpoint_url(&endpoint)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let bucket = format!("ddbsnap-generate-{}-{nanos}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let url = format!("s3://{bucket}/rehearsal/shop");
    let pre = ["--endpoint-url", endpoint.as_str(), "--threads", "2"];
    let flags = ["--items", "Company=100,Contact=1500,Note=800", "--defects", DEFECTS, "--incrementals", "2"];
    let (u, p) = (url.clone(), pre.map(str::to_string));
    let truth = tokio::task::spawn_blocking(move || generate(&p.iter().map(String::as_str).collect::<Vec<_>>(), &u, &flags)).await.unwrap();
    let stored = s3.get_object().bucket(&bucket).key("rehearsal/shop/ddbsnap-generate.json").send().await.unwrap();
    let stored: Value = serde_json::from_slice(&stored.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(stored, truth, "the truth lies beside the exports");
    let list = s3.list_objects_v2().bucket(&bucket).prefix("rehearsal/shop/AWSDynamoDB/").send().await.unwrap();
    let summaries = list.contents().iter().filter(|o| o.key().unwrap().ends_with("/manifest-summary.json")).count();
    assert_eq!(summaries, 9, "three models, a full export and two incrementals each");
    let (u, p) = (url.clone(), pre.map(str::to_string));
    let counts = tokio::task::spawn_blocking(move || {
        let pre: Vec<&str> = p[..2].iter().map(String::as_str).collect();
        assert_check_matches(&pre, &u, &truth);
        (sql_counts(&pre, &u), finals(&truth))
    })
    .await
    .unwrap();
    assert_eq!(counts.0, counts.1);
}

/// Issue 16, part 5: `--items N` with `--profile` sets every model's count
/// (it was ignored); with `--scale` it is refused, as one of them would be.
#[test]
fn items_with_a_profile_is_honoured_and_with_scale_refused() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let out = dir.path().join("exports");
    let truth = generate(&[], out.to_str().unwrap(), &["--profile", profile.to_str().unwrap(), "--items", "400,Note=30"]);
    for (model, want) in [("Contact", 400), ("Company", 400), ("Note", 30)] {
        assert_eq!(truth["models"][model]["full_items"], want, "{model}: {truth}");
    }
    let other = dir.path().join("other");
    let run = ddbsnap(&[
        "-q",
        "generate",
        "--amplify",
        SHOP,
        "--out",
        other.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--items",
        "400",
        "--scale",
        "2",
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--scale") && run.stderr.contains("--items N"), "{}", run.stderr);
}

/// A defect kind no field of a model can hold is a warning naming the model
/// and the kind, not a silent nothing.
#[test]
fn a_defect_that_cannot_be_planted_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tag.json");
    std::fs::write(
        &model,
        r#"{"version":"1.3","data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},"models":{"Tag":{"name":"Tag",
        "attributes":[{"type":"model","properties":{}}],
        "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
        "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
        "label":{"name":"label","isArray":false,"type":"String","isRequired":false,"attributes":[]}}}}}}}"#,
    )
    .unwrap();
    let out = dir.path().join("exports");
    let run = ddbsnap(&[
        "generate",
        "--amplify",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--items",
        "50",
        "--defects",
        "missing_required=0.1,bad_format=0.1",
    ])
    .ok();
    for kind in ["missing_required", "bad_format"] {
        assert!(run.stderr.lines().any(|l| l.contains("model Tag") && l.contains(kind) && l.contains("none is planted")), "{}", run.stderr);
    }
    assert_eq!(run.json()["models"]["Tag"]["defect_kinds"].as_object().map_or(0, |m| m.len()), 0, "{}", run.stdout);
}
