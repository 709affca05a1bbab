//! Before anything is written (and before a journal exists), every table a
//! plan writes to is described: DynamoDB must be reachable with the
//! credentials at hand, each table must exist there, and its key schema
//! must be the plan's key. A dry run does the same, so "the dry run passed"
//! means the targets are right, not merely that the plan parses.
//!
//! A refused connection, an unknown host, missing or wrong credentials and a
//! missing table each stop the run at once with one line naming the
//! endpoint and region, instead of minutes of retries per item.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::KeyType;

use crate::error::{Error, Result, brief};
use crate::item::AttrValue;
use crate::plan::file::PlanFile;

/// Where writes go, as the user should see it in every message: the
/// endpoint given, else the region's own.
pub fn describe_target(client: &Client, endpoint: Option<&str>) -> String {
    let region = client.config().region().map(|r| r.to_string()).unwrap_or_else(|| "no region set".into());
    match endpoint {
        Some(e) => format!("{} (region {region})", brief(e, 200)),
        None => format!("region {region}"),
    }
}

/// Checks DynamoDB answers at all, with one call and no retries (give a
/// client without retries): a refused connection, an unknown host or
/// missing credentials stop the run at once, where a retrying client
/// spends a minute first. Any answer from the service counts as reachable
/// (the principal may not be allowed ListTables).
pub async fn reachable(client: &Client, where_: &str) -> Result<()> {
    match client.list_tables().limit(1).send().await {
        Ok(_) | Err(SdkError::ServiceError(_)) => Ok(()),
        Err(e) => Err(reach_error(e, "(any)", where_)),
    }
}

/// Checks every table the plan writes to; returns the DynamoDB names, by
/// plan table, that will be written.
///
/// Also: two plan tables never share one DynamoDB table, a new model's
/// table is never a table the snapshot came from, and (on a fresh `apply`)
/// a new model's table is empty, since its PUTs go through BatchWriteItem,
/// which cannot be conditional; and each key attribute has the type the
/// plan's keys have.
pub async fn check_targets(
    client: &Client,
    (where_, endpoint): (&str, Option<&str>),
    plan: &PlanFile,
    tables: &HashMap<String, String>,
    fresh_apply: bool,
) -> Result<Vec<(String, String)>> {
    let manifest = &plan.manifest;
    let mut out = Vec::new();
    let sources: Vec<&str> =
        manifest.sources.iter().flat_map(|s| s.exports.iter().filter_map(|e| e.table_arn.rsplit_once("table/").map(|(_, n)| n))).collect();
    let key_types = key_types(plan)?;
    // Against AWS itself (no endpoint given), the region written to must be
    // the one the export came from, unless the user named a table.
    let region = client.config().region().map(|r| r.to_string());
    for t in &manifest.targets {
        if manifest.summary.operations.get(&t.name).is_none_or(|k| k.is_empty()) {
            continue;
        }
        let physical =
            tables.get(&t.name).ok_or_else(|| Error::Invalid(format!("no DynamoDB table for {}: give --table {}=NAME", t.name, t.name)))?;
        if endpoint.is_none()
            && t.physical.as_ref() == Some(physical)
            && let Some(source) = manifest.sources.iter().find(|s| s.table == t.name)
            && let Some(e) = source.exports.first()
            && let Some(msg) = region_mismatch(&e.table_arn, region.as_deref())
        {
            return Err(Error::Invalid(format!("table {physical}: {msg}")));
        }
        if let Some((other, _)) = out.iter().find(|(_, p): &&(String, String)| p == physical) {
            return Err(Error::Invalid(format!(
                "{} and {other} would both be written to table {physical}: each plan table needs a DynamoDB table of its own",
                t.name
            )));
        }
        if !t.in_snapshot && sources.contains(&physical.as_str()) {
            return Err(Error::Invalid(format!(
                "{} is a new table of the plan, but {physical} is a table its snapshot came from: a copy never writes over its source",
                t.name
            )));
        }
        let described = client.describe_table().table_name(physical).send().await.map_err(|e| reach_error(e, physical, where_))?;
        if let Some(types) = key_types.get(&t.name) {
            for d in described.table().map(|d| d.attribute_definitions()).unwrap_or_default() {
                if let Some(want) = types.get(d.attribute_name())
                    && d.attribute_type().as_str() != *want
                {
                    return Err(Error::Invalid(format!(
                        "table {physical} at {where_} keys {} as {}, but the plan's keys hold {want}: the wrong table?",
                        d.attribute_name(),
                        d.attribute_type().as_str()
                    )));
                }
            }
        }
        if fresh_apply && !t.in_snapshot {
            let scan = client.scan().table_name(physical).limit(1).send().await.map_err(|e| reach_error(e, physical, where_))?;
            if scan.count() > 0 {
                return Err(Error::Invalid(format!(
                    "table {physical} (new model {}) already holds items: a copy writes only into an empty table, since its PUTs cannot be conditional",
                    t.name
                )));
            }
        }
        let schema = described.table().map(|d| d.key_schema()).unwrap_or_default();
        let mut hash = schema.iter().filter(|k| k.key_type() == &KeyType::Hash).map(|k| k.attribute_name().to_string());
        let mut range = schema.iter().filter(|k| k.key_type() == &KeyType::Range).map(|k| k.attribute_name().to_string());
        let actual: Vec<String> = hash.next().into_iter().chain(range.next()).collect();
        let mut want = t.key.clone();
        let mut have = actual.clone();
        want.sort();
        have.sort();
        if want != have {
            return Err(Error::Invalid(format!(
                "table {physical} at {where_} is keyed by {actual:?}, but the plan's {} items are keyed by {:?}: the wrong table?",
                t.name, t.key
            )));
        }
        out.push((t.name.clone(), physical.clone()));
    }
    Ok(out)
}

