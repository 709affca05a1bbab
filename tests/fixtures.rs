//! The project's committed test fixtures in `testdata/`, written by code.
//!
//! `DDBSNAP_WRITE_TESTDATA=1 cargo test --test fixtures` (re)writes them;
//! without that variable the same code writes everything into a temporary
//! folder and the test fails unless the result is byte-identical to what is
//! committed, so the fixtures cannot drift from the generator and writer
//! that produce them. Every time input is fixed (no wall clock, no file mtimes:
//! gzip headers carry fixed times), so the output depends only on this file and
//! the library.
//!
//! What is written (all small: the whole of `testdata/` stays far below 1 MB):
//!
//! - `contacts/`: `generate` output (Contact model, 200 items, 4 data files of
//!   which one is an empty partition, DYNAMODB_JSON, 2 incremental exports)
//!   with its ground truth `ddbsnap-generate.json`; the same as
//!   `ddbsnap generate --out testdata/contacts --items 200 --files 4 --seed 1
//!   --incrementals 2 --drift-rate 0.05`.
//! - `contacts-ion/`: the same in ION.
//! - `every-type/json/` and `every-type/ion/`: a full export of hand-made
//!   items covering every attribute type and the edges of each (see
//!   [`every_type_items`]), under the S3 prefix `exports`.
//! - `bad/<case>/`: one bucket folder per bad-input case, derived from a small
//!   good export by one corruption, with `ddbsnap-case.json` saying what was
//!   done and which file (and line) the error must name.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use ddbsnap::generate::{ExportWriter, GenerateOptions, Rng, contact_item, generate};
use ddbsnap::item::{AttrValue, Item, Number};
use ddbsnap::snapshot::manifest::{DataFileEntry, ManifestSummary, OutputFormat, md5_base64};

/// Folders of `testdata/` this file owns (anything else there is left alone).
const OWNED: [&str; 4] = ["contacts", "contacts-ion", "every-type", "bad"];

/// Physical table of the small exports behind the bad cases (model `Contact`).
const TABLE: &str = "Contact-fixtures-NONE";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn time(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid time")
}

// ---------------------------------------------------------------- writing

/// Writes every fixture below `root`.
fn write_all(root: &Path) {
    write_contacts(&root.join("contacts"), OutputFormat::DynamodbJson);
    write_contacts(&root.join("contacts-ion"), OutputFormat::Ion);
    write_every_type(&root.join("every-type").join("json"), OutputFormat::DynamodbJson);
    write_every_type(&root.join("every-type").join("ion"), OutputFormat::Ion);
    write_bad_cases(&root.join("bad"));
}

fn contacts_options(out: &Path, format: OutputFormat) -> GenerateOptions {
    GenerateOptions {
        out: out.to_path_buf(),
        table: "Contact".into(),
        items: 200,
        files: 4,
        seed: 1,
        format,
        incrementals: 2,
        drift_rate: 0.05,
        prefix: String::new(),
        export_time: time(2026, 1, 1, 0, 0, 0),
    }
}

fn write_contacts(out: &Path, format: OutputFormat) {
    let truth = generate(&contacts_options(out, format)).expect("generate");
    assert!(truth.age_as_string > 0, "the contacts fixture should have planted type drift");
    assert!(truth.inserted > 0 && truth.updated > 0 && truth.deleted > 0, "{truth:?}");
}

fn s(v: &str) -> AttrValue {
    AttrValue::S(v.to_string())
}

fn n(v: &str) -> AttrValue {
    AttrValue::N(Number::parse(v).unwrap_or_else(|e| panic!("{v}: {e}")))
}

