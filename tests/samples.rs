//! The real binary on real AWS exports from `../shared/samples` (beside the
//! clone, or `DDBSNAP_SAMPLES`). The samples are read in place, never
//! copied into the project. Without them these tests are skipped and listed
//! by `scripts/test.sh`; CI requires them (`DDBSNAP_REQUIRE_SAMPLES=1`):
//! they are the only tests on output AWS wrote itself.
//!
//! Expected values were worked out by hand from the data files (`zcat`),
//! not from ddbsnap's output.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Run, ddbsnap, files_under};
use serde_json::{Value, json};

/// A sample's path, or `None` when the samples are absent (see
/// [`common::samples`]): each test then returns early and is listed as skipped.
fn sample(rel: &str) -> Option<String> {
    common::samples::path(rel).map(|p| p.display().to_string())
}

/// `sql --format json` rows, one JSON object per line.
fn json_rows(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}\n{}", run.show())))
        .collect()
}

fn sql_json(exports: &[&str], extra: &[&str], sql: &str) -> (Run, Vec<Value>) {
    let mut args: Vec<&str> = vec!["sql", "--format", "json"];
    for e in exports {
        args.extend(["-e", e]);
    }
    args.extend(extra);
    args.push(sql);
    let run = ddbsnap(&args).ok();
    let rows = json_rows(&run);
    (run, rows)
}

/// Lower-case hex of a base64 value: how `--format json` prints binary.
fn hex64(b64: &str) -> String {
    hex::encode(B64.decode(b64).expect("base64"))
}

/// Makes a row comparable: sets (by their `_ddb` tag) are sorted, since
/// DynamoDB sets have no order, and maps and lists (DynamoDB JSON text in
/// their column) are parsed.
fn normalize(mut row: Value) -> Value {
    let tags = row["_ddb"].as_object().cloned().unwrap_or_default();
    let obj = row.as_object_mut().expect("a row is an object");
    for (name, tag) in tags {
        let Some(v) = obj.get_mut(&name) else { continue };
        match tag.as_str() {
            Some("SS" | "NS" | "BS") => {
                if let Value::Array(a) = v {
                    a.sort_by_key(|x| x.to_string());
                }
            }
            Some("M" | "L") => {
                if let Value::String(s) = v {
                    *v = serde_json::from_str(s).unwrap_or_else(|e| panic!("{name}: not DynamoDB JSON {s:?}: {e}"));
                }
            }
            _ => {}
        }
    }
    row
}

fn assert_rows(got: Vec<Value>, expected: Vec<Value>, run: &Run) {
    let got: Vec<Value> = got.into_iter().map(normalize).collect();
    let expected: Vec<Value> = expected.into_iter().map(normalize).collect();
    assert_eq!(got.len(), expected.len(), "row count\n{}", run.show());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "row {i} differs\n got:      {g}\n expected: {e}\n{}", run.show());
    }
}

// ---------------------------------------------------------------- gurre-ddb-pitr

const GAP: &str = "gap of 69.378 s between 01768385930622-efd1a093 (ends 2026-01-14 10:18:50.622 UTC) \
                   and 01768386924000-d339e52d (starts 2026-01-14 10:20:00 UTC)";

/// An item of the incremental exports with every type (pk 3 and 4).
fn every_type(pk: &str, sk: &str, with_list_map_nset: bool, with_number: bool) -> Value {
    let mut row = json!({
        "pk": pk, "sk": sk,
        "b": hex64("0000"),
        "bset": [hex64("0000"), hex64("1111")],
        "sset": ["test", "test2"],
        "string": "test",
        "_ddb": {"pk": "S", "sk": "S", "b": "B", "bset": "BS", "null": "NULL", "sset": "SS", "string": "S"},
    });
    if with_list_map_nset {
        // A list of strings is an Arrow list and a map of one shape a
        // struct; JSON output shows both as the plain JSON `ddb_json` gives
        // (binary inside a map in base64, as DynamoDB JSON writes it).
        row["list"] = json!(["test", "1"]);
        row["mapp"] = json!({"test": "test"});
        row["nset"] = json!([1, 2]);
        row["_ddb"]["list"] = json!("L");
        row["_ddb"]["mapp"] = json!("M");
        row["_ddb"]["nset"] = json!("NS");
    }
    if with_number {
        row["number"] = json!(12);
        row["_ddb"]["number"] = json!("N");
    }
    row
}

