//! The command line: clap definitions and one handler per subcommand.
//!
//! Flags are turned into library settings here, once (AWS clients are built
//! once and passed down); the rest of the crate never sees clap.

mod apply;
mod check;
mod convert;
mod export;
mod generate;
mod inspect;
mod lint;
mod load;
mod plan;
mod print;
mod profile;
mod progress;
mod rehearse;
mod sql;
mod subset;
mod values;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Parser, Subcommand};

use ddbsnap_env::{build_env, s3_client};

/// Exit code when checks found problems.
pub const EXIT_PROBLEMS: u8 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "ddbsnap",
    version,
    about = "Audit, preview and rehearse data migrations on Amazon DynamoDB, from export-to-S3 snapshots",
    long_about = "ddbsnap reads DynamoDB export-to-S3 snapshots (full and incremental, DynamoDB JSON or Ion, \
from S3 or a local copy) into Apache Arrow, exactly, and lets you query them with SQL.\n\n\
An EXPORT is an export folder (.../AWSDynamoDB/<ExportId>), its manifest-summary.json, a folder or \
s3://bucket/prefix holding many exports (per table the newest full export plus the incremental exports \
that follow it), or NAME=EXPORT to choose the table's name. Amplify tables (Model-<apiId>-NONE) are named \
after their model.\n\nResults go to stdout; progress and logs to stderr. Exit codes: 0 success, 1 checks \
found problems, 2 error."
)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ClapArgs, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// S3 endpoint, for S3-compatible servers such as moto or MinIO (path-style addressing is used).
    #[arg(long, global = true, env = "DDBSNAP_S3_ENDPOINT_URL", value_name = "URL")]
    pub s3_endpoint_url: Option<String>,
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (default: AWS's, for the region).
    #[arg(long, global = true, env = "DDBSNAP_DYNAMODB_ENDPOINT_URL", value_name = "URL")]
    pub dynamodb_endpoint_url: Option<String>,
    /// The old name of the one endpoint a command uses: S3 for the commands that read exports,
    /// DynamoDB for apply, verify, rollback, and for rehearse, load and export --scan with local
    /// folders; refused where a command talks to both.
    #[arg(long, global = true, env = "DDBSNAP_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: the standard AWS configuration chain).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Read the newest state at or before this time (RFC 3339, e.g. 2026-01-14T10:30:00Z).
    #[arg(long, global = true)]
    pub as_of: Option<String>,
    /// Treat incremental chain gaps and manifest-summary checksum mismatches as errors.
    #[arg(long, global = true)]
    pub strict: bool,
    /// Write undecodable lines to this file (JSON lines) and go on, instead of stopping.
    #[arg(long, global = true, value_name = "FILE")]
    pub quarantine: Option<PathBuf>,
    /// Worker threads for every CPU-bound stage: decoding, conversion, queries, planning, profiling and
    /// `generate`'s writers (default: every core; at most 1024).
    #[arg(long, global = true, env = "DDBSNAP_THREADS", value_parser = values::threads)]
    pub threads: Option<usize>,
    /// Memory DataFusion's operators may hold (e.g. 4G); past it aggregates and sorts spill to
    /// files under TMPDIR. `sql` and `check` query exports estimated above it from a Parquet cache
    /// (--cache); `plan` refuses a snapshot estimated above it. Default: no limit.
    #[arg(long, global = true, env = "DDBSNAP_MEMORY_LIMIT", value_name = "SIZE", value_parser = values::memory_limit)]
    pub memory_limit: Option<usize>,
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Describe exports: items (checked against manifests), times, attributes with presence and DynamoDB types, sizes.
    Inspect(inspect::InspectArgs),
    /// Run SQL over exports or converted Parquet; an interactive prompt when no SQL is given.
    Sql(sql::SqlArgs),
    /// Run integrity checks (generated from amplify_outputs.json, or SQL check files) and report them.
    Check(check::CheckArgs),
    /// Classify the changes between two Amplify data models (safe, breaking, dangerous) and measure them against exports.
    Lint(lint::LintArgs),
    /// Preview a migration (a transform's SQL) and write a plan file to review and approve; `plan show PLAN` renders one.
    Plan(plan::PlanArgs),
    /// Write an approved plan to DynamoDB: conditional, rate-limited, retried, journaled (--resume after a crash).
    Apply(apply::ApplyArgs),
    /// Read back the items a plan touched and report those that do not hold the planned state.
    Verify(apply::VerifyArgs),
    /// Undo an apply from its journal: restore each item it changed, unless the item changed again since.
    Rollback(apply::RollbackArgs),
    /// Take exports: DynamoDB's export to S3 (full, or incremental continuing the chain), or a consistent scan in the same layout.
    Export(export::ExportArgs),
    /// Write exports, subsets, converted Parquet or CSV rows (typed by the Amplify model) into DynamoDB tables: seed sandboxes and staging.
    Load(load::LoadArgs),
    /// Convert exports to Parquet, one folder per table.
    Convert(convert::ConvertArgs),
    /// Write a synthetic Amplify-style export (seeded, deterministic) in AWS's exact layout.
    Generate(generate::GenerateArgs),
    /// Write a masked, referentially complete subset of exports (seeded; children and parents followed) for sandboxes.
    Subset(subset::SubsetArgs),
    /// Describe the shape of the data (sizes, types, lengths, distinct values, key skew) as JSON, without its values.
    Profile(profile::ProfileArgs),
    /// Rehearse a migration end to end on a copy of the data (load, check, plan, apply with crash and resume, verify, roll back), timed and costed.
    Rehearse(rehearse::RehearseArgs),
}

