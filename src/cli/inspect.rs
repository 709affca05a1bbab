//! `ddbsnap inspect`: what is in an export, checked against its manifests.

use crate::env::Env;
use anyhow::Result;
use serde::Serialize;

use super::{Global, build_env, finish_quarantine, progress::Progress};
use crate::convert::{RawBuilder, TableStats};
use crate::item::DdbType;
use crate::load;
use crate::snapshot::{self, ReadReport, TableSnapshot};

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// Exports to inspect ([NAME=]folder, manifest-summary.json or s3://bucket/prefix).
    #[arg(required = true, value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,
    /// A table's primary key, checked to be unique when the table is read:
    /// TABLE=PARTITION[,SORT]. Repeatable.
    #[arg(long = "key", value_name = "TABLE=PK[,SK]")]
    pub keys: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InspectFormat {
    Text,
    Json,
}

#[derive(Serialize)]
struct TableInfo {
    name: String,
    table_arn: String,
    /// False for a lone data file read without its manifests.
    manifest_verified: bool,
    full_export: ExportInfo,
    incremental_exports: Vec<ExportInfo>,
    point_in_time: Option<String>,
    items: u64,
    full_export_items: u64,
    manifest_item_count: u64,
    /// Incremental records, and what each says it is.
    change_records: u64,
    records_inserted: u64,
    records_updated: u64,
    records_deleted: u64,
    records_unknown: u64,
    /// Records that a later record of the same item replaced.
    superseded: u64,
    /// The net effect on the full export, one per item changed.
    inserted: u64,
    updated: u64,
    deleted: u64,
    no_effect: u64,
    quarantined_lines: u64,
    /// Of those, lines of the full export (compared with its manifest).
    #[serde(skip)]
    full_quarantined_lines: u64,
    data_files: usize,
    empty_data_files: usize,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
    avg_item_bytes: f64,
    max_item_bytes: u64,
    write_units_full_copy: u64,
    attributes: Vec<AttrInfo>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct ExportInfo {
    export_id: String,
    export_type: &'static str,
    format: String,
    time: Option<String>,
    from_time: Option<String>,
    to_time: Option<String>,
    item_count: u64,
    location: String,
}

#[derive(Serialize)]
struct AttrInfo {
    name: String,
    present: u64,
    present_pct: f64,
    types: Vec<(String, u64)>,
    avg_bytes: f64,
}

pub async fn run(g: &Global, env: &Env, a: InspectArgs) -> Result<u8> {
    let mut reading = build_env(g, env, &a.exports).await?;
    reading.keys = super::values::key_specs(&a.keys)?;
    let tables = load::locate(&a.exports, &reading).await?;
    let mut infos = Vec::new();
    for t in &tables {
        let progress = Progress::start(&format!("reading {}", t.name), g.quiet);
        reading.read.progress = progress.counter.clone();
        if reading.keys.contains_key(&t.name) {
            // A key to check: the table is loaded (as `sql` does) and its
            // keys checked; inspect otherwise keeps only statistics.
            let loaded = load::load_table(t, &reading).await?;
            drop(progress);
            infos.push(describe(t, &loaded.stats, &loaded.report));
            continue;
        }
        let (sinks, report) = snapshot::read_table(t, &reading.read, || RawBuilder::new(false)).await?;
        drop(progress);
        let mut stats = TableStats::default();
        for s in sinks {
            stats.merge(&s.finish().1);
        }
        infos.push(describe(t, &stats, &report));
    }
    finish_quarantine(&reading)?;
    match a.format {
        InspectFormat::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "tables": infos }))?),
        InspectFormat::Text => {
            for i in &infos {
                print_text(i);
            }
        }
    }
    Ok(0)
}

fn export_info(e: &crate::snapshot::ExportRef) -> ExportInfo {
    let s = &e.summary;
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    ExportInfo {
        export_id: s.export_id().to_string(),
        export_type: if s.is_incremental() { "INCREMENTAL" } else { "FULL" },
        format: format!("{:?}", s.output_format),
        time: fmt(s.export_time),
        from_time: fmt(s.export_from_time),
        to_time: fmt(s.export_to_time),
        item_count: s.item_count,
        location: e.describe(),
    }
}

