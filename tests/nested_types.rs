//! Issue 16, part 3: maps of one shape are Arrow structs and lists of one
//! element type are Arrow lists, so SQL reads them as DuckDB and Athena users
//! expect (`profile.bio`, `profile['bio']`, `array_length(tags)`,
//! `unnest(tags)`) in `sql`, in check files and in transforms, while NULL and
//! missing fields stay apart and every value is written back exactly.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use common::ddbsnap;
use ddbsnap::generate::{ExportWriter, Rng};
use ddbsnap::item::{AttrValue, Item, Number, ddbjson};
use ddbsnap::snapshot::manifest::OutputFormat;

fn arg(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

fn s(x: &str) -> AttrValue {
    AttrValue::S(x.into())
}

fn n(x: &str) -> AttrValue {
    AttrValue::N(Number::parse(x).expect("number"))
}

fn m(pairs: &[(&str, AttrValue)]) -> AttrValue {
    AttrValue::M(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>())
}

/// Four people: `profile` maps of one shape (bio missing in p3, NULL in p2),
/// `tags` lists of strings (empty in p2, missing in p4), and `extra`, whose
/// `v` is a string in one item and a number in another (drift).
fn items() -> Vec<Item> {
    let item = |id: &str, attrs: Vec<(&str, AttrValue)>| -> Item {
        let mut it: Item = attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        it.insert("id".into(), s(id));
        it
    };
    vec![
        item(
            "p1",
            vec![
                ("profile", m(&[("bio", s("likes tea")), ("age", n("41")), ("links", AttrValue::L(vec![s("a"), AttrValue::Null]))])),
                ("tags", AttrValue::L(vec![s("vip"), s("beta")])),
                ("extra", m(&[("v", s("x"))])),
            ],
        ),
        item(
            "p2",
            vec![
                ("profile", m(&[("bio", AttrValue::Null), ("age", n("12345678901234567890123456789012345678"))])),
                ("tags", AttrValue::L(vec![])),
                ("extra", m(&[("v", n("1"))])),
            ],
        ),
        item("p3", vec![("profile", m(&[("age", n("7"))])), ("tags", AttrValue::L(vec![s("new")]))]),
        item("p4", vec![("profile", AttrValue::Null)]),
    ]
}

/// A full export under `root` of table `export_table` (`Model-api-NONE`)
/// holding `items`.
fn write_export(root: &Path, export_table: &str, items: &[Item]) {
    let mut rng = Rng::new(5);
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("time");
    let mut w = ExportWriter::new(root, "", export_table, OutputFormat::DynamodbJson, at, 1, false, &mut rng).expect("writer");
    for it in items {
        w.add_item(it, &mut rng).expect("add item");
    }
    w.finish(None).expect("finish");
}

/// An export of [`items`] as table `People`; returns its root.
fn export(root: &Path) -> PathBuf {
    write_export(root, "People-nested-NONE", &items());
    root.to_path_buf()
}

/// Plans `transform` (SQL) on the export under `root` and returns each
/// operation's after-image, by id, from `plan show --ops --format jsonl`.
fn planned_after(root: &Path, dir: &Path, transform: &str) -> BTreeMap<String, Item> {
    let file = dir.join("transform.sql");
    std::fs::write(&file, transform).expect("write transform");
    let plan = dir.join("plan");
    let run = ddbsnap(&["-q", "plan", "-t", &arg(&file), "--out", &arg(&plan), &arg(root)]);
    assert!(run.code == Some(0) || run.code == Some(1), "{}", run.show());
    let ops = ddbsnap(&["plan", "show", &arg(&plan), "--ops", "--format", "jsonl"]).ok();
    ops.stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
            let after = ddbjson::item_from_str(&v["after"].to_string()).expect("after item");
            let AttrValue::S(id) = &after["id"] else { panic!("id is a string: {l}") };
            (id.clone(), after)
        })
        .collect()
}

/// [`items`] by id.
fn items_by_id() -> BTreeMap<String, Item> {
    items()
        .into_iter()
        .map(|it| {
            let AttrValue::S(id) = &it["id"] else { unreachable!("ids are strings") };
            (id.clone(), it)
        })
        .collect()
}

fn rows(root: &Path, sql: &str) -> Vec<String> {
    let run = ddbsnap(&["-q", "sql", "--format", "csv", "-e", &arg(root), sql]).ok();
    run.stdout.lines().skip(1).map(str::to_string).collect()
}

