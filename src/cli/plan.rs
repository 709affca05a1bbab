//! `ddbsnap plan`: preview a transform and write a plan file; `plan show`
//! renders one; `plan recipes` lists the bundled transforms.

use crate::env::Env;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Result, bail};

use super::{Global, build_env};
use crate::catalog::Catalog;
use crate::checks::files;
use crate::checks::gate::Rule;
use crate::checks::model::ModelIntrospection;
use crate::load::LoadedTable;
use crate::plan::manifest::{PlanManifest, TargetTable};
use crate::plan::transform::{self, RECIPES};
use crate::plan::{self as planning, PlanRequest, file::PlanFile};
use crate::report::plan as render;

const CONTRACT: &str = "The transform is SQL over the loaded tables; each result row is one operation:\n  \
_table   target table (model) name; may be left out when one table is loaded\n  \
_op      UPDATE (default; SET and REMOVE mean the same), PUT or DELETE\n  \
_remove  attributes to remove (text, comma-separated, or a list)\n  \
_skip    when not NULL the row is not planned and is reported with this reason\n  \
key attributes identify the item; every other column is an attribute value (SQL NULL: left alone).\n\
Values: text -> S, numbers -> N (exact), booleans -> BOOL, binary -> B, lists -> L, structs -> M, \
timestamps -> ISO 8601 S. For exact DynamoDB types use ddb('{\"NULL\":true}'), ddb_number(text), \
ddb_attr(attr) (an attribute as it is, any type) and ddb_text(attr). SELECT * keeps every attribute exact.\n\n\
Checks gate on what the plan makes worse: a check that passes before and fails after, one with more violations, \
or a new error. A failure that is already there, no worse, is reported as pre-existing and does not block \
(--require-clean makes it block).\n\n\
Exit codes: 0 plan written and no check is worse on the data as it would be after it; 1 plan written, but \
checks are worse afterwards or rows were skipped; 2 error (no plan written).";

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, after_help = CONTRACT)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub action: Option<PlanAction>,
    #[command(flatten)]
    pub make: MakeArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum PlanAction {
    /// Verify a plan's hashes and render it.
    Show {
        /// The plan folder.
        plan: PathBuf,
        /// text, json (the manifest), markdown or html; with --ops, jsonl (the default) or csv.
        #[arg(long, value_enum)]
        format: Option<PlanFormat>,
        /// List every operation (seq, row, table, op, key, set, remove, before, before_sha256, write_units, after),
        /// items as DynamoDB JSON.
        #[arg(long, conflicts_with = "sql")]
        ops: bool,
        /// With --ops: only the operations this SQL condition holds for, over the columns above
        /// (table `ops`), e.g. "op = 'DELETE'" or "after LIKE '%lastName%'".
        #[arg(long = "where", value_name = "SQL", requires = "ops")]
        filter: Option<String>,
        /// Open the operations as the table `ops` in the SQL prompt (or run SQL given on stdin).
        #[arg(long)]
        sql: bool,
    },
    /// List the bundled transform recipes with their parameters.
    Recipes,
}

#[derive(clap::Args, Debug)]
pub struct MakeArgs {
    /// The transform: a SQL file, or the name of a bundled recipe (see `plan recipes`).
    #[arg(short, long, value_name = "FILE|RECIPE")]
    pub transform: Option<String>,
    /// Exports to read ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// The plan folder to write (never overwritten).
    #[arg(short, long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// A transform parameter, NAME=VALUE (repeatable).
    #[arg(short, long = "param", value_name = "NAME=VALUE", value_parser = transform::parse_param)]
    pub params: Vec<(String, String)>,
    /// The new amplify_outputs.json: its checks run before and after, its models' keys are used, and new models can be written to.
    #[arg(long, value_name = "FILE")]
    pub amplify: Option<PathBuf>,
    /// Check files to run instead of the bundled library (repeatable).
    #[arg(long = "checks", value_name = "DIR")]
    pub checks: Vec<PathBuf>,
    /// A table's key attributes, TABLE=PARTITION[,SORT] (default: the model's, else `id`). Also declares a table the snapshot lacks.
    #[arg(long = "key", value_name = "TABLE=ATTRS")]
    pub keys: Vec<String>,
    /// A CSV (with header) or Parquet file to read as a table, NAME=FILE (repeatable).
    #[arg(long = "input", value_name = "NAME=FILE")]
    pub inputs: Vec<String>,
    /// Sample changes shown per table.
    #[arg(long, default_value_t = 5)]
    pub sample: usize,
    /// On-demand price in USD per million write request units.
    #[arg(long, default_value_t = 0.625, value_parser = super::values::non_negative)]
    pub price_per_million: f64,
    /// Write units per second for the duration estimate (the rate apply will be limited to).
    #[arg(long, default_value_t = 1000.0, value_parser = super::values::positive)]
    pub write_rate: f64,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Block on every failing error-severity check, not only on checks the plan makes worse
    /// (a pass that fails, more violations, a new error).
    #[arg(long)]
    pub require_clean: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    /// The manifest itself.
    Json,
    Markdown,
    Html,
    /// One JSON object per operation (--ops).
    Jsonl,
    /// CSV with a header line (--ops).
    Csv,
}

