//! What the model-driven generator is asked to do, and how it fails.
//!
//! Flags arrive here already parsed into values ([`ItemCounts`] and
//! [`super::defects::DefectRates`] parse their own text so that the CLI and
//! tests share one grammar); everything else about a run is decided from
//! these options and the data model alone.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};

use super::defects::DefectRates;
use super::profile::Profile;
use crate::snapshot::manifest::OutputFormat;

/// Why a model-driven run stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Data(#[from] crate::Error),
    /// An input file (profile, data model) that cannot be used.
    #[error("{file}: {cause}")]
    Input { file: String, cause: String },
    /// A flag's value that cannot be used.
    #[error("{flag} {value:?}: {cause}")]
    Flag { flag: &'static str, value: String, cause: String },
    /// A model the generator cannot produce valid items for.
    #[error("model {model}: {cause}")]
    Model { model: String, cause: String },
}

pub type Result<T, E = GenerateError> = std::result::Result<T, E>;

/// Items in each model's full export: `N` for every model, `Model=N` for
/// one (both may be given: `1000,Note=50`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemCounts {
    pub all: Option<u64>,
    pub per_model: BTreeMap<String, u64>,
}

impl ItemCounts {
    pub fn parse(text: &str) -> Result<ItemCounts> {
        let bad = |cause: &str| GenerateError::Flag { flag: "--items", value: text.to_string(), cause: cause.to_string() };
        let mut out = ItemCounts::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let number =
                |s: &str| s.trim().replace('_', "").parse::<u64>().map_err(|_| bad(&format!("{s:?} is not a whole number of items")));
            match part.split_once('=') {
                Some((model, n)) if !model.trim().is_empty() => {
                    if out.per_model.insert(model.trim().to_string(), number(n)?).is_some() {
                        return Err(bad(&format!("{} is given twice", model.trim())));
                    }
                }
                Some(_) => return Err(bad("expected N or Model=N,...")),
                None if out.all.is_some() => return Err(bad("N (every model's count) is given twice")),
                None => out.all = Some(number(part)?),
            }
        }
        if out.all.is_none() && out.per_model.is_empty() {
            return Err(bad("expected N or Model=N,..."));
        }
        Ok(out)
    }
}

/// A model-driven run.
#[derive(Clone, Debug)]
pub struct ModelOptions {
    /// Folder playing the bucket root.
    pub out: PathBuf,
    /// S3-style prefix inside `out` (may be empty); the truth file goes there.
    pub prefix: String,
    /// The bucket the manifests name.
    pub bucket: String,
    /// Explicit counts (`Model=N`, then `N` for every other model); models
    /// without one get the profile's count times `scale`, else 1000.
    pub items: ItemCounts,
    /// The profile and the file it came from.
    pub profile: Option<(String, Profile)>,
    pub scale: f64,
    pub defects: DefectRates,
    pub incrementals: usize,
    pub format: OutputFormat,
    /// Data files per full export (rounded up to a multiple of `threads`);
    /// `None`: one per thread per 2 million items.
    pub files: Option<usize>,
    pub seed: u64,
    /// Writers per export, each with its own data files (the files depend
    /// on it; the items do not).
    pub threads: usize,
    /// The run's pool, which runs the writers.
    pub pool: crate::env::Pool,
    pub export_time: DateTime<Utc>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            out: PathBuf::from("export"),
            prefix: String::new(),
            bucket: "ddbsnap-generated".into(),
            items: ItemCounts::default(),
            profile: None,
            scale: 1.0,
            defects: DefectRates::default(),
            incrementals: 0,
            format: OutputFormat::DynamodbJson,
            files: None,
            seed: 1,
            threads: 1,
            pool: crate::env::Pool::default(),
            export_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date"),
        }
    }
}

impl ModelOptions {
    /// Items in `model`'s full export: `Model=N`, else `--items N`, else the
    /// profile's count times the scale, else 1000.
    pub fn count_of(&self, model: &str) -> u64 {
        if let Some(n) = self.items.per_model.get(model).or(self.items.all.as_ref()) {
            return *n;
        }
        if let Some(t) = self.profile.as_ref().and_then(|(_, p)| p.table(model)) {
            return (t.items as f64 * self.scale).round() as u64;
        }
        self.items.all.unwrap_or(1000)
    }

    /// Writable data files of a full export of `items` items.
    pub fn files_for(&self, items: u64) -> usize {
        let t = self.threads.max(1);
        let wanted = self.files.unwrap_or_else(|| t * items.div_ceil(t as u64 * 2_000_000).max(1) as usize);
        wanted.div_ceil(t).max(1) * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_counts_for_all_and_per_model() {
        assert_eq!(ItemCounts::parse("2_000").unwrap().all, Some(2000));
        let c = ItemCounts::parse("Company=10, Contact=200,50").unwrap();
        assert_eq!(c.all, Some(50));
        assert_eq!(c.per_model["Contact"], 200);
        for bad in ["", "x", "Contact=", "=5", "Contact=-1", "Contact=5,Contact=7", "5,6"] {
            assert!(ItemCounts::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn files_are_a_multiple_of_the_writers() {
        let o = ModelOptions { threads: 2, files: Some(3), ..Default::default() };
        assert_eq!(o.files_for(10), 4);
        let o = ModelOptions { threads: 2, ..Default::default() };
        assert_eq!(o.files_for(10), 2);
        assert_eq!(o.files_for(10_000_000), 6);
    }
}