#[test]
fn struct_fields_and_list_functions_in_sql() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let types = rows(&root, "SELECT arrow_typeof(profile) AS p, arrow_typeof(tags) AS t, arrow_typeof(extra) AS e FROM People LIMIT 1");
    assert!(types[0].starts_with("\"Struct("), "profile is a struct: {types:?}");
    assert!(types[0].contains("List("), "tags is a list: {types:?}");
    assert!(types[0].ends_with(",Utf8"), "a drifting map stays exact text: {types:?}");

    assert_eq!(
        rows(&root, "SELECT id, profile.bio, profile['age'] AS age, ddb_type(profile.bio) AS t FROM People ORDER BY id"),
        ["p1,likes tea,41,S", "p2,,12345678901234567890123456789012345678,NULL", "p3,,7,", "p4,,,"],
        "dot and bracket access; NULL and missing told apart by the struct's tags"
    );
    assert_eq!(
        rows(&root, "SELECT id, array_length(tags) AS n, ddb_type(tags) AS t FROM People ORDER BY id"),
        ["p1,2,L", "p2,0,L", "p3,1,L", "p4,,"],
    );
    assert_eq!(rows(&root, "SELECT id, unnest(tags) AS tag FROM People ORDER BY id, tag"), ["p1,beta", "p1,vip", "p3,new"]);
    assert_eq!(rows(&root, "SELECT count(*) FROM People WHERE array_has(tags, 'vip')"), ["1"]);
    // A list element that is NULL in DynamoDB is a SQL NULL element.
    assert_eq!(
        rows(&root, "SELECT array_length(profile.links) AS n, profile.links[2] IS NULL AS null2 FROM People WHERE id = 'p1'"),
        ["2,true"]
    );
    // The functions that took DynamoDB JSON text take structs and lists too.
    assert_eq!(
        rows(
            &root,
            "SELECT id, ddb_get(profile, 'bio') AS bio, ddb_type_at(profile, 'bio') AS t, ddb_json(tags) AS j FROM People ORDER BY id"
        ),
        ["p1,likes tea,S,\"[\"\"vip\"\",\"\"beta\"\"]\"", "p2,,NULL,[]", "p3,,,\"[\"\"new\"\"]\"", "p4,,,"],
    );
    assert_eq!(rows(&root, "SELECT ddb_get(extra, 'v') AS v FROM People WHERE id = 'p2'"), ["1"]);
}

#[test]
fn ddbsnap_nested_json_keeps_the_text_form() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"));
    cmd.env("DDBSNAP_NESTED", "json").args(["-q", "sql", "--format", "csv", "-e", &arg(&root)]);
    cmd.arg("SELECT arrow_typeof(profile) AS t, ddb_get(profile, 'bio') AS bio FROM People WHERE id = 'p1'");
    let out = common::output_within(&mut cmd);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().nth(1), Some("Utf8,likes tea"));
}

#[test]
fn check_files_use_the_struct_form() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let checks = dir.path().join("checks");
    std::fs::create_dir(&checks).expect("mkdir");
    std::fs::write(
        checks.join("bio.sql"),
        "-- name: profile.bio.required\n-- table: People\n-- keys: id\n-- description: every profile has a bio\n\
         SELECT id FROM People WHERE ddb_type(profile) = 'M' AND profile.bio IS NULL\n",
    )
    .expect("write check");
    std::fs::write(
        checks.join("tags.sql"),
        "-- name: tags.not_empty\n-- table: People\n-- keys: id\n-- description: tags, when present, has an element\n\
         SELECT id FROM People WHERE ddb_type(tags) = 'L' AND array_length(tags) = 0\n",
    )
    .expect("write check");
    std::fs::write(
        checks.join("tag_values.sql"),
        "-- name: tags.lowercase\n-- table: People\n-- keys: id\n-- description: every tag is one lowercase word\n\
         SELECT DISTINCT id FROM (SELECT id, unnest(tags) AS tag FROM People) AS t WHERE tag <> lower(tag) OR tag = 'new'\n",
    )
    .expect("write check");
    let run = ddbsnap(&["-q", "check", "--checks", &arg(&checks), "--format", "json", &arg(&root)]);
    assert_eq!(run.code, Some(1), "{}", run.show());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json report");
    let count =
        |name: &str| report["checks"].as_array().expect("checks").iter().find(|c| c["name"] == name).map(|c| c["violations"].clone());
    assert_eq!(count("profile.bio.required"), Some(serde_json::json!(2)), "{}", run.stdout);
    assert_eq!(count("tags.not_empty"), Some(serde_json::json!(1)), "{}", run.stdout);
    assert_eq!(count("tags.lowercase"), Some(serde_json::json!(1)), "unnest in a check file: {}", run.stdout);
}

