//! Checks that span tables or need table shapes the Contact fixture lacks:
//! belongsTo references, secondary-index keys, composite sort keys and
//! DataStore metadata. Tables are built from hand-made items.

use ddbsnap::catalog::Catalog;
use ddbsnap::checks::generate::{Check, model_checks, reference_checks};
use ddbsnap::checks::model::ModelIntrospection;
use ddbsnap::checks::run::{Status, run_check};
use ddbsnap::convert::{TableSchema, items_to_batches};
use ddbsnap::item::{AttrValue, Item, Number};

const MODEL: &str = r#"{"data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},"models":{
 "Company":{"name":"Company","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]}}},
 "Contact":{"name":"Contact","primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "attributes":[{"type":"key","properties":{"name":"byStatus","queryField":"listByStatus","fields":["status","createdAt","email"]}}],
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "email":{"name":"email","isArray":false,"type":"String","isRequired":false,"attributes":[]},
   "status":{"name":"status","isArray":false,"type":"String","isRequired":false,"attributes":[]},
   "createdAt":{"name":"createdAt","isArray":false,"type":"AWSDateTime","isRequired":false,"attributes":[]},
   "companyId":{"name":"companyId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
   "company":{"name":"company","isArray":false,"type":{"model":"Company"},"isRequired":false,"attributes":[],
     "association":{"connectionType":"BELONGS_TO","targetNames":["companyId"]}}}}}}}}"#;

fn item(pairs: &[(&str, AttrValue)]) -> Item {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}
fn s(v: &str) -> AttrValue {
    AttrValue::S(v.into())
}

fn add(cat: &Catalog, name: &str, items: &[Item]) -> TableSchema {
    let (schema, batches) = items_to_batches(items, &[]).unwrap();
    cat.add_batches(name, schema.arrow.clone(), batches).unwrap();
    schema
}

/// Runs each named check and asserts it ran, which items (by id) violate it,
/// and that it passes exactly when none do.
async fn assert_violators(cat: &Catalog, checks: &[Check], expect: &[(&str, Vec<&str>)]) {
    for (name, ids) in expect {
        let check = checks
            .iter()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("no {name} in {:#?}", checks.iter().map(|c| &c.name).collect::<Vec<_>>()));
        let r = run_check(cat, check, 10, false).await;
        assert_eq!(r.error, None, "{name}: {}", check.sql);
        let got: Vec<String> = r.sample.iter().map(|row| row["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, *ids, "{name}: {}", check.sql);
        assert_eq!(r.status, if ids.is_empty() { Status::Pass } else { Status::Fail }, "{name}");
    }
}

#[tokio::test]
async fn references_indexes_composites_and_datastore() {
    let cat = Catalog::new(&ddbsnap::env::Env::default());
    let companies = add(&cat, "Company", &[item(&[("id", s("c1"))]), item(&[("id", s("c2"))])]);
    let v = |n: i64| AttrValue::N(Number::from_i64(n));
    let contacts = [
        // fine
        item(&[
            ("id", s("1")),
            ("companyId", s("c1")),
            ("email", s("a@x")),
            ("status", s("A")),
            ("createdAt", s("t1")),
            ("createdAt#email", s("t1#a@x")),
            ("_version", v(1)),
            ("_lastChangedAt", v(5)),
            ("_deleted", AttrValue::Bool(false)),
        ]),
        // dangling reference, wrong composite
        item(&[
            ("id", s("2")),
            ("companyId", s("c9")),
            ("email", s("b@x")),
            ("status", s("A")),
            ("createdAt", s("t2")),
            ("createdAt#email", s("t2#zzz")),
            ("_version", v(2)),
            ("_lastChangedAt", v(5)),
        ]),
        // no reference (fine), missing index key `status`, tombstone
        item(&[
            ("id", s("3")),
            ("email", s("c@x")),
            ("createdAt", s("t3")),
            ("_version", v(3)),
            ("_lastChangedAt", v(5)),
            ("_deleted", AttrValue::Bool(true)),
        ]),
        // DataStore metadata missing, NULL reference (fine)
        item(&[("id", s("4")), ("companyId", AttrValue::Null), ("email", s("d@x")), ("status", s("B")), ("createdAt", s("t4"))]),
    ];
    let schema = add(&cat, "Contact", &contacts);
    let intro = ModelIntrospection::parse("inline", MODEL.as_bytes()).unwrap();
    let model = &intro.models["Contact"];
    let mut checks = model_checks(&intro, model, "Contact", &schema);
    let (refs, notes) = reference_checks(&intro, model, "Contact", &schema, |n| (n == "Company").then_some(&companies));
    assert!(notes.is_empty(), "{notes:?}");
    checks.extend(refs);
    let expect = [
        ("Contact.company.reference", vec!["2"]),
        ("Contact.index.byStatus", vec!["3"]),
        ("Contact.index.byStatus.composite", vec!["2"]),
        ("Contact.datastore.tombstones", vec!["3"]),
        ("Contact.datastore.metadata", vec!["4"]),
        ("Contact.key.unique", vec![]),
    ];
    assert_violators(&cat, &checks, &expect).await;
    let (_, notes) = reference_checks(&intro, model, "Contact", &schema, |_| None);
    assert!(notes[0].contains("Company, which has no export"), "{notes:?}");

    // A Company table with no items (so no columns at all): every reference
    // that is set dangles, and the check says so rather than vanishing.
    let empty_cat = Catalog::new(&ddbsnap::env::Env::default());
    let no_companies = add(&empty_cat, "Company", &[]);
    add(&empty_cat, "Contact", &contacts);
    let (refs, notes) = reference_checks(&intro, model, "Contact", &schema, |n| (n == "Company").then_some(&no_companies));
    assert!(notes.is_empty(), "{notes:?}");
    assert_violators(&empty_cat, &refs, &[("Contact.company.reference", vec!["1", "2"])]).await;
    // No Contact has a companyId: nothing to check, and a note says why.
    let unlinked = add(&empty_cat, "Unlinked", &[item(&[("id", s("5"))])]);
    let (refs, notes) = reference_checks(&intro, model, "Unlinked", &unlinked, |n| (n == "Company").then_some(&companies));
    assert!(refs.is_empty() && notes[0].contains("no Contact item has companyId"), "{notes:?}");
}

const NESTED_MODEL: &str = r#"{"data":{"model_introspection":{"version":1,"enums":{},
 "nonModels":{"Address":{"name":"Address","fields":{
     "city":{"name":"city","isArray":false,"type":"String","isRequired":true,"attributes":[]},
     "geo":{"name":"geo","isArray":false,"type":{"nonModel":"Geo"},"isRequired":false,"attributes":[]}}},
   "Geo":{"name":"Geo","fields":{"lat":{"name":"lat","isArray":false,"type":"Float","isRequired":true,"attributes":[]}}}},
 "models":{"Place":{"name":"Place","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "address":{"name":"address","isArray":false,"type":{"nonModel":"Address"},"isRequired":false,"attributes":[]},
   "tags":{"name":"tags","isArray":true,"type":"String","isRequired":true,"isArrayNullable":true,"attributes":[]},
   "meta":{"name":"meta","isArray":false,"type":"AWSJSON","isRequired":false,"attributes":[]}}}}}}}"#;

