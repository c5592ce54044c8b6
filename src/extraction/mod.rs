//! (document bytes, template) → extracted fields.
//!
//! Readers turn a document into the page model of [`document`]; [`rules`]
//! applies the template to that model and [`values`] parses each value.

pub mod cli;
pub mod detect;
pub mod document;
pub mod images;
pub mod ocr;
pub mod pdf;
pub mod preprocess;
pub mod rules;
pub mod values;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub use detect::DocKind;
pub use document::Document;
use document::Page;
pub use rules::Extracted;

/// Why a document could not be read. None of these get better by retrying.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExtractionError {
    #[error("{0}")]
    Unreadable(String),
    #[error("the PDF has {pages} pages, more than the limit of {limit}")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("document engine not available: {0}")]
    EngineUnavailable(String),
}

/// Reports `(pages_done, pages_total)` while a document is read.
pub type Progress = Arc<dyn Fn(u32, u32) + Send + Sync>;

/// A progress report that goes nowhere.
pub fn no_progress() -> Progress {
    Arc::new(|_, _| {})
}

/// Reads documents of every supported kind into the page model: text layers
/// directly, images and scanned pages through OCR.
#[derive(Clone)]
pub struct Reader {
    pdf: pdf::PdfEngine,
    ocr: ocr::OcrPool,
    max_pages: u32,
    max_pixels: u64,
}

impl Reader {
    pub fn start(max_pages: u32, max_pixels: u64, ocr_threads: usize) -> Self {
        Self {
            pdf: pdf::PdfEngine::global(),
            ocr: ocr::OcrPool::start(ocr_threads),
            max_pages,
            max_pixels,
        }
    }

    pub async fn read(
        &self,
        kind: DocKind,
        bytes: Vec<u8>,
        language: &str,
        progress: Progress,
    ) -> Result<Document, ExtractionError> {
        match kind {
            DocKind::Pdf => self.read_pdf(bytes, language, progress).await,
            DocKind::Zip => Err(ExtractionError::Unreadable(
                "a ZIP inside a ZIP is not processed".into(),
            )),
            image => {
                let max_pixels = self.max_pixels;
                let pages =
                    tokio::task::spawn_blocking(move || images::decode(image, &bytes, max_pixels))
                        .await
                        .map_err(|e| {
                            ExtractionError::Unreadable(format!("decoding failed: {e}"))
                        })??;
                let total = pages.len() as u32;
                if total > self.max_pages {
                    return Err(ExtractionError::TooManyPages {
                        pages: total,
                        limit: self.max_pages,
                    });
                }
                progress(0, total);
                let done = Arc::new(AtomicU32::new(0));
                let read = pages.into_iter().enumerate().map(|(i, img)| {
                    let (done, progress) = (done.clone(), progress.clone());
                    async move {
                        let page = self
                            .ocr
                            .read_page(img, images::DEFAULT_DPI, language, i as u32 + 1)
                            .await;
                        progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
                        page
                    }
                });
                let pages = futures_util::future::try_join_all(read).await?;
                Ok(Document { pages })
            }
        }
    }

    /// Text pages as they come; scanned pages to the OCR pool, with at most one
    /// page per OCR thread (plus one) waiting, so memory stays bounded.
    async fn read_pdf(
        &self,
        bytes: Vec<u8>,
        language: &str,
        progress: Progress,
    ) -> Result<Document, ExtractionError> {
        let mut rx = self.pdf.stream(bytes, self.max_pages)?;
        let permits = Arc::new(tokio::sync::Semaphore::new(self.ocr.threads() + 1));
        let done = Arc::new(AtomicU32::new(0));
        let total = Arc::new(AtomicU32::new(0));
        let mut pages: Vec<Page> = Vec::new();
        let mut scans = tokio::task::JoinSet::new();
        while let Some(item) = rx.recv().await {
            match item? {
                pdf::PdfItem::PageCount(n) => {
                    total.store(n, Ordering::SeqCst);
                    progress(0, n);
                }
                pdf::PdfItem::Text(page) => {
                    pages.push(page);
                    progress(
                        done.fetch_add(1, Ordering::SeqCst) + 1,
                        total.load(Ordering::SeqCst),
                    );
                }
                pdf::PdfItem::Scan { number, image, dpi } => {
                    let permit = permits.clone().acquire_owned().await.expect("never closed");
                    let (ocr, language, progress) =
                        (self.ocr.clone(), language.to_string(), progress.clone());
                    let (done, total) = (done.clone(), total.clone());
                    scans.spawn(async move {
                        let page = ocr.read_page(image, dpi, &language, number).await;
                        drop(permit);
                        progress(
                            done.fetch_add(1, Ordering::SeqCst) + 1,
                            total.load(Ordering::SeqCst),
                        );
                        page
                    });
                }
            }
        }
        while let Some(joined) = scans.join_next().await {
            let page = joined
                .map_err(|e| ExtractionError::Unreadable(format!("OCR task failed: {e}")))??;
            pages.push(page);
        }
        pages.sort_by_key(|p| p.number);
        Ok(Document { pages })
    }
}
