//! `ddbsnap check`: run integrity checks over exports and report them.

use crate::env::Env;
use std::path::PathBuf;

use anyhow::{Result, bail};

use super::{Global, Registered, build_env, load_or_cache};
use crate::catalog::Catalog;
use crate::checks::baseline::{self, Baseline, FailOn};
use crate::checks::files;
use crate::checks::generate::Severity;
use crate::checks::model::ModelIntrospection;
use crate::checks::run::{CheckResult, Status, run_check};
use crate::checks::suite;
use crate::convert::TableSchema;
use crate::report::{self, Compared, TableProfile};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 every error-severity check passed, 1 some failed, 2 ddbsnap failed (a check that cannot run counts as a failure of the tool).\n\
With --baseline (or --fail-on regressions), 1 means an error-severity check is new, regressed (more violations) or missing \
against the baseline; failures no worse than before are reported as pre-existing.\n\n\
Samples show only the items' keys unless --show-values is given: reports leave production."
)]
pub struct CheckArgs {
    /// Exports to check ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(value_name = "EXPORT", required_unless_present = "parquet")]
    pub exports: Vec<String>,
    /// A folder written by `ddbsnap convert` (each sub-folder a table), checked like an export. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub parquet: Vec<PathBuf>,
    /// amplify_outputs.json: generate checks from its data model (each model checks the table of its name).
    #[arg(long, value_name = "FILE")]
    pub amplify: Option<PathBuf>,
    /// A folder of check files (*.sql with a `-- name:` / `-- severity:` header) run instead of the bundled library (queries/checks). Repeatable.
    #[arg(long = "checks", value_name = "DIR")]
    pub checks: Vec<PathBuf>,
    /// Print every check's SQL instead of running it.
    #[arg(long)]
    pub print: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Violating items shown per check.
    #[arg(long, default_value_t = 5)]
    pub sample: usize,
    /// Show attribute values in samples, not only keys.
    #[arg(long)]
    pub show_values: bool,
    /// An earlier report of `check --format json`: each check is marked new, regressed, improved, fixed or
    /// unchanged against it, and reports list regressions first.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,
    /// What exit code 1 means: `regressions` (the default with --baseline) or `failures` (any failing error check;
    /// the default without).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub cache: super::CacheArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    Text,
    Json,
    Junit,
    /// For pull-request comments.
    Markdown,
    /// One self-contained page: summary, checks with samples, table profiles.
    Html,
}

