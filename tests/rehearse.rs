//! `ddbsnap rehearse` end to end: a generated export on moto's S3 server,
//! rehearsed against DynamoDB Local (both started by `scripts/servers.sh`).
//! Every step's result is checked against what the test knows on its own
//! (the generator's truth, the plan's counts, the fault proxy's tally), and
//! the table the rehearsal leaves behind is read back by the test itself and
//! compared with the export.

mod common;

use std::path::Path;

use common::dynamo::{assert_table, by_id, export_items, runtime, scan};
use common::s3::{drop_bucket, new_bucket, upload};
use common::{Run, ddbsnap};
use serde_json::Value;

const MODEL: &str = "testdata/models/contact-v2.json";

/// Both servers' endpoints, or None to skip (see the two `endpoint`s).
fn servers() -> Option<(String, String)> {
    Some((common::s3::endpoint()?, common::dynamo::endpoint()?))
}

fn rehearse(s3: &str, ddb: &str, work: &Path, export: &str, prefix: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--s3-endpoint-url", s3, "rehearse", export, "--amplify", MODEL, "-t", "split_name"];
    args.extend(["--dynamodb-endpoint-url", ddb, "--work-dir", work.to_str().unwrap(), "--table-prefix", prefix]);
    args.extend(["--format", "json", "-q"]);
    args.extend_from_slice(extra);
    ddbsnap(&args)
}

fn step(report: &Value, n: usize) -> &Value {
    &report["steps"][n - 1]
}

fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{tag}{}-{nanos}-", std::process::id())
}

