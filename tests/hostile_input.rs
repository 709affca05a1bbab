//! Issue 13: exports and flags that once gave a wrong answer in silence.
//! Each must now stop with exit 2 and a message naming the file (and line)
//! or the flag.

mod common;

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use common::{assert_error, ddbsnap};
use ddbsnap::generate::{ExportWriter, Rng, contact_item};
use ddbsnap::snapshot::manifest::{OutputFormat, md5_base64};

fn arg(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// A full export of 12 Contact items in 2 data files under `root`, as of
/// `hour` o'clock; returns its folder (`root/AWSDynamoDB/<id>`).
fn export(root: &Path, hour: u32, seed: u64) -> PathBuf {
    let mut rng = Rng::new(seed);
    let at = Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).single().expect("time");
    let mut w = ExportWriter::new(root, "", "Contact-hostile-NONE", OutputFormat::DynamodbJson, at, 2, false, &mut rng).expect("writer");
    for i in 0..12 {
        w.add_item(&contact_item(seed, i, 0.0, 0), &mut rng).expect("add item");
    }
    let id = w.finish(None).expect("finish");
    root.join("AWSDynamoDB").join(id)
}

/// Rewrites a manifest file with `f` and updates its `.md5` beside it.
fn edit_manifest(dir: &Path, name: &str, f: impl FnOnce(String) -> String) {
    let path = dir.join(name);
    let text = f(std::fs::read_to_string(&path).expect("read manifest"));
    std::fs::write(&path, &text).expect("write manifest");
    let md5 = path.with_extension("md5");
    std::fs::write(&md5, md5_base64(text.as_bytes())).expect("write md5");
}

#[test]
fn a_data_file_listed_twice_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    edit_manifest(&e, "manifest-files.json", |t| {
        let first = t.lines().next().expect("a line").to_string();
        format!("{t}{first}\n")
    });
    // The summary's count is kept consistent, so only the repetition is wrong.
    let files = std::fs::read_to_string(e.join("manifest-files.json")).expect("read");
    let total: u64 =
        files.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["itemCount"].as_u64().expect("n")).sum();
    edit_manifest(&e, "manifest-summary.json", |t| {
        let mut v: serde_json::Value = serde_json::from_str(&t).expect("json");
        v["itemCount"] = total.into();
        v.to_string()
    });
    for cmd in ["inspect", "sql"] {
        let mut args = vec![cmd.to_string()];
        if cmd == "sql" {
            args.extend(["-e".to_string(), arg(dir.path()), "SELECT count(*) FROM Contact".into()]);
        } else {
            args.push(arg(dir.path()));
        }
        let run = ddbsnap(&args);
        assert_error(&run, &["manifest-files.json:3", "listed twice", "lines 1 and 3"]);
    }
}

#[test]
fn two_full_exports_as_of_the_same_time_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let ea = export(&a, 5, 1);
    let eb = export(&b, 5, 2);
    // Same table ARN, same time, different exports.
    let arn_of = |e: &Path| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(e.join("manifest-summary.json")).expect("read")).expect("json");
        v["exportArn"].as_str().expect("arn").to_string()
    };
    assert_ne!(arn_of(&ea), arn_of(&eb));
    let run = ddbsnap(&["inspect", &arg(&a), &arg(&b)]);
    assert_error(&run, &["two full exports as of the same time", "Contact"]);
    // Named twice on the command line: refused whatever the exports.
    let run = ddbsnap(&["sql", "-e", &format!("X={}", arg(&a)), "-e", &format!("X={}", arg(&b)), "SELECT 1"]);
    assert_error(&run, &["two full exports were given for this one table", "X"]);
    // At different times too: a named table is one table, never the latest of several.
    let c = dir.path().join("c");
    export(&c, 7, 3);
    let run = ddbsnap(&["sql", "-e", &format!("X={}", arg(&a)), "-e", &format!("X={}", arg(&c)), "SELECT 1"]);
    assert_error(&run, &["two full exports were given for this one table"]);
}

