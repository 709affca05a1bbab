//! Applying plans against Amazon DynamoDB Local (started by
//! `scripts/servers.sh`): a table shaped like Amplify's is loaded with the
//! Contact fixture, a plan is made from the fixture's export, applied,
//! verified and rolled back, and the table is compared with the expected
//! state item by item (Scan).
//!
//! Skipped without `DDBSNAP_TEST_DYNAMODB_ENDPOINT`, unless
//! `DDBSNAP_REQUIRE_SERVERS=1` (as `scripts/test.sh` sets), where a missing
//! server fails the test.

mod common;

use std::path::Path;

use common::ddbsnap;
use common::dynamo::{
    SplitContacts, apply_args, assert_table, by_id, expected_after, id_of, journal_path, journal_stamps, load, report, scan, stamps_by_id,
};
use ddbsnap::item::{AttrValue, Item};
use ddbsnap::plan::file::PlanFile;

/// `ddbsnap apply` of `plan` to `table` (model Contact), JSON report on stdout.
fn apply(endpoint: &str, plan: &Path, sha: &str, table: &str, extra: &[&str]) -> common::Run {
    ddbsnap(&apply_args(endpoint, plan, sha, &format!("Contact={table}"), extra))
}

#[test]
fn apply_verify_and_rollback_leave_exactly_the_expected_table() {
    let Some(SplitContacts { ep, rt, c, original, table, plan, sha, _tmp }) = SplitContacts::start() else { return };

    // A dry run writes nothing and leaves no journal.
    let dry = apply(&ep, &plan, &sha, &table, &["--dry-run"]);
    assert_eq!(dry.code, Some(0), "{}", dry.show());
    assert_table(&rt.block_on(scan(&c, &table)), &by_id(&original), "after the dry run");
    assert!(!journal_path(&plan).exists());

    // A wrong approval is refused.
    let wrong =
        ddbsnap(&["apply", plan.to_str().unwrap(), "--approve", "00000000", "--endpoint-url", &ep, "--table", &format!("Contact={table}")]);
    assert_eq!(wrong.code, Some(2), "{}", wrong.show());

    let run = apply(&ep, &plan, &sha, &table, &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let ops = PlanFile::open(&plan).unwrap().manifest.ops_file.rows;
    assert_eq!(report(&run)["written"], ops);
    let stamp = journal_stamps(&plan);
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan, &original, &stamp, &[]), "after the apply");

    let v = ddbsnap(&["verify", plan.to_str().unwrap(), "--endpoint-url", &ep, "--table", &format!("Contact={table}"), "--format", "json"]);
    assert_eq!(v.code, Some(0), "{}", v.show());

    // Applying again resumes nothing and changes nothing.
    let again = apply(&ep, &plan, &sha, &table, &["--resume"]);
    assert_eq!(again.code, Some(0), "{}", again.show());
    assert_eq!(report(&again)["already_journaled"], ops);

    let journal = journal_path(&plan);
    let rb = ddbsnap(&[
        "rollback",
        journal.to_str().unwrap(),
        "--endpoint-url",
        &ep,
        "--table",
        &format!("Contact={table}"),
        "--format",
        "json",
        "-q",
    ]);
    assert_eq!(rb.code, Some(0), "{}", rb.show());
    assert_table(&rt.block_on(scan(&c, &table)), &by_id(&original), "after the rollback");
}

