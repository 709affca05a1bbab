//! The ground truth of a model-driven run (`ddbsnap-generate.json`).
//!
//! Counts are of the final state, after the incrementals: a [`Tally`] adds
//! what each written item reports and takes away what an update or delete
//! replaces, so the defects listed are exactly the violations that
//! `ddbsnap check --amplify` must find, keyed by the checks' names.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::defects::{DefectKind, DefectRates};
use super::item::Built;
use super::options::Result;
use super::shape::ModelShape;
use crate::error::Error;
use crate::snapshot::manifest::OutputFormat;

/// The truth file's name, beside the `AWSDynamoDB` folder.
pub const TRUTH_FILE: &str = "ddbsnap-generate.json";

#[derive(Debug, Clone, Serialize)]
pub struct ModelsTruth {
    /// `ddbsnap-generate-models/1`.
    pub format: &'static str,
    pub seed: u64,
    pub api_id: String,
    pub output_format: OutputFormat,
    /// The planted rates by kind.
    pub defect_rates: BTreeMap<&'static str, f64>,
    pub models: BTreeMap<String, ModelTruth>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelTruth {
    pub physical_table: String,
    /// The full export, then the incrementals in order.
    pub exports: Vec<String>,
    pub full_items: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub final_items: u64,
    /// Violations in the final state by check name (only non-zero ones).
    pub defects: BTreeMap<String, u64>,
    /// The same violations by kind (profile drift counts as wrong_type).
    pub defect_kinds: BTreeMap<&'static str, u64>,
}

/// Running counts of one model (or of one worker's share of it).
#[derive(Debug, Clone)]
pub struct Tally {
    checks: Vec<i64>,
    kinds: [i64; 4],
    pub items: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl Tally {
    pub fn new(checks: usize) -> Tally {
        Tally { checks: vec![0; checks], kinds: [0; 4], items: 0, inserted: 0, updated: 0, deleted: 0 }
    }

    /// Adds (`sign` 1) or takes away (-1) an item's violations.
    pub fn count(&mut self, built: &Built, sign: i64) {
        for &(check, kind) in &built.violations {
            self.checks[check as usize] += sign;
            self.kinds[kind as usize] += sign;
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.checks.iter_mut().zip(&other.checks) {
            *a += b;
        }
        for (a, b) in self.kinds.iter_mut().zip(other.kinds) {
            *a += b;
        }
        self.items += other.items;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
    }

    pub fn truth(&self, shape: &ModelShape, exports: Vec<String>) -> ModelTruth {
        let positive = |n: i64| u64::try_from(n).unwrap_or(0);
        ModelTruth {
            physical_table: shape.physical.clone(),
            exports,
            full_items: self.items,
            inserted: self.inserted,
            updated: self.updated,
            deleted: self.deleted,
            final_items: self.items + self.inserted - self.deleted,
            defects: shape.checks.iter().zip(&self.checks).filter(|(_, n)| **n > 0).map(|(c, n)| (c.clone(), positive(*n))).collect(),
            defect_kinds: DefectKind::ALL.iter().zip(self.kinds).filter(|(_, n)| *n > 0).map(|(k, n)| (k.name(), positive(n))).collect(),
        }
    }
}

impl ModelsTruth {
    pub fn new(seed: u64, api_id: String, output_format: OutputFormat, rates: &DefectRates) -> ModelsTruth {
        let defect_rates = DefectKind::ALL.iter().zip(rates.0).map(|(k, r)| (k.name(), r)).collect();
        ModelsTruth { format: "ddbsnap-generate-models/1", seed, api_id, output_format, defect_rates, models: BTreeMap::new() }
    }

    /// Writes the truth into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(TRUTH_FILE);
        std::fs::create_dir_all(dir).map_err(|e| Error::io_path(dir, e))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::io_path(&path, e))?;
        Ok(())
    }
}
