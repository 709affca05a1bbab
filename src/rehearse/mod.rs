//! Rehearsals: a whole migration, end to end, on a copy of production's
//! data, against local or staging servers, timed and costed, before
//! production is touched.
//!
//! The steps, each verified and not just run:
//! 1. create tables shaped like the Amplify models on the target and load
//!    the snapshot into them;
//! 2. the checks (and, given the old model, the lint) before the migration;
//! 3. the plan, with its preview and post-transform checks;
//! 4. the apply, at production's rate limit, optionally through injected
//!    throttling and with a crash (SIGKILL) and `--resume` half way;
//! 5. `verify`, then a full scan compared item by item with what the plan
//!    says each table should hold, and the checks re-run on the scan,
//!    compared check by check with the plan's prediction;
//! 6. the rollback, and a full scan compared with the original snapshot.
//!
//! The comparisons of steps 5 and 6 hold a 128-bit digest per key and
//! item, not items, and the scans stream page by page (see [`digest`]):
//! the rehearsal's memory does not grow with copies of the data.
//!
//! Steps 2 to 6 run ddbsnap's own commands as separate processes (see
//! [`command`]): the rehearsal runs what production will run.

pub mod command;
pub mod load;
pub mod proxy;

mod compare;
pub mod digest;
pub mod scan;
mod steps;
pub mod tables;

use std::path::PathBuf;

use serde::Serialize;

use crate::checks::model::ModelIntrospection;
use crate::error::Result;

pub use steps::run;

/// What to rehearse, and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// The export arguments (passed on to the steps as they are).
    pub exports: Vec<String>,
    /// The new amplify_outputs.json: table shapes, checks, plan.
    pub amplify: PathBuf,
    /// The deployed amplify_outputs.json, for the lint.
    pub amplify_old: Option<PathBuf>,
    /// The transform (file or recipe) and its parameters.
    pub transform: String,
    pub params: Vec<(String, String)>,
    /// Where the plan, journals, scans and reports go.
    pub work_dir: PathBuf,
    /// S3 endpoint for reading exports (--s3-endpoint-url).
    pub s3_endpoint: Option<String>,
    /// How the exports were read (--as-of, --strict): the steps that read
    /// them again read the same state.
    pub as_of: Option<String>,
    pub strict: bool,
    /// The DynamoDB endpoint rehearsed against (None: AWS's).
    pub target_endpoint: Option<String>,
    pub region: Option<String>,
    /// Put before every table name on the target.
    pub table_prefix: String,
    pub replace_tables: bool,
    pub keep_tables: bool,
    /// BatchWriteItem calls in flight while loading.
    pub load_concurrency: usize,
    /// The apply's settings, as production will use them.
    pub max_wcu_per_sec: Option<f64>,
    pub concurrency: usize,
    /// Injected throttling: every Nth request answered with a throttling error.
    pub throttle_every: u64,
    /// Kill the apply once this fraction of operations is journaled, then resume.
    pub kill_at: Option<f64>,
    pub allow_failing_checks: bool,
    /// Plan and apply block on every failing check, not only on those made worse.
    pub require_clean: bool,
    pub price_per_million: f64,
    /// Production's write rate limit, for the projection.
    pub production_wcu_per_sec: f64,
    /// Model introspection of `amplify` (loaded by the caller).
    pub intro: ModelIntrospection,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Done, and everything it verifies holds.
    Passed,
    /// Done, but it found problems (failing checks, conflicts, differences).
    Problems,
    /// It could not be done; the rehearsal stopped.
    Failed,
    /// Not run (an earlier step failed, or not asked for).
    Skipped,
}

/// One step of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub number: u8,
    pub name: String,
    pub status: Status,
    pub seconds: f64,
    /// One line per finding, for people.
    pub lines: Vec<String>,
    /// The ddbsnap commands the step ran, as they would be typed.
    pub commands: Vec<String>,
    /// Machine-readable results (counts, comparisons, reports of the commands).
    pub details: serde_json::Value,
}

/// What production will take, from the plan and the rehearsal's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Projection {
    pub items: u64,
    pub operations: u64,
    pub write_units: u64,
    pub price_per_million: f64,
    pub usd: f64,
    pub production_wcu_per_sec: f64,
    pub seconds_at_production_rate: f64,
    /// Write units per second the rehearsal's apply reached.
    pub rehearsal_wcu_per_sec: f64,
    /// Operations per second the rehearsal's apply reached.
    pub rehearsal_ops_per_sec: f64,
    /// Items per second the load reached.
    pub load_items_per_sec: f64,
    /// What held the rehearsal's apply to the rate it reached: the rate
    /// limit, retries, the crash and resume, or the target server itself.
    /// The production figures are computed from write units and the
    /// production limit; only the rehearsal's rates are measured.
    pub limited_by: String,
}

/// The whole rehearsal.
#[derive(Debug, Clone, Serialize)]
pub struct Rehearsal {
    pub format: String,
    pub started_at: String,
    pub target: String,
    pub transform: String,
    pub work_dir: String,
    pub tables: Vec<serde_json::Value>,
    pub steps: Vec<Step>,
    pub projection: Projection,
    /// Tables that could not be deleted at the end.
    pub cleanup: Vec<String>,
    pub seconds: f64,
}

impl Rehearsal {
    /// The exit code: 0 every step passed, 1 a step found problems, 2 a step failed.
    pub fn exit_code(&self) -> u8 {
        if self.steps.iter().any(|s| s.status == Status::Failed) {
            2
        } else if self.steps.iter().any(|s| s.status == Status::Problems) {
            1
        } else {
            0
        }
    }
}

/// Checks options that would make the rehearsal fail late.
pub fn validate(o: &Options) -> Result<()> {
    if o.throttle_every > 0 && !o.target_endpoint.as_deref().is_some_and(|u| u.starts_with("http://")) {
        return Err(crate::Error::Invalid(
            "--inject-throttle-every needs an http:// --dynamodb-endpoint-url (the fault proxy speaks plain HTTP)".into(),
        ));
    }
    if let Some(k) = o.kill_at
        && !(k > 0.0 && k < 1.0)
    {
        return Err(crate::Error::Invalid(format!("--kill-at {k}: give a fraction between 0 and 1, e.g. 0.5")));
    }
    Ok(())
}
