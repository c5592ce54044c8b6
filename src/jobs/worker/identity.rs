//! Lease owner names. A process that owns its data dir (it holds the lock on
//! `worker-id` there) keeps one name across restarts, so after a crash and a
//! restart it recognises the leases its dead predecessor left and frees them
//! at once instead of waiting for them to expire. The name is kept with the
//! host it was made on: a data dir copied to another host (a cloned image or
//! volume) gets a name of its own there, or the two hosts would free each
//! other's live leases.

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
    let host = this_host();
    let (name, rewrite) = kept_name(&read, &host);
    if rewrite {
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(format!("{name}\n{host}\n").as_bytes())?;
        file.sync_all()?;
    }
    LOCKS.lock().expect("worker-id locks").push(file);
    Ok(Some(name))
}

/// The name stored in `read` if it was made on `host`, else a new one; and
/// whether the file needs writing. A name stored without its host (an older
/// file) is replaced too: copies of it may live on other hosts, and a new
/// name costs only the wait for a crashed start's leases to expire.
fn kept_name(read: &str, host: &str) -> (String, bool) {
    let mut lines = read.lines().map(str::trim);
    let name = lines.next().unwrap_or_default();
    let valid = name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit());
    if valid && lines.next() == Some(host) {
        (name.to_string(), false)
    } else {
        (uuid::Uuid::new_v4().simple().to_string(), true)
    }
}

/// What tells this host from another: its name and, where there is one, its
/// machine id (containers from one image may share the id, not the name).
fn this_host() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let name = read("/proc/sys/kernel/hostname");
    let id = read("/etc/machine-id");
    format!("{name}/{id}")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_name_is_kept_on_its_own_host_only() {
        let stored = format!("{NAME}\nhost-a/m1\n");
        assert_eq!(kept_name(&stored, "host-a/m1"), (NAME.to_string(), false));
        let (other, rewrite) = kept_name(&stored, "host-b/m1");
        assert!(rewrite);
        assert_ne!(other, NAME);
        assert_eq!(other.len(), 32);
    }

    #[test]
    fn a_name_without_its_host_or_garbage_is_replaced() {
        let (fresh, rewrite) = kept_name(NAME, "host-a/m1");
        assert!(rewrite && fresh != NAME && fresh.len() == 32);
        let (fresh, rewrite) = kept_name("not a name\nhost-a/m1", "host-a/m1");
        assert!(rewrite && fresh != "not a name" && fresh.len() == 32);
        assert!(kept_name("", "h").1);
    }

    #[test]
    fn a_copied_data_dir_gets_a_name_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let first = lasting_name(dir.path()).unwrap().unwrap();
        // Another live process on this data dir: no lasting name for it.
        assert_eq!(lasting_name(dir.path()).unwrap(), None);
        let copy = tempfile::tempdir().unwrap();
        let stored = std::fs::read_to_string(dir.path().join(ID_FILE)).unwrap();
        assert!(stored.starts_with(&first));
        let moved = stored.replace(&this_host(), "elsewhere/0");
        std::fs::write(copy.path().join(ID_FILE), moved).unwrap();
        let there = lasting_name(copy.path()).unwrap().unwrap();
        assert_ne!(there, first);
    }
}
