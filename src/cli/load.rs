//! `ddbsnap load`: exports, subsets, converted Parquet or CSV rows written
//! into DynamoDB tables, to seed sandboxes and staging.

use crate::env::Env;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::apply::{Format, Pace};
use super::{Global, load_tables, progress::Progress};
use crate::apply::journal::{FORMAT, Header, Journal};
use crate::checks::model::ModelIntrospection;
use crate::seed::{self, Existing, Options, Source, fields::Filler};

#[derive(clap::Args, Debug)]
#[command(after_help = "Every source is read and every item's key checked against its table before anything is written; \
then each table is written with BatchWriteItem, as apply writes: --concurrency calls in flight, at most --max-wcu-per-sec, \
unprocessed items and throttled calls retried until --retry-for runs out (then the load fails with exit code 2, never \
silently short). The journal records every item written; after a crash, the same command with --resume goes on where it \
stopped. A finished load removes its journal.\n\n\
CSV rows are typed by the Amplify model (--amplify): a String field holding 007 stays \"007\", Int and Float fields must hold \
numbers, Boolean true or false, enums one of their values, lists and custom types JSON. An empty cell leaves the attribute out; \
\"\" is the empty string. Missing id, __typename, createdAt and updatedAt are filled as the app would fill them, and the owner \
field of owner-auth models from --owner.\n\n\
Tables that hold items are refused unless --allow-existing. --create creates missing tables with the model's key and \
secondary indexes, on-demand.\n\n\
Example: ddbsnap load sandbox-subset/ --csv Contact=extra.csv --amplify amplify_outputs.json --create \\\n  \
--to-table Contact=Contact-sandbox123-NONE --dynamodb-endpoint-url http://127.0.0.1:8000")]
pub struct LoadArgs {
    /// Exports or subsets to load ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// A folder of Parquet tables written by `ddbsnap convert` (one sub-folder per table).
    #[arg(long, value_name = "DIR")]
    pub parquet: Option<PathBuf>,
    /// CSV rows for a model, MODEL=FILE (repeatable); typed by the model of --amplify.
    #[arg(long = "csv", value_name = "MODEL=FILE")]
    pub csv: Vec<String>,
    /// The table to write each model into, MODEL=TABLE (repeatable; every model loaded needs one, or --to-api-id).
    #[arg(long = "to-table", value_name = "MODEL=TABLE", required_unless_present = "to_api_id")]
    pub to_tables: Vec<String>,
    /// An Amplify app's tables: each model without a --to-table goes to <Model>-<ID>-<--to-env>.
    #[arg(long, value_name = "ID")]
    pub to_api_id: Option<String>,
    /// The last part of the Amplify table names, with --to-api-id.
    #[arg(long, value_name = "ENV", default_value = "NONE", requires = "to_api_id")]
    pub to_env: String,
    /// amplify_outputs.json: types CSV rows, and gives --create the tables' keys and indexes.
    #[arg(long, value_name = "FILE")]
    pub amplify: Option<PathBuf>,
    /// Create tables that do not exist (keys and secondary indexes of the model, on-demand).
    #[arg(long, requires = "amplify")]
    pub create: bool,
    /// Write into tables that already hold items (items with the same key are replaced).
    #[arg(long)]
    pub allow_existing: bool,
    /// The owner stored on CSV rows of owner-auth models, as Amplify stores it: SUB::USERNAME.
    #[arg(long, value_name = "SUB::USERNAME")]
    pub owner: Option<String>,
    /// The journal of this load.
    #[arg(long, value_name = "FILE", default_value = "ddbsnap-load.journal")]
    pub journal: PathBuf,
    /// Continue a load that stopped, from its journal.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub pace: Pace,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(g: &Global, env: &Env, a: LoadArgs) -> Result<u8> {
    if a.exports.is_empty() && a.parquet.is_none() && a.csv.is_empty() {
        bail!("nothing to load: give exports, --parquet DIR or --csv MODEL=FILE");
    }
    if g.quarantine.is_some() {
        bail!("--quarantine does not apply to load: a load writes every item of its sources or stops, never a part shown as whole");
    }
    if let Some(o) = &a.owner {
        seed::fields::check_owner(o).map_err(anyhow::Error::msg)?;
    }
    let intro = a.amplify.as_deref().map(ModelIntrospection::load).transpose()?;
    let tables = to_tables(&a.to_tables)?;
    let existing = if a.resume { Some(Journal::resume(&a.journal)?) } else { None };
    if !a.resume && std::fs::symlink_metadata(&a.journal).is_ok() {
        let j = a.journal.display();
        match crate::apply::journal::read(&a.journal) {
            Ok((h, _)) if h.kind == "load" => {
                bail!("{j} exists: an earlier load stopped (or is running); continue it with --resume (same sources and --to-table)")
            }
            Ok((h, _)) => bail!("{j} is the journal of an {}; give this load another --journal", h.kind),
            Err(_) => bail!("{j} exists and is not a ddbsnap journal; give another --journal"),
        }
    }
    let now = existing.as_ref().map(|j| j.header.stamp_now.clone()).unwrap_or_else(|| crate::apply::expr::Stamp::now().now);
    let sources = read_sources(g, env, &a, intro.as_ref(), &now).await?;
    let mut tables = tables;
    if let Some(api) = &a.to_api_id {
        for s in &sources {
            if !tables.contains_key(&s.model) {
                let table = format!("{}-{api}-{}", s.model, a.to_env);
                crate::seed::target::check_name(&table).with_context(|| format!("--to-api-id {api} --to-env {}", a.to_env))?;
                tables.insert(s.model.clone(), table);
            }
        }
    }
    for s in &sources {
        if !tables.contains_key(&s.model) {
            bail!(
                "{} holds table {}, which no --to-table names: add --to-table {}=TABLE (or --to-api-id for an Amplify app's tables)",
                s.origin,
                s.model,
                s.model
            );
        }
    }
    if let Some(unused) = tables.keys().find(|m| !sources.iter().any(|s| &s.model == *m)) {
        let loaded: Vec<&str> = sources.iter().map(|s| s.model.as_str()).collect();
        bail!("--to-table {unused}=...: no source holds table {unused} (the sources hold: {})", loaded.join(", "));
    }
    let client = super::apply::dynamodb_client(g, g.dynamodb_endpoint_url.as_deref(), true).await;
    let where_ = crate::apply::preflight::describe_target(&client, g.dynamodb_endpoint_url.as_deref());
    let once = super::apply::dynamodb_client(g, g.dynamodb_endpoint_url.as_deref(), false).await;
    crate::apply::preflight::reachable(&once, &where_).await?;
    let shapes = match (&intro, a.create) {
        (Some(i), true) => Some(shape_map(i, &tables)),
        _ => None,
    };
    let progress = Progress::items("loading", g.quiet);
    let o = Options {
        tables,
        shapes,
        existing: Existing { allow: a.allow_existing, resuming: a.resume },
        write: seed::write::Settings {
            concurrency: a.pace.concurrency,
            retry_for: Duration::from_secs(a.pace.retry_for),
            rate: crate::apply::rate::RateLimit::new(a.pace.max_wcu_per_sec, env.clock()).map(Arc::new),
            clock: env.clock(),
            progress: progress.counter.clone(),
        },
        where_: where_.clone(),
    };
    let targets = seed::prepare_all(&client, &sources, &o).await?;
    // The journal is started only now, when everything checked out: a load
    // refused before its first write leaves nothing to resume.
    let fingerprint = seed::fingerprint(&sources, &o.tables);
    let total = seed::item_count(&sources);
    let mut identities = BTreeMap::new();
    for t in &targets {
        identities.insert(t.table.clone(), crate::seed::target::identity(&client, &t.table).await?);
    }
    let mut journal = match existing {
        Some(j) => {
            j.check("load", &fingerprint, total)
                .map_err(|e| anyhow::anyhow!("{e}: the sources or --to-table changed since the load started; resume with the same ones"))?;
            check_same_tables(&j, &identities)?;
            j
        }
        None => new_journal(&a, &fingerprint, &now, identities)?,
    };
    let result = seed::write_all(&client, &sources, targets, &o, Some(&mut journal)).await;
    drop(progress);
    let written = journal.entries.len();
    let reports = result.with_context(|| {
        format!(
            "{written} of {total} items were written, as the journal {j} records. If the cause has passed (throttling, the network), \
             run the same command with --resume; if it lies in the items or the table, remove {j}, fix it, and load again with --allow-existing",
            j = a.journal.display()
        )
    })?;
    std::fs::remove_file(&a.journal).with_context(|| format!("removing the finished journal {}", a.journal.display()))?;
    print(&reports, &where_, a.format)?;
    Ok(0)
}