fn item<const K: usize>(attrs: [(&str, AttrValue); K]) -> Item {
    attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A value nested `levels` deep (a top-level attribute's value is level 1),
/// alternating maps and lists down to a string.
fn nested(levels: usize) -> AttrValue {
    nested_over(levels, s("bottom"))
}

/// Like [`nested`], with `leaf` at the deepest level.
fn nested_over(levels: usize, leaf: AttrValue) -> AttrValue {
    let mut v = leaf;
    for level in (1..levels).rev() {
        v = if level % 2 == 1 {
            AttrValue::M(item([("level", n(&level.to_string())), ("down", v)]))
        } else {
            AttrValue::L(vec![v, n(&level.to_string())])
        };
    }
    v
}

/// Hand-made items covering every DynamoDB type and its edges.
///
/// - `all-types`: S N B BOOL NULL M L SS NS BS, empty nested M and L.
/// - `numbers`: 38 digits, 1E-130, 9.99E+125, the largest number, negative
///   decimals, zero, i64 limits.
/// - `strings`: empty string, empty binary, emoji (with modifiers and ZWJ),
///   CJK, combining marks, right-to-left text, escapes; attribute names with
///   spaces, dots, `#`, `:` and non-ASCII.
/// - `deep`: maps and lists nested to DynamoDB's limit of 32 levels, and a
///   set at level 32.
/// - type drift: `drift` is N in `all-types`, S in `numbers`, BOOL in
///   `drift-bool`; NULL vs missing: `maybe` is NULL in `all-types` and
///   `drift-bool`, S in `strings`, missing elsewhere.
pub fn every_type_items() -> Vec<Item> {
    let mut nested_map = BTreeMap::new();
    nested_map.insert("a".to_string(), s("x"));
    nested_map.insert("n".to_string(), n("1.5"));
    nested_map.insert("inner".to_string(), AttrValue::M(item([("flag", AttrValue::Bool(false)), ("none", AttrValue::Null)])));
    nested_map.insert("empty_map".to_string(), AttrValue::M(BTreeMap::new()));
    nested_map.insert("empty_list".to_string(), AttrValue::L(vec![]));
    let deep = nested(32);
    assert_eq!(deep.depth(), 32);
    let deep_list = AttrValue::L(vec![nested(31)]);
    assert_eq!(deep_list.depth(), 32);
    let deep_set = nested_over(32, AttrValue::Ss(vec!["x".into(), "y".into()]));
    assert_eq!(deep_set.depth(), 32);
    vec![
        item([
            ("pk", s("all-types")),
            ("s", s("text")),
            ("n", n("42")),
            ("b", AttrValue::B(vec![0, 1, 2, 0x7f, 0x80, 0xfe, 0xff])),
            ("bool", AttrValue::Bool(true)),
            ("null", AttrValue::Null),
            ("m", AttrValue::M(nested_map)),
            ("l", AttrValue::L(vec![s("x"), n("-1"), AttrValue::Null, AttrValue::Bool(true), AttrValue::L(vec![]), AttrValue::B(vec![9])])),
            ("ss", AttrValue::Ss(vec!["alpha".into(), "beta".into(), "".into()])),
            ("ns", AttrValue::Ns(vec![Number::parse("1").unwrap(), Number::parse("-2.5").unwrap(), Number::parse("1E-130").unwrap()])),
            ("bs", AttrValue::Bs(vec![vec![0], vec![1, 2, 3], vec![0xff; 4]])),
            ("drift", n("7")),
            ("maybe", AttrValue::Null),
        ]),
        item([
            ("pk", s("numbers")),
            ("digits38", n("12345678901234567890123456789012345678")),
            ("neg_digits38", n("-99999999999999999999999999999999999999")),
            ("fraction38", n("0.12345678901234567890123456789012345678")),
            ("tiny", n("1E-130")),
            ("neg_tiny", n("-1E-130")),
            ("huge", n("9.99E+125")),
            ("max", n("9.9999999999999999999999999999999999999E+125")),
            ("neg_decimal", n("-123.456")),
            ("neg_small", n("-0.000001")),
            ("zero", n("0")),
            ("i64_max", n("9223372036854775807")),
            ("i64_min", n("-9223372036854775808")),
            ("drift", s("seven")),
        ]),
        item([
            ("pk", s("strings")),
            ("empty", s("")),
            ("empty_b", AttrValue::B(vec![])),
            ("emoji", s("😀 👍🏽 👩‍👩‍👧 🇨🇭")),
            ("cjk", s("漢字 かな カナ 한국어 中文")),
            ("combining", s("e\u{301} a\u{308} n\u{303} Z\u{0335}")),
            ("rtl", s("שלום مرحبا")),
            ("escapes", s("quote \" backslash \\ tab \t newline \n control \u{1} slash /")),
            ("with space", s("space")),
            ("dot.ted", s("dot")),
            ("#hash", s("hash")),
            (":colon", s("colon")),
            ("a:b#c.d e", s("all of them")),
            ("ünïcödé", s("unicode name")),
            ("🙂", s("emoji name")),
            ("maybe", s("present")),
        ]),
        item([("pk", s("deep")), ("deep", deep), ("deep_list", deep_list), ("deep_set", deep_set)]),
        item([("pk", s("drift-bool")), ("drift", AttrValue::Bool(false)), ("maybe", AttrValue::Null)]),
    ]
}

fn write_every_type(out: &Path, format: OutputFormat) {
    let mut rng = Rng::new(7);
    let mut w = ExportWriter::new(out, "exports", "EveryType", format, time(2026, 1, 2, 3, 4, 5), 1, false, &mut rng).expect("writer");
    for it in every_type_items() {
        w.add_item(&it, &mut rng).expect("add item");
    }
    w.finish(None).expect("finish");
}

/// One export folder on disk, for corrupting.
struct Export {
    /// The bucket root (the bad case's folder).
    root: PathBuf,
    /// `root/AWSDynamoDB/<ExportId>`.
    dir: PathBuf,
}

fn write_text(path: &Path, text: &[u8]) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixed gzip mtime (2026-01-01), so recompressed files are deterministic.
const FIXTURE_MTIME: u32 = 1_767_225_600;

fn gzip(text: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new().mtime(FIXTURE_MTIME).write(Vec::new(), flate2::Compression::new(level));
    enc.write_all(text).expect("gzip");
    enc.finish().expect("gzip")
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut out).expect("gunzip");
    out
}

impl Export {
    fn new(root: &Path, export_id: &str) -> Export {
        Export { root: root.to_path_buf(), dir: root.join("AWSDynamoDB").join(export_id) }
    }

    fn entries(&self) -> Vec<DataFileEntry> {
        let text = String::from_utf8(read(&self.dir.join("manifest-files.json"))).expect("utf-8");
        text.lines().map(|l| serde_json::from_str(l).expect("manifest entry")).collect()
    }

    /// Rewrites `manifest-files.json` and its `.md5` (as the writer does).
    fn set_entries(&self, entries: &[DataFileEntry]) {
        let text: String = entries.iter().map(|e| serde_json::to_string(e).expect("json") + "\n").collect();
        write_text(&self.dir.join("manifest-files.json"), text.as_bytes());
        write_text(&self.dir.join("manifest-files.md5"), md5_base64(text.as_bytes()).as_bytes());
    }

    fn summary(&self) -> ManifestSummary {
        serde_json::from_slice(&read(&self.dir.join("manifest-summary.json"))).expect("summary")
    }

    /// Rewrites `manifest-summary.json` and its `.md5`.
    fn set_summary_text(&self, text: &str) {
        write_text(&self.dir.join("manifest-summary.json"), text.as_bytes());
        write_text(&self.dir.join("manifest-summary.md5"), md5_base64(text.as_bytes()).as_bytes());
    }

    fn set_summary(&self, summary: &ManifestSummary) {
        self.set_summary_text(&serde_json::to_string(summary).expect("json"));
    }

    /// Index of the first data file (manifest order) that holds items.
    fn first_nonempty(&self) -> usize {
        self.entries().iter().position(|e| e.item_count > 0).expect("a data file with items")
    }

    fn data_key(&self, i: usize) -> String {
        self.entries()[i].data_file_s3_key.clone()
    }

    fn data_path(&self, i: usize) -> PathBuf {
        self.root.join(self.data_key(i))
    }

    fn lines(&self, i: usize) -> Vec<String> {
        gunzip(&read(&self.data_path(i))).lines().map(str::to_string).collect()
    }

    /// Replaces data file `i`'s bytes; with `update_md5` the manifest's
    /// md5Checksum and ETag follow (so the checksum passes).
    fn set_data(&self, i: usize, bytes: &[u8], update_md5: bool) {
        write_text(&self.data_path(i), bytes);
        if update_md5 {
            let mut entries = self.entries();
            entries[i].md5_checksum = md5_base64(bytes);
            entries[i].etag = Some(format!("{}-1", hex::encode(<md5::Md5 as md5::Digest>::digest(bytes))));
            self.set_entries(&entries);
        }
    }

    /// Replaces data file `i`'s lines (recompressed as the writer does), with
    /// md5 and item count updated so that only the lines themselves are wrong.
    fn set_lines(&self, i: usize, lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        self.set_data(i, &gzip(text.as_bytes(), 6), true);
        let mut entries = self.entries();
        let delta = lines.len() as i64 - entries[i].item_count as i64;
        if delta != 0 {
            entries[i].item_count = lines.len() as u64;
            self.set_entries(&entries);
            let mut summary = self.summary();
            summary.item_count = (summary.item_count as i64 + delta) as u64;
            self.set_summary(&summary);
        }
    }
}

/// A small good full export of `TABLE` (12 Contact items, 3 data files of
/// which one is an empty partition).
fn small_export(root: &Path, format: OutputFormat, physical: &str, at: DateTime<Utc>, seed: u64) -> Export {
    let mut rng = Rng::new(seed);
    let mut w = ExportWriter::new(root, "", physical, format, at, 3, false, &mut rng).expect("writer");
    for i in 0..12 {
        w.add_item(&contact_item(seed, i, 0.0, 0), &mut rng).expect("add item");
    }
    let id = w.finish(None).expect("finish");
    Export::new(root, &id)
}

/// A small incremental export over `from..to`: one insert, one update, one
/// delete of items of [`small_export`] with the same seed.
fn small_incremental(root: &Path, physical: &str, from: DateTime<Utc>, to: DateTime<Utc>, seed: u64) -> Export {
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    let mut w =
        ExportWriter::new(root, "", physical, OutputFormat::DynamodbJson, to + Duration::seconds(5), 2, true, &mut rng).expect("writer");
    let micros = from.timestamp_micros() as u64;
    let inserted = contact_item(seed, 100, 0.0, 1);
    w.add_change(&inserted, None, Some(&inserted), micros + 1000, &mut rng).expect("insert");
    let old = contact_item(seed, 0, 0.0, 0);
    let new = contact_item(seed, 0, 0.0, 1);
    w.add_change(&new, Some(&old), Some(&new), micros + 2000, &mut rng).expect("update");
    let gone = contact_item(seed, 1, 0.0, 0);
    w.add_change(&gone, Some(&gone), None, micros + 3000, &mut rng).expect("delete");
    let id = w.finish(Some((from, to))).expect("finish");
    Export::new(root, &id)
}

/// What a bad case is, for people and for `tests/bad_input.rs`.
#[derive(serde::Serialize)]
struct CaseNote {
    case: String,
    corruption: String,
    /// The file the error must name, relative to the case folder.
    file: Option<String>,
    /// The line the error must name, when the error is in a line.
    line: Option<u64>,
}

fn note(root: &Path, corruption: &str, file: Option<String>, line: Option<u64>) {
    let case = root.file_name().and_then(|n| n.to_str()).expect("case name").to_string();
    let text = serde_json::to_string_pretty(&CaseNote { case, corruption: corruption.into(), file, line }).expect("json");
    write_text(&root.join("ddbsnap-case.json"), (text + "\n").as_bytes());
}

/// Inserts an attribute at the start of a DynamoDB JSON line's item.
fn with_attr(line: &str, attr: &str) -> String {
    let rest = line.strip_prefix("{\"Item\":{").expect("a full-export JSON line");
    format!("{{\"Item\":{{{attr},{rest}")
}

/// Overwrites `len` bytes in the middle of the deflate data.
fn corrupt_middle(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let mid = b.len() / 2;
    for x in &mut b[mid..mid + 16] {
        *x ^= 0xA5;
    }
    b
}

fn write_bad_cases(bad: &Path) {
    let t0 = time(2026, 2, 1, 12, 0, 0);
    let json = OutputFormat::DynamodbJson;
    let case = |name: &str| bad.join(name);

    // gzip-truncated: the data file cut in half; md5 updated, so the gzip
    // error (not the checksum) is what must be reported.
    {
        let root = case("gzip-truncated");
        let e = small_export(&root, json, TABLE, t0, 11);
        let i = e.first_nonempty();
        let bytes = read(&e.data_path(i));
        e.set_data(i, &bytes[..bytes.len() / 2], true);
        note(&root, "data file truncated to half its bytes; md5Checksum updated to match", Some(e.data_key(i)), None);
    }
    // gzip-corrupt: 16 bytes in the middle of the deflate stream flipped;
    // md5 updated.
    {
        let root = case("gzip-corrupt");
        let e = small_export(&root, json, TABLE, t0, 12);
        let i = e.first_nonempty();
        e.set_data(i, &corrupt_middle(&read(&e.data_path(i))), true);
        note(&root, "16 bytes in the middle of the gzip data flipped; md5Checksum updated to match", Some(e.data_key(i)), None);
    }
    // gzip-corrupt-md5-stale: the same corruption, md5 left as it was: a
    // corrupt download, reported as the checksum mismatch it is.
    {
        let root = case("gzip-corrupt-md5-stale");
        let e = small_export(&root, json, TABLE, t0, 12);
        let i = e.first_nonempty();
        e.set_data(i, &corrupt_middle(&read(&e.data_path(i))), false);
        note(&root, "16 bytes in the middle of the gzip data flipped; md5Checksum NOT updated", Some(e.data_key(i)), None);
    }
    // checksum-mismatch: the data file recompressed at another level (same
    // lines, valid gzip) with the manifest's md5 left as it was.
    {
        let root = case("checksum-mismatch");
        let e = small_export(&root, json, TABLE, t0, 13);
        let i = e.first_nonempty();
        let text = gunzip(&read(&e.data_path(i)));
        e.set_data(i, &gzip(text.as_bytes(), 9), false);
        note(&root, "data file recompressed at level 9 (same lines); md5Checksum NOT updated", Some(e.data_key(i)), None);
    }
    // json-malformed-line: line 3 loses the comma after its first attribute.
    {
        let root = case("json-malformed-line");
        let e = small_export(&root, json, TABLE, t0, 14);
        let i = e.first_nonempty();
        let mut lines = e.lines(i);
        assert!(lines.len() >= 4);
        lines[2] = lines[2].replacen("},\"", "} \"", 1);
        e.set_lines(i, &lines);
        note(&root, "line 3: the comma between two attributes removed; md5 and counts updated", Some(e.data_key(i)), Some(3));
    }
    // json-truncated-last-line: the last line cut short with no newline, as
    // an interrupted copy leaves it.
    {
        let root = case("json-truncated-last-line");
        let e = small_export(&root, json, TABLE, t0, 15);
        let i = e.first_nonempty();
        let lines = e.lines(i);
        let last = lines.len() - 1;
        let mut text: String = lines[..last].iter().map(|l| format!("{l}\n")).collect();
        let mut cut = lines[last].len() / 2;
        while !lines[last].is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(&lines[last][..cut]);
        e.set_data(i, &gzip(text.as_bytes(), 6), true);
        note(
            &root,
            &format!("the last line ({}) cut in half, without its newline; md5 updated", last + 1),
            Some(e.data_key(i)),
            Some(last as u64 + 1),
        );
    }
    // ion-bad-line: line 2 of an Ion export holds a timestamp, which is not
    // a DynamoDB value.
    {
        let root = case("ion-bad-line");
        let e = small_export(&root, OutputFormat::Ion, TABLE, t0, 16);
        let i = e.first_nonempty();
        let mut lines = e.lines(i);
        assert!(lines.len() >= 3);
        let rest = lines[1].strip_prefix("$ion_1_0 {Item:{").expect("an Ion export line");
        lines[1] = format!("$ion_1_0 {{Item:{{seen:2026-01-01T00:00:00Z,{rest}");
        e.set_lines(i, &lines);
        note(&root, "line 2: an Ion timestamp value added; md5 updated", Some(e.data_key(i)), Some(2));
    }
    // number-39-digits: line 2 gets a number with 39 significant digits.
    {
        let root = case("number-39-digits");
        let e = small_export(&root, json, TABLE, t0, 17);
        let i = e.first_nonempty();
        let mut lines = e.lines(i);
        lines[1] = with_attr(&lines[1], r#""big":{"N":"123456789012345678901234567890123456789"}"#);
        e.set_lines(i, &lines);
        note(&root, "line 2: attribute big is a number of 39 significant digits; md5 updated", Some(e.data_key(i)), Some(2));
    }
    // unknown-type-key: line 4 gets {"X":"1"}.
    {
        let root = case("unknown-type-key");
        let e = small_export(&root, json, TABLE, t0, 18);
        let i = e.first_nonempty();
        let mut lines = e.lines(i);
        assert!(lines.len() >= 4);
        lines[3] = with_attr(&lines[3], r#""odd":{"X":"1"}"#);
        e.set_lines(i, &lines);
        note(&root, "line 4: attribute odd has the unknown type key X; md5 updated", Some(e.data_key(i)), Some(4));
    }
    // item-count-file: a data file's itemCount in manifest-files.json one
    // more than it holds (the summary's total follows, so only the file is off).
    {
        let root = case("item-count-file");
        let e = small_export(&root, json, TABLE, t0, 19);
        let i = e.first_nonempty();
        let mut entries = e.entries();
        entries[i].item_count += 1;
        e.set_entries(&entries);
        let mut summary = e.summary();
        summary.item_count += 1;
        e.set_summary(&summary);
        note(
            &root,
            "manifest-files.json says one item more for this data file than it holds (summary total adjusted)",
            Some(e.data_key(i)),
            None,
        );
    }
    // item-count-summary: manifest-summary.json's itemCount 5 more than the
    // data files list.
    {
        let root = case("item-count-summary");
        let e = small_export(&root, json, TABLE, t0, 20);
        let mut summary = e.summary();
        summary.item_count += 5;
        e.set_summary(&summary);
        let files = e.dir.strip_prefix(&root).expect("inside").join("manifest-files.json");
        note(
            &root,
            "manifest-summary.json itemCount is 5 more than manifest-files.json lists; its md5 updated",
            Some(files.display().to_string()),
            None,
        );
    }
    // data-file-missing: a data file listed in the manifest is not there.
    {
        let root = case("data-file-missing");
        let e = small_export(&root, json, TABLE, t0, 21);
        let i = e.first_nonempty();
        std::fs::remove_file(e.data_path(i)).expect("remove");
        note(&root, "a data file listed in manifest-files.json deleted", Some(e.data_key(i)), None);
    }
    // data-key-outside-root: a dataFileS3Key of "../x".
    {
        let root = case("data-key-outside-root");
        let e = small_export(&root, json, TABLE, t0, 22);
        let mut entries = e.entries();
        entries[0].data_file_s3_key = "../x".into();
        e.set_entries(&entries);
        let files = e.dir.strip_prefix(&root).expect("inside").join("manifest-files.json");
        note(&root, "the first dataFileS3Key in manifest-files.json is \"../x\"; md5 updated", Some(files.display().to_string()), None);
    }
    // files-key-outside-root: manifestFilesS3Key of "../x".
    {
        let root = case("files-key-outside-root");
        let e = small_export(&root, json, TABLE, t0, 23);
        let mut summary = e.summary();
        summary.manifest_files_s3_key = "../x".into();
        e.set_summary(&summary);
        let file = e.dir.strip_prefix(&root).expect("inside").join("manifest-summary.json");
        note(&root, "manifestFilesS3Key in manifest-summary.json is \"../x\"; md5 updated", Some(file.display().to_string()), None);
    }
    // unknown-output-format: outputFormat "CSV".
    {
        let root = case("unknown-output-format");
        let e = small_export(&root, json, TABLE, t0, 24);
        let text = serde_json::to_string(&e.summary()).expect("json");
        let changed = text.replace("\"outputFormat\":\"DYNAMODB_JSON\"", "\"outputFormat\":\"CSV\"");
        assert_ne!(changed, text);
        e.set_summary_text(&changed);
        let file = e.dir.strip_prefix(&root).expect("inside").join("manifest-summary.json");
        note(&root, "outputFormat in manifest-summary.json is \"CSV\"; md5 updated", Some(file.display().to_string()), None);
    }
    // manifest-files-md5-mismatch: manifest-files.json edited (an ETag
    // changed) without its .md5 following: an error.
    {
        let root = case("manifest-files-md5-mismatch");
        let e = small_export(&root, json, TABLE, t0, 29);
        let md5 = read(&e.dir.join("manifest-files.md5"));
        let mut entries = e.entries();
        entries[0].etag = Some("00000000000000000000000000000000-1".into());
        e.set_entries(&entries);
        write_text(&e.dir.join("manifest-files.md5"), &md5);
        let file = e.dir.strip_prefix(&root).expect("inside").join("manifest-files.md5");
        note(&root, "manifest-files.json edited (an ETag), manifest-files.md5 left as it was", Some(file.display().to_string()), None);
    }
    // manifest-summary-md5-mismatch: manifest-summary.json edited (billed
    // size) without its .md5 following: a warning, an error with --strict.
    {
        let root = case("manifest-summary-md5-mismatch");
        let e = small_export(&root, json, TABLE, t0, 30);
        let md5 = read(&e.dir.join("manifest-summary.md5"));
        let mut summary = e.summary();
        summary.billed_size_bytes = Some(4096);
        e.set_summary(&summary);
        write_text(&e.dir.join("manifest-summary.md5"), &md5);
        let file = e.dir.strip_prefix(&root).expect("inside").join("manifest-summary.md5");
        note(
            &root,
            "manifest-summary.json edited (billedSizeBytes), manifest-summary.md5 left as it was",
            Some(file.display().to_string()),
            None,
        );
    }
    // incremental-other-table: a good chain except that the incremental
    // export is of another table (Invoice); read with Contact=.
    {
        let root = case("incremental-other-table");
        small_export(&root, json, TABLE, t0, 25);
        small_incremental(&root, "Invoice-fixtures-NONE", t0, t0 + Duration::minutes(15), 25);
        note(
            &root,
            "full export of Contact-fixtures-NONE, incremental export of Invoice-fixtures-NONE; read as Contact=FOLDER",
            None,
            None,
        );
    }
    // incremental-out-of-order: the incremental export's window ends before
    // the full export's time.
    {
        let root = case("incremental-out-of-order");
        small_export(&root, json, TABLE, t0, 26);
        small_incremental(&root, TABLE, t0 - Duration::minutes(30), t0 - Duration::minutes(15), 26);
        note(&root, "incremental export from 30 to 15 minutes before the full export's time; read as Contact=FOLDER", None, None);
    }
    // incremental-gap: the incremental export starts 70 s after the full
    // export's time (a warning, an error with --strict). Otherwise good:
    // 12 items, +1 inserted, 1 updated, 1 deleted = 12.
    {
        let root = case("incremental-gap");
        small_export(&root, json, TABLE, t0, 27);
        small_incremental(&root, TABLE, t0 + Duration::seconds(70), t0 + Duration::minutes(15), 27);
        note(&root, "incremental export starts 70 s after the full export's exportTime (gap)", None, None);
    }
    // quarantine-two-bad-lines: two bad lines (2 and 5) in one data file,
    // for --quarantine.
    {
        let root = case("quarantine-two-bad-lines");
        let e = small_export(&root, json, TABLE, t0, 28);
        let i = e.first_nonempty();
        let mut lines = e.lines(i);
        assert!(lines.len() >= 5, "{}", lines.len());
        lines[1] = with_attr(&lines[1], r#""odd":{"X":"1"}"#);
        lines[4] = lines[4].replacen("},\"", "} \"", 1);
        e.set_lines(i, &lines);
        note(&root, "lines 2 (unknown type key X) and 5 (missing comma) are bad; md5 updated", Some(e.data_key(i)), Some(2));
    }
    // quarantine-incremental-line: a good full export (12 items) and an
    // incremental export whose first change record is bad (md5 and counts
    // updated), for --quarantine: the full export still matches its
    // manifest.
    {
        let root = case("quarantine-incremental-line");
        small_export(&root, json, TABLE, t0, 29);
        let inc = small_incremental(&root, TABLE, t0, t0 + Duration::minutes(15), 29);
        let i = inc.first_nonempty();
        let mut lines = inc.lines(i);
        lines[0] = r#"{"Keys":garbage}"#.to_string();
        inc.set_lines(i, &lines);
        note(&root, "line 1 of the incremental export's first data file with records is bad; md5 updated", Some(inc.data_key(i)), Some(1));
    }
}

// ---------------------------------------------------------------- checking

/// Every file below `dir`, by path relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("inside").to_string_lossy().replace('\\', "/");
                out.insert(rel, read(&path));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn owned_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for name in OWNED {
        for (k, v) in tree(&root.join(name)) {
            out.insert(format!("{name}/{k}"), v);
        }
    }
    out
}

#[test]
fn testdata_matches_the_fixture_writer() {
    let committed = testdata();
    if std::env::var_os("DDBSNAP_WRITE_TESTDATA").is_some_and(|v| v == "1") {
        for name in OWNED {
            let p = committed.join(name);
            if p.exists() {
                std::fs::remove_dir_all(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
        }
        write_all(&committed);
        let total: usize = owned_tree(&committed).values().map(Vec::len).sum();
        assert!(total < 1 << 20, "testdata/ is {total} bytes; keep fixtures small");
        eprintln!("wrote {} ({total} bytes)", committed.display());
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    write_all(tmp.path());
    let fresh = owned_tree(tmp.path());
    // Written twice, byte for byte: nothing depends on the clock or the run.
    let tmp2 = tempfile::tempdir().expect("temp dir");
    write_all(tmp2.path());
    assert!(owned_tree(tmp2.path()) == fresh, "two runs of the fixture writer differ: something depends on time or chance");

    let old = owned_tree(&committed);
    let mut problems = Vec::new();
    for (k, v) in &fresh {
        match old.get(k) {
            None => problems.push(format!("missing from testdata/: {k}")),
            Some(o) if o != v => problems.push(format!("differs: testdata/{k}")),
            Some(_) => {}
        }
    }
    for k in old.keys().filter(|k| !fresh.contains_key(*k)) {
        problems.push(format!("not written by the fixture writer: testdata/{k}"));
    }
    assert!(
        problems.is_empty(),
        "testdata/ is out of date with the code that writes it ({} problems):\n  {}\n\
         If the change is intended, run: DDBSNAP_WRITE_TESTDATA=1 cargo test --test fixtures",
        problems.len(),
        problems.join("\n  ")
    );
    let total: usize = fresh.values().map(Vec::len).sum();
    assert!(total < 1 << 20, "testdata/ is {total} bytes; keep fixtures small");
}

/// The every-type export reads back as exactly the hand-made items, in both
/// formats: the fixtures hold what they claim to hold.
#[tokio::test]
async fn every_type_fixture_reads_back_exactly() {
    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<Item>>>);
    impl ddbsnap::snapshot::ItemSink for Collect {
        fn push(&mut self, item: Item) -> ddbsnap::Result<()> {
            self.0.lock().expect("lock").push(item);
            Ok(())
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let expected = every_type_items();
    for format in [OutputFormat::DynamodbJson, OutputFormat::Ion] {
        let out = tmp.path().join(format!("{format:?}"));
        write_every_type(&out, format);
        let exports = ddbsnap::snapshot::find_exports(&out.display().to_string(), None).await.expect("find");
        let tables = ddbsnap::snapshot::plan_tables(exports, None, true).expect("plan");
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].name, "EveryType");
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let opts = ddbsnap::snapshot::ReadOptions { strict: true, ..Default::default() };
        let (_, report) = ddbsnap::snapshot::read_table(&tables[0], &opts, || Collect(got.clone())).await.expect("read");
        assert_eq!(report.items, expected.len() as u64);
        let mut got = got.lock().expect("lock").clone();
        got.sort_by_key(|i| ddbsnap::item::ddbjson::value_to_string(&i["pk"]));
        let mut want = expected.clone();
        want.sort_by_key(|i| ddbsnap::item::ddbjson::value_to_string(&i["pk"]));
        for (g, w) in got.iter().zip(&want) {
            assert!(ddbsnap::item::same_item(g, w), "{format:?}: read back\n{g:?}\nexpected\n{w:?}");
        }
    }
}
