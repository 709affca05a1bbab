//! `ddbsnap subset` on exports of four related Amplify models (Company
//! hasMany Contact hasMany Note, Author hasMany Note) with dangling
//! references planted at known places. The subset must be exactly what an
//! independent, naive computation of the documented rules gives (seeded
//! choice of roots, children down, parents up), with exact counts, masked
//! values that keep their format and their equalities, and every other byte
//! as in the source.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use ddbsnap::convert::batch_to_items;
use ddbsnap::generate::{ExportWriter, Rng};
use ddbsnap::item::{AttrValue, Item, Number, ddbjson};
use ddbsnap::load::LoadEnv;
use ddbsnap::snapshot::manifest::OutputFormat;
use ddbsnap::subset::Masker;
use sha2::{Digest, Sha256};

const MODEL: &str = r#"{"data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},"models":{
 "Company":{"name":"Company","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "name":{"name":"name","isArray":false,"type":"String","isRequired":true,"attributes":[]},
   "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":false,"attributes":[]},
   "contacts":{"name":"contacts","isArray":true,"type":{"model":"Contact"},"isRequired":false,"isArrayNullable":true,"attributes":[],
     "association":{"connectionType":"HAS_MANY","associatedWith":["companyId"]}}}},
 "Contact":{"name":"Contact","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "name":{"name":"name","isArray":false,"type":"String","isRequired":true,"attributes":[]},
   "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":true,"attributes":[]},
   "phone":{"name":"phone","isArray":false,"type":"AWSPhone","isRequired":false,"attributes":[]},
   "age":{"name":"age","isArray":false,"type":"Int","isRequired":false,"attributes":[]},
   "tags":{"name":"tags","isArray":true,"type":"String","isRequired":false,"isArrayNullable":true,"attributes":[]},
   "companyId":{"name":"companyId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
   "company":{"name":"company","isArray":false,"type":{"model":"Company"},"isRequired":false,"attributes":[],
     "association":{"connectionType":"BELONGS_TO","targetNames":["companyId"]}},
   "notes":{"name":"notes","isArray":true,"type":{"model":"Note"},"isRequired":false,"isArrayNullable":true,"attributes":[],
     "association":{"connectionType":"HAS_MANY","associatedWith":["contactId"]}}}},
 "Author":{"name":"Author","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "email":{"name":"email","isArray":false,"type":"AWSEmail","isRequired":true,"attributes":[]},
   "notes":{"name":"notes","isArray":true,"type":{"model":"Note"},"isRequired":false,"isArrayNullable":true,"attributes":[],
     "association":{"connectionType":"HAS_MANY","associatedWith":["authorId"]}}}},
 "Note":{"name":"Note","attributes":[],"primaryKeyInfo":{"isCustomPrimaryKey":false,"primaryKeyFieldName":"id","sortKeyFieldNames":[]},
  "fields":{"id":{"name":"id","isArray":false,"type":"ID","isRequired":true,"attributes":[]},
   "body":{"name":"body","isArray":false,"type":"String","isRequired":true,"attributes":[]},
   "contactId":{"name":"contactId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
   "authorId":{"name":"authorId","isArray":false,"type":"ID","isRequired":false,"attributes":[]},
   "contact":{"name":"contact","isArray":false,"type":{"model":"Contact"},"isRequired":false,"attributes":[],
     "association":{"connectionType":"BELONGS_TO","targetNames":["contactId"]}},
   "author":{"name":"author","isArray":false,"type":{"model":"Author"},"isRequired":false,"attributes":[],
     "association":{"connectionType":"BELONGS_TO","targetNames":["authorId"]}}}}}}}}"#;

/// (child table, foreign key, parent table).
const REFS: [(&str, &str, &str); 3] =
    [("Contact", "companyId", "Company"), ("Note", "contactId", "Contact"), ("Note", "authorId", "Author")];
const MASKS: [&str; 5] = ["email", "phone", "Contact.name", "Contact.tags", "Contact.age"];