fn to_tables(given: &[String]) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for g in given {
        let (model, table) = super::values::pair("--to-table", "MODEL=TABLE", g)?;
        crate::seed::target::check_name(table).with_context(|| format!("--to-table {g}"))?;
        if m.insert(model.to_string(), table.to_string()).is_some() {
            bail!("--to-table names model {model} twice");
        }
    }
    Ok(m)
}

/// Seeds a CSV's generated ids: its path as given and its bytes, so that
/// two files with a row in common still give two items.
fn id_seed(file: &str, bytes: &[u8]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(file.as_bytes());
    h.update(b"\0");
    h.update(bytes);
    hex::encode(h.finalize())
}

/// A resumed load writes into the very tables the journal began with: a
/// table deleted and created again since holds none of the items journaled.
fn check_same_tables(j: &Journal, now: &BTreeMap<String, String>) -> Result<()> {
    let then = j.header.tables.clone().unwrap_or_default();
    for (table, id) in now {
        if then.get(table) != Some(id) {
            bail!(
                "table {table} is not the table this load began writing (it was deleted and created again, or is another table): \
                 the items {} records as written are not in it; remove the journal and load again",
                j.path.display()
            );
        }
    }
    Ok(())
}

fn new_journal(a: &LoadArgs, fingerprint: &str, now: &str, tables: BTreeMap<String, String>) -> Result<Journal> {
    let header = Header {
        format: FORMAT.into(),
        kind: "load".into(),
        plan_sha256: fingerprint.into(),
        plan_dir: String::new(),
        started_at: chrono::Utc::now().to_rfc3339(),
        stamp_now: now.into(),
        stamp_now_ms: 0,
        undoes: None,
        tables: Some(tables),
    };
    Ok(Journal::create(&a.journal, header)?)
}

