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

use super::generate::{Check, Severity, Threshold};
use crate::error::{Error, Result};

/// Parses one check file's text.
pub fn parse_check(file: &str, text: &str) -> Result<CheckFile> {
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("check").to_string();
    let mut check = Check {
        name: stem,
        table: String::new(),
        severity: Severity::Error,
        description: String::new(),
        sql: String::new(),
        keys: Vec::new(),
        threshold: None,
    };
    let mut requires: Vec<String> = Vec::new();
    let mut expects: Vec<String> = Vec::new();
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
                    "keys" => check.keys = name_list(&value),
                    "requires" => requires = name_list(&value),
                    "expects" => expects = name_list(&value),
                    "threshold" => {
                        check.threshold = Some(Threshold::parse(&value).ok_or_else(|| Error::Line {
                            file: file.to_string(),
                            line: i as u64 + 1,
                            cause: format!("threshold {value:?}: write e.g. \"warn above 0, error above 100\""),
                        })?)
                    }
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
    Ok(CheckFile { check, requires, expects })
}

/// A parsed check file. With `-- table: *` the check runs once per table
/// that has every column in `requires`, `{table}` in its SQL replaced by the
/// table's quoted name. A table lacking a column of `expects` (a column the
/// check is about, which no item of the table has) fails the check on every
/// item instead: a check never passes because its column is absent.
#[derive(Debug, Clone)]
pub struct CheckFile {
    pub check: Check,
    pub requires: Vec<String>,
    pub expects: Vec<String>,
}

impl CheckFile {
    /// The checks this file yields for the tables given as (name, columns).
    /// The check for each table it applies to, and a note for each table
    /// it does not (named, so that nothing is left out in silence).
    pub fn expand(&self, tables: &[(String, Vec<String>)]) -> (Vec<Check>, Vec<String>) {
        if self.check.table != "*" {
            return (vec![self.check.clone()], Vec::new());
        }
        let mut notes = Vec::new();
        let mut checks = Vec::new();
        for (name, cols) in tables {
            let lacking: Vec<&String> = self.requires.iter().filter(|r| !cols.contains(r)).collect();
            if !lacking.is_empty() {
                let lacking: Vec<&str> = lacking.iter().map(|s| s.as_str()).collect();
                notes.push(format!("check {} does not apply to table {name}: no item has {}", self.check.name, lacking.join(", ")));
                continue;
            }
            let quoted = crate::catalog::quote_ident(name);
            let mut c = self.check.clone();
            c.name = format!("{name}.{}", self.check.name);
            c.table = name.clone();
            let absent: Vec<&str> = self.expects.iter().filter(|e| !cols.contains(e)).map(String::as_str).collect();
            if absent.is_empty() {
                c.sql = self.check.sql.replace("{table}", &quoted);
            } else {
                let keys: Vec<String> = c.keys.iter().map(|k| crate::catalog::quote_ident(k)).collect();
                let select = if keys.is_empty() { "*".to_string() } else { keys.join(", ") };
                c.sql = format!("SELECT {select} FROM {quoted}");
                c.description = format!("{} (no item has {}: every item fails)", c.description, absent.join(", "));
            }
            checks.push(c);
        }
        (checks, notes)
    }
}

/// The library bundled with ddbsnap (`queries/checks/`), run by `check`
/// when no `--checks` folder is given.
pub const BUNDLED: &[(&str, &str)] = &[
    ("amplify_typename_present.sql", include_str!("../../queries/checks/amplify_typename_present.sql")),
    ("amplify_timestamps_present.sql", include_str!("../../queries/checks/amplify_timestamps_present.sql")),
    ("amplify_timestamps_format.sql", include_str!("../../queries/checks/amplify_timestamps_format.sql")),
    ("amplify_id_not_empty.sql", include_str!("../../queries/checks/amplify_id_not_empty.sql")),
    ("datastore_tombstones.sql", include_str!("../../queries/checks/datastore_tombstones.sql")),
    ("datastore_metadata.sql", include_str!("../../queries/checks/datastore_metadata.sql")),
];

/// The bundled library, parsed.
/// The check files in `dirs`, or the bundled library when none are given.
pub fn from_dirs(dirs: &[std::path::PathBuf]) -> Result<Vec<CheckFile>> {
    if dirs.is_empty() {
        return bundled();
    }
    let mut all = Vec::new();
    for dir in dirs {
        all.extend(load_dir(dir)?);
    }
    Ok(all)
}

pub fn bundled() -> Result<Vec<CheckFile>> {
    BUNDLED.iter().map(|(name, text)| parse_check(&format!("queries/checks/{name}"), text)).collect()
}

/// Every `*.sql` file in a folder, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<CheckFile>> {
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

/// A header's comma-separated names (`-- keys: id, owner`), trimmed, empty
/// entries dropped.
fn name_list(value: &str) -> Vec<String> {
    value.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
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
        .unwrap()
        .check;
        assert_eq!(c.name, "email_present");
        assert_eq!(c.severity, Severity::Warn);
        assert_eq!(c.keys, vec!["id".to_string()]);
        assert_eq!(c.sql, "SELECT id\nFROM Contact -- trailing\nWHERE email IS NULL");
        let d = parse_check("q/x.sql", "SELECT 1").unwrap().check;
        assert_eq!(d.name, "x");
        assert!(parse_check("q/y.sql", "-- severity: fatal\nSELECT 1").unwrap_err().to_string().contains("q/y.sql:1"));
        assert!(parse_check("q/z.sql", "-- name: z\n").is_err());
    }

    #[test]
    fn every_table_checks_and_thresholds() {
        let t = parse_check(
            "q/t.sql",
            "-- table: *\n-- requires: email\n-- threshold: warn above 0, error above 10\nSELECT id FROM {table} WHERE email IS NULL",
        )
        .unwrap();
        let th = t.check.threshold.unwrap();
        assert_eq!(th, Threshold { warn_above: Some(0), error_above: Some(10) });
        assert_eq!((th.judge(0), th.judge(3), th.judge(11)), (None, Some(Severity::Warn), Some(Severity::Error)));
        let tables = vec![("A".to_string(), vec!["id".into(), "email".into()]), ("B".to_string(), vec!["id".into()])];
        let (expanded, notes) = t.expand(&tables);
        assert_eq!(expanded.len(), 1, "B lacks email");
        assert_eq!(notes, vec!["check t does not apply to table B: no item has email".to_string()]);
        assert_eq!(expanded[0].sql, "SELECT id FROM \"A\" WHERE email IS NULL");
        assert_eq!((expanded[0].name.as_str(), expanded[0].table.as_str()), ("A.t", "A"));
        assert!(parse_check("q/u.sql", "-- threshold: lots\nSELECT 1").is_err());
        // A column the check is about that no item has: every item fails.
        let e = parse_check(
            "q/e.sql",
            "-- table: *\n-- requires: id\n-- expects: email\n-- keys: id\nSELECT id FROM {table} WHERE email IS NULL",
        )
        .unwrap();
        let (expanded, notes) = e.expand(&tables);
        assert!(notes.is_empty());
        assert_eq!(expanded[1].sql, "SELECT \"id\" FROM \"B\"");
        assert!(expanded[1].description.contains("no item has email"), "{}", expanded[1].description);
        assert_eq!(expanded[0].sql, "SELECT id FROM \"A\" WHERE email IS NULL");
        assert_eq!(bundled().unwrap().len(), BUNDLED.len());
    }
}
