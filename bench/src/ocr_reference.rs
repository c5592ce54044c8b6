//! The `tesseract` command on the same scans as docpush, as the reference
//! that scan rates are compared with: one file at a time on each core, the
//! images of image-only PDFs taken out with `pdfimages` first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The images the command reads for one scan: the file itself, or a PDF's
/// images (`pdfimages -png`).
fn inputs(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<Vec<PathBuf>> {
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    if !name.ends_with(".pdf") {
        return Ok(vec![path]);
    }
    let prefix = dir.join(format!("{name}-img"));
    let status = std::process::Command::new("pdfimages")
        .arg("-png")
        .arg(&path)
        .arg(&prefix)
        .status()
        .context("pdfimages (run scripts/setup)")?;
    if !status.success() {
        bail!("pdfimages failed on {name}: {status}");
    }
    let stem = prefix
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let mut images: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.starts_with(&stem) && s.ends_with(".png"))
        })
        .collect();
    images.sort();
    Ok(images)
}

/// Runs `tesseract` (`OMP_THREAD_LIMIT=1`) over `scans` (file name, bytes),
/// one process at a time on each core; the time taken.
pub fn run(dir: &Path, scans: &[(&str, &[u8])]) -> anyhow::Result<(Duration, usize)> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for (name, bytes) in scans {
        files.extend(inputs(dir, name, bytes)?);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(file) = files.get(i) else { break };
                let out = std::process::Command::new("tesseract")
                    .arg(file)
                    .arg(file.with_extension("ocr"))
                    .env("OMP_THREAD_LIMIT", "1")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
                if !matches!(out, Ok(s) if s.success()) {
                    *failed.lock().expect("not poisoned") =
                        Some(format!("tesseract failed on {}: {out:?}", file.display()));
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().expect("not poisoned") {
        bail!(e);
    }
    Ok((started.elapsed(), cores))
}
