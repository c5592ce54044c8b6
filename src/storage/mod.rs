//! Blob storage for uploads and extracted documents, keyed by job so that the
//! retention purge can find every blob of a job.

mod local;
mod s3;

use std::path::{Component, Path};

use bytes::Bytes;

pub use local::LocalStore;
pub use s3::S3Store;

use crate::types::Blame;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// An S3 request failed; `passing` when trying again later can help
    /// (unreachable, timed out, 5xx, throttled), not for refusals.
    #[error("blob store request failed for {key}: {detail}")]
    Remote {
        key: String,
        detail: String,
        passing: bool,
    },
    #[error("storage I/O failed for {key}: {error}")]
    Io { key: String, error: std::io::Error },
}

impl StorageError {
    /// The disk (or the account's quota on it) is full.
    pub fn is_out_of_space(&self) -> bool {
        use std::io::ErrorKind;
        matches!(self, Self::Io { error, .. }
            if matches!(error.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded))
    }

    /// A missing blob is the caller's to handle; a store that cannot be
    /// reached or written (a full or failing disk, an S3 outage) passes; a
    /// key we made badly, or a refusal that will not change, is a bug.
    pub fn blame(&self) -> Blame {
        match self {
            Self::NotFound(_) => Blame::Caller,
            Self::Io { .. } | Self::Remote { passing: true, .. } => Blame::Dependency,
            Self::InvalidKey(_) | Self::Remote { passing: false, .. } => Blame::Bug,
        }
    }
}

/// Free and total bytes of the disk a store writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    pub available: u64,
    pub total: u64,
}

/// A key made of plain path segments: nothing that climbs out of the store's
/// root or prefix, nothing absolute, nothing empty.
fn checked_key(key: &str) -> Result<&Path, StorageError> {
    let rel = Path::new(key);
    let plain = !key.is_empty()
        && !key.ends_with('/')
        && !key.contains("//")
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(rel)
    } else {
        Err(StorageError::InvalidKey(key.to_string()))
    }
}

/// Where blobs live: the local filesystem by default, an S3 bucket for hosts
/// that share nothing else (`DOCPUSH_BLOB_STORE=s3://BUCKET/PREFIX`).
#[derive(Clone, Debug)]
pub enum BlobStore {
    Local(LocalStore),
    S3(S3Store),
}

impl BlobStore {
    /// Opens the store `url` names (`file://DIR`, `s3://BUCKET/PREFIX`), or
    /// `default_dir` when there is none; fails when an S3 bucket does not answer.
    pub async fn open(url: Option<&str>, default_dir: &Path) -> anyhow::Result<Self> {
        match url {
            None => Ok(Self::Local(LocalStore::new(default_dir)?)),
            Some(u) if u.starts_with("file://") => {
                Ok(Self::Local(LocalStore::new(&u["file://".len()..])?))
            }
            Some(u) => {
                let (bucket, prefix) = s3::parse_url(u).ok_or_else(|| {
                    anyhow::anyhow!(
                        "DOCPUSH_BLOB_STORE={u:?} is not file://DIR or s3://BUCKET/PREFIX"
                    )
                })?;
                Ok(Self::S3(S3Store::connect(&bucket, &prefix).await?))
            }
        }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        match self {
            Self::Local(s) => s.put(key, &bytes).await,
            Self::S3(s) => s.put(key, bytes).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        match self {
            Self::Local(s) => s.get(key).await,
            Self::S3(s) => s.get(key).await,
        }
    }

    /// Deletes a blob; deleting a missing blob succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self {
            Self::Local(s) => s.delete(key).await,
            Self::S3(s) => s.delete(key).await,
        }
    }

    /// Deletes every blob whose key starts with `prefix/`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        match self {
            Self::Local(s) => s.delete_prefix(prefix).await,
            Self::S3(s) => s.delete_prefix(prefix).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match self {
            Self::Local(s) => s.exists(key).await,
            Self::S3(s) => s.exists(key).await,
        }
    }

    /// The space left on a local store's disk; `None` for a bucket, which
    /// has no free space to watch.
    pub fn space(&self) -> Option<std::io::Result<Space>> {
        match self {
            Self::Local(s) => Some(s.space()),
            Self::S3(_) => None,
        }
    }

    /// Whether the store answers: a lookup of a key that does not exist.
    pub async fn probe(&self) -> Result<(), StorageError> {
        self.exists("healthz").await.map(|_| ())
    }

    /// Removes partial writes older than `age` that a crash left in a local store.
    pub async fn remove_leftovers(&self, age: std::time::Duration) -> std::io::Result<usize> {
        match self {
            Self::Local(s) => s.remove_leftovers(age).await,
            Self::S3(_) => Ok(0),
        }
    }
}

/// Blob keys: everything of a job lives under `jobs/{job_id}`.
pub mod keys {
    use crate::types::JobId;

    pub fn job_prefix(job_id: &JobId) -> String {
        format!("jobs/{job_id}")
    }
    pub fn upload(job_id: &JobId) -> String {
        format!("jobs/{job_id}/upload")
    }
    pub fn entry(job_id: &JobId, index: usize) -> String {
        format!("jobs/{job_id}/entries/{index}")
    }
}
