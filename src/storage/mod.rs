//! Blob storage for uploads and extracted documents, keyed by job so that the
//! retention purge can find every blob of a job.

mod local;

pub use local::LocalStore;

/// Storage failures; all of them are worth retrying later.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("storage I/O failed for {key}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where blobs live; the embedded default is the local filesystem.
#[derive(Clone, Debug)]
pub enum BlobStore {
    Local(LocalStore),
}

impl BlobStore {
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        match self {
            Self::Local(s) => s.put(key, bytes).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        match self {
            Self::Local(s) => s.get(key).await,
        }
    }

    /// Deletes a blob; deleting a missing blob succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self {
            Self::Local(s) => s.delete(key).await,
        }
    }

    /// Deletes every blob whose key starts with `prefix/`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        match self {
            Self::Local(s) => s.delete_prefix(prefix).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match self {
            Self::Local(s) => s.exists(key).await,
        }
    }
}

/// Blob keys: everything of a job lives under `jobs/{job_id}`.
pub mod keys {
    pub fn job_prefix(job_id: &str) -> String {
        format!("jobs/{job_id}")
    }
    pub fn upload(job_id: &str) -> String {
        format!("jobs/{job_id}/upload")
    }
    pub fn entry(job_id: &str, index: usize) -> String {
        format!("jobs/{job_id}/entries/{index}")
    }
}