fn describe(t: &TableSnapshot, stats: &TableStats, r: &ReadReport) -> TableInfo {
    let n = stats.items.max(1) as f64;
    let attributes = stats
        .attrs
        .iter()
        .map(|(name, a)| {
            let present = a.present();
            let mut types: Vec<(String, u64)> = DdbType::ALL
                .iter()
                .filter(|ty| a.counts[**ty as usize] > 0)
                .map(|ty| (ty.name().to_string(), a.counts[*ty as usize]))
                .collect();
            types.sort_by_key(|t| std::cmp::Reverse(t.1));
            AttrInfo {
                name: name.clone(),
                present,
                present_pct: 100.0 * present as f64 / n,
                types,
                avg_bytes: a.bytes as f64 / present.max(1) as f64,
            }
        })
        .collect();
    TableInfo {
        name: t.name.clone(),
        table_arn: t.full.summary.table_arn.clone(),
        manifest_verified: !t.full.bare,
        full_export: export_info(&t.full),
        incremental_exports: t.incrementals.iter().map(export_info).collect(),
        point_in_time: t.point_in_time().map(|p| p.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        items: r.items,
        full_export_items: r.full_items,
        manifest_item_count: t.full.summary.item_count,
        change_records: r.changes,
        records_inserted: r.records_inserted,
        records_updated: r.records_updated,
        records_deleted: r.records_deleted,
        records_unknown: r.records_unknown,
        superseded: r.superseded,
        inserted: r.inserted,
        updated: r.updated,
        deleted: r.deleted,
        no_effect: r.no_effect,
        quarantined_lines: r.quarantined,
        full_quarantined_lines: r.full_quarantined,
        data_files: r.data_files,
        empty_data_files: r.empty_files,
        compressed_bytes: r.compressed_bytes,
        uncompressed_bytes: r.uncompressed_bytes,
        avg_item_bytes: stats.total_item_bytes as f64 / n,
        max_item_bytes: stats.max_item_bytes,
        write_units_full_copy: stats.write_units(),
        attributes,
        warnings: r.warnings.clone(),
    }
}

fn print_text(i: &TableInfo) {
    let esc = crate::error::escape_unsafe;
    println!("table {}  ({})", esc(&i.name), esc(&i.table_arn));
    let f = &i.full_export;
    if i.manifest_verified {
        println!("  full export   {}  {}  {}  {} items", f.export_id, f.format, f.time.as_deref().unwrap_or("?"), f.item_count);
    } else {
        println!("  data file     {}  {}", f.location, f.format);
    }
    for e in &i.incremental_exports {
        println!(
            "  incremental   {}  {}  {} .. {}  {} records",
            e.export_id,
            e.format,
            e.from_time.as_deref().unwrap_or("?"),
            e.to_time.as_deref().unwrap_or("?"),
            e.item_count
        );
    }
    let matches = if !i.manifest_verified {
        "no manifest: counts and checksums not verified"
    } else if i.full_export_items + i.full_quarantined_lines == i.manifest_item_count {
        "matches the manifest"
    } else {
        "DOES NOT match the manifest"
    };
    println!("  point in time {}", i.point_in_time.as_deref().unwrap_or("?"));
    println!("  items         {} (full export {} items, {matches})", i.items, i.full_export_items);
    if !i.incremental_exports.is_empty() {
        let unknown = if i.records_unknown > 0 { format!(", {} writes without an old image", i.records_unknown) } else { String::new() };
        println!(
            "  changes       {} records: {} inserts, {} updates, {} deletes{unknown}",
            i.change_records, i.records_inserted, i.records_updated, i.records_deleted
        );
        println!(
            "  net effect    {} inserted, {} updated, {} deleted, {} with no effect; {} records superseded by a later one of the same item",
            i.inserted, i.updated, i.deleted, i.no_effect, i.superseded
        );
    }
    if i.quarantined_lines > 0 {
        println!("  QUARANTINED   {} lines (not in the items above)", i.quarantined_lines);
    }
    println!(
        "  data files    {} ({} empty), {} bytes compressed, {} bytes of text",
        i.data_files, i.empty_data_files, i.compressed_bytes, i.uncompressed_bytes
    );
    println!(
        "  item size     avg {:.0} B, max {} B; a full copy costs {} write units",
        i.avg_item_bytes, i.max_item_bytes, i.write_units_full_copy
    );
    let width = i.attributes.iter().map(|a| a.name.len()).max().unwrap_or(9).max(9);
    println!("  {:width$}  {:>7}  types", "attribute", "present");
    for a in &i.attributes {
        let types: Vec<String> = a.types.iter().map(|(t, c)| format!("{t} {:.1}%", 100.0 * *c as f64 / a.present.max(1) as f64)).collect();
        println!("  {:width$}  {:>6.1}%  {}", esc(&a.name), a.present_pct, types.join(", "));
    }
    for w in &i.warnings {
        println!("  warning: {}", esc(w));
    }
    println!();
}
