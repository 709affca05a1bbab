//! Writing generated exports to S3 (`--out s3://bucket/prefix`).
//!
//! Each export is written into a local staging folder laid out like the
//! bucket, uploaded as soon as it is complete, and removed: the disk holds
//! one export at a time, however many models and incrementals there are.
//! Within an export the data files go first and `manifest-summary.json`
//! last, as DynamoDB finishes its exports, so a reader listing the bucket
//! meanwhile never finds a summary whose files are missing. Files above
//! 64 MiB go up in 8 MiB parts (multipart upload), one part in memory per
//! file being sent.

use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};

const MULTIPART_ABOVE: u64 = 64 << 20;
const PART: usize = 8 << 20;
const CONCURRENT: usize = 8;

/// Uploads files under a staging root to the same keys in a bucket.
pub struct Uploader {
    pub client: Client,
    pub bucket: String,
    /// The staging folder playing the bucket root.
    pub root: PathBuf,
    pub handle: tokio::runtime::Handle,
}

impl Uploader {
    /// Uploads an export folder (summary last) and removes it; blocks, so
    /// it can be called from the generator's thread.
    pub fn upload_export(&self, dir: &Path) -> Result<()> {
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|e| Error::io_path(dir, e))?;
        let (last, first): (Vec<PathBuf>, Vec<PathBuf>) =
            files.into_iter().partition(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("manifest-summary")));
        self.handle.block_on(async {
            futures::stream::iter(first.iter().map(|p| self.upload(p))).buffer_unordered(CONCURRENT).try_collect::<Vec<()>>().await?;
            for p in &last {
                self.upload(p).await?;
            }
            Ok::<_, Error>(())
        })?;
        std::fs::remove_dir_all(dir).map_err(|e| Error::io_path(dir, e))
    }

    /// Uploads one file to the key of its path under the root.
    pub async fn upload(&self, path: &Path) -> Result<()> {
        let key = path.strip_prefix(&self.root).unwrap_or(path).to_string_lossy().replace('\\', "/");
        let size = tokio::fs::metadata(path).await.map_err(|e| Error::io_path(path, e))?.len();
        if size > MULTIPART_ABOVE {
            return self.multipart(path, &key).await;
        }
        let body = ByteStream::from_path(path).await.map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        self.client.put_object().bucket(&self.bucket).key(&key).body(body).send().await.map_err(|e| self.error("PutObject", &key, &e))?;
        Ok(())
    }

    async fn multipart(&self, path: &Path, key: &str) -> Result<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("CreateMultipartUpload", key, &e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let sent = self.parts(path, key, &upload_id).await;
        let parts = match sent {
            Ok(p) => p,
            Err(e) => {
                let _ = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(&upload_id).send().await;
                return Err(e);
            }
        };
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| self.error("CompleteMultipartUpload", key, &e))?;
        Ok(())
    }

    async fn parts(&self, path: &Path, key: &str, upload_id: &str) -> Result<Vec<CompletedPart>> {
        let mut file = tokio::fs::File::open(path).await.map_err(|e| Error::io_path(path, e))?;
        let mut parts = Vec::new();
        for number in 1.. {
            let mut buf = Vec::with_capacity(PART);
            (&mut file).take(PART as u64).read_to_end(&mut buf).await.map_err(|e| Error::io_path(path, e))?;
            if buf.is_empty() {
                break;
            }
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(buf))
                .send()
                .await
                .map_err(|e| self.error("UploadPart", key, &e))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag().map(str::to_string)).build());
        }
        Ok(parts)
    }

    fn error<E, R>(&self, operation: &'static str, key: &str, e: &aws_sdk_s3::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        Error::S3 { operation, url: format!("s3://{}/{key}", self.bucket), cause: crate::aws::sdk_message(e) }
    }

    /// Checks the bucket exists and answers, before anything is produced for it.
    pub async fn check_bucket(&self) -> Result<()> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(|e| match e.as_service_error() {
            Some(s) if s.is_not_found() => {
                Error::S3 { operation: "HeadBucket", url: format!("s3://{}", self.bucket), cause: "the bucket does not exist".into() }
            }
            _ => self.error("HeadBucket", "", &e),
        })?;
        Ok(())
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() { walk(&path, out)? } else { out.push(path) }
    }
    out.sort();
    Ok(())
}
