//! `ddbsnap apply`, `verify` and `rollback`: approved plans written to
//! DynamoDB, read back, and undone.

use crate::env::Env;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Global;
use crate::apply::expr::Stamp;
use crate::apply::journal::{self, Header, Journal};
use crate::apply::run::{self, Counters, Report, Settings};
use crate::checks::gate::Rule;
use crate::plan::file::PlanFile;

#[derive(clap::Args, Debug)]
#[command(after_help = "Writes go to DynamoDB through the standard AWS configuration (region, credentials); --dynamodb-endpoint-url \
points at DynamoDB Local or another endpoint. Each UPDATE, PUT over an existing item and DELETE is conditional on the item \
still holding what the snapshot saw (the attributes the transform reads and writes, plus updatedAt, _version and \
_lastChangedAt where present): an item changed since is a conflict, recorded with its current value and never \
overwritten. PUTs into a table the snapshot does not hold go through BatchWriteItem.\n\n\
A journal (PLAN.journal) records every finished write, synced to disk; after a crash, run the same command with --resume.\n\n\
Exit codes: 0 every operation written (or found already written), 1 conflicts, 2 writes that failed or an error.")]
pub struct ApplyArgs {
    /// The plan folder written by `ddbsnap plan`.
    pub plan: PathBuf,
    /// The plan's SHA-256 (or a unique prefix of at least 8 digits), as `plan show` prints it: what the reviewer approved.
    #[arg(long, value_name = "SHA")]
    pub approve: String,
    /// Continue an apply that stopped, from its journal.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Apply even though checks the plan makes worse fail on the data as it would be after it.
    #[arg(long)]
    pub allow_failing_checks: bool,
    /// Block on every failing error-severity check, not only on checks the plan makes worse
    /// (a pass that fails, more violations, a new error).
    #[arg(long)]
    pub require_clean: bool,
}

/// How fast writes go, for every command that writes to DynamoDB as `apply` does (apply, rollback, load).
#[derive(clap::Args, Debug)]
pub struct Pace {
    /// Write units per second at most (a token bucket fed by the capacity DynamoDB reports; halves on throttling).
    #[arg(long, value_name = "N", value_parser = super::values::rate_limit)]
    pub max_wcu_per_sec: Option<f64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = super::values::at_least_one)]
    pub concurrency: usize,
    /// Seconds one write may spend being retried (throttling, 5xx, timeouts, dropped connections) before it counts as failed.
    #[arg(long, default_value_t = 120)]
    pub retry_for: u64,
}

#[derive(clap::Args, Debug)]
pub struct WriteArgs {
    /// The DynamoDB table of a model, MODEL=TABLE (default: the table of the export, or derived for a new model).
    #[arg(long = "table", value_name = "MODEL=TABLE")]
    pub tables: Vec<String>,
    #[command(flatten)]
    pub pace: Pace,
    /// Go through everything but the writes.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The plan folder.
    pub plan: PathBuf,
    /// The apply journal (default: PLAN.journal), whose time stamps the applied items carry.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    #[arg(long = "table", value_name = "MODEL=TABLE")]
    pub tables: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    /// The apply journal (PLAN.journal).
    pub journal: PathBuf,
    /// Continue a rollback that stopped.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

async fn client(g: &Global) -> aws_sdk_dynamodb::Client {
    // ddbsnap retries writes itself (backoff, jitter, the journal, the rate limit).
    dynamodb_client(g, g.dynamodb_endpoint_url.as_deref(), false).await
}

/// A DynamoDB client from the standard AWS configuration chain, pointed at
/// `endpoint` when given. `whole_tables` (a rehearsal's creating, loading,
/// scanning and deleting tables) turns on the SDK's retries and long attempts.
pub(super) async fn dynamodb_client(g: &Global, endpoint: Option<&str>, whole_tables: bool) -> aws_sdk_dynamodb::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = &g.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let shared = loader.load().await;
    // Writes are small and retried by ddbsnap: a 10 s attempt is plenty.
    // Rehearsals also create, scan and delete whole tables, which DynamoDB
    // Local can take minutes over for a million items.
    let attempt = if whole_tables { Duration::from_secs(600) } else { Duration::from_secs(10) };
    let timeouts =
        aws_config::timeout::TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).operation_attempt_timeout(attempt).build();
    let retry = if whole_tables {
        aws_config::retry::RetryConfig::standard().with_max_attempts(8)
    } else {
        aws_config::retry::RetryConfig::disabled()
    };
    let mut b = aws_sdk_dynamodb::config::Builder::from(&shared).retry_config(retry).timeout_config(timeouts);
    if let Some(url) = endpoint {
        b = b.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(b.build())
}