/// A transform that copies a struct, builds one, and edits a list writes
/// exactly the DynamoDB values meant: a copied map keeps its NULL field and
/// its 38-digit number, a built struct leaves SQL NULL fields out, and a list
/// keeps its order.
#[test]
fn transforms_write_structs_and_lists_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let after = planned_after(
        &root,
        dir.path(),
        "SELECT id, profile AS \"set:profileCopy\", named_struct('about', profile.bio, 'years', profile.age) AS \"set:summary\",\n\
         array_append(tags, 'migrated') AS \"set:tags\"\nFROM People WHERE ddb_type(profile) = 'M' AND ddb_type(tags) = 'L' AND array_length(tags) >= 0\n\
         AND id NOT IN (SELECT id FROM (SELECT id, unnest(tags) AS tag FROM People) AS t WHERE tag = 'nobody')\n",
    );
    let original = items_by_id();
    assert_eq!(after.len(), 3, "{after:?}");
    let p2 = &after["p2"];
    assert_eq!(p2["profileCopy"], original["p2"]["profile"], "copied exactly, NULL field and 38 digits included");
    assert_eq!(p2["summary"], m(&[("years", n("12345678901234567890123456789012345678"))]), "SQL NULL fields are left out");
    assert_eq!(p2["tags"], AttrValue::L(vec![s("migrated")]));
    assert_eq!(after["p1"]["tags"], AttrValue::L(vec![s("vip"), s("beta"), s("migrated")]));
    assert_eq!(after["p1"]["profileCopy"], original["p1"]["profile"]);
}

/// The report of `check --amplify shop.json` on `export`, check by check
/// (name, status, violations), with `DDBSNAP_NESTED` set to `nested`.
fn shop_report(export: &Path, nested: &str) -> Vec<(String, String, u64)> {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/models/shop.json");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"));
    cmd.env("DDBSNAP_NESTED", nested).args(["-q", "check", "--amplify", model, "--format", "json", &arg(export)]);
    let o = common::output_within(&mut cmd);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    let mut checks: Vec<(String, String, u64)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["status"].to_string(), c["violations"].as_u64().unwrap()))
        .collect();
    checks.sort();
    checks
}

fn violations(report: &[(String, String, u64)], name: &str) -> Option<u64> {
    report.iter().find(|c| c.0 == name).map(|c| c.2)
}

/// The generated checks of a custom type (shop.json's `Address`, with a
/// nested `Geo`) read the struct's own tags when `address` is a struct and
/// `ddb_type_at` on its text otherwise: both give the same report, check by
/// check, and count by hand what is wrong inside the maps.
#[test]
fn generated_custom_type_checks_agree_in_both_forms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let geo = |lat: Option<&str>, lng: Option<&str>| {
        let mut g = Vec::new();
        if let Some(x) = lat {
            g.push(("lat", n(x)));
        }
        if let Some(x) = lng {
            g.push(("lng", n(x)));
        }
        m(&g)
    };
    let addresses = [
        m(&[("city", s("Bern")), ("geo", geo(Some("46.95"), Some("7.45")))]),
        m(&[("street", s("Main St 1"))]),                            // city missing
        m(&[("city", AttrValue::Null), ("zip", s("3000"))]),         // city NULL
        m(&[("city", s("Oslo")), ("geo", geo(Some("59.9"), None))]), // geo.lng missing
        m(&[("city", s("Lyon")), ("geo", AttrValue::Null)]),         // geo NULL: allowed
    ];
    let contacts: Vec<Item> = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| {
            [("id", s(&format!("c{i}"))), ("__typename", s("Contact")), ("address", a.clone())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        })
        .collect();
    write_export(dir.path(), "Contact-shop-NONE", &contacts);
    let types =
        ddbsnap(&["-q", "sql", "--format", "csv", "-e", &arg(dir.path()), "SELECT arrow_typeof(address) AS t FROM Contact LIMIT 1"]).ok();
    assert!(types.stdout.contains("Struct("), "address is a struct: {}", types.stdout);
    let as_struct = shop_report(dir.path(), "arrow");
    assert_eq!(as_struct, shop_report(dir.path(), "json"));
    assert_eq!(violations(&as_struct, "Contact.address.city.required"), Some(2), "{as_struct:?}");
    assert_eq!(violations(&as_struct, "Contact.address.geo.lng.required"), Some(1), "{as_struct:?}");
    assert_eq!(violations(&as_struct, "Contact.address.geo.lat.required"), Some(0), "{as_struct:?}");
    assert_eq!(violations(&as_struct, "Contact.address.city.type"), Some(0), "{as_struct:?}");

    // A generated export with planted defects: the same report both ways.
    let out = dir.path().join("generated");
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/models/shop.json");
    let defects = "missing_required=0.02,wrong_type=0.02,bad_format=0.02";
    ddbsnap(&["-q", "generate", "--amplify", model, "--out", &arg(&out), "--items", "2000", "--defects", defects]).ok();
    assert_eq!(shop_report(&out, "arrow"), shop_report(&out, "json"));
}

