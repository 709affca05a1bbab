//! `export`: DynamoDB's own export to S3 (point-in-time recovery), one per
//! table, FULL or INCREMENTAL. An incremental export starts exactly where
//! the newest export of its table under the prefix ended, so a chain read
//! by ddbsnap has no gap; the window is checked against DynamoDB's limits
//! (15 minutes to 24 hours) before anything starts.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    ExportFormat, ExportStatus, ExportType, ExportViewType, IncrementalExportSpecification, PointInTimeRecoveryStatus,
};
use chrono::{DateTime, Duration, Utc};

use super::tables::Table;
use crate::error::{Error, Result};
use crate::snapshot::locate::ExportRef;
use crate::snapshot::manifest::OutputFormat;
use crate::snapshot::{S3Settings, find_exports};

/// An export window: from (inclusive) to (exclusive).
pub type Window = (DateTime<Utc>, DateTime<Utc>);

/// An export started.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    pub table: String,
    pub arn: String,
    pub incremental: bool,
    pub window: Option<Window>,
    /// Where DynamoDB writes it: s3://bucket/prefix/AWSDynamoDB/<id>.
    pub folder: String,
}

/// Where exports go.
pub struct Bucket<'a> {
    pub name: &'a str,
    /// Without slashes at either end; may be empty.
    pub prefix: &'a str,
}

impl Bucket<'_> {
    pub fn url(&self) -> String {
        if self.prefix.is_empty() { format!("s3://{}", self.name) } else { format!("s3://{}/{}", self.name, self.prefix) }
    }
}

/// Checks point-in-time recovery is on; returns its earliest and latest restorable times.
pub async fn check_pitr(client: &Client, t: &Table) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
    let out = client
        .describe_continuous_backups()
        .table_name(&t.name)
        .send()
        .await
        .map_err(|e| call_error(&format!("DescribeContinuousBackups {}", t.name), &e))?;
    let pitr = out.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    if pitr.and_then(|p| p.point_in_time_recovery_status()) != Some(&PointInTimeRecoveryStatus::Enabled) {
        return Err(Error::Invalid(format!(
            "point-in-time recovery is off for table {0}, and DynamoDB exports need it: turn it on with \
             `aws dynamodb update-continuous-backups --table-name {0} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true` \
             (in an Amplify Gen 2 app: pointInTimeRecoveryEnabled on the table in amplify/backend.ts), or take the export with --scan",
            t.name
        )));
    }
    let time = |d: Option<&aws_sdk_dynamodb::primitives::DateTime>| d.and_then(|d| DateTime::from_timestamp(d.secs(), 0));
    Ok((time(pitr.and_then(|p| p.earliest_restorable_date_time())), time(pitr.and_then(|p| p.latest_restorable_date_time()))))
}

/// Every export under the bucket prefix (none: an empty list).
pub async fn exports_under(s3: &S3Settings, bucket: &Bucket<'_>) -> Result<Vec<ExportRef>> {
    match find_exports(&bucket.url(), Some(s3)).await {
        Ok(f) => Ok(f),
        Err(Error::Locate(m)) if m.starts_with("no DynamoDB export") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The end of the newest of `found` that exported `t` (None: none did).
pub fn newest_end(found: &[ExportRef], t: &Table) -> Option<DateTime<Utc>> {
    found.iter().filter(|e| e.summary.table_arn == t.arn).filter_map(|e| e.summary.point_in_time()).max()
}

/// The next incremental window: from where the chain ended to `until`.
pub fn next_window(table: &str, previous: Option<DateTime<Utc>>, until: DateTime<Utc>, under: &str) -> std::result::Result<Window, String> {
    let Some(from) = previous else {
        return Err(format!(
            "no earlier export of table {table} under {under} to continue from: take a full export first (drop --incremental)"
        ));
    };
    let span = until - from;
    if span < Duration::minutes(15) {
        return Err(format!(
            "the newest export of table {table} ends at {}, {} minutes before the latest restorable time; an incremental export covers at least 15 minutes: run again after {}",
            from.to_rfc3339(),
            span.num_minutes(),
            (from + Duration::minutes(15)).to_rfc3339()
        ));
    }
    if span > Duration::hours(24) {
        return Err(format!(
            "the newest export of table {table} ends at {}, {} hours ago; an incremental export covers at most 24 hours: take a full export (drop --incremental) and continue the chain from it",
            from.to_rfc3339(),
            span.num_hours()
        ));
    }
    Ok((from, until))
}

/// Starts one export of `t`.
/// `as_of` (full exports only) exports the table as it was then.
pub async fn start(
    client: &Client,
    t: &Table,
    bucket: &Bucket<'_>,
    format: OutputFormat,
    window: Option<Window>,
    as_of: Option<DateTime<Utc>>,
) -> Result<Started> {
    let mut req = client.export_table_to_point_in_time().table_arn(&t.arn).s3_bucket(bucket.name).export_format(match format {
        OutputFormat::DynamodbJson => ExportFormat::DynamodbJson,
        OutputFormat::Ion => ExportFormat::Ion,
    });
    if !bucket.prefix.is_empty() {
        req = req.s3_prefix(bucket.prefix);
    }
    if let Some(t) = as_of {
        req = req.export_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(t.timestamp()));
    }
    req = match window {
        None => req.export_type(ExportType::FullExport),
        Some((from, to)) => req.export_type(ExportType::IncrementalExport).incremental_export_specification(
            IncrementalExportSpecification::builder()
                .export_from_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(from.timestamp()))
                .export_to_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(to.timestamp()))
                .export_view_type(ExportViewType::NewAndOldImages)
                .build(),
        ),
    };
    let out = req.send().await.map_err(|e| call_error(&format!("exporting table {}", t.name), &e))?;
    let arn = out.export_description().and_then(|d| d.export_arn()).unwrap_or_default().to_string();
    let id = arn.rsplit('/').next().unwrap_or_default();
    Ok(Started {
        table: t.name.clone(),
        arn: arn.clone(),
        incremental: window.is_some(),
        window,
        folder: format!("{}/AWSDynamoDB/{id}", bucket.url()),
    })
}

