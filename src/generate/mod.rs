//! Synthetic Amplify-style exports in AWS's exact layout.
//!
//! Seeded and deterministic: the same options give byte-identical files. It
//! writes what DynamoDB writes (`_started`, `manifest-summary.json`,
//! `manifest-files.json`, their `.md5` files, gzip data files with correct
//! MD5s and item counts, empty partitions included) so that every reader path
//! is exercised, plus `ddbsnap-generate.json` with the ground truth that tests
//! and benchmarks check against.
//!
//! Two generators share the writer: [`generate`] writes the fixed Contact
//! export the fixtures and benchmarks are built on ([`contact`]);
//! [`generate_models`] writes one table per model of an Amplify data model,
//! shaped by an optional profile, with defects planted at given rates and
//! counted per check ([`models`]).

mod contact;
mod datafile;
mod defects;
mod item;
mod keys;
mod models;
mod options;
mod parallel;
mod planner;
mod profile;
mod rng;
mod s3;
mod shape;
mod truth;
mod values;
mod writer;

use std::path::{Path, PathBuf};

pub use contact::{GenerateOptions, Truth, contact_item, generate};
pub use datafile::FileSet;
pub use defects::{DefectKind, DefectRates};
pub use models::generate_models;
pub use options::{GenerateError, ItemCounts, ModelOptions};
pub use parallel::AfterExport;
pub use profile::Profile;
pub use rng::Rng;
pub use s3::Uploader;
pub use truth::{ModelTruth, ModelsTruth, TRUTH_FILE};
pub use writer::{ExportHead, ExportSpec, ExportWriter};

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