fn table_map(plan: &PlanFile, given: &[String]) -> Result<HashMap<String, String>> {
    let mut m: HashMap<String, String> = plan.manifest.targets.iter().filter_map(|t| Some((t.name.clone(), t.physical.clone()?))).collect();
    let mut seen = std::collections::HashSet::new();
    for g in given {
        let (model, table) = super::values::pair("--table", "MODEL=TABLE", g)?;
        // A typo must not leave the write going to the export's own table.
        if !plan.manifest.targets.iter().any(|t| t.name == model) {
            let names: Vec<&str> = plan.manifest.targets.iter().map(|t| t.name.as_str()).collect();
            bail!(
                "--table {}: the plan writes to no table {:?} (its tables: {})",
                crate::error::brief(g, 120),
                crate::error::brief(model, 80),
                names.join(", ")
            );
        }
        if !seen.insert(model) {
            bail!("--table {}: {model} is given twice", crate::error::brief(g, 120));
        }
        m.insert(model.to_string(), table.to_string());
    }
    Ok(m)
}

/// Everything a run needs, checked before any journal exists: a journal
/// only ever claims what was written.
async fn settings(g: &Global, env: &Env, plan: &PlanFile, w: &WriteArgs, fresh_apply: bool) -> Result<Settings> {
    let tables = table_map(plan, &w.tables)?;
    for t in plan.manifest.targets.iter().filter(|t| plan.manifest.summary.operations.get(&t.name).is_some_and(|k| !k.is_empty())) {
        if !tables.contains_key(&t.name) {
            bail!("no DynamoDB table for {}: give --table {}=NAME", t.name, t.name);
        }
    }
    let client = client(g).await;
    let where_ = crate::apply::preflight::describe_target(&client, g.dynamodb_endpoint_url.as_deref());
    let writes =
        crate::apply::preflight::check_targets(&client, (&where_, g.dynamodb_endpoint_url.as_deref()), plan, &tables, fresh_apply).await?;
    for (name, physical) in &writes {
        eprintln!("ddbsnap: {} {name} to DynamoDB table {physical} at {where_}", if w.dry_run { "would write" } else { "writing" });
    }
    Ok(Settings {
        client: Arc::new(client),
        clock: env.clock(),
        tables,
        concurrency: w.pace.concurrency.max(1),
        max_wcu_per_sec: w.pace.max_wcu_per_sec,
        retry_for: Duration::from_secs(w.pace.retry_for),
        dry_run: w.dry_run,
    })
}

pub async fn apply(g: &Global, env: &Env, a: ApplyArgs) -> Result<u8> {
    let plan = PlanFile::open(&a.plan)?;
    let sha = plan.sha256().to_string();
    check_approval(&a.approve, &sha, &a.plan)?;
    refuse_blocking_checks(&plan.manifest, Rule::from_flag(a.require_clean), a.allow_failing_checks)?;
    let s = settings(g, env, &plan, &a.write, !a.resume).await?;
    let ops = plan.manifest.ops_file.rows;
    let (mut journal, _tmp) = open_journal(&a.plan, "apply", (&sha, ops), a.resume, a.write.dry_run, None)?;
    let counters = Arc::new(Counters::default());
    let work = run::Work::apply(&plan, &journal);
    let (report, left) = work.count(&journal, s.dry_run)?;
    let report =
        with_progress(g, "applying", left, counters.clone(), run::execute(&work, report, &mut journal, &s, counters.clone())).await?;
    finish(&report, a.write.format, &journal.path, a.write.dry_run)
}

