//! `ddbsnap convert`: exports to Parquet, one folder per table.

use crate::env::Env;
use std::path::PathBuf;

use anyhow::Result;

use super::{Global, build_env, finish_quarantine, progress::Progress};
use crate::load;

#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// Exports to convert ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(required = true, value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// Output folder; each table goes to DIR/<table>/data.parquet.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

pub async fn run(g: &Global, env: &Env, a: ConvertArgs) -> Result<u8> {
    let mut reading = build_env(g, env, &a.exports).await?;
    let tables = load::locate(&a.exports, &reading).await?;
    for t in &tables {
        let progress = Progress::start(&format!("converting {}", t.name), g.quiet);
        reading.read.progress = progress.counter.clone();
        let c = crate::output::convert_table(t, &reading, &a.to).await?;
        drop(progress);
        println!("{}\t{} items\t{}", c.table, c.items, c.path.display());
    }
    finish_quarantine(&reading)?;
    Ok(0)
}
