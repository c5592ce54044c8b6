//! PDF text with positions, through pdfium on one dedicated thread.
//!
//! pdfium is not thread-safe, so one thread owns the library and serves
//! requests from a channel; callers await the reply without blocking the
//! async executor.

use std::path::PathBuf;
use std::sync::mpsc;

use pdfium_render::prelude::*;
use tokio::sync::oneshot;

use super::document::{Document, Page, Word};
use super::ExtractionError;

struct Request {
    bytes: Vec<u8>,
    max_pages: u32,
    reply: oneshot::Sender<Result<Document, ExtractionError>>,
}

/// Handle to the pdfium thread.
#[derive(Clone)]
pub struct PdfEngine {
    tx: mpsc::Sender<Request>,
}

impl PdfEngine {
    /// The process's pdfium thread, started on first use: pdfium is a
    /// process-wide library, so every reader in the process shares one.
    pub fn global() -> Self {
        static ENGINE: std::sync::OnceLock<PdfEngine> = std::sync::OnceLock::new();
        ENGINE.get_or_init(Self::start).clone()
    }

    /// Starts the pdfium thread; a missing library is reported on first use, not here.
    fn start() -> Self {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("pdfium".into())
            .spawn(move || {
                let pdfium = bind().map(Pdfium::new);
                for req in rx {
                    let result = match &pdfium {
                        Ok(p) => read(p, &req.bytes, req.max_pages),
                        Err(e) => Err(ExtractionError::EngineUnavailable(e.clone())),
                    };
                    let _ = req.reply.send(result);
                }
            })
            .expect("spawning the pdfium thread");
        Self { tx }
    }

    /// Reads every page's words.
    pub async fn read(&self, bytes: Vec<u8>, max_pages: u32) -> Result<Document, ExtractionError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                bytes,
                max_pages,
                reply,
            })
            .map_err(|_| ExtractionError::EngineUnavailable("the PDF thread has stopped".into()))?;
        rx.await
            .map_err(|_| ExtractionError::EngineUnavailable("the PDF thread has stopped".into()))?
    }
}

/// Where the pdfium library is looked for, before the system's search path.
pub fn library_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("DOCPUSH_PDFIUM_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
    {
        dirs.push(exe_dir.join("lib"));
        dirs.push(exe_dir.clone());
        if let Some(up) = exe_dir.parent() {
            dirs.push(up.join("lib"));
        }
    }
    dirs.push(PathBuf::from("./lib"));
    dirs.push(PathBuf::from("/usr/local/lib"));
    dirs
}

fn bind() -> Result<Box<dyn PdfiumLibraryBindings>, String> {
    for dir in library_dirs() {
        let path = Pdfium::pdfium_platform_library_name_at_path(&dir);
        if path.exists() {
            if let Ok(b) = Pdfium::bind_to_library(&path) {
                return Ok(b);
            }
        }
    }
    Pdfium::bind_to_system_library().map_err(|e| {
        format!(
            "the pdfium library was not found ({e}); run scripts/setup or set DOCPUSH_PDFIUM_DIR"
        )
    })
}

fn describe(e: PdfiumError) -> ExtractionError {
    match e {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => {
            ExtractionError::Unreadable("the PDF is encrypted with a password".into())
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FormatError) => {
            ExtractionError::Unreadable("the file is not a valid PDF (corrupt or truncated)".into())
        }
        other => ExtractionError::Unreadable(format!("the PDF could not be read: {other}")),
    }
}

fn read(pdfium: &Pdfium, bytes: &[u8], max_pages: u32) -> Result<Document, ExtractionError> {
    let doc = pdfium
        .load_pdf_from_byte_slice(bytes, None)
        .map_err(describe)?;
    let count = doc.pages().len() as u32;
    if count == 0 {
        return Err(ExtractionError::Unreadable("the PDF has no pages".into()));
    }
    if count > max_pages {
        return Err(ExtractionError::TooManyPages {
            pages: count,
            limit: max_pages,
        });
    }
    let mut pages = Vec::with_capacity(count as usize);
    for (i, page) in doc.pages().iter().enumerate() {
        let number = i as u32 + 1;
        let height = page.height().value;
        let width = page.width().value;
        let text = page.text().map_err(describe)?;
        let words = page_words(&text, height);
        if words.is_empty() {
            let has_image = page
                .objects()
                .iter()
                .any(|o| o.object_type() == PdfPageObjectType::Image);
            if has_image {
                return Err(ExtractionError::OcrUnavailable(format!(
                    "page {number} is a scanned image with no text layer"
                )));
            }
        }
        pages.push(Page::from_words(number, width, height, words));
    }
    Ok(Document { pages })
}

/// Groups a page's characters into words: whitespace or a visible gap ends a word.
fn page_words(text: &PdfPageText, page_height: f32) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    for ch in text.chars().iter() {
        let c = ch.unicode_char().unwrap_or(' ');
        let bounds = ch.loose_bounds().or_else(|_| ch.tight_bounds());
        let Ok(b) = bounds else { continue };
        if c.is_whitespace() || c.is_control() {
            words.extend(current.take());
            continue;
        }
        let (left, right) = (b.left().value, b.right().value);
        let (top, bottom) = (page_height - b.top().value, page_height - b.bottom().value);
        if let Some(w) = &mut current {
            let gap = left - w.right;
            let height = (w.bottom - w.top).max(bottom - top);
            let same_line = (top - w.top).abs() < height * 0.5;
            if gap > height * 0.35 || !same_line {
                words.extend(current.take());
            }
        }
        match &mut current {
            Some(w) => {
                w.text.push(c);
                w.left = w.left.min(left);
                w.right = w.right.max(right);
                w.top = w.top.min(top);
                w.bottom = w.bottom.max(bottom);
            }
            None => current = Some(Word::new(c.to_string(), left, top, right, bottom)),
        }
    }
    words.extend(current);
    words
}
