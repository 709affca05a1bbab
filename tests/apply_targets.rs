//! Issue 13, item 15: unreachable or wrong targets stop a run at once, with
//! one line naming the endpoint and region, before any journal exists; a
//! dry run checks its targets as the real run does. Against DynamoDB Local.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use common::dynamo::{client, create_table, endpoint, runtime};
use common::{assert_error, ddbsnap};

fn arg(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// A plan of one UPDATE per item of `testdata/contacts`: its folder and SHA-256.
fn plan(dir: &Path) -> (String, String) {
    let t = dir.join("t.sql");
    std::fs::write(&t, "SELECT id, 'x' AS nickname FROM Contact").expect("write transform");
    let plan = dir.join("plan");
    let run = ddbsnap(&["plan", "-t", &arg(&t), "testdata/contacts", "--out", &arg(&plan)]).ok();
    let sha = run.stdout.lines().next().and_then(|l| l.strip_prefix("plan ")).expect("plan <sha>").trim().to_string();
    (arg(&plan), sha)
}

#[test]
fn a_refused_connection_stops_at_once_naming_the_endpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plan, sha) = plan(dir.path());
    for dry in [false, true] {
        let mut args = vec!["apply", &plan, "--approve", &sha, "--endpoint-url", "http://127.0.0.1:9", "--retry-for", "600"];
        if dry {
            args.push("--dry-run");
        }
        let started = Instant::now();
        let run = ddbsnap(&args);
        assert_error(&run, &["cannot connect to DynamoDB at http://127.0.0.1:9", "region"]);
        assert!(run.stderr.lines().count() <= 2, "one line, not a dump per item\n{}", run.show());
        // Not minutes of retries: well under the --retry-for of 600 s (no timing is asserted beyond that).
        assert!(started.elapsed() < Duration::from_secs(300), "{:?}", started.elapsed());
        assert!(!dir.path().join("plan.journal").exists(), "a journal was left by a run that wrote nothing");
    }
}

#[test]
fn a_dry_run_checks_the_target_tables() {
    let Some(ep) = endpoint() else { return };
    let rt = runtime();
    let c = rt.block_on(client(&ep));
    let dir = tempfile::tempdir().expect("temp dir");
    let (plan, sha) = plan(dir.path());
    let apply = |table: &str| {
        let map = format!("Contact={table}");
        ddbsnap(&["apply", &plan, "--approve", &sha, "--endpoint-url", &ep, "--table", &map, "--dry-run"])
    };
    // A table that does not exist: nothing "written".
    let run = apply("nonexistent-table");
    assert_error(&run, &["table nonexistent-table does not exist at", &ep]);
    assert!(!run.stdout.contains("written"), "{}", run.show());
    // A table keyed otherwise: the wrong table.
    let other = format!("Other-{}", std::process::id());
    rt.block_on(async {
        c.create_table()
            .table_name(&other)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().expect("def"),
            )
            .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().expect("key"))
            .send()
            .await
            .expect("create table")
    });
    let run = apply(&other);
    assert_error(&run, &[&format!("table {other}"), "keyed by [\"pk\"]", "[\"id\"]", "the wrong table?"]);
    // The right table: the dry run names it and passes.
    let table = rt.block_on(create_table(&c, "Contact"));
    let run = apply(&table);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert!(run.stderr.contains(&format!("would write Contact to DynamoDB table {table} at {ep}")), "{}", run.show());
}

/// Found by the review: `--table contact=X` (a typo of the model) was
/// ignored, so the write went to the export's own table.
#[test]
fn a_table_flag_for_a_model_the_plan_does_not_write_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plan, sha) = plan(dir.path());
    let run =
        ddbsnap(&["apply", &plan, "--approve", &sha, "--table", "contact=staging", "--dry-run", "--endpoint-url", "http://127.0.0.1:9"]);
    assert_error(&run, &["--table contact=staging", "no table \"contact\"", "Contact"]);
    let run = ddbsnap(&[
        "apply",
        &plan,
        "--approve",
        &sha,
        "--table",
        "Contact=a",
        "--table",
        "Contact=b",
        "--dry-run",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_error(&run, &["Contact is given twice"]);
}

/// Found by the second review: a copy into a new model's table overwrote
/// the live table it was pointed at (BatchWriteItem PUTs cannot be
/// conditional), two models were written to one table, and a table keyed
/// by a number passed the check for a plan keyed by strings.
#[test]
fn copies_never_write_over_items_and_key_types_must_match() {
    let Some(ep) = endpoint() else { return };
    let rt = runtime();
    let c = rt.block_on(client(&ep));
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy");
    let run = ddbsnap(&[
        "plan",
        "-t",
        "blue_green_copy",
        "testdata/contacts",
        "--amplify",
        "testdata/models/contact-v2.json",
        "--out",
        &arg(&copy),
    ]);
    assert_eq!(run.code, Some(0), "the v2 checks fail on the old data, but no worse after the copy\n{}", run.show());
    let sha = run.stdout.lines().next().and_then(|l| l.strip_prefix("plan ")).expect("plan <sha>").trim().to_string();
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", copy.to_str().expect("utf-8"), "--approve", &sha, "--endpoint-url", &ep, "--allow-failing-checks"];
        args.extend_from_slice(extra);
        ddbsnap(&args)
    };
    // The source table itself as the copy's target.
    let run = apply(&["--table", "ContactV2=Contact-p6qz5sznpokqw3z5b2f3eoc2px-NONE", "--dry-run"]);
    assert_error(&run, &["ContactV2 is a new table of the plan", "a copy never writes over its source"]);
    // A table that already holds items.
    let live = rt.block_on(create_table(&c, "ContactV2"));
    let item = ddbsnap::item::ddbjson::item_from_str(r#"{"id":{"S":"someone"}}"#).expect("item");
    rt.block_on(common::dynamo::load(&c, &live, &[item]));
    let map = format!("ContactV2={live}");
    let run = apply(&["--table", &map]);
    assert_error(&run, &[&format!("table {live} (new model ContactV2) already holds items")]);
    assert!(!dir.path().join("copy.journal").exists());
    // A table keyed by a number for string keys.
    let numeric = format!("Numeric-{}", std::process::id());
    rt.block_on(async {
        c.create_table()
            .table_name(&numeric)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::N).build().expect("def"),
            )
            .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().expect("key"))
            .send()
            .await
            .expect("create table")
    });
    let run = apply(&["--table", &format!("ContactV2={numeric}"), "--dry-run"]);
    assert_error(&run, &[&format!("table {numeric}"), "keys id as N", "hold S"]);
}
