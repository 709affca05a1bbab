//! Where export files come from: a local folder or an S3 bucket.
//!
//! Both are addressed by S3 key relative to the bucket root, because that is
//! how manifests name files. A local folder is either a downloaded bucket (keys
//! map below its root) or a single export folder that was moved on its own
//! (keys are mapped below the export folder, and keys outside it are an error
//! that says to point ddbsnap at the bucket root). Data files are streamed,
//! never read whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client as S3Client;

use crate::error::{Error, Result};

/// A place export files are read from.
#[derive(Clone, Debug)]
pub enum Source {
    Local(LocalSource),
    S3(S3Source),
}

#[derive(Clone, Debug)]
pub struct LocalSource {
    /// Folder that plays the bucket root.
    pub root: PathBuf,
    /// When set, only keys starting with this prefix are readable and the
    /// prefix is stripped (an export folder copied on its own).
    pub strip: Option<String>,
}

#[derive(Clone, Debug)]
pub struct S3Source {
    pub client: S3Client,
    pub bucket: String,
}

/// A readable file: local files are opened in the reading thread; S3 objects
/// arrive as a body stream.
pub enum Opened {
    Path(PathBuf),
    Stream(Box<dyn tokio::io::AsyncRead + Send + Unpin>),
}

impl Source {
    /// How a key is shown to people: a path or an `s3://` URL.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Source::Local(l) => l.path(key).map(|p| p.display().to_string()).unwrap_or_else(|_| key.to_string()),
            Source::S3(s) => format!("s3://{}/{}", s.bucket, key),
        }
    }

    /// Reads a small object (a manifest) whole.
    pub async fn read_small(&self, key: &str) -> Result<Vec<u8>> {
        match self {
            Source::Local(l) => {
                let path = l.path(key)?;
                tokio::fs::read(&path).await.map_err(|e| Error::io_path(&path, e))
            }
            Source::S3(s) => {
                let out = s.get(key).await?;
                let body = out.body.collect().await.map_err(|e| Error::S3 {
                    operation: "GetObject",
                    url: self.describe(key),
                    cause: e.to_string(),
                })?;
                Ok(body.into_bytes().to_vec())
            }
        }
    }

    /// Reads a small object if it exists.
    pub async fn read_optional(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Source::Local(l) => match l.path(key) {
                Ok(p) if p.exists() => self.read_small(key).await.map(Some),
                _ => Ok(None),
            },
            Source::S3(s) => match s.client.head_object().bucket(&s.bucket).key(key).send().await {
                Ok(_) => self.read_small(key).await.map(Some),
                Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => Ok(None),
                Err(e) => Err(Error::S3 { operation: "HeadObject", url: self.describe(key), cause: crate::aws::sdk_message(&e) }),
            },
        }
    }

    /// Opens a data file for streaming.
    pub async fn open(&self, key: &str) -> Result<Opened> {
        match self {
            Source::Local(l) => {
                let path = l.path(key)?;
                if !path.is_file() {
                    return Err(Error::io_path(
                        &path,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "data file listed in the manifest is missing"),
                    ));
                }
                Ok(Opened::Path(path))
            }
            Source::S3(s) => {
                let out = s.get(key).await?;
                Ok(Opened::Stream(Box::new(out.body.into_async_read())))
            }
        }
    }
}

impl Opened {
    /// A blocking reader, for use inside `spawn_blocking`.
    pub fn into_blocking(self, file: &str) -> Result<Box<dyn Read + Send>> {
        match self {
            Opened::Path(p) => {
                let f = std::fs::File::open(&p).map_err(|e| Error::io(file, e))?;
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
            }
            Opened::Stream(r) => Ok(Box::new(tokio_util::io::SyncIoBridge::new(r))),
        }
    }
}

impl LocalSource {
    /// The local path of a key.
    pub fn path(&self, key: &str) -> Result<PathBuf> {
        let rel = match &self.strip {
            None => key,
            Some(prefix) => key.strip_prefix(prefix.as_str()).ok_or_else(|| {
                Error::Locate(format!(
                    "{key} is outside the export folder {}; point ddbsnap at the folder that holds the whole bucket (the one containing AWSDynamoDB/)",
                    self.root.display()
                ))
            })?,
        };
        Ok(self.root.join(rel))
    }

    /// The source for an export whose `manifest-summary.json` sits in `dir`
    /// and whose manifest-files key is `files_key`.
    pub fn for_export(dir: &Path, files_key: &str) -> LocalSource {
        let key_dir: Vec<&str> = files_key.split('/').collect();
        let key_dir = &key_dir[..key_dir.len().saturating_sub(1)];
        let mut root = dir.to_path_buf();
        let mut matched = true;
        for part in key_dir.iter().rev() {
            if root.file_name().and_then(|n| n.to_str()) == Some(part) {
                root.pop();
            } else {
                matched = false;
                break;
            }
        }
        if matched {
            LocalSource { root, strip: None }
        } else {
            LocalSource { root: dir.to_path_buf(), strip: Some(format!("{}/", key_dir.join("/"))) }
        }
    }
}

impl S3Source {
    async fn get(&self, key: &str) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput> {
        self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| Error::S3 {
            operation: "GetObject",
            url: format!("s3://{}/{}", self.bucket, key),
            cause: crate::aws::sdk_message(&e),
        })
    }

    /// Every key under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::S3 {
                operation: "ListObjectsV2",
                url: format!("s3://{}/{}", self.bucket, prefix),
                cause: crate::aws::sdk_message(&e),
            })?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_root_from_export_folder() {
        let s = LocalSource::for_export(Path::new("/d/bucket/pre/AWSDynamoDB/0123-ab"), "pre/AWSDynamoDB/0123-ab/manifest-files.json");
        assert_eq!(s.root, PathBuf::from("/d/bucket"));
        assert!(s.strip.is_none());
        let moved = LocalSource::for_export(Path::new("/tmp/copy"), "pre/AWSDynamoDB/0123-ab/manifest-files.json");
        assert_eq!(moved.path("pre/AWSDynamoDB/0123-ab/data/x.gz").unwrap(), PathBuf::from("/tmp/copy/data/x.gz"));
        assert!(moved.path("pre/AWSDynamoDB/data/y.gz").is_err());
    }
}
