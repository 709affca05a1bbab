//! Decoding one data file: gzip, lines, DynamoDB JSON or Ion, into records.
//!
//! The MD5 of the compressed bytes is computed while streaming and checked at
//! the end against the manifest; when decoding fails half-way the rest of the
//! file is still hashed, so a corrupt download is reported as the checksum
//! mismatch it is rather than as a puzzling parse error. Every line is either
//! a record or an error naming the file, the line and the cause; a bad line
//! goes to the quarantine only when the user asked for one.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flate2::read::MultiGzDecoder;
use md5::{Digest, Md5};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::ion;
use super::manifest::OutputFormat;
use crate::error::{Error, Result};
use crate::item::ddbjson::{ItemSeed, Text};
use crate::item::{AttrValue, Item};

/// The longest line read, in bytes. DynamoDB items are at most 400 KB by
/// DynamoDB's measure; their JSON or Ion text is longer (type wrappers,
/// escapes: a list of NULLs takes about 7 bytes of text per byte of item,
/// a string of control characters 6), so no item DynamoDB can hold comes
/// near 16 MiB. A longer line (a crafted file, or gzip that inflates to one
/// enormous line) is an error found while reading it, without holding it.
pub const MAX_LINE_BYTES: u64 = 16 << 20;

/// One line of a data file.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A full export's item.
    Item(Item),
    /// An incremental export's change.
    Change(Change),
}

/// An incremental record: the item's key and its images.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub keys: Item,
    /// The item after the change; `None` means it was deleted.
    pub new_image: Option<Item>,
    pub old_image: Option<Item>,
    pub write_micros: Option<u64>,
}

/// What the decoder needs to know about a file.
pub struct FileSpec {
    pub describe: String,
    pub format: OutputFormat,
    pub incremental: bool,
    /// Expected base64 MD5 of the gzip bytes; `None` for a bare data file
    /// given without its manifest.
    pub md5: Option<String>,
    pub item_count: Option<u64>,
}

/// Where bad lines go when the user chose to quarantine them.
///
/// A line is written once however often it is read: `convert` reads a
/// table twice (statistics, then rows), and each read meets the same bad
/// lines. What a single read skipped is in its own [`FileStats`].
pub struct Quarantine {
    out: Mutex<(Box<dyn std::io::Write + Send>, Seen)>,
    pub path: String,
    count: AtomicU64,
}

/// A 128-bit hash of the (file, line) of every bad line written so far:
/// 16 bytes a line, however long the file's name (a set of names grew by a
/// path per bad line).
type Seen = HashSet<u128>;

fn line_id(file: &str, line: u64) -> u128 {
    crate::item::hash128(&(file, line))
}

