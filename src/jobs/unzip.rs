//! A ZIP batch → its root documents, refusing unsafe archives whole.
//!
//! Every header is checked before any entry is read (entry count, traversal,
//! absolute names, declared total, compression ratio); the entry counts the
//! archive declares are checked before the zip crate builds its index, so an
//! archive of half a million records is refused without being indexed.
//! Entries are then read one at a time, each capped at its declared size, and
//! handed on before the next is read, so memory holds one entry at most.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use serde::Serialize;

use crate::config::Limits;
use crate::extraction::DocKind;

/// One document taken from the archive's root.
#[derive(Debug)]
pub struct Entry {
    pub name: String,
    pub kind: DocKind,
    pub bytes: Vec<u8>,
}

/// A ZIP entry that was not processed, and why.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = SkippedEntry)]
pub struct Skipped {
    pub file_name: String,
    pub reason: String,
}

/// Why the whole archive was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnsafeArchive(pub String);

/// Why unpacking stopped: the archive, or where its entries were going.
#[derive(Debug, thiserror::Error)]
pub enum UnzipError<E> {
    #[error(transparent)]
    Unsafe(#[from] UnsafeArchive),
    #[error("storing an entry failed: {0}")]
    Store(#[source] E),
}

fn refuse(msg: impl Into<String>) -> UnsafeArchive {
    UnsafeArchive(msg.into())
}

/// Name checks that do not depend on the rest of the archive.
fn check_name(name: &str) -> Result<(), UnsafeArchive> {
    let unified = name.replace('\\', "/");
    let absolute = unified.starts_with('/')
        || unified.as_bytes().get(1) == Some(&b':') && unified.as_bytes()[0].is_ascii_alphabetic();
    if absolute {
        return Err(refuse(format!("entry {name:?} has an absolute path")));
    }
    if unified.split('/').any(|c| c == "..") {
        return Err(refuse(format!("entry {name:?} has a path traversal (..)")));
    }
    if name.contains('\0') {
        return Err(refuse(format!("entry {name:?} has a NUL byte in its name")));
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Every position where `magic` starts in `b`.
fn positions<'a>(b: &'a [u8], magic: &'a [u8; 4]) -> impl Iterator<Item = usize> + 'a {
    b.windows(4)
        .enumerate()
        .filter(move |(_, w)| w == magic)
        .map(|(i, _)| i)
}

/// The most entries any end-of-central-directory record in the archive
/// declares (ZIP and ZIP64, either count). The zip crate sizes its index from
/// whichever record it settles on, so every candidate is held to the limit.
fn declared_entries(b: &[u8]) -> u64 {
    let zip32 = positions(b, b"PK\x05\x06").flat_map(|at| [u16_at(b, at + 8), u16_at(b, at + 10)]);
    let zip64 = positions(b, b"PK\x06\x06").flat_map(|at| [u64_at(b, at + 24), u64_at(b, at + 32)]);
    zip32.chain(zip64).flatten().max().unwrap_or(0)
}

/// The raw names of the central directory records that start at `start`, as
/// the zip crate read them: it keeps one entry per name, which hides duplicates.
fn central_names(b: &[u8], start: usize, max: usize) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let mut at = start;
    while names.len() <= max && b.get(at..).is_some_and(|r| r.starts_with(b"PK\x01\x02")) {
        let (Some(n), Some(extra), Some(comment)) =
            (u16_at(b, at + 28), u16_at(b, at + 30), u16_at(b, at + 32))
        else {
            break;
        };
        let (n, extra, comment) = (n as usize, extra as usize, comment as usize);
        let Some(name) = b.get(at + 46..at + 46 + n) else {
            break;
        };
        names.push(name);
        at += 46 + n + extra + comment;
    }
    names
}

/// Entries whose name an earlier or later entry shares: all but the last of
/// each name, which is the one the zip crate (like `unzip`) keeps.
fn shadowed(names: &[&[u8]], distinct: usize) -> Vec<Skipped> {
    let reason = "another entry has the same name; only the last one is processed";
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for name in names {
        *seen.entry(name).or_default() += 1;
    }
    let mut out: Vec<Skipped> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .flat_map(|(name, n)| {
            let name = String::from_utf8_lossy(name).into_owned();
            (1..*n).map(move |_| Skipped {
                file_name: name.clone(),
                reason: reason.into(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    // Names equal only once decoded (one in CP437, one in UTF-8) are merged too.
    let merged = names.len().saturating_sub(distinct);
    while out.len() < merged {
        out.push(Skipped {
            file_name: "(a name written in another encoding)".into(),
            reason: reason.into(),
        });
    }
    out
}

/// Checks the whole archive, then hands each root document to `store` in turn
/// (with its position among the stored ones); returns what was skipped.
pub fn unzip<E>(
    bytes: &[u8],
    limits: &Limits,
    mut store: impl FnMut(usize, Entry) -> Result<(), E>,
) -> Result<Vec<Skipped>, UnzipError<E>> {
    let declared = declared_entries(bytes);
    if declared > limits.zip_max_entries as u64 {
        return Err(refuse(format!(
            "the archive declares {declared} entries, more than the limit of {}",
            limits.zip_max_entries
        ))
        .into());
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| refuse(format!("the archive cannot be read: {e}")))?;
    let names = central_names(
        bytes,
        archive.central_directory_start() as usize,
        limits.zip_max_entries,
    );
    if names.len().max(archive.len()) > limits.zip_max_entries {
        return Err(refuse(format!(
            "the archive has {} entries, more than the limit of {}",
            names.len().max(archive.len()),
            limits.zip_max_entries
        ))
        .into());
    }
    let mut skipped = shadowed(&names, archive.len());

    // Pass 1: headers only.
    let mut declared_total: u64 = 0;
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|e| refuse(format!("entry {i} cannot be read: {e}")))?;
        let name = f.name().to_string();
        check_name(&name)?;
        if f.enclosed_name().is_none() {
            return Err(refuse(format!("entry {name:?} has an unsafe path")).into());
        }
        declared_total = declared_total.saturating_add(f.size());
        if declared_total > limits.zip_max_total_bytes {
            return Err(refuse(format!(
                "the archive expands to more than {} bytes (zip bomb)",
                limits.zip_max_total_bytes
            ))
            .into());
        }
        let ratio = f.size() / f.compressed_size().max(1);
        if ratio > limits.zip_max_ratio {
            return Err(refuse(format!(
                "entry {name:?} has a compression ratio of {ratio}, over the limit of {} (zip bomb)",
                limits.zip_max_ratio
            ))
            .into());
        }
    }

    // Pass 2: read root files one at a time, capped at their declared sizes.
    let mut stored = 0;
    let mut read_total: u64 = 0;
    for i in 0..archive.len() {
        let raw_name = archive.name_for_index(i).unwrap_or("?").to_string();
        let mut f = match archive.by_index(i) {
            Ok(f) => f,
            Err(zip::result::ZipError::UnsupportedArchive(msg)) => {
                skipped.push(Skipped {
                    file_name: raw_name,
                    reason: format!("cannot be read: {msg}"),
                });
                continue;
            }
            Err(e) => return Err(refuse(format!("entry {i} cannot be read: {e}")).into()),
        };
        let name = f.name().replace('\\', "/");
        let skip = |reason: &str| Skipped {
            file_name: name.clone(),
            reason: reason.to_string(),
        };
        if f.is_dir() {
            continue;
        }
        if name.trim_end_matches('/').contains('/') {
            skipped.push(skip(
                "inside a folder; only files at the archive's root are processed",
            ));
            continue;
        }
        if f.encrypted() {
            skipped.push(skip("encrypted entries are not processed"));
            continue;
        }
        let declared = f.size();
        if declared > limits.max_upload_bytes {
            skipped.push(skip(&format!(
                "larger than the document limit of {} bytes",
                limits.max_upload_bytes
            )));
            continue;
        }
        if declared == 0 {
            skipped.push(skip("empty file"));
            continue;
        }
        let mut data = Vec::with_capacity(declared as usize);
        (&mut f)
            .take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| refuse(format!("entry {name:?} cannot be decompressed: {e}")))?;
        if data.len() as u64 != declared {
            return Err(refuse(format!(
                "entry {name:?} does not match the size in its header (zip bomb or corrupt archive)"
            ))
            .into());
        }
        read_total += declared;
        if read_total > limits.zip_max_total_bytes {
            return Err(refuse("the archive expands past the size limit (zip bomb)").into());
        }
        match DocKind::detect(&data) {
            Some(DocKind::Zip) => skipped.push(skip("nested archives are not processed")),
            Some(kind) => {
                let entry = Entry {
                    name: name.clone(),
                    kind,
                    bytes: data,
                };
                store(stored, entry).map_err(UnzipError::Store)?;
                stored += 1;
            }
            None => skipped.push(skip(
                "unsupported type (not a PDF, PNG, JPEG, TIFF or WebP)",
            )),
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn limits() -> Limits {
        crate::config::Settings::default().limits
    }

    fn build(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                w.start_file(*name, SimpleFileOptions::default()).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    /// Unpacks into memory, for tests: the stored entries and what was skipped.
    fn unpack(bytes: &[u8], limits: &Limits) -> Result<(Vec<Entry>, Vec<Skipped>), UnsafeArchive> {
        let mut entries = Vec::new();
        match unzip(bytes, limits, |i, e| {
            assert_eq!(i, entries.len());
            entries.push(e);
            Ok::<_, std::convert::Infallible>(())
        }) {
            Ok(skipped) => Ok((entries, skipped)),
            Err(UnzipError::Unsafe(e)) => Err(e),
            Err(UnzipError::Store(e)) => match e {},
        }
    }

    #[test]
    fn root_documents_are_taken_and_the_rest_listed() {
        let z = build(&[
            ("a.pdf", b"%PDF-1.4 a"),
            ("notes.txt", b"hello"),
            ("dir/", b""),
            ("dir/b.pdf", b"%PDF-1.4 b"),
            ("c.png", b"\x89PNG\r\n\x1a\nxxxx"),
        ]);
        let (entries, skipped) = unpack(&z, &limits()).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.pdf", "c.png"]);
        let skipped_names: Vec<&str> = skipped.iter().map(|s| s.file_name.as_str()).collect();
        assert_eq!(skipped_names, ["notes.txt", "dir/b.pdf"]);
        assert!(skipped[1].reason.contains("folder"));
    }

    #[test]
    fn entries_sharing_a_name_are_listed_as_skipped_and_the_last_is_processed() {
        let z = docpush_samples::zip_with_one_name(
            "inv.pdf",
            &[b"%PDF-1.4 first", b"%PDF-1.4 second", b"%PDF-1.4 third"],
        );
        let (entries, skipped) = unpack(&z, &limits()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].bytes, b"%PDF-1.4 third");
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped
            .iter()
            .all(|s| s.file_name == "inv.pdf" && s.reason.contains("same name")));
    }

    #[test]
    fn the_record_count_is_checked_before_any_index_is_built() {
        let names: Vec<Vec<u8>> = vec![b"%PDF-1.4".to_vec(); 30];
        let contents: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let z = docpush_samples::zip_with_one_name("x.pdf", &contents);
        let mut l = limits();
        l.zip_max_entries = 10;
        let err = unpack(&z, &l).unwrap_err();
        assert!(
            err.0.contains("30 entries, more than the limit of 10"),
            "{err}"
        );
    }

    #[test]
    fn every_count_an_end_record_declares_is_held_to_the_limit() {
        let mut l = limits();
        l.zip_max_entries = 10;
        let z = build(&[("a.pdf", b"%PDF-1.4")]);
        let eocd = z.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        // Entries on this disk, then the total: a lie in either one is refused.
        for field in [eocd + 8, eocd + 10] {
            let mut lying = z.clone();
            lying[field..field + 2].copy_from_slice(&60_000u16.to_le_bytes());
            let err = unpack(&lying, &l).unwrap_err();
            assert!(err.0.contains("declares 60000 entries"), "{err}");
        }
        // A ZIP64 end record anywhere in the file counts too.
        let mut zip64 = z.clone();
        zip64.extend_from_slice(b"PK\x06\x06");
        zip64.extend_from_slice(&[0u8; 20]);
        zip64.extend_from_slice(&1_000_000u64.to_le_bytes());
        zip64.extend_from_slice(&1_000_000u64.to_le_bytes());
        let err = unpack(&zip64, &l).unwrap_err();
        assert!(err.0.contains("declares 1000000 entries"), "{err}");
        assert_eq!(unpack(&z, &l).unwrap().0.len(), 1);
    }

    #[test]
    fn an_oversized_entry_is_skipped_without_being_read() {
        let mut l = limits();
        l.max_upload_bytes = 100;
        let big = [b'%', b'P', b'D', b'F']
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b' ', 500))
            .collect::<Vec<u8>>();
        let (entries, skipped) =
            unpack(&build(&[("big.pdf", &big), ("ok.pdf", b"%PDF-1.4")]), &l).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(
            skipped[0].reason.contains("larger than the document limit"),
            "{skipped:?}"
        );
    }

    #[test]
    fn unsafe_archives_are_refused() {
        for (name, want) in [
            ("../evil.pdf", "traversal"),
            ("/etc/evil.pdf", "absolute"),
            ("C:\\evil.pdf", "absolute"),
        ] {
            let z = build(&[("ok.pdf", b"%PDF-1.4"), (name, b"%PDF-1.4")]);
            let err = unpack(&z, &limits()).unwrap_err();
            assert!(err.0.contains(want), "{name}: {err}");
        }
        let zeros = vec![0u8; 2 * 1024 * 1024];
        let err = unpack(&build(&[("bomb.pdf", &zeros)]), &limits()).unwrap_err();
        assert!(err.0.contains("zip bomb"), "{err}");
        let mut l = limits();
        l.zip_max_entries = 2;
        let err = unpack(
            &build(&[("a.pdf", b"1"), ("b.pdf", b"2"), ("c.pdf", b"3")]),
            &l,
        )
        .unwrap_err();
        assert!(err.0.contains("more than the limit of 2"), "{err}");
        l = limits();
        l.zip_max_total_bytes = 10;
        let err = unpack(&build(&[("a.pdf", b"%PDF-1.4 0123456789")]), &l).unwrap_err();
        assert!(err.0.contains("zip bomb"), "{err}");
        assert!(unpack(b"PK\x03\x04garbage", &limits()).is_err());
    }
}