pub async fn run(g: &Global, env: &Env, a: PlanArgs) -> Result<u8> {
    match a.action {
        Some(PlanAction::Show { plan, format, ops, filter, sql }) => {
            let p = PlanFile::open(&plan)?;
            if sql {
                return show_sql(env, &p, format).await;
            }
            if ops {
                return show_ops(env, &p, format, filter.as_deref()).await;
            }
            let format = format.unwrap_or(PlanFormat::Text);
            if matches!(format, PlanFormat::Jsonl | PlanFormat::Csv) {
                bail!("--format {format:?} lists operations: add --ops (the plan itself shows as text, json, markdown or html)");
            }
            print(&p.manifest, format)?;
            if format == PlanFormat::Text {
                println!("verified: the operations and the manifest match the plan's SHA-256");
            }
            Ok(0)
        }
        Some(PlanAction::Recipes) => {
            for (name, text) in RECIPES {
                let h = transform::parse_header(text);
                println!("{name}\n  {}", h.description);
                let params: Vec<String> =
                    h.params.iter().map(|p| format!("{}={}", p.name, p.default.as_deref().unwrap_or("(required)"))).collect();
                println!("  params: {}\n", params.join("  "));
            }
            Ok(0)
        }
        None => make(g, env, a.make).await,
    }
}

