//! Lease owner names. A process that owns its data dir (it holds the lock on
//! `worker-id` there) keeps one name across restarts, so after a crash and a
//! restart it recognises the leases its dead predecessor left and frees them
//! at once instead of waiting for them to expire.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Mutex;

const ID_FILE: &str = "worker-id";

/// Held for the life of the process: while it is locked, no other process
/// uses this data dir's name.
static LOCKS: Mutex<Vec<File>> = Mutex::new(Vec::new());

pub struct Identity {
    /// Lease owners of this start: `{prefix}{n}`.
    pub prefix: String,
    /// Lease owners of earlier starts of this data dir (an SQL `LIKE` pattern), when
    /// this process is the only one using the data dir.
    pub earlier: Option<String>,
}

pub fn of_data_dir(data_dir: &Path) -> Identity {
    let boot = uuid::Uuid::new_v4().simple().to_string();
    match lasting_name(data_dir) {
        Ok(Some(name)) => Identity {
            prefix: format!("job-{name}.{boot}-"),
            earlier: Some(format!("job-{name}.%")),
        },
        Ok(None) => Identity {
            prefix: format!("job-{boot}-"),
            earlier: None,
        },
        Err(e) => {
            tracing::warn!(error = %e, "no lasting worker name; leases of a crashed start will wait to expire");
            Identity {
                prefix: format!("job-{boot}-"),
                earlier: None,
            }
        }
    }
}

/// The data dir's name, or `None` when another live process holds it.
fn lasting_name(data_dir: &Path) -> std::io::Result<Option<String>> {
    let path = data_dir.join(ID_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    crate::private_fs::restrict(&path, 0o600)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let mut read = String::new();
    file.read_to_string(&mut read)?;
    let mut name = read.trim().to_string();
    let valid = name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        name = uuid::Uuid::new_v4().simple().to_string();
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(name.as_bytes())?;
        file.sync_all()?;
    }
    LOCKS.lock().expect("worker-id locks").push(file);
    Ok(Some(name))
}
