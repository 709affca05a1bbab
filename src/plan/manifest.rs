//! What a plan's manifest (`plan.json`) records: where the data came from,
//! the transform, what will change, what it costs, and how the checks fare
//! before and after. Everything a reviewer needs without opening the
//! operations file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rows::OpKind;
use super::transform::Transform;
use crate::checks::gate::{self, Change, Outcome, Rule};
use crate::checks::generate::Severity;
use crate::checks::run::Status;

pub const FORMAT: &str = "ddbsnap-plan/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanManifest {
    pub format: String,
    pub created_at: String,
    pub ddbsnap_version: String,
    pub transform: Transform,
    /// The exports each table was read from.
    pub sources: Vec<SourceTable>,
    /// Every table the plan writes to.
    pub targets: Vec<TargetTable>,
    pub summary: Summary,
    pub cost: Cost,
    pub checks: Vec<CheckComparison>,
    /// A few operations shown as before/after diffs.
    pub samples: Vec<DiffSample>,
    /// Rows the transform marked `_skip` (the first ones; the count is in the summary).
    pub skipped: Vec<Skipped>,
    pub ops_file: OpsFile,
    /// SHA-256 of this manifest's canonical JSON without this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceTable {
    pub table: String,
    pub items: u64,
    pub exports: Vec<SourceExport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceExport {
    pub export_id: String,
    pub export_arn: String,
    pub table_arn: String,
    /// FULL_EXPORT or INCREMENTAL_EXPORT.
    pub kind: String,
    /// The time the data is as of (the export time, or an incremental's end).
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetTable {
    /// The table's name in ddbsnap (the model name for Amplify tables).
    pub name: String,
    /// The DynamoDB table name, when known (from the export's table ARN, or
    /// derived from a sibling Amplify table's name for a new model).
    pub physical: Option<String>,
    pub key: Vec<String>,
    /// Whether the snapshot holds this table (else every PUT is a new item).
    pub in_snapshot: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Result rows of the transform.
    pub rows: u64,
    /// Operations planned, per table and operation.
    pub operations: BTreeMap<String, BTreeMap<OpKind, u64>>,
    /// Rows that would not change their item (already in the target shape).
    pub noops: u64,
    /// Rows marked `_skip`.
    pub skipped: u64,
    /// Per table, per attribute: what the operations do to it.
    pub attributes: BTreeMap<String, BTreeMap<String, AttrChange>>,
    /// Per table: which of its items the transform returned, and which it
    /// left out (and what those still fail after the plan).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, Coverage>,
}

/// What a transform did with one table's items.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// Items of the table in the snapshot.
    pub read: u64,
    /// Snapshot items the transform returned a row for.
    pub returned: u64,
    /// Operations on the table (new items included).
    pub operations: u64,
    /// Rows that change nothing.
    pub noops: u64,
    /// Rows marked `_skip`.
    pub skipped: u64,
    /// Snapshot items the transform returned no row for: left as they are.
    pub not_returned: u64,
    /// Per check failing after the plan: how many of its violations are
    /// items the transform left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub untouched_failing: BTreeMap<String, u64>,
}

impl Summary {
    pub fn total_ops(&self) -> u64 {
        self.operations.values().flat_map(|m| m.values()).sum()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttrChange {
    /// Items that gain the attribute.
    pub added: u64,
    /// Items whose value changes.
    pub changed: u64,
    /// Items that lose it (REMOVE, or DELETE of the whole item).
    pub removed: u64,
    /// DynamoDB type before -> after (`-` when absent), with counts: a type
    /// change shows here, wanted (S -> N) or not.
    pub types: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cost {
    /// Write units (1 KB steps of the larger of the item before and after).
    pub write_units: u64,
    /// Price in USD per million write request units (on-demand).
    pub price_per_million: f64,
    pub usd: f64,
    /// Write units per second assumed for the duration.
    pub write_rate: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckComparison {
    pub name: String,
    pub table: String,
    pub severity: Severity,
    pub description: String,
    /// The check on the data as it is (None when the table is not in the snapshot).
    pub before: Option<CheckOutcome>,
    /// The check on the data as it would be after the plan.
    pub after: CheckOutcome,
    /// When the check fails both before and after: how many of its
    /// violations after the plan are items that did not violate it before
    /// (by the check's key columns). A plan that fixes five items and
    /// breaks five others leaves the count unchanged; this does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newly_failing: Option<u64>,
}

impl CheckComparison {
    /// How the plan moves this check, from the data as it is to the data after it.
    pub fn change(&self) -> Change {
        match gate::classify(self.before.as_ref().map(CheckOutcome::outcome), self.after.outcome()) {
            Change::Unchanged | Change::Improved if self.newly_failing.unwrap_or(0) > 0 => Change::Regressed,
            c => c,
        }
    }

    /// Whether this check stops the plan under `rule`.
    pub fn blocks(&self, rule: Rule) -> bool {
        gate::blocks(rule, self.severity, self.after.status, self.change())
    }
}

impl PlanManifest {
    /// The checks that stop this plan under `rule` (`plan`'s exit code, `apply`'s refusal).
    pub fn blocking_checks(&self, rule: Rule) -> Vec<&CheckComparison> {
        self.checks.iter().filter(|c| c.blocks(rule)).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub status: Status,
    pub violations: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CheckOutcome {
    pub fn outcome(&self) -> Outcome {
        Outcome { status: self.status, violations: self.violations }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffSample {
    pub table: String,
    pub op: OpKind,
    /// The key as plain JSON.
    pub key: serde_json::Value,
    pub changes: Vec<AttrDiff>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttrDiff {
    pub attribute: String,
    /// DynamoDB JSON before and after; None when absent.
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub row: u64,
    pub table: String,
    pub key: serde_json::Value,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpsFile {
    pub name: String,
    pub rows: u64,
    pub sha256: String,
}