fn s(v: &str) -> AttrValue {
    AttrValue::S(v.into())
}

fn item(typename: &str, pairs: Vec<(&str, AttrValue)>) -> Item {
    let mut it: Item = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    it.insert("__typename".into(), s(typename));
    it.insert("createdAt".into(), s("2026-01-02T03:04:05.000Z"));
    it.insert("updatedAt".into(), s("2026-01-02T03:04:05.000Z"));
    it
}

/// The source tables. Planted: contacts 39, 79, 119 refer to company c404,
/// contacts 25 and 75 to no company, notes n{m} with m % 10 == 3 to author
/// a404, notes n240..n245 to contact p404. Each author shares its email
/// with the contact of its first note ([`shared_contact`]).
fn source() -> BTreeMap<&'static str, Vec<Item>> {
    let companies = (0..40)
        .map(|k| {
            item(
                "Company",
                vec![("id", s(&format!("c{k}"))), ("name", s(&format!("Company {k}"))), ("email", s(&format!("info@co{k}.example.com")))],
            )
        })
        .collect();
    let email = |i: u32| format!("ann.smith{i}@mail.example.com");
    let contacts = (0..120u32)
        .map(|i| {
            let mut pairs = vec![
                ("id", s(&format!("p{i}"))),
                ("name", s(&format!("Ann O'Brien-{i}"))),
                ("email", s(&email(i))),
                ("phone", s(&format!("+41 79 {i:03} 45 67"))),
                ("age", AttrValue::N(Number::from_i64(20 + i64::from(i % 50)))),
                ("tags", AttrValue::L(vec![s("vip"), s(&format!("tag{}", i % 7))])),
            ];
            match i {
                39 | 79 | 119 => pairs.push(("companyId", s("c404"))),
                25 | 75 => {}
                _ => pairs.push(("companyId", s(&format!("c{}", i / 3)))),
            }
            item("Contact", pairs)
        })
        .collect();
    let authors = (0..10u32).map(|j| item("Author", vec![("id", s(&format!("a{j}"))), ("email", s(&email(shared_contact(j))))])).collect();
    let mut notes: Vec<Item> = (0..240u32)
        .map(|m| {
            let author = if m % 10 == 3 { "a404".to_string() } else { format!("a{}", (m / 3) % 10) };
            let contact = format!("p{}", m / 2);
            item(
                "Note",
                vec![("id", s(&format!("n{m}"))), ("body", s(&format!("note {m}"))), ("contactId", s(&contact)), ("authorId", s(&author))],
            )
        })
        .collect();
    notes.extend((240..246u32).map(|m| {
        let author = format!("a{}", m % 10);
        item("Note", vec![("id", s(&format!("n{m}"))), ("body", s("lost")), ("contactId", s("p404")), ("authorId", s(&author))])
    }));
    BTreeMap::from([("Company", companies), ("Contact", contacts), ("Author", authors), ("Note", notes)])
}

/// The contact of author a{j}'s first note (notes n{m} with m % 10 != 3
/// belong to author (m / 3) % 10 and contact m / 2): whenever the author is
/// chosen, that contact comes in as the note's parent.
fn shared_contact(j: u32) -> u32 {
    (3 * j..3 * j + 3).find(|m| m % 10 != 3).unwrap() / 2
}

fn write_source(dir: &Path) {
    for (seed, (table, items)) in source().into_iter().enumerate() {
        write_table(dir, table, &items, seed as u64);
    }
}

fn write_table(dir: &Path, table: &str, items: &[Item], seed: u64) {
    let time = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut rng = Rng::new(seed);
    let physical = format!("{table}-abcdefghijklmnopqrstuvwxyz-NONE");
    let mut w = ExportWriter::new(dir, "", &physical, OutputFormat::DynamodbJson, time, 3, false, &mut rng).unwrap();
    for it in items {
        w.add_item(it, &mut rng).unwrap();
    }
    w.finish(None).unwrap();
}