#[tokio::test]
async fn custom_types_arrays_and_awsjson() {
    use std::collections::BTreeMap;
    let m = |pairs: &[(&str, AttrValue)]| AttrValue::M(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>());
    let n = |x: i64| AttrValue::N(Number::from_i64(x));
    let cat = Catalog::new(&ddbsnap::env::Env::default());
    let places = [
        item(&[
            ("id", s("1")),
            ("address", m(&[("city", s("Oslo")), ("geo", m(&[("lat", n(59))]))])),
            ("tags", AttrValue::L(vec![s("a"), s("b")])),
            ("meta", s("{\"a\":1}")),
        ]),
        item(&[
            ("id", s("2")),
            ("address", m(&[("geo", m(&[("lat", s("north"))]))])),
            ("tags", AttrValue::L(vec![s("a"), AttrValue::Null])),
            ("meta", s("not json")),
        ]),
        item(&[
            ("id", s("3")),
            ("address", m(&[("city", n(7))])),
            ("tags", AttrValue::Ss(vec!["a".into()])),
            ("meta", m(&[("k", s("v"))])),
        ]),
    ];
    let schema = add(&cat, "Place", &places);
    let intro = ModelIntrospection::parse("inline", NESTED_MODEL.as_bytes()).unwrap();
    let checks = model_checks(&intro, &intro.models["Place"], "Place", &schema);
    let expect = [
        ("Place.address.city.required", vec!["2"]),
        ("Place.address.city.type", vec!["3"]),
        ("Place.address.geo.lat.type", vec!["2"]),
        ("Place.address.geo.lat.required", vec![]),
        ("Place.tags.elements", vec!["2"]),
        ("Place.tags.type", vec!["3"]),
        ("Place.meta.json", vec!["2"]),
    ];
    assert!(checks.iter().all(|c| c.name != "Place.tags.required"), "a nullable list is not required");
    assert_violators(&cat, &checks, &expect).await;
}