/// `plan show --ops`: every operation, or those `filter` holds for.
async fn show_ops(env: &Env, p: &PlanFile, format: Option<PlanFormat>, filter: Option<&str>) -> Result<u8> {
    let csv = match format.unwrap_or(PlanFormat::Jsonl) {
        PlanFormat::Jsonl => false,
        PlanFormat::Csv => true,
        other => bail!("--ops lists operations as jsonl or csv, not {other:?}"),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut header = true;
    crate::plan::listing::for_each(p, env, filter, |b| {
        if csv {
            let mut w = arrow::csv::WriterBuilder::new().with_header(header).build(&mut out);
            w.write(b)?;
            header = false;
            Ok(())
        } else {
            crate::plan::listing::json_lines(b, &mut out)
        }
    })
    .await?;
    if csv && header {
        // No operation selected: the header alone, as CSV readers expect.
        let empty = crate::plan::listing::with_after(&arrow::record_batch::RecordBatch::new_empty(crate::plan::file::ops_schema()))?;
        arrow::csv::WriterBuilder::new().with_header(true).build(&mut out).write(&empty)?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(0)
}

/// `plan show --sql`: the operations as the table `ops` in the SQL prompt.
async fn show_sql(env: &Env, p: &PlanFile, format: Option<PlanFormat>) -> Result<u8> {
    let format = match format {
        None => super::print::Format::Table,
        Some(PlanFormat::Csv) => super::print::Format::Csv,
        Some(PlanFormat::Jsonl) => super::print::Format::Json,
        Some(other) => bail!("--sql prints results as a table (the default), jsonl or csv, not {other:?}"),
    };
    let catalog = Catalog::new(env);
    crate::plan::listing::register_all(p, &catalog)?;
    super::sql::prompt_or_stdin(&catalog, format).await?;
    Ok(0)
}

fn print(m: &PlanManifest, format: PlanFormat) -> Result<()> {
    match format {
        PlanFormat::Jsonl | PlanFormat::Csv => bail!("--format {format:?} needs --ops"),
        PlanFormat::Text => print!("{}", render::text(m)),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(m)?),
        PlanFormat::Markdown => print!("{}", render::markdown(m)),
        PlanFormat::Html => print!("{}", render::html(m)),
    }
    Ok(())
}

async fn make(g: &Global, env: &Env, a: MakeArgs) -> Result<u8> {
    let (Some(spec), Some(out)) = (&a.transform, &a.out) else {
        bail!("plan needs --transform FILE|RECIPE and --out PLAN (or: plan show PLAN, plan recipes)");
    };
    let transform = transform::load(spec, &a.params)?;
    let intro = a.amplify.as_deref().map(ModelIntrospection::load).transpose()?;
    let keys = super::values::key_specs(&a.keys)?;
    let mut reading = build_env(g, env, &a.exports).await?;
    let tables = crate::load::locate(&a.exports, &reading).await?;
    crate::cache::refuse_plan_beyond_memory(&tables, g.memory_limit)?;
    let mut loaded = super::load_located(g, tables, &mut reading).await?;
    // A plan is made from whole data: items in quarantined lines would be
    // left out of it while it counts the table as whole.
    if let Some(q) = reading.read.quarantine.as_ref().filter(|q| q.count() > 0) {
        bail!(
            "{} lines of the export could not be read (quarantined to {}): a plan is made only from a whole export; repair them and plan again",
            q.count(),
            q.path
        );
    }
    let catalog = Catalog::new(env);
    let before_schemas = loaded.iter().map(|l| (l.name().to_string(), l.schema.clone())).collect();
    let used = crate::catalog::referenced_names(&transform.sql)?;
    // Attributes the transform asks about by name (ddb_missing(status)) may
    // be ones no item has yet: they read as missing, as the model's do.
    let asked = crate::catalog::macro_arguments(&transform.sql)?;
    for l in loaded.iter_mut() {
        let control = |n: &String| {
            crate::plan::rows::RESERVED.contains(&n.as_str())
                || n.starts_with(crate::plan::rows::OVERRIDE)
                || n == crate::convert::TYPES_COLUMN
        };
        let absent: Vec<String> = absent_candidates(l.name(), intro.as_ref())
            .into_iter()
            .filter(|n| used.contains(n))
            .chain(asked.iter().cloned())
            .filter(|n| !control(n))
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        l.add_absent_columns(&absent)?;
        catalog.add_loaded(l)?;
    }
    for spec in &a.inputs {
        let (name, path) = super::values::pair("--input", "NAME=FILE", spec)?;
        catalog.add_file(name, std::path::Path::new(path)).await?;
    }
    let targets = targets(&loaded, intro.as_ref(), &keys);
    let req = PlanRequest {
        transform,
        loaded: &loaded,
        catalog: &catalog,
        targets,
        intro: intro.as_ref(),
        before_schemas,
        check_files: files::from_dirs(&a.checks)?,
        samples: a.sample,
        price_per_million: a.price_per_million,
        write_rate: a.write_rate,
        env,
    };
    let manifest = planning::make(req, out).await?;
    print(&manifest, a.format)?;
    eprintln!(
        "plan written to {}; approve it with --approve {}",
        crate::error::escape_unsafe(&out.display().to_string()),
        &manifest.sha256.as_deref().unwrap_or("")[..16]
    );
    let blocking = manifest.blocking_checks(Rule::from_flag(a.require_clean)).len();
    let pre_existing = blocking.saturating_sub(manifest.blocking_checks(Rule::Regressions).len());
    if a.require_clean && pre_existing > 0 {
        eprintln!(
            "ddbsnap: --require-clean: {pre_existing} pre-existing failing check(s) block this plan (exit 1), and apply --require-clean refuses it"
        );
    }
    Ok(if blocking == 0 && manifest.summary.skipped == 0 { 0 } else { super::EXIT_PROBLEMS })
}

/// Attributes a transform may name that no item has yet: the new model's
/// fields and Amplify's own. Those the transform uses are added to the
/// table as columns with no values (`ddb_missing(status)` is then true on
/// every item, where it would otherwise be an unknown column).
fn absent_candidates(table: &str, intro: Option<&ModelIntrospection>) -> Vec<String> {
    let mut names: BTreeSet<String> =
        ["__typename", "createdAt", "updatedAt", "_version", "_lastChangedAt", "_deleted"].iter().map(|s| s.to_string()).collect();
    if let Some(model) = intro.and_then(|i| i.models.get(table)) {
        names.extend(model.stored_fields().map(|f| f.name.clone()));
    }
    names.into_iter().collect()
}

/// Every table a transform may write to: the loaded ones, the new model's,
/// and those declared with --key.
fn targets(loaded: &[LoadedTable], intro: Option<&ModelIntrospection>, keys: &BTreeMap<String, Vec<String>>) -> Vec<TargetTable> {
    let model_key = |name: &str| intro.and_then(|i| i.models.get(name)).map(|m| m.key_fields().iter().map(|s| s.to_string()).collect());
    let key_for = |name: &str| keys.get(name).cloned().or_else(|| model_key(name)).unwrap_or_else(|| vec!["id".to_string()]);
    let mut out: Vec<TargetTable> = loaded
        .iter()
        .map(|l| TargetTable {
            name: l.name().to_string(),
            physical: Some(l.snapshot.full.summary.physical_table().to_string()),
            key: key_for(l.name()),
            in_snapshot: true,
        })
        .collect();
    // A new Amplify model's table is named like its siblings: Model-<apiId>-NONE.
    let suffixes: BTreeSet<String> = out
        .iter()
        .filter_map(|t| {
            t.physical.as_deref().and_then(|p| p.strip_prefix(t.name.as_str())).filter(|s| s.starts_with('-')).map(str::to_string)
        })
        .collect();
    let suffix = (suffixes.len() == 1).then(|| suffixes.into_iter().next().expect("one"));
    let mut extra: BTreeSet<String> = keys.keys().cloned().collect();
    if let Some(i) = intro {
        extra.extend(i.models.keys().cloned());
    }
    for name in extra {
        if out.iter().any(|t| t.name == name) {
            continue;
        }
        let physical =
            if intro.is_some_and(|i| i.models.contains_key(&name)) { suffix.as_ref().map(|s| format!("{name}{s}")) } else { None };
        out.push(TargetTable { key: key_for(&name), name, physical, in_snapshot: false });
    }
    out
}