#[test]
fn nonsense_flag_values_are_usage_errors() {
    let plan = "no-such-plan";
    for (args, flag) in [
        (vec!["apply", plan, "--approve", "12345678", "--max-wcu-per-sec", "0"], "--max-wcu-per-sec"),
        (vec!["apply", plan, "--approve", "12345678", "--max-wcu-per-sec=-1"], "--max-wcu-per-sec"),
        (vec!["apply", plan, "--approve", "12345678", "--max-wcu-per-sec", "NaN"], "--max-wcu-per-sec"),
        (vec!["apply", plan, "--approve", "12345678", "--concurrency", "0"], "--concurrency"),
        (vec!["apply", plan, "--approve", "12345678", "--max-wcu-per-sec", "1e-300"], "--max-wcu-per-sec"),
        (vec!["inspect", "testdata/contacts", "--threads", "0"], "--threads"),
        (vec!["inspect", "testdata/contacts", "--threads", "1000000"], "more than ddbsnap starts"),
        (vec!["inspect", "testdata/contacts", "--threads", "99999999999999999999"], "far too large"),
        (vec!["generate", "--out", "x", "--drift-rate", "1.5"], "--drift-rate"),
        (vec!["generate", "--out", "x", "--drift-rate", "NaN"], "--drift-rate"),
        (vec!["plan", "-t", "split_name", "testdata/contacts", "--out", "x", "--write-rate", "0"], "--write-rate"),
        (vec!["plan", "-t", "split_name", "testdata/contacts", "--out", "x", "--price-per-million=-1"], "--price-per-million"),
        (vec!["rehearse", "-t", "split_name", "testdata/contacts", "--kill-at", "1"], "--kill-at"),
    ] {
        let run = ddbsnap(&args);
        assert_eq!(run.code, Some(2), "{}", run.show());
        assert!(run.stderr.contains(flag), "{flag} should be named\n{}", run.show());
        assert!(!Path::new("x").exists() && !common::root().join("x").exists(), "a refused run wrote x");
    }
    let run = ddbsnap(&["apply", plan, "--approve", "12345678", "--table", "Contact="]);
    assert_eq!(run.code, Some(2), "{}", run.show());
}

#[test]
fn an_existing_quarantine_file_is_never_truncated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    let files = std::fs::read_to_string(e.join("manifest-files.json")).expect("read");
    let key = serde_json::from_str::<serde_json::Value>(files.lines().next().expect("line")).expect("json")["dataFileS3Key"]
        .as_str()
        .expect("key")
        .to_string();
    let data = dir.path().join(key);
    let before = std::fs::read(&data).expect("read data file");
    let run = ddbsnap(&["inspect", &arg(dir.path()), "--quarantine", &arg(&data)]);
    assert_error(&run, &["--quarantine", "exists"]);
    assert_eq!(std::fs::read(&data).expect("read data file"), before, "the export's own file was changed");
}

/// Replaces the first data file of export `e` with `bytes` holding `items`
/// lines, its MD5 and the counts updated, so only its content is wrong.
/// Returns the data file's path.
fn replace_first_data_file(root: &Path, e: &Path, bytes: &[u8], items: u64) -> PathBuf {
    let files = std::fs::read_to_string(e.join("manifest-files.json")).expect("read");
    let mut entries: Vec<serde_json::Value> = files.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let old = entries[0]["itemCount"].as_u64().expect("n");
    entries[0]["itemCount"] = items.into();
    entries[0]["md5Checksum"] = md5_base64(bytes).into();
    let path = root.join(entries[0]["dataFileS3Key"].as_str().expect("key"));
    std::fs::write(&path, bytes).expect("write data file");
    let text: String = entries.iter().map(|v| format!("{v}\n")).collect();
    edit_manifest(e, "manifest-files.json", |_| text);
    edit_manifest(e, "manifest-summary.json", |t| {
        let mut v: serde_json::Value = serde_json::from_str(&t).expect("json");
        v["itemCount"] = (v["itemCount"].as_u64().expect("n") - old + items).into();
        v.to_string()
    });
    path
}

fn gzip(text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(text).expect("gzip");
    z.finish().expect("gzip")
}

