//! `check --baseline PREVIOUS.json`: this run's checks compared with an
//! earlier report of `check --format json`, so that a nightly post-deploy
//! report says what is new, what regressed, what improved and what was
//! fixed, and a CI job can fail on regressions instead of on every
//! long-standing failure.
//!
//! Checks are matched by table and name. The baseline is read in full
//! before anything runs, so a report that is not one (or that the shell
//! emptied because the run writes over it) fails early and says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gate::{self, Change, Outcome, Rule};
use super::generate::Severity;
use super::run::{CheckResult, Status};
use crate::error::{Error, Result};

/// A report larger than this is not one `check` wrote (a check's sample is bounded).
const MAX_BYTES: u64 = 256 << 20;

/// A check as the baseline report recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub name: String,
    pub table: String,
    pub severity: Severity,
    pub status: Status,
    pub violations: u64,
}

impl Recorded {
    pub fn outcome(&self) -> Outcome {
        Outcome { status: self.status, violations: self.violations }
    }
}

#[derive(Deserialize)]
struct Report {
    checks: Vec<Recorded>,
}

/// An earlier report, by table and check name.
#[derive(Debug)]
pub struct Baseline {
    pub path: PathBuf,
    checks: BTreeMap<(String, String), Recorded>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| Error::Invalid(format!("{shown}: the baseline report cannot be read: {e}")))?;
        if !meta.is_file() {
            return Err(Error::Invalid(format!("{shown}: the baseline report is not a file")));
        }
        if meta.len() > MAX_BYTES {
            return Err(Error::Invalid(format!("{shown}: {} bytes is too large for a check report (at most {MAX_BYTES})", meta.len())));
        }
        let text = std::fs::read(path).map_err(|e| Error::Invalid(format!("{shown}: {e}")))?;
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::Invalid(format!(
                "{shown}: the baseline report is empty (if this run's output is redirected to the same file, the shell emptied it first: \
                 write the new report elsewhere, then move it)"
            )));
        }
        let report: Report = serde_json::from_slice(&text).map_err(|e| {
            Error::Invalid(format!("{shown}:{}:{}: not a report of `ddbsnap check --format json`: {e}", e.line(), e.column()))
        })?;
        let mut checks = BTreeMap::new();
        for c in report.checks {
            let key = (c.table.clone(), c.name.clone());
            if checks.insert(key, c.clone()).is_some() {
                return Err(Error::Invalid(format!(
                    "{shown}: check {} on table {} appears twice: a report lists each check once",
                    crate::error::escape_unsafe(&c.name),
                    crate::error::escape_unsafe(&c.table)
                )));
            }
        }
        Ok(Baseline { path: path.to_path_buf(), checks })
    }

    /// Marks each result with how it moved since the baseline, and returns
    /// the baseline's checks that did not run this time.
    pub fn compare(&self, results: &mut [CheckResult]) -> Vec<Recorded> {
        let mut seen = std::collections::BTreeSet::new();
        for r in results.iter_mut() {
            let key = (r.table.clone(), r.name.clone());
            let before = self.checks.get(&key);
            r.change = Some(gate::classify(before.map(Recorded::outcome), Outcome { status: r.status, violations: r.violations }));
            r.baseline = before.map(Recorded::outcome);
            seen.insert(key);
        }
        self.checks.iter().filter(|(k, _)| !seen.contains(*k)).map(|(_, c)| c.clone()).collect()
    }
}

/// What `check`'s exit code says.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Exit 1 when an error-severity check is new, regressed or missing against --baseline.
    Regressions,
    /// Exit 1 when any error-severity check fails.
    Failures,
}

/// 2 when a check could not run; 1 when a check fails the rule; else 0.
pub fn exit_code(results: &[CheckResult], missing: &[Recorded], fail_on: FailOn) -> u8 {
    if results.iter().any(|r| r.status == Status::Error) {
        return 2;
    }
    let blocked = match fail_on {
        FailOn::Failures => results.iter().any(|r| r.status == Status::Fail && r.severity == Severity::Error),
        FailOn::Regressions => {
            results.iter().any(|r| gate::blocks(Rule::Regressions, r.severity, r.status, r.change.unwrap_or(Change::New)))
                || missing.iter().any(|m| gate::blocks(Rule::Regressions, m.severity, Status::Pass, Change::Missing))
        }
    };
    if blocked { crate::cli::EXIT_PROBLEMS } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, status: Status, violations: u64) -> CheckResult {
        CheckResult {
            name: name.into(),
            table: "T".into(),
            severity: Severity::Error,
            description: String::new(),
            status,
            violations,
            sample: Vec::new(),
            error: None,
            sql: String::new(),
            change: None,
            baseline: None,
        }
    }

    fn baseline(text: &str) -> Result<Baseline> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(&p, text).unwrap();
        Baseline::load(&p)
    }

    #[test]
    fn compares_by_table_and_name_and_lists_what_is_gone() {
        let b = baseline(
            r#"{"checks":[{"name":"a","table":"T","severity":"error","status":"fail","violations":5},
            {"name":"b","table":"T","severity":"error","status":"pass","violations":0},
            {"name":"gone","table":"T","severity":"error","status":"pass","violations":0},
            {"name":"a","table":"U","severity":"error","status":"pass","violations":0}]}"#,
        )
        .unwrap();
        let mut now = vec![result("a", Status::Fail, 5), result("b", Status::Fail, 1), result("c", Status::Pass, 0)];
        let missing = b.compare(&mut now);
        let changes: Vec<Change> = now.iter().map(|r| r.change.unwrap()).collect();
        assert_eq!(changes, [Change::Unchanged, Change::New, Change::Passing]);
        assert_eq!(missing.iter().map(|m| (m.table.as_str(), m.name.as_str())).collect::<Vec<_>>(), [("T", "gone"), ("U", "a")]);
        assert_eq!(exit_code(&now, &missing, FailOn::Regressions), 1);
        assert_eq!(exit_code(&now[..1], &[], FailOn::Regressions), 0);
        assert_eq!(exit_code(&now[..1], &[], FailOn::Failures), 1);
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        let e = |t: &str| baseline(t).unwrap_err().to_string();
        assert!(e("").contains("empty"), "{}", e(""));
        assert!(e("{\"checks\": [}").contains(":1:"), "{}", e("{\"checks\": [}"));
        assert!(e("{\"tables\": []}").contains("missing field `checks`"));
        let twice = r#"{"checks":[{"name":"a","table":"T","severity":"error","status":"fail","violations":5},
            {"name":"a","table":"T","severity":"error","status":"pass","violations":0}]}"#;
        assert!(e(twice).contains("appears twice"));
        assert!(e(r#"{"checks":[{"name":"a","table":"T","severity":"error","status":"fail","violations":-1}]}"#).contains("expected u64"));
    }
}