fn shape_map(intro: &ModelIntrospection, tables: &BTreeMap<String, String>) -> BTreeMap<String, crate::rehearse::tables::TableShape> {
    tables
        .iter()
        .filter_map(|(model, table)| {
            let m = intro.models.get(model)?;
            Some((model.clone(), crate::rehearse::tables::shape(model, table, Some(m), None)))
        })
        .collect()
}

/// Reads every source into memory, in the order given: exports, then Parquet, then CSV.
async fn read_sources(g: &Global, env: &Env, a: &LoadArgs, intro: Option<&ModelIntrospection>, now: &str) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    if !a.exports.is_empty() {
        let mut reading = super::build_env(g, env, &a.exports).await?;
        for t in load_tables(g, &a.exports, &mut reading).await? {
            let items = t.batches.iter().map(crate::convert::batch_to_items).collect::<crate::Result<Vec<_>>>()?.concat();
            out.push(Source { model: t.name().to_string(), origin: t.snapshot.full.describe(), items, lines: None });
        }
    }
    if let Some(dir) = &a.parquet {
        let catalog = crate::catalog::Catalog::new(env);
        for name in catalog.add_parquet_dir(dir).await? {
            let origin = dir.join(&name).display().to_string();
            let lost = crate::catalog::quarantined_in(&dir.join(&name))?;
            if lost > 0 {
                bail!(
                    "{origin}: {lost} undecodable lines were quarantined when it was converted, so it is not the whole table; a load writes whole tables only (fix or load the exports)"
                );
            }
            let batches = catalog.context().table(datafusion::common::TableReference::bare(name.as_str())).await?.collect().await?;
            let items = batches
                .iter()
                .map(crate::convert::batch_to_items)
                .collect::<crate::Result<Vec<_>>>()
                .with_context(|| format!("{origin}: not a table written by `ddbsnap convert`"))?
                .concat();
            out.push(Source { model: name.clone(), origin, items, lines: None });
        }
    }
    let mut owner_models = Vec::new();
    for spec in &a.csv {
        let (model, file) = super::values::pair("--csv", "MODEL=FILE", spec)?;
        let intro = intro.context("--csv needs --amplify: rows are typed by the model")?;
        let m = intro.models.get(model).with_context(|| {
            format!(
                "--csv {model}=...: no model {model} in the Amplify file (its models: {})",
                intro.models.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let bytes = std::fs::read(file).with_context(|| file.to_string())?;
        let filler = Filler { now: now.to_string(), owner: a.owner.clone(), id_seed: id_seed(file, &bytes) };
        let rows = seed::csv::read(file, bytes, m, intro)?;
        let (mut items, mut lines) = (Vec::new(), Vec::new());
        for (line, mut item) in rows {
            filler.fill(m, line, &mut item);
            items.push(item);
            lines.push(line);
        }
        if a.owner.is_none() && !m.owner_fields().is_empty() {
            owner_models.push(model.to_string());
        }
        out.push(Source { model: model.to_string(), origin: file.to_string(), items, lines: Some(lines) });
    }
    if !owner_models.is_empty() {
        tracing::warn!(
            "models {} have owner auth rules, and their CSV rows get no owner: the app will not show them to any user. Give --owner SUB::USERNAME",
            owner_models.join(", ")
        );
    }
    Ok(out)
}

fn print(reports: &[seed::TableReport], where_: &str, format: Format) -> Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "target": where_, "tables": reports }))?);
        return Ok(());
    }
    println!("loaded into {where_}");
    for r in reports {
        let w = &r.written;
        let resumed = if w.already > 0 { format!(" ({} written before the resume)", w.already) } else { String::new() };
        let created = if r.created { ", created" } else { "" };
        println!(
            "  {} -> {}{created}: {} items{resumed}, {} calls, {} retries ({} throttled), {:.1} write units, {:.1} s, from {}",
            r.model,
            r.table,
            w.items,
            w.calls,
            w.retries,
            w.throttled,
            w.consumed_write_units,
            w.seconds,
            r.sources.join(", ")
        );
    }
    Ok(())
}
