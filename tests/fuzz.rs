//! Issue 13, item 19: no panic reachable from input. Property tests feed
//! arbitrary bytes, and valid inputs mutated byte by byte (flips, cuts,
//! insertions, repeats), to every reader of outside input: the DynamoDB JSON
//! line decoder (and its fast scanner), the Ion decoder, the manifest
//! readers, the journal reader and the plan reader. Each must return a value
//! or an error, never panic. The budget is bounded: `DDBSNAP_FUZZ_CASES`
//! cases per target (default 200), so CI runs them in seconds; raise it to
//! search longer. Every crash found is kept below as a regression case.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use ddbsnap::convert::RawBuilder;
use ddbsnap::convert::fast_json::scan_item_line;
use ddbsnap::snapshot::ItemSink;
use ddbsnap::snapshot::decode::{FileSpec, decode_line};
use ddbsnap::snapshot::manifest::{ManifestSummary, OutputFormat, parse_files};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("DDBSNAP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() })
}

/// Every line of every data file under `dir`, inflated.
fn lines_under(dir: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in common::files_under(&common::testdata(dir)) {
        if !f.to_string_lossy().ends_with(".gz") {
            continue;
        }
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).expect("open")).read_to_end(&mut text).expect("gunzip");
        out.extend(text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
    }
    assert!(!out.is_empty(), "no lines under {dir}");
    out
}

/// Files named `name` under `dir`.
fn files_named(dir: &str, name: &str) -> Vec<Vec<u8>> {
    common::files_under(&common::testdata(dir))
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n == name))
        .map(|f| std::fs::read(f).expect("read"))
        .collect()
}

/// One mutation of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize, usize),
    Insert(usize, Vec<u8>),
    Repeat(usize, usize, u8),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Cut(i, n)),
        (any::<usize>(), prop::collection::vec(prop_oneof![any::<u8>(), Just(b'"'), Just(b'{'), Just(b'}'), Just(b'\\')], 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1usize..32, 1u8..40).prop_map(|(i, n, k)| Mutation::Repeat(i, n, k)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut s: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let len = s.len().max(1);
        match m {
            Mutation::Flip(i, b) if !s.is_empty() => s[i % len] ^= b.max(&1),
            Mutation::Cut(i, n) if !s.is_empty() => {
                let at = i % len;
                let end = (at + n).min(s.len());
                s.drain(at..end);
            }
            Mutation::Insert(i, v) => {
                let at = i % (s.len() + 1);
                s.splice(at..at, v.iter().copied());
            }
            Mutation::Repeat(i, n, k) if !s.is_empty() => {
                let at = i % len;
                let end = (at + n).min(s.len());
                let chunk = s[at..end].to_vec();
                for _ in 0..*k {
                    s.splice(at..at, chunk.iter().copied());
                }
            }
            Mutation::Truncate(i) => s.truncate(i % (s.len() + 1)),
            _ => {}
        }
    }
    s
}

/// Inputs for one target: valid ones mutated, and arbitrary bytes.
fn inputs(corpus: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = corpus.len();
    prop_oneof![
        4 => (0..n, prop::collection::vec(mutation(), 1..6)).prop_map(move |(i, ms)| apply(corpus[i].clone(), &ms)),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn spec(format: OutputFormat, incremental: bool) -> FileSpec {
    FileSpec { describe: "fuzz".into(), format, incremental, md5: None, item_count: None }
}

/// A decoder of lines: every reading path a data file's line takes.
fn decode_everywhere(line: &[u8]) {
    for (format, incremental) in
        [(OutputFormat::DynamodbJson, false), (OutputFormat::DynamodbJson, true), (OutputFormat::Ion, false), (OutputFormat::Ion, true)]
    {
        let _ = decode_line(line, &spec(format, incremental));
    }
    let (mut scanned, mut packed) = (Vec::new(), Vec::new());
    let _ = scan_item_line(line, &mut scanned, &mut packed);
    let mut raw = RawBuilder::new(true);
    if raw.push_json_line(line).is_ok() {
        let (batches, stats) = raw.finish();
        if let Ok(schema) = ddbsnap::convert::TableSchema::infer(&stats, &[]) {
            for b in batches {
                let _ = ddbsnap::convert::into_record_batch(b, &schema);
            }
        }
    }
}

#[test]
fn data_file_lines_never_panic() {
    let mut corpus = lines_under("contacts");
    corpus.extend(lines_under("contacts-ion"));
    corpus.extend(lines_under("every-type"));
    runner()
        .run(&inputs(corpus), |line| {
            decode_everywhere(&line);
            Ok(())
        })
        .expect("no panic");
}

#[test]
fn manifests_never_panic() {
    let mut summaries = files_named("contacts", "manifest-summary.json");
    summaries.extend(files_named("every-type", "manifest-summary.json"));
    runner()
        .run(&inputs(summaries), |bytes| {
            let _ = ManifestSummary::parse("fuzz", &bytes);
            Ok(())
        })
        .expect("no panic");
    let files = files_named("contacts", "manifest-files.json");
    runner()
        .run(&inputs(files), |bytes| {
            let _ = parse_files("fuzz", &bytes);
            Ok(())
        })
        .expect("no panic");
}

/// A journal as `apply` writes it: a header and a few entries.
fn journal_corpus() -> Vec<Vec<u8>> {
    let header = r#"{"format":"ddbsnap-journal/1","kind":"apply","plan_sha256":"ab","plan_dir":"/p","started_at":"2026-01-01T00:00:00+00:00","stamp_now":"2026-01-01T00:00:00.000Z","stamp_now_ms":1}"#;
    let entries = [
        r#"{"seq":0,"outcome":"done"}"#,
        r#"{"seq":1,"outcome":"conflict","current":"{\"id\":{\"S\":\"x\"}}"}"#,
        r#"{"seq":2,"outcome":"failed","error":"throttled"}"#,
    ];
    vec![format!("{header}\n{}\n", entries.join("\n")).into_bytes(), format!("{header}\n").into_bytes()]
}

#[test]
fn journals_never_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plan.journal");
    runner()
        .run(&inputs(journal_corpus()), |bytes| {
            std::fs::write(&path, &bytes).expect("write");
            if let Ok(j) = ddbsnap::apply::journal::Journal::open_read_only(&path) {
                let _ = j.check("apply", "ab", 3);
            }
            Ok(())
        })
        .expect("no panic");
}

/// A small valid plan, made once.
fn plan_once() -> &'static (tempfile::TempDir, PathBuf) {
    static PLAN: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    PLAN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let t = dir.path().join("t.sql");
        std::fs::write(&t, "SELECT id, 'x' AS nickname FROM Contact WHERE id < '3'").expect("write transform");
        let plan = dir.path().join("plan");
        let p = |x: &Path| x.to_str().expect("utf-8").to_string();
        common::ddbsnap(&["plan".to_string(), "-t".into(), p(&t), "testdata/contacts".into(), "--out".into(), p(&plan)]).ok();
        (dir, plan)
    })
}