/// Review finding: a table's map put inside another value
/// (`named_struct('inner', profile)`, `make_array(profile)`) was read by its
/// SQL type, so its hidden `_ddb` tags became a map field, its text numbers
/// strings and its NULL fields were lost. It is read exactly wherever it is.
#[test]
fn a_map_inside_a_built_value_stays_exact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let after = planned_after(
        &root,
        dir.path(),
        "SELECT id, named_struct('inner', profile) AS \"set:wrapped\", make_array(profile) AS \"set:listed\"\n\
         FROM People WHERE ddb_type(profile) = 'M'\n",
    );
    let original = items_by_id();
    for (id, after) in &after {
        assert_eq!(after["wrapped"], m(&[("inner", original[id]["profile"].clone())]), "{id}");
        assert_eq!(after["listed"], AttrValue::L(vec![original[id]["profile"].clone()]), "{id}");
    }
    assert_eq!(after.len(), 3, "{after:?}");
    // ddb_json of a built value agrees: no `_ddb`, NULL fields kept.
    assert_eq!(
        rows(&root, "SELECT ddb_json(named_struct('inner', profile)) AS j FROM People WHERE id = 'p2'"),
        ["\"{\"\"inner\"\":{\"\"age\"\":12345678901234567890123456789012345678,\"\"bio\"\":null}}\""]
    );
}