/// Polls until the export completes; an export that fails is an error with DynamoDB's reason.
pub async fn wait(client: &Client, s: &Started, every: std::time::Duration) -> Result<()> {
    loop {
        let out =
            client.describe_export().export_arn(&s.arn).send().await.map_err(|e| call_error(&format!("DescribeExport {}", s.arn), &e))?;
        let d = out.export_description();
        match d.and_then(|d| d.export_status()) {
            Some(ExportStatus::Completed) => return Ok(()),
            Some(ExportStatus::Failed) => {
                let d = d.expect("a status came from it");
                return Err(Error::Invalid(format!(
                    "the export of table {} failed: {}: {}",
                    s.table,
                    d.failure_code().unwrap_or("no failure code"),
                    d.failure_message().unwrap_or("no message")
                )));
            }
            _ => tokio::time::sleep(every).await,
        }
    }
}

/// An export call's failure in one line, with what to do where there is something to do.
fn call_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug + 'static>(
    doing: &str,
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> Error {
    let code = e.code().unwrap_or("");
    let message = e.message().unwrap_or("");
    let text = match code {
        "AccessDeniedException" => format!(
            "access denied ({message}): exporting needs dynamodb:DescribeTable, DescribeContinuousBackups, ExportTableToPointInTime \
             and DescribeExport on the table, and s3:PutObject, s3:AbortMultipartUpload and s3:PutObjectAcl on the bucket (README, IAM permissions)"
        ),
        "PointInTimeRecoveryUnavailableException" => {
            format!("point-in-time recovery is off ({message}): turn it on with aws dynamodb update-continuous-backups, or use --scan")
        }
        "TableNotFoundException" | "ResourceNotFoundException" => format!("table not found ({message})"),
        "InvalidExportTimeException" => format!("DynamoDB refused the export window: {message}"),
        "LimitExceededException" => format!("DynamoDB's limit on exports running at once was reached: {message}; wait for some to finish"),
        "ExportConflictException" => format!("a conflicting export is already running: {message}"),
        "" => crate::aws::sdk_cause(e),
        _ => format!("{code}: {message}"),
    };
    Error::Invalid(format!("{doing}: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_continue_the_chain_within_dynamodbs_limits() {
        let until = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        let w = next_window("T", Some(until - Duration::hours(2)), until, "s3://b/p").unwrap();
        assert_eq!(w, (until - Duration::hours(2), until));
        assert!(next_window("T", None, until, "s3://b/p").unwrap_err().contains("take a full export first"));
        let short = next_window("T", Some(until - Duration::minutes(5)), until, "s3://b/p").unwrap_err();
        assert!(short.contains("at least 15 minutes") && short.contains("run again after 2026-12-07T12:10:00+00:00"), "{short}");
        assert!(next_window("T", Some(until - Duration::hours(30)), until, "s3://b/p").unwrap_err().contains("at most 24 hours"));
    }
}
