//! `ddbsnap profile`: the shape of production data as a JSON file, for
//! generating synthetic data of the same shape (see [`crate::profile`]).

use crate::env::Env;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Global, build_env, load_tables};
use crate::checks::model::ModelIntrospection;
use crate::profile::{self, Profile, ValueLimits};

#[derive(clap::Args, Debug)]
#[command(after_help = "Per table: items and item sizes (DynamoDB's size rules: min, p50, p90, p99, max, mean). Per top-level \
attribute: items holding it, items per DynamoDB type, NULLs and null rate, value lengths (S characters, N characters \
of the number, B bytes, sets, lists and maps elements), distinct values, and for S/N attributes whose values repeat \
the items sharing the most common value (key skew).\n\n\
Raw values are written only as the --top most common values of scalar S/N/BOOL attributes with at most \
--max-distinct distinct values that repeat; never for the model's primary key fields (--amplify), never with \
--no-values.\n\n\
The file's format (\"ddbsnap-profile/1\") is described in the README, section \"Profiling production data\".\n\n\
Example: ddbsnap profile s3://my-bucket/exports/ --amplify amplify_outputs.json --out profile.json")]
pub struct ProfileArgs {
    /// Exports to profile ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(required = true, value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// Write the profile (JSON) to this file; `-` or no --out writes it to stdout.
    #[arg(short, long, value_name = "PROFILE.json")]
    pub out: Option<PathBuf>,
    /// amplify_outputs.json: mark each model's primary key fields (role "key", never any values) and its
    /// secondary indexes' partition keys (role "index").
    #[arg(long, value_name = "FILE")]
    pub amplify: Option<PathBuf>,
    /// Write no values at all: no `top` lists ("values_included": false).
    #[arg(long)]
    pub no_values: bool,
    /// Most common values listed per low-cardinality attribute.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Attributes with more distinct values than this get no `top` list.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_distinct: usize,
}

pub async fn run(g: &Global, env: &Env, a: ProfileArgs) -> Result<u8> {
    let model = a.amplify.as_deref().map(ModelIntrospection::load).transpose()?;
    let mut reading = build_env(g, env, &a.exports).await?;
    let tables = load_tables(g, &a.exports, &mut reading).await?;
    let limits = ValueLimits { values: !a.no_values, top: a.top, max_distinct: a.max_distinct };
    let (profile, unmodelled) = profile::profile(&tables, model.as_ref(), limits, env.pool(), chrono::Utc::now())?;
    if let Some(path) = &a.amplify {
        for t in unmodelled {
            eprintln!("ddbsnap: warning: {} has no model named {t}: its key fields are not marked", path.display());
        }
    }
    let mut json = serde_json::to_string_pretty(&profile)?;
    json.push('\n');
    match a.out.as_ref().filter(|p| p.as_os_str() != "-") {
        None => std::io::stdout().lock().write_all(json.as_bytes()).context("writing the profile to stdout")?,
        Some(path) => {
            std::fs::write(path, &json).with_context(|| format!("writing the profile to {}", path.display()))?;
            print_summary(&profile, &path.display().to_string());
        }
    }
    Ok(0)
}

/// A short table per table on stdout.
fn print_summary(p: &Profile, path: &str) {
    let tables = if p.tables.len() == 1 { "1 table".to_string() } else { format!("{} tables", p.tables.len()) };
    println!("wrote {path} ({tables}, values {})", if p.values_included { "included" } else { "omitted" });
    for (name, t) in &p.tables {
        let bytes = t.item_bytes.as_ref().map(|d| format!("item bytes p50 {} p99 {} max {}", d.p50, d.p99, d.max)).unwrap_or_default();
        println!("\n{name}: {} items, {bytes}", t.items);
        let width = t.attributes.keys().map(String::len).max().unwrap_or(9).max(9);
        println!("  {:width$}  {:>7}  {:>8}  {:>9}  {:<5}  {:>3}  types", "attribute", "present", "distinct", "max share", "role", "top");
        for (attr, s) in &t.attributes {
            let share = s.max_share.map(|m| format!("{:.4}", m)).unwrap_or_default();
            let role = match s.role {
                Some(profile::Role::Key) => "key",
                Some(profile::Role::Index) => "index",
                None => "",
            };
            let top = s.top.as_ref().map(|t| t.len().to_string()).unwrap_or_default();
            let types: Vec<String> = s.types.iter().map(|(ty, n)| format!("{ty} {n}")).collect();
            println!("  {attr:width$}  {:>7}  {:>8}  {share:>9}  {role:<5}  {top:>3}  {}", s.present, s.distinct, types.join(", "));
        }
    }
}
