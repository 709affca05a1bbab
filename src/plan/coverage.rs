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
use crate::report::plan::n;

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
    r.first_i64().map(|n| n as u64)
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

/// How many of `after`'s violating items (on the after-state) were not
/// among `before`'s (on the snapshot), matched by the check's key columns.
/// The keys of the side with fewer violations are collected and looked up
/// in the other side's query, so memory follows the smaller count (a new
/// required field fails on every item before a backfill, on few after).
/// None when the check names no keys (its count is all there is) or the
/// comparison cannot run (said on stderr).
pub async fn newly_failing(
    before_catalog: &Catalog,
    after: &Catalog,
    (before, check): (&Check, &Check),
    counts: (u64, u64),
    table_key: &[String],
) -> Option<u64> {
    // A check that names no keys is matched by its table's key, when its
    // rows carry those columns (else only its counts are compared).
    let (keys, guessed) = match (&check.keys, before.keys == check.keys) {
        (k, true) if !k.is_empty() => (k.as_slice(), false),
        _ if !table_key.is_empty() => (table_key, true),
        _ => return None,
    };
    let cols: Vec<String> = keys.iter().map(|k| quote_ident(k)).collect();
    let distinct = |sql: &str| format!("SELECT DISTINCT {} FROM ({sql}\n) AS v", cols.join(", "));
    let (before_count, after_count) = counts;
    let run = async {
        if after_count <= before_count {
            // After's keys, then those not among before's violations.
            let keys = after.query_read_only(&distinct(&check.sql), &format!("check {} after the plan", check.name)).await?;
            count_missing(before_catalog, keys, &before.sql, &cols, &check.name, false).await
        } else {
            // Before's keys, then after's violations not among them.
            let keys = before_catalog.query_read_only(&distinct(&before.sql), &format!("check {} before the plan", check.name)).await?;
            count_missing(after, keys, &check.sql, &cols, &check.name, true).await
        }
    };
    match run.await {
        Ok(n) => Some(n),
        Err(e) if guessed => {
            tracing::debug!("check {} names no keys and its rows lack the table's key ({e}): only its counts are compared", check.name);
            None
        }
        Err(e) => {
            tracing::warn!(
                "comparing the items that fail check {} before and after the plan: {e}; only the counts are compared",
                check.name
            );
            None
        }
    }
}

/// With `keys` registered in `catalog`: `outer_is_query` false counts the
/// keys not among `query`'s rows; true counts `query`'s distinct keys not
/// among `keys`.
async fn count_missing(
    catalog: &Catalog,
    keys: crate::catalog::QueryResult,
    query: &str,
    cols: &[String],
    name: &str,
    outer_is_query: bool,
) -> crate::error::Result<u64> {
    let table = quote_ident(&format!("__ddbsnap_keys_{name}"));
    let bare = format!("__ddbsnap_keys_{name}");
    catalog.add_batches(&bare, keys.schema.clone(), keys.batches)?;
    let on: Vec<String> = cols.iter().map(|k| format!("a.{k} = b.{k}")).collect();
    let distinct = format!("SELECT DISTINCT {} FROM ({query}\n) AS v", cols.join(", "));
    let (outer, inner) = if outer_is_query { (format!("({distinct})"), table.clone()) } else { (table.clone(), format!("({query}\n)")) };
    let sql = format!("SELECT count(*) FROM {outer} AS a WHERE NOT EXISTS (SELECT 1 FROM {inner} AS b WHERE {})", on.join(" AND "));
    let r = catalog.query_read_only(&sql, &format!("check {name} before and after the plan")).await;
    let _ = catalog.context().deregister_table(datafusion::common::TableReference::bare(bare));
    Ok(r?.first_i64().unwrap_or(0) as u64)
}
