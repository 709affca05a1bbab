//! Bad input, run through the real binary: every case in `testdata/bad/`
//! (written by `tests/fixtures.rs`) must stop the run with exit code 2, a
//! message on stderr naming the file, the line where there is one, and the
//! cause, and nothing on stdout that could pass for a result.

mod common;

use common::{Run, assert_error, ddbsnap, testdata};

/// What `tests/fixtures.rs` recorded about a case.
struct Case {
    name: &'static str,
    /// The case folder as given on the command line (relative to the crate).
    dir: String,
    /// The file the error must name, as the binary shows it.
    file: Option<String>,
    line: Option<u64>,
}

fn case(name: &'static str) -> Case {
    let note_path = testdata("bad").join(name).join("ddbsnap-case.json");
    let note: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&note_path).unwrap_or_else(|e| panic!("{}: {e}", note_path.display())))
            .expect("case note JSON");
    let dir = format!("testdata/bad/{name}");
    Case { name, file: note["file"].as_str().map(|f| format!("{dir}/{f}")), line: note["line"].as_u64(), dir }
}

/// Runs `inspect` (text and JSON), `sql` and `convert` on the case and
/// checks each fails the same way. `export` is the argument naming the
/// export (the case folder, maybe with NAME=); `flags` go before it.
fn check_all_commands(c: &Case, export: &str, flags: &[&str], words: &[&str]) {
    let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    match (&c.file, c.line) {
        (Some(f), Some(l)) => words.push(format!("{f}:{l}: ")),
        (Some(f), None) => words.push(f.clone()),
        (None, _) => {}
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().display().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["inspect", export],
        vec!["inspect", "--format", "json", export],
        vec!["sql", "-e", export, "SELECT count(*) FROM Contact"],
        vec!["sql", "--format", "json", "-e", export, "SELECT * FROM Contact"],
        vec!["convert", "--to", &to, export],
    ];
    for cmd in commands {
        let args: Vec<&str> = flags.iter().copied().chain(cmd).collect();
        let run = ddbsnap(&args);
        assert_error(&run, &words);
    }
    // A failed conversion leaves no Parquet file, finished or partial.
    let left: Vec<_> = walk(out.path());
    assert!(left.iter().all(|p| !p.ends_with(".parquet") && !p.ends_with(".partial")), "{}: convert left {left:?}", c.name);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

fn check(name: &'static str, words: &[&str]) {
    let c = case(name);
    let dir = c.dir.clone();
    check_all_commands(&c, &dir, &[], words);
}

/// A manifest-files.json entry of a case, by data file key suffix.
fn manifest_entry(c: &Case) -> serde_json::Value {
    let file = c.file.as_deref().expect("case names a data file");
    for m in walk(&testdata("bad").join(c.name)) {
        if m.ends_with("manifest-files.json") {
            for line in std::fs::read_to_string(&m).expect("manifest").lines() {
                let e: serde_json::Value = serde_json::from_str(line).expect("manifest line");
                if file.ends_with(e["dataFileS3Key"].as_str().unwrap_or("\u{0}")) {
                    return e;
                }
            }
        }
    }
    panic!("{}: no manifest entry for {file}", c.name);
}

// ------------------------------------------------------------ data files

#[test]
fn gzip_truncated() {
    check("gzip-truncated", &["gzip data is corrupt or truncated", "complete lines"]);
    let run = ddbsnap(&["inspect", "testdata/bad/gzip-truncated"]);
    assert!(!run.stderr.contains("checksum"), "md5 matches: the gzip error is the one to report\n{}", run.show());
}

#[test]
fn gzip_corrupt() {
    check("gzip-corrupt", &["gzip data is corrupt", "corrupt deflate stream"]);
    let run = ddbsnap(&["inspect", "testdata/bad/gzip-corrupt"]);
    assert!(!run.stderr.contains("checksum"), "md5 matches: the gzip error is the one to report\n{}", run.show());
}

#[test]
fn gzip_corrupt_with_stale_md5_is_a_checksum_error() {
    let c = case("gzip-corrupt-md5-stale");
    let md5 = manifest_entry(&c)["md5Checksum"].as_str().expect("md5").to_string();
    // The checksum first (a corrupt download), with what reading it gave.
    check("gzip-corrupt-md5-stale", &["checksum mismatch", &format!("the manifest says MD5 {md5}"), "reading it failed with", "gzip"]);
}

#[test]
fn checksum_mismatch() {
    let c = case("checksum-mismatch");
    let md5 = manifest_entry(&c)["md5Checksum"].as_str().expect("md5").to_string();
    check("checksum-mismatch", &["checksum mismatch", &format!("the manifest says MD5 {md5}"), "the file's MD5 is"]);
    let run = ddbsnap(&["inspect", "testdata/bad/checksum-mismatch"]);
    assert!(!run.stderr.contains("reading it failed"), "the file itself reads fine\n{}", run.show());
}

#[test]
fn json_malformed_line() {
    let c = case("json-malformed-line");
    assert_eq!(c.line, Some(3));
    check("json-malformed-line", &["invalid DynamoDB JSON", "expected `,` or `}`"]);
}

#[test]
fn json_truncated_last_line() {
    let c = case("json-truncated-last-line");
    assert!(c.line.is_some());
    check("json-truncated-last-line", &["invalid DynamoDB JSON", "no newline", "truncated"]);
}

#[test]
fn ion_bad_line() {
    let c = case("ion-bad-line");
    assert_eq!(c.line, Some(2));
    check("ion-bad-line", &["invalid Ion at column", "timestamps are not DynamoDB values"]);
}

#[test]
fn number_with_39_digits() {
    let c = case("number-39-digits");
    assert_eq!(c.line, Some(2));
    check("number-39-digits", &["123456789012345678901234567890123456789", "more than 38 significant digits"]);
}

#[test]
fn unknown_type_key() {
    let c = case("unknown-type-key");
    assert_eq!(c.line, Some(4));
    check("unknown-type-key", &["unknown DynamoDB type \"X\""]);
}

#[test]
fn data_file_missing() {
    check("data-file-missing", &["data file listed in the manifest is missing"]);
}

// ------------------------------------------------------------ manifests

#[test]
fn item_count_of_a_file() {
    let c = case("item-count-file");
    let said = manifest_entry(&c)["itemCount"].as_u64().expect("itemCount");
    check("item-count-file", &[&format!("the manifest says {said} items, the file holds {}", said - 1)]);
}

#[test]
fn item_count_of_the_summary() {
    check("item-count-summary", &["data files list 12 items but manifest-summary.json says 17"]);
}

#[test]
fn data_key_outside_the_bucket() {
    check("data-key-outside-root", &["\"../x\"", "outside the bucket root"]);
}

#[test]
fn manifest_files_key_outside_the_bucket() {
    check("files-key-outside-root", &["\"../x\"", "outside the bucket root"]);
}

#[test]
fn unknown_output_format() {
    check("unknown-output-format", &["not a valid manifest-summary.json", "unknown variant `CSV`", "DYNAMODB_JSON", "ION"]);
}

#[test]
fn manifest_files_checksum_file_mismatch() {
    let c = case("manifest-files-md5-mismatch");
    let json = c.file.as_deref().expect("file").replace(".md5", ".json");
    check("manifest-files-md5-mismatch", &["checksum file does not match", &json]);
}

#[test]
fn manifest_summary_checksum_file_mismatch_warns_unless_strict() {
    // Publishers redact account ids in summaries, so by default a warning.
    let c = case("manifest-summary-md5-mismatch");
    let md5 = c.file.clone().expect("file");
    let run = ddbsnap(&["sql", "--format", "csv", "-e", &c.dir, "SELECT count(*) AS n FROM Contact"]).ok();
    assert_eq!(run.stdout, "n\n12\n", "{}", run.show());
    assert!(run.stderr.contains(&format!("{md5}: checksum file does not match")), "{}", run.show());
    assert!(run.stderr.contains("WARN"), "{}", run.show());
    let run = ddbsnap(&["inspect", &c.dir]).ok();
    assert!(run.stdout.contains("warning: ") && run.stdout.contains("checksum file does not match"), "{}", run.show());
    check_all_commands(&c, &c.dir, &["--strict"], &["checksum file does not match"]);
}

// ------------------------------------------------------------ chains

/// Export ids (folder names) of a case, oldest first.
fn export_ids(name: &str) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(testdata("bad").join(name).join("AWSDynamoDB"))
        .expect("AWSDynamoDB folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn incremental_of_another_table() {
    let c = case("incremental-other-table");
    let export = format!("Contact={}", c.dir);
    check_all_commands(&c, &export, &[], &["different tables", "table/Contact-fixtures-NONE", "table/Invoice-fixtures-NONE"]);
    // The same with each export folder given on its own, both named Contact.
    let ids = export_ids(c.name);
    let exports: Vec<String> = ids.iter().map(|id| format!("Contact={}/AWSDynamoDB/{id}", c.dir)).collect();
    let run = ddbsnap(&["sql", "-e", &exports[0], "-e", &exports[1], "SELECT count(*) FROM Contact"]);
    assert_error(&run, &["different tables", "table/Invoice-fixtures-NONE"]);
    // Without NAME= they are two tables, and the Invoice one has no full export.
    let run = ddbsnap(&["inspect", &c.dir]);
    assert_error(&run, &["Invoice", "no full export"]);
}

#[test]
fn incremental_out_of_order() {
    let c = case("incremental-out-of-order");
    let ids = export_ids(c.name);
    // The incremental export's id sorts first: it was taken earlier.
    let (incremental, full) = (&ids[0], &ids[1]);
    let export = format!("Contact={}", c.dir);
    check_all_commands(&c, &export, &[], &["out of order", "ends before the full export", incremental, full]);
}

#[test]
fn incremental_gap_warns_by_default() {
    let c = case("incremental-gap");
    let ids = export_ids(c.name);
    let run = ddbsnap(&["sql", "--format", "csv", "-e", &c.dir, "SELECT count(*) AS n FROM Contact"]).ok();
    assert_eq!(run.stdout, "n\n12\n", "12 items, one inserted and one deleted\n{}", run.show());
    for w in ["gap of 70 s", &ids[0], &ids[1], "not in any export"] {
        assert!(run.stderr.contains(w), "the gap warning should contain {w:?}\n{}", run.show());
    }
    assert!(!run.stderr.contains('\u{1b}'), "terminal escape codes on a redirected stderr\n{}", run.show());
    let run = ddbsnap(&["inspect", "--format", "json", &c.dir]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("inspect JSON");
    let warnings = v["tables"][0]["warnings"].as_array().expect("warnings");
    assert!(warnings.iter().any(|w| w.as_str().is_some_and(|w| w.contains("gap of 70 s"))), "{}", run.show());
}

#[test]
fn incremental_gap_is_an_error_with_strict() {
    let c = case("incremental-gap");
    let ids = export_ids(c.name);
    check_all_commands(&c, &c.dir, &["--strict"], &["gap of 70 s", &ids[0], &ids[1]]);
    // --strict is global: it may also follow the subcommand.
    let run = ddbsnap(&["sql", "--strict", "-e", &c.dir, "SELECT count(*) FROM Contact"]);
    assert_error(&run, &["gap of 70 s"]);
}

// ------------------------------------------------------------ quarantine

/// Runs with `--quarantine` and returns the run and the quarantined records.
fn quarantined(args: &[&str]) -> (Run, Vec<serde_json::Value>, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let q = tmp.path().join("bad-lines.jsonl").display().to_string();
    let mut all = vec!["--quarantine", &q];
    all.extend_from_slice(args);
    let run = ddbsnap(&all);
    let text = std::fs::read_to_string(&q).unwrap_or_default();
    let records = text.lines().map(|l| serde_json::from_str(l).expect("quarantine line is JSON")).collect();
    (run, records, q)
}

#[test]
fn quarantine_keeps_going_and_says_so() {
    let c = case("quarantine-two-bad-lines");
    let file = c.file.clone().expect("file");
    // Without --quarantine the first bad line stops the run.
    assert_error(&ddbsnap(&["inspect", &c.dir]), &[&format!("{file}:2: "), "unknown DynamoDB type"]);

    let (run, records, q) = quarantined(&["sql", "--format", "csv", "-e", &c.dir, "SELECT count(*) AS n FROM Contact"]);
    let run = run.ok();
    assert_eq!(run.stdout, "n\n10\n", "12 lines, 2 quarantined\n{}", run.show());
    assert!(run.stderr.contains(&format!("2 undecodable lines were quarantined to {q}")), "{}", run.show());
    assert!(run.stderr.contains("NOT in the results"), "{}", run.show());
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["file"], file.as_str());
    assert_eq!(records[0]["line"], 2);
    assert!(records[0]["cause"].as_str().expect("cause").contains("unknown DynamoDB type \"X\""), "{records:?}");
    assert!(records[0]["text"].as_str().expect("text").contains(r#""odd":{"X":"1"}"#), "the raw line is kept: {records:?}");
    assert_eq!(records[1]["line"], 5);
    assert!(records[1]["cause"].as_str().expect("cause").contains("expected `,` or `}`"), "{records:?}");

    // inspect reports the quarantined lines in its result too.
    let (run, records, _) = quarantined(&["inspect", "--format", "json", &c.dir]);
    let run = run.ok();
    assert_eq!(records.len(), 2);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("inspect JSON");
    assert_eq!(v["tables"][0]["quarantined_lines"], 2);
    assert_eq!(v["tables"][0]["items"], 10);
    assert!(run.stderr.contains("2 undecodable lines were quarantined"), "{}", run.show());
    let (run, _, _) = quarantined(&["inspect", &c.dir]);
    assert!(run.ok().stdout.contains("QUARANTINED   2 lines"));
}

/// `convert` reads each table twice (statistics, then rows): each bad line
/// is still quarantined once, counted once, and recorded in the Parquet.
#[test]
fn convert_quarantines_each_bad_line_once() {
    let c = case("quarantine-two-bad-lines");
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().join("pq").display().to_string();
    let (run, records, _) = quarantined(&["convert", &c.dir, "--to", &to]);
    let run = run.ok();
    assert!(run.stdout.contains("Contact\t10 items"), "{}", run.show());
    assert!(run.stderr.contains("WARNING: 2 undecodable lines were quarantined"), "{}", run.show());
    let lines: Vec<u64> = records.iter().map(|r| r["line"].as_u64().expect("line")).collect();
    assert_eq!(lines, [2, 5], "each bad line once: {records:?}");
    let sql = ddbsnap(&["sql", "--parquet", &to, "SELECT count(*) FROM \"Contact\""]).ok();
    assert!(sql.stderr.contains("2 undecodable lines were quarantined when this table was converted"), "{}", sql.show());
    // A check report on it says so in the report itself, as does one on
    // the export read with --quarantine.
    for (run, what) in [
        (ddbsnap(&["check", "--format", "json", "--parquet", &to]), "table Contact: 2 undecodable lines"),
        (quarantined(&["check", "--format", "json", &c.dir]).0, "2 undecodable lines were quarantined to"),
    ] {
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.show()));
        let notes = v["notes"].as_array().expect("notes");
        assert!(notes.iter().any(|n| n.as_str().is_some_and(|n| n.contains(what) && n.contains("not whole"))), "{notes:?}");
    }
    // JUnit too, for CI test views.
    let junit = ddbsnap(&["check", "--format", "junit", "--parquet", &to]);
    assert!(junit.stdout.contains("<system-out>table Contact: 2 undecodable lines"), "{}", junit.show());
}

/// A converted file with quarantined lines is not the whole table: `plan
/// --input` refuses it, as `plan` refuses an export with quarantined lines.
#[test]
fn plan_input_with_quarantined_lines_is_refused() {
    let c = case("quarantine-two-bad-lines");
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().join("pq").display().to_string();
    quarantined(&["convert", &c.dir, "--to", &to]).0.ok();
    let input = format!("seed={to}/Contact/data.parquet");
    let plan = out.path().join("plan").display().to_string();
    let run = ddbsnap(&["plan", "-t", "seed_from_file", "-p", "table=Contact", "--key", "Contact=id", "--input", &input, "--out", &plan]);
    assert_error(&run, &["data.parquet", "2 undecodable lines were quarantined", "whole data"]);
    assert!(!std::path::Path::new(&plan).exists());
}

/// ddbsnap writes a Null `_ddb` only for a table with no items: a file with
/// one and rows (alone, or beside the table's real file) is refused, not
/// read as items with no values.
#[test]
fn a_null_type_column_with_rows_is_refused() {
    use std::sync::Arc;
    let out = tempfile::tempdir().expect("temp dir");
    let write_null_rows = |path: &std::path::Path| {
        let schema =
            Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("_ddb", arrow::datatypes::DataType::Null, true)]));
        let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), vec![Arc::new(arrow::array::NullArray::new(5))]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    };
    let alone = out.path().join("alone");
    std::fs::create_dir_all(alone.join("T")).unwrap();
    write_null_rows(&alone.join("T/data.parquet"));
    let run = ddbsnap(&["sql", "--parquet", alone.to_str().unwrap(), "SELECT count(*) FROM \"T\""]);
    assert_error(&run, &["T/data.parquet", "of type Null", "5 rows"]);
    let beside = out.path().join("beside");
    ddbsnap(&["convert", "testdata/contacts", "--to", beside.to_str().unwrap()]).ok();
    write_null_rows(&beside.join("Contact/extra.parquet"));
    let run = ddbsnap(&["check", "--parquet", beside.to_str().unwrap()]);
    assert_error(&run, &["extra.parquet", "of type Null"]);
}

