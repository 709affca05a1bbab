//! The Contact-only generator (`ddbsnap generate` without `--amplify`): a
//! Contact model as Amplify Gen 2 stores it: `id`, `__typename`,
//! `createdAt`/`updatedAt`, `owner`, optional fields written as NULL, a
//! nested address, a string set, and `age` as N with planted drift to S.
//!
//! Its bytes are fixed: `tests/fixtures.rs` compares `testdata/` with them
//! and the benchmarks generate with it, so it keeps its own simple loop
//! (one writer, the live items held in memory) and is not changed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;

use super::rng::Rng;
use super::writer::ExportWriter;
use crate::error::{Error, Result};
use crate::item::{AttrValue, Item, Number};
use crate::snapshot::manifest::OutputFormat;

const FIRST: [&str; 8] = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"];
const LAST: [&str; 8] = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"];
const CITIES: [&str; 6] = ["Zürich", "Oslo", "Lyon", "Kraków", "Porto", "Tartu"];

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub table: String,
    pub items: u64,
    pub files: usize,
    pub seed: u64,
    pub format: OutputFormat,
    /// Incremental exports chained after the full one.
    pub incrementals: usize,
    /// Fraction of items whose `age` is written as S instead of N.
    pub drift_rate: f64,
    /// S3-style prefix inside `out` (may be empty).
    pub prefix: String,
    pub export_time: DateTime<Utc>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: PathBuf::from("export"),
            table: "Contact".into(),
            items: 1000,
            files: 4,
            seed: 1,
            format: OutputFormat::DynamodbJson,
            incrementals: 0,
            drift_rate: 0.001,
            prefix: String::new(),
            export_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date"),
        }
    }
}

/// Ground truth of a generated export.
#[derive(Debug, Default, Serialize, Clone)]
pub struct Truth {
    pub table: String,
    pub physical_table: String,
    pub full_items: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Items in the point-in-time table after all incrementals.
    pub final_items: u64,
    /// Items of the full export whose `age` is a string.
    pub age_as_string: u64,
    pub exports: Vec<String>,
}

/// Writes a full export (and incrementals) and returns the ground truth.
pub fn generate(opts: &GenerateOptions) -> Result<Truth> {
    let physical = format!("{}-{}-NONE", opts.table, super::api_id(opts.seed));
    let mut truth = Truth { table: opts.table.clone(), physical_table: physical.clone(), ..Default::default() };
    let mut rng = Rng::new(opts.seed);
    let mut w = ExportWriter::new(&opts.out, &opts.prefix, &physical, opts.format, opts.export_time, opts.files.max(1), false, &mut rng)?;
    for i in 0..opts.items {
        let item = contact_item(opts.seed, i, opts.drift_rate, 0);
        if matches!(item.get("age"), Some(crate::item::AttrValue::S(_))) {
            truth.age_as_string += 1;
        }
        w.add_item(&item, &mut rng)?;
    }
    truth.exports.push(w.finish(None)?);
    truth.full_items = opts.items;
    let mut live: std::collections::BTreeSet<u64> = (0..opts.items).collect();
    let mut next_id = opts.items;
    let mut from = opts.export_time;
    for k in 0..opts.incrementals {
        let to = from + Duration::minutes(15);
        let start = to + Duration::seconds(5);
        let mut w = ExportWriter::new(&opts.out, &opts.prefix, &physical, opts.format, start, opts.files.max(1), true, &mut rng)?;
        let changes = (opts.items / 20).max(3);
        let mut micros = from.timestamp_micros() as u64;
        for c in 0..changes {
            micros += 1000;
            let pick = rng.below(3);
            if pick == 0 || live.is_empty() {
                let item = contact_item(opts.seed, next_id, opts.drift_rate, k as u64 + 1);
                w.add_change(&item, None, Some(&item), micros, &mut rng)?;
                live.insert(next_id);
                next_id += 1;
                truth.inserted += 1;
            } else {
                let idx = *live.iter().nth(rng.below(live.len() as u64) as usize).expect("index below len");
                let old = contact_item(opts.seed, idx, opts.drift_rate, 0);
                if pick == 1 {
                    let new = contact_item(opts.seed, idx, opts.drift_rate, k as u64 + 1 + c);
                    w.add_change(&new, Some(&old), Some(&new), micros, &mut rng)?;
                    truth.updated += 1;
                } else {
                    w.add_change(&old, Some(&old), None, micros, &mut rng)?;
                    live.remove(&idx);
                    truth.deleted += 1;
                }
            }
        }
        truth.exports.push(w.finish(Some((from, to)))?);
        from = to;
    }
    truth.final_items = live.len() as u64;
    let path = opts.out.join("ddbsnap-generate.json");
    let text = serde_json::to_string_pretty(&truth).map_err(|e| Error::Invalid(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io_path(&path, e))?;
    Ok(truth)
}

/// Item number `i` of a seed, as of `version` (0 = the full export's state).
pub fn contact_item(seed: u64, i: u64, drift_rate: f64, version: u64) -> Item {
    let mut r = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
    let mut item = BTreeMap::new();
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        r.next_u64() as u32,
        r.below(1 << 16),
        r.below(1 << 12),
        r.below(1 << 12),
        r.next_u64() >> 16
    );
    let s = |v: String| AttrValue::S(v);
    item.insert("id".into(), s(id));
    item.insert("__typename".into(), s("Contact".into()));
    let first = FIRST[r.below(8) as usize];
    let last = LAST[r.below(8) as usize];
    if r.below(100) < 2 {
        item.insert("name".into(), AttrValue::Null);
    } else if r.below(100) >= 1 {
        item.insert("name".into(), s(format!("{first} {last}")));
    }
    item.insert("email".into(), s(format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), i)));
    if r.below(10) < 7 {
        item.insert("phone".into(), s(format!("+41{:09}", r.below(1_000_000_000))));
    } else {
        item.insert("phone".into(), AttrValue::Null);
    }
    let age = 18 + r.below(70);
    let drifted = (r.below(1_000_000) as f64) < drift_rate * 1_000_000.0;
    item.insert("age".into(), if drifted { s(format!("{age}")) } else { AttrValue::N(Number::from_i64(age as i64)) });
    let score = Number::from_i128_scaled(r.below(1_000_000) as i128 - 500_000, 3).expect("small decimal");
    item.insert("score".into(), AttrValue::N(score));
    item.insert("isActive".into(), AttrValue::Bool(r.below(2) == 0));
    let created = 1_700_000_000 + r.below(50_000_000) as i64;
    let updated = created + r.below(1_000_000) as i64 + version as i64 * 60;
    item.insert("createdAt".into(), s(iso(created)));
    item.insert("updatedAt".into(), s(iso(updated)));
    item.insert("owner".into(), s(format!("{:08x}-owner::user{}", r.next_u64() as u32, r.below(1000))));
    let mut address = BTreeMap::new();
    address.insert("city".into(), s(CITIES[r.below(6) as usize].into()));
    address.insert("zip".into(), s(format!("{:04}", r.below(10_000))));
    address.insert("lines".into(), AttrValue::L(vec![s(format!("{} Main St", r.below(999))), AttrValue::Null]));
    item.insert("address".into(), AttrValue::M(address));
    if r.below(3) == 0 {
        let mut tags = vec!["vip".to_string(), "newsletter".into(), "beta".into()];
        tags.truncate(1 + r.below(3) as usize);
        item.insert("tags".into(), AttrValue::Ss(tags));
    }
    if version > 0 {
        item.insert("schemaVersion".into(), AttrValue::N(Number::from_i64(2)));
    }
    item
}

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}
