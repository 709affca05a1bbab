//! Writing one export folder exactly as DynamoDB lays it out.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{Error, Result};
use crate::item::{AttrValue, Item, ddbjson};
use crate::snapshot::ion;
use crate::snapshot::manifest::{DataFileEntry, ExportType, ManifestSummary, OutputFormat, md5_base64};

/// SplitMix64: tiny, fast and stable across versions, so seeds stay meaningful.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

struct DataFile {
    key: String,
    path: PathBuf,
    enc: GzEncoder<std::io::BufWriter<std::fs::File>>,
    items: u64,
}

/// Writes the data files and manifests of one export.
pub struct ExportWriter {
    dir: PathBuf,
    prefix: String,
    table_arn: String,
    export_id: String,
    format: OutputFormat,
    time: DateTime<Utc>,
    incremental: bool,
    files: Vec<DataFile>,
    /// The last file stays empty when set (an empty partition, as AWS writes).
    keep_one_empty: bool,
    line: String,
}

impl ExportWriter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        out: &std::path::Path,
        prefix: &str,
        physical_table: &str,
        format: OutputFormat,
        time: DateTime<Utc>,
        files: usize,
        incremental: bool,
        rng: &mut Rng,
    ) -> Result<ExportWriter> {
        let export_id = format!("{:014}-{:08x}", time.timestamp_millis(), rng.next_u64() as u32);
        let dir = super::export_dir(out, prefix, &export_id);
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).map_err(|e| Error::io_path(&data_dir, e))?;
        std::fs::write(dir.join("_started"), b"").map_err(|e| Error::io_path(&dir, e))?;
        let key_prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        let ext = match format {
            OutputFormat::DynamodbJson => "json.gz",
            OutputFormat::Ion => "ion.gz",
        };
        let mut data = Vec::new();
        for _ in 0..files {
            let name: String = (0..26).map(|_| b"abcdefghijklmnopqrstuvwxyz234567"[rng.below(32) as usize] as char).collect();
            let path = data_dir.join(format!("{name}.{ext}"));
            let f = std::fs::File::create(&path).map_err(|e| Error::io_path(&path, e))?;
            data.push(DataFile {
                key: format!("{key_prefix}AWSDynamoDB/{export_id}/data/{name}.{ext}"),
                // The export time as the gzip mtime keeps the files deterministic
                // and tells them apart from other tools' empty partitions.
                enc: flate2::GzBuilder::new().mtime(time.timestamp() as u32).write(std::io::BufWriter::new(f), Compression::new(6)),
                path,
                items: 0,
            });
        }
        Ok(ExportWriter {
            dir,
            prefix: key_prefix,
            table_arn: format!("arn:aws:dynamodb:us-east-1:111122223333:table/{physical_table}"),
            export_id,
            format,
            time,
            incremental,
            keep_one_empty: files >= 3,
            files: data,
            line: String::new(),
        })
    }

    fn pick(&mut self, rng: &mut Rng) -> usize {
        let n = self.files.len() - usize::from(self.keep_one_empty);
        rng.below(n as u64) as usize
    }

    /// Adds a full-export item (attributes in a shuffled order, as real
    /// exports keep each item's own order).
    pub fn add_item(&mut self, item: &Item, rng: &mut Rng) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        match self.format {
            OutputFormat::DynamodbJson => {
                line.push_str("{\"Item\":");
                write_shuffled(&mut line, item, rng, false);
                line.push('}');
            }
            OutputFormat::Ion => {
                line.push_str("$ion_1_0 {Item:");
                write_shuffled(&mut line, item, rng, true);
                line.push('}');
            }
        }
        line.push('\n');
        let f = self.pick(rng);
        self.write_line(f, &line)?;
        self.line = line;
        Ok(())
    }

    /// Adds an incremental record (NEW_AND_OLD_IMAGES view).
    pub fn add_change(&mut self, key_of: &Item, old: Option<&Item>, new: Option<&Item>, micros: u64, rng: &mut Rng) -> Result<()> {
        let keys: Item = key_of.iter().filter(|(k, _)| k.as_str() == "id").map(|(k, v)| (k.clone(), v.clone())).collect();
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
        self.write_line(f, &line)
    }

    fn write_line(&mut self, f: usize, line: &str) -> Result<()> {
        let file = &mut self.files[f];
        file.enc.write_all(line.as_bytes()).map_err(|e| Error::io_path(&file.path, e))?;
        file.items += 1;
        Ok(())
    }

    /// Closes the data files and writes the manifests; returns the export id.
    pub fn finish(self, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Result<String> {
        let mut entries = Vec::new();
        for f in self.files {
            let mut inner = f.enc.finish().map_err(|e| Error::io_path(&f.path, e))?;
            inner.flush().map_err(|e| Error::io_path(&f.path, e))?;
            drop(inner);
            let bytes = std::fs::read(&f.path).map_err(|e| Error::io_path(&f.path, e))?;
            let md5 = md5_base64(&bytes);
            let etag = hex::encode(<md5::Md5 as md5::Digest>::digest(&bytes));
            entries.push(DataFileEntry {
                item_count: f.items,
                md5_checksum: md5,
                etag: Some(format!("{etag}-1")),
                data_file_s3_key: f.key,
            });
        }
        let files_text: String = entries.iter().map(|e| serde_json::to_string(e).expect("serialisable") + "\n").collect();
        let item_count = entries.iter().map(|e| e.item_count).sum();
        let base = format!("{}AWSDynamoDB/{}", self.prefix, self.export_id);
        let summary = ManifestSummary {
            version: Some(if self.incremental { "2023-08-01" } else { "2020-06-30" }.into()),
            export_arn: format!("{}/export/{}", self.table_arn, self.export_id),
            start_time: Some(self.time),
            end_time: Some(self.time + chrono::Duration::minutes(5)),
            table_arn: self.table_arn.clone(),
            table_id: Some("00000000-0000-4000-8000-000000000000".into()),
            export_time: if self.incremental { None } else { Some(self.time) },
            export_from_time: window.map(|w| w.0),
            export_to_time: window.map(|w| w.1),
            s3_bucket: Some("ddbsnap-generated".into()),
            s3_prefix: if self.prefix.is_empty() { None } else { Some(self.prefix.trim_end_matches('/').into()) },
            s3_sse_algorithm: Some("AES256".into()),
            s3_sse_kms_key_id: None,
            manifest_files_s3_key: format!("{base}/manifest-files.json"),
            billed_size_bytes: Some(0),
            item_count,
            output_format: self.format,
            output_view: self.incremental.then(|| "NEW_AND_OLD_IMAGES".into()),
            export_type: Some(if self.incremental { ExportType::IncrementalExport } else { ExportType::FullExport }),
        };
        let summary_text = serde_json::to_string(&summary).map_err(|e| Error::Invalid(e.to_string()))?;
        for (name, text) in [("manifest-files", files_text), ("manifest-summary", summary_text)] {
            let p = self.dir.join(format!("{name}.json"));
            std::fs::write(&p, &text).map_err(|e| Error::io_path(&p, e))?;
            let p = self.dir.join(format!("{name}.md5"));
            std::fs::write(&p, md5_base64(text.as_bytes())).map_err(|e| Error::io_path(&p, e))?;
        }
        Ok(self.export_id)
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
