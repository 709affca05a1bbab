//! Gzip data files, and the sets of them that one writer fills.
//!
//! A [`FileSet`] is the unit a thread owns: the files of an export are split
//! into disjoint sets so that workers write at once without sharing anything,
//! and each file's MD5 is computed while it is written (no second read), so
//! the manifest can be assembled from the sets' [`DataFileEntry`]s alone.

use std::io::Write;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use flate2::Compression;
use flate2::write::GzEncoder;
use md5::{Digest, Md5};

use super::rng::Rng;
use crate::error::{Error, Result};
use crate::item::{AttrValue, Item, ddbjson};
use crate::snapshot::ion;
use crate::snapshot::manifest::{DataFileEntry, OutputFormat};

/// Passes bytes through to `inner` and hashes them on the way.
struct Md5Writer<W> {
    inner: W,
    md5: Md5,
}

impl<W: Write> Write for Md5Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One gzip data file being written.
pub(super) struct DataFile {
    key: String,
    path: PathBuf,
    enc: GzEncoder<Md5Writer<std::io::BufWriter<std::fs::File>>>,
    items: u64,
}

impl DataFile {
    /// `mtime` goes into the gzip header: a fixed time keeps files deterministic.
    pub(super) fn create(path: PathBuf, key: String, mtime: u32) -> Result<DataFile> {
        let f = std::fs::File::create(&path).map_err(|e| Error::io_path(&path, e))?;
        let sink = Md5Writer { inner: std::io::BufWriter::new(f), md5: Md5::new() };
        let enc = flate2::GzBuilder::new().mtime(mtime).write(sink, Compression::new(6));
        Ok(DataFile { key, path, enc, items: 0 })
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        self.enc.write_all(line.as_bytes()).map_err(|e| Error::io_path(&self.path, e))?;
        self.items += 1;
        Ok(())
    }

    /// Closes the file; its manifest entry (count, MD5, ETag, key).
    pub(super) fn finish(self) -> Result<DataFileEntry> {
        let mut sink = self.enc.finish().map_err(|e| Error::io_path(&self.path, e))?;
        sink.flush().map_err(|e| Error::io_path(&self.path, e))?;
        let digest = sink.md5.finalize();
        Ok(DataFileEntry {
            item_count: self.items,
            md5_checksum: B64.encode(digest),
            etag: Some(format!("{}-1", hex::encode(digest))),
            data_file_s3_key: self.key,
        })
    }
}

/// Data files filled by one writer; each line goes to a random file among
/// the first `writable` (the others stay empty partitions).
pub struct FileSet {
    files: Vec<DataFile>,
    writable: usize,
    format: OutputFormat,
    line: String,
}

impl FileSet {
    pub(super) fn new(files: Vec<DataFile>, writable: usize, format: OutputFormat) -> FileSet {
        FileSet { files, writable, format, line: String::new() }
    }

    /// Splits off the files from `at` on into a set of their own, of which
    /// the first `writable` receive lines.
    pub(super) fn split_off(&mut self, at: usize, writable: usize) -> FileSet {
        self.writable = self.writable.min(at);
        FileSet::new(self.files.split_off(at), writable, self.format)
    }

    pub(super) fn len(&self) -> usize {
        self.files.len()
    }

    pub(super) fn writable(&self) -> usize {
        self.writable
    }

    fn pick(&mut self, rng: &mut Rng) -> usize {
        rng.below(self.writable as u64) as usize
    }

    /// Adds a full-export item (attributes in a shuffled order, as real
    /// exports keep each item's own order).
    pub fn add_item(&mut self, item: &Item, rng: &mut Rng) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let ion = self.format == OutputFormat::Ion;
        line.push_str(if ion { "$ion_1_0 {Item:" } else { "{\"Item\":" });
        write_shuffled(&mut line, item, rng, ion);
        line.push_str("}\n");
        let f = self.pick(rng);
        let written = self.files[f].write_line(&line);
        self.line = line;
        written
    }

    /// Adds an incremental record (NEW_AND_OLD_IMAGES view) keyed by the
    /// attributes `key_names` of `key_of`.
    pub fn add_change(
        &mut self,
        key_names: &[&str],
        key_of: &Item,
        old: Option<&Item>,
        new: Option<&Item>,
        micros: u64,
        rng: &mut Rng,
    ) -> Result<()> {
        let keys: Item = key_of.iter().filter(|(k, _)| key_names.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut line = String::new();
        let ion = self.format == OutputFormat::Ion;
        let section = |line: &mut String, name: &str, it: &Item| {
            if ion {
                line.push_str(&format!(",{name}:"));
                ion::write_struct(line, it);
            } else {
                line.push_str(&format!(",\"{name}\":"));
                ddbjson::write_item(line, it);
            }
        };
        if ion {
            line.push_str(&format!("$ion_1_0 {{Metadata:{{WriteTimestampMicros:{micros}.}}"));
        } else {
            line.push_str(&format!("{{\"Metadata\":{{\"WriteTimestampMicros\":{{\"N\":\"{micros}\"}}}}"));
        }
        section(&mut line, "Keys", &keys);
        if let Some(o) = old {
            section(&mut line, "OldImage", o);
        }
        if let Some(n) = new {
            section(&mut line, "NewImage", n);
        }
        line.push_str("}\n");
        let f = self.pick(rng);
        self.files[f].write_line(&line)
    }

    /// Closes every file; their manifest entries in order.
    pub fn finish(self) -> Result<Vec<DataFileEntry>> {
        self.files.into_iter().map(DataFile::finish).collect()
    }
}

/// Writes an item's attributes in a random order.
fn write_shuffled(out: &mut String, item: &Item, rng: &mut Rng, ion_format: bool) {
    let mut entries: Vec<(&String, &AttrValue)> = item.iter().collect();
    for i in (1..entries.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        entries.swap(i, j);
    }
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if ion_format {
            let single: Item = [(k.clone(), v.clone())].into_iter().collect();
            let mut s = String::new();
            ion::write_struct(&mut s, &single);
            out.push_str(&s[1..s.len() - 1]);
        } else {
            ddbjson::write_str(out, k);
            out.push(':');
            ddbjson::write_value(out, v);
        }
    }
    out.push('}');
}
