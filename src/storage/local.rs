//! Blobs as files under a root directory, written atomically (temp file +
//! rename), readable by the service's user only.

use std::path::PathBuf;

use std::path::Path;
use std::time::Duration;

use super::{checked_key, Space, StorageError};
use crate::private_fs::nonblocking as private_fs;

/// In the name of a blob being written; a rename gives it its own name.
const TMP_MARK: &str = "tmp-";

/// Entries that vanish mid-walk (a job purged, a blob renamed into place)
/// are skipped, not taken for a failure of the sweep.
fn remove_tmp_files(dir: &Path, age: Duration) -> std::io::Result<usize> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Err(e) if gone(&e) => return Ok(0),
        other => other?,
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let meta = match entry.metadata() {
            Err(e) if gone(&e) => continue,
            other => other?,
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|e| e >= age);
        if meta.is_dir() {
            removed += remove_tmp_files(&path, age)?;
        } else if old
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.starts_with(TMP_MARK))
        {
            match std::fs::remove_file(&path) {
                Err(e) if gone(&e) => {}
                other => {
                    other?;
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

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
        let tmp = path.with_extension(format!("{TMP_MARK}{}", uuid::Uuid::new_v4().simple()));
        let written = match private_fs::write_new(&tmp, bytes).await {
            Ok(()) => tokio::fs::rename(&tmp, &path).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            // A part-written file on a full disk would keep it full for good.
            if let Err(left) = tokio::fs::remove_file(&tmp).await {
                if left.kind() != std::io::ErrorKind::NotFound {
                    tracing::error!(path = %tmp.display(), error = %left, "a part-written blob could not be removed");
                }
            }
            return Err(Self::io(key)(e));
        }
        Ok(())
    }

    /// Removes what writes cut off by a crash left behind, older than
    /// `age` (so that writes in progress are spared); returns how many.
    pub async fn remove_leftovers(&self, age: Duration) -> std::io::Result<usize> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || remove_tmp_files(&root, age))
            .await
            .map_err(std::io::Error::other)?
    }

    /// The free and total bytes of the disk the blobs are on.
    pub fn space(&self) -> std::io::Result<Space> {
        let st = rustix::fs::statvfs(&self.root)?;
        Ok(Space {
            available: st.f_bavail.saturating_mul(st.f_frsize),
            total: st.f_blocks.saturating_mul(st.f_frsize),
        })
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

    #[tokio::test]
    async fn leftovers_of_cut_off_writes_are_removed_and_blobs_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path()).unwrap();
        s.put("jobs/a/upload", b"kept").await.unwrap();
        std::fs::write(dir.path().join("jobs/a/upload.tmp-0123"), b"cut off").unwrap();
        std::fs::write(dir.path().join("jobs/b.tmp-9"), b"cut off").unwrap();
        assert_eq!(
            s.remove_leftovers(Duration::from_secs(3600)).await.unwrap(),
            0,
            "a write in progress is spared"
        );
        assert_eq!(s.remove_leftovers(Duration::ZERO).await.unwrap(), 2);
        assert_eq!(s.get("jobs/a/upload").await.unwrap(), b"kept");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("jobs/a"))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1);
        assert!(s.space().unwrap().total > 0);
    }
}
