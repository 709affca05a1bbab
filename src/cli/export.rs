//! `ddbsnap export`: take the exports themselves. DynamoDB's export to S3
//! (point-in-time recovery), FULL or INCREMENTAL continuing the chain under
//! the prefix; or, with --scan, a consistent scan written as a FULL export in
//! AWS's layout, for tables without PITR.

use crate::env::Env;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{Global, progress::Progress};
use crate::checks::model::ModelIntrospection;
use crate::export::pitr::{self, Bucket, Started};
use crate::export::scan::{Destination, scan_export};
use crate::export::tables::{Selection, Table, choose};
use crate::snapshot::S3Settings;
use crate::snapshot::manifest::OutputFormat;

#[derive(clap::Args, Debug)]
#[command(
    group(clap::ArgGroup::new("tables").required(true).args(["table", "table_pattern", "api_id"])),
    after_help = "Without --scan, each table gets one DynamoDB export to S3 (ExportTableToPointInTime), which needs \
point-in-time recovery on the table. With --incremental, each export starts exactly where the newest export of its table \
under the prefix ended (FULL or INCREMENTAL), and ends at the table's latest restorable time: the chain has no gap. \
DynamoDB takes windows of 15 minutes to 24 hours; outside them nothing is started and the error says what to do. Every \
table is checked (found, PITR on, window) before the first export starts.\n\n\
With --wait, ddbsnap waits for every export and prints each folder, ready for check, plan or rehearse; without it, it \
prints the export ARNs.\n\n\
--scan reads each table with a consistent parallel Scan and writes a FULL export in AWS's exact layout (manifests, \
checksums) to a folder or s3://: for DynamoDB Local, a staging table just loaded, or a table after an apply. A scan is not \
a point in time: items written while it runs may or may not be in it.\n\n\
Examples:\n  ddbsnap export --amplify amplify_outputs.json --api-id abc123 --to s3://exports/prod --wait\n  \
ddbsnap export --amplify amplify_outputs.json --api-id abc123 --to s3://exports/prod --incremental --wait\n  \
ddbsnap export --scan --table-pattern '*-abc123-NONE' --to after-apply/ --dynamodb-endpoint-url http://127.0.0.1:8000"
)]
pub struct ExportArgs {
    /// Where the exports go: s3://bucket/prefix, or with --scan also a local folder (it plays the bucket root).
    #[arg(long, value_name = "s3://BUCKET/PREFIX|DIR")]
    pub to: String,
    /// A table to export (repeatable).
    #[arg(long, value_name = "NAME")]
    pub table: Vec<String>,
    /// Export every table whose name matches (shell-style: * ? [abc]).
    #[arg(long, value_name = "GLOB")]
    pub table_pattern: Option<String>,
    /// amplify_outputs.json: export the table of each of its models, <Model>-<api-id>-<env> (with --api-id).
    #[arg(long, value_name = "FILE", requires = "api_id")]
    pub amplify: Option<PathBuf>,
    /// The Amplify app's AppSync API id (the middle part of its table names).
    #[arg(long, value_name = "ID", requires = "amplify")]
    pub api_id: Option<String>,
    /// The last part of the Amplify table names (NONE in Gen 2).
    #[arg(long, default_value = "NONE")]
    pub env: String,
    /// Export the changes since the newest export under the prefix, instead of the whole table.
    #[arg(long, conflicts_with = "scan")]
    pub incremental: bool,
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
    /// Wait until every export completes, then print the folders.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between DescribeExport calls while waiting.
    #[arg(long, default_value_t = 15.0, value_parser = super::values::poll_seconds)]
    pub poll_seconds: f64,
    /// Read the tables with a consistent Scan instead (no PITR needed), written as FULL exports.
    #[arg(long)]
    pub scan: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Json,
    Ion,
}