/// The DynamoDB type (`S`, `N`, `B`) of each key attribute, by plan table,
/// as the plan's first operation on that table holds it.
fn key_types(plan: &PlanFile) -> Result<HashMap<String, HashMap<String, &'static str>>> {
    let mut out: HashMap<String, HashMap<String, &'static str>> = HashMap::new();
    let wanted = plan.manifest.targets.len();
    for op in plan.ops()? {
        let op = op?;
        if out.contains_key(&op.table) {
            continue;
        }
        let types = op
            .key
            .iter()
            .map(|(k, v)| {
                let t = match v {
                    AttrValue::N(_) => "N",
                    AttrValue::B(_) => "B",
                    _ => "S",
                };
                (k.clone(), t)
            })
            .collect();
        out.insert(op.table.clone(), types);
        if out.len() == wanted {
            break;
        }
    }
    Ok(out)
}

/// Why writing in `region` would miss the table of `table_arn` (None: no
/// mismatch, or nothing to compare).
pub fn region_mismatch(table_arn: &str, region: Option<&str>) -> Option<String> {
    let arn_region = table_arn.split(':').nth(3).filter(|r| !r.is_empty())?;
    match region {
        Some(r) if r == arn_region => None,
        Some(r) => Some(format!(
            "the export came from region {arn_region} ({}), but writes would go to region {r}: give --region {arn_region}, or --table to name another table",
            brief(table_arn, 200)
        )),
        None => Some(format!("no region is set; the export came from region {arn_region}: give --region {arn_region}")),
    }
}

/// One line for a failed DescribeTable: what could not be reached and why.
fn reach_error<E: ProvideErrorMetadata + std::error::Error + 'static>(e: SdkError<E, HttpResponse>, table: &str, where_: &str) -> Error {
    let text = match &e {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("");
            let message = ctx.err().message().unwrap_or("");
            match code {
                "ResourceNotFoundException" => format!("table {table} does not exist at {where_}"),
                "UnrecognizedClientException" | "InvalidSignatureException" | "MissingAuthenticationToken" | "AccessDeniedException" => {
                    format!(
                        "DynamoDB at {where_} refused the credentials ({code}: {}); {}",
                        brief(message, 200),
                        crate::aws::CREDENTIALS_HELP
                    )
                }
                _ => format!("describing table {table} at {where_} failed: {code}: {}", brief(message, 200)),
            }
        }
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            format!("cannot connect to DynamoDB at {where_}: {}", brief(&crate::error::innermost_cause(&e), 200))
        }
        _ if crate::aws::region_missing(&e) => crate::aws::REGION_HELP.to_string(),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if crate::aws::credentials_missing(&e) => {
            format!("no AWS credentials for DynamoDB at {where_}; {}", crate::aws::CREDENTIALS_HELP)
        }
        SdkError::TimeoutError(_) => format!("DynamoDB at {where_} did not answer in time"),
        _ => format!("cannot reach DynamoDB at {where_}: {}", brief(&crate::error::innermost_cause(&e), 200)),
    };
    Error::Invalid(text)
}

#[cfg(test)]
mod tests {
    use super::region_mismatch;

    #[test]
    fn the_export_region_must_be_the_target_region() {
        let arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/Contact-abc-NONE";
        assert_eq!(region_mismatch(arn, Some("eu-west-1")), None);
        assert!(region_mismatch(arn, Some("us-east-1")).unwrap().contains("--region eu-west-1"));
        assert!(region_mismatch(arn, None).unwrap().contains("no region is set"));
        assert_eq!(region_mismatch("not-an-arn", Some("us-east-1")), None);
    }
}
