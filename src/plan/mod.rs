//! Transform previews and reviewed plan files: Terraform's plan/apply, for
//! DynamoDB items.
//!
//! A migration is SQL over the snapshot (a [`transform`]) whose result rows
//! say what each item should become ([`rows`] is the contract). Planning
//! runs it, validates every row against DynamoDB's rules, matches it with
//! the item in the snapshot, drops rows that change nothing, and streams the
//! operations into a plan file ([`file`]). It then builds the data as it
//! would be afterwards ([`after`]) and runs the same checks on both states,
//! so "validation passes after the migration" is known before anything is
//! written. The manifest ([`manifest`]) records all of it, and its SHA-256
//! is what a reviewer approves.

pub mod after;
pub mod build;
pub mod coverage;
pub mod file;
pub mod listing;
pub mod manifest;
pub mod op;
pub mod patch;
pub mod rows;
pub mod targets;
pub mod transform;
pub mod validate;

use std::collections::BTreeSet;
use std::path::Path;

use crate::catalog::Catalog;
use crate::checks::files::CheckFile;
use crate::checks::model::ModelIntrospection;
use crate::checks::run::{CheckResult, Status, run_check};
use crate::checks::suite;
use crate::convert::TableSchema;
use crate::error::Result;
use crate::item::{AttrValue, Item};
use crate::load::LoadedTable;
use manifest::{CheckComparison, CheckOutcome, Cost, OpsFile, PlanManifest, SourceExport, SourceTable, TargetTable};
use rows::OpKind;
use targets::Target;
use transform::Transform;

/// One planned operation, as stored in the plan.
#[derive(Debug, Clone)]
pub struct PlannedOp {
    /// The transform's result row it came from (1-based).
    pub row: u64,
    pub table: String,
    pub kind: OpKind,
    pub key_json: String,
    /// UPDATE: the attributes set (only those that change); PUT: the item.
    pub set_json: Option<String>,
    /// UPDATE: attributes removed (only those present).
    pub remove: Vec<String>,
    /// The item in the snapshot, canonical (sets sorted), when it exists.
    pub before_json: Option<String>,
    pub before_sha256: Option<String>,
    /// What the item becomes; not stored in the plan (it follows from the
    /// rest), but gathered for the after-state checks.
    pub after: After,
    pub write_units: u32,
}

/// What an operation leaves of its item.
#[derive(Debug, Clone)]
pub enum After {
    /// DELETE: nothing.
    Gone,
    /// PUT: the whole item, as DynamoDB JSON.
    Item(String),
    /// UPDATE: the attributes set (only those that change) and removed.
    Patch(Item, Vec<String>),
}

/// An item with its sets sorted: the form fingerprints are taken of, since
/// DynamoDB does not keep set order.
pub fn canonical(item: &Item) -> Item {
    item.iter().map(|(k, v)| (k.clone(), canonical_value(v))).collect()
}

/// A value with its sets sorted.
pub fn canonical_value(v: &AttrValue) -> AttrValue {
    let mut v = v.clone();
    crate::item::sort_sets(&mut v);
    v
}

/// Everything planning needs.
pub struct PlanRequest<'a> {
    pub transform: Transform,
    /// The snapshot, already registered in `catalog` (with any extra inputs).
    pub loaded: &'a [LoadedTable],
    pub catalog: &'a Catalog,
    pub targets: Vec<TargetTable>,
    /// The new data model, whose checks run before and after.
    pub intro: Option<&'a ModelIntrospection>,
    /// The snapshot's schemas as read (before columns for absent attributes
    /// were added): the before-state checks are generated from these.
    pub before_schemas: Vec<(String, TableSchema)>,
    pub check_files: Vec<CheckFile>,
    pub samples: usize,
    pub price_per_million: f64,
    pub write_rate: f64,
    /// The run's context: its pool, runtime and clock.
    pub env: &'a crate::env::Env,
}