#[test]
fn items_changed_after_the_snapshot_are_conflicts_and_stay_as_they_are() {
    let Some(SplitContacts { ep, rt, c, original, table, plan, sha, _tmp }) = SplitContacts::start() else { return };
    // Three items were edited by the app after the export (updatedAt moves on).
    let named: Vec<&Item> = original.iter().filter(|i| matches!(i.get("name"), Some(AttrValue::S(s)) if !s.trim().is_empty())).collect();
    let mut live = original.clone();
    let mut changed = Vec::new();
    for it in live.iter_mut().filter(|i| named.iter().take(3).any(|n| id_of(n) == id_of(i))) {
        it.insert("updatedAt".into(), AttrValue::S("2030-01-01T00:00:00.000Z".into()));
        changed.push(id_of(it));
    }
    assert_eq!(changed.len(), 3);
    rt.block_on(load(&c, &table, &live));
    let run = apply(&ep, &plan, &sha, &table, &[]);
    assert_eq!(run.code, Some(1), "conflicts exit 1\n{}", run.show());
    let r = report(&run);
    assert_eq!(r["conflicts"], 3);
    let mut conflicted: Vec<String> = r["conflict_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| id_of(&ddbsnap::item::ddbjson::item_from_str(c["key"].as_str().unwrap()).unwrap()))
        .collect();
    conflicted.sort();
    changed.sort();
    assert_eq!(conflicted, changed);
    let stamp = journal_stamps(&plan);
    let mut want = expected_after(&plan, &original, &stamp, &changed);
    for it in live.iter().filter(|i| changed.contains(&id_of(i))) {
        want.insert(id_of(it), it.clone());
    }
    assert_table(&rt.block_on(scan(&c, &table)), &want, "after the apply");
    let v = ddbsnap(&["verify", plan.to_str().unwrap(), "--endpoint-url", &ep, "--table", &format!("Contact={table}"), "--format", "json"]);
    assert_eq!(v.code, Some(1), "{}", v.show());
    assert_eq!(report(&v)["mismatches"].as_array().unwrap().len(), 3);
}

#[test]
fn a_lost_journal_tail_is_resumed_without_losing_or_doubling_a_write() {
    let Some(SplitContacts { ep, rt, c, original, table, plan, sha, _tmp }) = SplitContacts::start() else { return };
    assert_eq!(apply(&ep, &plan, &sha, &table, &[]).code, Some(0));
    // As if the process died after writing but before journaling the last half.
    let journal = journal_path(&plan);
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keep = 1 + (lines.len() - 1) / 2;
    std::fs::write(&journal, lines[..keep].join("\n") + "\n" + &lines[keep][..lines[keep].len() / 2]).unwrap();
    let run = apply(&ep, &plan, &sha, &table, &["--resume"]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    let r = report(&run);
    assert_eq!(r["already_journaled"], (keep - 1) as u64);
    assert_eq!(r["written"], 0, "every write had landed: the conditions recognise them");
    assert_eq!(r["already_applied"].as_u64().unwrap() + r["already_journaled"].as_u64().unwrap(), r["operations"].as_u64().unwrap());
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan, &original, &journal_stamps(&plan), &[]), "after the resume");
}

#[test]
fn deletes_and_puts_over_existing_items_are_conditional_and_roll_back() {
    let Some(ep) = common::dynamo::endpoint() else { return };
    let rt = common::dynamo::runtime();
    let c = rt.block_on(common::dynamo::client(&ep));
    let original = common::dynamo::export_items(&common::testdata("contacts"));
    let table = rt.block_on(common::dynamo::create_table(&c, "Contact"));
    let mut ids: Vec<String> = original.iter().map(id_of).collect();
    ids.sort();
    let (deleted, replaced) = (&ids[..3], &ids[3..6]);
    // The app edits one of the items to be deleted after the export.
    let mut live = original.clone();
    let edited = live.iter_mut().find(|i| id_of(i) == deleted[0]).unwrap();
    edited.insert("updatedAt".into(), AttrValue::S("2030-01-01T00:00:00.000Z".into()));
    let edited = edited.clone();
    rt.block_on(load(&c, &table, &live));

    let tmp = tempfile::tempdir().unwrap();
    let sql = tmp.path().join("t.sql");
    let list = |v: &[String]| v.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    std::fs::write(&sql, format!("SELECT 'DELETE' AS _op, id FROM Contact WHERE id IN ({})", list(deleted))).unwrap();
    let puts = tmp.path().join("p.sql");
    std::fs::write(&puts, format!("SELECT *, 'PUT' AS _op, 'nick' AS \"set:nickname\" FROM Contact WHERE id IN ({})", list(replaced)))
        .unwrap();
    for (name, file) in [("del", &sql), ("put", &puts)] {
        let plan = tmp.path().join(name);
        let run = ddbsnap(&["plan", "-q", "-t", file.to_str().unwrap(), "testdata/contacts", "--out", plan.to_str().unwrap()]);
        assert_eq!(run.code, Some(0), "{}", run.show());
    }
    let (del, put) = (tmp.path().join("del"), tmp.path().join("put"));
    let sha = |p: &Path| PlanFile::open(p).unwrap().sha256().to_string();

    let run = apply(&ep, &del, &sha(&del), &table, &[]);
    assert_eq!(run.code, Some(1), "one delete meets an edited item\n{}", run.show());
    let r = report(&run);
    assert_eq!((r["written"].as_u64(), r["conflicts"].as_u64()), (Some(2), Some(1)), "{r:#}");
    let run = apply(&ep, &put, &sha(&put), &table, &[]);
    assert_eq!(run.code, Some(0), "{}", run.show());

    let mut want = by_id(&live);
    for id in &deleted[1..] {
        want.remove(id);
    }
    let stamps = stamps_by_id(&put);
    for id in replaced {
        let it = want.get_mut(id).unwrap();
        it.insert("nickname".into(), AttrValue::S("nick".into()));
        it.insert("updatedAt".into(), AttrValue::S(stamps[id].clone()));
    }
    assert_table(&rt.block_on(scan(&c, &table)), &want, "after the deletes and puts");

    for plan in [&put, &del] {
        let rb = ddbsnap(&[
            "rollback",
            journal_path(plan).to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "--table",
            &format!("Contact={table}"),
            "-q",
        ]);
        assert_eq!(rb.code, Some(0), "{}", rb.show());
    }
    let mut want = by_id(&original);
    want.insert(id_of(&edited), edited);
    assert_table(&rt.block_on(scan(&c, &table)), &want, "after both rollbacks");
}

