//! Applying plans when DynamoDB misbehaves: throttling, connections that die
//! before or after a write landed, BatchWriteItem calls that leave items
//! unprocessed (all injected by the proxy in `common/proxy.rs`, in front of
//! DynamoDB Local), and the apply process killed with SIGKILL at arbitrary
//! moments and resumed. Every time, the table must end exactly as the plan
//! says: nothing lost, nothing written twice, nothing written that was not
//! planned.
//!
//! Skipped without `DDBSNAP_TEST_DYNAMODB_ENDPOINT`, unless
//! `DDBSNAP_REQUIRE_SERVERS=1`, where a missing server fails the test.

mod common;

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ddbsnap;
use common::dynamo::{
    SplitContacts, apply_args, assert_table, by_id, client, create_table, endpoint, expected_after, export_items, id_of, journal_path,
    journal_stamps, load, matches, plan, report, runtime, scan,
};
use common::proxy::{Faults, Proxy};
use ddbsnap::item::{Item, same_item};
use ddbsnap::plan::file::PlanFile;
use serde_json::Value;

/// A counter of a JSON report.
fn n(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap_or_else(|| panic!("report field {field}: {v}"))
}

/// Complete entry lines in the journal (None: there is no journal yet).
fn journal_entries(plan: &Path) -> Option<u64> {
    let text = std::fs::read(journal_path(plan)).ok()?;
    Some((text.iter().filter(|b| **b == b'\n').count() as u64).saturating_sub(1))
}

#[test]
fn conditional_updates_survive_throttling_and_dropped_connections() {
    let Some(SplitContacts { ep, rt, c, original, table, plan: plan_dir, sha, _tmp }) = SplitContacts::start() else { return };
    let ops = PlanFile::open(&plan_dir).unwrap().manifest.ops_file.rows;

    // 7, 11 and 13 are coprime: the three faults rarely fall on one request.
    let proxy = Proxy::start(&ep, Faults { throttle_every: 7, drop_before_every: 11, drop_after_every: 13, ..Default::default() })
        .expect("start the proxy");
    let run = ddbsnap(&apply_args(proxy.url(), &plan_dir, &sha, &format!("Contact={table}"), &[]));
    let seen = proxy.tally();
    assert_eq!(run.code, Some(0), "{seen:?}\n{}", run.show());
    let r = report(&run);
    let context = format!("{seen:?}\n{r}");

    assert!(seen.throttled > 0 && seen.dropped_before > 0 && seen.dropped_after_landed > 0, "{context}");
    // One DescribeTable first (the target is checked), then the writes.
    assert_eq!(seen.operations.keys().collect::<Vec<_>>(), ["DescribeTable", "UpdateItem"], "{context}");
    assert_eq!(seen.operations["DescribeTable"], 1, "{context}");
    // Every fault cost exactly one retry of its own cause, and nothing else
    // failed. A timeout (a slow moment of DynamoDB Local) is retried too: it
    // is counted apart, so the injected faults are accounted for exactly.
    let by = |cause: &str| r["retries_by_cause"][cause].as_u64().unwrap_or_else(|| panic!("no {cause} in {context}"));
    assert_eq!(by("throttled"), seen.throttled, "{context}");
    assert_eq!(by("connection"), seen.dropped_before + seen.dropped_after, "{context}");
    assert_eq!((by("server_error"), by("unprocessed")), (0, 0), "{context}");
    assert_eq!(n(&r, "retries"), by("throttled") + by("connection") + by("timeout"), "{context}");
    assert_eq!((n(&r, "failed"), n(&r, "conflicts")), (0, 0), "{context}");
    assert_eq!(n(&r, "operations"), ops, "{context}");
    // A write that landed unheard is recognised on its retry by the item
    // holding exactly what it wrote: each such op, and only those, is
    // "already applied" (an op lands once; later attempts fail the condition).
    assert_eq!(n(&r, "already_applied"), seen.dropped_after_landed, "{context}");
    assert_eq!(n(&r, "written"), ops - seen.dropped_after_landed, "{context}");
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan_dir, &original, &journal_stamps(&plan_dir), &[]), &context);
    eprintln!("conditional updates: {ops} operations, injected {seen:?}");
}