#[test]
fn a_line_that_inflates_beyond_any_item_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    // 24 gzip members of 1 MiB each: one 24 MiB line from 100 KB of gzip.
    let member = gzip(&vec![b'a'; 1 << 20]);
    let bomb: Vec<u8> = std::iter::repeat_n(member, 24).flatten().collect();
    let file = replace_first_data_file(dir.path(), &e, &bomb, 1);
    let name = file.file_name().expect("name").to_string_lossy().into_owned();
    for args in [
        vec!["inspect".to_string(), arg(dir.path())],
        vec!["sql".into(), "-e".into(), arg(dir.path()), "SELECT count(*) FROM Contact".into()],
    ] {
        let run = ddbsnap(&args);
        assert_error(&run, &[&format!("{name}:1:"), "longer than 16 MiB", "400 KB"]);
        assert!(run.stderr.len() < 2000, "the error quotes too much: {} bytes", run.stderr.len());
    }
}

#[test]
fn sets_dynamodb_cannot_hold_are_refused_when_read() {
    for (set, words) in [
        (r#"{"SS":[]}"#, "an empty SS"),
        (r#"{"SS":["a","a"]}"#, "same member twice"),
        (r#"{"NS":["1","1.0"]}"#, "same member twice"),
        (r#"{"BS":["AAE=","AAE="]}"#, "same member twice"),
        (r#"{"M":{"inner":{"SS":["x","x"]}}}"#, "same member twice"),
        (r#"{"L":[{"NS":[]}]}"#, "an empty NS"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = export(dir.path(), 0, 1);
        let text = format!("{{\"Item\":{{\"id\":{{\"S\":\"x\"}},\"tags\":{set}}}}}\n");
        let file = replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), 1);
        let name = file.file_name().expect("name").to_string_lossy().into_owned();
        let run = ddbsnap(&["inspect", &arg(dir.path())]);
        assert_error(&run, &[&format!("{name}:1:"), words]);
    }
    // The same in Ion.
    for (set, words) in [
        ("$dynamodb_SS::[]", "an empty SS"),
        ("$dynamodb_NS::[1, 1.0]", "same member twice"),
        ("$dynamodb_SS::[\"a\",\"a\"]", "same member twice"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rng = Rng::new(4);
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("time");
        let mut w = ExportWriter::new(dir.path(), "", "Contact-hostile-NONE", OutputFormat::Ion, at, 2, false, &mut rng).expect("writer");
        w.add_item(&contact_item(1, 0, 0.0, 0), &mut rng).expect("add");
        let e = dir.path().join("AWSDynamoDB").join(w.finish(None).expect("finish"));
        let text = format!("$ion_1_0 {{Item:{{id:\"x\",tags:{set}}}}}\n");
        let file = replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), 1);
        let name = file.file_name().expect("name").to_string_lossy().into_owned();
        let run = ddbsnap(&["inspect", &arg(dir.path())]);
        assert_error(&run, &[&format!("{name}:1:"), words]);
    }
}

/// `ddbsnap sql --format csv` on `root`'s export: the lines after the header.
fn sql_rows(root: &Path, sql: &str) -> Vec<String> {
    let run = ddbsnap(&["sql", "--format", "csv", "-e", &arg(root), sql]).ok();
    run.stdout.lines().skip(1).map(str::to_string).collect()
}

#[test]
fn equal_maps_have_one_text_whatever_their_spelling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    // One value written five ways: key order, spacing, number form,
    // escapes, set order.
    let lines = [
        r#"{"Item":{"id":{"S":"m1"},"m":{"M":{"a":{"S":"x"},"b":{"N":"1"},"t":{"SS":["p","q"]}}}}}"#,
        r#"{"Item":{"id":{"S":"m2"},"m":{"M":{"t":{"SS":["q","p"]},"b":{"N":"1.0"},"a":{"S":"x"}}}}}"#,
        r#"{"Item":{"id":{"S":"m3"},"m": {"M": {"a": {"S": "x"}, "b": {"N": "1"}, "t": {"SS": ["p", "q"]}}}}}"#,
        r#"{"Item":{"id":{"S":"m4"},"m":{"M":{"a":{"S":"\u0078"},"b":{"N":"10E-1"},"t":{"SS":["p","q"]}}}}}"#,
        r#"{"Item":{"id":{"S":"m5"},"m":{"M":{"b":{"N":"+1"},"t":{"SS":["q","p"]},"a":{"S":"x"}}}}}"#,
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), lines.len() as u64);
    let groups = sql_rows(dir.path(), "SELECT count(*) AS n FROM Contact WHERE id LIKE 'm%' GROUP BY m");
    assert_eq!(groups, vec!["5".to_string()], "five equal maps are one group");
    let texts = sql_rows(dir.path(), "SELECT DISTINCT ddb_json(m) AS j FROM Contact WHERE id LIKE 'm%'");
    assert_eq!(texts.len(), 1, "{texts:?}");
}

#[test]
fn write_units_count_every_kilobyte_of_large_items() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    // One item of about 100 KB: "id" (2) + "x" (1) + the id's 2 bytes + 100 * 1024 bytes of text.
    let line = format!("{{\"Item\":{{\"id\":{{\"S\":\"xx\"}},\"x\":{{\"S\":\"{}\"}}}}}}\n", "a".repeat(100 * 1024));
    replace_first_data_file(dir.path(), &e, &gzip(line.as_bytes()), 1);
    let run = ddbsnap(&["inspect", "--format", "json", &arg(dir.path())]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let table = &v["tables"][0];
    let small = table["items"].as_u64().expect("items") - 1;
    // The other items are under 1 KB each (one unit); the large one costs 101.
    let units = table["write_units_full_copy"].as_u64().expect("units");
    assert_eq!(units, small + 101, "{}", run.stdout);
}

const MODEL: &str = r#"{"data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},"models":{
 "Contact":{"name":"Contact","primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "attributes":[{"type":"model","properties":{}},{"type":"auth","properties":{"rules":[{"allow":"owner","ownerField":"owner","operations":["read"]}]}}],
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "born":{"name":"born","isArray":false,"type":"AWSDate","isRequired":false,"attributes":[]},
   "at":{"name":"at","isArray":false,"type":"AWSTime","isRequired":false,"attributes":[]},
   "seen":{"name":"seen","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[]},
   "ip":{"name":"ip","isArray":false,"type":"AWSIPAddress","isRequired":false,"attributes":[]},
   "createdAt":{"name":"createdAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true},
   "updatedAt":{"name":"updatedAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true}}}}}}}"#;

/// `check --amplify MODEL --format json` on `lines` (one data file): the
/// exit code and the failing checks with their violation counts.
fn failing_checks(lines: &[String]) -> (Option<i32>, std::collections::BTreeMap<String, u64>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng::new(5);
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("time");
    let mut w =
        ExportWriter::new(dir.path(), "", "Contact-hostile-NONE", OutputFormat::DynamodbJson, at, 1, false, &mut rng).expect("writer");
    w.add_item(&contact_item(1, 0, 0.0, 0), &mut rng).expect("add");
    let e = dir.path().join("AWSDynamoDB").join(w.finish(None).expect("finish"));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), lines.len() as u64);
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).expect("write model");
    let run = ddbsnap(&["check", "--amplify", &arg(&model), "--format", "json", &arg(dir.path())]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.show()));
    let failing = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| (c["name"].as_str().expect("name").to_string(), c["violations"].as_u64().unwrap_or(0)))
        .collect();
    (run.code, failing)
}