/// A bad line in an incremental export is not missing from the full
/// export: `inspect` still says the full export matches its manifest.
#[test]
fn a_quarantined_incremental_line_leaves_the_full_export_whole() {
    let c = case("quarantine-incremental-line");
    let (run, records, _) = quarantined(&["inspect", &c.dir]);
    let run = run.ok();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["file"].as_str(), c.file.as_deref());
    assert!(run.stdout.contains("full export 12 items, matches the manifest"), "{}", run.show());
    assert!(run.stdout.contains("QUARANTINED   1 lines"), "{}", run.show());
}

#[test]
fn quarantine_takes_bad_json_and_ion_lines() {
    for (name, table_rows, cause) in [
        ("json-malformed-line", 11, "invalid DynamoDB JSON"),
        ("ion-bad-line", 11, "timestamps are not DynamoDB values"),
        ("number-39-digits", 11, "more than 38 significant digits"),
        ("unknown-type-key", 11, "unknown DynamoDB type"),
        ("json-truncated-last-line", 11, "truncated"),
    ] {
        let c = case(name);
        let (run, records, _) = quarantined(&["sql", "--format", "csv", "-e", &c.dir, "SELECT count(*) AS n FROM Contact"]);
        let run = run.ok();
        assert_eq!(run.stdout, format!("n\n{table_rows}\n"), "{name}\n{}", run.show());
        assert!(run.stderr.contains("1 undecodable lines were quarantined"), "{name}\n{}", run.show());
        assert_eq!(records.len(), 1, "{name}: {records:?}");
        assert_eq!(records[0]["line"].as_u64(), c.line, "{name}");
        assert_eq!(records[0]["file"].as_str(), c.file.as_deref(), "{name}");
        assert!(records[0]["cause"].as_str().expect("cause").contains(cause), "{name}: {records:?}");
    }
}

