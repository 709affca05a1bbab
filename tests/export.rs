//! `ddbsnap export`: DynamoDB's export to S3 against moto's DynamoDB and S3
//! (one moto server, scripts/servers.sh), covering the calls, the chaining
//! of incremental windows, the waiting and the error for an export without
//! manifests; and `export --scan` against DynamoDB Local, including a
//! re-check of a table after `apply`.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification, ScalarAttributeType,
};
use common::dynamo::{self, SplitContacts, by_id, export_items, matches};
use common::{ddbsnap, s3};

/// moto's server answers DynamoDB calls on the S3 endpoint too.
fn moto() -> Option<String> {
    s3::endpoint()
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{tag}-{}{n}{ns}", std::process::id())
}

/// Creates a table keyed by `id` in moto and returns its ARN; `pitr` turns point-in-time recovery on.
async fn moto_table(c: &aws_sdk_dynamodb::Client, name: &str, pitr: bool) -> String {
    let out = c
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap())
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await
        .unwrap();
    if pitr {
        c.update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(true).build().unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    out.table_description().unwrap().table_arn().unwrap().to_string()
}

/// Puts a manifest-summary.json of an earlier export of `arn` under the prefix.
async fn earlier_export(
    s3c: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    arn: &str,
    end: chrono::DateTime<chrono::Utc>,
    incremental: bool,
) {
    let id = unique("01700000000000");
    let base = format!("{prefix}/AWSDynamoDB/{id}");
    let time = end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let from = (end - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let summary = if incremental {
        serde_json::json!({"version":"2023-08-01","exportArn":format!("{arn}/export/{id}"),"startTime":time,"endTime":time,"tableArn":arn,
          "exportFromTime":from,"exportToTime":time,"s3Bucket":bucket,"s3Prefix":prefix,"manifestFilesS3Key":format!("{base}/manifest-files.json"),
          "itemCount":0,"outputFormat":"DYNAMODB_JSON","outputView":"NEW_AND_OLD_IMAGES","exportType":"INCREMENTAL_EXPORT"})
    } else {
        serde_json::json!({"version":"2020-06-30","exportArn":format!("{arn}/export/{id}"),"startTime":time,"endTime":time,"tableArn":arn,
          "exportTime":time,"s3Bucket":bucket,"s3Prefix":prefix,"manifestFilesS3Key":format!("{base}/manifest-files.json"),
          "itemCount":0,"outputFormat":"DYNAMODB_JSON","exportType":"FULL_EXPORT"})
    };
    for (name, body) in [("manifest-summary.json", summary.to_string()), ("manifest-files.json", String::new())] {
        s3c.put_object().bucket(bucket).key(format!("{base}/{name}")).body(body.into_bytes().into()).send().await.unwrap();
    }
}

fn export_args(ep: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["export".into(), "--s3-endpoint-url".into(), ep.into(), "--dynamodb-endpoint-url".into(), ep.into()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn pitr_exports_check_pitr_chain_windows_and_need_manifests() {
    let Some(ep) = moto() else { return };
    let rt = dynamo::runtime();
    let (ddb, s3c) = rt.block_on(async { (dynamo::client(&ep).await, s3::client(&ep)) });
    let bucket = rt.block_on(s3::new_bucket(&s3c, "export"));
    let to = format!("s3://{bucket}/exports");

    // PITR off: nothing starts, and the error says how to turn it on.
    let off = unique("Off");
    rt.block_on(moto_table(&ddb, &off, false));
    let run = ddbsnap(&export_args(&ep, &["--table", &off, "--to", &to]));
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("point-in-time recovery is off") && run.stderr.contains("update-continuous-backups"), "{}", run.show());

    // A full export is started and waited for; moto writes data files
    // without manifests, which is an error naming the missing manifest.
    let on = unique("On");
    let arn = rt.block_on(moto_table(&ddb, &on, true));
    let run = ddbsnap(&export_args(&ep, &["--table", &on, "--to", &to, "--wait", "--poll-seconds", "0.1"]));
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(
        run.stderr.contains("started the FULL export") && run.stderr.contains("manifest-summary.json does not exist"),
        "{}",
        run.show()
    );
    let kinds = |arn: &str| -> Vec<String> {
        rt.block_on(async {
            let out = ddb.list_exports().table_arn(arn).send().await.unwrap();
            out.export_summaries().iter().map(|s| s.export_type().map(|t| t.as_str().to_string()).unwrap_or_default()).collect()
        })
    };
    assert_eq!(kinds(&arn), vec!["FULL_EXPORT"]);
    // An export that fails says why, in DynamoDB's words.
    let run = ddbsnap(&export_args(&ep, &["--table", &on, "--to", &format!("s3://{bucket}-missing/p"), "--wait", "--poll-seconds", "0.1"]));
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains(&format!("the export of table {on} failed: S3NoSuchBucket")), "{}", run.show());
    assert!(!run.stderr.contains("manifest-summary.json does not exist"), "one error per table\n{}", run.show());
    assert_eq!(kinds(&arn).len(), 2);
    let full = kinds(&arn).len();

    // An incremental continues exactly where the newest export ended.
    let now = chrono::Utc::now();
    let full_end = chrono::DateTime::from_timestamp(now.timestamp() - 3 * 3600, 0).unwrap();
    let incr_end = chrono::DateTime::from_timestamp(now.timestamp() - 2 * 3600, 0).unwrap();
    rt.block_on(earlier_export(&s3c, &bucket, "exports", &arn, full_end, false));
    rt.block_on(earlier_export(&s3c, &bucket, "exports", &arn, incr_end, true));
    let run = ddbsnap(&export_args(&ep, &["--table", &on, "--to", &to, "--incremental"])).ok();
    assert!(run.stdout.contains(&format!("INCREMENTAL {}..", incr_end.to_rfc3339())), "{}", run.show());
    assert_eq!(kinds(&arn).len(), full + 1);
    assert_eq!(kinds(&arn).last().map(String::as_str), Some("INCREMENTAL_EXPORT"));

    // Windows outside DynamoDB's 15 minutes to 24 hours start nothing.
    let recent = unique("Recent");
    let recent_arn = rt.block_on(moto_table(&ddb, &recent, true));
    rt.block_on(earlier_export(&s3c, &bucket, "exports", &recent_arn, now - chrono::Duration::minutes(5), false));
    let old = unique("Old");
    let old_arn = rt.block_on(moto_table(&ddb, &old, true));
    rt.block_on(earlier_export(&s3c, &bucket, "exports", &old_arn, now - chrono::Duration::hours(30), false));
    let fresh = unique("Fresh");
    rt.block_on(moto_table(&ddb, &fresh, true));
    let run = ddbsnap(&export_args(&ep, &["--table", &recent, "--table", &old, "--table", &fresh, "--to", &to, "--incremental"]));
    assert_eq!(run.code, Some(2), "{}", run.show());
    for w in ["no export was started", "at least 15 minutes", "at most 24 hours", "take a full export first"] {
        assert!(run.stderr.contains(w), "{w:?}\n{}", run.show());
    }
    assert!(kinds(&recent_arn).is_empty() && kinds(&old_arn).is_empty());
    rt.block_on(s3::drop_bucket(&s3c, &bucket));
}

#[test]
fn tables_are_chosen_by_amplify_model_and_by_pattern() {
    let Some(ep) = moto() else { return };
    let rt = dynamo::runtime();
    let (ddb, s3c) = rt.block_on(async { (dynamo::client(&ep).await, s3::client(&ep)) });
    let bucket = rt.block_on(s3::new_bucket(&s3c, "choose"));
    let api = unique("api").replace('-', "");
    let table = format!("Contact-{api}-NONE");
    rt.block_on(moto_table(&ddb, &table, true));
    let to = format!("s3://{bucket}/p");
    let model = common::testdata("models/contact-v2.json");
    // contact-v2.json has Contact and ContactV2: the second table is missing.
    let run = ddbsnap(&export_args(&ep, &["--amplify", model.to_str().unwrap(), "--api-id", &api, "--to", &to]));
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains(&format!("table ContactV2-{api}-NONE not found")) && run.stderr.contains("--api-id"), "{}", run.show());
    rt.block_on(moto_table(&ddb, &format!("ContactV2-{api}-NONE"), true));
    let run = ddbsnap(&export_args(&ep, &["--amplify", model.to_str().unwrap(), "--api-id", &api, "--to", &to])).ok();
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.show());
    let run = ddbsnap(&export_args(&ep, &["--table-pattern", &format!("Contact-{api}-*"), "--to", &to])).ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.show());
    assert!(run.stdout.starts_with(&table), "{}", run.show());
    let none = ddbsnap(&export_args(&ep, &["--table-pattern", "NoSuch*", "--to", &to]));
    assert!(none.stderr.contains("matches --table-pattern"), "{}", none.show());
    rt.block_on(s3::drop_bucket(&s3c, &bucket));
}