#[test]
fn rehearsal_from_s3_verifies_every_step_through_throttling_and_a_crash() {
    let Some((s3_ep, ddb_ep)) = servers() else { return };
    let rt = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("bucket");
    let generated = ddbsnap(&[
        "generate",
        "--out",
        export.to_str().unwrap(),
        "--items",
        "400",
        "--files",
        "3",
        "--seed",
        "11",
        "--drift-rate",
        "0",
        "--prefix",
        "exports",
    ])
    .ok();
    let truth: Value = serde_json::from_str(&generated.stdout).unwrap();
    let s3 = common::s3::client(&s3_ep);
    let bucket = rt.block_on(new_bucket(&s3, "rehearse"));
    rt.block_on(upload(&s3, &bucket, &export, |_, b| Some(b)));
    let prefix = unique_prefix("rh");
    let work = tmp.path().join("work");
    let url = format!("s3://{bucket}/exports");
    let extra = ["--kill-at", "0.5", "--max-wcu-per-sec", "300", "--inject-throttle-every", "9", "--keep-tables"];
    let run = rehearse(&s3_ep, &ddb_ep, &work, &url, &prefix, &extra);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("no JSON report ({e})\n{}", run.show()));

    // Items without a name cannot get a firstName: the plan says so, but
    // the new model's firstName.required fails on fewer items after the plan
    // than before, so nothing is worse: no step has problems, and the apply
    // needs no --allow-failing-checks.
    let statuses: Vec<&str> = (1..=6).map(|n| step(&report, n)["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["passed", "passed", "passed", "passed", "passed", "passed"], "{}", run.show());
    assert_eq!(run.code, Some(0), "{}", run.show());
    let lines = step(&report, 3)["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l.as_str().unwrap().contains("no check is worse")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.as_str().unwrap().contains("pre-existing Contact.firstName.required")), "{lines:#?}");

    let items = truth["final_items"].as_u64().unwrap();
    assert_eq!(step(&report, 1)["details"][0]["items"].as_u64(), Some(items));
    let plan = &step(&report, 3)["details"];
    let updates = plan["summary"]["operations"]["Contact"]["UPDATE"].as_u64().unwrap();
    let nameless =
        plan["checks"].as_array().unwrap().iter().find(|c| c["name"] == "Contact.firstName.required").unwrap()["after"]["violations"]
            .as_u64()
            .unwrap();
    assert!(nameless > 0 && updates + nameless == items, "{updates} updates and {nameless} nameless items of {items}");

    // The apply was killed part way and resumed, through injected throttling.
    let apply = &step(&report, 4)["details"];
    let runs = apply["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{apply}");
    assert!(runs[0]["exit"].is_null(), "the first apply was not killed: {apply}");
    let r = &apply["report"];
    let before_kill = r["already_journaled"].as_u64().unwrap();
    assert!(before_kill >= updates / 2 && before_kill < updates, "{r}");
    assert_eq!(r["operations"].as_u64(), Some(updates));
    assert_eq!(before_kill + r["written"].as_u64().unwrap() + r["already_applied"].as_u64().unwrap(), updates, "{r}");
    assert_eq!((r["conflicts"].as_u64(), r["failed"].as_u64()), (Some(0), Some(0)), "{r}");
    let lines = step(&report, 4)["lines"].to_string();
    let throttled: u64 = lines.split(" answered with throttling").next().unwrap().rsplit(", ").next().unwrap().parse().unwrap();
    assert!(throttled > 0, "{lines}");

    // Verify, the scan and the re-run checks agree with the plan.
    let v = &step(&report, 5)["details"];
    assert_eq!(v["verify"]["checked"].as_u64(), Some(updates));
    assert_eq!(v["verify"]["mismatches"].as_array().map(Vec::len), Some(0));
    let c = &v["comparisons"][0];
    assert_eq!((c["found"].as_u64(), c["equal"].as_u64(), c["differing"].as_u64()), (Some(items), Some(items), Some(0)), "{c}");
    assert_eq!(v["checks_disagree"].as_array().map(Vec::len), Some(0), "{v}");
    assert!(v["checks_agree"].as_u64().unwrap() >= 10);

    // The rollback restored the snapshot, by the rehearsal's comparison and
    // by the test's own reading of the table it kept.
    let c = &step(&report, 6)["details"]["comparisons"][0];
    assert_eq!((c["equal"].as_u64(), c["missing"].as_u64(), c["unexpected"].as_u64()), (Some(items), Some(0), Some(0)), "{c}");
    let table = report["tables"][0]["table"].as_str().unwrap().to_string();
    assert!(table.starts_with(&prefix), "{table}");
    let ddb = rt.block_on(common::dynamo::client(&ddb_ep));
    let now = rt.block_on(scan(&ddb, &table));
    let original = export_items(&export.join("exports"));
    assert_table(&now, &by_id(&original), "the kept table after the rehearsal's rollback");

    // The projection and the reports on disk.
    let p = &report["projection"];
    assert_eq!((p["items"].as_u64(), p["operations"].as_u64()), (Some(items), Some(updates)));
    assert_eq!(p["write_units"].as_u64(), plan["cost"]["write_units"].as_u64());
    // The projection is computed; what the apply measured says what held it back.
    assert!(p["limited_by"].as_str().unwrap().contains("the crash and resume"), "{p}");
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(work.join("report.json")).unwrap()).unwrap();
    assert_eq!(on_disk["steps"], report["steps"]);
    let html = std::fs::read_to_string(work.join("report.html")).unwrap();
    for name in ["create tables and load", "checks before", "plan", "apply", "verify and compare", "rollback and compare"] {
        assert!(html.contains(name), "report.html lacks {name}");
    }
    assert!(html.contains("not measured") && html.contains("the apply's rate was limited by"), "the projection says what is measured");
    rt.block_on(ddb.delete_table().table_name(&table).send()).unwrap();
    rt.block_on(drop_bucket(&s3, &bucket));
}

#[test]
fn a_table_that_exists_is_never_written_and_stops_the_rehearsal() {
    let Some((s3_ep, ddb_ep)) = servers() else { return };
    let rt = runtime();
    let ddb = rt.block_on(common::dynamo::client(&ddb_ep));
    let prefix = unique_prefix("rx");
    let export = common::testdata("contacts");
    let physical = common::truth("contacts")["physical_table"].as_str().unwrap().to_string();
    let table = format!("{prefix}{physical}");
    rt.block_on(async {
        ddb.create_table()
            .table_name(&table)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let sentinel = ddbsnap::item::ddbjson::item_from_str(r#"{"id":{"S":"sentinel"}}"#).unwrap();
        common::dynamo::load(&ddb, &table, &[sentinel]).await;
    });
    let tmp = tempfile::tempdir().unwrap();
    let run = rehearse(&s3_ep, &ddb_ep, &tmp.path().join("work"), export.to_str().unwrap(), &prefix, &[]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(step(&report, 1)["status"], "failed");
    let why = step(&report, 1)["lines"].to_string();
    assert!(why.contains(&table) && why.contains("already exists"), "{why}");
    assert!((2..=6).all(|n| step(&report, n)["status"] == "skipped"), "{report}");
    let left = rt.block_on(scan(&ddb, &table));
    assert_eq!(left.keys().collect::<Vec<_>>(), ["sentinel"], "the existing table was written to");
    rt.block_on(ddb.delete_table().table_name(&table).send()).unwrap();
}

/// Found by the review: every step reads the state the rehearsal loaded.
/// With --as-of the checks and the plan read the exports at that time too,
/// so the apply meets no conflict and every comparison matches.
#[test]
fn a_rehearsal_as_of_a_time_plans_the_state_it_loaded() {
    let Some((s3_ep, ddb_ep)) = servers() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let export = common::testdata("contacts").display().to_string();
    let prefix = unique_prefix("ra");
    let run = ddbsnap(&[
        "--as-of",
        "2026-01-01T00:10:00Z",
        "--s3-endpoint-url",
        &s3_ep,
        "rehearse",
        &export,
        "--amplify",
        MODEL,
        "-t",
        "split_name",
        "--dynamodb-endpoint-url",
        &ddb_ep,
        "--work-dir",
        work.to_str().unwrap(),
        "--table-prefix",
        &prefix,
        "--format",
        "json",
        "-q",
    ]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("no JSON report ({e})\n{}", run.show()));
    assert_eq!(report["projection"]["items"].as_u64(), Some(200), "the full export alone, as of 00:10");
    for n in [4, 5, 6] {
        assert_eq!(step(&report, n)["status"], "passed", "step {n}\n{}", run.show());
    }
    assert_eq!(step(&report, 4)["details"]["report"]["conflicts"].as_u64(), Some(0), "{}", run.show());
}