/// A fixture: exports under `src/`, the model, and an empty place for output.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        write_source(&root.join("src"));
        std::fs::write(root.join("amplify_outputs.json"), MODEL).unwrap();
        Fixture { _dir: dir, root }
    }
    fn path(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }
    /// `ddbsnap subset src --amplify ... --out OUT EXTRA...`.
    fn subset(&self, out: &str, extra: &[&str]) -> common::Run {
        let mut args = vec![
            "subset".to_string(),
            self.path("src"),
            "--amplify".into(),
            self.path("amplify_outputs.json"),
            "--out".into(),
            self.path(out),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        run(&args)
    }
}

fn run(args: &[String]) -> common::Run {
    let out =
        common::output_within(Command::new(env!("CARGO_BIN_EXE_ddbsnap")).args(args).env_remove("DDBSNAP_MASK_KEY").env_remove("RUST_LOG"));
    common::Run {
        args: args.to_vec(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every table under `dir`, read back through the library as `sql` reads it.
fn read_tables(dir: &str) -> BTreeMap<String, BTreeMap<String, Item>> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let env = LoadEnv::default();
        let mut out = BTreeMap::new();
        for t in ddbsnap::load::locate(&[dir.to_string()], &env).await.unwrap() {
            let loaded = ddbsnap::load::load_table(&t, &env).await.unwrap();
            let items: Vec<Item> = loaded.batches.iter().flat_map(|b| batch_to_items(b).unwrap()).collect();
            out.insert(loaded.name().to_string(), items.into_iter().map(|it| (id(&it), it)).collect());
        }
        out
    })
}

fn id(it: &Item) -> String {
    match it.get("id") {
        Some(AttrValue::S(v)) => v.clone(),
        other => panic!("no id: {other:?}"),
    }
}

fn text(it: &Item, field: &str) -> Option<String> {
    match it.get(field) {
        Some(AttrValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Root,
    Child,
    Parent,
}

/// The documented rules, computed naively: a root item is chosen when the
/// first 8 bytes (big-endian) of SHA-256(seed as 8 big-endian bytes ||
/// `[{"S":"<id>"}]`) fall below fraction * 2^64; then children, then parents.
fn expected(src: &BTreeMap<&str, Vec<Item>>, roots: &[&str], seed: u64, fraction: f64) -> BTreeMap<String, BTreeMap<String, Why>> {
    let mut chosen: BTreeMap<String, BTreeMap<String, Why>> = src.keys().map(|t| (t.to_string(), BTreeMap::new())).collect();
    for t in roots {
        for it in &src[t] {
            let mut h = Sha256::new();
            h.update(seed.to_be_bytes());
            h.update(format!("[{{\"S\":\"{}\"}}]", id(it)).as_bytes());
            let score = u64::from_be_bytes(h.finalize()[..8].try_into().unwrap());
            if (score as f64) < fraction * 18_446_744_073_709_551_616.0 {
                chosen.get_mut(*t).unwrap().insert(id(it), Why::Root);
            }
        }
    }
    for (dir, why) in [(true, Why::Child), (false, Why::Parent)] {
        loop {
            let mut added = Vec::new();
            for (child, fk, parent) in REFS {
                for it in &src[child] {
                    let Some(target) = text(it, fk) else { continue };
                    let (from, to, key, new) = if dir { (parent, child, target, id(it)) } else { (child, parent, id(it), target) };
                    let reached = chosen[from].get(&key).is_some_and(|w| !dir || *w != Why::Parent);
                    let exists = src[to].iter().any(|x| id(x) == new);
                    if reached && exists && !chosen[to].contains_key(&new) {
                        added.push((to, new));
                    }
                }
            }
            if added.is_empty() {
                break;
            }
            for (t, k) in added {
                chosen.get_mut(t).unwrap().insert(k, why);
            }
        }
    }
    chosen
}

fn class(c: char) -> char {
    if c.is_ascii_uppercase() {
        'A'
    } else if c.is_ascii_lowercase() {
        'a'
    } else if c.is_ascii_digit() {
        '0'
    } else {
        c
    }
}

/// A masked value has the shape of its original and differs from it.
fn assert_same_shape(orig: &AttrValue, fake: &AttrValue, what: &str) {
    match (orig, fake) {
        (AttrValue::S(a), AttrValue::S(b)) => {
            assert_eq!(a.chars().map(class).collect::<String>(), b.chars().map(class).collect::<String>(), "{what}: {a} -> {b}");
            if a.len() >= 3 {
                assert_ne!(a, b, "{what} was not masked");
            }
        }
        (AttrValue::N(a), AttrValue::N(b)) => {
            assert_eq!(
                (a.digits().len(), a.is_negative(), a.exponent()),
                (b.digits().len(), b.is_negative(), b.exponent()),
                "{what}: {a} -> {b}"
            );
        }
        (AttrValue::L(a), AttrValue::L(b)) => {
            assert_eq!(a.len(), b.len(), "{what}");
            a.iter().zip(b).for_each(|(x, y)| assert_same_shape(x, y, what));
        }
        _ => panic!("{what}: {orig:?} became {fake:?}"),
    }
}

fn report_of(run: &common::Run, out: &str) -> serde_json::Value {
    let file = std::fs::read_to_string(Path::new(out).join("ddbsnap-subset.json")).unwrap();
    assert_eq!(run.stdout.trim(), file.trim(), "stdout is the report file");
    serde_json::from_str(&file).unwrap()
}

fn table_report<'a>(report: &'a serde_json::Value, table: &str) -> &'a serde_json::Value {
    report["tables"].as_array().unwrap().iter().find(|t| t["table"] == table).unwrap_or_else(|| panic!("no {table} in {report:#}"))
}

