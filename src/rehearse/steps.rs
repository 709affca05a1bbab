//! The rehearsal's steps 1 to 4 and the run that strings all six together.
//! Steps 5 and 6 (the comparisons) are in [`super::compare`].

use std::sync::Arc;

use crate::env::Clock;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use serde_json::{Value, json};

use super::command::{Ran, Runner};
use super::proxy::{Faults, Proxy};
use super::tables::{self, TableShape};
use super::{Options, Projection, Rehearsal, Status, Step, compare, load};
use crate::error::{Error, Result};
use crate::load::LoadedTable;
use crate::plan::manifest::PlanManifest;

/// What the steps share.
pub(super) struct Ctx<'a> {
    pub o: &'a Options,
    pub loaded: &'a [LoadedTable],
    pub client: &'a Client,
    pub clock: Arc<dyn Clock>,
    pub runner: &'a Runner,
    /// Tables created on the target (and deleted at the end).
    pub created: Vec<TableShape>,
    pub plan_dir: PathBuf,
    /// The plan's manifest (step 3).
    pub manifest: Option<Value>,
    pub projection: Projection,
}

impl Ctx<'_> {
    /// Global flags for steps that read the exports (the S3 endpoint, the
    /// point in time, strictness); not for the re-check of the scan, whose
    /// export is of now.
    pub fn read_flags(&self) -> Vec<String> {
        let mut flags: Vec<String> = self.o.s3_endpoint.iter().flat_map(|u| ["--s3-endpoint-url".to_string(), u.clone()]).collect();
        flags.extend(self.o.as_of.iter().flat_map(|t| ["--as-of".to_string(), t.clone()]));
        if self.o.strict {
            flags.push("--strict".into());
        }
        flags
    }

    /// The target endpoint flag for steps that write or read DynamoDB.
    pub fn target_flags(&self, url: Option<&str>) -> Vec<String> {
        url.or(self.o.target_endpoint.as_deref()).iter().flat_map(|u| ["--dynamodb-endpoint-url".to_string(), u.to_string()]).collect()
    }

    /// The name a table has on the target.
    pub fn physical(&self, source_physical: &str) -> String {
        format!("{}{source_physical}", self.o.table_prefix)
    }

    /// `--table MODEL=TABLE` for every table of the plan.
    pub fn table_args(&self) -> Vec<String> {
        let targets = self.manifest.as_ref().and_then(|m| m["targets"].as_array().cloned()).unwrap_or_default();
        targets
            .iter()
            .filter_map(|t| Some(format!("{}={}", t["name"].as_str()?, self.physical(t["physical"].as_str()?))))
            .flat_map(|a| ["--table".to_string(), a])
            .collect()
    }
}

fn step(number: u8, name: &str) -> Step {
    Step { number, name: name.into(), status: Status::Skipped, seconds: 0.0, lines: Vec::new(), commands: Vec::new(), details: Value::Null }
}

