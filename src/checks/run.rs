//! Running checks: count the violations, keep a bounded sample of them.
//!
//! A check that finds bad items succeeds and reports them (problems in the
//! data are results); a check whose SQL cannot run is reported as an error
//! with DataFusion's message, and the other checks still run.

use serde::Serialize;

use super::generate::{Check, Severity};
use crate::catalog::Catalog;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
}

impl Status {
    /// As JSON reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub table: String,
    pub severity: Severity,
    pub description: String,
    pub status: Status,
    pub violations: u64,
    /// Up to the requested number of violating rows, as JSON objects.
    pub sample: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub sql: String,
    /// With `check --baseline`: how the check moved since that report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<super::gate::Change>,
    /// With `check --baseline`: the check in that report (None: not there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<super::gate::Outcome>,
}

/// Runs one check. Samples keep only the check's key columns unless
/// `show_values` (or the check names no keys).
pub async fn run_check(catalog: &Catalog, check: &Check, sample_rows: usize, show_values: bool) -> CheckResult {
    let what = format!("check {}", check.name);
    let outcome = async {
        // The check's own text must be one read-only query before it is
        // wrapped, so that `SELECT 1) AS v; COPY ...` cannot close the wrapper.
        crate::catalog::guard::one_query(&check.sql, &what)?;
        let count = catalog.query_read_only(&format!("SELECT count(*) AS n FROM ({}\n) AS violations", check.sql), &what).await?;
        let n = count.first_i64().unwrap_or(0) as u64;
        let sample = if n > 0 && sample_rows > 0 {
            let rows = sample_query(catalog, check, sample_rows, &what).await?;
            to_json_rows(&rows.batches)?
        } else {
            Vec::new()
        };
        Ok::<_, crate::Error>((n, sample))
    }
    .await;
    let mut severity = check.severity;
    let (status, violations, sample, error) = match outcome {
        Ok((0, _)) => (Status::Pass, 0, Vec::new(), None),
        Ok((n, sample)) => {
            let judged = match &check.threshold {
                Some(t) => t.judge(n),
                None => Some(check.severity),
            };
            match judged {
                None => (Status::Pass, n, Vec::new(), None),
                Some(s) => {
                    severity = s;
                    (Status::Fail, n, redact(sample, &check.keys, show_values), None)
                }
            }
        }
        Err(e) => (Status::Error, 0, Vec::new(), Some(e.to_string())),
    };
    CheckResult {
        name: check.name.clone(),
        table: check.table.clone(),
        severity,
        description: check.description.clone(),
        status,
        violations,
        sample,
        error,
        sql: check.sql.clone(),
        change: None,
        baseline: None,
    }
}

/// The first `rows` violations, ordered by the check's key columns and
/// then by every column of its result, so that two runs on the same data
/// show the same sample (DataFusion returns rows in whatever order its
/// partitions finish, and many violations may share a key or a NULL one).
/// A result that cannot be ordered so (a key it lacks, a struct column)
/// is ordered by its keys alone if it can be, else not at all.
async fn sample_query(catalog: &Catalog, check: &Check, rows: usize, what: &str) -> crate::Result<crate::catalog::QueryResult> {
    let unordered = format!("SELECT * FROM ({}\n) AS violations LIMIT {rows}", check.sql);
    let columns = catalog.read_only_plan(&check.sql, what).await?.schema().fields().len();
    let keys: Vec<String> = check.keys.iter().map(|k| crate::catalog::quote_ident(k)).collect();
    let every: Vec<String> = keys.iter().cloned().chain((1..=columns).map(|i| i.to_string())).collect();
    for order in [every, keys] {
        if order.is_empty() {
            continue;
        }
        let ordered = format!("SELECT * FROM ({}\n) AS violations ORDER BY {} LIMIT {rows}", check.sql, order.join(", "));
        if let Ok(r) = catalog.query_read_only(&ordered, what).await {
            return Ok(r);
        }
    }
    catalog.query_read_only(&unordered, what).await
}

fn redact(rows: Vec<serde_json::Value>, keys: &[String], show_values: bool) -> Vec<serde_json::Value> {
    if show_values || keys.is_empty() {
        return rows;
    }
    rows.into_iter()
        .map(|row| match row {
            serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().filter(|(k, _)| keys.contains(k)).collect()),
            other => other,
        })
        .collect()
}

fn to_json_rows(batches: &[arrow::record_batch::RecordBatch]) -> crate::Result<Vec<serde_json::Value>> {
    let mut buf = Vec::new();
    crate::convert::plain::write_json_lines(&batches.iter().collect::<Vec<_>>(), &mut buf)?;
    String::from_utf8_lossy(&buf)
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| crate::Error::Invalid(format!("sample row: {e}"))))
        .collect()
}