pub async fn run(g: &Global, _env: &Env, a: ExportArgs) -> Result<u8> {
    let format = match a.format {
        ExportFormat::Json => OutputFormat::DynamodbJson,
        ExportFormat::Ion => OutputFormat::Ion,
    };
    check_to(&a.to)?;
    let as_of = export_time(g, &a)?;
    let intro = a.amplify.as_deref().map(ModelIntrospection::load).transpose()?;
    let sel = match (&a.table_pattern, &intro, &a.api_id) {
        (Some(p), _, _) => Selection::Pattern(p),
        (None, Some(intro), Some(api_id)) => Selection::Amplify { intro, api_id, env: &a.env },
        _ => Selection::Names(&a.table),
    };
    let client = super::apply::dynamodb_client(g, g.dynamodb_endpoint_url.as_deref(), true).await;
    let where_ = crate::apply::preflight::describe_target(&client, g.dynamodb_endpoint_url.as_deref());
    let once = super::apply::dynamodb_client(g, g.dynamodb_endpoint_url.as_deref(), false).await;
    crate::apply::preflight::reachable(&once, &where_).await?;
    let tables = choose(&client, &sel, &where_).await?;
    let s3_target = a.to.strip_prefix("s3://").map(split_bucket).transpose()?;
    if a.scan {
        return scan(g, &client, &tables, s3_target, &a.to, format).await;
    }
    let Some((bucket, prefix)) = s3_target else {
        bail!("--to {}: DynamoDB exports go to S3 (s3://bucket/prefix); a folder takes --scan", a.to)
    };
    let bucket = Bucket { name: &bucket, prefix: &prefix };
    let s3 = S3Settings { client: super::s3_client(g).await };
    let windows = plan_windows(&client, &s3, &tables, &bucket, a.incremental, as_of).await?;
    let mut started = Vec::new();
    for (t, w) in tables.iter().zip(windows) {
        let s = pitr::start(&client, t, &bucket, format, w, as_of).await?;
        eprintln!("ddbsnap: started the {} export of {} ({})", kind(&s), s.table, s.arn);
        started.push(s);
    }
    if !a.wait {
        for s in &started {
            println!("{}\t{}\tstarted\t{}\t{}", s.table, kind(s), s.arn, s.folder);
        }
        return Ok(0);
    }
    wait_all(&client, &s3, &started, Duration::from_secs_f64(a.poll_seconds), g.quiet).await?;
    for s in &started {
        println!("{}\t{}\t{}", s.table, kind(s), s.folder);
    }
    eprintln!("ddbsnap: check them with: ddbsnap check {} --amplify amplify_outputs.json", bucket.url());
    Ok(0)
}

/// `--to` is s3://bucket/prefix or a folder; anything else with a scheme is a mistake, not a folder name.
fn check_to(to: &str) -> Result<()> {
    if to.trim().is_empty() {
        bail!("--to is empty: give s3://bucket/prefix, or a folder with --scan");
    }
    let lower = to.to_ascii_lowercase();
    let schemed = to.split_once("://").is_some_and(|(scheme, _)| scheme != "s3") || (lower.starts_with("s3:") && !to.starts_with("s3://"));
    if schemed {
        bail!("--to {to}: only s3://bucket/prefix URLs (in lower case) or local folders are written to");
    }
    if to == "-" {
        bail!("--to -: exports are folders, not a stream; give a folder or s3://bucket/prefix");
    }
    Ok(())
}

/// `--as-of` for a full export: DynamoDB exports the table as it was then
/// (within its point-in-time recovery window). Nothing else can honour it.
fn export_time(g: &Global, a: &ExportArgs) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let Some(t) = &g.as_of else { return Ok(None) };
    if a.scan || a.incremental {
        bail!(
            "--as-of: a scan reads the table as it is now, and an incremental export ends at the latest restorable time; --as-of applies to full exports only"
        );
    }
    let t = chrono::DateTime::parse_from_rfc3339(t)
        .with_context(|| format!("--as-of {t:?} is not an RFC 3339 time such as 2026-01-14T10:30:00Z"))?;
    Ok(Some(t.with_timezone(&chrono::Utc)))
}

fn kind(s: &Started) -> String {
    match s.window {
        None => "FULL".into(),
        Some((from, to)) => format!("INCREMENTAL {}..{}", from.to_rfc3339(), to.to_rfc3339()),
    }
}

