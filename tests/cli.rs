//! The good path through the real binary, on the committed fixtures:
//! answers checked against the generator's ground truth, output formats,
//! Parquet conversion, and JSON vs Ion giving the same answers.

mod common;

use common::{csv_rows, ddbsnap, scalar, testdata, truth};

const CONTACTS: &str = "testdata/contacts";
const CONTACTS_ION: &str = "testdata/contacts-ion";
const EVERY_JSON: &str = "testdata/every-type/json";
const EVERY_ION: &str = "testdata/every-type/ion";

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn inspect_json(export: &str) -> serde_json::Value {
    let run = ddbsnap(&["inspect", "--format", "json", export]).ok();
    assert!(!run.stderr.contains("WARN"), "a good export reads without warnings\n{}", run.show());
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("inspect JSON: {e}\n{}", run.show()))
}

#[test]
fn inspect_matches_the_ground_truth() {
    for dir in [CONTACTS, CONTACTS_ION] {
        let t = truth(dir.trim_start_matches("testdata/"));
        let v = inspect_json(dir);
        let tables = v["tables"].as_array().expect("tables");
        assert_eq!(tables.len(), 1, "{v}");
        let table = &tables[0];
        assert_eq!(table["name"], "Contact");
        assert!(table["table_arn"].as_str().expect("arn").ends_with(t["physical_table"].as_str().expect("physical")));
        assert_eq!(u(&table["items"]), u(&t["final_items"]), "{dir}");
        assert_eq!(u(&table["full_export_items"]), u(&t["full_items"]), "{dir}");
        assert_eq!(u(&table["manifest_item_count"]), u(&t["full_items"]), "{dir}");
        // Records by kind are the generator's counts; their net effect on
        // the full export accounts for every record (issue 13, item 16).
        assert_eq!(u(&table["change_records"]), u(&t["inserted"]) + u(&t["updated"]) + u(&t["deleted"]), "{dir}");
        let by_kind = (u(&table["records_inserted"]), u(&table["records_updated"]), u(&table["records_deleted"]));
        assert_eq!(by_kind, (u(&t["inserted"]), u(&t["updated"]), u(&t["deleted"])), "{dir}");
        let net: u64 = ["superseded", "inserted", "updated", "deleted", "no_effect"].iter().map(|k| u(&table[*k])).sum();
        assert_eq!(net, u(&table["change_records"]), "{dir}: every record is accounted for");
        assert_eq!(u(&table["items"]), u(&table["full_export_items"]) + u(&table["inserted"]) - u(&table["deleted"]), "{dir}");
        assert_eq!(u(&table["quarantined_lines"]), 0);
        assert_eq!(table["manifest_verified"], true);
        assert_eq!(table["warnings"].as_array().map(Vec::len), Some(0), "{dir}: the generated chain has no gaps");
        // The exports it used are the ones generated, in order.
        let mut ids = vec![table["full_export"]["export_id"].clone()];
        ids.extend(table["incremental_exports"].as_array().expect("incrementals").iter().map(|e| e["export_id"].clone()));
        assert_eq!(serde_json::Value::Array(ids), t["exports"], "{dir}");
        // 4 data files per export, the full export's last one an empty partition.
        assert_eq!(u(&table["data_files"]), 12);
        assert!(u(&table["empty_data_files"]) >= 1);
        // `age` drifted from N to S in some items.
        let age = table["attributes"].as_array().expect("attributes").iter().find(|a| a["name"] == "age").expect("age attribute");
        let types: Vec<&str> = age["types"].as_array().expect("types").iter().map(|t| t[0].as_str().expect("type")).collect();
        assert_eq!(types, ["N", "S"], "{dir}: {age}");
    }
    let t = truth("contacts");
    let run = ddbsnap(&["inspect", CONTACTS]).ok();
    let line = format!("items         {} (full export {} items, matches the manifest)", t["final_items"], t["full_items"]);
    assert!(run.stdout.contains(&line), "{line:?} missing\n{}", run.show());
    assert!(run.stdout.contains("changes       "), "{}", run.show());
}

#[test]
fn sql_count_is_the_final_item_count() {
    for dir in [CONTACTS, CONTACTS_ION] {
        let t = truth(dir.trim_start_matches("testdata/"));
        assert_eq!(scalar(&[dir], "SELECT count(*) FROM Contact"), t["final_items"].to_string(), "{dir}");
        assert_eq!(scalar(&[dir], "SELECT count(DISTINCT id) FROM Contact"), t["final_items"].to_string(), "{dir}");
    }
}