#[test]
fn a_check_never_passes_because_its_column_is_absent() {
    let lines: Vec<String> = (0..3).map(|i| format!(r#"{{"Item":{{"id":{{"S":"c{i}"}}}}}}"#)).collect();
    let (code, failing) = failing_checks(&lines);
    assert_eq!(code, Some(1));
    for name in [
        "Contact.typename",
        "Contact.createdAt.required",
        "Contact.updatedAt.required",
        "Contact.owner.present",
        "Contact.typename_present",
        "Contact.timestamps_present",
    ] {
        assert_eq!(failing.get(name), Some(&3), "{name} must fail on every item: {failing:?}");
    }
}

#[test]
fn format_checks_validate_values_as_appsync_does() {
    let base = r#""__typename":{"S":"Contact"},"createdAt":{"S":"2024-01-01T00:00:00.000Z"},"updatedAt":{"S":"2024-01-01T00:00:00.000Z"},"owner":{"S":"a::b""#;
    let good = [("born", "2024-02-29"), ("at", "23:59:59.5+05:30"), ("seen", "2024-02-29T23:59:59Z"), ("ip", "10.0.0.255/8")];
    let bad = [
        ("born", "2024-13-45"),
        ("born", "2023-02-29"),
        ("at", "24:00"),
        ("at", "12:60:00"),
        ("seen", "2023-02-29T00:00Z"),
        ("seen", "2024-01-01T12:00:00"),
        ("ip", "256.1.1.1"),
        ("ip", "1.2.3.4/33"),
    ];
    let mut lines = Vec::new();
    for (i, (attr, value)) in good.iter().chain(&bad).enumerate() {
        lines.push(format!(r#"{{"Item":{{"id":{{"S":"f{i}"}},{base}}},"{attr}":{{"S":"{value}"}}}}}}"#));
    }
    let (code, failing) = failing_checks(&lines);
    assert_eq!(code, Some(1));
    let want: std::collections::BTreeMap<String, u64> =
        [("Contact.born.format", 2), ("Contact.at.format", 2), ("Contact.seen.format", 2), ("Contact.ip.format", 2)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(failing, want);
}

#[test]
fn duplicate_primary_keys_in_a_full_export_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    let lines = [
        r#"{"Item":{"id":{"S":"dup"},"n":{"N":"1"}}}"#,
        r#"{"Item":{"id":{"S":"other"},"n":{"N":"2"}}}"#,
        r#"{"Item":{"id":{"S":"dup"},"n":{"N":"3"}}}"#,
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), 3);
    let root = arg(dir.path());
    let words = ["table Contact", "the same primary key", r#"{"id":{"S":"dup"}}"#];
    assert_error(&ddbsnap(&["inspect", &root, "--key", "Contact=id"]), &words);
    assert_error(&ddbsnap(&["sql", "-e", &root, "--key", "Contact=id", "SELECT count(*) FROM Contact"]), &words);
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).expect("write model");
    assert_error(&ddbsnap(&["check", "--amplify", &arg(&model), &root]), &words);
    // The same through the Parquet cache, where the key is checked by a query.
    let cache = dir.path().join("cache");
    let cached = ["--cache", "always", "--cache-dir", &arg(&cache)];
    assert_error(&ddbsnap(&[&["sql", "-e", &root, "--key", "Contact=id", "SELECT count(*) FROM Contact"][..], &cached].concat()), &words);
    assert_error(&ddbsnap(&[&["check", "--amplify", &arg(&model), &root][..], &cached].concat()), &words);
    // A key no item has is named as such.
    assert_error(&ddbsnap(&["inspect", &root, "--key", "Contact=pk"]), &["no key attribute \"pk\""]);
}

#[test]
fn duplicate_keys_are_found_by_the_keys_incrementals_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    // Two items with one key, in one data file.
    let lines = [r#"{"Item":{"id":{"S":"dup"},"n":{"N":"1"}}}"#, r#"{"Item":{"id":{"S":"dup"},"n":{"N":"2"}}}"#];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), 2);
    // An incremental export after it, keyed by id.
    let from = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("time");
    let to = from + chrono::Duration::minutes(15);
    let mut rng = Rng::new(9);
    let mut w = ExportWriter::new(
        dir.path(),
        "",
        "Contact-hostile-NONE",
        OutputFormat::DynamodbJson,
        to + chrono::Duration::seconds(5),
        1,
        true,
        &mut rng,
    )
    .expect("writer");
    let new = contact_item(1, 500, 0.0, 0);
    w.add_change(&new, None, Some(&new), from.timestamp_micros() as u64 + 1000, &mut rng).expect("change");
    w.finish(Some((from, to))).expect("finish");
    let run = ddbsnap(&["inspect", &arg(dir.path())]);
    assert_error(&run, &["two items with the primary key", r#"{"id":{"S":"dup"}}"#, "items 1 and 2"]);
}

/// Found by the review: raw control characters from data reached the
/// terminal (an attribute name in `inspect`, values and names in `sql`).
#[test]
fn control_characters_in_data_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    let line = "{\"Item\":{\"id\":{\"S\":\"k\\u001b[2J\\nx\"},\"na\\u001b[2Jme\\u202e\":{\"S\":\"v\\u0007\"}}}\n";
    replace_first_data_file(dir.path(), &e, &gzip(line.as_bytes()), 1);
    let root = arg(dir.path());
    let run = ddbsnap(&["inspect", &root]).ok();
    assert!(run.stdout.contains("na\\u{1b}[2Jme\\u{202e}"), "{}", run.show());
    let run = ddbsnap(&["sql", "-e", &root, "SELECT * FROM Contact WHERE id LIKE 'k%'"]).ok();
    let out = &run.stdout;
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\u{202e}'), "raw control characters:\n{}", run.show());
    assert!(run.stdout.contains("k\\u{1b}[2J\\nx"), "{}", run.show());
    // Check reports too (a check that lists whole items, names and all).
    let checks = dir.path().join("checks");
    std::fs::create_dir(&checks).expect("mkdir");
    std::fs::write(checks.join("all.sql"), "-- table: Contact\nSELECT * FROM Contact WHERE id LIKE 'k%'\n").expect("write check");
    let run = ddbsnap(&["check", "--checks", &arg(&checks), "--show-values", &root]);
    assert_eq!(run.code, Some(1), "{}", run.show());
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{202e}'), "raw control characters:\n{}", run.show());
}

/// Found by the second review: a Parquet table folder named with glob
/// characters was read as a pattern (its siblings' rows too).
#[test]
fn parquet_folders_are_never_patterns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("pq");
    ddbsnap(&["convert", "testdata/contacts", "--to", &arg(&out)]).ok();
    std::fs::rename(out.join("Contact"), out.join("C*")).expect("rename");
    let run = ddbsnap(&["sql", "--parquet", &arg(&out), "SELECT count(*) FROM \"C*\""]);
    assert_error(&run, &["may not hold * ? [ ] { }", "C*"]);
}

/// Found by the review: a `--key` or `--table` naming a table that is not
/// there was ignored; a plan made from an export with quarantined lines
/// counted the table as whole; an empty quarantine file blocked the next run.
#[test]
fn typos_and_partial_reads_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = export(dir.path(), 0, 1);
    let root = arg(dir.path());
    assert_error(&ddbsnap(&["sql", "-e", &root, "--key", "Contat=id", "SELECT 1"]), &["--key names table \"Contat\"", "Contact"]);
    let q = dir.path().join("q.jsonl");
    let run = ddbsnap(&["inspect", &root, "--quarantine", &arg(&q)]).ok();
    assert!(!q.exists(), "an empty quarantine file was left\n{}", run.show());
    let text = "{\"Item\":{\"id\":{\"S\":\"a\"}}}\nnot json\n";
    replace_first_data_file(dir.path(), &e, &gzip(text.as_bytes()), 2);
    let out = dir.path().join("plan");
    let t = dir.path().join("t.sql");
    std::fs::write(&t, "SELECT id, 'x' AS nickname FROM Contact").expect("write");
    let run = ddbsnap(&["plan", "-t", &arg(&t), &root, "--out", &arg(&out), "--quarantine", &arg(&q)]);
    assert_error(&run, &["1 lines of the export could not be read", "whole export"]);
    assert!(!out.exists());
}

/// Found by the third review: a custom type that requires itself made
/// `generate` overflow its stack (exit 134), and a field named `_ddb` made
/// an export ddbsnap itself could not read.
#[test]
fn models_that_no_item_can_satisfy_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("testdata/models/contact-v2.json").expect("model")).expect("json");
    let mi = &mut model["data"]["model_introspection"];
    mi["nonModels"]["N1"] = serde_json::json!({"name":"N1","fields":{"n1":{"name":"n1","isArray":false,"type":{"nonModel":"N1"},"isRequired":true,"attributes":[]}}});
    mi["models"]["Contact"]["fields"]["nn"] =
        serde_json::json!({"name":"nn","isArray":false,"type":{"nonModel":"N1"},"isRequired":false,"attributes":[]});
    let path = dir.path().join("self.json");
    std::fs::write(&path, model.to_string()).expect("write model");
    let out = dir.path().join("gen");
    assert_error(
        &ddbsnap(&["generate", "--amplify", &arg(&path), "--out", &arg(&out), "--items", "1"]),
        &["custom type N1 requires itself"],
    );
    // A tree (the type holds itself through an optional list) generates.
    let mi = &mut model["data"]["model_introspection"];
    mi["nonModels"]["N1"]["fields"]["n1"] =
        serde_json::json!({"name":"n1","isArray":true,"type":{"nonModel":"N1"},"isRequired":true,"isArrayNullable":true,"attributes":[]});
    std::fs::write(&path, model.to_string()).expect("write model");
    ddbsnap(&["generate", "--amplify", &arg(&path), "--out", &arg(&out), "--items", "20"]).ok();
    // A field ddbsnap reserves.
    let mi = &mut model["data"]["model_introspection"];
    mi["models"]["Contact"]["fields"]["_ddb"] =
        serde_json::json!({"name":"_ddb","isArray":false,"type":"String","isRequired":false,"attributes":[]});
    std::fs::write(&path, model.to_string()).expect("write model");
    assert_error(
        &ddbsnap(&["generate", "--amplify", &arg(&path), "--out", &arg(&dir.path().join("g2")), "--items", "1"]),
        &["Contact._ddb", "reserves"],
    );
}