pub fn init_logging(g: &Global) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    // The AWS credential and region providers log each provider they try
    // (about 1,000 characters of IMDS debug with no credentials at all):
    // below -vv that is noise, and ddbsnap says in one line what failed.
    let aws = if g.verbose >= 2 { "" } else { ",aws_config=error,aws_smithy_runtime=error" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level}{aws}")));
    // Colours only on a terminal: warnings redirected to a file or a pipe stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).with_target(false).try_init();
}

pub async fn run(mut args: Args) -> Result<u8> {
    resolve_endpoint_alias(&mut args.global, &args.command)?;
    crate::convert::schema::check_nested_setting()?;
    // An empty DDBSNAP_THREADS or DDBSNAP_MEMORY_LIMIT means unset, as for the endpoint variables.
    args.global.threads = args.global.threads.filter(|n| *n > 0);
    args.global.memory_limit = args.global.memory_limit.filter(|n| *n > 0);
    let env = crate::env::Env::new(args.global.threads, args.global.memory_limit).context("setting up the run's threads and memory")?;
    let env = &env;
    match args.command {
        Command::Inspect(a) => inspect::run(&args.global, env, a).await,
        Command::Sql(a) => sql::run(&args.global, env, a).await,
        Command::Check(a) => check::run(&args.global, env, a).await,
        Command::Convert(a) => convert::run(&args.global, env, a).await,
        Command::Lint(a) => lint::run(&args.global, env, a).await,
        Command::Plan(a) => plan::run(&args.global, env, a).await,
        Command::Apply(a) => apply::apply(&args.global, env, a).await,
        Command::Verify(a) => apply::verify(&args.global, env, a).await,
        Command::Rollback(a) => apply::rollback(&args.global, env, a).await,
        Command::Generate(a) => generate::run(&args.global, env, a).await,
        Command::Subset(a) => subset::run(&args.global, env, a).await,
        Command::Profile(a) => profile::run(&args.global, env, a).await,
        Command::Rehearse(a) => rehearse::run(&args.global, env, a).await,
        Command::Load(a) => load::run(&args.global, env, a).await,
        Command::Export(a) => export::run(&args.global, env, a).await,
    }
}