/// Plans `req` into a new plan folder `out` and returns its manifest. On
/// any error nothing is left at `out`.
pub async fn make(req: PlanRequest<'_>, out: &Path) -> Result<PlanManifest> {
    let mut writer = file::PlanWriter::create(out, req.env.pool())?;
    let default_table = (req.loaded.len() == 1).then(|| req.loaded[0].name().to_string());
    let targets: Vec<Target> =
        req.targets.iter().map(|t| Target::new(t.clone(), req.loaded.iter().find(|l| l.name() == t.name), req.env.pool())).collect();
    let started = std::time::Instant::now();
    let mut planner = build::Planner::new(targets, req.samples, req.env.pool());
    planner.run(req.catalog, &req.transform.sql, default_table, &mut writer).await?;
    let (mut outcome, targets, images) = planner.into_parts();
    let ops_sha = writer.close_ops()?;
    tracing::info!(ops = writer.rows(), seconds = started.elapsed().as_secs_f64(), "operations planned");

    let changed: BTreeSet<String> = outcome.summary.operations.keys().cloned().collect();
    let rebuilt: BTreeSet<String> =
        outcome.summary.operations.iter().filter(|(_, ops)| ops.keys().any(|k| *k != OpKind::Update)).map(|(t, _)| t.clone()).collect();
    let started = std::time::Instant::now();
    let after = after::after_state(images, &changed, &rebuilt, &targets, req.loaded, req.env.pool()).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "after-state built");
    let after_catalog = Catalog::new(req.env);
    for t in &after {
        after_catalog.add_batches(&t.name, t.schema.arrow.clone(), t.batches.clone())?;
    }
    coverage::measure(&mut outcome.summary, req.loaded, &targets, &after_catalog)?;
    let after_schemas: Vec<(String, TableSchema)> = after.iter().map(|t| (t.name.clone(), t.schema.clone())).collect();
    let started = std::time::Instant::now();
    let (checks, after_checks) = compare_checks(&req, &after_catalog, &after_schemas).await;
    coverage::count_untouched(&mut outcome.summary, &checks, &after_checks, &after_catalog).await;
    tracing::info!(checks = checks.len(), seconds = started.elapsed().as_secs_f64(), "checks run before and after");

    let wcu = outcome.write_units;
    let manifest = PlanManifest {
        format: manifest::FORMAT.into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ddbsnap_version: env!("CARGO_PKG_VERSION").into(),
        transform: req.transform.clone(),
        sources: sources(req.loaded),
        targets: req.targets.iter().filter(|t| changed.contains(&t.name)).cloned().collect(),
        summary: outcome.summary,
        cost: Cost {
            write_units: wcu,
            price_per_million: req.price_per_million,
            usd: wcu as f64 / 1e6 * req.price_per_million,
            write_rate: req.write_rate,
            seconds: if req.write_rate > 0.0 { wcu as f64 / req.write_rate } else { 0.0 },
        },
        checks,
        samples: outcome.samples,
        skipped: outcome.skipped,
        ops_file: OpsFile { name: file::OPS_FILE.into(), rows: writer.rows(), sha256: ops_sha },
        sha256: None,
    };
    drop(targets);
    writer.finish(manifest)
}

/// Runs the checks on the snapshot and on the after-state, side by side.
async fn compare_checks(
    req: &PlanRequest<'_>,
    after_catalog: &Catalog,
    after_schemas: &[(String, TableSchema)],
) -> (Vec<CheckComparison>, Vec<crate::checks::generate::Check>) {
    let (before_checks, _) = suite::collect(req.intro, &req.before_schemas, &req.check_files);
    let (after_checks, _) = suite::collect(req.intro, after_schemas, &req.check_files);
    let mut out = Vec::with_capacity(after_checks.len());
    for c in &after_checks {
        let after = outcome(run_check(after_catalog, c, 5, false).await);
        let before_check = before_checks.iter().find(|b| b.name == c.name && b.table == c.table);
        let before = match before_check {
            Some(b) => Some(outcome(run_check(req.catalog, b, 0, false).await)),
            None => None,
        };
        let both_fail = after.status == Status::Fail && before.as_ref().is_some_and(|b| b.status == Status::Fail);
        let newly_failing = match before_check.filter(|_| both_fail) {
            Some(b) => {
                let counts = (before.as_ref().map_or(0, |o| o.violations), after.violations);
                let table_key = req.targets.iter().find(|t| t.name == c.table).map(|t| t.key.as_slice()).unwrap_or_default();
                coverage::newly_failing(req.catalog, after_catalog, (b, c), counts, table_key).await
            }
            None => None,
        };
        out.push(CheckComparison {
            name: c.name.clone(),
            table: c.table.clone(),
            severity: c.severity,
            description: c.description.clone(),
            before,
            after,
            newly_failing,
        });
    }
    (out, after_checks)
}

fn outcome(r: CheckResult) -> CheckOutcome {
    CheckOutcome { status: r.status, violations: r.violations, sample: r.sample, error: r.error }
}

fn sources(loaded: &[LoadedTable]) -> Vec<SourceTable> {
    loaded
        .iter()
        .map(|l| {
            let exports = std::iter::once(&l.snapshot.full)
                .chain(&l.snapshot.incrementals)
                .map(|e| SourceExport {
                    export_id: e.summary.export_id().to_string(),
                    export_arn: e.summary.export_arn.clone(),
                    table_arn: e.summary.table_arn.clone(),
                    kind: if e.summary.is_incremental() { "INCREMENTAL_EXPORT".into() } else { "FULL_EXPORT".into() },
                    as_of: e.summary.point_in_time().map(|t| t.to_rfc3339()),
                })
                .collect();
            SourceTable { table: l.name().to_string(), items: l.report.items, exports }
        })
        .collect()
}