pub async fn run(g: &Global, env: &Env, a: CheckArgs) -> Result<u8> {
    let fail_on = match (a.fail_on, &a.baseline) {
        (Some(FailOn::Regressions), None) => bail!("--fail-on regressions needs --baseline PREVIOUS.json: the report to compare with"),
        (Some(f), _) => f,
        (None, Some(_)) => FailOn::Regressions,
        (None, None) => FailOn::Failures,
    };
    // Read before the checks run: a bad baseline fails in a second, not after the whole run.
    let baseline = a.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut reading = build_env(g, env, &a.exports).await?;
    let intro = a.amplify.as_deref().map(ModelIntrospection::load).transpose()?;
    let catalog = Catalog::new(env);
    let mut tables = Vec::new();
    for table in load_or_cache(g, &a.exports, &mut reading, &catalog, &a.cache).await? {
        // Each model's primary key holds one item per key.
        let name = match &table {
            Registered::Loaded(l) => l.name(),
            Registered::Cached(name) => name,
        };
        let keys: Option<Vec<String>> =
            intro.as_ref().and_then(|i| i.models.get(name)).map(|m| m.key_fields().into_iter().map(str::to_string).collect());
        match table {
            Registered::Loaded(loaded) => {
                if let Some(keys) = &keys {
                    crate::load::check_unique_keys(&loaded, keys)?;
                }
                let profile = TableProfile::from_stats(loaded.name(), loaded.report.items, &loaded.stats);
                tables.push(Checked { name: loaded.name().to_string(), schema: loaded.schema.clone(), profile });
            }
            Registered::Cached(name) => {
                if let Some(keys) = &keys {
                    crate::cache::check_unique_keys(&catalog, &name, keys).await?;
                }
                tables.push(parquet_table(&catalog, name).await?);
            }
        }
    }
    // A report on a table with quarantined lines says so in every format
    // (not only on stderr): its counts cover only the lines read.
    let mut partial = Vec::new();
    if let Some(q) = reading.read.quarantine.as_ref().filter(|q| q.count() > 0) {
        partial.push(format!(
            "{} undecodable lines were quarantined to {}: the tables are not whole, and every count here leaves their items out",
            q.count(),
            q.path
        ));
    }
    for dir in &a.parquet {
        for name in catalog.add_parquet_dir(dir).await? {
            let lost = crate::catalog::quarantined_in(&dir.join(&name))?;
            if lost > 0 {
                partial.push(format!(
                    "table {name}: {lost} undecodable lines were quarantined when it was converted: it is not whole, and every count here leaves their items out"
                ));
            }
            tables.push(parquet_table(&catalog, name).await?);
        }
    }

    let check_files = files::from_dirs(&a.checks)?;
    let schemas: Vec<(String, TableSchema)> = tables.iter().map(|t| (t.name.clone(), t.schema.clone())).collect();
    let (checks, mut notes) = suite::collect(intro.as_ref(), &schemas, &check_files);
    notes.splice(0..0, partial);
    if a.print {
        for c in &checks {
            let severity = if c.severity == Severity::Error { "error" } else { "warn" };
            let keys = c.keys.join(", ");
            println!(
                "-- name: {}\n-- table: {}\n-- severity: {severity}\n-- keys: {keys}\n-- description: {}\n{};\n",
                c.name, c.table, c.description, c.sql
            );
        }
        return Ok(0);
    }
    let mut results = Vec::with_capacity(checks.len());
    for c in &checks {
        results.push(run_check(&catalog, c, a.sample, a.show_values).await);
    }
    let missing = baseline.as_ref().map(|b| b.compare(&mut results)).unwrap_or_default();
    let compared = baseline.as_ref().map(|b| Compared { file: b.path.display().to_string(), missing: &missing });
    let profiles: Vec<TableProfile> = tables.iter().map(|t| t.profile.clone()).collect();
    match a.format {
        CheckFormat::Text => print_text(&results, &notes, compared.as_ref()),
        CheckFormat::Json => {
            let tables: Vec<_> = profiles.iter().map(|t| serde_json::json!({"name": t.name, "items": t.items})).collect();
            let mut doc = serde_json::json!({"tables": tables, "checks": results, "notes": notes});
            if let Some(c) = &compared {
                doc["baseline"] = serde_json::json!({"file": c.file, "summary": c.summary(&results), "missing": c.missing});
            }
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        CheckFormat::Junit => print!("{}", report::junit(&results, &missing, &notes, fail_on == FailOn::Regressions)),
        CheckFormat::Markdown => print!("{}", report::markdown(&results, &profiles, &notes, compared.as_ref())),
        CheckFormat::Html => print!("{}", report::html(&results, &profiles, &notes, compared.as_ref())),
    }
    Ok(baseline::exit_code(&results, &missing, fail_on))
}

/// A table registered from Parquet: its schema from the files, its items counted.
async fn parquet_table(catalog: &Catalog, name: String) -> Result<Checked> {
    let provider = catalog.context().table_provider(datafusion::common::TableReference::bare(name.as_str())).await?;
    let schema = TableSchema::from_arrow(&provider.schema())?;
    let count = catalog.query(&format!("SELECT count(*) FROM {}", crate::catalog::quote_ident(&name))).await?;
    let items = count.first_i64().unwrap_or(0) as u64;
    // Parquet carries no statistics of ddbsnap's: the profile lists the columns only.
    let profile = TableProfile { name: name.clone(), items, attributes: Vec::new() };
    Ok(Checked { name, schema, profile })
}

/// A table being checked, from an export or a Parquet folder.
struct Checked {
    name: String,
    schema: TableSchema,
    profile: TableProfile,
}

fn print_text(results: &[CheckResult], notes: &[String], baseline: Option<&Compared>) {
    // Colour only on a terminal: piped reports stay plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let esc = crate::error::escape_unsafe;
    if let Some(b) = baseline {
        println!("against the baseline {}: {}", esc(&b.file), b.summary(results));
    }
    let mut group = "";
    for r in report::ordered(results) {
        if let Some(c) = r.change
            && c.group() != group
        {
            group = c.group();
            println!("{group}:");
        }
        let (status, code) = match r.status {
            Status::Pass => ("pass", "32"),
            Status::Fail if r.severity == Severity::Warn => ("WARN", "33"),
            Status::Fail => ("FAIL", "31;1"),
            Status::Error => ("ERROR", "35;1"),
        };
        let status = if colour { format!("\x1b[{code}m{status:5}\x1b[0m") } else { format!("{status:5}") };
        let change = report::change_label(r).map(|c| format!("  [{c}]")).unwrap_or_default();
        println!("{status}  {:40}  {:>8}  {}{change}", esc(&r.name), r.violations, esc(&r.description));
        if let Some(e) = &r.error {
            println!("       {}", crate::error::brief(e, 300));
        }
        for row in &r.sample {
            println!("       {}", crate::error::brief(&row.to_string(), 300));
        }
    }
    if let Some(b) = baseline.filter(|b| !b.missing.is_empty()) {
        println!("missing (in the baseline, not run this time):");
        for m in b.missing {
            println!("       {} on {}: was {} with {} violations", esc(&m.name), esc(&m.table), m.status.name(), m.violations);
        }
    }
    for n in notes {
        println!("note   {}", esc(n));
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    println!(
        "{} checks: {} passed, {} failed, {} could not run",
        results.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error)
    );
}
