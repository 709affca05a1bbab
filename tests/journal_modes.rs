//! Issue 13, item 11: every mode checks a journal the same way, dry runs
//! change no file, and a journal only claims what was written. Every run
//! first describes its target table (a dry run too), so these talk to
//! DynamoDB Local, though none of them writes.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, assert_error, ddbsnap};

fn arg(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// A plan of one UPDATE per item of `testdata/contacts`, in a temp folder,
/// and an empty table (keyed by `id`) to point it at.
struct Planned {
    dir: tempfile::TempDir,
    plan: PathBuf,
    sha: String,
    endpoint: String,
    table: String,
}

fn planned() -> Option<Planned> {
    let endpoint = common::dynamo::endpoint()?;
    let rt = common::dynamo::runtime();
    let table = rt.block_on(async { common::dynamo::create_table(&common::dynamo::client(&endpoint).await, "Contact").await });
    let dir = tempfile::tempdir().expect("temp dir");
    let t = dir.path().join("t.sql");
    std::fs::write(&t, "SELECT id, 'x' AS nickname FROM Contact").expect("write transform");
    let plan = dir.path().join("plan");
    let run = ddbsnap(&["plan", "-t", &arg(&t), "testdata/contacts", "--out", &arg(&plan)]).ok();
    let sha = run.stdout.lines().next().and_then(|l| l.strip_prefix("plan ")).expect("plan <sha>").trim().to_string();
    Some(Planned { dir, plan, sha, endpoint, table })
}

impl Planned {
    fn journal(&self) -> PathBuf {
        self.dir.path().join("plan.journal")
    }

    fn header(&self, kind: &str, sha: &str) -> String {
        serde_json::json!({
            "format": "ddbsnap-journal/1", "kind": kind, "plan_sha256": sha, "plan_dir": arg(&self.plan),
            "started_at": "2026-01-01T00:00:00+00:00", "stamp_now": "2026-01-01T00:00:00.000Z", "stamp_now_ms": 1767225600000i64
        })
        .to_string()
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply".to_string(), arg(&self.plan), "--approve".into(), self.sha.clone()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["--endpoint-url".to_string(), self.endpoint.clone(), "--table".into(), format!("Contact={}", self.table)]);
        ddbsnap(&args)
    }

    /// Every file beside and in the plan, with its bytes.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        common::files_under(self.dir.path()).into_iter().map(|f| (f.clone(), std::fs::read(&f).expect("read"))).collect()
    }
}

#[test]
fn every_mode_checks_the_journal_the_same_way() {
    let Some(p) = planned() else { return };
    let entry = |seq: i64| format!(r#"{{"seq":{seq},"outcome":"done"}}"#);
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("garbage\n".into(), vec!["plan.journal:1", "not a ddbsnap journal"]),
        ("{\"format\":\"ddbsnap-journal/1\"\n".into(), vec!["plan.journal:1", "not a ddbsnap journal's header"]),
        (format!("{}\n", p.header("apply", &"0".repeat(64))), vec!["belongs to plan"]),
        (format!("{}\n", p.header("rollback", &p.sha)), vec!["journal of a rollback, not of an apply"]),
        (format!("{}\n{}\n{}\n", p.header("apply", &p.sha), entry(0), entry(-1)), vec!["plan.journal:3", "not a journal entry"]),
        (format!("{}\n{}\n", p.header("apply", &p.sha), entry(5000)), vec!["records operation 5000", "199 operations"]),
        (
            format!("{}\n{{\"seq\":1,\"outcome\":\"{}\"}}\n", p.header("apply", &p.sha), "x".repeat(100_000)),
            vec!["plan.journal:2", "not a journal entry"],
        ),
    ];
    for (text, words) in cases {
        std::fs::write(p.journal(), &text).expect("write journal");
        let before = p.files();
        for dry in [true, false] {
            let run = p.apply(if dry { &["--resume", "--dry-run"] } else { &["--resume"] });
            assert_error(&run, &words);
            assert_eq!(p.files(), before, "a refused run changed a file\n{}", run.show());
        }
    }
}