#[test]
fn type_drift_counts_match_the_ground_truth() {
    let t = truth("contacts");
    let full_time = inspect_json(CONTACTS)["tables"][0]["full_export"]["time"].as_str().expect("time").to_string();
    for dir in [CONTACTS, CONTACTS_ION] {
        // As of the full export's time, the table is the full export alone,
        // where the ground truth counted the drifted ages.
        let run = ddbsnap(&[
            "sql",
            "--as-of",
            &full_time,
            "--format",
            "csv",
            "-e",
            dir,
            "SELECT ddb_type(age) AS t, count(*) AS n FROM Contact GROUP BY 1 ORDER BY 1",
        ])
        .ok();
        let want = format!("t,n\nN,{}\nS,{}\n", u(&t["full_items"]) - u(&t["age_as_string"]), t["age_as_string"]);
        assert_eq!(run.stdout, want, "{dir}\n{}", run.show());
        // After the incrementals every item still has an age, N or S.
        let rows = csv_rows(&[dir], "SELECT ddb_type(age) AS t, count(*) AS n FROM Contact GROUP BY 1 ORDER BY 1");
        let total: u64 = rows
            .iter()
            .map(|r| {
                let (ty, n) = r.split_once(',').expect("two columns");
                assert!(ty == "N" || ty == "S", "{dir}: age of type {ty:?}");
                n.parse::<u64>().expect("count")
            })
            .sum();
        assert_eq!(total, u(&t["final_items"]), "{dir}: {rows:?}");
        assert_eq!(scalar(&[dir], "SELECT count(*) FROM Contact WHERE ddb_missing(age)"), "0");
    }
    // N and S in one attribute make a text column; the tag tells them apart
    // and the numbers still read as numbers.
    assert_eq!(scalar(&[CONTACTS], "SELECT arrow_typeof(age) FROM Contact LIMIT 1"), "Utf8");
    let n = scalar(&[CONTACTS], "SELECT count(*) FROM Contact WHERE ddb_type(age) = 'N' AND CAST(age AS BIGINT) BETWEEN 18 AND 87");
    let all_n = scalar(&[CONTACTS], "SELECT count(*) FROM Contact WHERE ddb_type(age) = 'N'");
    assert_eq!(n, all_n);
}

#[test]
fn json_format_prints_one_object_per_row() {
    let run =
        ddbsnap(&["sql", "--format", "json", "-e", CONTACTS, "SELECT id, email, age, \"isActive\", tags FROM Contact ORDER BY id LIMIT 7"])
            .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{}", run.show());
    let mut prev = String::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        let obj = v.as_object().unwrap_or_else(|| panic!("not an object: {l}"));
        let id = obj["id"].as_str().expect("id").to_string();
        assert!(id > prev, "ordered by id");
        prev = id;
        assert!(obj["email"].as_str().expect("email").ends_with("@example.com"));
    }
    // No rows: no output at all, rather than an empty object.
    let run = ddbsnap(&["sql", "--format", "json", "-e", CONTACTS, "SELECT id FROM Contact WHERE false"]).ok();
    assert_eq!(run.stdout, "");
}

#[test]
fn csv_format_has_a_header() {
    let run = ddbsnap(&["sql", "--format", "csv", "-e", CONTACTS, "SELECT id, email FROM Contact ORDER BY id LIMIT 3"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.show());
    assert_eq!(lines[0], "id,email");
    assert!(lines[1..].iter().all(|l| l.contains("@example.com")), "{}", run.show());
    // A header even without rows.
    let run = ddbsnap(&["sql", "--format", "csv", "-e", CONTACTS, "SELECT id, email FROM Contact WHERE false"]).ok();
    assert_eq!(run.stdout, "id,email\n");
}

#[test]
fn csv_format_prints_sets_and_select_star() {
    // Sets are Arrow lists and SELECT * includes the `_ddb` struct: CSV has
    // no nested values, so these must be written as text, not fail.
    let run =
        ddbsnap(&["sql", "--format", "csv", "-e", CONTACTS, "SELECT id, tags FROM Contact WHERE tags IS NOT NULL ORDER BY id LIMIT 3"])
            .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "id,tags", "{}", run.show());
    assert_eq!(lines.len(), 4, "{}", run.show());
    assert!(lines[1..].iter().all(|l| l.contains("vip")), "{}", run.show());
    let t = truth("contacts");
    let run = ddbsnap(&["sql", "--format", "csv", "-e", CONTACTS, "SELECT * FROM Contact"]).ok();
    assert!(run.stdout.lines().next().expect("header").ends_with(",_ddb"), "{}", run.show());
    // One header line plus one line per item (no value holds a newline).
    assert_eq!(run.stdout.lines().count() as u64, u(&t["final_items"]) + 1);
    let run = ddbsnap(&["sql", "--format", "csv", "-e", EVERY_JSON, "SELECT pk, ss, ns, bs, b FROM EveryType WHERE pk = 'all-types'"]).ok();
    assert_eq!(
        run.stdout,
        // Sets are read in their canonical order (strings and binary by bytes, numbers by value).
        "pk,ss,ns,bs,b\nall-types,\"[, alpha, beta]\",\"[-2.5, 1E-130, 1]\",\"[00, 010203, ffffffff]\",0001027f80feff\n",
        "{}",
        run.show()
    );
}