fn plain(pk: &str, sk: &str, test: &str) -> Value {
    json!({"pk": pk, "sk": sk, "test": test, "_ddb": {"pk": "S", "sk": "S", "test": "S"}})
}

/// The full export (3 items) plus two incremental exports give the table
/// at 2026-01-14T10:50:00Z:
/// - (1,1) deleted and (1,3) updated (bin_update added) by the 2nd incremental;
/// - (2,1) (2,2) inserted by the 1st; (2,3) inserted by the 1st, deleted by the 2nd;
/// - (3,1) (3,2) (3,3) inserted by the 1st; (3,2) loses `number` in the 2nd;
/// - (4,2) inserted by the 2nd.
#[test]
fn gurre_chain_gives_the_point_in_time_table() {
    let Some(gurre) = sample("gurre-ddb-pitr") else { return };
    let (run, rows) = sql_json(&[&gurre], &[], "SELECT * FROM test ORDER BY pk, sk");
    let expected = vec![
        plain("1", "2", "test2"),
        json!({
            "pk": "1", "sk": "3", "test1": "1", "test2": "2",
            "bin_update": [hex64("0000"), hex64("0001")],
            "_ddb": {"pk": "S", "sk": "S", "test1": "S", "test2": "S", "bin_update": "BS"},
        }),
        plain("2", "1", "test2"),
        plain("2", "2", "test"),
        every_type("3", "1", true, true),
        every_type("3", "2", true, false),
        every_type("3", "3", true, true),
        every_type("4", "2", false, true),
    ];
    assert_rows(rows, expected, &run);
    assert!(run.stderr.contains(GAP), "the 70 s gap between the full and the first incremental export is not reported\n{}", run.show());
    assert!(run.stderr.contains("changes in between are not in any export"), "{}", run.show());
}

/// `--as-of` stops the chain at the last export ending by then.
#[test]
fn gurre_as_of_earlier_points() {
    let Some(gurre) = sample("gurre-ddb-pitr") else { return };
    let keys = |as_of: &str| -> Vec<(String, String)> {
        let (_, rows) = sql_json(&[&gurre], &["--as-of", as_of], "SELECT pk, sk FROM test ORDER BY pk, sk");
        rows.iter().map(|r| (r["pk"].as_str().unwrap().to_string(), r["sk"].as_str().unwrap().to_string())).collect()
    };
    let k = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    // The full export alone.
    assert_eq!(keys("2026-01-14T10:19:00Z"), k(&[("1", "1"), ("1", "2"), ("1", "3")]));
    // Plus the first incremental (10:20 to 10:35), not the second (to 10:50).
    assert_eq!(
        keys("2026-01-14T10:35:00Z"),
        k(&[("1", "1"), ("1", "2"), ("1", "3"), ("2", "1"), ("2", "2"), ("2", "3"), ("3", "1"), ("3", "2"), ("3", "3")])
    );
    let before = ddbsnap(&["sql", "-e", &gurre, "--as-of", "2026-01-14T10:00:00Z", "SELECT 1"]);
    assert_eq!(before.code, Some(2), "{}", before.show());
    assert!(before.stderr.contains("no full export at or before"), "{}", before.show());
}

/// Every `.json.gz` under the sample with its size and inflated size.
fn data_files(root: &Path) -> Vec<(PathBuf, u64, u64)> {
    files_under(root)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text).unwrap();
            (p, bytes.len() as u64, text.len() as u64)
        })
        .collect()
}