/// Plans whose manifest or operations file was mutated and sealed again
/// with correct hashes: the validator, not the hash, must catch them.
#[test]
fn resealed_plans_never_panic() {
    let (_dir, plan) = plan_once();
    let manifest = std::fs::read(plan.join("plan.json")).expect("manifest");
    let ops = std::fs::read(plan.join("ops.parquet")).expect("ops");
    let work = tempfile::tempdir().expect("temp dir");
    let n = std::cell::Cell::new(0u64);
    let run = |which: &str, bytes: Vec<u8>| {
        n.set(n.get() + 1);
        let copy = work.path().join(format!("p{}", n.get()));
        std::fs::create_dir(&copy).expect("mkdir");
        let (m, o) = if which == "ops" { (manifest.clone(), bytes) } else { (bytes, ops.clone()) };
        std::fs::write(copy.join("plan.json"), &m).expect("write");
        std::fs::write(copy.join("ops.parquet"), &o).expect("write");
        // Seal again when the manifest still has its hash member, so that
        // the content, not the hash, is what is tested.
        if String::from_utf8(m).is_ok_and(|t| t.contains(",\n  \"sha256\": \"") && t.contains("\"ops_file\"")) {
            let _ = std::panic::catch_unwind(|| common::plans::reseal(&copy, |t| t));
        }
        let _ = ddbsnap::plan::file::PlanFile::open(&copy);
        let _ = std::fs::remove_dir_all(&copy);
    };
    runner()
        .run(&inputs(vec![ops.clone()]), |bytes| {
            run("ops", bytes);
            Ok(())
        })
        .expect("no panic");
    runner()
        .run(&inputs(vec![manifest.clone()]), |bytes| {
            run("manifest", bytes);
            Ok(())
        })
        .expect("no panic");
}

/// Found by `resealed_plans_never_panic`: an operations file whose embedded
/// Arrow schema is corrupt made arrow-ipc panic ("Type NONE not supported";
/// another input, "Int type with bit width of 0"), and one whose footer
/// places a column at a negative offset made the parquet crate assert, and
/// one whose definition levels run past their page made arrow-buffer
/// assert. Plans are now read without decoding that schema, their footers
/// are checked first, and their pages are decoded under a guard that turns
/// a library's panic into an error; all are refused.
#[test]
fn regression_corrupt_embedded_arrow_schema_in_a_plan() {
    let (_dir, plan) = plan_once();
    let work = tempfile::tempdir().expect("temp dir");
    let copy = work.path().join("plan");
    std::fs::create_dir(&copy).expect("mkdir");
    std::fs::copy(plan.join("plan.json"), copy.join("plan.json")).expect("copy");
    for found in ["ops-arrow-schema-type-none.parquet", "ops-negative-column-offset.parquet", "ops-def-levels-out-of-bounds.parquet"] {
        std::fs::copy(common::testdata(&format!("regressions/{found}")), copy.join("ops.parquet")).expect("copy");
        common::plans::reseal(&copy, |t| t);
        let Err(e) = ddbsnap::plan::file::PlanFile::open(&copy) else { panic!("{found}: a corrupt plan was accepted") };
        assert!(!e.to_string().is_empty());
        let run = common::ddbsnap(&["plan", "show", copy.to_str().expect("utf-8")]);
        assert_eq!(run.code, Some(2), "{found}\n{}", run.show());
        assert!(!run.stderr.contains("internal error"), "{found}\n{}", run.show());
    }
}