#[test]
fn subset_is_exactly_the_closure_with_exact_counts_and_masked_values() {
    let fx = Fixture::new();
    let mut args = vec!["--fraction", "0.25", "--seed", "1", "--mask-key", "s3cret"];
    MASKS.iter().for_each(|m| args.extend(["--mask", m]));
    let r = fx.subset("out", &args).ok();
    let report = report_of(&r, &fx.path("out"));
    let src = source();
    let want = expected(&src, &["Author", "Company"], 1, 0.25);
    let got = read_tables(&fx.path("out"));
    assert_eq!(report["roots"], serde_json::json!(["Author", "Company"]));

    for (table, items) in &src {
        let w = &want[*table];
        let t = table_report(&report, table);
        assert_eq!(got[*table].keys().collect::<BTreeSet<_>>(), w.keys().collect::<BTreeSet<_>>(), "{table}: the items written");
        let count = |why: Why| w.values().filter(|x| **x == why).count() as u64;
        let counts = [
            t["source_items"].as_u64(),
            t["chosen_items"].as_u64(),
            t["roots_chosen"].as_u64(),
            t["added_as_children"].as_u64(),
            t["added_as_parents"].as_u64(),
        ];
        let expect = [items.len() as u64, w.len() as u64, count(Why::Root), count(Why::Child), count(Why::Parent)].map(Some);
        assert_eq!(counts, expect, "{table}: source, items, roots, children, parents\n{t:#}");
        assert_eq!(t["physical_table"], format!("{table}-abcdefghijklmnopqrstuvwxyz-NONE"));
    }
    // the fixture exercises every kind of inclusion
    for (table, why) in [
        ("Company", Why::Root),
        ("Author", Why::Root),
        ("Contact", Why::Child),
        ("Note", Why::Child),
        ("Company", Why::Parent),
        ("Contact", Why::Parent),
    ] {
        assert!(want[table].values().any(|w| *w == why), "{table} has no {why:?} item: choose another seed");
    }

    // every child of a chosen item is in; every reference resolves inside the subset or dangled in the source
    for (child, fk, parent) in REFS {
        let (mut in_source, mut in_subset) = (0, 0);
        for it in &src[child] {
            let Some(target) = text(it, fk) else { continue };
            let dangles = !src[parent].iter().any(|p| id(p) == target);
            in_source += u64::from(dangles);
            if got[child].contains_key(&id(it)) {
                assert!(dangles || got[parent].contains_key(&target), "{child} {} refers to {parent} {target}, left out", id(it));
                in_subset += u64::from(dangles);
            }
            let parent_chosen = want[parent].get(&target).is_some_and(|w| *w != Why::Parent);
            assert!(!parent_chosen || got[child].contains_key(&id(it)), "{child} {} of chosen {parent} {target} left out", id(it));
        }
        let reference = format!("{child}.{fk} -> {parent}");
        let refs = table_report(&report, child)["references"].as_array().unwrap().clone();
        let r = refs.iter().find(|r| r["reference"] == reference.as_str()).unwrap_or_else(|| panic!("no {reference} in {refs:?}"));
        assert_eq!((r["dangling_in_source"].as_u64(), r["dangling_in_subset"].as_u64()), (Some(in_source), Some(in_subset)), "{reference}");
        assert!(in_subset > 0, "{reference}: no planted dangling reference was included; the test would not see one");
    }
    assert_eq!(table_report(&report, "Note")["dangling_in_source"], 24 + 6);
    assert_eq!(table_report(&report, "Contact")["dangling_in_source"], 3);

    // masked values keep their shape and equalities; everything else is byte-identical
    let masked_fields = |table: &str| -> Vec<&str> {
        MASKS
            .iter()
            .filter_map(|m| match m.split_once('.') {
                Some((t, f)) => (t == table).then_some(f),
                None => Some(*m),
            })
            .filter(|f| src[table].iter().any(|it| it.contains_key(*f)))
            .collect()
    };
    let mut fakes: BTreeMap<String, String> = BTreeMap::new();
    for (table, items) in &got {
        let fields = masked_fields(table);
        let mut counts: BTreeMap<String, u64> = fields.iter().map(|f| (f.to_string(), 0)).collect();
        for (key, it) in items {
            let orig = src[table.as_str()].iter().find(|x| id(x) == *key).unwrap();
            let (mut rest_orig, mut rest_got) = (orig.clone(), it.clone());
            for f in &fields {
                let (Some(a), Some(b)) = (rest_orig.remove(*f), rest_got.remove(*f)) else { continue };
                assert_same_shape(&a, &b, &format!("{table}.{f}"));
                *counts.get_mut(*f).unwrap() += if let AttrValue::L(l) = &a { l.len() as u64 } else { 1 };
                if let (AttrValue::S(a), AttrValue::S(b)) = (&a, &b) {
                    let prior = fakes.insert(a.clone(), b.clone());
                    assert!(prior.is_none_or(|p| p == *b), "{a} masked two ways");
                }
            }
            assert_eq!(
                ddbjson::item_to_string(&rest_orig),
                ddbjson::item_to_string(&rest_got),
                "{table} {key}: unmasked attributes changed"
            );
        }
        let reported: BTreeMap<String, u64> = serde_json::from_value(table_report(&report, table)["masked"].clone()).unwrap();
        assert_eq!(reported, counts, "{table}: masked value counts");
    }
    let emails: Vec<&String> = fakes.iter().filter(|(orig, _)| orig.ends_with("@mail.example.com")).map(|(_, fake)| fake).collect();
    assert!(!emails.is_empty());
    for email in emails {
        assert!(email.ends_with(".com") && !email.contains("example") && !email.contains("@mail."), "{email}");
    }
    for (key, author) in got["Author"].iter().filter(|(k, _)| want["Author"][*k] == Why::Root) {
        let j: u32 = key[1..].parse().unwrap();
        let contact = &got["Contact"][&format!("p{}", shared_contact(j))];
        assert_eq!(author["email"], contact["email"], "an email shared across tables stays shared");
    }
}

