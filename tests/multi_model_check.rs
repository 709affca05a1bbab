//! `ddbsnap check` on exports of three related Amplify models with every
//! scalar kind, an enum, a custom type, an index, belongsTo and hasMany, and
//! defects planted at known places: the report must name exactly those.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{TimeZone, Utc};
use ddbsnap::generate::{ExportWriter, Rng};
use ddbsnap::item::{AttrValue, Item, Number};
use ddbsnap::snapshot::manifest::OutputFormat;

const MODEL: &str = r#"{"data":{"model_introspection":{"version":1,
 "enums":{"Size":{"name":"Size","values":["SMALL","LARGE"]}},
 "nonModels":{"Address":{"name":"Address","fields":{"city":{"name":"city","isArray":false,"type":"String","isRequired":true,"attributes":[]}}}},
 "models":{
  "Company":{"name":"Company","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
   "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
    "name":{"name":"name","isArray":false,"type":"String","isRequired":true,"attributes":[]},
    "size":{"name":"size","isArray":false,"type":{"enum":"Size"},"isRequired":false,"attributes":[]},
    "contacts":{"name":"contacts","isArray":true,"type":{"model":"Contact"},"isRequired":false,"isArrayNullable":true,"attributes":[],
      "association":{"connectionType":"HAS_MANY","associatedWith":["companyId"]}}}},
  "Contact":{"name":"Contact","primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
   "attributes":[{"type":"key","properties":{"name":"byEmail","queryField":"listByEmail","fields":["email"]}}],
   "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
    "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":true,"attributes":[]},
    "age":{"name":"age","isArray":false,"type":"Int","isRequired":false,"attributes":[]},
    "score":{"name":"score","isArray":false,"type":"Float","isRequired":false,"attributes":[]},
    "active":{"name":"active","isArray":false,"type":"Boolean","isRequired":false,"attributes":[]},
    "born":{"name":"born","isArray":false,"type":"AWSDate","isRequired":false,"attributes":[]},
    "at":{"name":"at","isArray":false,"type":"AWSTime","isRequired":false,"attributes":[]},
    "seen":{"name":"seen","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[]},
    "ts":{"name":"ts","isArray":false,"type":"AWSTimestamp","isRequired":false,"attributes":[]},
    "web":{"name":"web","isArray":false,"type":"AWSURL","isRequired":false,"attributes":[]},
    "phone":{"name":"phone","isArray":false,"type":"AWSPhone","isRequired":false,"attributes":[]},
    "ip":{"name":"ip","isArray":false,"type":"AWSIPAddress","isRequired":false,"attributes":[]},
    "meta":{"name":"meta","isArray":false,"type":"AWSJSON","isRequired":false,"attributes":[]},
    "address":{"name":"address","isArray":false,"type":{"nonModel":"Address"},"isRequired":false,"attributes":[]},
    "tags":{"name":"tags","isArray":true,"type":"String","isRequired":true,"isArrayNullable":true,"attributes":[]},
    "companyId":{"name":"companyId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
    "company":{"name":"company","isArray":false,"type":{"model":"Company"},"isRequired":false,"attributes":[],
      "association":{"connectionType":"BELONGS_TO","targetNames":["companyId"]}}}},
  "Note":{"name":"Note","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
   "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
    "body":{"name":"body","isArray":false,"type":"String","isRequired":true,"attributes":[]},
    "contactId":{"name":"contactId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
    "contact":{"name":"contact","isArray":false,"type":{"model":"Contact"},"isRequired":false,"attributes":[],
      "association":{"connectionType":"BELONGS_TO","targetNames":["contactId"]}}}}}}}}"#;

fn s(v: &str) -> AttrValue {
    AttrValue::S(v.into())
}
fn n(v: &str) -> AttrValue {
    AttrValue::N(Number::parse(v).unwrap())
}
fn item(typename: &str, pairs: Vec<(&str, AttrValue)>) -> Item {
    let mut it: Item = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    it.insert("__typename".into(), s(typename));
    it
}

fn contact(i: u32, company: &str) -> BTreeMap<&'static str, AttrValue> {
    BTreeMap::from([
        ("id", s(&format!("p{i}"))),
        ("email", s(&format!("p{i}@example.com"))),
        ("age", n("30")),
        ("score", n("1.25")),
        ("active", AttrValue::Bool(true)),
        ("born", s("1990-02-03")),
        ("at", s("12:30:00")),
        ("seen", s("2026-01-02T03:04:05.000Z")),
        ("ts", n("1767225600")),
        ("web", s("https://example.com/p")),
        ("phone", s("+41 79 123 45 67")),
        ("ip", s("192.0.2.1")),
        ("meta", s("{\"a\":1}")),
        ("address", AttrValue::M(BTreeMap::from([("city".to_string(), s("Oslo"))]))),
        ("tags", AttrValue::L(vec![s("a")])),
        ("companyId", s(company)),
    ])
}

fn write(dir: &std::path::Path, model: &str, items: &[Item], seed: u64) {
    let mut rng = Rng::new(seed);
    let time = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut w = ExportWriter::new(
        dir,
        "",
        &format!("{model}-abcdefghijklmnopqrstuvwxyz-NONE"),
        OutputFormat::DynamodbJson,
        time,
        2,
        false,
        &mut rng,
    )
    .unwrap();
    for it in items {
        w.add_item(it, &mut rng).unwrap();
    }
    w.finish(None).unwrap();
}

