//! Synthetic Amplify-style exports in AWS's exact layout.
//!
//! Seeded and deterministic: the same options give byte-identical files. It
//! writes what DynamoDB writes (`_started`, `manifest-summary.json`,
//! `manifest-files.json`, their `.md5` files, gzip data files with correct
//! MD5s and item counts, empty partitions included) so that every reader path
//! is exercised, plus `ddbsnap-generate.json` with the ground truth (final
//! item count, planted type drift) that tests and benchmarks check against.

mod contact;
mod writer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;

pub use contact::contact_item;
pub use writer::{ExportWriter, Rng};

use crate::error::{Error, Result};
use crate::snapshot::manifest::OutputFormat;

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
    let physical = format!("{}-{}-NONE", opts.table, api_id(opts.seed));
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

/// A 26-character lowercase id, like Amplify's API ids.
fn api_id(seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0xA11CE);
    (0..26).map(|_| b"abcdefghijklmnopqrstuvwxyz234567"[rng.below(32) as usize] as char).collect()
}

/// The folder of an export under `out`.
pub fn export_dir(out: &Path, prefix: &str, export_id: &str) -> PathBuf {
    let mut p = out.to_path_buf();
    if !prefix.is_empty() {
        p = p.join(prefix);
    }
    p.join("AWSDynamoDB").join(export_id)
}