#[test]
fn quarantine_does_not_hide_file_level_errors() {
    // A corrupt or mismatched file is not a bad line: it still stops the run.
    for (name, word) in [("gzip-corrupt", "gzip"), ("checksum-mismatch", "checksum mismatch"), ("item-count-file", "the manifest says")] {
        let c = case(name);
        let (run, records, _) = quarantined(&["sql", "-e", &c.dir, "SELECT count(*) FROM Contact"]);
        assert_error(&run, &[word]);
        assert!(records.is_empty(), "{name}: {records:?}");
    }
}

// ------------------------------------------------------------ arguments

#[test]
fn unknown_format_value_exits_2() {
    for args in [
        vec!["sql", "--format", "xml", "-e", "testdata/contacts", "SELECT 1"],
        vec!["inspect", "--format", "yaml", "testdata/contacts"],
        vec!["generate", "--format", "csv", "--out", "/nonexistent/never-written"],
    ] {
        let run = ddbsnap(&args);
        assert_eq!(run.code, Some(2), "{}", run.show());
        assert!(run.stdout.is_empty(), "{}", run.show());
        assert!(run.stderr.contains("invalid value") && run.stderr.contains("--format"), "{}", run.show());
    }
}

#[test]
fn missing_export_folder_exits_2() {
    let run = ddbsnap(&["inspect", "testdata/bad/no-such-case"]);
    assert_error(&run, &["testdata/bad/no-such-case", "No such file or directory"]);
}