#[test]
fn batch_puts_into_a_new_table_survive_unprocessed_items_and_throttling() {
    let Some(ep) = endpoint() else { return };
    let rt = runtime();
    let c = rt.block_on(client(&ep));
    let table = rt.block_on(create_table(&c, "ContactV2"));
    let tmp = tempfile::tempdir().unwrap();
    let plan_dir = tmp.path().join("copy");
    // The v2 model's checks fail on the old table (Contact.firstName
    // required), but the copy leaves that table as it was: the failure is
    // pre-existing, so the plan exits 0 and apply needs no override.
    let sha = plan("blue_green_copy", Path::new("testdata/contacts"), &plan_dir, &["--amplify", "testdata/models/contact-v2.json"], 0);
    let ops = PlanFile::open(&plan_dir).unwrap().manifest.ops_file.rows;
    assert_eq!(ops, 199);

    let proxy = Proxy::start(&ep, Faults { unprocess_every: 2, throttle_every: 5, ..Default::default() }).expect("start the proxy");
    let run = ddbsnap(&apply_args(proxy.url(), &plan_dir, &sha, &format!("ContactV2={table}"), &[]));
    let seen = proxy.tally();
    assert_eq!(run.code, Some(0), "{seen:?}\n{}", run.show());
    let r = report(&run);
    let context = format!("{seen:?}\n{r}");

    assert!(seen.unprocessed_items > 0 && seen.throttled > 0, "{context}");
    assert_eq!(
        seen.operations.keys().collect::<Vec<_>>(),
        ["BatchWriteItem", "DescribeTable", "Scan"],
        "the copy goes through BatchWriteItem (after one DescribeTable, and one Scan finding the new table empty)\n{context}"
    );
    assert_eq!((seen.operations["DescribeTable"], seen.operations["Scan"]), (1, 1), "{context}");
    // Each throttled call and each call with items left unprocessed is one
    // retry of the batch (of what is left of it), counted by its cause; a
    // timeout is counted apart.
    let by = |cause: &str| r["retries_by_cause"][cause].as_u64().unwrap_or_else(|| panic!("no {cause} in {context}"));
    assert_eq!(by("throttled"), seen.throttled, "{context}");
    assert_eq!(by("unprocessed"), seen.unprocessed_calls, "{context}");
    assert_eq!((by("server_error"), by("connection")), (0, 0), "{context}");
    assert_eq!(n(&r, "retries"), by("throttled") + by("unprocessed") + by("timeout"), "{context}");
    assert_eq!((n(&r, "written"), n(&r, "failed"), n(&r, "already_applied")), (ops, 0, 0), "{context}");
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan_dir, &[], &journal_stamps(&plan_dir), &[]), &context);
    eprintln!("batch puts: {ops} operations, injected {seen:?}");
}

/// An empty journal (as an older ddbsnap could leave when killed between
/// creating the file and syncing its header; now the header is written under
/// a temporary name and linked into place) recorded nothing, and no write is
/// sent before the header is on disk: following the tool's own advice must
/// get the apply done.
#[test]
fn an_apply_killed_before_its_journal_header_can_be_finished() {
    let Some(SplitContacts { ep, rt, c, original, table, plan: plan_dir, sha, _tmp }) = SplitContacts::start() else { return };
    let map = format!("Contact={table}");
    std::fs::write(journal_path(&plan_dir), "").unwrap();

    let first = ddbsnap(&apply_args(&ep, &plan_dir, &sha, &map, &[]));
    let run = if first.code == Some(0) {
        first
    } else {
        assert!(first.stderr.contains("--resume"), "neither applies nor says how to continue\n{}", first.show());
        ddbsnap(&apply_args(&ep, &plan_dir, &sha, &map, &["--resume"]))
    };
    assert_eq!(run.code, Some(0), "the advice to --resume leads nowhere\n{}", run.show());
    assert_table(&rt.block_on(scan(&c, &table)), &expected_after(&plan_dir, &original, &journal_stamps(&plan_dir), &[]), "after the apply");
}