/// The approval names this plan: hex digits, at least 8, a prefix of its
/// SHA-256. The refusal says which rule failed and never prints the SHA it
/// refused, so that copying it from the error cannot stand in for a review.
fn check_approval(given: &str, sha: &str, plan: &std::path::Path) -> Result<()> {
    // At most 16 characters of it: a long value may hold the whole SHA-256.
    let shown = crate::error::brief(&crate::error::escape_unsafe(given), 16);
    if !given.bytes().all(|b| b.is_ascii_hexdigit()) || given.is_empty() {
        bail!("--approve {shown}: not a SHA-256 prefix (hex digits 0-9 and a-f only)");
    }
    if given.len() < 8 {
        bail!(
            "--approve {shown}: give at least 8 hex digits of the plan's SHA-256 ({} given), as `ddbsnap plan show` prints it",
            given.len()
        );
    }
    if given.len() > sha.len() {
        bail!("--approve {shown}: {} digits is longer than a SHA-256 ({})", given.len(), sha.len());
    }
    if !sha.starts_with(&given.to_ascii_lowercase()) {
        bail!(
            "--approve {shown} is not this plan's SHA-256: {} is another plan, or it changed after it was approved; \
             review it again with `ddbsnap plan show {}`",
            crate::error::escape_unsafe(&plan.display().to_string()),
            crate::rehearse::command::shell_word(&plan.display().to_string())
        );
    }
    Ok(())
}

/// Refuses a plan whose checks block under `rule`, naming them.
fn refuse_blocking_checks(m: &crate::plan::manifest::PlanManifest, rule: Rule, allowed: bool) -> Result<()> {
    let blocking = m.blocking_checks(rule);
    if blocking.is_empty() || allowed {
        return Ok(());
    }
    let names: Vec<String> =
        blocking.iter().take(5).map(|c| format!("{} ({})", crate::error::escape_unsafe(&c.name), c.change().name())).collect();
    let more = if blocking.len() > 5 { format!(" and {} more", blocking.len() - 5) } else { String::new() };
    let why = match rule {
        Rule::Regressions => "made worse by this plan",
        Rule::Clean => "failing after this plan (--require-clean)",
    };
    bail!(
        "{} check{} {why}: {}{more} (see `ddbsnap plan show`); apply anyway with --allow-failing-checks",
        blocking.len(),
        if blocking.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

pub async fn rollback(g: &Global, env: &Env, a: RollbackArgs) -> Result<u8> {
    // The apply journal is only read: a rollback (or its dry run) never changes it.
    let applied = Journal::open_read_only(&a.journal)?;
    let header = &applied.header;
    if header.kind != "apply" {
        bail!("{} is the journal of a {}, not of an apply", a.journal.display(), header.kind);
    }
    let plan_dir = PathBuf::from(&header.plan_dir);
    let plan = PlanFile::open(&plan_dir)?;
    if plan.sha256() != header.plan_sha256 {
        bail!("{} belongs to plan {}, but {} is now {}", a.journal.display(), header.plan_sha256, plan_dir.display(), plan.sha256());
    }
    let ops = plan.manifest.ops_file.rows;
    applied.check("apply", plan.sha256(), ops)?;
    let s = settings(g, env, &plan, &a.write, false).await?;
    let undoes = a.journal.display().to_string();
    let (mut journal, _tmp) = open_journal(&plan_dir, "rollback", (&header.plan_sha256, ops), a.resume, a.write.dry_run, Some(undoes))?;
    let counters = Arc::new(Counters::default());
    let work = run::Work::rollback(&plan, &applied);
    let (report, left) = work.count(&journal, s.dry_run)?;
    let report =
        with_progress(g, "rolling back", left, counters.clone(), run::execute(&work, report, &mut journal, &s, counters.clone())).await?;
    finish(&report, a.write.format, &journal.path, a.write.dry_run)
}

pub async fn verify(g: &Global, _env: &Env, a: VerifyArgs) -> Result<u8> {
    let plan = PlanFile::open(&a.plan)?;
    let path = a.journal.clone().unwrap_or_else(|| Journal::path_for(&a.plan, "apply"));
    // The journal of this plan's apply, checked as every mode checks one.
    let applied =
        Journal::open_read_only(&path).with_context(|| "verify compares with the items as the apply wrote them: give its --journal")?;
    applied.check("apply", plan.sha256(), plan.manifest.ops_file.rows)?;
    let stamp = Stamp { now: applied.header.stamp_now, now_ms: applied.header.stamp_now_ms };
    let tables = table_map(&plan, &a.tables)?;
    let (checked, mismatches) = crate::apply::verify::verify(&client(g).await, &plan, (&stamp, &applied.entries), &tables).await?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({"checked": checked, "mismatches": mismatches}))?),
        Format::Text => {
            println!("{checked} items read back, {} do not hold the planned state", mismatches.len());
            for m in mismatches.iter().take(50) {
                println!(
                    "  {} {}\n    expected {}\n    actual   {}",
                    crate::error::escape_unsafe(&m.table),
                    crate::error::brief(&m.key, 300),
                    m.expected.as_deref().map_or("(no item)".into(), |t| crate::error::brief(t, 300)),
                    m.actual.as_deref().map_or("(no item)".into(), |t| crate::error::brief(t, 300))
                );
            }
        }
    }
    Ok(if mismatches.is_empty() { 0 } else { super::EXIT_PROBLEMS })
}

