//! The Parquet cache of exports, for `sql` and `check` on exports larger
//! than memory.
//!
//! Read into memory, an export takes about twice its items' size (the raw
//! and the typed columns). When that does not fit (the estimate is over
//! `--memory-limit`, or over half the memory the system has available),
//! the table is converted instead, in bounded memory, to Parquet under the
//! cache folder (`--cache-dir`, default the user's `~/.cache/ddbsnap`), and the
//! queries stream from there under DataFusion's memory limit. The next run
//! on the same export reuses the files.
//!
//! A cache entry is named by a SHA-256 over everything that decides the
//! table's contents: the table name, each export of its chain (ARN, times,
//! item count) with every data file's key, MD5 checksum and item count from
//! `manifest-files.json`, `--as-of` and `--strict`, and the cache format.
//! A changed export (a new incremental, a rewritten file) is another entry.
//! Entries are written under a temporary name and renamed into place whole,
//! so a crash or a concurrent run never leaves half an entry to reuse.
//! Exports without manifests (a lone data file) are never cached: there is
//! nothing to recognise them by.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, quote_ident};
use crate::error::{Error, Result};
use crate::load::LoadEnv;
use crate::snapshot::TableSnapshot;
use crate::snapshot::read::{ExportFiles, load_files};

/// Bumped whenever the Parquet written for a table would differ.
const FORMAT: &str = "ddbsnap-cache/2";

/// Whether exports go through the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CacheMode {
    /// When a table would not fit in memory.
    #[default]
    Auto,
    /// Every table with manifests (repeated runs on one export start at once).
    Always,
    /// Never: every table is read into memory.
    Never,
}

/// How to decide and where to write.
#[derive(Clone, Debug)]
pub struct CacheSettings {
    pub mode: CacheMode,
    /// Default: see [`CacheSettings::root`].
    pub dir: Option<PathBuf>,
    /// `--memory-limit`, the budget an auto decision compares with.
    pub memory_limit: Option<usize>,
}

impl CacheSettings {
    /// `--cache-dir`, else the user's cache folder (`$XDG_CACHE_HOME/ddbsnap`
    /// or `~/.cache/ddbsnap`), never a folder shared with other users.
    pub fn root(&self) -> PathBuf {
        if let Some(d) = &self.dir {
            return d.clone();
        }
        let home = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = home.or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")));
        home.map(|h| h.join("ddbsnap")).unwrap_or_else(|| std::env::temp_dir().join(format!("ddbsnap-cache-{}", uid())))
    }
}

/// What an entry records beside its Parquet, checked before it is reused.
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryInfo {
    format: String,
    /// Rows in `data.parquet`.
    items: u64,
    /// Local data files as they were read: path, size, modification time
    /// (ns). A file changed since, under the same manifests, is no longer
    /// the export the entry was made from.
    files: Vec<(PathBuf, u64, i128)>,
    /// The reader's warnings (chain gaps...), said again on every reuse.
    warnings: Vec<String>,
}

const INFO: &str = "entry.json";

/// Bytes reading `t` into memory would take, roughly: twice its items'
/// size (raw and typed columns), at least 250 bytes an item (generated and
/// redacted exports report a billed size of 0).
pub fn memory_estimate(t: &TableSnapshot) -> u64 {
    let billed = t.exports().fold(0u64, |b, e| b.saturating_add(e.summary.billed_size_bytes.unwrap_or(0)));
    billed.max(items(t).saturating_mul(250)).saturating_mul(2)
}

/// Items in `t`'s exports, as their manifests count them.
fn items(t: &TableSnapshot) -> u64 {
    t.exports().fold(0u64, |i, e| i.saturating_add(e.summary.item_count))
}

fn uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The memory an auto decision allows a table: `--memory-limit`, else half
/// of what the system has available (None: unknown, so no limit).
fn budget(s: &CacheSettings) -> Option<u64> {
    match s.memory_limit {
        Some(l) => Some(l as u64),
        None => available().map(|a| a / 2),
    }
}