impl Quarantine {
    /// Creates the quarantine file, which must not exist: an existing file
    /// (an export's own data file, an earlier quarantine) is never truncated.
    pub fn create(path: &str) -> Result<Quarantine> {
        let f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Invalid(format!(
                    "--quarantine {path}: the file exists; the quarantine is always a new file (remove it or choose another path)"
                ))
            } else {
                Error::io(path, e)
            }
        })?;
        Ok(Quarantine {
            out: Mutex::new((Box::new(std::io::BufWriter::new(f)), HashSet::new())),
            path: path.to_string(),
            count: AtomicU64::new(0),
        })
    }
    fn put(&self, file: &str, line: u64, cause: &str, raw: &[u8]) -> Result<()> {
        let entry = serde_json::json!({"file": file, "line": line, "cause": cause, "text": String::from_utf8_lossy(raw)});
        let mut out = self.out.lock().map_err(|_| Error::Invalid("quarantine writer poisoned".into()))?;
        let (out, seen) = &mut *out;
        if seen.insert(line_id(file, line)) {
            writeln!(out, "{entry}").map_err(|e| Error::io(&self.path, e))?;
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
    pub fn flush(&self) -> Result<()> {
        let mut out = self.out.lock().map_err(|_| Error::Invalid("quarantine writer poisoned".into()))?;
        out.0.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// What was read from a file.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileStats {
    pub records: u64,
    pub quarantined: u64,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
}

/// Hashes and counts the compressed bytes as they stream past.
struct Hashing<R> {
    inner: R,
    md5: Md5,
    bytes: u64,
    progress: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl<R: Read> Hashing<R> {
    fn finish(mut self) -> std::io::Result<(String, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        use base64::Engine as _;
        Ok((base64::engine::general_purpose::STANDARD.encode(self.md5.finalize()), self.bytes))
    }
}

/// What [`decode_file`] hands its consumer for each line.
pub enum Line<'a> {
    /// The raw text of a full-export DynamoDB JSON line, offered first: a
    /// consumer with a faster decoder returns `true` when it took the line,
    /// `false` to receive the decoded record instead.
    Raw(&'a [u8]),
    Record(Record),
}

/// Streams a gzip data file, calling `emit` for every line.
pub fn decode_file(
    reader: Box<dyn Read + Send>,
    spec: &FileSpec,
    quarantine: Option<&Quarantine>,
    progress: Option<Arc<AtomicU64>>,
    mut emit: impl FnMut(Line<'_>) -> Result<bool>,
) -> Result<FileStats> {
    let offer_raw = spec.format == OutputFormat::DynamodbJson && !spec.incremental;
    let hashing = Hashing { inner: reader, md5: Md5::new(), bytes: 0, progress };
    let mut lines = BufReader::with_capacity(1 << 18, MultiGzDecoder::new(hashing));
    let mut stats = FileStats::default();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    let outcome: Result<()> = loop {
        buf.clear();
        match (&mut lines).take(MAX_LINE_BYTES + 1).read_until(b'\n', &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => stats.uncompressed_bytes += n as u64,
            Err(e) => break Err(Error::Gzip { file: spec.describe.clone(), line: line_no, cause: e.to_string() }),
        }
        line_no += 1;
        if buf.len() as u64 > MAX_LINE_BYTES {
            break Err(Error::Line {
                file: spec.describe.clone(),
                line: line_no,
                cause: format!(
                    "the line is longer than {} MiB, far beyond any item DynamoDB can hold (400 KB); the file is not a DynamoDB export's",
                    MAX_LINE_BYTES >> 20
                ),
            });
        }
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if offer_raw {
            match emit(Line::Raw(text)) {
                Ok(true) => {
                    stats.records += 1;
                    continue;
                }
                Ok(false) => {}
                Err(e) => break Err(e),
            }
        }
        match decode_line(text, spec) {
            Ok(record) => {
                stats.records += 1;
                if let Err(e) = emit(Line::Record(record)) {
                    break Err(e);
                }
            }
            Err(cause) => {
                let cause = if buf.last() != Some(&b'\n') {
                    format!("{cause} (last line has no newline: the file looks truncated)")
                } else {
                    cause
                };
                match quarantine {
                    Some(q) => {
                        q.put(&spec.describe, line_no, &cause, text)?;
                        stats.quarantined += 1;
                    }
                    None => break Err(Error::Line { file: spec.describe.clone(), line: line_no, cause }),
                }
            }
        }
    };
    let hashing = lines.into_inner().into_inner();
    let (md5, bytes) = hashing.finish().map_err(|e| Error::io(&spec.describe, e))?;
    stats.compressed_bytes = bytes;
    if let Some(expected) = &spec.md5
        && md5 != *expected
    {
        let detail = match &outcome {
            Err(e) => format!(" (reading it failed with: {e})"),
            Ok(()) => String::new(),
        };
        return Err(Error::Checksum { file: spec.describe.clone(), expected: expected.clone(), actual: md5, detail });
    }
    outcome?;
    let seen = stats.records + stats.quarantined;
    if let Some(expected) = spec.item_count
        && seen != expected
    {
        return Err(Error::ItemCount { file: spec.describe.clone(), expected, actual: seen });
    }
    Ok(stats)
}

/// Decodes one line (without its newline) into a record.
pub fn decode_line(text: &[u8], spec: &FileSpec) -> std::result::Result<Record, String> {
    let text = std::str::from_utf8(text).map_err(|e| format!("not valid UTF-8: {e}"))?;
    if text.trim().is_empty() {
        return Err("empty line".into());
    }
    let parts = match spec.format {
        OutputFormat::DynamodbJson => {
            let mut de = serde_json::Deserializer::from_str(text);
            let parts = LineSeed.deserialize(&mut de).map_err(json_cause)?;
            de.end().map_err(json_cause)?;
            parts
        }
        OutputFormat::Ion => ion_parts(text)?,
    };
    parts.into_record(spec.incremental)
}

/// serde_json counts lines within the text it was given (always 1 here);
/// the file's line number is added by the caller, so only the column is kept.
fn json_cause(e: serde_json::Error) -> String {
    let text = e.to_string();
    let cause = text.split(" at line ").next().unwrap_or(&text);
    format!("invalid DynamoDB JSON at column {}: {cause}", e.column())
}

/// The top-level sections of a line, whatever the format.
#[derive(Default)]
struct LineParts {
    item: Option<Item>,
    keys: Option<Item>,
    new_image: Option<Item>,
    old_image: Option<Item>,
    metadata: Option<Item>,
}

impl LineParts {
    fn set(&mut self, name: &str, value: Item) -> std::result::Result<(), String> {
        let slot = match name {
            "Item" => &mut self.item,
            "Keys" => &mut self.keys,
            "NewImage" => &mut self.new_image,
            "OldImage" => &mut self.old_image,
            "Metadata" => &mut self.metadata,
            other => return Err(format!("unexpected section {other:?}")),
        };
        if slot.replace(value).is_some() {
            return Err(format!("section {name:?} appears twice"));
        }
        Ok(())
    }

    fn into_record(self, incremental: bool) -> std::result::Result<Record, String> {
        if !incremental {
            if self.keys.is_some() || self.new_image.is_some() || self.old_image.is_some() {
                return Err("an incremental record in a full export".into());
            }
            return match self.item {
                Some(item) if item.is_empty() => Err("the item has no attributes; every DynamoDB item holds at least its key".to_string()),
                Some(item) => Ok(Record::Item(item)),
                None => Err("line has no \"Item\"".to_string()),
            };
        }
        if self.item.is_some() {
            return Err("a full-export item in an incremental export".into());
        }
        let keys = self.keys.ok_or("incremental record has no \"Keys\"")?;
        if keys.is_empty() {
            return Err("incremental record has empty \"Keys\"".into());
        }
        for image in [&self.new_image, &self.old_image].into_iter().flatten() {
            for (k, v) in &keys {
                if image.get(k) != Some(v) {
                    return Err(format!("an image's key attribute {k:?} differs from \"Keys\""));
                }
            }
        }
        let write_micros = match self.metadata.as_ref().and_then(|m| m.get("WriteTimestampMicros")) {
            None => None,
            Some(AttrValue::N(n)) => Some(n.to_i64().and_then(|v| u64::try_from(v).ok()).ok_or("WriteTimestampMicros is not a timestamp")?),
            Some(_) => return Err("WriteTimestampMicros is not a number".into()),
        };
        Ok(Record::Change(Change { keys, new_image: self.new_image, old_image: self.old_image, write_micros }))
    }
}

struct LineSeed;

impl<'de> DeserializeSeed<'de> for LineSeed {
    type Value = LineParts;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<LineParts, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineSeed {
    type Value = LineParts;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an export line such as {\"Item\":{...}}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<LineParts, A::Error> {
        let mut parts = LineParts::default();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            let value = map.next_value_seed(ItemSeed { depth: 0 })?;
            parts.set(&name.0, value).map_err(de::Error::custom)?;
        }
        Ok(parts)
    }
}

fn ion_parts(text: &str) -> std::result::Result<LineParts, String> {
    let value = ion::parse_line(text).map_err(|(col, msg)| format!("invalid Ion at column {col}: {msg}"))?;
    let ion::IonValue::Struct(fields) = value else {
        return Err("an Ion line must hold a struct such as {Item:{...}}".into());
    };
    let mut parts = LineParts::default();
    for (name, v) in fields {
        let ion::IonValue::Struct(inner) = v else {
            return Err(format!("section {name:?} is not a struct"));
        };
        parts.set(&name, ion::fields_to_item(inner)?)?;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(format: OutputFormat, incremental: bool) -> FileSpec {
        FileSpec { describe: "f".into(), format, incremental, md5: None, item_count: None }
    }

    #[test]
    fn full_and_incremental_lines() {
        let s = spec(OutputFormat::DynamodbJson, false);
        assert!(matches!(decode_line(br#"{"Item":{"id":{"S":"a"}}}"#, &s), Ok(Record::Item(_))));
        assert!(decode_line(br#"{"Keys":{"id":{"S":"a"}}}"#, &s).is_err());
        let inc = spec(OutputFormat::DynamodbJson, true);
        let r =
            decode_line(br#"{"Metadata":{"WriteTimestampMicros":{"N":"17"}},"Keys":{"id":{"S":"a"}},"OldImage":{"id":{"S":"a"}}}"#, &inc)
                .unwrap();
        let Record::Change(c) = r else { panic!() };
        assert_eq!(c.write_micros, Some(17));
        assert!(c.new_image.is_none());
        assert!(decode_line(br#"{"Keys":{"id":{"S":"a"}},"NewImage":{"id":{"S":"b"}}}"#, &inc).is_err());
    }

    /// An item with no attributes has no key: refused (with its line, or
    /// quarantined) in both formats, never counted as an item.
    #[test]
    fn an_item_with_no_attributes_is_refused() {
        let json = spec(OutputFormat::DynamodbJson, false);
        let ion = spec(OutputFormat::Ion, false);
        for (line, s) in [(&br#"{"Item":{}}"#[..], &json), (br#"$ion_1_0 {Item:{}}"#, &ion)] {
            let Err(e) = decode_line(line, s) else { panic!("accepted an item with no attributes") };
            assert!(e.contains("no attributes"), "{e}");
        }
    }

    #[test]
    fn ion_incremental() {
        let inc = spec(OutputFormat::Ion, true);
        let r = decode_line(br#"$ion_1_0 {Metadata:{WriteTimestampMicros:5.},Keys:{id:"a"},NewImage:{id:"a",n:2.}}"#, &inc).unwrap();
        let Record::Change(c) = r else { panic!() };
        assert_eq!(c.write_micros, Some(5));
        assert!(c.new_image.is_some());
    }
}