/// Starts `ddbsnap ARGS` without waiting for it, as `common::ddbsnap` runs it.
fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
        .args(args)
        .current_dir(common::root())
        .env_remove("RUST_LOG")
        .env_remove("DDBSNAP_ENDPOINT_URL")
        .env_remove("DDBSNAP_THREADS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the ddbsnap binary")
}

/// SIGKILLs `child` once the journal of `plan` holds at least `entries`
/// entries (at once for 0: before the journal may exist); true if it was
/// still running (killed), false if it had already finished (successfully:
/// anything else fails). Keyed to the journal's progress, not to a clock,
/// so that a slow or loaded machine moves the kill with the work.
fn kill_when(mut child: Child, plan: &Path, entries: u64) -> bool {
    let started = Instant::now();
    while entries > 0 && journal_entries(plan).unwrap_or(0) < entries {
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(600) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    match out.status.signal() {
        Some(libc::SIGKILL) => true,
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "finished before the kill, but failed: {stderr}");
            false
        }
    }
}

/// The keys (`id`) of the operations the journal records as finished
/// (written, or found already written).
fn journal_finished(plan: &Path, ids_by_seq: &HashMap<u64, String>) -> Vec<String> {
    let text = std::fs::read_to_string(journal_path(plan)).unwrap();
    // A last line cut short by the kill is no entry (the resume ignores it too).
    text.lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| matches!(e["outcome"].as_str(), Some("done" | "already")))
        .map(|e| ids_by_seq[&e["seq"].as_u64().unwrap()].clone())
        .collect()
}

