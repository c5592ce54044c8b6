//! A ZIP batch → its root documents, refusing unsafe archives whole.
//!
//! Every header is checked before any entry is read (traversal, absolute
//! names, entry count, declared total, compression ratio); reads are capped at
//! the declared size, so an archive that lies about its sizes fails too.

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

/// An entry that was not processed, and why.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Skipped {
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Unzipped {
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
}

/// Why the whole archive was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnsafeArchive(pub String);

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

pub fn unzip(bytes: &[u8], limits: &Limits) -> Result<Unzipped, UnsafeArchive> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| refuse(format!("the archive cannot be read: {e}")))?;
    if archive.len() > limits.zip_max_entries {
        return Err(refuse(format!(
            "the archive has {} entries, more than the limit of {}",
            archive.len(),
            limits.zip_max_entries
        )));
    }

    // Pass 1: headers only.
    let mut declared_total: u64 = 0;
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|e| refuse(format!("entry {i} cannot be read: {e}")))?;
        let name = f.name().to_string();
        check_name(&name)?;
        if f.enclosed_name().is_none() {
            return Err(refuse(format!("entry {name:?} has an unsafe path")));
        }
        declared_total = declared_total.saturating_add(f.size());
        if declared_total > limits.zip_max_total_bytes {
            return Err(refuse(format!(
                "the archive expands to more than {} bytes (zip bomb)",
                limits.zip_max_total_bytes
            )));
        }
        let ratio = f.size() / f.compressed_size().max(1);
        if ratio > limits.zip_max_ratio {
            return Err(refuse(format!(
                "entry {name:?} has a compression ratio of {ratio}, over the limit of {} (zip bomb)",
                limits.zip_max_ratio
            )));
        }
    }

    // Pass 2: read root files, capped at their declared sizes.
    let mut out = Unzipped::default();
    let mut read_total: u64 = 0;
    for i in 0..archive.len() {
        let raw_name = archive.name_for_index(i).unwrap_or("?").to_string();
        let mut f = match archive.by_index(i) {
            Ok(f) => f,
            Err(zip::result::ZipError::UnsupportedArchive(msg)) => {
                let name = raw_name;
                out.skipped.push(Skipped {
                    file_name: name,
                    reason: format!("cannot be read: {msg}"),
                });
                continue;
            }
            Err(e) => return Err(refuse(format!("entry {i} cannot be read: {e}"))),
        };
        let name = f.name().replace('\\', "/");
        if f.is_dir() {
            continue;
        }
        if name.trim_end_matches('/').contains('/') {
            out.skipped.push(Skipped {
                file_name: name,
                reason: "inside a folder; only files at the archive's root are processed".into(),
            });
            continue;
        }
        if f.encrypted() {
            out.skipped.push(Skipped {
                file_name: name,
                reason: "encrypted entries are not processed".into(),
            });
            continue;
        }
        let declared = f.size();
        let mut data = Vec::with_capacity(declared.min(64 * 1024 * 1024) as usize);
        (&mut f)
            .take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| refuse(format!("entry {name:?} cannot be decompressed: {e}")))?;
        if data.len() as u64 != declared {
            return Err(refuse(format!(
                "entry {name:?} does not match the size in its header (zip bomb or corrupt archive)"
            )));
        }
        read_total += declared;
        if read_total > limits.zip_max_total_bytes {
            return Err(refuse("the archive expands past the size limit (zip bomb)"));
        }
        if data.is_empty() {
            out.skipped.push(Skipped {
                file_name: name,
                reason: "empty file".into(),
            });
            continue;
        }
        if data.len() as u64 > limits.max_upload_bytes {
            out.skipped.push(Skipped {
                file_name: name,
                reason: format!(
                    "larger than the document limit of {} bytes",
                    limits.max_upload_bytes
                ),
            });
            continue;
        }
        match DocKind::detect(&data) {
            Some(DocKind::Zip) => out.skipped.push(Skipped {
                file_name: name,
                reason: "nested archives are not processed".into(),
            }),
            Some(kind) => out.entries.push(Entry {
                name,
                kind,
                bytes: data,
            }),
            None => out.skipped.push(Skipped {
                file_name: name,
                reason: "unsupported type (not a PDF, PNG, JPEG, TIFF or WebP)".into(),
            }),
        }
    }
    Ok(out)
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

    #[test]
    fn root_documents_are_taken_and_the_rest_listed() {
        let z = build(&[
            ("a.pdf", b"%PDF-1.4 a"),
            ("notes.txt", b"hello"),
            ("dir/", b""),
            ("dir/b.pdf", b"%PDF-1.4 b"),
            ("c.png", b"\x89PNG\r\n\x1a\nxxxx"),
        ]);
        let got = unzip(&z, &limits()).unwrap();
        let names: Vec<&str> = got.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.pdf", "c.png"]);
        let skipped: Vec<&str> = got.skipped.iter().map(|s| s.file_name.as_str()).collect();
        assert_eq!(skipped, ["notes.txt", "dir/b.pdf"]);
        assert!(got.skipped[1].reason.contains("folder"));
    }

    #[test]
    fn unsafe_archives_are_refused() {
        for (name, want) in [
            ("../evil.pdf", "traversal"),
            ("/etc/evil.pdf", "absolute"),
            ("C:\\evil.pdf", "absolute"),
        ] {
            let z = build(&[("ok.pdf", b"%PDF-1.4"), (name, b"%PDF-1.4")]);
            let err = unzip(&z, &limits()).unwrap_err();
            assert!(err.0.contains(want), "{name}: {err}");
        }
        let zeros = vec![0u8; 2 * 1024 * 1024];
        let err = unzip(&build(&[("bomb.pdf", &zeros)]), &limits()).unwrap_err();
        assert!(err.0.contains("zip bomb"), "{err}");
        let mut l = limits();
        l.zip_max_entries = 2;
        let err = unzip(
            &build(&[("a.pdf", b"1"), ("b.pdf", b"2"), ("c.pdf", b"3")]),
            &l,
        )
        .unwrap_err();
        assert!(err.0.contains("more than the limit of 2"), "{err}");
        l = limits();
        l.zip_max_total_bytes = 10;
        let err = unzip(&build(&[("a.pdf", b"%PDF-1.4 0123456789")]), &l).unwrap_err();
        assert!(err.0.contains("zip bomb"), "{err}");
        assert!(unzip(b"PK\x03\x04garbage", &limits()).is_err());
    }
}
