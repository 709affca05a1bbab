//! Finding exports and chaining them into point-in-time tables.
//!
//! A user names an export folder, its `manifest-summary.json`, a folder or S3
//! prefix holding many exports, or `NAME=...` for any of these. Per table we
//! take the newest full export (at or before `--as-of`) and the incremental
//! exports that continue it, in time order. Real chains have gaps of seconds
//! between windows, so a gap or overlap is a warning naming the times, and an
//! error under `--strict`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::manifest::{self, ExportType, ManifestSummary, OutputFormat};
use super::source::{LocalSource, S3Source, Source};
use crate::error::{Error, Result};

/// One export, located and its summary read.
#[derive(Clone, Debug)]
pub struct ExportRef {
    pub source: Arc<Source>,
    /// Key of its `manifest-summary.json`.
    pub summary_key: String,
    pub summary: ManifestSummary,
    /// Set when the user wrote `NAME=EXPORT`.
    pub name: Option<String>,
    /// A lone data file given without manifests (`summary_key` is then the
    /// data file's key and the summary is made up from what is known).
    pub bare: bool,
}

impl ExportRef {
    pub fn describe(&self) -> String {
        self.source.describe(&self.summary_key)
    }
}

/// A table as of one point in time: a full export plus incrementals.
#[derive(Clone, Debug)]
pub struct TableSnapshot {
    pub name: String,
    pub full: ExportRef,
    pub incrementals: Vec<ExportRef>,
    /// Gaps and overlaps found in the chain (warnings unless strict).
    pub chain_warnings: Vec<String>,
}

impl TableSnapshot {
    /// The chain's exports: the full one, then each incremental.
    pub fn exports(&self) -> impl Iterator<Item = &ExportRef> {
        std::iter::once(&self.full).chain(&self.incrementals)
    }

    pub fn point_in_time(&self) -> Option<DateTime<Utc>> {
        self.incrementals.last().unwrap_or(&self.full).summary.point_in_time()
    }
}

/// How to reach S3.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub client: aws_sdk_s3::Client,
}

/// Finds every export under one command-line argument.
pub async fn find_exports(arg: &str, s3: Option<&S3Settings>) -> Result<Vec<ExportRef>> {
    let (name, spec) = split_name(arg);
    let mut found = if let Some(rest) = spec.strip_prefix("s3://") {
        let s3 = s3.ok_or_else(|| Error::Locate("S3 is not configured".into()))?;
        find_s3(rest, s3).await?
    } else {
        find_local(Path::new(spec)).await?
    };
    if found.is_empty() {
        return Err(Error::Locate(format!("no DynamoDB export (manifest-summary.json) found under {spec}")));
    }
    for e in &mut found {
        e.name = name.clone();
    }
    Ok(found)
}

/// `NAME=EXPORT` or just `EXPORT`. A `=` inside a path is kept when the part
/// before it does not look like a table name.
pub fn split_name(arg: &str) -> (Option<String>, &str) {
    if let Some((n, rest)) = arg.split_once('=')
        && !n.is_empty()
        && n.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return (Some(n.to_string()), rest);
    }
    (None, arg)
}

async fn find_local(path: &Path) -> Result<Vec<ExportRef>> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| Error::io_path(path, e))?;
    let summaries: Vec<PathBuf> = if meta.is_file() {
        if path.extension().is_some_and(|e| e == "gz") {
            return bare_file(path, &meta).map(|e| vec![e]);
        }
        if path.file_name().and_then(|n| n.to_str()) != Some("manifest-summary.json") {
            return Err(Error::Locate(format!("{} is a file but not a manifest-summary.json", path.display())));
        }
        vec![path.to_path_buf()]
    } else if path.join("manifest-summary.json").is_file() {
        vec![path.join("manifest-summary.json")]
    } else {
        let mut out = Vec::new();
        walk(path, 0, &mut out).map_err(|e| Error::io_path(path, e))?;
        out.sort();
        out
    };
    let mut refs = Vec::new();
    for p in summaries {
        let bytes = tokio::fs::read(&p).await.map_err(|e| Error::io_path(&p, e))?;
        let summary = ManifestSummary::parse(&p.display().to_string(), &bytes)?;
        let dir = p.parent().unwrap_or(Path::new("."));
        let local = LocalSource::for_export(dir, &summary.manifest_files_s3_key);
        let summary_key = sibling_key(&summary.manifest_files_s3_key, "manifest-summary.json");
        let source = Arc::new(Source::Local(local));
        refs.push(ExportRef { source, summary_key, summary, name: None, bare: false });
    }
    Ok(refs)
}

