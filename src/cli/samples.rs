//! `docpush samples`: the quickstart's files. They are made by the
//! `docpush-samples` crate and kept in `sample-documents/quickstart/`, where
//! that crate's tests check them against what it makes now.

use std::path::{Path, PathBuf};

const FILES: [(&str, &[u8]); 3] = [
    (
        "invoice.pdf",
        include_bytes!("../../sample-documents/quickstart/invoice.pdf"),
    ),
    (
        "batch.zip",
        include_bytes!("../../sample-documents/quickstart/batch.zip"),
    ),
    (
        "template.json",
        include_bytes!("../../sample-documents/quickstart/template.json"),
    ),
];

/// Writes the quickstart's files into `dir`; returns their paths.
pub fn write_quickstart(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    FILES
        .iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes)?;
            Ok(path)
        })
        .collect()
}