/// Queries whose answers are compared between sources. Each orders its rows.
const CONTACT_QUERIES: [&str; 6] = [
    "SELECT count(*) FROM Contact",
    "SELECT ddb_type(age) AS t, count(*) AS n FROM Contact GROUP BY 1 ORDER BY 1",
    "SELECT id, name, email, age, score, \"isActive\", \"createdAt\", \"updatedAt\", owner, phone, \"schemaVersion\" FROM Contact ORDER BY id",
    "SELECT id, address, ddb_get(address, 'city') AS city, ddb_json(address) AS plain FROM Contact ORDER BY id",
    "SELECT id, tags, ddb_type(tags) AS t, ddb_missing(tags) AS missing FROM Contact ORDER BY id",
    "SELECT sum(score) AS s, min(score) AS lo, max(score) AS hi, avg(CAST(age AS BIGINT)) AS a FROM Contact WHERE ddb_type(age) = 'N'",
];

fn answer(source: &[&str], sql: &str) -> String {
    let mut args = vec!["sql", "--format", "json"];
    args.extend_from_slice(source);
    args.push(sql);
    let run = ddbsnap(&args).ok();
    assert!(!run.stdout.is_empty(), "{}", run.show());
    run.stdout
}

#[test]
fn convert_then_sql_on_parquet_gives_the_same_answers() {
    let t = truth("contacts");
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().display().to_string();
    let run = ddbsnap(&["convert", "--to", &to, CONTACTS]).ok();
    let parquet = out.path().join("Contact").join("data.parquet");
    assert!(parquet.is_file(), "{}", run.show());
    assert!(run.stdout.starts_with(&format!("Contact\t{} items\t", t["final_items"])), "{}", run.show());
    for q in CONTACT_QUERIES {
        let from_export = answer(&["-e", CONTACTS], q);
        let from_parquet = answer(&["--parquet", &to], q);
        assert_eq!(from_export, from_parquet, "{q}");
    }
    // The every-type fixture too: every type survives Parquet.
    let out = tempfile::tempdir().expect("temp dir");
    let to = out.path().display().to_string();
    ddbsnap(&["convert", "--to", &to, EVERY_JSON]).ok();
    for q in EVERY_TYPE_QUERIES {
        assert_eq!(answer(&["-e", EVERY_JSON], q), answer(&["--parquet", &to], q), "{q}");
    }
}

/// A table with no items (an Amplify model nobody wrote to yet) converts
/// beside the others and reads back as a table with no rows, not an error
/// that stops the whole conversion.
#[test]
fn an_empty_table_converts_and_reads_back_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    ddbsnap(&["generate", "--items", "0", "--table", "Empty", "--out", empty.to_str().unwrap()]).ok();
    let to = dir.path().join("pq").display().to_string();
    let run = ddbsnap(&["convert", "--to", &to, &format!("Empty={}", empty.display()), CONTACTS]).ok();
    assert!(run.stdout.contains("Empty\t0 items\t"), "{}", run.show());
    assert!(run.stdout.contains("Contact\t199 items\t"), "{}", run.show());
    assert!(!dir.path().join("pq/Empty/.data.parquet.partial").exists());
    let sql = |source: &[&str], q: &str| {
        let mut args = vec!["sql", "--format", "csv"];
        args.extend_from_slice(source);
        args.push(q);
        ddbsnap(&args).ok().stdout
    };
    assert_eq!(sql(&["--parquet", &to], "SELECT count(*) AS n FROM \"Empty\""), "n\n0\n");
    assert_eq!(sql(&["--parquet", &to], "SELECT count(*) AS n FROM \"Contact\""), "n\n199\n");
    // The same answer as the export read directly.
    let export = format!("Empty={}", empty.display());
    assert_eq!(sql(&["-e", &export], "SELECT count(*) AS n FROM \"Empty\""), "n\n0\n");
}