/// A single `.json.gz`/`.ion.gz` data file given on its own: the table is
/// named after the file, the format comes from its name or first bytes.
fn bare_file(path: &Path, meta: &std::fs::Metadata) -> Result<ExportRef> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("data.gz").to_string();
    let format = if file_name.ends_with(".ion.gz") {
        OutputFormat::Ion
    } else if file_name.ends_with(".json.gz") {
        OutputFormat::DynamodbJson
    } else {
        sniff_format(path)?
    };
    let stem = file_name.split('.').next().unwrap_or("data").to_string();
    let time: DateTime<Utc> = meta.modified().map(DateTime::<Utc>::from).unwrap_or_else(|_| Utc::now());
    let summary = ManifestSummary {
        version: None,
        export_arn: format!("file:{}", path.display()),
        start_time: None,
        end_time: None,
        table_arn: format!("local:table/{stem}"),
        table_id: None,
        export_time: Some(time),
        export_from_time: None,
        export_to_time: None,
        s3_bucket: None,
        s3_prefix: None,
        s3_sse_algorithm: None,
        s3_sse_kms_key_id: None,
        manifest_files_s3_key: String::new(),
        billed_size_bytes: None,
        item_count: 0,
        output_format: format,
        output_view: None,
        export_type: Some(ExportType::FullExport),
    };
    let root = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let source = Arc::new(Source::Local(LocalSource { root, strip: None }));
    Ok(ExportRef { source, summary_key: file_name, summary, name: None, bare: true })
}

fn sniff_format(path: &Path) -> Result<OutputFormat> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| Error::io_path(path, e))?;
    let mut head = [0u8; 16];
    let n = flate2::read::MultiGzDecoder::new(f).read(&mut head).map_err(|e| Error::io_path(path, e))?;
    let head = String::from_utf8_lossy(&head[..n]);
    if head.trim_start().starts_with('$') || head.trim_start().starts_with("{Item") {
        Ok(OutputFormat::Ion)
    } else {
        Ok(OutputFormat::DynamodbJson)
    }
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            walk(&entry.path(), depth + 1, out)?;
        } else if entry.file_name() == "manifest-summary.json" {
            out.push(entry.path());
        }
    }
    Ok(())
}

async fn find_s3(rest: &str, s3: &S3Settings) -> Result<Vec<ExportRef>> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::Locate(format!("s3://{rest}: no bucket name")));
    }
    let src = S3Source { client: s3.client.clone(), bucket: bucket.to_string() };
    let keys: Vec<String> = if prefix.ends_with("manifest-summary.json") {
        vec![prefix.to_string()]
    } else {
        src.list(prefix).await?.into_iter().filter(|k| k.ends_with("/manifest-summary.json") || k == "manifest-summary.json").collect()
    };
    let source = Arc::new(Source::S3(src));
    let mut refs = Vec::new();
    for key in keys {
        let bytes = source.read_small(&key).await?;
        let summary = ManifestSummary::parse(&source.describe(&key), &bytes)?;
        refs.push(ExportRef { source: source.clone(), summary_key: key, summary, name: None, bare: false });
    }
    Ok(refs)
}

/// The key of a file beside `key` (same folder).
pub fn sibling_key(key: &str, file: &str) -> String {
    match key.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{file}"),
        None => file.to_string(),
    }
}

