//! Blobs as files under a root directory, written atomically (temp file +
//! rename), readable by the service's user only.

use std::path::PathBuf;

use super::{checked_key, StorageError};
use crate::private_fs::nonblocking as private_fs;

#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        crate::private_fs::create_dir(&root)?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        Ok(self.root.join(checked_key(key)?))
    }

    fn io(key: &str) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
        move |error| StorageError::Io {
            key: key.to_string(),
            error,
        }
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            private_fs::create_dir(dir).await.map_err(Self::io(key))?;
        }
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        private_fs::write_new(&tmp, bytes)
            .await
            .map_err(Self::io(key))?;
        tokio::fs::rename(&tmp, &path).await.map_err(Self::io(key))
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path(key)?;
        tokio::fs::read(&path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound(key.to_string()),
            _ => Self::io(key)(e),
        })
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Self::io(key)(e)),
            _ => Ok(()),
        }
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        let path = self.path(prefix)?;
        match tokio::fs::remove_dir_all(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Self::io(prefix)(e)),
            _ => Ok(()),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let path = self.path(key)?;
        tokio::fs::try_exists(&path).await.map_err(Self::io(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_and_refuse_escaping_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path()).unwrap();
        s.put("jobs/a/upload", b"hi").await.unwrap();
        assert_eq!(s.get("jobs/a/upload").await.unwrap(), b"hi");
        s.delete_prefix("jobs/a").await.unwrap();
        assert!(matches!(
            s.get("jobs/a/upload").await,
            Err(StorageError::NotFound(_))
        ));
        assert!(matches!(
            s.put("../x", b"").await,
            Err(StorageError::InvalidKey(_))
        ));
        assert!(matches!(
            s.put("/etc/x", b"").await,
            Err(StorageError::InvalidKey(_))
        ));
        s.delete("jobs/none").await.unwrap();
    }
}