#[test]
fn gurre_inspect_counts() {
    let Some(gurre) = sample("gurre-ddb-pitr") else { return };
    let run = ddbsnap(&["inspect", "--format", "json", &gurre]).ok();
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.show()));
    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1, "{}", run.show());
    let t = &tables[0];
    assert_eq!(t["name"], "test");
    assert_eq!(t["table_arn"], "arn:aws:dynamodb:eu-north-1:123456789123:table/test");
    assert_eq!(t["manifest_verified"], true);
    assert_eq!(t["full_export"]["export_id"], "01768385930622-efd1a093");
    assert_eq!(t["full_export"]["time"], "2026-01-14T10:18:50.622Z");
    let inc: Vec<(&str, &str, &str, u64)> = t["incremental_exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["export_id"].as_str().unwrap(),
                e["from_time"].as_str().unwrap(),
                e["to_time"].as_str().unwrap(),
                e["item_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        inc,
        vec![
            ("01768386924000-d339e52d", "2026-01-14T10:20:00.000Z", "2026-01-14T10:35:00.000Z", 6),
            ("01768388186000-4a2fc3ff", "2026-01-14T10:35:00.000Z", "2026-01-14T10:50:00.000Z", 5),
        ]
    );
    assert_eq!(t["point_in_time"], "2026-01-14T10:50:00.000Z");
    // 3 full items - 1 deleted + 6 inserted (net of the 8 inserts, (2,3) was
    // inserted then deleted and (3,2) inserted then updated).
    assert_eq!(t["items"], 8);
    assert_eq!(t["full_export_items"], 3);
    assert_eq!(t["manifest_item_count"], 3);
    assert_eq!(t["change_records"], 11, "6 + 5 incremental records");
    assert_eq!(t["inserted"], 6);
    assert_eq!(t["updated"], 1);
    assert_eq!(t["deleted"], 1);
    assert_eq!(t["no_effect"], 1, "(2,3) was inserted and deleted again");
    let net: u64 = ["superseded", "inserted", "updated", "deleted", "no_effect"].iter().map(|k| t[*k].as_u64().unwrap()).sum();
    assert_eq!(net, 11, "every record is accounted for");
    assert_eq!(t["quarantined_lines"], 0);
    assert_eq!(t["write_units_full_copy"], 8, "every item is under 1 KB");

    let files = data_files(Path::new(&gurre));
    assert_eq!(files.len(), 12);
    assert_eq!(t["data_files"], 12, "4 per export");
    assert_eq!(t["empty_data_files"], files.iter().filter(|f| f.2 == 0).count() as u64);
    assert_eq!(t["empty_data_files"], 5);
    assert_eq!(t["compressed_bytes"], files.iter().map(|f| f.1).sum::<u64>());
    assert_eq!(t["uncompressed_bytes"], files.iter().map(|f| f.2).sum::<u64>());

    let present: BTreeMap<&str, (u64, Vec<Value>)> = t["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), (a["present"].as_u64().unwrap(), a["types"].as_array().unwrap().clone())))
        .collect();
    let expected: BTreeMap<&str, (u64, Vec<Value>)> = [
        ("b", 4, "B"),
        ("bin_update", 1, "BS"),
        ("bset", 4, "BS"),
        ("list", 3, "L"),
        ("mapp", 3, "M"),
        ("nset", 3, "NS"),
        ("null", 4, "NULL"),
        ("number", 3, "N"),
        ("pk", 8, "S"),
        ("sk", 8, "S"),
        ("sset", 4, "SS"),
        ("string", 4, "S"),
        ("test", 3, "S"),
        ("test1", 1, "S"),
        ("test2", 1, "S"),
    ]
    .into_iter()
    .map(|(n, c, ty)| (n, (c, vec![json!([ty, c])])))
    .collect();
    assert_eq!(present, expected, "{}", run.show());

    let warnings: Vec<&str> = t["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    assert!(warnings.iter().any(|w| w.starts_with(GAP)), "{warnings:#?}");
    // The publisher redacted the summaries, so their .md5 files do not match.
    assert_eq!(warnings.iter().filter(|w| w.contains("manifest-summary.md5: checksum file does not match")).count(), 3, "{warnings:#?}");
    assert!(run.stderr.contains(GAP), "{}", run.show());
}

#[test]
fn gurre_strict_refuses_the_gap() {
    let Some(gurre) = sample("gurre-ddb-pitr") else { return };
    let run = ddbsnap(&["inspect", "--strict", &gurre]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains(GAP), "{}", run.show());
}

// ---------------------------------------------------------------- scylla-migrator

#[test]
fn scylla_every_type_exactly() {
    let Some(scylla) = sample("scylla-migrator") else { return };
    let (run, rows) = sql_json(&[&scylla], &[], "SELECT * FROM \"S3ExportTest\" ORDER BY id");
    let expected = vec![
        json!({
            "id": "K3TXQk84Si",
            "a": false,
            "c": ["8gfX8dh0xa", "fRjHZJ2Ce9"],
            "d": [2, 3],
            // A list of a number and a string stays exact DynamoDB JSON;
            // a map is a struct, shown as plain JSON with its NULL field `h`.
            "e": {"L": [{"N": "1"}, {"S": "Dsb87qc6Es"}]},
            "f": {"g": 9, "h": null, "i": true},
            "j": hex64("aGVsbG8="),
            "k": [hex64("aXMgZmFzdA=="), hex64("c2N5bGxhZGI=")],
            "_ddb": {"id": "S", "a": "BOOL", "b": "NULL", "c": "SS", "d": "NS", "e": "L", "f": "M", "j": "B", "k": "BS"},
        }),
        json!({"id": "bar", "baz": 0, "_ddb": {"id": "S", "baz": "N"}}),
        json!({"id": "foo", "bar": 42, "_ddb": {"id": "S", "bar": "N"}}),
    ];
    assert_rows(rows, expected, &run);

    // The same through the SQL functions, and binaries as their text.
    let (run, rows) = sql_json(
        &[&scylla],
        &[],
        "SELECT ddb_type(id) AS t_id, ddb_type(a) AS t_a, ddb_type(b) AS t_b, ddb_type(c) AS t_c, ddb_type(d) AS t_d, \
                ddb_type(e) AS t_e, ddb_type(f) AS t_f, ddb_type(j) AS t_j, ddb_type(k) AS t_k, \
                ddb_type(bar) AS t_bar, ddb_type(baz) AS t_baz, \
                ddb_missing(b) AS b_missing, ddb_missing(baz) AS baz_missing, b IS NULL AS b_sql_null, \
                ddb_json(e) AS e_json, ddb_json(f) AS f_json, \
                ddb_get(f, 'g') AS f_g, ddb_get(f, 'i') AS f_i, ddb_get(f, 'h') AS f_h, ddb_get(e, '[1]') AS e_1, \
                arrow_cast(j, 'Utf8') AS j_text, arrow_cast(k, 'List(Utf8)') AS k_text \
         FROM \"S3ExportTest\" WHERE id = 'K3TXQk84Si'",
    );
    assert_eq!(rows.len(), 1, "{}", run.show());
    let mut r = rows[0].clone();
    if let Some(Value::Array(a)) = r.get_mut("k_text") {
        a.sort_by_key(|x| x.to_string());
    }
    let e_json: Value = serde_json::from_str(r["e_json"].as_str().unwrap()).unwrap();
    let f_json: Value = serde_json::from_str(r["f_json"].as_str().unwrap()).unwrap();
    assert_eq!(e_json, json!([1, "Dsb87qc6Es"]));
    assert_eq!(f_json, json!({"g": 9, "h": null, "i": true}));
    let obj = r.as_object_mut().unwrap();
    obj.remove("e_json");
    obj.remove("f_json");
    assert_eq!(
        r,
        json!({
            "t_id": "S", "t_a": "BOOL", "t_b": "NULL", "t_c": "SS", "t_d": "NS", "t_e": "L", "t_f": "M", "t_j": "B", "t_k": "BS",
            "b_missing": false, "baz_missing": true, "b_sql_null": true,
            "f_g": "9", "f_i": "true", "e_1": "Dsb87qc6Es",
            "j_text": "hello", "k_text": ["is fast", "scylladb"],
        }),
        "(t_bar, t_baz and f_h are NULL, so absent)\n{}",
        run.show()
    );
}

#[test]
fn scylla_inspect() {
    let Some(scylla) = sample("scylla-migrator") else { return };
    let run = ddbsnap(&["inspect", "--format", "json", &scylla]).ok();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let t = &v["tables"][0];
    assert_eq!(t["name"], "S3ExportTest");
    assert_eq!(t["items"], 3);
    assert_eq!(t["full_export_items"], 3);
    assert_eq!(t["manifest_item_count"], 3);
    assert_eq!(t["data_files"], 1);
    assert_eq!(t["empty_data_files"], 0);
    assert_eq!(t["full_export"]["export_id"], "01715685260608-c488b4e1");
    assert_eq!(t["warnings"], json!([]), "no checksum files in this sample, so nothing to warn about");
    let names: Vec<&str> = t["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "bar", "baz", "c", "d", "e", "f", "id", "j", "k"]);
}

// ---------------------------------------------------------------- guidewire-nosql2sql

/// The sample's complete lines and its truncated last line.
fn guidewire_lines(path: &str) -> (Vec<String>, String) {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
    let (complete, last) = text.rsplit_once('\n').expect("lines");
    assert!(!last.is_empty(), "the sample's last line should be truncated (no newline)");
    (complete.lines().map(str::to_string).collect(), last.to_string())
}

/// `pk:"..."` and `sk:"..."` of an Ion line, read by hand.
fn ion_field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!("{name}:\"")).unwrap_or_else(|| panic!("no {name} in {line}")) + name.len() + 2;
    let len = line[start..].find('"').unwrap();
    &line[start..start + len]
}

#[test]
fn guidewire_truncated_line_is_an_error() {
    let Some(file) = sample("guidewire-nosql2sql/output.ion.gz") else { return };
    let run = ddbsnap(&["sql", "-e", &file, "SELECT count(*) FROM output"]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stdout.is_empty(), "no result on error\n{}", run.show());
    assert!(run.stderr.contains(&format!("{file}:33:")), "stderr should name the file and line 33\n{}", run.show());
    assert!(run.stderr.contains("truncated"), "stderr should say the file looks truncated\n{}", run.show());
}

#[test]
fn guidewire_quarantine_keeps_the_good_lines() {
    let Some(file) = sample("guidewire-nosql2sql/output.ion.gz") else { return };
    let (complete, truncated) = guidewire_lines(&file);
    assert_eq!(complete.len(), 32);
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("bad.jsonl");
    let q_arg = q.display().to_string();

    let (run, rows) = sql_json(&[&file], &["--quarantine", &q_arg], "SELECT pk, sk FROM output ORDER BY pk, sk");
    let mut expected: Vec<(String, String)> =
        complete.iter().map(|l| (ion_field(l, "pk").to_string(), ion_field(l, "sk").to_string())).collect();
    expected.sort();
    let got: Vec<(String, String)> =
        rows.iter().map(|r| (r["pk"].as_str().unwrap().to_string(), r["sk"].as_str().unwrap().to_string())).collect();
    assert_eq!(got, expected, "{}", run.show());
    assert!(!got.contains(&("o:10".to_string(), "p:12".to_string())), "the truncated item must not appear");
    assert!(
        run.stderr.contains(&format!("WARNING: 1 undecodable lines were quarantined to {q_arg} and are NOT in the results")),
        "{}",
        run.show()
    );

    let quarantined = std::fs::read_to_string(&q).unwrap();
    let entries: Vec<Value> = quarantined.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 1, "{quarantined}");
    assert_eq!(entries[0]["file"], json!(file));
    assert_eq!(entries[0]["line"], 33);
    assert_eq!(entries[0]["text"], json!(truncated));
    assert!(entries[0]["cause"].as_str().unwrap().contains("truncated"), "{quarantined}");

    // The last complete line (32), every attribute.
    // (A quarantine is always a new file: the second run gets its own.)
    let q2 = dir.path().join("bad2.jsonl").display().to_string();
    let (run, rows) = sql_json(&[&file], &["--quarantine", &q2], "SELECT * FROM output WHERE pk = 'o:9' AND sk = 'p:11'");
    assert_eq!(
        complete[31],
        r#"$ion_1_0 {Item:{pk:"o:9",sk:"p:11",owner_id:9,pet_id:11,name:"Freddy",birth_date:"2000-03-09T00:00:00Z",type_id:5,type:"bird"}}"#
    );
    assert_rows(
        rows,
        vec![json!({
            "pk": "o:9", "sk": "p:11", "owner_id": 9, "pet_id": 11, "name": "Freddy",
            "birth_date": "2000-03-09T00:00:00Z", "type_id": 5, "type": "bird",
            "_ddb": {"pk": "S", "sk": "S", "owner_id": "N", "pet_id": "N", "name": "S", "birth_date": "S", "type_id": "N", "type": "S"},
        })],
        &run,
    );
}