/// The memory the system has available now (Linux's MemAvailable).
fn available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Planning holds the snapshot in memory (the before-images are read from
/// it and the after-state is built beside it): measured at 1.75 GB for 2M
/// generated items, about 1.7 times [`memory_estimate`]'s reading figure
/// and never above twice it. A plan that cannot fit is refused before
/// anything is read, with the estimate and the way round it, instead of
/// being killed by the kernel part way.
pub fn refuse_plan_beyond_memory(tables: &[TableSnapshot], memory_limit: Option<usize>) -> Result<()> {
    let items: u64 = tables.iter().map(items).sum();
    let need: u64 = tables.iter().map(|t| memory_estimate(t).saturating_mul(2)).sum();
    let (have, what) = match (memory_limit, available()) {
        (Some(l), _) => (l as u64, "--memory-limit"),
        (None, Some(a)) => (a, "the memory available"),
        (None, None) => return Ok(()),
    };
    if need <= have {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "planning {items} items holds the snapshot in memory: about {}, more than {what} ({}). Plan on a machine with at least {} \
         available (a plan of a full table must see every item), or, if you know it fits, say so with --memory-limit {}G",
        gb(need),
        gb(have),
        gb(need),
        need.div_ceil(1 << 30)
    )))
}

/// Whether `t` goes through the cache, and why (for the user's log line).
/// Tables without manifests, read with `--quarantine` (they may not be
/// whole) or with no items are read into memory whatever the mode.
pub fn wanted(t: &TableSnapshot, s: &CacheSettings, quarantining: bool) -> Option<String> {
    if t.exports().any(|e| e.bare) || quarantining || items(t) == 0 {
        if s.mode == CacheMode::Always {
            tracing::warn!("table {}: not cached (no manifests, --quarantine, or no items): read into memory", t.name);
        }
        return None;
    }
    match s.mode {
        CacheMode::Never => None,
        CacheMode::Always => Some("--cache always".into()),
        CacheMode::Auto => {
            let (need, have) = (memory_estimate(t), budget(s)?);
            (need > have).then(|| {
                let what = if s.memory_limit.is_some() { "--memory-limit" } else { "half the available memory" };
                format!("reading it into memory would take about {}, more than {what} ({})", gb(need), gb(have))
            })
        }
    }
}

/// A size as people read it: 340 MB, 1.2 GB.
fn gb(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.0} MB", b as f64 / 1e6),
        b => format!("{:.0} KB", (b as f64 / 1e3).max(1.0)),
    }
}

/// Each export's manifest of files (read and checked), in chain order.
async fn manifests(t: &TableSnapshot, strict: bool) -> Result<Vec<ExportFiles>> {
    let mut out = Vec::new();
    for e in t.exports() {
        out.push(load_files(e, strict, &mut Vec::new()).await?);
    }
    Ok(out)
}

/// The cache entry's name for `t`, whose manifests of files are `files`.
fn fingerprint(t: &TableSnapshot, files: &[ExportFiles], as_of: Option<DateTime<Utc>>, strict: bool) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field(FORMAT);
    field(env!("CARGO_PKG_VERSION"));
    // Maps and lists as text or as structs and lists: two different caches.
    field(if crate::convert::schema::nested_as_text() { "nested:json" } else { "nested:arrow" });
    field(&t.name);
    field(&as_of.map(|a| a.to_rfc3339()).unwrap_or_default());
    field(if strict { "strict" } else { "lenient" });
    for ef in files {
        let s = &ef.export.summary;
        field(&s.export_arn);
        field(&s.table_arn);
        field(&format!("{:?} {:?} {:?} {}", s.export_time, s.export_from_time, s.export_to_time, s.item_count));
        for f in &ef.files {
            field(&f.data_file_s3_key);
            field(&f.md5_checksum);
            field(&f.item_count.to_string());
        }
    }
    hex::encode(h.finalize())
}

