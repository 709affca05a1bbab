//! Export manifests: `manifest-summary.json`, `manifest-files.json` and their
//! checksum files.
//!
//! Every field DynamoDB writes is kept (unknown future fields are tolerated but
//! the known ones are typed), because later stages report them: export ids and
//! times go into plan files, item counts are checked against what was read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `manifest-summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSummary {
    pub version: Option<String>,
    pub export_arn: String,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub table_arn: String,
    pub table_id: Option<String>,
    /// Point in time of a full export.
    pub export_time: Option<DateTime<Utc>>,
    /// Window of an incremental export.
    pub export_from_time: Option<DateTime<Utc>>,
    pub export_to_time: Option<DateTime<Utc>>,
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    pub s3_sse_algorithm: Option<String>,
    pub s3_sse_kms_key_id: Option<String>,
    pub manifest_files_s3_key: String,
    pub billed_size_bytes: Option<u64>,
    pub item_count: u64,
    pub output_format: OutputFormat,
    /// `NEW_AND_OLD_IMAGES` or `NEW_IMAGE` (incremental exports only).
    pub output_view: Option<String>,
    /// Absent on full exports written before incremental exports existed.
    pub export_type: Option<ExportType>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutputFormat {
    DynamodbJson,
    Ion,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportType {
    FullExport,
    IncrementalExport,
}

/// One line of `manifest-files.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataFileEntry {
    pub item_count: u64,
    pub md5_checksum: String,
    pub etag: Option<String>,
    pub data_file_s3_key: String,
}

impl ManifestSummary {
    pub fn parse(file: &str, bytes: &[u8]) -> Result<ManifestSummary> {
        let s: ManifestSummary =
            serde_json::from_slice(bytes).map_err(|e| Error::manifest(file, format!("not a valid manifest-summary.json: {e}")))?;
        validate_key(file, &s.manifest_files_s3_key)?;
        if s.is_incremental() && (s.export_from_time.is_none() || s.export_to_time.is_none()) {
            return Err(Error::manifest(file, "incremental export without exportFromTime/exportToTime"));
        }
        if !s.is_incremental() && s.export_time.is_none() {
            return Err(Error::manifest(file, "full export without exportTime"));
        }
        Ok(s)
    }

    pub fn is_incremental(&self) -> bool {
        self.export_type == Some(ExportType::IncrementalExport)
    }

    /// The export id, the last part of the export ARN.
    pub fn export_id(&self) -> &str {
        self.export_arn.rsplit('/').next().unwrap_or(&self.export_arn)
    }

    /// The physical table name from the table ARN.
    pub fn physical_table(&self) -> &str {
        self.table_arn.rsplit_once(":table/").map(|(_, t)| t.split('/').next().unwrap_or(t)).unwrap_or(&self.table_arn)
    }

    /// The point in time this export brings the table to.
    pub fn point_in_time(&self) -> Option<DateTime<Utc>> {
        if self.is_incremental() { self.export_to_time } else { self.export_time }
    }
}

/// The logical table name: Amplify names tables `Model-<apiId>-<env>` (env is
/// `NONE` in Gen 2), and people think in model names, so `Contact-abc-NONE`
/// becomes `Contact`. Other names are kept as they are.
pub fn logical_table_name(physical: &str) -> String {
    let parts: Vec<&str> = physical.split('-').collect();
    if parts.len() >= 3 {
        let api = parts[parts.len() - 2];
        let env = parts[parts.len() - 1];
        let api_like = api.len() >= 20 && api.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if env == "NONE" || api_like {
            return parts[..parts.len() - 2].join("-");
        }
    }
    physical.to_string()
}

/// Parses `manifest-files.json` (one JSON object per line).
pub fn parse_files(file: &str, bytes: &[u8]) -> Result<Vec<DataFileEntry>> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::manifest(file, format!("not UTF-8: {e}")))?;
    let mut out = Vec::new();
    let mut lines_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: DataFileEntry = serde_json::from_str(line).map_err(|e| Error::Line {
            file: file.to_string(),
            line: i as u64 + 1,
            cause: format!("bad manifest entry: {e}"),
        })?;
        validate_key(file, &entry.data_file_s3_key)?;
        if B64.decode(&entry.md5_checksum).map(|d| d.len()) != Ok(16) {
            return Err(Error::Line {
                file: file.to_string(),
                line: i as u64 + 1,
                cause: format!("md5Checksum {:?} is not a base64 MD5", entry.md5_checksum),
            });
        }
        // A data file listed twice would be read twice, and its items counted twice.
        if let Some(first) = lines_of.insert(entry.data_file_s3_key.clone(), i + 1) {
            return Err(Error::Line {
                file: file.to_string(),
                line: i as u64 + 1,
                cause: format!(
                    "data file {} is listed twice (lines {first} and {})",
                    crate::error::brief(&entry.data_file_s3_key, 200),
                    i + 1
                ),
            });
        }
        out.push(entry);
    }
    Ok(out)
}

/// Keys are relative to the bucket root: no absolute paths, no `..`.
pub fn validate_key(file: &str, key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key.split('/').any(|part| part == ".." || part == "." || part.is_empty());
    if bad {
        return Err(Error::manifest(file, format!("key {key:?} is outside the bucket root")));
    }
    Ok(())
}

/// Base64 MD5 of bytes, as manifests and checksum files write it.
pub fn md5_base64(bytes: &[u8]) -> String {
    B64.encode(Md5::digest(bytes))
}

/// Checks a `.md5`/`.checksum` file's content against the manifest's bytes.
pub fn checksum_matches(checksum_file: &[u8], manifest: &[u8]) -> bool {
    String::from_utf8_lossy(checksum_file).trim() == md5_base64(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amplify_names() {
        assert_eq!(logical_table_name("Contact-abc123xyz-NONE"), "Contact");
        assert_eq!(logical_table_name("Todo-7b2vfkiqbvcq5kyqnq3gxy4w7e-dev"), "Todo");
        assert_eq!(logical_table_name("my-table"), "my-table");
        assert_eq!(logical_table_name("orders"), "orders");
    }

    #[test]
    fn keys_stay_in_the_bucket() {
        assert!(validate_key("m", "p/AWSDynamoDB/x/data/a.json.gz").is_ok());
        for bad in ["../x", "/etc/passwd", "a/../../b", "a//b", ""] {
            assert!(validate_key("m", bad).is_err(), "{bad}");
        }
    }
}
