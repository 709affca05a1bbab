//! The Parquet cache of exports (`--cache`, `--cache-dir`) through the real
//! binary: answers equal the in-memory ones, an entry is reused only for
//! the same export state, auto mode caches what would not fit, and what
//! cannot be cached whole (quarantined reads, bare data files) is not.

mod common;

use std::path::Path;

use common::{ddbsnap, testdata};

const QUESTION: &str = "SELECT count(*) AS items, count(DISTINCT id) AS ids, sum(CASE WHEN ddb_type(age) = 'S' THEN 1 ELSE 0 END) AS text_ages, \
     min(id) AS first, max(id) AS last FROM Contact";

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// The cache's entries (finished ones: no temporary folders).
fn entries(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn sql(extra: &[&str]) -> common::Run {
    let export = arg(&testdata("contacts"));
    let mut args = vec!["sql", "-e", export.as_str(), "--format", "csv"];
    args.extend_from_slice(extra);
    args.push(QUESTION);
    ddbsnap(&args)
}

#[test]
fn a_cached_export_answers_as_in_memory_and_is_reused_while_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let cache = arg(&dir.path().join("cache"));
    let in_memory = sql(&["--cache", "never"]).ok();
    assert!(!in_memory.stderr.contains("cache"), "{}", in_memory.show());
    let first = sql(&["--cache", "always", "--cache-dir", &cache]).ok();
    assert_eq!(first.stdout, in_memory.stdout);
    assert!(first.stderr.contains("converted it to a Parquet cache"), "{}", first.show());
    let again = sql(&["--cache", "always", "--cache-dir", &cache]).ok();
    assert_eq!(again.stdout, in_memory.stdout);
    assert!(again.stderr.contains("reusing its Parquet cache"), "{}", again.show());
    assert_eq!(entries(&dir.path().join("cache")).len(), 1);

    // Another point in time of the chain is another table: another entry,
    // and the answer of that time (the full export alone: 200 items).
    let at_full = sql(&["--cache", "always", "--cache-dir", &cache, "--as-of", "2026-01-01T00:05:00Z"]).ok();
    assert!(at_full.stdout.contains("\n200,200,"), "{}", at_full.show());
    assert_eq!(entries(&dir.path().join("cache")).len(), 2);
    assert_eq!(sql(&["--cache", "never", "--as-of", "2026-01-01T00:05:00Z"]).ok().stdout, at_full.stdout);
}

#[test]
fn a_changed_export_is_not_answered_from_the_old_entry() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("contacts");
    copy_dir(&testdata("contacts"), &copy);
    let cache = arg(&dir.path().join("cache"));
    let run = |extra: &[&str]| {
        let export = arg(&copy);
        let mut args = vec!["sql", "-e", export.as_str(), "--format", "csv", "--cache-dir", &cache];
        args.extend_from_slice(extra);
        args.push(QUESTION);
        ddbsnap(&args)
    };
    let before = run(&["--cache", "always"]).ok();
    // The last incremental goes: the chain now ends earlier.
    let last = std::fs::read_dir(copy.join("AWSDynamoDB")).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).max().unwrap();
    std::fs::remove_dir_all(last).unwrap();
    let after = run(&["--cache", "always"]).ok();
    assert!(after.stderr.contains("converted it to a Parquet cache"), "{}", after.show());
    assert_ne!(after.stdout, before.stdout, "the answer of the shorter chain");
    assert_eq!(after.stdout, run(&["--cache", "never"]).ok().stdout);
    assert_eq!(entries(&dir.path().join("cache")).len(), 2);
}

#[test]
fn auto_caches_a_table_over_the_memory_limit_and_check_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let cache = arg(&dir.path().join("cache"));
    let model = arg(&testdata("models/contact-v2.json"));
    // 5,000 items are estimated at about 2.5 MB in memory.
    let generated = dir.path().join("export");
    ddbsnap(&["generate", "--out", &arg(&generated), "--items", "5000", "--files", "2", "--seed", "3"]).ok();
    let export = arg(&generated);
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--amplify", model.as_str(), "--format", "json", export.as_str(), "--cache-dir", &cache];
        args.extend_from_slice(extra);
        ddbsnap(&args)
    };
    // Under 64M they are read into memory; a 1M limit sends them to the cache.
    let small = check(&["--memory-limit", "64M"]);
    assert!(!small.stderr.contains("Parquet cache"), "{}", small.show());
    let limited = check(&["--memory-limit", "1M"]);
    assert!(limited.stderr.contains("more than --memory-limit") && limited.stderr.contains("Parquet cache"), "{}", limited.show());
    assert_eq!(limited.code, small.code);
    let counts = |r: &common::Run| {
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.show()));
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].to_string(), c["status"].to_string(), c["violations"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&limited), counts(&small));
    assert!(!counts(&small).is_empty());
}