#[test]
fn a_scan_export_after_apply_holds_the_table_exactly_and_rechecks() {
    let Some(sc) = SplitContacts::start() else { return };
    let run = ddbsnap(&dynamo::apply_args(&sc.ep, &sc.plan, &sc.sha, &format!("Contact={}", sc.table), &[])).ok();
    drop(run);
    let out = tempfile::tempdir().unwrap();
    let run =
        ddbsnap(&["export", "--scan", "--table", &sc.table, "--to", out.path().to_str().unwrap(), "--dynamodb-endpoint-url", &sc.ep]).ok();
    let folder = run.stdout.split('\t').nth(3).unwrap().trim().to_string();
    assert!(std::path::Path::new(&folder).join("manifest-summary.json").is_file(), "{}", run.show());
    // Every item exactly as the table holds it.
    let table: HashMap<String, _> = sc.rt.block_on(dynamo::scan(&sc.c, &sc.table));
    let exported = by_id(&export_items(std::path::Path::new(&folder)));
    assert_eq!(exported.len(), table.len());
    for (id, it) in &table {
        assert!(matches(&exported[id], it), "{id}");
    }
    // The after-apply state checks against the new model: no item lacks firstName where the table has it.
    let check = ddbsnap(&["check", &format!("Contact={folder}"), "--amplify", "testdata/models/contact-v2.json", "--format", "json"]);
    assert!(matches!(check.code, Some(0 | 1)), "{}", check.show());
    let v: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let required = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "Contact.firstName.required").expect("the check");
    let lacking = table.values().filter(|it| !it.contains_key("firstName") || it["firstName"] == ddbsnap::item::AttrValue::Null).count();
    assert_eq!(required["violations"].as_u64().unwrap() as usize, lacking, "{}", check.stdout);
}