/// Found by the third review: a Parquet column whose ddbsnap tag does not
/// fit its type (a tampered `convert` output: numbers tagged as strings)
/// was read as if the tag were true.
#[test]
fn parquet_columns_must_hold_the_type_their_tag_names() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use arrow::datatypes::{Field, Schema};
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("pq");
    ddbsnap(&["convert", "testdata/contacts", "--to", &arg(&out)]).ok();
    let file = common::files_under(&out.join("Contact")).into_iter().find(|f| arg(f).ends_with(".parquet")).expect("a parquet file");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).expect("open"))
        .expect("parquet")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches[0].schema();
    let i = schema.index_of("email").expect("email column");
    let tag = schema.field(i).metadata().clone();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[i] = Field::new("email", arrow::datatypes::DataType::Int64, true).with_metadata(tag);
    let tampered = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    std::fs::remove_file(&file).expect("remove");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).expect("create"), tampered.clone(), None).expect("writer");
    for b in &batches {
        let mut columns = b.columns().to_vec();
        columns[i] = Arc::new(Int64Array::from(vec![1i64; b.num_rows()])) as ArrayRef;
        w.write(&RecordBatch::try_new(tampered.clone(), columns).expect("batch")).expect("write");
    }
    w.close().expect("close");
    let run = ddbsnap(&["check", "--parquet", &arg(&out)]);
    assert_error(&run, &["\"email\"", "does not fit its Arrow type"]);
}

/// An empty DDBSNAP_THREADS or DDBSNAP_MEMORY_LIMIT (how people unset a
/// variable) means unset, as the endpoint variables do; it was an error.
#[test]
fn empty_thread_and_memory_variables_mean_unset() {
    let out = common::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
            .args(["-q", "sql", "--format", "csv", "-e", "testdata/contacts", "SELECT count(*) AS n FROM Contact"])
            .current_dir(common::root())
            .env("DDBSNAP_THREADS", "")
            .env("DDBSNAP_MEMORY_LIMIT", " "),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n199\n", "{}", String::from_utf8_lossy(&out.stderr));
    let bad = common::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
            .args(["-q", "sql", "-e", "testdata/contacts", "SELECT 1"])
            .current_dir(common::root())
            .env("DDBSNAP_THREADS", "zero"),
    );
    assert_eq!(bad.status.code(), Some(2), "a wrong value is still an error");
}
