//! Check files: a SQL query returning the violating rows, with a header of
//! comment lines saying what it is.
//!
//! ```sql
//! -- name: contact_email_present
//! -- table: Contact
//! -- severity: error            (error or warn; default error)
//! -- description: every contact has an email
//! SELECT id FROM Contact WHERE email IS NULL
//! ```

use std::path::Path;

use super::generate::{Check, Severity};
use crate::error::{Error, Result};

/// Parses one check file's text.
pub fn parse_check(file: &str, text: &str) -> Result<Check> {
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("check").to_string();
    let mut check = Check {
        name: stem,
        table: String::new(),
        severity: Severity::Error,
        description: String::new(),
        sql: String::new(),
        keys: Vec::new(),
    };
    let mut body = Vec::new();
    let mut in_header = true;
    for (i, line) in text.lines().enumerate() {
        let header = line.trim().strip_prefix("--").map(str::trim).and_then(|h| h.split_once(':'));
        match header {
            Some((key, value)) if in_header => {
                let value = value.trim().to_string();
                match key.trim() {
                    "name" => check.name = value,
                    "table" => check.table = value,
                    "description" => check.description = value,
                    "keys" => check.keys = value.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect(),
                    "severity" => {
                        check.severity = match value.as_str() {
                            "error" => Severity::Error,
                            "warn" | "warning" => Severity::Warn,
                            other => {
                                return Err(Error::Line {
                                    file: file.to_string(),
                                    line: i as u64 + 1,
                                    cause: format!("severity {other:?}: use error or warn"),
                                });
                            }
                        }
                    }
                    other => {
                        return Err(Error::Line { file: file.to_string(), line: i as u64 + 1, cause: format!("unknown header {other:?}") });
                    }
                }
            }
            _ => {
                if !line.trim().is_empty() && !line.trim().starts_with("--") {
                    in_header = false;
                }
                body.push(line);
            }
        }
    }
    check.sql = body.join("\n").trim().trim_end_matches(';').trim().to_string();
    if check.sql.is_empty() {
        return Err(Error::Manifest { file: file.to_string(), cause: "no SQL after the header".into() });
    }
    Ok(check)
}

/// Every `*.sql` file in a folder, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Check>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io_path(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io_path(p, e))?;
            parse_check(&p.display().to_string(), &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_body() {
        let c = parse_check(
            "q/email.sql",
            "-- name: email_present\n-- table: Contact\n-- severity: warn\n-- keys: id\n-- description: has email\nSELECT id\nFROM Contact -- trailing\nWHERE email IS NULL;\n",
        )
        .unwrap();
        assert_eq!(c.name, "email_present");
        assert_eq!(c.severity, Severity::Warn);
        assert_eq!(c.keys, vec!["id".to_string()]);
        assert_eq!(c.sql, "SELECT id\nFROM Contact -- trailing\nWHERE email IS NULL");
        let d = parse_check("q/x.sql", "SELECT 1").unwrap();
        assert_eq!(d.name, "x");
        assert!(parse_check("q/y.sql", "-- severity: fatal\nSELECT 1").unwrap_err().to_string().contains("q/y.sql:1"));
        assert!(parse_check("q/z.sql", "-- name: z\n").is_err());
    }
}