#[test]
fn what_cannot_be_cached_whole_is_read_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // Quarantined lines would make the cached table partial.
    let q = arg(&dir.path().join("q.jsonl"));
    let quarantining = sql(&["--cache", "always", "--cache-dir", &arg(&cache), "--quarantine", &q]).ok();
    assert!(!quarantining.stderr.contains("Parquet cache"), "{}", quarantining.show());
    // A lone data file has no manifest to recognise it by.
    let file = std::fs::read_dir(testdata("contacts/AWSDynamoDB/01767225600000-79b0ae6b/data"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".json.gz"))
        .unwrap();
    let bare = ddbsnap(&[
        "sql",
        "-e",
        &format!("Contact={}", arg(&file)),
        "--cache",
        "always",
        "--cache-dir",
        &arg(&cache),
        "SELECT count(*) FROM Contact",
    ]);
    assert_eq!(bare.code, Some(0), "{}", bare.show());
    assert!(!bare.stderr.contains("Parquet cache"), "{}", bare.show());
    assert!(entries(&cache).is_empty());
}

/// Every attribute of every item, as DynamoDB typed it, must read the same
/// from the cache as from memory (the cache's Parquet must not come back as
/// other Arrow types that functions read differently).
#[test]
fn every_type_reads_the_same_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = arg(&dir.path().join("cache"));
    for (export, table, key) in
        [("every-type/json", "EveryType", "pk"), ("every-type/ion", "EveryType", "pk"), ("contacts", "Contact", "id")]
    {
        let export = arg(&testdata(export));
        let columns = ddbsnap(&[
            "sql",
            "-e",
            &export,
            "--format",
            "csv",
            &format!("SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"),
        ])
        .ok();
        let attrs: Vec<String> = columns
            .stdout
            .lines()
            .skip(1)
            .filter(|c| *c != "_ddb")
            .map(|c| format!("ddb_attr(\"{}\")", c.trim_matches('"').replace('"', "\"\"")))
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\" ORDER BY \"{key}\"", attrs.join(", "));
        let run =
            |mode: &str| ddbsnap(&["sql", "-e", &export, "--format", "json", "--cache", mode, "--cache-dir", &cache, &sql]).ok().stdout;
        let (memory, cached) = (run("never"), run("always"));
        assert!(memory.contains(r#"\"N\""#) && memory.len() > 500, "{memory}");
        assert_eq!(cached, memory, "{export}");
    }
}

/// The one entry folder of a cache.
fn only_entry(cache: &Path) -> std::path::PathBuf {
    let names = entries(cache);
    assert_eq!(names.len(), 1, "{names:?}");
    cache.join(&names[0])
}

#[test]
fn a_damaged_or_stale_entry_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("contacts");
    copy_dir(&testdata("contacts"), &copy);
    let cache = dir.path().join("cache");
    let run = |mode: &str| {
        let export = arg(&copy);
        ddbsnap(&["sql", "-e", export.as_str(), "--format", "csv", "--cache", mode, "--cache-dir", &arg(&cache), QUESTION])
    };
    let want = run("always").ok().stdout;
    let entry = only_entry(&cache);
    let data = entry.join("Contact/data.parquet");

    // Another table's Parquet in its place: rows disagree, the entry is made again.
    let other = dir.path().join("other");
    ddbsnap(&["convert", &arg(&testdata("every-type/json")), "--to", &arg(&other)]).ok();
    std::fs::copy(other.join("EveryType/data.parquet"), &data).unwrap();
    let healed = run("always").ok();
    assert!(healed.stderr.contains("making it again") && !healed.stderr.contains("reusing"), "{}", healed.show());
    assert_eq!(healed.stdout, want);

    // No data.parquet at all (a half-deleted entry): made again.
    std::fs::remove_file(&data).unwrap();
    assert_eq!(run("always").ok().stdout, want);

    // A data file changed under the same manifests: not the export the entry
    // was made from; read again, its checksum fails as it does without the cache.
    let full = std::fs::read_dir(copy.join("AWSDynamoDB")).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).min().unwrap();
    let file = std::fs::read_dir(full.join("data"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".gz"))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, &bytes).unwrap();
    let stale = run("always");
    assert_eq!(stale.code, Some(2), "{}", stale.show());
    assert!(stale.stderr.contains("stale") && !stale.stderr.contains("reusing"), "{}", stale.show());
    assert_eq!(run("never").code, Some(2));
}

#[test]
fn a_cache_folder_others_can_write_or_with_pattern_characters_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run =
        |cache: &Path| ddbsnap(&["sql", "-e", &arg(&testdata("contacts")), "--cache", "always", "--cache-dir", &arg(cache), "SELECT 1"]);
    common::assert_error(&run(&shared), &["--cache-dir", "writable by others"]);
    common::assert_error(&run(&dir.path().join("a[1]")), &["--cache-dir", "patterns"]);
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    common::assert_error(&run(&file), &["--cache-dir"]);
    // A folder it creates is its owner's alone.
    let own = dir.path().join("own/cache");
    run(&own).ok();
    assert_eq!(std::fs::metadata(&own).unwrap().permissions().mode() & 0o777, 0o700);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().filter_map(|e| e.ok()) {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
