//! Shared helpers for the tests that run the real `ddbsnap` binary on the
//! committed fixtures in `testdata/` (written by `tests/fixtures.rs`).

#![allow(dead_code)]

pub mod dynamo;
pub mod plans;
pub mod proxy;
pub mod s3;
pub mod samples;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate's root: tests run the binary from here so that paths in its
/// messages are the short relative ones given on the command line.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

/// A finished run of the binary.
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Context for assertion messages.
    pub fn show(&self) -> String {
        format!(
            "ddbsnap {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    pub fn ok(self) -> Run {
        assert_eq!(self.code, Some(0), "expected success\n{}", self.show());
        self
    }
}

/// Runs `ddbsnap ARGS` in the crate root with a clean environment for the
/// variables the binary reads.
pub fn ddbsnap<S: AsRef<str>>(args: &[S]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    let out: Output = output_within(
        Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
            .args(&args)
            .current_dir(root())
            .env_remove("RUST_LOG")
            .env_remove("DDBSNAP_ENDPOINT_URL")
            .env_remove("DDBSNAP_S3_ENDPOINT_URL")
            .env_remove("DDBSNAP_DYNAMODB_ENDPOINT_URL")
            .env_remove("DDBSNAP_THREADS")
            .env_remove("DDBSNAP_MEMORY_LIMIT")
            .env_remove("DDBSNAP_CACHE")
            .env_remove("DDBSNAP_CACHE_DIR")
            .env_remove("DDBSNAP_NESTED"),
    );
    Run {
        args,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `cmd` to the end, as `Command::output` does, but kills it and fails
/// the test when it runs longer than `DDBSNAP_TEST_TIMEOUT` seconds (900 by
/// default): a hung server or browser fails one test instead of hanging the
/// suite. The limit is a backstop far above any run's time, not a timing
/// assertion.
pub fn output_within(cmd: &mut Command) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let limit = std::env::var("DDBSNAP_TEST_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(900u64);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed().as_secs() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} ran longer than {limit} s (DDBSNAP_TEST_TIMEOUT) and was killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output { status, stdout: out.join().expect("stdout reader"), stderr: err.join().expect("stderr reader") }
}

/// The ground truth `generate` wrote beside an export.
pub fn truth(dir: &str) -> serde_json::Value {
    let path = testdata(dir).join("ddbsnap-generate.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("ground truth JSON")
}

/// Runs a query with `--format csv` and returns the data rows (header dropped).
pub fn csv_rows(exports: &[&str], sql: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["sql".into(), "--format".into(), "csv".into()];
    for e in exports {
        args.push("-e".into());
        args.push((*e).to_string());
    }
    args.push(sql.into());
    let run = ddbsnap(&args).ok();
    run.stdout.lines().skip(1).map(str::to_string).collect()
}

/// A single-value query's answer.
pub fn scalar(exports: &[&str], sql: &str) -> String {
    let rows = csv_rows(exports, sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0].clone()
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap_or_else(|e| panic!("{}: {e}", d.display())).path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

/// The message must not repeat its cause (`A: B: B`), the way an error
/// printed together with its own source chain does, nor a part of it
/// (`file: file: cause`).
pub fn assert_no_repeated_cause(run: &Run) {
    for line in run.stderr.lines() {
        let parts: Vec<&str> = line.split(": ").collect();
        for w in parts.windows(2) {
            assert!(w[0] != w[1], "stderr repeats {:?}\n{}", w[0], run.show());
        }
        for (p, _) in line.match_indices(": ") {
            let tail = &line[p + 2..];
            assert!(tail.len() < 8 || !line[..p].ends_with(tail), "stderr repeats {tail:?}\n{}", run.show());
        }
    }
}

/// Exit code 2, stderr with every one of `words`, nothing on stdout.
pub fn assert_error(run: &Run, words: &[&str]) {
    assert_eq!(run.code, Some(2), "expected exit code 2\n{}", run.show());
    assert!(run.stdout.trim().is_empty(), "an error must print nothing on stdout\n{}", run.show());
    assert!(run.stderr.contains("error"), "stderr should say it is an error\n{}", run.show());
    for w in words {
        assert!(run.stderr.contains(w), "stderr should contain {w:?}\n{}", run.show());
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.show());
    assert!(!run.stderr.contains('\u{1b}'), "terminal escape codes on a redirected stderr\n{}", run.show());
    assert_no_repeated_cause(run);
}