/// Opens (or, with `resume`, continues) the journal beside the plan, after
/// checking it as every mode does ([`Journal::check`]). A dry run reads the
/// real journal, if any, and journals into a temporary file seeded with its
/// entries: it predicts the real run and changes no file beside the plan.
fn open_journal(
    plan: &Path,
    kind: &str,
    (sha, ops): (&str, u64),
    resume: bool,
    dry_run: bool,
    undoes: Option<String>,
) -> Result<(Journal, Option<TempFile>)> {
    let real = Journal::path_for(plan, kind);
    if resume && !real.exists() {
        bail!("{}: no journal, so nothing to resume: run without --resume", real.display());
    }
    // A journal of zero bytes recorded nothing: ddbsnap links a journal into
    // place only with its header, and sends no write before that. It is
    // taken as no journal in every mode (a real run removes it).
    if std::fs::metadata(&real).is_ok_and(|m| m.len() == 0) {
        if !dry_run {
            std::fs::remove_file(&real).with_context(|| format!("removing the empty journal {}", real.display()))?;
        }
        let path = if dry_run { dry_run_path(kind) } else { real.clone() };
        let tmp = dry_run.then(|| TempFile(path.clone()));
        return Ok((Journal::create(&path, new_header(plan, kind, sha, undoes))?, tmp));
    }
    let earlier = if resume {
        let j = Journal::open_read_only(&real)?;
        j.check(kind, sha, ops)?;
        Some(j)
    } else if real.exists() {
        bail!("{}: a journal exists: this plan was applied before; continue with --resume", real.display());
    } else {
        None
    };
    if !dry_run {
        if earlier.is_some() {
            return Ok((Journal::resume(&real)?, None));
        }
        return Ok((Journal::create(&real, new_header(plan, kind, sha, undoes))?, None));
    }
    let path = dry_run_path(kind);
    let tmp = TempFile(path.clone());
    let journal = match earlier {
        Some(e) => {
            let mut j = Journal::create(&path, e.header.clone())?;
            j.record(e.entries.into_values().collect())?;
            j
        }
        None => Journal::create(&path, new_header(plan, kind, sha, undoes))?,
    };
    Ok((journal, Some(tmp)))
}

