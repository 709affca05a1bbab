//! Checks generated from an Amplify model, run over the committed Contact
//! fixture: each check's violation count must equal what a hand-written
//! query over the same data counts.

use ddbsnap::catalog::Catalog;
use ddbsnap::checks::generate::model_checks;
use ddbsnap::checks::model::ModelIntrospection;
use ddbsnap::checks::run::{Status, run_check};
use ddbsnap::load::{self, LoadEnv};
use ddbsnap::snapshot::ReadOptions;

const MODEL: &str = r#"{"data":{"model_introspection":{"version":1,"enums":{},"nonModels":{
  "Address":{"name":"Address","fields":{"city":{"name":"city","isArray":false,"type":"String","isRequired":true,"attributes":[]}}}},
  "models":{"Contact":{"name":"Contact","attributes":[{"type":"model","properties":{}}],
  "primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{
    "id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
    "name":{"name":"name","isArray":false,"type":"String","isRequired":true,"attributes":[]},
    "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":true,"attributes":[]},
    "nickname":{"name":"nickname","isArray":false,"type":"String","isRequired":true,"attributes":[]},
    "age":{"name":"age","isArray":false,"type":"Int","isRequired":false,"attributes":[]},
    "score":{"name":"score","isArray":false,"type":"Float","isRequired":false,"attributes":[]},
    "isActive":{"name":"isActive","isArray":false,"type":"Boolean","isRequired":false,"attributes":[]},
    "address":{"name":"address","isArray":false,"type":{"nonModel":"Address"},"isRequired":false,"attributes":[]},
    "tags":{"name":"tags","isArray":true,"type":"String","isRequired":false,"isArrayNullable":true,"attributes":[]},
    "createdAt":{"name":"createdAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true},
    "updatedAt":{"name":"updatedAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[],"isReadOnly":true}}}}}}}"#;

async fn count(cat: &Catalog, sql: &str) -> u64 {
    let r = cat.query(sql).await.unwrap();
    let b = &r.batches[0];
    b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0) as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_checks_count_exactly_what_hand_written_queries_count() {
    let env = LoadEnv { read: ReadOptions::default(), ..Default::default() };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/contacts").to_string();
    let tables = load::locate(&[dir], &env).await.unwrap();
    let table = load::load_table(&tables[0], &env).await.unwrap();
    let cat = Catalog::new(&ddbsnap::env::Env::default());
    cat.add_loaded(&table).unwrap();
    let intro = ModelIntrospection::parse("inline", MODEL.as_bytes()).unwrap();
    let checks = model_checks(&intro, &intro.models["Contact"], "Contact", &table.schema);

    let expected = [
        ("Contact.name.required", count(&cat, "SELECT count(*) FROM Contact WHERE name IS NULL").await),
        ("Contact.nickname.required", table.report.items),
        ("Contact.email.required", 0),
        ("Contact.email.format", 0),
        ("Contact.age.type", count(&cat, "SELECT count(*) FROM Contact WHERE ddb_type(age) = 'S'").await),
        ("Contact.score.type", 0),
        ("Contact.isActive.type", 0),
        ("Contact.address.type", 0),
        ("Contact.tags.type", count(&cat, "SELECT count(*) FROM Contact WHERE ddb_type(tags) = 'SS'").await),
        ("Contact.createdAt.format", 0),
        ("Contact.key.unique", 0),
        ("Contact.typename", 0),
        ("Contact.timestamps", 0),
    ];
    // the fixture plants these defects: the checks must see them
    assert!(expected[0].1 > 0 && expected[4].1 > 0 && expected[8].1 > 0, "{expected:?}");
    for (name, want) in expected {
        let check = checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name}: {checks:#?}"));
        let r = run_check(&cat, check, 3, false).await;
        assert_eq!(r.error, None, "{name}: {}", check.sql);
        assert_eq!(r.violations, want, "{name}: {}", check.sql);
        assert_eq!(r.status, if want == 0 { Status::Pass } else { Status::Fail }, "{name}");
        assert_eq!(r.sample.len() as u64, want.min(3), "{name}");
        if want > 0 {
            assert!(r.sample.iter().all(|row| row.get("id").is_some()), "{name}: samples carry the key: {:?}", r.sample);
            assert!(r.sample.iter().all(|row| row.as_object().unwrap().len() == 1), "{name}: values are redacted: {:?}", r.sample);
        }
    }
}

#[tokio::test]
async fn a_check_that_cannot_run_is_an_error_not_a_pass() {
    let cat = Catalog::new(&ddbsnap::env::Env::default());
    let check = ddbsnap::checks::generate::Check {
        name: "broken".into(),
        table: "Nope".into(),
        severity: ddbsnap::checks::generate::Severity::Error,
        description: "refers to a missing table".into(),
        sql: "SELECT id FROM Nope".into(),
        keys: vec!["id".into()],
        threshold: None,
    };
    let r = run_check(&cat, &check, 3, false).await;
    assert_eq!(r.status, Status::Error);
    assert!(r.error.unwrap().contains("Nope"));
}
