//! `ddbsnap generate`: synthetic exports for tests, benchmarks and rehearsals.

use std::path::PathBuf;

use anyhow::Result;

use crate::generate::{GenerateOptions, generate};
use crate::snapshot::manifest::OutputFormat;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Folder to write into (it plays the S3 bucket root).
    #[arg(long)]
    pub out: PathBuf,
    /// Items in the full export.
    #[arg(long, default_value_t = 1000)]
    pub items: u64,
    /// Data files (partitions) per export.
    #[arg(long, default_value_t = 4)]
    pub files: usize,
    /// Random seed; the same seed gives identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Model (table) name; the physical table is <Model>-<apiId>-NONE.
    #[arg(long, default_value = "Contact")]
    pub table: String,
    /// Data format.
    #[arg(long, value_enum, default_value_t = GenFormat::Json)]
    pub format: GenFormat,
    /// Incremental exports to chain after the full export.
    #[arg(long, default_value_t = 0)]
    pub incrementals: usize,
    /// Fraction of items whose numeric `age` is written as a string (type drift).
    #[arg(long, default_value_t = 0.001)]
    pub drift_rate: f64,
    /// S3 prefix to write under (as in s3://bucket/PREFIX/AWSDynamoDB/...).
    #[arg(long, default_value = "")]
    pub prefix: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GenFormat {
    Json,
    Ion,
}

pub fn run(a: GenerateArgs) -> Result<u8> {
    let opts = GenerateOptions {
        out: a.out,
        table: a.table,
        items: a.items,
        files: a.files,
        seed: a.seed,
        format: match a.format {
            GenFormat::Json => OutputFormat::DynamodbJson,
            GenFormat::Ion => OutputFormat::Ion,
        },
        incrementals: a.incrementals,
        drift_rate: a.drift_rate,
        prefix: a.prefix,
        ..Default::default()
    };
    let truth = generate(&opts)?;
    println!("{}", serde_json::to_string_pretty(&truth)?);
    Ok(0)
}
