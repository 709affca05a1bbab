//! Reading a table snapshot: manifests verified, data files decoded
//! concurrently, incremental changes applied by key.
//!
//! Incremental exports are read first (they are small: only changed items)
//! into an overlay keyed by the table's key. The full export is then streamed
//! file by file on all cores; each item whose key is in the overlay is
//! replaced by its newest image or dropped if deleted, and items the overlay
//! inserts are emitted at the end. Nothing is held whole except the overlay,
//! so the consumer (an Arrow builder, a Parquet writer, a statistics pass)
//! decides how much memory a read takes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::decode::{self, FileSpec, FileStats, Line, Quarantine, Record};
use super::locate::{ExportRef, TableSnapshot};
use super::manifest::{self, DataFileEntry};
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson};

/// Receives a table's items; one sink per data file, merged by the caller.
pub trait ItemSink: Send + 'static {
    fn push(&mut self, item: Item) -> Result<()>;

    /// Takes a full-export DynamoDB JSON line without an [`Item`] being
    /// built, when the sink has a faster path for it; `false` means "send me
    /// the decoded item instead" (and the line must then be left untouched).
    fn push_json_line(&mut self, line: &[u8]) -> Result<bool> {
        let _ = line;
        Ok(false)
    }

    /// Called once the sink has every item it will get, on the thread that
    /// decoded its data file, so that a sink's last work (encoding its last
    /// row group) is spread over the pool like the decoding.
    fn finish_file(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Options for a read.
#[derive(Clone, Default)]
pub struct ReadOptions {
    /// The run's pool: data files are decoded on it, as many at once as it
    /// has threads.
    pub pool: crate::env::Pool,
    /// Chain gaps and manifest checksum mismatches become errors.
    pub strict: bool,
    pub quarantine: Option<Arc<Quarantine>>,
    /// Compressed bytes read so far, for progress bars.
    pub progress: Option<Arc<AtomicU64>>,
}

/// What a read saw, for `inspect` and for the user's confidence.
#[derive(Debug, Default, Clone)]
pub struct ReadReport {
    pub data_files: usize,
    pub empty_files: usize,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    /// Items in the full export (matches its manifest).
    pub full_items: u64,
    /// Incremental records read, by what each record says it is: an
    /// insert (a new image and no old one, in exports with old images), an
    /// update (old and new images), a delete (no new image), or a write of
    /// unknown kind (a new image, in exports without old images).
    pub changes: u64,
    pub records_inserted: u64,
    pub records_updated: u64,
    pub records_deleted: u64,
    pub records_unknown: u64,
    /// Records followed by a later record of the same item: only the last
    /// record of an item changes the table.
    pub superseded: u64,
    /// The net effect on the full export, one per item changed: inserted
    /// (not in the full export), updated, deleted, or nothing (deleted but
    /// never in the full export, such as an item inserted and deleted again
    /// within the chain). `changes` is always `superseded + inserted +
    /// updated + deleted + no_effect`.
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub no_effect: u64,
    pub quarantined: u64,
    /// Of those, lines of the full export (its manifest counts them).
    pub full_quarantined: u64,
    /// Items delivered: the point-in-time table.
    pub items: u64,
    pub warnings: Vec<String>,
}

/// The data files of one export, with its manifest checks done.
pub struct ExportFiles {
    pub export: ExportRef,
    pub files: Vec<DataFileEntry>,
}

/// Reads and checks an export's `manifest-files.json` and checksum files.
pub async fn load_files(export: &ExportRef, strict: bool, warnings: &mut Vec<String>) -> Result<ExportFiles> {
    if export.bare {
        let msg = format!("{}: a data file without its manifests: checksum and item count are not verified", export.describe());
        tracing::warn!("{msg}");
        warnings.push(msg);
        let entry = DataFileEntry { item_count: 0, md5_checksum: String::new(), etag: None, data_file_s3_key: export.summary_key.clone() };
        return Ok(ExportFiles { export: export.clone(), files: vec![entry] });
    }
    let src = &export.source;
    let files_key = &export.summary.manifest_files_s3_key;
    let files_bytes = src.read_small(files_key).await?;
    verify_checksum_file(export, files_key, &files_bytes, true, warnings).await?;
    let summary_bytes = src.read_small(&export.summary_key).await?;
    verify_checksum_file(export, &export.summary_key, &summary_bytes, strict, warnings).await?;
    let files = manifest::parse_files(&src.describe(files_key), &files_bytes)?;
    let total: u64 = files.iter().map(|f| f.item_count).sum();
    if total != export.summary.item_count {
        return Err(Error::manifest(
            src.describe(files_key),
            format!("data files list {total} items but manifest-summary.json says {}", export.summary.item_count),
        ));
    }
    Ok(ExportFiles { export: export.clone(), files })
}

/// Checks `NAME.md5` or `NAME.checksum` beside a manifest when present.
/// `manifest-summary.json` checksums are warnings unless strict: publishers
/// often redact account ids in summaries, and the summary's counts are
/// cross-checked against the files anyway.
async fn verify_checksum_file(export: &ExportRef, key: &str, bytes: &[u8], fatal: bool, warnings: &mut Vec<String>) -> Result<()> {
    let base = key.strip_suffix(".json").unwrap_or(key);
    for ext in ["md5", "checksum"] {
        let ck = format!("{base}.{ext}");
        if let Some(sum) = export.source.read_optional(&ck).await? {
            if !manifest::checksum_matches(&sum, bytes) {
                let cause = format!(
                    "checksum file does not match {} (expected {}, file has MD5 {})",
                    export.source.describe(key),
                    String::from_utf8_lossy(&sum).trim(),
                    manifest::md5_base64(bytes)
                );
                if fatal {
                    return Err(Error::manifest(export.source.describe(&ck), cause));
                }
                let msg = format!("{}: {cause}", export.source.describe(&ck));
                tracing::warn!("{msg}");
                warnings.push(msg);
            }
            return Ok(());
        }
    }
    Ok(())
}

/// Changes from incremental exports, by key, newest last.
#[derive(Default)]
pub struct Overlay {
    key_names: Vec<String>,
    changes: HashMap<String, Option<Item>>,
    order: Vec<String>,
}

impl Overlay {
    fn key_of(&self, item: &Item) -> Option<String> {
        let mut key = Item::new();
        for k in &self.key_names {
            key.insert(k.clone(), item.get(k)?.clone());
        }
        Some(ddbjson::item_to_string(&key))
    }
}

async fn build_overlay(table: &TableSnapshot, opts: &ReadOptions, report: &mut ReadReport) -> Result<Overlay> {
    let mut overlay = Overlay::default();
    for export in &table.incrementals {
        let files = load_files(export, opts.strict, &mut report.warnings).await?;
        let mut changes = Vec::new();
        for (_, sink) in decode_all(
            &files,
            opts,
            report,
            Vec::new,
            |v: &mut Vec<decode::Change>, line| {
                match line {
                    Line::Raw(_) => return Ok(false),
                    Line::Record(Record::Change(c)) => v.push(c),
                    Line::Record(Record::Item(_)) => unreachable!("decode_line rejects items in incremental exports"),
                }
                Ok(true)
            },
            |_| Ok(()),
        )
        .await?
        {
            changes.extend(sink);
        }
        changes.sort_by_key(|c| c.write_micros);
        for c in changes {
            let names: Vec<String> = c.keys.keys().cloned().collect();
            if overlay.key_names.is_empty() {
                overlay.key_names = names;
            } else if overlay.key_names != names {
                return Err(Error::Chain {
                    table: table.name.clone(),
                    cause: format!(
                        "export {} keys items by {:?}, earlier records by {:?}: an incremental export of another table?",
                        export.summary.export_id(),
                        names,
                        overlay.key_names
                    ),
                });
            }
            let key = ddbjson::item_to_string(&c.keys);
            report.changes += 1;
            let with_old = export.summary.output_view.as_deref() == Some("NEW_AND_OLD_IMAGES");
            match (&c.new_image, &c.old_image) {
                (None, _) => report.records_deleted += 1,
                (Some(_), Some(_)) => report.records_updated += 1,
                (Some(_), None) if with_old => report.records_inserted += 1,
                (Some(_), None) => report.records_unknown += 1,
            }
            if overlay.changes.insert(key.clone(), c.new_image).is_none() {
                overlay.order.push(key);
            }
        }
    }
    Ok(overlay)
}

/// Decodes every data file of an export concurrently into per-file sinks,
/// returned in manifest order.
async fn decode_all<S, N, F, E>(
    files: &ExportFiles,
    opts: &ReadOptions,
    report: &mut ReadReport,
    new_sink: N,
    on_record: F,
    at_end: E,
) -> Result<Vec<(String, S)>>
where
    S: Send + 'static,
    N: Fn() -> S,
    F: Fn(&mut S, Line<'_>) -> Result<bool> + Send + Sync + 'static,
    E: Fn(&mut S) -> Result<()> + Send + Sync + 'static,
{
    let on_record = Arc::new(on_record);
    let at_end = Arc::new(at_end);
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.pool.threads()));
    let summary = &files.export.summary;
    let mut tasks = Vec::new();
    for entry in &files.files {
        let spec = FileSpec {
            describe: files.export.source.describe(&entry.data_file_s3_key),
            format: summary.output_format,
            incremental: summary.is_incremental(),
            md5: (!files.export.bare).then(|| entry.md5_checksum.clone()),
            item_count: (!files.export.bare).then_some(entry.item_count),
        };
        let source = files.export.source.clone();
        let key = entry.data_file_s3_key.clone();
        let permit = limit.clone().acquire_owned().await.map_err(|e| Error::Invalid(e.to_string()))?;
        let quarantine = opts.quarantine.clone();
        let progress = opts.progress.clone();
        let on_record = on_record.clone();
        let at_end = at_end.clone();
        let mut sink = new_sink();
        let opened = source.open(&key).await?;
        let pool = opts.pool.clone();
        tasks.push(tokio::spawn(async move {
            pool.run(move || -> Result<(FileSpec, S, FileStats)> {
                let _permit = permit;
                let reader = opened.into_blocking(&spec.describe)?;
                let stats = decode::decode_file(reader, &spec, quarantine.as_deref(), progress, |r| on_record(&mut sink, r))?;
                at_end(&mut sink)?;
                Ok((spec, sink, stats))
            })
            .await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        let (spec, sink, stats) = t.await.map_err(|e| Error::Invalid(format!("reader task failed: {e}")))??;
        report.data_files += 1;
        if stats.records + stats.quarantined == 0 {
            report.empty_files += 1;
        }
        report.compressed_bytes += stats.compressed_bytes;
        report.uncompressed_bytes += stats.uncompressed_bytes;
        report.quarantined += stats.quarantined;
        out.push((spec.describe, sink));
    }
    Ok(out)
}

/// Per-file state while reading the full export.
struct FileState<S> {
    sink: S,
    matched: HashSet<String>,
    /// Hashes of the full export's keys seen in this file, with the item's
    /// position in the file (checked across files at the end).
    keys: HashMap<u128, u64>,
    full_items: u64,
    items: u64,
    updated: u64,
    deleted: u64,
}

/// Reads a table at its point in time into sinks made by `new_sink`: one per
/// data file of the full export, plus one for items that incrementals insert.
pub async fn read_table<S: ItemSink>(table: &TableSnapshot, opts: &ReadOptions, new_sink: impl Fn() -> S) -> Result<(Vec<S>, ReadReport)> {
    let mut report = ReadReport { warnings: table.chain_warnings.clone(), ..Default::default() };
    for w in &table.chain_warnings {
        tracing::warn!("table {}: {w}", table.name);
    }
    let overlay = Arc::new(build_overlay(table, opts, &mut report).await?);
    let files = load_files(&table.full, opts.strict, &mut report.warnings).await?;
    let quarantined_before = report.quarantined;
    let ov = overlay.clone();
    let states = decode_all(
        &files,
        opts,
        &mut report,
        || FileState { sink: new_sink(), matched: HashSet::new(), keys: HashMap::new(), full_items: 0, items: 0, updated: 0, deleted: 0 },
        move |st: &mut FileState<S>, line| {
            let item = match line {
                Line::Raw(raw) => {
                    let taken = ov.changes.is_empty() && st.sink.push_json_line(raw)?;
                    if taken {
                        st.full_items += 1;
                        st.items += 1;
                    }
                    return Ok(taken);
                }
                Line::Record(Record::Item(item)) => item,
                Line::Record(Record::Change(_)) => unreachable!("decode_line rejects changes in full exports"),
            };
            st.full_items += 1;
            if ov.changes.is_empty() {
                st.items += 1;
                st.sink.push(item)?;
                return Ok(true);
            }
            let key = ov.key_of(&item).ok_or_else(|| {
                Error::Invalid(format!(
                    "an item of the full export lacks the key attributes {:?} used by its incremental exports",
                    ov.key_names
                ))
            })?;
            // The full export holds one item per key: the incrementals name it.
            if let Some(first) = st.keys.insert(crate::plan::targets::key_hash(&key), st.full_items) {
                return Err(Error::Invalid(format!(
                    "the full export holds two items with the primary key {} (items {first} and {} of one data file); a table holds one item per key",
                    crate::error::brief(&key, 200),
                    st.full_items
                )));
            }
            let pushed = match ov.changes.get(&key) {
                None => {
                    st.items += 1;
                    st.sink.push(item)
                }
                Some(change) => {
                    st.matched.insert(key);
                    match change {
                        Some(new) => {
                            st.updated += 1;
                            st.items += 1;
                            st.sink.push(new.clone())
                        }
                        None => {
                            st.deleted += 1;
                            Ok(())
                        }
                    }
                }
            };
            pushed.map(|()| true)
        },
        |st: &mut FileState<S>| st.sink.finish_file(),
    )
    .await?;
    report.full_quarantined = report.quarantined - quarantined_before;
    let mut matched = HashSet::new();
    let mut sinks = Vec::with_capacity(states.len() + 1);
    let mut keys: HashMap<u128, (&str, u64)> = HashMap::new();
    for (file, st) in &states {
        for (hash, at) in &st.keys {
            if let Some((other, other_at)) = keys.insert(*hash, (file.as_str(), *at)) {
                return Err(Error::Invalid(format!(
                    "the full export holds two items with one primary key: item {other_at} of {other} and item {at} of {file}; a table holds one item per key"
                )));
            }
        }
    }
    drop(keys);
    for (_, st) in states {
        report.full_items += st.full_items;
        report.items += st.items;
        report.updated += st.updated;
        report.deleted += st.deleted;
        matched.extend(st.matched);
        sinks.push(st.sink);
    }
    let mut inserted = new_sink();
    for key in &overlay.order {
        if matched.contains(key) {
            continue;
        }
        match overlay.changes.get(key) {
            Some(Some(item)) => {
                inserted.push(item.clone())?;
                report.inserted += 1;
                report.items += 1;
            }
            _ => report.no_effect += 1,
        }
    }
    report.superseded = report.changes - overlay.changes.len() as u64;
    inserted.finish_file()?;
    sinks.push(inserted);
    Ok((sinks, report))
}