#[test]
fn sigkilled_applies_resume_to_exactly_the_planned_table() {
    let Some(ep) = endpoint() else { return };
    let started = Instant::now();
    let rt = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export");
    let generated = ddbsnap(&["generate", "--out", export.to_str().unwrap(), "--items", "3000", "--files", "4", "--seed", "3"]);
    assert_eq!(generated.code, Some(0), "{}", generated.show());
    let original = export_items(&export);
    assert_eq!(original.len(), 3000);
    let original_by_id: HashMap<String, Item> = by_id(&original);
    let c = rt.block_on(client(&ep));
    let table = rt.block_on(create_table(&c, "Contact"));
    let plan_dir = tmp.path().join("split");
    let sha = plan("split_name", &export, &plan_dir, &[], 0);
    let ids_by_seq: HashMap<u64, String> =
        PlanFile::open(&plan_dir).unwrap().ops().unwrap().map(|op| op.unwrap()).map(|op| (op.seq, id_of(&op.key))).collect();
    let ops = ids_by_seq.len() as u64;
    assert!(ops > 2500, "{ops} operations");
    let map = format!("Contact={table}");
    let args = |extra: &[&str]| apply_args(&ep, &plan_dir, &sha, &map, &[&["--concurrency", "8"], extra].concat());

    // A whole apply takes about 10 s in a debug build, too long to run once
    // per kill: each round kills the apply, then its resumes, once the
    // journal holds these shares of the operations (0: at once, before the
    // journal may exist), then resumes to the end. Writes run 8 at a time
    // and are journaled per group, so a kill mid-way usually also catches
    // writes that landed but were not journaled yet.
    let rounds: [&[f64]; 3] = [&[0.0, 0.3, 0.7], &[0.1, 0.5, 0.9], &[0.2, 0.45, 0.8]];
    let (mut kills, mut midway, mut unjournaled) = (0, 0, 0);
    for (round, shares) in rounds.iter().enumerate() {
        rt.block_on(load(&c, &table, &original));
        let _ = std::fs::remove_file(journal_path(&plan_dir));
        let mut changed_before = 0;
        for (k, share) in shares.iter().enumerate() {
            // Killed before the journal was created, nothing was written:
            // start afresh (--resume needs a journal to continue).
            let resume: &[&str] = if journal_entries(&plan_dir).is_some() { &["--resume"] } else { &[] };
            let killed = kill_when(spawn(&args(resume)), &plan_dir, (share * ops as f64) as u64);
            kills += killed as u64;
            let entries = journal_entries(&plan_dir);
            let context = format!("round {round}, kill {k} at {share} of the operations: {entries:?} journal entries");
            let now = rt.block_on(scan(&c, &table));
            let Some(entries) = entries else {
                assert_table(&now, &original_by_id, &format!("{context}: nothing is written before the journal exists"));
                continue;
            };
            // Between runs, every item holds either its original or its
            // planned state, never a mix or anything else; every operation
            // journaled as finished holds its planned state.
            let want = expected_after(&plan_dir, &original, &journal_stamps(&plan_dir), &[]);
            assert_eq!(now.len(), original.len(), "{context}");
            let mut planned_state = 0;
            for (id, item) in &now {
                if matches(item, &want[id]) {
                    planned_state += 1;
                } else {
                    assert!(same_item(item, &original_by_id[id]), "{context}: item {id} is neither original nor planned\n{item:?}");
                }
            }
            let finished = journal_finished(&plan_dir, &ids_by_seq);
            for id in &finished {
                assert!(matches(&now[id], &want[id]), "{context}: item {id} is journaled as written but holds\n{:?}", now[id]);
            }
            // Items outside the plan hold their planned (original) state too.
            let changed = planned_state - (original.len() - ops as usize);
            // Mid-way: this run had written some items but not all.
            if killed && changed > changed_before && entries < ops {
                midway += 1;
            }
            changed_before = changed;
            // Writes that landed but were not journaled yet: the case only
            // the conditions of the resumed writes can recognise.
            if changed > finished.len() {
                unjournaled += 1;
            }
            eprintln!("{context}: {changed} items changed, {} journaled as finished", finished.len());
        }

        let resume: &[&str] = if journal_entries(&plan_dir).is_some() { &["--resume"] } else { &[] };
        let run = ddbsnap(&args(resume));
        let context = format!("round {round}, the last resume");
        assert_eq!(run.code, Some(0), "{context}\n{}", run.show());
        let r = report(&run);
        assert_eq!((n(&r, "failed"), n(&r, "conflicts")), (0, 0), "{context}\n{r}");
        assert_eq!(n(&r, "already_journaled") + n(&r, "written") + n(&r, "already_applied"), ops, "{context}\n{r}");
        let finished: std::collections::HashSet<String> = journal_finished(&plan_dir, &ids_by_seq).into_iter().collect();
        assert_eq!(finished.len() as u64, ops, "{context}: every operation journaled as finished");
        let want = expected_after(&plan_dir, &original, &journal_stamps(&plan_dir), &[]);
        assert_table(&rt.block_on(scan(&c, &table)), &want, &context);
        eprintln!(
            "{context}: {} journaled before, {} written, {} found already written; {:.1} s so far",
            n(&r, "already_journaled"),
            n(&r, "written"),
            n(&r, "already_applied"),
            started.elapsed().as_secs_f64()
        );
    }
    let total: usize = rounds.iter().map(|r| r.len()).sum();
    eprintln!("SIGKILL: {total} kills, {kills} of running processes, {midway} mid-way, {unjournaled} with writes landed but not journaled");
    // Kills at a share strictly between 0 and 1 of the journal land mid-way
    // by construction. Writes landed but not journaled are what the resumed
    // writes' conditions must recognise; whether a kill catches one depends
    // on timing, so it is reported, not asserted (the proxy test drops
    // answers to landed writes deterministically).
    assert!(midway >= 1, "no kill landed mid-way ({midway} of {total})");
}