/// A dry run's own journal, in the temp folder (removed when it ends).
fn dry_run_path(kind: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ddbsnap-dry-run-{}-{kind}.journal", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn new_header(plan: &Path, kind: &str, sha: &str, undoes: Option<String>) -> Header {
    let now = chrono::Utc::now();
    Header {
        format: journal::FORMAT.into(),
        kind: kind.into(),
        plan_sha256: sha.into(),
        plan_dir: std::fs::canonicalize(plan).unwrap_or(plan.to_path_buf()).display().to_string(),
        started_at: now.to_rfc3339(),
        stamp_now: now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        stamp_now_ms: now.timestamp_millis(),
        undoes,
        tables: None,
    }
}

/// A file removed when dropped (a dry run's journal).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `work` with a progress bar on stderr (on a terminal).
async fn with_progress<F: std::future::Future<Output = crate::Result<Report>>>(
    g: &Global,
    label: &str,
    total: u64,
    c: Arc<Counters>,
    work: F,
) -> Result<Report> {
    let bar = (!g.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_prefix(label.to_string());
        b
    });
    let ticker = bar.clone().map(|b| {
        let c = c.clone();
        tokio::spawn(async move {
            loop {
                let done = c.done.load(Ordering::Relaxed) + c.conflicts.load(Ordering::Relaxed) + c.failed.load(Ordering::Relaxed);
                b.set_position(done);
                b.set_message(format!(
                    "conflicts {} failed {} retries {}",
                    c.conflicts.load(Ordering::Relaxed),
                    c.failed.load(Ordering::Relaxed),
                    c.retries.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    let result = work.await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(result?)
}

fn finish(r: &Report, format: Format, journal: &Path, dry_run: bool) -> Result<u8> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(r)?),
        Format::Text => {
            println!(
                "{} operations: {} written, {} already written, {} conflicts, {} failed, {} finished before (resume); {} retries; {:.1} write units consumed in {:.1} s{}",
                r.operations,
                r.written,
                r.already_applied,
                r.conflicts,
                r.failed,
                r.already_journaled,
                r.retries,
                r.consumed_write_units,
                r.seconds,
                if dry_run { " (dry run: nothing was written)" } else { "" }
            );
            let esc = |v: &serde_json::Value| crate::error::escape_unsafe(&v.to_string()).into_owned();
            for c in &r.conflict_samples {
                println!("  conflict {} {}: now {}", esc(&c["table"]), esc(&c["key"]), esc(&c["current"]));
            }
            for f in &r.failure_samples {
                println!("  failed {} {}: {}", esc(&f["table"]), esc(&f["key"]), esc(&f["error"]));
            }
            if !dry_run {
                eprintln!("journal: {}", journal.display());
            }
        }
    }
    Ok(if r.failed > 0 {
        2
    } else if r.conflicts > 0 {
        super::EXIT_PROBLEMS
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::check_approval;

    #[test]
    fn approval_errors_say_what_is_wrong_without_the_sha() {
        let sha = "91ca1ca5".to_string() + &"0".repeat(56);
        let p = std::path::Path::new("p");
        let err = |g: &str| check_approval(g, &sha, p).unwrap_err().to_string();
        assert!(err("91ca1ca").contains("at least 8 hex digits") && err("91ca1ca").contains("(7 given)"));
        assert!(err("91ca1caz").contains("hex digits 0-9 and a-f only"));
        assert!(err("").contains("not a SHA-256 prefix"));
        assert!(err(&format!("{sha}0")).contains("longer than a SHA-256"));
        assert!(err("91ca1ca6").contains("is not this plan's SHA-256"));
        for g in ["91ca1ca", "91ca1ca6", "zz"] {
            assert!(!err(g).contains(&sha[..20]), "{}", err(g));
        }
        check_approval("91CA1CA5", &sha, p).unwrap();
        check_approval(&sha, &sha, p).unwrap();
    }
}
