//! The first hour of a new user: endpoint flags that say which service they
//! point at, help that shows a command's own options first, one line when
//! there are no credentials, and near names for a mistyped table.

mod common;

use common::ddbsnap;

#[test]
fn the_old_endpoint_flag_is_refused_where_it_would_be_ambiguous() {
    let run = ddbsnap(&["--endpoint-url", "http://127.0.0.1:1", "rehearse", "s3://b/p", "--amplify", "x.json", "-t", "split_name"]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("ambiguous for `rehearse`") && run.stderr.contains("--s3-endpoint-url"), "{}", run.show());
    let run = ddbsnap(&["--endpoint-url", "http://127.0.0.1:1", "export", "--table", "T", "--to", "s3://b/p"]);
    assert!(run.stderr.contains("ambiguous for `export`"), "{}", run.show());
    // Two spellings of one endpoint that disagree are an error, not a choice.
    let run = ddbsnap(&["inspect", "testdata/contacts", "--endpoint-url", "http://a", "--s3-endpoint-url", "http://b"]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("disagree"), "{}", run.show());
    // Where it is unambiguous, the old name still works.
    ddbsnap(&["inspect", "testdata/contacts", "--endpoint-url", "http://127.0.0.1:1"]).ok();
}

#[test]
fn a_subcommands_help_lists_its_own_options_before_the_global_ones() {
    for cmd in ["apply", "rehearse", "sql", "check"] {
        let help = ddbsnap(&[cmd, "--help"]).ok().stdout;
        let own = help.find("\nOptions:").unwrap_or_else(|| panic!("{cmd}: no Options section\n{help}"));
        let global = help.find("\nGlobal options:").unwrap_or_else(|| panic!("{cmd}: no Global options section\n{help}"));
        assert!(own < global, "{cmd}\n{help}");
        assert!(help[global..].contains("--s3-endpoint-url") && help[global..].contains("--dynamodb-endpoint-url"), "{help}");
        assert!(!help.contains("S3 endpoint for S3-compatible servers (path-style addressing is used).\n"), "{help}");
    }
}

/// `inspect` of an S3 prefix on a loopback port nothing listens on, in an
/// empty environment (no AWS configuration at all) but for `envs` and
/// `extra` arguments: its exit code and stderr.
fn bare(extra: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
        .args(["inspect", "s3://bucket/prefix", "--s3-endpoint-url", "http://127.0.0.1:9"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn no_credentials_is_one_line_that_says_what_to_do() {
    // A loopback port nothing listens on: the credential chain fails first.
    let (code, stderr) = bare(&["--region", "us-east-1"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no AWS credentials were found") && stderr.contains("any key works"), "{stderr}");
    assert!(!stderr.contains("IMDS") && stderr.len() < 500, "{stderr}");
}

#[test]
fn a_mistyped_table_name_suggests_the_near_one() {
    let run = ddbsnap(&["sql", "-e", "testdata/contacts", "SELECT count(*) FROM contact"]);
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains(r#"did you mean "Contact"?"#), "{}", run.show());
}

#[test]
fn empty_endpoint_variables_mean_unset_and_export_destinations_are_checked() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
        .args(["inspect", "testdata/contacts"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DDBSNAP_S3_ENDPOINT_URL", "")
        .env("DDBSNAP_DYNAMODB_ENDPOINT_URL", "")
        .env("DDBSNAP_ENDPOINT_URL", " ")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let cases: [(&[&str], &str); 8] = [
        (&["--to", ""], "--to is empty"),
        (&["--to", "s3:/bucket/x"], "only s3://bucket/prefix URLs"),
        (&["--to", "-"], "not a stream"),
        (&["--to", "s3://b/p", "--poll-seconds", "1e-300"], "without pause"),
        (&["--to", "S3://bucket/x"], "only s3://bucket/prefix URLs"),
        (&["--to", "file:///tmp/x"], "only s3://bucket/prefix URLs"),
        (&["--to", "out", "--as-of", "2026-01-01T00:00:00Z"], "--as-of applies to full exports only"),
        (&["--to", "s3://b/p", "--poll-seconds", "99999999999999999999"], "more than an hour"),
    ];
    for (extra, words) in cases {
        let mut args = vec!["export", "--scan", "--table", "Contact-x-NONE", "--dynamodb-endpoint-url", "http://127.0.0.1:9"];
        if extra.contains(&"--poll-seconds") {
            args.retain(|a| *a != "--scan");
        }
        args.extend(extra);
        let run = ddbsnap(&args);
        assert_eq!(run.code, Some(2), "{}", run.show());
        assert!(run.stderr.contains(words), "{words:?}\n{}", run.show());
    }
}

#[test]
fn no_region_is_one_line_that_says_what_to_set() {
    let (code, stderr) = bare(&[], &[("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no AWS region is set") && stderr.contains("--region"), "{stderr}");
}