/// The cached Parquet folder of `t` (`ROOT/<fingerprint>/<table>`),
/// converted now unless an earlier run left a sound one; and whether it
/// was reused. An entry that fails its checks (rows, local files changed,
/// unreadable) is removed and made again.
pub async fn cached(t: &TableSnapshot, env: &LoadEnv, root: &Path) -> Result<(PathBuf, bool)> {
    prepare_root(root)?;
    let files = manifests(t, env.read.strict).await?;
    let key = fingerprint(t, &files, env.as_of, env.read.strict);
    let entry = root.join(&key);
    if entry.exists() {
        match sound(&entry, &t.name) {
            Ok(info) => {
                info.warnings.iter().for_each(|w| tracing::warn!("table {}: {w}", t.name));
                return Ok((entry, true));
            }
            Err(why) => {
                tracing::warn!("table {}: the cache entry {} is {why}: making it again", t.name, entry.display());
                std::fs::remove_dir_all(&entry).map_err(|e| Error::io_path(&entry, e))?;
            }
        }
    }
    let partial = root.join(format!(".{key}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let made = make_entry(t, &files, env, &partial).await;
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    match std::fs::rename(&partial, &entry) {
        Ok(()) => Ok((entry, false)),
        // Another run finished the same entry first: use that one.
        Err(_) if sound(&entry, &t.name).is_ok() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok((entry, true))
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(Error::io_path(&entry, e))
        }
    }
}

/// Converts `t` into `dir` and records what the entry's checks need.
async fn make_entry(t: &TableSnapshot, files: &[ExportFiles], env: &LoadEnv, dir: &Path) -> Result<()> {
    let files = local_files(files)?;
    let converted = crate::output::convert_table(t, env, dir).await?;
    let info = EntryInfo { format: FORMAT.into(), items: converted.items, files, warnings: converted.report.warnings };
    let path = dir.join(INFO);
    std::fs::write(&path, serde_json::to_vec(&info).map_err(|e| Error::Invalid(e.to_string()))?).map_err(|e| Error::io_path(&path, e))
}

/// Size and modification time of every local data file of the chain
/// (S3 objects are recognised by their manifests' checksums alone).
fn local_files(files: &[ExportFiles]) -> Result<Vec<(PathBuf, u64, i128)>> {
    let mut out = Vec::new();
    for ef in files {
        let crate::snapshot::source::Source::Local(local) = ef.export.source.as_ref() else { continue };
        for f in &ef.files {
            let path = local.path(&f.data_file_s3_key)?;
            let (size, mtime) = size_and_time(&path).map_err(|err| Error::io_path(&path, err))?;
            out.push((path, size, mtime));
        }
    }
    Ok(out)
}

/// A file's size and modification time in nanoseconds.
fn size_and_time(path: &Path) -> std::io::Result<(u64, i128)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok((m.size(), m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128))
}

/// Checks an entry before it is reused; Err says what is wrong with it.
fn sound(entry: &Path, table: &str) -> std::result::Result<EntryInfo, String> {
    let text = std::fs::read(entry.join(INFO)).map_err(|_| "incomplete (no entry.json)".to_string())?;
    let info: EntryInfo = serde_json::from_slice(&text).map_err(|_| "unreadable (entry.json)".to_string())?;
    if info.format != FORMAT {
        return Err("of another format".into());
    }
    let data = entry.join(table).join("data.parquet");
    let file = std::fs::File::open(&data).map_err(|_| "incomplete (no data.parquet)".to_string())?;
    let meta = parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&file).map_err(|e| format!("unreadable ({e})"))?;
    let rows = meta.file_metadata().num_rows();
    if rows != info.items as i64 {
        return Err(format!("not what was written ({rows} rows, {} recorded)", info.items));
    }
    for (path, size, mtime) in &info.files {
        if size_and_time(path).ok() != Some((*size, *mtime)) {
            return Err(format!("stale ({} changed since)", path.display()));
        }
    }
    Ok(info)
}