/// What `split_name` does to one item, worked out by hand from the recipe's
/// stated rule, not from the planner: the first word of the trimmed name
/// becomes `firstName`, the rest (trimmed) `lastName` when there is a rest,
/// `schemaVersion` becomes 2; items whose name is missing, not a string or
/// blank are left alone; `updatedAt` is stamped where the item has it.
fn split_name_by_hand(item: &Item, stamp: &str) -> Item {
    let Some(AttrValue::S(name)) = item.get("name") else { return item.clone() };
    let name = name.trim_matches(' ');
    if name.is_empty() {
        return item.clone();
    }
    let mut after = item.clone();
    let (first, rest) = match name.find(' ') {
        Some(i) => (&name[..i], Some(name[i + 1..].trim_matches(' '))),
        None => (name, None),
    };
    after.insert("firstName".into(), AttrValue::S(first.into()));
    if let Some(rest) = rest {
        after.insert("lastName".into(), AttrValue::S(rest.into()));
    }
    after.insert("schemaVersion".into(), AttrValue::N(ddbsnap::item::Number::from_i64(2)));
    if after != *item && item.contains_key("updatedAt") {
        after.insert("updatedAt".into(), AttrValue::S(stamp.into()));
    }
    after
}

/// Issue 13, item 21: the expected table computed independently of the
/// planner (the other apply tests take it from the plan's after-images).
#[test]
fn split_name_leaves_what_the_rule_says_worked_out_without_the_planner() {
    let Some(SplitContacts { ep, rt, c, original, table, plan, sha, _tmp }) = SplitContacts::start() else { return };
    let run = apply(&ep, &plan, &sha, &table, &["--allow-failing-checks"]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    // Each write carries the time it was sent, as the journal records it:
    // never before the apply started (its header's time).
    let stamps = stamps_by_id(&plan);
    let header: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(journal_path(&plan)).unwrap().lines().next().unwrap()).unwrap();
    let started = header["stamp_now"].as_str().unwrap().to_string();
    assert!(stamps.values().all(|s| *s >= started), "a write stamped before the apply started: {started} {stamps:?}");
    let by_hand = |it: &Item| split_name_by_hand(it, stamps.get(&id_of(it)).map_or("", String::as_str));
    let want: std::collections::HashMap<String, Item> = original.iter().map(|it| (id_of(it), by_hand(it))).collect();
    let changed = original.iter().filter(|it| by_hand(it) != **it).count() as u64;
    assert!(changed > 150, "the fixture has names to split: {changed}");
    assert_eq!(report(&run)["written"].as_u64(), Some(changed), "{}", run.show());
    assert_table(&rt.block_on(scan(&c, &table)), &want, "split_name by hand");
}
