//! `ddbsnap rehearse`: the whole migration on a copy of the data, against
//! DynamoDB Local or a staging account, step by step, timed and costed.

use crate::env::Env;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Global, load_tables};
use crate::checks::model::ModelIntrospection;
use crate::plan::transform;
use crate::rehearse::command::Runner;
use crate::rehearse::{self, Options};
use crate::report::rehearsal as render;

const AFTER: &str = "Steps: 1 create the tables (keys and indexes of the new Amplify models) on the target and load the \
snapshot; 2 the new model's checks on the snapshot (and the lint, with --amplify-old); 3 plan; 4 apply at the given rate \
limit (optionally through injected throttling, killed with SIGKILL part way and resumed); 5 verify, scan every table and \
compare it item by item with the plan, re-run the checks on the scan and compare them with the plan's prediction; 6 roll \
back and compare every table with the snapshot. Steps 2 to 6 run ddbsnap's own commands, printed in the report, as \
production will run them.\n\n\
The target is --dynamodb-endpoint-url, else AWS's endpoint for the configured region (a staging \
account: the standard credential chain chooses it). Tables that exist are never written: the rehearsal stops unless \
--replace-tables. The tables are deleted at the end unless --keep-tables.\n\n\
The work folder keeps the plan, the journals, the scanned tables as an export, report.json and report.html.\n\n\
Exit codes: 0 every step passed; 1 a step found problems (conflicts, differences, checks that disagree); 2 a step failed.";

#[derive(clap::Args, Debug)]
#[command(after_help = AFTER)]
pub struct RehearseArgs {
    /// Exports to rehearse on ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(value_name = "EXPORT", required = true)]
    pub exports: Vec<String>,
    /// The new amplify_outputs.json (the schema being deployed).
    #[arg(long, value_name = "FILE")]
    pub amplify: PathBuf,
    /// The deployed amplify_outputs.json, to lint the change against.
    #[arg(long, value_name = "FILE")]
    pub amplify_old: Option<PathBuf>,
    /// The transform: a SQL file, or a bundled recipe (see `plan recipes`).
    #[arg(short, long, value_name = "FILE|RECIPE")]
    pub transform: String,
    /// A transform parameter, NAME=VALUE (repeatable).
    #[arg(short, long = "param", value_name = "NAME=VALUE", value_parser = transform::parse_param)]
    pub params: Vec<(String, String)>,
    /// Folder for the plan, journals, scans and reports (default: ddbsnap-rehearsal-<time>).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Put before every table name on the target (e.g. `rehearsal-`).
    #[arg(long, default_value = "")]
    pub table_prefix: String,
    /// Delete tables of the same names on the target first.
    #[arg(long)]
    pub replace_tables: bool,
    /// Keep the tables at the end.
    #[arg(long)]
    pub keep_tables: bool,
    /// BatchWriteItem calls in flight while loading.
    #[arg(long, default_value_t = 8, value_parser = super::values::at_least_one)]
    pub load_concurrency: usize,
    /// The apply's write-unit limit per second, as production will use it.
    #[arg(long, value_name = "N", value_parser = super::values::rate_limit)]
    pub max_wcu_per_sec: Option<f64>,
    /// The apply's requests in flight.
    #[arg(long, default_value_t = 4, value_parser = super::values::at_least_one)]
    pub concurrency: usize,
    /// Inject throttling: every Nth request of the apply is answered with a throttling error (http:// targets).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub inject_throttle_every: u64,
    /// Kill the apply (SIGKILL) once this fraction of operations is journaled, then resume it.
    #[arg(long, value_name = "FRACTION", value_parser = super::values::open_fraction)]
    pub kill_at: Option<f64>,
    /// Apply even though checks the plan makes worse fail on the data as it would be after it.
    #[arg(long)]
    pub allow_failing_checks: bool,
    /// Block on every failing error-severity check, not only on checks the plan makes worse
    /// (a pass that fails, more violations, a new error).
    #[arg(long)]
    pub require_clean: bool,
    /// On-demand price in USD per million write request units.
    #[arg(long, default_value_t = 0.625, value_parser = super::values::non_negative)]
    pub price_per_million: f64,
    /// Production's write-unit rate for the projection.
    #[arg(long, default_value_t = 1000.0, value_parser = super::values::positive)]
    pub production_wcu_per_sec: f64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Html,
}

pub async fn run(g: &Global, env: &Env, a: RehearseArgs) -> Result<u8> {
    let intro = ModelIntrospection::load(&a.amplify)?;
    let target = g.dynamodb_endpoint_url.clone();
    let work_dir =
        a.work_dir.clone().unwrap_or_else(|| PathBuf::from(format!("ddbsnap-rehearsal-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"))));
    let o = Options {
        exports: a.exports.clone(),
        amplify: absolute(&a.amplify)?,
        amplify_old: a.amplify_old.as_deref().map(absolute).transpose()?,
        transform: a.transform,
        params: a.params,
        work_dir,
        s3_endpoint: g.s3_endpoint_url.clone(),
        as_of: g.as_of.clone(),
        strict: g.strict,
        target_endpoint: target.clone(),
        region: g.region.clone(),
        table_prefix: a.table_prefix,
        replace_tables: a.replace_tables,
        keep_tables: a.keep_tables,
        load_concurrency: a.load_concurrency,
        max_wcu_per_sec: a.max_wcu_per_sec,
        concurrency: a.concurrency.max(1),
        throttle_every: a.inject_throttle_every,
        kill_at: a.kill_at,
        allow_failing_checks: a.allow_failing_checks,
        require_clean: a.require_clean,
        price_per_million: a.price_per_million,
        production_wcu_per_sec: a.production_wcu_per_sec,
        intro,
    };
    rehearse::validate(&o)?;
    let mut reading = super::build_env(g, env, &a.exports).await?;
    let loaded = load_tables(g, &a.exports, &mut reading).await?;
    let client = super::apply::dynamodb_client(g, target.as_deref(), true).await;
    // Every step runs with the rehearsal's own resources.
    let mut global = vec!["-q".to_string()];
    if let Some(r) = &g.region {
        global.extend(["--region".to_string(), r.clone()]);
    }
    global.extend(["--threads".to_string(), env.threads().to_string()]);
    if let Some(bytes) = g.memory_limit {
        global.extend(["--memory-limit".to_string(), bytes.to_string()]);
    }
    let runner = Runner { exe: std::env::current_exe().context("finding the ddbsnap executable")?, global };
    let r = rehearse::run(&o, &loaded, (&client, env.clock()), &runner).await?;
    let json = serde_json::to_string_pretty(&r)?;
    std::fs::write(o.work_dir.join("report.json"), &json).with_context(|| format!("writing {}", o.work_dir.display()))?;
    std::fs::write(o.work_dir.join("report.html"), render::html(&r)).with_context(|| format!("writing {}", o.work_dir.display()))?;
    match a.format {
        Format::Text => print!("{}", render::text(&r)),
        Format::Json => println!("{json}"),
        Format::Html => print!("{}", render::html(&r)),
    }
    Ok(r.exit_code())
}

/// Paths given to the steps' processes are made absolute.
fn absolute(p: &std::path::Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("{} cannot be read", p.display()))
}
