//! `--memory-limit` through the real binary: a GROUP BY whose state is many
//! times the limit spills and still answers exactly what it answers without
//! a limit, and an operator that cannot spill (a hash join's build side)
//! stops with an error that says what to do, exit 2, no partial result.

mod common;

use common::{assert_error, ddbsnap};

/// 300,000 distinct text keys, three rows each: the aggregate's state is
/// tens of megabytes, far beyond the 4 MiB limit below.
const GROUPS: &str = "SELECT count(*) AS groups, min(c) AS lo, max(c) AS hi, sum(length(k)) AS chars \
     FROM (SELECT concat('key-', value % 300000) AS k, count(*) AS c FROM range(900000) GROUP BY k)";

fn groups(limit: Option<&str>) -> String {
    let mut args = vec!["sql", "-e", "testdata/contacts", "--format", "csv"];
    if let Some(l) = limit {
        args.extend(["--memory-limit", l]);
    }
    args.push(GROUPS);
    ddbsnap(&args).ok().stdout
}

#[test]
fn an_aggregate_beyond_the_limit_spills_and_answers_exactly() {
    let unlimited = groups(None);
    assert_eq!(unlimited.lines().nth(1), Some("300000,3,3,2888890"), "{unlimited}");
    assert_eq!(groups(Some("4M")), unlimited);
    assert_eq!(groups(Some("4MiB")), unlimited);
}

#[test]
fn an_operator_that_cannot_spill_stops_with_a_hint() {
    let join = "SELECT count(*) FROM range(2000000) a JOIN range(2000000) b ON a.value = b.value";
    let run = ddbsnap(&["sql", "-e", "testdata/contacts", "--format", "csv", "--memory-limit", "2M", join]);
    assert_error(&run, &["Resources exhausted", "--memory-limit", "raise the limit"]);
    assert!(run.stdout.is_empty(), "no partial result: {}", run.stdout);
    let unlimited = ddbsnap(&["sql", "-e", "testdata/contacts", "--format", "csv", join]).ok();
    assert_eq!(unlimited.stdout.lines().nth(1), Some("2000000"), "{}", unlimited.show());
}

#[test]
fn bad_sizes_are_refused_by_name() {
    for (size, words) in [("lots", &["\"lots\"", "512M"][..]), ("0", &["more than zero"][..]), ("64K", &["below 1M"][..])] {
        let run = ddbsnap(&["sql", "-e", "testdata/contacts", "--memory-limit", size, "SELECT 1"]);
        assert_eq!(run.code, Some(2), "{}", run.show());
        for w in words {
            assert!(run.stderr.contains(w), "{size}: expected {w:?}\n{}", run.show());
        }
    }
}

/// A plan holds its snapshot in memory: one that cannot fit is refused
/// before anything is read, with the estimate and the way round it.
#[test]
fn a_plan_beyond_memory_is_refused_up_front_with_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export").display().to_string();
    ddbsnap(&["generate", "--out", &export, "--items", "5000", "--files", "2", "--seed", "3"]).ok();
    let out = dir.path().join("plan").display().to_string();
    let run = ddbsnap(&["plan", "-t", "split_name", &export, "--out", &out, "--memory-limit", "1M"]);
    assert_error(&run, &["planning 5000 items holds the snapshot in memory", "more than --memory-limit", "--memory-limit 1G"]);
    assert!(!std::path::Path::new(&out).exists(), "nothing is written");
    // With room, the same plan is made.
    let made = ddbsnap(&["plan", "-t", "split_name", &export, "--out", &out, "--memory-limit", "1G"]);
    assert!(made.code == Some(0) || made.code == Some(1), "{}", made.show());
    assert!(std::path::Path::new(&out).join("plan.json").exists(), "{}", made.show());
}