#[test]
fn ion_and_json_contacts_give_identical_answers() {
    for q in CONTACT_QUERIES {
        assert_eq!(answer(&["-e", CONTACTS], q), answer(&["-e", CONTACTS_ION], q), "{q}");
    }
    // And the same inspection, but for the format and the data file names.
    let strip = |mut v: serde_json::Value| {
        let t = &mut v["tables"][0];
        for key in ["table_arn", "full_export", "incremental_exports", "compressed_bytes", "uncompressed_bytes"] {
            t[key] = serde_json::Value::Null;
        }
        v
    };
    let json = strip(inspect_json(CONTACTS));
    let ion = strip(inspect_json(CONTACTS_ION));
    // Item sizes are DynamoDB's, whatever the file format.
    assert_eq!(json, ion);
}

const EVERY_TYPE_QUERIES: [&str; 5] = [
    "SELECT * FROM EveryType ORDER BY pk",
    "SELECT pk, ddb_type(drift) AS drift_t, drift, ddb_type(maybe) AS maybe_t, ddb_missing(maybe) AS missing FROM EveryType ORDER BY pk",
    "SELECT pk, ddb_json(m) AS m, ddb_json(l) AS l, ddb_json(deep) AS deep, ddb_json(deep_list) AS deep_list, deep_set FROM EveryType ORDER BY pk",
    "SELECT digits38, neg_digits38, fraction38, tiny, neg_tiny, huge, max, neg_decimal, neg_small, zero, i64_max, i64_min FROM EveryType WHERE pk = 'numbers'",
    "SELECT pk, \"with space\", \"dot.ted\", \"#hash\", \":colon\", \"a:b#c.d e\", \"ünïcödé\", \"🙂\", emoji, cjk, combining, rtl, escapes, empty, empty_b FROM EveryType ORDER BY pk",
];

#[test]
fn ion_and_json_every_type_give_identical_answers() {
    for q in EVERY_TYPE_QUERIES {
        assert_eq!(answer(&["-e", EVERY_JSON], q), answer(&["-e", EVERY_ION], q), "{q}");
    }
}