#[test]
fn check_reports_exactly_the_planted_defects() {
    let dir = tempfile::tempdir().unwrap();
    let companies = vec![
        item("Company", vec![("id", s("c1")), ("name", s("One")), ("size", s("SMALL"))]),
        item("Company", vec![("id", s("c2")), ("name", s("Two")), ("size", s("LARGE"))]),
        item("Company", vec![("id", s("c3")), ("name", s("Three")), ("size", s("HUGE"))]), // enum
        item("Company", vec![("id", s("c4")), ("size", s("SMALL"))]),                      // name missing
    ];
    let mut contacts: Vec<Item> = (0..5).map(|i| item("Contact", contact(i, "c1").into_iter().collect())).collect();
    let planted: Vec<(&str, AttrValue)> = vec![
        ("email", AttrValue::Null),                    // required + index key
        ("age", s("thirty")),                          // type
        ("age", n("30.5")),                            // integer
        ("email", s("not-an-email")),                  // format
        ("companyId", s("c404")),                      // dangling reference
        ("address", AttrValue::M(BTreeMap::new())),    // custom type field missing
        ("meta", s("{not json")),                      // AWSJSON
        ("tags", AttrValue::L(vec![AttrValue::Null])), // NULL element where elements are required
        ("born", s("03/02/1990")),                     // AWSDate format
    ];
    for (i, (attr, value)) in planted.into_iter().enumerate() {
        let mut c = contact(100 + i as u32, "c2");
        c.insert(attr, value);
        contacts.push(item("Contact", c.into_iter().collect()));
    }
    let notes = vec![
        item("Note", vec![("id", s("n1")), ("body", s("hi")), ("contactId", s("p1"))]),
        item("Note", vec![("id", s("n2")), ("body", s("yo")), ("contactId", s("p999"))]), // dangling
    ];
    write(&dir.path().join("exports"), "Company", &companies, 1);
    write(&dir.path().join("exports"), "Contact", &contacts, 2);
    write(&dir.path().join("exports"), "Note", &notes, 3);
    let model = dir.path().join("amplify_outputs.json");
    std::fs::write(&model, MODEL).unwrap();

    let out = common::output_within(Command::new(env!("CARGO_BIN_EXE_ddbsnap")).args([
        "-q",
        "check",
        "--amplify",
        model.to_str().unwrap(),
        "--format",
        "json",
        dir.path().join("exports").to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables: BTreeMap<String, u64> =
        v["tables"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap().to_string(), t["items"].as_u64().unwrap())).collect();
    assert_eq!(tables, BTreeMap::from([("Company".into(), 4), ("Contact".into(), 14), ("Note".into(), 2)]));
    let failing: BTreeMap<String, u64> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["violations"].as_u64().unwrap()))
        .collect();
    let expected: BTreeMap<String, u64> = [
        ("Company.size.enum", 1),
        ("Company.name.required", 1),
        ("Contact.email.required", 1),
        ("Contact.index.byEmail", 1),
        ("Contact.age.type", 1),
        ("Contact.age.integer", 1),
        ("Contact.email.format", 1),
        ("Contact.company.reference", 1),
        ("Contact.address.city.required", 1),
        ("Contact.meta.json", 1),
        ("Contact.tags.elements", 1),
        ("Contact.born.format", 1),
        ("Note.contact.reference", 1),
        // No item here has createdAt or updatedAt, which AppSync writes on
        // every item: the bundled check fails on each item instead of
        // passing because the columns are absent.
        ("Company.timestamps_present", 4),
        ("Contact.timestamps_present", 14),
        ("Note.timestamps_present", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(failing, expected, "{}", serde_json::to_string_pretty(&v["checks"]).unwrap());
    assert!(v["checks"].as_array().unwrap().iter().all(|c| c["status"] != "error"));

    // the same defects, and only they, in every other format
    let render = |format: &str| -> String {
        let out = common::output_within(Command::new(env!("CARGO_BIN_EXE_ddbsnap")).args([
            "-q",
            "check",
            "--amplify",
            model.to_str().unwrap(),
            "--format",
            format,
            dir.path().join("exports").to_str().unwrap(),
        ]));
        assert_eq!(out.status.code(), Some(1), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = render("text");
    let failing_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL") || l.starts_with("WARN")).collect();
    assert_eq!(failing_lines.len(), expected.len(), "{text}");
    let junit = render("junit");
    assert_eq!(junit.matches("<failure ").count(), expected.len());
    let markdown = render("markdown");
    assert_eq!(markdown.lines().filter(|l| l.starts_with("| **")).count(), expected.len());
    let html = render("html");
    assert_eq!(html.matches("<tr class=\"check fail\">").count() + html.matches("<tr class=\"check warn\">").count(), expected.len());
    for name in expected.keys() {
        for (format, out) in [("text", &text), ("junit", &junit), ("markdown", &markdown), ("html", &html)] {
            assert!(out.contains(name.as_str()), "{format} lacks {name}");
        }
    }
}
