//! The real AWS exports and Amplify models that some tests read in place
//! (their licences do not allow copying them into the repository).
//!
//! They are found at `DDBSNAP_SAMPLES`, by default `../shared/samples`
//! beside the clone. When the folder is absent, a test that needs it
//! returns early and writes its name to the file `DDBSNAP_SKIPPED_SAMPLES`
//! names, so that `scripts/test.sh` lists every such test in one line at the
//! end of the run; with `DDBSNAP_REQUIRE_SAMPLES=1` (as `.ci/run` sets) the
//! test fails instead.

use std::io::Write;
use std::path::PathBuf;

/// The samples folder as configured, whether or not it exists.
pub fn root() -> PathBuf {
    match std::env::var_os("DDBSNAP_SAMPLES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/samples")),
    }
}

/// The sample at `rel` inside the samples folder, or `None` (with the test
/// recorded as skipped) when the folder is absent and not required. A
/// folder that exists but lacks the sample is a failure, never a skip.
pub fn path(rel: &str) -> Option<PathBuf> {
    let root = root();
    if !root.is_dir() {
        let required = std::env::var("DDBSNAP_REQUIRE_SAMPLES").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "the samples folder {} is missing and DDBSNAP_REQUIRE_SAMPLES=1: set DDBSNAP_SAMPLES to the folder of real AWS exports",
            root.display()
        );
        record_skip();
        return None;
    }
    let path = root.join(rel);
    assert!(path.exists(), "sample {} is missing from the samples folder {}", rel, root.display());
    Some(path)
}

/// Notes this test (`crate::test`) as skipped for want of the samples.
fn record_skip() {
    // libtest runs each test on a thread named after it.
    let test = format!("{}::{}", env!("CARGO_CRATE_NAME"), std::thread::current().name().unwrap_or("?"));
    eprintln!("skipped {test}: the samples folder {} is absent (set DDBSNAP_SAMPLES)", root().display());
    if let Some(log) = std::env::var_os("DDBSNAP_SKIPPED_SAMPLES") {
        // One write of the whole line: tests run in parallel, and appends
        // of one small write do not interleave.
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("open the skipped-samples log");
        f.write_all(format!("{test}\n").as_bytes()).expect("write the skipped-samples log");
    }
}