/// Runs the rehearsal. A step that fails stops it (the later steps are
/// listed as skipped); the tables it created are deleted at the end unless
/// `keep_tables`.
pub async fn run(o: &Options, loaded: &[LoadedTable], (client, clock): (&Client, Arc<dyn Clock>), runner: &Runner) -> Result<Rehearsal> {
    super::validate(o)?;
    std::fs::create_dir_all(&o.work_dir).map_err(|e| Error::io_path(&o.work_dir, e))?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let plan_dir = o.work_dir.join("plan");
    let mut cx = Ctx { o, loaded, client, clock, runner, created: Vec::new(), plan_dir, manifest: None, projection: Projection::default() };
    let names = ["create tables and load", "checks before", "plan", "apply", "verify and compare", "rollback and compare"];
    let mut steps: Vec<Step> = names.iter().enumerate().map(|(i, n)| step(i as u8 + 1, n)).collect();
    for s in steps.iter_mut() {
        let t = Instant::now();
        let result = match s.number {
            1 => step_load(&mut cx, s).await,
            2 => step_checks(&cx, s).await,
            3 => step_plan(&mut cx, s).await,
            4 => step_apply(&mut cx, s).await,
            5 => compare::step_verify(&cx, s).await,
            _ => compare::step_rollback(&cx, s).await,
        };
        s.seconds = t.elapsed().as_secs_f64();
        if let Err(e) = result {
            s.status = Status::Failed;
            s.lines.push(format!("error: {e}"));
            break;
        }
    }
    let mut cleanup = Vec::new();
    if !o.keep_tables {
        for t in &cx.created {
            // A table left behind is reported, not an error that would lose the report.
            if let Err(e) = tables::delete(client, &t.physical).await {
                cleanup.push(format!("{e}; delete it by hand"));
            }
        }
    }
    let tables = cx.created.iter().map(|t| json!({"model": t.model, "table": t.physical, "key": t.key.iter().map(|k| &k.0).collect::<Vec<_>>(), "indexes": t.indexes.iter().map(|i| &i.0).collect::<Vec<_>>(), "notes": t.notes})).collect();
    Ok(Rehearsal {
        format: "ddbsnap-rehearsal/1".into(),
        started_at,
        target: o.target_endpoint.clone().unwrap_or_else(|| "AWS (default endpoint)".into()),
        transform: o.transform.clone(),
        work_dir: o.work_dir.display().to_string(),
        tables,
        steps,
        projection: cx.projection,
        cleanup,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Step 1: a table per loaded table, shaped by its model, loaded with the
/// snapshot, and its item count read back.
async fn step_load(cx: &mut Ctx<'_>, s: &mut Step) -> Result<()> {
    let mut details = Vec::new();
    let (mut items, mut seconds) = (0u64, 0.0);
    for t in cx.loaded {
        let physical = cx.physical(t.snapshot.full.summary.physical_table());
        let shape = tables::shape(t.name(), &physical, cx.o.intro.models.get(t.name()), Some(&t.schema));
        tables::create(cx.client, &shape, cx.o.replace_tables).await?;
        s.lines.extend(shape.notes.iter().cloned());
        cx.created.push(shape);
        let l = load::load((cx.client, cx.clock.clone()), t, &physical, cx.o.load_concurrency, Duration::from_secs(300)).await?;
        let counted = super::scan::count(cx.client, &physical, super::scan::segments_for(t.report.items)).await?;
        if counted != t.report.items {
            return Err(Error::Invalid(format!("{physical} holds {counted} items after loading {} from the snapshot", t.report.items)));
        }
        s.lines.push(format!(
            "{}: {} items into {physical} in {:.1} s ({:.0} items/s, {} retries); {counted} counted back",
            t.name(),
            l.items,
            l.seconds,
            l.items as f64 / l.seconds.max(1e-9),
            l.retries
        ));
        items += l.items;
        seconds += l.seconds;
        details.push(serde_json::to_value(&l).unwrap_or(Value::Null));
    }
    cx.projection.items = items;
    cx.projection.load_items_per_sec = items as f64 / f64::max(seconds, 1e-9);
    s.details = Value::Array(details);
    s.status = Status::Passed;
    Ok(())
}

/// Step 2: the new model's checks on the snapshot (and the lint against
/// the deployed model). Failures here are findings, not a failed step:
/// they are what the migration is for; step 3 shows them after it.
async fn step_checks(cx: &Ctx<'_>, s: &mut Step) -> Result<()> {
    let mut args = cx.read_flags();
    args.extend(["check".into(), "--amplify".into(), cx.o.amplify.display().to_string(), "--format".into(), "json".into()]);
    args.extend(cx.o.exports.iter().cloned());
    let ran = cx.runner.run(args).await?;
    s.commands.push(ran.command.clone());
    if ran.code == Some(2) {
        return Err(ran.failure());
    }
    let report = ran.json()?;
    let failing: Vec<String> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "pass")
        .map(|c| format!("{} {} ({} items)", c["status"].as_str().unwrap_or("?"), c["name"].as_str().unwrap_or("?"), c["violations"]))
        .collect();
    let total = report["checks"].as_array().map(|a| a.len()).unwrap_or(0);
    s.lines.push(format!("{total} checks of the new model on the snapshot: {} do not pass", failing.len()));
    s.lines.extend(failing.iter().map(|f| format!("  {f}")));
    let mut details = json!({"check": report});
    if let Some(old) = &cx.o.amplify_old {
        let mut args = cx.read_flags();
        args.extend(["lint".into(), "--from".into(), old.display().to_string(), "--to".into(), cx.o.amplify.display().to_string()]);
        args.extend(["--format".into(), "json".into()]);
        args.extend(cx.o.exports.iter().cloned());
        let lint = cx.runner.run(args).await?;
        s.commands.push(lint.command.clone());
        if lint.code == Some(2) {
            return Err(lint.failure());
        }
        s.lines.push(format!(
            "lint: {}",
            if lint.code == Some(0) { "no breaking changes" } else { "breaking or dangerous changes (see details)" }
        ));
        details["lint"] = lint.json()?;
    }
    s.details = details;
    s.status = Status::Passed;
    Ok(())
}

/// Step 3: the plan, as production will make it.
async fn step_plan(cx: &mut Ctx<'_>, s: &mut Step) -> Result<()> {
    let o = cx.o;
    let mut args = cx.read_flags();
    args.extend(["plan".into(), "-t".into(), o.transform.clone()]);
    for (k, v) in &o.params {
        args.extend(["-p".into(), format!("{k}={v}")]);
    }
    args.extend(["--amplify".into(), o.amplify.display().to_string(), "--out".into(), cx.plan_dir.display().to_string()]);
    args.extend(["--format".into(), "json".into(), "--price-per-million".into(), o.price_per_million.to_string()]);
    args.extend(["--write-rate".into(), o.production_wcu_per_sec.to_string()]);
    if o.require_clean {
        args.push("--require-clean".into());
    }
    args.extend(o.exports.iter().cloned());
    let ran = cx.runner.run(args).await?;
    s.commands.push(ran.command.clone());
    if ran.code == Some(2) || ran.code.is_none() {
        return Err(ran.failure());
    }
    let m = ran.json()?;
    let ops =
        m["summary"]["operations"].as_object().map(|t| t.iter().map(|(table, o)| format!("{table}: {o}")).collect::<Vec<_>>().join("; "));
    s.lines.push(format!("operations: {}; no-ops {}; skipped {}", ops.unwrap_or_default(), m["summary"]["noops"], m["summary"]["skipped"]));
    let manifest: PlanManifest = serde_json::from_value(m.clone()).map_err(|e| Error::Invalid(format!("the plan's manifest: {e}")))?;
    s.lines.push(crate::report::plan::verdict(&manifest));
    for c in manifest.checks.iter().filter(|c| c.after.status != crate::checks::run::Status::Pass) {
        let before = c.before.as_ref().map(|b| b.violations.to_string()).unwrap_or_else(|| "n/a".into());
        s.lines.push(format!("  {} {}: {before} -> {} items ({})", c.change().group(), c.name, c.after.violations, c.change().name()));
    }
    let p = &mut cx.projection;
    p.operations = m["summary"]["operations"]
        .as_object()
        .map(|t| t.values().flat_map(|o| o.as_object().into_iter().flat_map(|o| o.values())).filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    p.write_units = m["cost"]["write_units"].as_u64().unwrap_or(0);
    p.price_per_million = o.price_per_million;
    p.usd = p.write_units as f64 / 1e6 * o.price_per_million;
    p.production_wcu_per_sec = o.production_wcu_per_sec;
    p.seconds_at_production_rate = p.write_units as f64 / o.production_wcu_per_sec.max(1e-9);
    s.status = if ran.code == Some(0) { Status::Passed } else { Status::Problems };
    s.details = m.clone();
    cx.manifest = Some(m);
    Ok(())
}

/// Step 4: the apply at production's rate limit; with `kill_at`, killed
/// part way (SIGKILL) and resumed; with `throttle_every`, through the
/// fault proxy.
async fn step_apply(cx: &mut Ctx<'_>, s: &mut Step) -> Result<()> {
    create_new_targets(cx).await?;
    let o = cx.o;
    let m = cx.manifest.clone().ok_or_else(|| Error::Invalid("no plan".into()))?;
    let sha = m["sha256"].as_str().unwrap_or_default().to_string();
    let proxy = match (&o.target_endpoint, o.throttle_every) {
        (Some(url), n) if n > 0 => Some(
            Proxy::start(url, Faults { throttle_every: n, ..Default::default() })
                .map_err(|e| Error::Invalid(format!("starting the fault proxy: {e}")))?,
        ),
        _ => None,
    };
    let mut args = cx.target_flags(proxy.as_ref().map(|p| p.url()));
    args.extend(["apply".into(), cx.plan_dir.display().to_string(), "--approve".into(), sha, "--format".into(), "json".into()]);
    args.extend(["--concurrency".into(), o.concurrency.to_string()]);
    args.extend(cx.table_args());
    if let Some(r) = o.max_wcu_per_sec {
        args.extend(["--max-wcu-per-sec".into(), r.to_string()]);
    }
    if o.allow_failing_checks {
        args.push("--allow-failing-checks".into());
    }
    if o.require_clean {
        args.push("--require-clean".into());
    }
    let mut runs: Vec<Ran> = Vec::new();
    if let Some(k) = o.kill_at {
        let after = ((cx.projection.operations as f64) * k).ceil() as u64;
        let journal = crate::apply::journal::Journal::path_for(&cx.plan_dir, "apply");
        let first = cx.runner.run_and_kill(args.clone(), journal.clone(), after.max(1)).await?;
        let killed = first.code.is_none();
        s.lines.push(if killed {
            format!(
                "killed (SIGKILL) after {} of {} operations were journaled; resuming",
                super::command::journal_entries(&journal),
                cx.projection.operations
            )
        } else {
            format!("the apply ended (exit {:?}) before it could be killed at {after} operations", first.code)
        });
        s.commands.push(first.command.clone());
        runs.push(first);
        if killed {
            args.push("--resume".into());
            runs.push(cx.runner.run(args).await?);
        }
    } else {
        runs.push(cx.runner.run(args).await?);
    }
    let last = runs.last().expect("at least one run");
    if !s.commands.contains(&last.command) {
        s.commands.push(last.command.clone());
    }
    let report = last.json()?;
    let seconds: f64 = runs.iter().map(|r| r.seconds).sum();
    let p = &mut cx.projection;
    p.rehearsal_ops_per_sec = report["operations"].as_f64().unwrap_or(0.0) / seconds.max(1e-9);
    p.rehearsal_wcu_per_sec = p.write_units as f64 / seconds.max(1e-9);
    let retries = (report["retries"].as_u64().unwrap_or(0), report["retries_by_cause"]["throttled"].as_u64().unwrap_or(0));
    p.limited_by = limited_by(
        p.rehearsal_wcu_per_sec,
        (o.max_wcu_per_sec, o.concurrency),
        retries,
        report["operations"].as_u64().unwrap_or(0),
        runs.len() > 1,
    );
    s.lines.push(format!(
        "{} operations: {} written, {} already written, {} finished before the kill, {} conflicts, {} failed, {} retries; {:.1} s in all ({:.0} operations/s)",
        report["operations"], report["written"], report["already_applied"], report["already_journaled"], report["conflicts"], report["failed"], report["retries"], seconds, p.rehearsal_ops_per_sec
    ));
    if let Some(proxy) = &proxy {
        let t = proxy.tally();
        s.lines.push(format!("fault proxy: {} requests, {} answered with throttling", t.requests, t.throttled));
        if t.throttled == 0 {
            s.lines.push("no throttling was injected (too few requests)".into());
        }
    }
    s.status = match last.code {
        Some(0) => Status::Passed,
        Some(1 | 2) => Status::Problems,
        _ => return Err(last.failure()),
    };
    s.details = json!({"report": report, "runs": runs.iter().map(|r| json!({"command": r.command, "exit": r.code, "seconds": r.seconds})).collect::<Vec<_>>()});
    Ok(())
}

/// What held the apply to the rate it reached (`wcu`): the rate limit when
/// it ran near it, retries when they were one in twenty operations or more,
/// a crash and resume, and otherwise the target server (how fast it
/// answered `concurrency` requests at a time).
fn limited_by(
    wcu: f64,
    (max, concurrency): (Option<f64>, usize),
    (retries, throttled): (u64, u64),
    operations: u64,
    resumed: bool,
) -> String {
    let mut why = Vec::new();
    if let Some(max) = max.filter(|m| wcu >= 0.8 * m) {
        why.push(format!("the rate limit (--max-wcu-per-sec {max})"));
    }
    if retries > 0 && retries.saturating_mul(20) >= operations.max(1) {
        why.push(format!("retries ({retries}, {throttled} of them throttled)"));
    }
    if resumed {
        why.push("the crash and resume (two runs, each starting up)".to_string());
    }
    if why.is_empty() {
        let limit = max.map_or("no rate limit".to_string(), |m| format!("well under its limit of {m} write units/s"));
        why.push(format!(
            "how fast the target server answered (the apply sent up to {concurrency} requests at a time, --concurrency; {limit}; {retries} retries)"
        ));
    }
    why.join("; ")
}

/// Tables the plan writes that the snapshot does not hold (a blue-green
/// copy's new model) are created before the apply.
async fn create_new_targets(cx: &mut Ctx<'_>) -> Result<()> {
    let targets = cx.manifest.as_ref().and_then(|m| m["targets"].as_array().cloned()).unwrap_or_default();
    let written = cx.manifest.as_ref().and_then(|m| m["summary"]["operations"].as_object().cloned()).unwrap_or_default();
    for t in targets {
        let (Some(name), Some(physical)) = (t["name"].as_str(), t["physical"].as_str()) else { continue };
        if t["in_snapshot"] == true || !written.contains_key(name) {
            continue;
        }
        let shape = tables::shape(name, &cx.physical(physical), cx.o.intro.models.get(name), None);
        tables::create(cx.client, &shape, cx.o.replace_tables).await?;
        cx.created.push(shape);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::limited_by;

    #[test]
    fn the_limit_on_the_apply_is_named() {
        assert_eq!(limited_by(95.0, (Some(100.0), 8), (0, 0), 1000, false), "the rate limit (--max-wcu-per-sec 100)");
        let server = limited_by(62.0, (Some(500.0), 8), (3, 0), 1000, false);
        assert!(server.starts_with("how fast the target server answered (the apply sent up to 8 requests at a time"), "{server}");
        assert!(server.contains("well under its limit of 500"), "{server}");
        let retried = limited_by(62.0, (None, 4), (120, 100), 1000, true);
        assert_eq!(retried, "retries (120, 100 of them throttled); the crash and resume (two runs, each starting up)");
    }
}