#[test]
fn a_dry_run_changes_no_file() {
    let Some(p) = planned() else { return };
    // A journal of zero bytes recorded nothing: no journal, in every mode.
    std::fs::write(p.journal(), "").expect("write journal");
    let before = p.files();
    for extra in [&["--resume", "--dry-run"][..], &["--dry-run"]] {
        let run = p.apply(extra);
        assert_eq!(run.code, Some(0), "{}", run.show());
        assert_eq!(p.files(), before, "the dry run changed a file\n{}", run.show());
    }
    std::fs::remove_file(p.journal()).expect("remove journal");
    // A journal cut short by a crash: a dry run reads it and leaves it as it is.
    let text = format!("{}\n{}\n{{\"seq\":1,\"outc", p.header("apply", &p.sha), r#"{"seq":0,"outcome":"done"}"#);
    std::fs::write(p.journal(), &text).expect("write journal");
    let before = p.files();
    let run = p.apply(&["--resume", "--dry-run"]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert!(run.stdout.contains("1 finished before"), "the dry run counts the journal's entry\n{}", run.show());
    assert_eq!(p.files(), before, "the dry run changed a file\n{}", run.show());
    // A rollback's dry run reads the apply journal and changes nothing either.
    let table = format!("Contact={}", p.table);
    let run = ddbsnap(&["rollback", &arg(&p.journal()), "--dry-run", "--endpoint-url", &p.endpoint, "--table", &table]);
    assert_eq!(run.code, Some(0), "{}", run.show());
    assert_eq!(p.files(), before, "the rollback's dry run changed a file\n{}", run.show());
    // Without --resume, a dry run refuses as the real run would.
    let run = p.apply(&["--dry-run"]);
    assert_error(&run, &["applied before", "--resume"]);
}

#[test]
fn a_run_that_fails_before_writing_leaves_no_journal() {
    let Some(p) = planned() else { return };
    // A plan whose target has no known DynamoDB table: --table is needed.
    let sha = common::plans::reseal(&p.plan, |m| {
        let start = m.find("\"physical\": \"").expect("physical");
        let end = start + m[start..].find("\",").expect("end") + 1;
        format!("{}\"physical\": null{}", &m[..start], &m[end..])
    });
    let p = Planned { sha, ..p };
    let run = ddbsnap(&["apply", &arg(&p.plan), "--approve", &p.sha, "--endpoint-url", &p.endpoint]);
    assert_error(&run, &["no DynamoDB table for Contact", "--table Contact=NAME"]);
    assert!(!p.journal().exists(), "a journal was left by a run that wrote nothing");
    // A table that does not exist is found before the journal is made, too.
    let run = ddbsnap(&["apply", &arg(&p.plan), "--approve", &p.sha, "--endpoint-url", &p.endpoint, "--table", "Contact=no-such-table"]);
    assert_error(&run, &["table no-such-table does not exist at", &p.endpoint]);
    assert!(!p.journal().exists(), "a journal was left by a run that wrote nothing");
    let run = p.apply(&["--dry-run"]);
    assert_eq!(run.code, Some(0), "{}", run.show());
}

/// Found by the second review: a resumed run reported journaled conflicts
/// as clean (exit 0), and verify took another plan's or a rollback's journal.
#[test]
fn journaled_conflicts_count_and_verify_checks_its_journal() {
    let Some(p) = planned() else { return };
    let text = format!("{}\n{}\n", p.header("apply", &p.sha), r#"{"seq":0,"outcome":"conflict","current":"{}"}"#);
    std::fs::write(p.journal(), &text).expect("write journal");
    let run = p.apply(&["--resume", "--dry-run", "--format", "json"]);
    assert_eq!(run.code, Some(1), "a journaled conflict is still a conflict\n{}", run.show());
    assert_eq!(serde_json::from_str::<serde_json::Value>(&run.stdout).expect("json")["conflicts"], 1, "{}", run.show());
    // verify takes only this plan's apply journal.
    let table = format!("Contact={}", p.table);
    std::fs::write(p.journal(), format!("{}\n", p.header("apply", &"0".repeat(64)))).expect("write journal");
    let run = ddbsnap(&["verify", &arg(&p.plan), "--endpoint-url", &p.endpoint, "--table", &table]);
    assert_error(&run, &["belongs to plan"]);
    std::fs::write(p.journal(), format!("{}\n", p.header("rollback", &p.sha))).expect("write journal");
    let run = ddbsnap(&["verify", &arg(&p.plan), "--endpoint-url", &p.endpoint, "--table", &table]);
    assert_error(&run, &["journal of a rollback"]);
}
