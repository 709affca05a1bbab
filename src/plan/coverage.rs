//! What a plan leaves out. A transform's WHERE clause decides which items
//! it returns; the rest stay as they are, and the new model's checks may
//! still fail on them ("268 items have no name; after the plan they fail
//! firstName.required"). The counts of operations alone hide this: here
//! each table's items are split into returned and not returned, and each
//! failing check's violations among the items not returned are counted.

use std::collections::{BTreeMap, HashMap};

use arrow::array::BooleanArray;

use super::manifest::{CheckComparison, Summary};
use super::targets::Target;
use crate::catalog::{Catalog, quote_ident};
use crate::checks::generate::Check;
use crate::checks::run::Status;
use crate::error::Result;
use crate::load::LoadedTable;

/// The table the items a transform left out are registered under (key
/// columns only) in the after-state's catalog.
fn untouched_table(table: &str) -> String {
    format!("__ddbsnap_untouched_{table}")
}

/// Fills each loaded table's coverage in `summary`, and registers the keys
/// of the items not returned in `after` for [`count_untouched`].
pub fn measure(summary: &mut Summary, loaded: &[LoadedTable], targets: &HashMap<String, Target>, after: &Catalog) -> Result<()> {
    for l in loaded {
        let name = l.name();
        let Some(target) = targets.get(name) else { continue };
        let returned = target.returned();
        let count = returned.map_or(0, |r| r.iter().map(|b| b.iter().filter(|x| **x).count() as u64).sum());
        let c = summary.tables.entry(name.to_string()).or_default();
        c.read = l.report.items;
        c.returned = count;
        c.not_returned = l.report.items.saturating_sub(count);
        c.operations = summary.operations.get(name).map_or(0, |ops| ops.values().sum());
        if c.not_returned == 0 {
            continue;
        }
        let keys: Vec<usize> = target.info.key.iter().filter_map(|k| l.schema.arrow.index_of(k).ok()).collect();
        if keys.len() != target.info.key.len() {
            continue;
        }
        let mut batches = Vec::with_capacity(l.batches.len());
        for (i, b) in l.batches.iter().enumerate() {
            let keep: BooleanArray = match returned {
                Some(r) => r[i].iter().map(|x| Some(!x)).collect(),
                None => std::iter::repeat_n(Some(true), b.num_rows()).collect(),
            };
            batches.push(arrow::compute::filter_record_batch(&b.project(&keys)?, &keep)?);
        }
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => std::sync::Arc::new(l.schema.arrow.project(&keys)?),
        };
        after.add_batches(&untouched_table(name), schema, batches)?;
    }
    Ok(())
}

/// For each check failing after the plan on a table with items left out,
/// how many of its violations are such items. Checks whose rows do not
/// carry the table's whole key are not counted.
pub async fn count_untouched(summary: &mut Summary, checks: &[CheckComparison], after_checks: &[Check], after: &Catalog) {
    for c in checks.iter().filter(|c| c.after.status == Status::Fail) {
        let Some(coverage) = summary.tables.get_mut(&c.table).filter(|t| t.not_returned > 0) else { continue };
        let Some(check) = after_checks.iter().find(|a| a.name == c.name && a.table == c.table) else { continue };
        if let Some(n) = untouched_violations(check, after).await.filter(|n| *n > 0) {
            coverage.untouched_failing.insert(c.name.clone(), n);
        }
    }
}

async fn untouched_violations(check: &Check, after: &Catalog) -> Option<u64> {
    let table = datafusion::common::TableReference::bare(untouched_table(&check.table));
    let keys = after.context().table_provider(table).await.ok()?.schema();
    let names: Vec<&String> = keys.fields().iter().map(|f| f.name()).collect();
    if names.is_empty() || !names.iter().all(|k| check.keys.contains(k)) {
        return None;
    }
    let on: Vec<String> = names.iter().map(|k| format!("u.{k} = v.{k}", k = quote_ident(k))).collect();
    let sql = format!(
        "SELECT count(*) FROM ({}\n) AS v WHERE EXISTS (SELECT 1 FROM {} AS u WHERE {})",
        check.sql,
        quote_ident(&untouched_table(&check.table)),
        on.join(" AND ")
    );
    let r = match after.query_read_only(&sql, &format!("check {} on the items left out", check.name)).await {
        Ok(r) => r,
        Err(e) => {
            // The check itself ran; only this breakdown of it failed: said, not hidden.
            tracing::warn!("counting check {} on the items the transform left out: {e}", check.name);
            return None;
        }
    };
    let b = r.batches.iter().find(|b| b.num_rows() > 0)?;
    b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0) as u64)
}

/// `Contact: 199 items; the transform returned 193 (190 operations, 3 no-ops, 0 skipped) and left out 6`,
/// then one line per check failing on items left out.
pub fn lines(summary: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    for (table, c) in &summary.tables {
        if c.read == 0 && c.returned == 0 {
            continue;
        }
        out.push(format!(
            "{}: {} items read; the transform returned {} of them ({} operations, {} no-ops, {} skipped) and left {} out",
            crate::error::escape_unsafe(table),
            n(c.read),
            n(c.returned),
            n(c.operations),
            n(c.noops),
            n(c.skipped),
            n(c.not_returned)
        ));
        let failing: BTreeMap<&String, &u64> = c.untouched_failing.iter().collect();
        for (check, k) in failing {
            out.push(format!("  {} of the items left out fail {} after the plan", n(*k), crate::error::escape_unsafe(check)));
        }
    }
    out
}

fn n(v: u64) -> String {
    crate::report::plan::n(v)
}

/// How many of `after`'s violations (on the after-state) are items that
/// were not among `before`'s (on the snapshot), matched by the check's key
/// columns. None when the check names no keys (its count is all there is)
/// or the comparison cannot run (said on stderr).
pub async fn newly_failing(before_catalog: &Catalog, after: &Catalog, before: &Check, check: &Check) -> Option<u64> {
    if check.keys.is_empty() || before.keys != check.keys {
        return None;
    }
    let cols: Vec<String> = check.keys.iter().map(|k| quote_ident(k)).collect();
    let what = format!("check {} before the plan", check.name);
    let run = async {
        let failing =
            before_catalog.query_read_only(&format!("SELECT DISTINCT {} FROM ({}\n) AS v", cols.join(", "), before.sql), &what).await?;
        let table = format!("__ddbsnap_failing_before_{}", check.name);
        after.add_batches(&table, failing.schema.clone(), failing.batches)?;
        let on: Vec<String> = cols.iter().map(|k| format!("b.{k} = v.{k}")).collect();
        let sql = format!(
            "SELECT count(*) FROM ({}\n) AS v WHERE NOT EXISTS (SELECT 1 FROM {} AS b WHERE {})",
            check.sql,
            quote_ident(&table),
            on.join(" AND ")
        );
        let r = after.query_read_only(&sql, &format!("check {} after the plan", check.name)).await;
        let _ = after.context().deregister_table(datafusion::common::TableReference::bare(table));
        let r = r?;
        let n = r
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0) as u64));
        Ok::<_, crate::Error>(n.unwrap_or(0))
    };
    match run.await {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(
                "comparing the items that fail check {} before and after the plan: {e}; only the counts are compared",
                check.name
            );
            None
        }
    }
}