fn split_bucket(rest: &str) -> Result<(String, String)> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("--to s3://{rest}: no bucket name");
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Checks every table (PITR on; for incrementals, the window) before any export starts.
async fn plan_windows(
    client: &aws_sdk_dynamodb::Client,
    s3: &S3Settings,
    tables: &[Table],
    bucket: &Bucket<'_>,
    incremental: bool,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<Option<pitr::Window>>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    // The prefix is listed and its manifests read once, for every table.
    let found = if incremental { pitr::exports_under(s3, bucket).await? } else { Vec::new() };
    for t in tables {
        let (earliest, latest) = match pitr::check_pitr(client, t).await {
            Ok(l) => l,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if let Some(at) = as_of
            && (earliest.is_some_and(|e| at < e) || at > latest.unwrap_or_else(chrono::Utc::now))
        {
            problems.push(format!(
                "--as-of {}: table {} can be exported as of {} to {} (its point-in-time recovery window)",
                at.to_rfc3339(),
                t.name,
                earliest.map_or("its earliest restorable time".into(), |e| e.to_rfc3339()),
                latest.map_or("now".into(), |l| l.to_rfc3339())
            ));
            continue;
        }
        if !incremental {
            out.push(None);
            continue;
        }
        let now = chrono::Utc::now();
        let until = latest.map_or(now, |l| l.min(now));
        let previous = pitr::newest_end(&found, t);
        match pitr::next_window(&t.name, previous, until, &bucket.url()) {
            Ok(w) => out.push(Some(w)),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        bail!("no export was started:\n  {}", problems.join("\n  "));
    }
    Ok(out)
}

/// Waits for every export with a progress line, then checks each folder holds its manifests.
async fn wait_all(client: &aws_sdk_dynamodb::Client, s3: &S3Settings, started: &[Started], every: Duration, quiet: bool) -> Result<()> {
    let progress = Progress::items(&format!("waiting for {} exports; done:", started.len()), quiet);
    let results = futures::future::join_all(started.iter().map(|s| async {
        let r = pitr::wait(client, s, every).await;
        if let Some(c) = &progress.counter {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }))
    .await;
    drop(progress);
    let mut problems: Vec<String> = results.into_iter().filter_map(|r| r.err().map(|e| e.to_string())).collect();
    for s in started {
        let (bucket, key) = split_bucket(s.folder.trim_start_matches("s3://"))?;
        let key = format!("{key}/manifest-summary.json");
        if s3.client.head_object().bucket(&bucket).key(&key).send().await.is_err() && !problems.iter().any(|p| p.contains(&s.table)) {
            problems.push(format!(
                "the export of table {} completed, but s3://{bucket}/{key} does not exist: DynamoDB writes the manifests with every \
                 export, so this one was written elsewhere or by a server that writes data files only (moto does); ddbsnap cannot \
                 read an export without manifests as a whole",
                s.table
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// `--scan`: each table scanned into a FULL export, to a folder or (through a staging folder) to S3.
async fn scan(
    g: &Global,
    client: &aws_sdk_dynamodb::Client,
    tables: &[Table],
    s3_target: Option<(String, String)>,
    to: &str,
    format: OutputFormat,
) -> Result<u8> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let staging = std::env::temp_dir().join(format!("ddbsnap-export-{}-{nanos}", std::process::id()));
    let (root, bucket, prefix) = match &s3_target {
        Some((b, p)) => (staging.clone(), b.clone(), p.clone()),
        None => (PathBuf::from(to), "local".to_string(), String::new()),
    };
    let uploader = match &s3_target {
        Some((b, _)) => Some(std::sync::Arc::new(crate::generate::Uploader {
            client: super::s3_client(g).await,
            bucket: b.clone(),
            root: staging.clone(),
            handle: tokio::runtime::Handle::current(),
        })),
        None => None,
    };
    let result: Result<()> = async {
        if let Some(up) = &uploader {
            up.check_bucket().await?;
        }
        for t in tables {
            let progress = Progress::items(&format!("scanning {}", t.name), g.quiet);
            let dest = Destination { out: &root, prefix: &prefix, bucket: &bucket, format };
            let done = scan_export(client, t, &dest, progress.counter.as_deref()).await?;
            drop(progress);
            let folder = match &uploader {
                Some(up) => {
                    let (up, dir) = (up.clone(), done.dir.clone());
                    tokio::task::spawn_blocking(move || up.upload_export(&dir)).await??;
                    let key = done.dir.strip_prefix(&root).unwrap_or(&done.dir).to_string_lossy().replace('\\', "/");
                    format!("s3://{bucket}/{key}")
                }
                None => done.dir.display().to_string(),
            };
            println!("{}\tSCAN\t{} items\t{folder}", t.name, done.items);
        }
        Ok(())
    }
    .await;
    if s3_target.is_some() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.with_context(|| format!("exporting to {to}"))?;
    Ok(0)
}
