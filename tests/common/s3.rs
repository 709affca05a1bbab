//! Helpers for the tests that read exports from S3 (moto's server, started
//! by `scripts/servers.sh`): `tests/s3.rs` and `tests/rehearse.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;

use super::files_under;

/// The S3 endpoint under test, or None (after a notice) to skip.
pub fn endpoint() -> Option<String> {
    match std::env::var("DDBSNAP_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            let how = "start it with scripts/servers.sh start && eval \"$(scripts/servers.sh env)\"";
            if std::env::var("DDBSNAP_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("DDBSNAP_REQUIRE_SERVERS=1 but DDBSNAP_TEST_S3_ENDPOINT is not set: no S3 server to test against; {how}");
            }
            eprintln!("SKIPPED: DDBSNAP_TEST_S3_ENDPOINT is not set, so the S3 tests do not run; {how}");
            None
        }
    }
}

pub fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "ddbsnap-tests"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// A bucket of its own per test: the server may be shared.
pub async fn new_bucket(s3: &Client, tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let name = format!("ddbsnap-{tag}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    s3.create_bucket().bucket(&name).send().await.unwrap_or_else(|e| panic!("CreateBucket {name}: {e:?}"));
    name
}

/// Best-effort cleanup so a long-running server does not fill up.
pub async fn drop_bucket(s3: &Client, bucket: &str) {
    if let Ok(list) = s3.list_objects_v2().bucket(bucket).send().await {
        for o in list.contents() {
            if let Some(k) = o.key() {
                let _ = s3.delete_object().bucket(bucket).key(k).send().await;
            }
        }
    }
    let _ = s3.delete_bucket().bucket(bucket).send().await;
}

/// Uploads every file under `dir` with its path relative to `dir` as key;
/// `edit` may change a file's bytes or leave it out (None).
pub async fn upload(s3: &Client, bucket: &str, dir: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    for path in files_under(dir) {
        let key = path.strip_prefix(dir).unwrap().to_str().unwrap().replace('\\', "/");
        let Some(bytes) = edit(&key, std::fs::read(&path).unwrap()) else { continue };
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }
}