#[test]
fn every_type_values_come_out_exactly() {
    let one = |sql: &str| -> serde_json::Value {
        let out = answer(&["-e", EVERY_JSON], sql);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{sql}: {out}");
        serde_json::from_str(lines[0]).expect("JSON row")
    };
    // Numbers: exact digits, whatever the column type chosen for them.
    let row = answer(&["-e", EVERY_JSON], EVERY_TYPE_QUERIES[3]);
    for text in [
        "12345678901234567890123456789012345678",
        "-99999999999999999999999999999999999999",
        "0.12345678901234567890123456789012345678",
        "1E-130",
        "-1E-130",
        "9.99E125",
        "9.9999999999999999999999999999999999999E125",
        "-123.456",
        "-0.000001",
        "9223372036854775807",
        "-9223372036854775808",
    ] {
        assert!(row.contains(text), "{text} not in {row}");
    }
    let n = one("SELECT CAST(digits38 AS VARCHAR) = '12345678901234567890123456789012345678' AS text, \
         digits38 > CAST('12345678901234567890123456789012345677' AS DECIMAL(38, 0)) AS greater, \
         arrow_typeof(digits38) AS t FROM EveryType WHERE pk = 'numbers'");
    assert_eq!(n["text"], true, "{n}");
    assert_eq!(n["greater"], true, "38 digits compare exactly: {n}");
    assert_eq!(n["t"], "Decimal128(38, 0)", "{n}");

    // Type drift and NULL vs missing.
    let rows = csv_rows(&[EVERY_JSON], "SELECT pk, ddb_type(drift), ddb_type(maybe), ddb_missing(maybe) FROM EveryType ORDER BY pk");
    assert_eq!(
        rows,
        ["all-types,N,NULL,false", "deep,,,true", "drift-bool,BOOL,NULL,false", "numbers,S,,true", "strings,,S,false"],
        "ddb_type gives 'NULL' for an explicit NULL and SQL NULL for a missing attribute"
    );
    let r = one(
        "SELECT ddb_type(s) AS s, ddb_type(n) AS n, ddb_type(b) AS b, ddb_type(bool) AS bool, ddb_type(\"null\") AS \"null\", ddb_type(m) AS m, ddb_type(l) AS l, ddb_type(ss) AS ss, ddb_type(ns) AS ns, ddb_type(bs) AS bs FROM EveryType WHERE pk = 'all-types'",
    );
    for (col, ty) in [
        ("s", "S"),
        ("n", "N"),
        ("b", "B"),
        ("bool", "BOOL"),
        ("null", "NULL"),
        ("m", "M"),
        ("l", "L"),
        ("ss", "SS"),
        ("ns", "NS"),
        ("bs", "BS"),
    ] {
        assert_eq!(r[col], ty, "{r}");
    }

    // Strings and odd attribute names.
    let r = one(
        "SELECT \"with space\" AS a, \"dot.ted\" AS b, \"#hash\" AS c, \":colon\" AS d, \"a:b#c.d e\" AS e, \"ünïcödé\" AS f, \"🙂\" AS g, emoji, cjk, combining, rtl, escapes, empty, empty_b, empty_b IS NULL AS b_null FROM EveryType WHERE pk = 'strings'",
    );
    assert_eq!(r["a"], "space");
    assert_eq!(r["b"], "dot");
    assert_eq!(r["c"], "hash");
    assert_eq!(r["d"], "colon");
    assert_eq!(r["e"], "all of them");
    assert_eq!(r["f"], "unicode name");
    assert_eq!(r["g"], "emoji name");
    assert_eq!(r["emoji"], "😀 👍🏽 👩‍👩‍👧 🇨🇭");
    assert_eq!(r["cjk"], "漢字 かな カナ 한국어 中文");
    assert_eq!(r["combining"], "e\u{301} a\u{308} n\u{303} Z\u{335}", "combining marks kept, not normalised");
    assert_eq!(r["rtl"], "שלום مرحبا");
    assert_eq!(r["escapes"], "quote \" backslash \\ tab \t newline \n control \u{1} slash /");
    assert_eq!(r["empty"], "", "an empty string is not NULL");
    assert_eq!(r["empty_b"], "", "an empty binary is not NULL: {r}");
    assert_eq!(r["b_null"], false, "an empty binary is not NULL: {r}");

    // Nesting to 32 levels reads whole.
    let r = one(
        "SELECT ddb_json(deep) AS deep, ddb_json(deep_list) AS deep_list, ddb_json(deep_set) AS deep_set FROM EveryType WHERE pk = 'deep'",
    );
    assert!(r["deep"].as_str().expect("json text").contains("\"bottom\""), "{r}");
    assert!(r["deep_set"].as_str().expect("json text").contains(r#"["x","y"]"#), "{r}");
    // In plain JSON a set is one more array level; to DynamoDB its members
    // sit at the set's own level, 32.
    for (col, json_depth) in [("deep", 32), ("deep_list", 32), ("deep_set", 33)] {
        let text = r[col].as_str().expect("json text");
        let v: serde_json::Value = serde_json::from_str(text).expect("plain JSON");
        fn depth(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
                serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
                _ => 1,
            }
        }
        assert_eq!(depth(&v), json_depth, "{col}");
    }
    assert_eq!(one("SELECT ddb_get(m, 'inner.flag') AS f FROM EveryType WHERE pk = 'all-types'")["f"], "false");
}

#[test]
fn generate_command_reproduces_the_contacts_fixtures() {
    // testdata/README.md says how contacts/ was made; hold it to that.
    for (format, dir) in [("json", "contacts"), ("ion", "contacts-ion")] {
        let out = tempfile::tempdir().expect("temp dir");
        let to = out.path().display().to_string();
        let run = ddbsnap(&[
            "generate",
            "--out",
            &to,
            "--items",
            "200",
            "--files",
            "4",
            "--seed",
            "1",
            "--incrementals",
            "2",
            "--drift-rate",
            "0.05",
            "--format",
            format,
        ])
        .ok();
        let printed: serde_json::Value = serde_json::from_str(&run.stdout).expect("ground truth on stdout");
        assert_eq!(printed, truth(dir));
        let fresh = files(out.path());
        let committed = files(&testdata(dir));
        assert_eq!(fresh.keys().collect::<Vec<_>>(), committed.keys().collect::<Vec<_>>(), "{dir}");
        for (k, v) in &fresh {
            assert!(committed[k] == *v, "{dir}/{k} differs from what `ddbsnap generate` writes");
        }
    }
}

fn files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(p.strip_prefix(base).expect("inside").display().to_string(), std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