#[test]
fn check_on_the_subset_finds_no_problem_the_source_lacks() {
    let fx = Fixture::new();
    let r = fx.subset("out", &["--fraction", "0.25", "--seed", "7", "--mask-key", "k", "--mask", "email", "--mask", "phone"]).ok();
    let report = report_of(&r, &fx.path("out"));
    let failing = |dir: &str| -> BTreeMap<String, u64> {
        let r = run(&["-q", "check", "--amplify", &fx.path("amplify_outputs.json"), "--format", "json", dir].map(String::from));
        assert!(matches!(r.code, Some(0 | 1)), "{}", r.show());
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] != "pass")
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["violations"].as_u64().unwrap()))
            .collect()
    };
    let (before, after) = (failing(&fx.path("src")), failing(&fx.path("out")));
    assert_eq!(before.keys().collect::<Vec<_>>(), ["Contact.company.reference", "Note.author.reference", "Note.contact.reference"]);
    assert!(after.keys().all(|name| before.contains_key(name)), "failing only on the subset: {after:?}");
    for name in before.keys() {
        let (table, field) = name.trim_end_matches(".reference").split_once('.').unwrap();
        let reference = format!("{table}.{field}Id -> ");
        let refs = table_report(&report, table)["references"].as_array().unwrap().clone();
        let r = refs.iter().find(|r| r["reference"].as_str().unwrap().starts_with(&reference)).unwrap();
        assert_eq!(r["dangling_in_subset"].as_u64(), Some(after.get(name).copied().unwrap_or(0)), "{name}");
    }
    let items: u64 = report["tables"].as_array().unwrap().iter().map(|t| t["chosen_items"].as_u64().unwrap()).sum();
    let counted: u64 = ["Company", "Contact", "Author", "Note"]
        .iter()
        .map(|t| {
            common::ddbsnap(&[
                "sql".to_string(),
                "--format".into(),
                "csv".into(),
                "-e".into(),
                fx.path("out"),
                format!("SELECT count(*) FROM {t}"),
            ])
            .ok()
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
        })
        .sum();
    assert_eq!(counted, items, "sql reads every written item");
}

