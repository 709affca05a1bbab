//! The real binary reading exports from S3 (moto's server, started by
//! `scripts/servers.sh start`; `eval "$(scripts/servers.sh env)"` sets
//! `DDBSNAP_TEST_S3_ENDPOINT`). Whatever is read from S3 must give exactly
//! what the same files give locally: the same `inspect` report (locations
//! aside) and the same query results. Broken objects are errors naming
//! their `s3://` URL.
//!
//! Without `DDBSNAP_TEST_S3_ENDPOINT` the tests print a notice and pass,
//! unless `DDBSNAP_REQUIRE_SERVERS=1` (as `scripts/test.sh` sets), where
//! they fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::s3::{client, drop_bucket, endpoint, new_bucket, upload};
use common::{Run, ddbsnap};
use md5::{Digest, Md5};
use serde_json::Value;

/// Where `generate --prefix` puts the exports inside the bucket.
const PREFIX: &str = "exports/contacts";

/// Runs the binary against the S3 endpoint with the test credentials.
async fn ddbsnap_s3(endpoint: &str, args: &[&str]) -> Run {
    let mut all: Vec<String> = vec!["--s3-endpoint-url".into(), endpoint.into()];
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        let out = common::output_within(
            Command::new(env!("CARGO_BIN_EXE_ddbsnap"))
                .args(&all)
                .current_dir(common::root())
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env_remove("AWS_SESSION_TOKEN")
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_ENDPOINT_URL")
                .env_remove("DDBSNAP_ENDPOINT_URL")
                .env_remove("DDBSNAP_S3_ENDPOINT_URL")
                .env_remove("DDBSNAP_DYNAMODB_ENDPOINT_URL")
                .env_remove("DDBSNAP_THREADS")
                .env_remove("RUST_LOG"),
        );
        Run {
            args: all,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// A generated export (a full one and two incrementals under PREFIX) in a
/// temporary folder that plays the bucket root.
struct Generated {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    truth: Value,
}

impl Generated {
    fn new() -> Generated {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("bucket");
        let out = root.display().to_string();
        let run = ddbsnap(&[
            "generate",
            "--out",
            &out,
            "--items",
            "300",
            "--files",
            "3",
            "--incrementals",
            "2",
            "--prefix",
            PREFIX,
            "--seed",
            "7",
        ])
        .ok();
        let truth: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.show()));
        assert_eq!(truth["exports"].as_array().map(Vec::len), Some(3), "{}", run.show());
        Generated { _tmp: tmp, root, truth }
    }

    fn export_id(&self, i: usize) -> String {
        self.truth["exports"][i].as_str().unwrap().to_string()
    }

    /// Key of export `i`'s folder.
    fn export_key(&self, i: usize) -> String {
        format!("{PREFIX}/AWSDynamoDB/{}", self.export_id(i))
    }

    fn local(&self, key: &str) -> String {
        if key.is_empty() { self.root.display().to_string() } else { self.root.join(key).display().to_string() }
    }

    /// Manifest entries of export `i`: (key, item count, base64 MD5).
    fn data_files(&self, i: usize) -> Vec<(String, u64, String)> {
        let text = std::fs::read_to_string(self.root.join(self.export_key(i)).join("manifest-files.json")).unwrap();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["dataFileS3Key"].as_str().unwrap().to_string(),
                    v["itemCount"].as_u64().unwrap(),
                    v["md5Checksum"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// Output with both roots replaced by `<root>`, so that a local run and an
/// S3 run of the same files compare equal.
fn rooted(text: &str, root: &str) -> String {
    text.replace(root, "<root>")
}

/// `inspect --format json` locally and through S3: the same report, except
/// for where the files are.
async fn assert_inspect_same(endpoint: &str, local: &str, local_root: &str, url: &str, s3_root: &str) -> Value {
    let l = ddbsnap(&["inspect", "--format", "json", local]).ok();
    let s = ddbsnap_s3(endpoint, &["inspect", "--format", "json", url]).await.ok();
    assert_eq!(
        rooted(&s.stdout, s3_root),
        rooted(&l.stdout, local_root),
        "inspect differs between S3 and local files\n{}\n{}",
        s.show(),
        l.show()
    );
    let v: Value = serde_json::from_str(&s.stdout).unwrap();
    for t in v["tables"].as_array().unwrap() {
        assert!(t["full_export"]["location"].as_str().unwrap().starts_with(&format!("{s3_root}/")), "{}", s.show());
    }
    v
}

/// The same query locally and through S3 gives the same rows.
async fn assert_sql_same(endpoint: &str, local: &str, url: &str, sql: &str) -> String {
    let l = ddbsnap(&["sql", "--format", "json", "-e", local, sql]).ok();
    let s = ddbsnap_s3(endpoint, &["sql", "--format", "json", "-e", url, sql]).await.ok();
    assert_eq!(s.stdout, l.stdout, "{sql}: S3 and local results differ\n{}\n{}", s.show(), l.show());
    assert!(!s.stdout.trim().is_empty(), "{sql}: no rows\n{}", s.show());
    s.stdout
}

const CONTACT_QUERIES: &[&str] = &[
    "SELECT * FROM Contact ORDER BY id",
    "SELECT ddb_type(age) AS t, count(*) AS n FROM Contact GROUP BY 1 ORDER BY 1",
    "SELECT count(*) AS n, sum(score) AS s, count(DISTINCT email) AS emails FROM Contact WHERE isActive",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_with_incrementals_reads_as_locally() {
    let Some(ep) = endpoint() else { return };
    let s3 = client(&ep);
    let g = Generated::new();
    let bucket = new_bucket(&s3, "prefix").await;
    upload(&s3, &bucket, &g.root, |_, b| Some(b)).await;
    let s3_root = format!("s3://{bucket}");
    let url = format!("{s3_root}/{PREFIX}");

    let v = assert_inspect_same(&ep, &g.local(PREFIX), &g.local(""), &url, &s3_root).await;
    let t = &v["tables"][0];
    assert_eq!(t["name"], "Contact");
    assert_eq!(t["items"], g.truth["final_items"]);
    assert_eq!(t["full_export_items"], g.truth["full_items"]);
    assert_eq!(t["records_inserted"], g.truth["inserted"]);
    assert_eq!(t["records_updated"], g.truth["updated"]);
    assert_eq!(t["records_deleted"], g.truth["deleted"]);
    assert_eq!(t["incremental_exports"].as_array().unwrap().len(), 2);
    assert_eq!(t["data_files"], 9);

    for sql in CONTACT_QUERIES {
        assert_sql_same(&ep, &g.local(PREFIX), &url, sql).await;
    }
    let count = assert_sql_same(&ep, &g.local(""), &s3_root, "SELECT count(*) AS n FROM Contact").await;
    assert_eq!(count.trim(), format!("{{\"n\":{}}}", g.truth["final_items"]));
    drop_bucket(&s3, &bucket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_export_folder_and_manifest_url_read_as_locally() {
    let Some(ep) = endpoint() else { return };
    let s3 = client(&ep);
    let g = Generated::new();
    let bucket = new_bucket(&s3, "folder").await;
    upload(&s3, &bucket, &g.root, |_, b| Some(b)).await;
    let s3_root = format!("s3://{bucket}");
    let full = g.export_key(0);

    // The full export's folder alone: no incrementals applied.
    let v = assert_inspect_same(&ep, &g.local(&full), &g.local(""), &format!("{s3_root}/{full}"), &s3_root).await;
    assert_eq!(v["tables"][0]["items"], g.truth["full_items"]);
    assert_eq!(v["tables"][0]["incremental_exports"], serde_json::json!([]));
    for sql in CONTACT_QUERIES {
        assert_sql_same(&ep, &g.local(&full), &format!("{s3_root}/{full}"), sql).await;
    }

    // Its manifest-summary.json, also under a chosen name.
    let summary = format!("{full}/manifest-summary.json");
    let v = assert_inspect_same(&ep, &g.local(&summary), &g.local(""), &format!("{s3_root}/{summary}"), &s3_root).await;
    assert_eq!(v["tables"][0]["items"], g.truth["full_items"]);
    assert_sql_same(&ep, &g.local(&summary), &format!("{s3_root}/{summary}"), "SELECT * FROM Contact ORDER BY id").await;
    let named =
        ddbsnap_s3(&ep, &["sql", "--format", "csv", "-e", &format!("People={s3_root}/{summary}"), "SELECT count(*) AS n FROM People"])
            .await
            .ok();
    assert_eq!(named.stdout.lines().nth(1), Some(g.truth["full_items"].to_string().as_str()), "{}", named.show());

    // An incremental export alone has nothing to apply onto, in S3 as locally.
    let inc = format!("{s3_root}/{}", g.export_key(1));
    let run = ddbsnap_s3(&ep, &["inspect", &inc]).await;
    assert_eq!(run.code, Some(2), "{}", run.show());
    assert!(run.stderr.contains("no full export found"), "{}", run.show());
    drop_bucket(&s3, &bucket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gurre_sample_reads_as_locally() {
    let Some(ep) = endpoint() else { return };
    // A real AWS export (see tests/common/samples.rs: skipped and listed when absent).
    let Some(gurre) = common::samples::path("gurre-ddb-pitr") else { return };
    let gurre = gurre.display().to_string();
    let s3 = client(&ep);
    let bucket = new_bucket(&s3, "gurre").await;
    upload(&s3, &bucket, Path::new(&gurre), |_, b| Some(b)).await;
    let s3_root = format!("s3://{bucket}");

    // The bucket root (s3Prefix null) and its AWSDynamoDB/ prefix.
    for url in [s3_root.clone(), format!("{s3_root}/AWSDynamoDB/")] {
        let v = assert_inspect_same(&ep, &gurre, &gurre, &url, &s3_root).await;
        assert_eq!(v["tables"][0]["items"], 8);
        // The redacted summaries' .md5 files are found (HeadObject) and reported.
        let warnings = v["tables"][0]["warnings"].to_string();
        assert!(
            warnings.contains(&format!("{s3_root}/AWSDynamoDB/01768385930622-efd1a093/manifest-summary.md5: checksum file does not match")),
            "{warnings}"
        );
        assert!(warnings.contains("gap of 69.378 s"), "{warnings}");
        let rows = assert_sql_same(&ep, &gurre, &url, "SELECT * FROM test ORDER BY pk, sk").await;
        assert_eq!(rows.lines().count(), 8);
    }
    // The full export's folder alone.
    let full = "AWSDynamoDB/01768385930622-efd1a093";
    let local_full = format!("{gurre}/{full}");
    let v = assert_inspect_same(&ep, &local_full, &gurre, &format!("{s3_root}/{full}"), &s3_root).await;
    assert_eq!(v["tables"][0]["items"], 3);
    assert_sql_same(&ep, &local_full, &format!("{s3_root}/{full}/manifest-summary.json"), "SELECT * FROM test ORDER BY pk, sk").await;
    drop_bucket(&s3, &bucket).await;
}

/// A data file the manifest lists but S3 does not have: exit 2, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_data_file_is_an_error_naming_its_url() {
    let Some(ep) = endpoint() else { return };
    let s3 = client(&ep);
    let g = Generated::new();
    let (missing, _, _) = g.data_files(0).into_iter().find(|f| f.1 > 0).unwrap();
    let bucket = new_bucket(&s3, "missing").await;
    upload(&s3, &bucket, &g.root, |key, b| (key != missing).then_some(b)).await;
    let url = format!("s3://{bucket}/{missing}");

    let prefix = format!("s3://{bucket}/{PREFIX}");
    for args in [vec!["inspect", &prefix], vec!["sql", "-e", &prefix, "SELECT count(*) FROM Contact"]] {
        let run = ddbsnap_s3(&ep, &args).await;
        assert_eq!(run.code, Some(2), "{}", run.show());
        assert!(run.stdout.is_empty(), "{}", run.show());
        assert!(run.stderr.contains(&url), "the error should name {url}\n{}", run.show());
        assert!(run.stderr.contains("GetObject"), "{}", run.show());
    }
    drop_bucket(&s3, &bucket).await;
}

/// An object whose bytes changed: the checksum error, with both MD5s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_object_gives_the_checksum_error() {
    let Some(ep) = endpoint() else { return };
    let s3 = client(&ep);
    let g = Generated::new();
    let (victim, _, expected_md5) = g.data_files(0).into_iter().find(|f| f.1 > 0).unwrap();
    let mut corrupted = std::fs::read(g.root.join(&victim)).unwrap();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0x55;
    let actual_md5 = B64.encode(Md5::digest(&corrupted));
    let bucket = new_bucket(&s3, "corrupt").await;
    let replacement = corrupted.clone();
    upload(&s3, &bucket, &g.root, |key, b| Some(if key == victim { replacement.clone() } else { b })).await;

    let run = ddbsnap_s3(&ep, &["sql", "-e", &format!("s3://{bucket}/{PREFIX}"), "SELECT count(*) FROM Contact"]).await;
    assert_eq!(run.code, Some(2), "{}", run.show());
    let expected =
        format!("s3://{bucket}/{victim}: checksum mismatch: the manifest says MD5 {expected_md5}, the file's MD5 is {actual_md5}");
    assert!(run.stderr.contains(&expected), "expected {expected:?}\n{}", run.show());
    drop_bucket(&s3, &bucket).await;
}