/// Creates the cache folder (only its owner may enter it) or checks the one
/// there: ddbsnap reads no cache another user could have written. Leftovers
/// of runs that died while converting are removed.
fn prepare_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let shown = root.display();
    if root.to_string_lossy().contains(['[', ']', '{', '}', '*', '?']) {
        return Err(Error::Invalid(format!(
            "--cache-dir {shown}: [ ] {{ }} * ? in a path are read as patterns by the query engine; choose a folder without them"
        )));
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(root).map_err(|e| Error::Invalid(format!("--cache-dir {shown}: {e}")))?;
    let m = std::fs::metadata(root).map_err(|e| Error::Invalid(format!("--cache-dir {shown}: {e}")))?;
    if !m.is_dir() {
        return Err(Error::Invalid(format!("--cache-dir {shown}: not a folder")));
    }
    if m.uid() != uid() || m.mode() & 0o022 != 0 {
        return Err(Error::Invalid(format!(
            "--cache-dir {shown}: owned by another user or writable by others; ddbsnap does not read cached data others could have written: use a folder of your own"
        )));
    }
    for e in std::fs::read_dir(root).map_err(|e| Error::io_path(root, e))?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix('.').and_then(|n| n.rsplit_once(".partial-")).and_then(|(_, p)| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    Ok(())
}

/// A table's key is unique, checked by a query (the cached table is not in
/// memory): every item has the key attributes, and no key is there twice.
pub async fn check_unique_keys(catalog: &Catalog, table: &str, keys: &[String]) -> Result<()> {
    let t = quote_ident(table);
    let cols: Vec<String> = keys.iter().map(|k| quote_ident(k)).collect();
    let count = |sql: String| async move {
        let r = catalog.query(&sql).await?;
        Ok::<i64, Error>(r.first_i64().unwrap_or(0))
    };
    let schema = catalog.context().table_provider(datafusion::common::TableReference::bare(table)).await?.schema();
    for (k, c) in keys.iter().zip(&cols) {
        if schema.field_with_name(k).is_err() {
            return Err(Error::Invalid(format!("table {table}: no item has the key attribute {k:?} (the key is {keys:?})")));
        }
        let missing = count(format!("SELECT count(*) FROM {t} WHERE ddb_missing({c}) OR {c} IS NULL")).await?;
        if missing > 0 {
            return Err(Error::Invalid(format!("table {table}: {missing} items have no key attribute {k:?} (the key is {keys:?})")));
        }
    }
    let list = cols.join(", ");
    let n = count(format!("SELECT count(*) FROM (SELECT {list} FROM {t} GROUP BY {list} HAVING count(*) > 1)")).await?;
    if n == 0 {
        return Ok(());
    }
    // An item with the first such key, decoded, for its key as DynamoDB JSON.
    let on: Vec<String> = cols.iter().map(|c| format!("t.{c} = d.{c}")).collect();
    let first = catalog
        .query(&format!(
            "SELECT t.* FROM {t} AS t JOIN (SELECT {list} FROM {t} GROUP BY {list} HAVING count(*) > 1 LIMIT 1) AS d ON {} LIMIT 1",
            on.join(" AND ")
        ))
        .await?;
    let batch = first.batches.iter().find(|b| b.num_rows() > 0).ok_or_else(|| Error::Invalid("duplicate keys vanished".into()))?;
    let key = crate::convert::batch_to_items(&batch.slice(0, 1))?.remove(0);
    let key: crate::item::Item = key.into_iter().filter(|(k, _)| keys.contains(k)).collect();
    Err(Error::Invalid(format!(
        "table {table}: {n} keys are each held by several items, such as items with the same primary key {}: a table holds one item per key (the key is {keys:?})",
        crate::error::brief(&crate::item::ddbjson::item_to_string(&key), 200)
    )))
}
