//! Data at rest is the owner's alone: directories 0700, files 0600, set
//! explicitly after creation so that the process umask cannot widen them.
//!
//! The data directory holds extracted invoice data (in the database and its
//! event payloads), uploaded documents and the keys that open stored secrets.

use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Sets `path`'s permission bits to `mode` (no-op off Unix).
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Creates `dir` and any missing parents as private directories, and makes
/// `dir` itself private if it already existed.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder.create(dir)?;
    restrict(dir, DIR_MODE)
}

/// Writes `contents` to a file only its owner can read.
pub fn write(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(FILE_MODE);
    let mut f = opts.open(path)?;
    restrict(path, FILE_MODE)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Makes sure `path` exists as a private file without touching its contents
/// (SQLite then opens it, and gives its WAL and shared-memory files the same mode).
pub fn touch(path: &Path) -> io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    opts.mode(FILE_MODE);
    opts.open(path)?;
    restrict(path, FILE_MODE)
}

/// Tightens a file that an earlier version (or a wide umask) left readable by others.
pub fn restrict_if_present(path: &Path) -> io::Result<()> {
    match restrict(path, FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Async twins for the blob store, which writes from the runtime.
pub mod nonblocking {
    use super::*;

    pub async fn create_dir(dir: &Path) -> io::Result<()> {
        let mut builder = tokio::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(DIR_MODE);
        builder.create(dir).await
    }

    /// Writes a new private file (the caller renames it into place).
    pub async fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut opts = tokio::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(FILE_MODE);
        let mut f = opts.open(path).await?;
        #[cfg(unix)]
        f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
            .await?;
        f.write_all(contents).await?;
        f.flush().await
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_private_even_when_they_existed_wide_open() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        let key = dir.join("key");
        std::fs::write(&key, "old").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).unwrap();
        write(&key, b"new").unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(std::fs::read(&key).unwrap(), b"new");

        let db = dir.join("db");
        touch(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        restrict_if_present(&dir.join("missing")).unwrap();
    }
}
