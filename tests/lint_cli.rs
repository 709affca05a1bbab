//! `ddbsnap lint` on a schema pair over the Contact fixture: each change is
//! classified and measured against the data.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddbsnap");
const CONTACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/contacts");

fn field(name: &str, ty: &str, required: bool) -> String {
    format!(r#""{name}":{{"name":"{name}","isArray":false,"type":{ty},"isRequired":{required},"attributes":[]}}"#)
}

fn outputs(models: &[(&str, Vec<String>, &str)]) -> String {
    let models: Vec<String> = models
        .iter()
        .map(|(name, fields, attrs)| {
            format!(
                r#""{name}":{{"name":"{name}","attributes":[{attrs}],"primaryKeyInfo":{{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]}},"fields":{{{}}}}}"#,
                fields.join(",")
            )
        })
        .collect();
    format!(r#"{{"data":{{"model_introspection":{{"version":1,"enums":{{}},"nonModels":{{}},"models":{{{}}}}}}}}}"#, models.join(","))
}

fn sql_count(sql: &str) -> u64 {
    let out = common::output_within(Command::new(BIN).args(["-q", "sql", "--format", "csv", "-e", CONTACTS, sql]));
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn schema_pair_is_classified_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    let id = field("id", r#""ID""#, true);
    let old = outputs(&[
        (
            "Contact",
            vec![
                id.clone(),
                field("name", r#""String""#, false),
                field("phone", r#""String""#, false),
                field("age", r#""String""#, false),
                field("email", r#""AWSEmail""#, false),
            ],
            "",
        ),
        ("Note", vec![id.clone(), field("body", r#""String""#, true)], ""),
    ]);
    let new = outputs(&[
        (
            "Contact",
            vec![
                id.clone(),
                field("firstName", r#""String""#, false),
                field("age", r#""Int""#, false),
                field("email", r#""AWSEmail""#, true),
                field("website", r#""AWSURL""#, false),
            ],
            r#"{"type":"key","properties":{"name":"byEmail","fields":["email"]}}"#,
        ),
        ("Tag", vec![id.clone(), field("label", r#""String""#, true)], ""),
    ]);
    let (from, to) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&from, old).unwrap();
    std::fs::write(&to, new).unwrap();
    let out = common::output_within(Command::new(BIN).args([
        "-q",
        "lint",
        "--from",
        from.to_str().unwrap(),
        "--to",
        to.to_str().unwrap(),
        "--format",
        "json",
        CONTACTS,
    ]));
    assert_eq!(out.status.code(), Some(1), "breaking changes meet data: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeMap<String, (String, Option<u64>)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["what"].as_str().unwrap().to_string(), (c["class"].as_str().unwrap().to_string(), c["affected"].as_u64())))
        .collect();
    let named = sql_count("SELECT count(*) FROM Contact WHERE name IS NOT NULL");
    let phones = sql_count("SELECT count(*) FROM Contact WHERE phone IS NOT NULL");
    assert!(named > 0 && phones > 0);
    let expected: BTreeMap<String, (String, Option<u64>)> = [
        ("Contact.name renamed to firstName (probable: one field removed, one of the same type added)", ("breaking", Some(named))),
        ("Contact.phone removed", ("breaking", Some(phones))),
        ("Contact.age type changed from String to Int", ("breaking", Some(0))),
        ("Contact.email made required", ("breaking", Some(0))),
        ("model Note dropped", ("dangerous", None)),
        ("model Tag added", ("safe", None)),
        ("Contact.website added (optional)", ("safe", None)),
        ("Contact: index byEmail added", ("safe", None)),
    ]
    .into_iter()
    .map(|(k, (c, n))| (k.to_string(), (c.to_string(), n)))
    .collect();
    assert_eq!(got, expected);
    // without data nothing is measured and the exit code is 0
    let out = common::output_within(Command::new(BIN).args(["-q", "lint", "--from", from.to_str().unwrap(), "--to", to.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DANGEROUS  model Note dropped"));
}