#[test]
fn key_and_foreign_key_fields_cannot_be_masked() {
    let fx = Fixture::new();
    for (mask, words) in [
        ("id", vec!["--mask id", "Author.id", "primary key"]),
        ("Contact.companyId", vec!["Contact.companyId", "foreign key", "Contact.companyId -> Company"]),
        ("authorId", vec!["Note.authorId", "foreign key"]),
        ("emial", vec!["--mask emial", "no loaded table has a field or attribute emial"]),
        ("Contact.nope", vec!["Contact has no field or attribute nope"]),
    ] {
        let r = fx.subset("out", &["--mask", mask, "--mask-key", "k"]);
        common::assert_error(&r, &words);
        assert!(!Path::new(&fx.path("out")).join("AWSDynamoDB").exists(), "nothing is written on an error");
    }
    let r = fx.subset("out", &["--root", "Nope"]);
    common::assert_error(&r, &["--root Nope", "Company"]);
    std::fs::create_dir_all(fx.root.join("used/AWSDynamoDB")).unwrap();
    common::assert_error(&fx.subset("used", &[]), &["used", "already holds AWSDynamoDB"]);
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let fx = Fixture::new();
    let args = ["--fraction", "0.3", "--seed", "11", "--mask", "email", "--mask-key", "key-93c1f"];
    let (a, b) = (fx.subset("a", &args).ok(), fx.subset("b", &args).ok());
    assert_eq!(a.stdout, b.stdout);
    assert!(!a.stdout.contains("key-93c1f") && !a.stderr.contains("key-93c1f"), "the key is never shown");
    let files = |dir: &str| -> BTreeMap<PathBuf, Vec<u8>> {
        common::files_under(Path::new(&fx.path(dir)))
            .into_iter()
            .map(|p| (p.strip_prefix(fx.path(dir)).unwrap().to_path_buf(), std::fs::read(&p).unwrap()))
            .collect()
    };
    let (fa, fb) = (files("a"), files("b"));
    assert!(fa.len() > 4 * 4, "{:?}", fa.keys());
    assert_eq!(fa, fb);
    // another seed chooses other roots; no key masks with a random one, said on stderr
    let c = fx.subset("c", &["--fraction", "0.3", "--seed", "12", "--mask", "email"]).ok();
    assert!(c.stderr.contains("random key that is not stored"), "{}", c.show());
    assert_ne!(report_of(&c, &fx.path("c"))["tables"], report_of(&a, &fx.path("a"))["tables"]);
    let _d = fx.subset("d", &["--fraction", "0.3", "--seed", "11", "--mask", "email"]).ok();
    let (ta, td) = (read_tables(&fx.path("a")), read_tables(&fx.path("d")));
    assert_eq!(ta["Contact"].keys().collect::<Vec<_>>(), td["Contact"].keys().collect::<Vec<_>>());
    assert!(ta["Contact"].values().zip(td["Contact"].values()).all(|(x, y)| x["email"] != y["email"]), "a random key gives other fakes");
}