/// Review finding: `--format json` and check samples showed a struct as
/// Arrow renders it (its `_ddb` tags, NULL fields dropped); they show the
/// plain JSON `ddb_json` gives, as the table and CSV formats do.
#[test]
fn json_output_shows_maps_as_plain_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let run = ddbsnap(&[
        "-q",
        "sql",
        "--format",
        "json",
        "-e",
        &arg(&root),
        "SELECT id, profile, tags FROM People WHERE id IN ('p1', 'p2') ORDER BY id",
    ])
    .ok();
    let lines: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"id": "p1", "profile": {"age": 41, "bio": "likes tea", "links": ["a", null]}, "tags": ["vip", "beta"]})
    );
    assert_eq!(lines[1]["profile"]["bio"], serde_json::Value::Null);
    assert!(lines[1]["profile"].as_object().unwrap().contains_key("bio"), "a NULL field is shown: {}", run.stdout);
    let table = ddbsnap(&["-q", "sql", "-e", &arg(&root), "SELECT profile FROM People WHERE id = 'p3'"]).ok();
    assert!(table.stdout.contains(r#"{"age":7}"#), "{}", table.stdout);
}

#[test]
fn a_misspelt_ddbsnap_nested_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"));
    cmd.env("DDBSNAP_NESTED", "jsn").args(["-q", "sql", "-e", &arg(&root), "SELECT 1"]);
    let out = common::output_within(&mut cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DDBSNAP_NESTED"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Review finding: Parquet written by ddbsnap and then changed (a map
/// field's type tag edited, a column's removed) was read by its SQL types in
/// `sql --parquet`, so a struct's tags came out as data. Every path that
/// registers ddbsnap Parquet now refuses it, as `check` did.
#[test]
fn tampered_parquet_is_refused() {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, StructArray};
    use arrow::datatypes::{DataType, Field, Fields, Schema};
    use arrow::record_batch::RecordBatch;

    let dir = tempfile::tempdir().expect("temp dir");
    let root = export(dir.path());
    let pq = dir.path().join("pq");
    ddbsnap(&["-q", "convert", "--to", &arg(&pq), &arg(&root)]).ok();
    let file = pq.join("People").join("data.parquet");
    let read = || -> Vec<RecordBatch> {
        let f = std::fs::File::open(&file).expect("open parquet");
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap().map(|b| b.unwrap()).collect()
    };
    let clean = read();
    let write = |batches: &[RecordBatch], to: &Path| {
        std::fs::create_dir_all(to.join("People")).unwrap();
        let f = std::fs::File::create(to.join("People").join("data.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batches[0].schema(), None).unwrap();
        batches.iter().for_each(|b| w.write(b).unwrap());
        w.close().unwrap();
    };
    // (a) the `bio` field of `profile` says it holds binary.
    let edit_bio = |b: &RecordBatch| -> RecordBatch {
        let schema = b.schema();
        let i = schema.index_of("profile").unwrap();
        let s = b.column(i).as_struct();
        let DataType::Struct(fields) = s.data_type() else { unreachable!() };
        let fields: Fields = fields
            .iter()
            .map(|f| {
                if f.name() == "bio" {
                    Arc::new(f.as_ref().clone().with_metadata(HashMap::from([("ddbsnap.kind".into(), "B".into())])))
                } else {
                    f.clone()
                }
            })
            .collect();
        let profile = StructArray::try_new(fields.clone(), s.columns().to_vec(), s.nulls().cloned()).unwrap();
        let mut schema_fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        schema_fields[i] = schema_fields[i].clone().with_data_type(DataType::Struct(fields));
        let mut columns = b.columns().to_vec();
        columns[i] = Arc::new(profile);
        RecordBatch::try_new(Arc::new(Schema::new_with_metadata(schema_fields, schema.metadata().clone())), columns).unwrap()
    };
    // (b) `profile` has lost its kind.
    let strip_kind = |b: &RecordBatch| -> RecordBatch {
        let schema = b.schema();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| if f.name() == "profile" { f.as_ref().clone().with_metadata(HashMap::new()) } else { f.as_ref().clone() })
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())), b.columns().to_vec()).unwrap()
    };
    for (name, edit) in [("bio-as-binary", &edit_bio as &dyn Fn(&RecordBatch) -> RecordBatch), ("no-kind", &strip_kind)] {
        let to = dir.path().join(name);
        write(&clean.iter().map(edit).collect::<Vec<_>>(), &to);
        let run = ddbsnap(&["-q", "sql", "--parquet", &arg(&to), "SELECT id, ddb_json(profile) AS j FROM People"]);
        assert_eq!(run.code, Some(2), "{name}: {}", run.show());
        assert!(
            run.stderr.contains("profile") && run.stderr.contains("data.parquet") || run.stderr.contains(&arg(&to)),
            "{name}: {}",
            run.show()
        );
        let input = to.join("People").join("data.parquet");
        let t = dir.path().join(format!("{name}.sql"));
        std::fs::write(&t, "SELECT id, 'x' AS \"set:y\" FROM People WHERE id IN (SELECT id FROM I)\n").unwrap();
        let out = dir.path().join(format!("{name}-plan"));
        let run = ddbsnap(&["-q", "plan", "-t", &arg(&t), "--input", &format!("I={}", arg(&input)), "--out", &arg(&out), &arg(&root)]);
        assert_eq!(run.code, Some(2), "{name} as --input: {}", run.show());
        assert!(run.stderr.contains("profile"), "{name} as --input: {}", run.show());
    }
    // The untouched file still reads.
    let ok = dir.path().join("clean");
    write(&clean, &ok);
    let run =
        ddbsnap(&["-q", "sql", "--format", "csv", "--parquet", &arg(&ok), "SELECT ddb_type(profile.bio) AS t FROM People ORDER BY id"])
            .ok();
    // (CSV writes a one-field row holding NULL as "", an empty line being no row.)
    assert_eq!(run.stdout.lines().skip(1).collect::<Vec<_>>(), ["S", "NULL", "\"\"", "\"\""]);
}

/// Second review: a string whose text is DynamoDB JSON is a string:
/// `ddb_get` and `ddb_json` of a string column are NULL, not a map read out
/// of its text.
#[test]
fn a_string_that_looks_like_a_map_is_a_string() {
    let dir = tempfile::tempdir().expect("temp dir");
    let notes: Vec<Item> = [("a", r#"{"M":{"a":{"S":"fake"}}}"#), ("b", "plain")]
        .into_iter()
        .map(|(id, x)| [("id".to_string(), s(id)), ("x".to_string(), s(x))].into_iter().collect())
        .collect();
    write_export(dir.path(), "Notes-fake-NONE", &notes);
    assert_eq!(
        rows(
            dir.path(),
            "SELECT id, ddb_type(x) AS t, ddb_get(x, 'a') AS a, ddb_json(x) AS j, ddb_type_at(x, 'a') AS ta FROM Notes ORDER BY id"
        ),
        ["a,S,,,", "b,S,,,"]
    );
}
