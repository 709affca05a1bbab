//! Writing the subset: one full export per table in AWS's layout, under its
//! physical table name, plus `ddbsnap-subset.json` beside them.
//!
//! The exports go through the generator's [`ExportWriter`], so they carry
//! the same manifests and checksums as real ones and every reader path
//! accepts them. Everything written is a function of the source and the
//! options (the export time is the source's point in time, the writer's
//! randomness is seeded per table), so the same run gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::index::{Rows, score};
use super::{Masker, Result, SubsetError, SubsetReport};
use crate::error::Error;
use crate::generate::{ExportWriter, Rng};
use crate::load::LoadedTable;
use crate::snapshot::manifest::OutputFormat;

/// The report's file name, beside the exports.
pub const REPORT_FILE: &str = "ddbsnap-subset.json";

/// Items per data file written: small exports get one file.
const ITEMS_PER_FILE: usize = 100_000;

/// Where and how to write.
pub struct Target<'a> {
    pub out: &'a Path,
    pub format: OutputFormat,
    pub seed: u64,
}

/// What writing one table gave.
pub struct Written {
    pub physical_table: String,
    pub export_id: String,
    pub masked: BTreeMap<String, u64>,
}

/// Refuses a folder that already holds exports or a subset: a second export
/// of a table beside the first would make reading it ambiguous.
pub fn check_output(out: &Path) -> Result<()> {
    for name in ["AWSDynamoDB", REPORT_FILE] {
        if out.join(name).exists() {
            return Err(SubsetError::Output {
                dir: out.display().to_string(),
                why: format!("it already holds {name}; write a subset into a new or empty folder"),
            });
        }
    }
    Ok(())
}

/// Writes the `chosen` rows of `table` (in that order), masking `fields`.
pub fn write_table(
    target: &Target,
    table: &LoadedTable,
    rows: &Rows,
    chosen: &[u32],
    fields: &BTreeSet<String>,
    masker: &Masker,
) -> Result<Written> {
    let physical = physical_name(table);
    let mut rng = Rng::new(score(target.seed, &physical));
    let files = chosen.len().div_ceil(ITEMS_PER_FILE).max(1);
    let mut w = ExportWriter::new(target.out, "", &physical, target.format, export_time(table), files, false, &mut rng)?;
    let mut masked: BTreeMap<String, u64> = fields.iter().map(|f| (f.clone(), 0)).collect();
    for &row in chosen {
        let mut item = rows.item(row as usize)?;
        for (field, count) in masked.iter_mut() {
            let Some(v) = item.get_mut(field) else { continue };
            let (fake, n) = masker.mask_value(v).map_err(|source| SubsetError::Mask {
                table: table.name().to_string(),
                field: field.clone(),
                source,
            })?;
            *v = fake;
            *count += n;
        }
        w.add_item(&item, &mut rng)?;
    }
    let export_id = w.finish(None)?;
    tracing::info!(table = %table.name(), items = chosen.len(), %export_id, "written");
    Ok(Written { physical_table: physical, export_id, masked })
}

/// Writes `ddbsnap-subset.json`.
pub fn write_report(out: &Path, report: &SubsetReport) -> Result<()> {
    let path = out.join(REPORT_FILE);
    let text = serde_json::to_string_pretty(report).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io_path(&path, e))?;
    Ok(())
}

/// The DynamoDB table name from the source manifest's table ARN
/// (`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME`), so that the subset
/// imports into tables named like the originals.
fn physical_name(table: &LoadedTable) -> String {
    let arn = &table.snapshot.full.summary.table_arn;
    match arn.split_once(":table/") {
        Some((_, rest)) if !rest.is_empty() => rest.split('/').next().unwrap_or(rest).to_string(),
        _ => table.name().to_string(),
    }
}

/// The source's point in time, so the subset is dated like its data.
fn export_time(table: &LoadedTable) -> DateTime<Utc> {
    let s = &table.snapshot;
    s.point_in_time().or(s.full.summary.start_time).unwrap_or(DateTime::UNIX_EPOCH)
}