/// Groups exports into tables and chains incrementals onto full exports.
pub fn plan_tables(exports: Vec<ExportRef>, as_of: Option<DateTime<Utc>>, strict: bool) -> Result<Vec<TableSnapshot>> {
    let mut by_table: BTreeMap<String, Vec<ExportRef>> = BTreeMap::new();
    for e in exports {
        let name = e.name.clone().unwrap_or_else(|| manifest::logical_table_name(e.summary.physical_table()));
        by_table.entry(name).or_default().push(e);
    }
    let mut tables = Vec::new();
    for (name, mut exports) in by_table {
        exports.sort_by_key(|e| (e.summary.point_in_time(), e.summary.export_arn.clone()));
        exports.dedup_by(|a, b| a.summary.export_arn == b.summary.export_arn);
        // Two different full exports as of the same time: which one holds
        // the table is not for ddbsnap to guess.
        let fulls: Vec<&ExportRef> = exports.iter().filter(|e| !e.summary.is_incremental()).collect();
        if let Some(w) = fulls.windows(2).find(|w| w[0].summary.point_in_time() == w[1].summary.point_in_time()) {
            return Err(Error::Chain {
                table: name,
                cause: format!(
                    "two full exports as of the same time ({}): {} and {}; give only one",
                    w[0].summary.point_in_time().map(|t| t.to_rfc3339()).unwrap_or_else(|| "unknown".into()),
                    w[0].describe(),
                    w[1].describe()
                ),
            });
        }
        let arns: std::collections::BTreeSet<&str> = exports.iter().map(|e| e.summary.table_arn.as_str()).collect();
        if arns.len() > 1 {
            return Err(Error::Chain {
                table: name,
                cause: format!("the exports given come from different tables: {}", arns.into_iter().collect::<Vec<_>>().join(", ")),
            });
        }
        let within = |e: &ExportRef| as_of.is_none_or(|t| e.summary.point_in_time().is_some_and(|p| p <= t));
        let full = exports.iter().rev().find(|e| !e.summary.is_incremental() && within(e)).cloned().ok_or_else(|| Error::Chain {
            table: name.clone(),
            cause: match as_of {
                Some(t) => format!("no full export at or before {t}; incremental exports need a full export to apply onto"),
                None => "no full export found; incremental exports need a full export to apply onto".into(),
            },
        })?;
        let full_time = full.summary.export_time.expect("full exports have exportTime (checked when parsed)");
        let explicit = exports.iter().any(|e| e.name.is_some());
        let mut incrementals = Vec::new();
        for e in exports.iter().filter(|e| e.summary.is_incremental() && within(e)) {
            let to = e.summary.export_to_time.expect("checked when parsed");
            if to <= full_time {
                if explicit {
                    return Err(Error::Chain {
                        table: name,
                        cause: format!(
                            "incremental export {} ({} to {}) ends before the full export {} ({}): out of order",
                            e.summary.export_id(),
                            e.summary.export_from_time.expect("checked"),
                            to,
                            full.summary.export_id(),
                            full_time
                        ),
                    });
                }
                tracing::info!(
                    "table {name}: incremental export {} ends before the full export {} and is already contained in it",
                    e.summary.export_id(),
                    full.summary.export_id()
                );
                continue;
            }
            incrementals.push(e.clone());
        }
        let chain_warnings = check_chain(&full, &incrementals);
        if strict && !chain_warnings.is_empty() {
            return Err(Error::Chain { table: name, cause: chain_warnings.join("; ") });
        }
        tables.push(TableSnapshot { name, full, incrementals, chain_warnings });
    }
    Ok(tables)
}

fn check_chain(full: &ExportRef, incrementals: &[ExportRef]) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut prev_end = full.summary.export_time.expect("checked");
    let mut prev_id = full.summary.export_id().to_string();
    for e in incrementals {
        let from = e.summary.export_from_time.expect("checked");
        let to = e.summary.export_to_time.expect("checked");
        let id = e.summary.export_id();
        if from > prev_end {
            warnings.push(format!(
                "gap of {} s between {prev_id} (ends {prev_end}) and {id} (starts {from}): changes in between are not in any export",
                (from - prev_end).num_milliseconds() as f64 / 1000.0
            ));
        } else if from < prev_end {
            warnings.push(format!(
                "overlap of {} s between {prev_id} (ends {prev_end}) and {id} (starts {from})",
                (prev_end - from).num_milliseconds() as f64 / 1000.0
            ));
        }
        prev_end = to;
        prev_id = id.to_string();
    }
    warnings
}