#[test]
fn item_counts_roots_and_ion() {
    let fx = Fixture::new();
    let r = fx.subset("out", &["--root", "Contact", "--items", "5", "--format", "ion"]).ok();
    let report = report_of(&r, &fx.path("out"));
    assert_eq!(report["roots"], serde_json::json!(["Contact"]));
    assert_eq!(report["items_per_root"], 5);
    assert_eq!(table_report(&report, "Contact")["roots_chosen"], 5);
    assert_eq!(table_report(&report, "Author")["roots_chosen"], 0);
    let got = read_tables(&fx.path("out"));
    assert_eq!(
        got.values().map(BTreeMap::len).sum::<usize>() as u64,
        report["tables"].as_array().unwrap().iter().map(|t| t["chosen_items"].as_u64().unwrap()).sum::<u64>()
    );
    let data: Vec<PathBuf> =
        common::files_under(Path::new(&fx.path("out"))).into_iter().filter(|p| p.to_string_lossy().contains("/data/")).collect();
    assert!(!data.is_empty() && data.iter().all(|p| p.to_string_lossy().ends_with(".ion.gz")), "{data:?}");
    // the 5 contacts, all their notes, and nothing else of Contact (the notes' parents are those contacts)
    assert_eq!(got["Contact"].len(), 5);
    for key in got["Contact"].keys() {
        for n in source()["Note"].iter().filter(|n| text(n, "contactId").as_deref() == Some(key.as_str())) {
            assert!(got["Note"].contains_key(&id(n)), "note {} of contact {key} left out", id(n));
        }
    }
    assert!(got["Note"].values().all(|n| got["Contact"].contains_key(&text(n, "contactId").unwrap())));
}

#[test]
fn tables_without_a_model_are_roots_chosen_by_content() {
    let fx = Fixture::new();
    let audit: Vec<Item> = (0..50)
        .map(|i| [("id".to_string(), s(&format!("e{i}"))), ("email".to_string(), s("ops@example.org"))].into_iter().collect())
        .collect();
    write_table(&fx.root.join("src"), "Audit", &audit, 9);
    let r = fx.subset("out", &["--fraction", "0.5", "--mask", "email", "--mask-key", "k"]).ok();
    assert!(r.stderr.contains("table Audit has no model"), "{}", r.show());
    let report = report_of(&r, &fx.path("out"));
    let t = table_report(&report, "Audit");
    assert_eq!(t["source_items"], 50);
    assert_eq!(t["chosen_items"], t["roots_chosen"]);
    assert!((10..40).contains(&t["chosen_items"].as_u64().unwrap()), "{t}");
    assert_eq!(t["masked"]["email"], t["chosen_items"]);
    let got = read_tables(&fx.path("out"));
    let written: Vec<&Item> = got["Audit"].values().collect();
    assert!(written.iter().all(|it| it["email"] == s(&Masker::new(b"k").mask_str("ops@example.org"))));
    assert!(written.iter().all(|it| audit.iter().any(|a| a["id"] == it["id"])));
}
