//! `export --scan`: a table read with a consistent, parallel Scan and
//! written as a FULL export in AWS's exact layout (data files, manifests,
//! checksums), for tables without point-in-time recovery: DynamoDB Local, a
//! staging table just loaded, a table after an apply.
//!
//! A scan is not a point in time: an item written while it runs may or may
//! not be in it. The export time is the scan's start. Pages stream from the
//! segments into the writer; the table is never held in memory.

use std::path::Path;

use aws_sdk_dynamodb::Client;
use chrono::Utc;
use futures::StreamExt;

use super::tables::Table;
use crate::apply::value::item_from_sdk;
use crate::error::{Error, Result};
use crate::generate::{ExportWriter, Rng};
use crate::item::Item;
use crate::rehearse::scan::{scan_page, segments_for};
use crate::snapshot::manifest::OutputFormat;

/// Items per data file.
const ITEMS_PER_FILE: u64 = 100_000;

/// Scan requests in flight at once.
const IN_FLIGHT: usize = 8;

/// What one scan export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scanned {
    pub table: String,
    pub items: u64,
    pub export_id: String,
    /// The export folder (local; the caller uploads it for S3).
    pub dir: std::path::PathBuf,
    pub seconds: f64,
}

/// Where the export goes: `out` plays the bucket root, `prefix` the S3 prefix.
pub struct Destination<'a> {
    pub out: &'a Path,
    pub prefix: &'a str,
    /// The bucket named in the manifest.
    pub bucket: &'a str,
    pub format: OutputFormat,
}

/// Scans `t` into a new export under `dest`.
pub async fn scan_export(
    client: &Client,
    t: &Table,
    dest: &Destination<'_>,
    progress: Option<&std::sync::atomic::AtomicU64>,
) -> Result<Scanned> {
    let started = std::time::Instant::now();
    let time = Utc::now();
    let mut rng = Rng::new(time.timestamp_nanos_opt().unwrap_or_default() as u64 ^ std::process::id() as u64);
    let files = (t.item_count / ITEMS_PER_FILE + 1) as usize;
    let mut w = ExportWriter::new(dest.out, dest.prefix, &t.name, dest.format, time, files, false, &mut rng)?;
    w.identify(&t.arn, dest.bucket);
    let dir = w.dir().to_path_buf();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Item>>(IN_FLIGHT * 2);
    let writer = tokio::task::spawn_blocking(move || -> Result<(ExportWriter, Rng, u64)> {
        let mut n = 0u64;
        while let Some(page) = rx.blocking_recv() {
            for it in &page {
                w.add_item(it, &mut rng)?;
            }
            n += page.len() as u64;
        }
        Ok((w, rng, n))
    });
    let segments = segments_for(t.item_count);
    let scanned: Vec<Result<()>> = futures::stream::iter(0..segments)
        .map(|s| {
            let tx = tx.clone();
            async move { segment(client, &t.name, s, segments, &tx, progress).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    drop(tx);
    let written = writer.await.map_err(|e| Error::Invalid(format!("the export writer of {} failed: {e}", t.name))).and_then(|r| r);
    // A failed scan or write leaves no half export behind: without its
    // manifests it could be mistaken for a data file given alone.
    let finished = written.and_then(|(mut w, _, items)| {
        scanned.into_iter().collect::<Result<Vec<()>>>()?;
        w.set_end_time(Utc::now());
        Ok((w.finish(None)?, items))
    });
    let (export_id, items) = match finished {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    Ok(Scanned { table: t.name.clone(), items, export_id, dir, seconds: started.elapsed().as_secs_f64() })
}

/// Pages through one segment, sending each page's items to the writer.
async fn segment(
    client: &Client,
    table: &str,
    segment: i32,
    total: i32,
    tx: &tokio::sync::mpsc::Sender<Vec<Item>>,
    progress: Option<&std::sync::atomic::AtomicU64>,
) -> Result<()> {
    let mut start = None;
    loop {
        let page = scan_page(client, table, (segment, total), None, start).await?;
        let items = page
            .items()
            .iter()
            .map(|m| item_from_sdk(m).map_err(|e| Error::Invalid(format!("scanning table {table}: {e}"))))
            .collect::<Result<Vec<Item>>>()?;
        if let Some(p) = progress {
            p.fetch_add(items.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        tx.send(items).await.map_err(|_| Error::Invalid(format!("scanning table {table}: the export writer stopped")))?;
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(());
        }
    }
}