/// Which services a command talks to, for the old `--endpoint-url`.
enum Uses {
    S3,
    DynamoDb,
    Both(&'static str),
}

fn uses(c: &Command) -> Uses {
    match c {
        Command::Apply(_) | Command::Verify(_) | Command::Rollback(_) => Uses::DynamoDb,
        // These read exports and write (or read) DynamoDB: the old flag is
        // unambiguous only when every export they read is local.
        Command::Rehearse(a) if all_local(&a.exports) => Uses::DynamoDb,
        Command::Rehearse(_) => Uses::Both("rehearse"),
        Command::Load(a) if all_local(&a.exports) => Uses::DynamoDb,
        Command::Load(_) => Uses::Both("load"),
        Command::Export(a) if a.scan && !a.to.starts_with("s3://") => Uses::DynamoDb,
        Command::Export(_) => Uses::Both("export"),
        _ => Uses::S3,
    }
}

fn all_local(exports: &[String]) -> bool {
    !exports.iter().any(|e| crate::snapshot::locate::split_name(e).1.starts_with("s3://"))
}

/// Turns the old `--endpoint-url` into the endpoint the command uses, so
/// that the rest of the CLI reads only `s3_endpoint_url` and
/// `dynamodb_endpoint_url`. A command that uses both services refuses it:
/// guessing which one was meant is how writes reach the wrong server.
fn resolve_endpoint_alias(g: &mut Global, c: &Command) -> Result<()> {
    // An empty value (`DDBSNAP_DYNAMODB_ENDPOINT_URL=`) is how people unset
    // a variable: it means no endpoint, not an endpoint named "".
    for (slot, flag) in [
        (&mut g.s3_endpoint_url, "--s3-endpoint-url (DDBSNAP_S3_ENDPOINT_URL)"),
        (&mut g.dynamodb_endpoint_url, "--dynamodb-endpoint-url (DDBSNAP_DYNAMODB_ENDPOINT_URL)"),
        (&mut g.endpoint_url, "--endpoint-url (DDBSNAP_ENDPOINT_URL)"),
    ] {
        if slot.as_deref().is_some_and(|u| u.trim().is_empty()) {
            *slot = None;
        }
        if let Some(u) = slot.as_deref() {
            let rest = u.strip_prefix("http://").or_else(|| u.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/') || r.chars().any(char::is_whitespace)) {
                anyhow::bail!("{flag} {u:?} is not an endpoint URL: give http://host:port (DynamoDB Local, moto) or https://host");
            }
        }
    }
    if g.region.as_deref().is_some_and(|r| r.trim().is_empty()) {
        g.region = None;
    }
    let Some(url) = g.endpoint_url.take() else { return Ok(()) };
    let (slot, flag) = match uses(c) {
        Uses::S3 => (&mut g.s3_endpoint_url, "--s3-endpoint-url"),
        Uses::DynamoDb => (&mut g.dynamodb_endpoint_url, "--dynamodb-endpoint-url"),
        Uses::Both(name) => anyhow::bail!(
            "--endpoint-url (or DDBSNAP_ENDPOINT_URL) is ambiguous for `{name}` with exports on S3, as it talks to S3 and DynamoDB: \
             give --s3-endpoint-url and/or --dynamodb-endpoint-url instead"
        ),
    };
    match slot {
        Some(other) if *other != url => {
            anyhow::bail!("--endpoint-url (or DDBSNAP_ENDPOINT_URL) {url} and {flag} (or its variable) {other} disagree: give only {flag}")
        }
        _ => *slot = Some(url),
    }
    Ok(())
}

/// Settings shared by the commands that read exports.
mod ddbsnap_env {
    use super::*;
    use crate::load::LoadEnv;
    use crate::snapshot::{Quarantine, ReadOptions, S3Settings};

    /// Builds the read environment; the S3 client only when an argument needs it.
    pub async fn build_env(g: &Global, env: &crate::env::Env, exports: &[String]) -> Result<LoadEnv> {
        let s3 = if exports.iter().any(|e| crate::snapshot::locate::split_name(e).1.starts_with("s3://")) {
            Some(S3Settings { client: s3_client(g).await })
        } else {
            None
        };
        let as_of = match &g.as_of {
            None => None,
            Some(t) => Some(
                chrono::DateTime::parse_from_rfc3339(t)
                    .with_context(|| format!("--as-of {t:?} is not an RFC 3339 time such as 2026-01-14T10:30:00Z"))?
                    .with_timezone(&chrono::Utc),
            ),
        };
        let quarantine = match &g.quarantine {
            None => None,
            Some(p) => Some(std::sync::Arc::new(Quarantine::create(&p.display().to_string())?)),
        };
        let read = ReadOptions { pool: env.pool().clone(), strict: g.strict, quarantine, progress: None };
        Ok(LoadEnv { s3, read, as_of, keys: Default::default() })
    }

    /// The S3 client of the standard AWS configuration, honouring `--region`
    /// and `--s3-endpoint-url` (path-style).
    pub async fn s3_client(g: &Global) -> aws_sdk_s3::Client {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &g.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let shared = loader.load().await;
        let mut b = aws_sdk_s3::config::Builder::from(&shared);
        if let Some(url) = &g.s3_endpoint_url {
            b = b.endpoint_url(url).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }
}

/// Where `sql` and `check` keep exports that do not fit in memory.
#[derive(clap::Args, Debug, Clone)]
pub struct CacheArgs {
    /// Convert exports to a Parquet cache and query that: auto when a table would not fit in memory
    /// (over --memory-limit, or half the available memory), always, or never. Not with --quarantine.
    #[arg(long, value_enum, default_value_t = CacheChoice::Auto, env = "DDBSNAP_CACHE")]
    pub cache: CacheChoice,
    /// The cache's folder; an entry is reused while its export's manifests and checksums are unchanged.
    /// Default: $XDG_CACHE_HOME/ddbsnap or ~/.cache/ddbsnap.
    #[arg(long, value_name = "DIR", env = "DDBSNAP_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `--cache`'s values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheChoice {
    Auto,
    Always,
    Never,
}

impl From<CacheChoice> for crate::cache::CacheMode {
    fn from(c: CacheChoice) -> Self {
        match c {
            CacheChoice::Auto => crate::cache::CacheMode::Auto,
            CacheChoice::Always => crate::cache::CacheMode::Always,
            CacheChoice::Never => crate::cache::CacheMode::Never,
        }
    }
}

/// A table of the exports as `sql` and `check` query it.
pub(crate) enum Registered {
    /// Read into memory.
    Loaded(Box<crate::load::LoadedTable>),
    /// In the Parquet cache: the table's name.
    Cached(String),
}

/// Registers every table of `exports` in `catalog`: read into memory, or
/// converted to (or found in) the Parquet cache when it would not fit.
pub(crate) async fn load_or_cache(
    g: &Global,
    exports: &[String],
    env: &mut crate::load::LoadEnv,
    catalog: &crate::catalog::Catalog,
    cache: &CacheArgs,
) -> Result<Vec<Registered>> {
    // An empty DDBSNAP_CACHE_DIR means unset, as for the endpoint variables.
    let dir = cache.cache_dir.clone().filter(|d| !d.as_os_str().is_empty());
    let settings = crate::cache::CacheSettings { mode: cache.cache.into(), dir, memory_limit: g.memory_limit };
    let mut out = Vec::new();
    for t in crate::load::locate(exports, env).await? {
        let Some(why) = crate::cache::wanted(&t, &settings, env.read.quarantine.is_some()) else {
            let loaded = load_one(g, &t, env).await?;
            catalog.add_loaded(&loaded)?;
            out.push(Registered::Loaded(Box::new(loaded)));
            continue;
        };
        let progress = progress::Progress::start(&format!("caching {}", t.name), g.quiet);
        env.read.progress = progress.counter.clone();
        let root = settings.root();
        let (entry, reused) = crate::cache::cached(&t, env, &root).await?;
        drop(progress);
        if !g.quiet {
            let how = if reused { "reusing its Parquet cache (the export is unchanged)" } else { "converted it to a Parquet cache" };
            eprintln!("ddbsnap: {}: {why}: {how} at {}", t.name, entry.display());
        }
        catalog.add_parquet_dir(&entry).await?;
        if let Some(keys) = env.keys.get(&t.name) {
            crate::cache::check_unique_keys(catalog, &t.name, keys).await?;
        }
        out.push(Registered::Cached(t.name.clone()));
    }
    finish_quarantine(env)?;
    Ok(out)
}

/// Loads every table of `exports` into `catalog`, with a progress bar per
/// table, and reports quarantined lines at the end.
pub(crate) async fn load_into(
    g: &Global,
    exports: &[String],
    env: &mut crate::load::LoadEnv,
    catalog: &crate::catalog::Catalog,
) -> Result<Vec<crate::load::LoadedTable>> {
    let tables = load_tables(g, exports, env).await?;
    for t in &tables {
        catalog.add_loaded(t)?;
    }
    Ok(tables)
}

/// Loads every table of `exports` into memory, with a progress bar per table.
pub(crate) async fn load_tables(g: &Global, exports: &[String], env: &mut crate::load::LoadEnv) -> Result<Vec<crate::load::LoadedTable>> {
    let tables = crate::load::locate(exports, env).await?;
    load_located(g, tables, env).await
}

/// Loads tables already located into memory, with a progress bar per table.
pub(crate) async fn load_located(
    g: &Global,
    tables: Vec<crate::snapshot::TableSnapshot>,
    env: &mut crate::load::LoadEnv,
) -> Result<Vec<crate::load::LoadedTable>> {
    let mut out = Vec::new();
    for t in tables {
        out.push(load_one(g, &t, env).await?);
    }
    finish_quarantine(env)?;
    Ok(out)
}

/// Loads one table into memory with a progress bar.
async fn load_one(g: &Global, t: &crate::snapshot::TableSnapshot, env: &mut crate::load::LoadEnv) -> Result<crate::load::LoadedTable> {
    let progress = progress::Progress::start(&format!("loading {}", t.name), g.quiet);
    env.read.progress = progress.counter.clone();
    Ok(crate::load::load_table(t, env).await?)
}

/// Reports quarantined lines loudly at the end of a run.
pub fn finish_quarantine(env: &crate::load::LoadEnv) -> Result<()> {
    if let Some(q) = &env.read.quarantine {
        q.flush()?;
        if q.count() > 0 {
            eprintln!("ddbsnap: WARNING: {} undecodable lines were quarantined to {} and are NOT in the results", q.count(), q.path);
        } else {
            // Nothing was quarantined: the file this run created goes, so
            // that the next run with the same path is not refused.
            let _ = std::fs::remove_file(&q.path);
        }
    }
    Ok(())
}
