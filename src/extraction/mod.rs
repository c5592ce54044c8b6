//! (document bytes, template) → extracted fields.
//!
//! Readers turn a document into the page model of [`document`]; [`rules`]
//! applies the template to that model and [`values`] parses each value.

mod cleanup;
mod dates;
pub mod detect;
pub mod document;
pub mod fit;
pub mod images;
mod ink;
mod located;
pub mod ocr;
mod ocr_signs;
mod ocr_words;
mod page_image;
pub mod pdf;
mod pdf_regions;
pub mod preprocess;
mod reread;
mod rows;
pub mod rules;
mod search;
pub mod text;
pub mod values;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub use detect::DocKind;
pub use document::Document;
use document::Page;
pub use rules::Extracted;

use crate::spec::{Compiled, Options};

/// Why a document could not be read. None of these get better by retrying.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExtractionError {
    #[error("{0}")]
    Unreadable(String),
    #[error("the PDF has {pages} pages, more than the limit of {limit} (DOCPUSH_MAX_PAGES)")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("document engine not available: {0}")]
    EngineUnavailable(String),
}

impl ExtractionError {
    /// The document's fault, or (an engine that did not load) the installation's.
    pub fn blame(&self) -> crate::types::Blame {
        match self {
            Self::Unreadable(_) | Self::TooManyPages { .. } => crate::types::Blame::Caller,
            Self::EngineUnavailable(_) => crate::types::Blame::Bug,
        }
    }
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

    /// Reads a document and applies the template: fields that OCR did not
    /// read well enough get a second look (see [`reread`]).
    pub async fn extract(
        &self,
        kind: DocKind,
        bytes: Vec<u8>,
        compiled: Arc<Compiled>,
        options: &Options,
        progress: Progress,
    ) -> Result<(Document, Extracted), ExtractionError> {
        let doc = self
            .read(kind, bytes.clone(), &options.language, progress)
            .await?;
        self.apply(kind, bytes, doc, compiled, options).await
    }

    /// Applies the template to a document read already (`bytes` are the
    /// document as uploaded, for second looks at scanned pages).
    pub async fn apply(
        &self,
        kind: DocKind,
        bytes: Vec<u8>,
        doc: Document,
        compiled: Arc<Compiled>,
        options: &Options,
    ) -> Result<(Document, Extracted), ExtractionError> {
        let source = reread::Source { kind, bytes };
        let doc = Arc::new(doc);
        let (d, c, o) = (doc.clone(), compiled.clone(), Arc::new(options.clone()));
        let (mut results, blocks) = blocking(move || {
            let fields = c
                .fields
                .iter()
                .map(|field| rules::evaluate(&d, field, &c, &o))
                .collect::<Vec<_>>();
            Ok((fields, rules::blocks(&d, &c, &o)))
        })
        .await?;
        if doc.pages.iter().any(|p| p.scan.is_some()) {
            self.second_look(&source, &doc, &compiled, options, &mut results)
                .await;
        }
        let extracted = Extracted::assemble(&compiled, results, blocks, options);
        let doc = Arc::try_unwrap(doc).unwrap_or_else(|shared| (*shared).clone());
        Ok((doc, extracted))
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
            image => self.read_image(image, bytes, language, progress).await,
        }
    }

    /// Pages are decoded one at a time, each only once an OCR slot is free for
    /// it, so a long TIFF holds at most one page per OCR thread (plus one).
    async fn read_image(
        &self,
        kind: DocKind,
        bytes: Vec<u8>,
        language: &str,
        progress: Progress,
    ) -> Result<Document, ExtractionError> {
        let (max_pixels, max_pages) = (self.max_pixels, self.max_pages);
        let mut reader =
            blocking(move || images::PageReader::open(kind, bytes, max_pixels, max_pages)).await?;
        let total = reader.pages();
        let mut queue = OcrQueue::new(self, language, progress, total);
        for number in 1..=total {
            let slot = queue.slot().await;
            let (back, page) = blocking(move || {
                let page = reader.page(number);
                Ok((reader, page))
            })
            .await?;
            reader = back;
            let (image, dpi) = page?;
            queue.push(slot, number, image, dpi);
        }
        Ok(Document {
            pages: queue.finish(Vec::new()).await?,
        })
    }

    /// Text pages as they come; scanned pages to the OCR pool, with at most one
    /// page per OCR thread (plus one) waiting, so memory stays bounded.
    async fn read_pdf(
        &self,
        bytes: Vec<u8>,
        language: &str,
        progress: Progress,
    ) -> Result<Document, ExtractionError> {
        let limits = pdf::PageLimits {
            max_pages: self.max_pages,
            max_image_pixels: self.max_pixels,
            // Rendering finer than OCR reads would only cost memory.
            max_render_pixels: self.max_pixels.min(preprocess::MAX_OCR_PIXELS),
        };
        let mut rx = self.pdf.stream(bytes, limits)?;
        let mut queue = OcrQueue::new(self, language, progress, 0);
        let mut pages: Vec<Page> = Vec::new();
        while let Some(item) = rx.recv().await {
            match item? {
                pdf::PdfItem::PageCount(n) => queue.set_total(n),
                pdf::PdfItem::Text(page) => {
                    pages.push(page);
                    queue.page_done();
                }
                pdf::PdfItem::Mixed {
                    number,
                    width,
                    height,
                    mut words,
                    images,
                } => {
                    for region in images {
                        let _slot = queue.slot().await;
                        words.extend(self.read_region(region, language).await?);
                    }
                    pages.push(Page::from_words(number, width, height, words));
                    queue.page_done();
                }
                pdf::PdfItem::Scan { number, image, dpi } => {
                    let slot = queue.slot().await;
                    queue.push(slot, number, image, dpi);
                }
            }
        }
        Ok(Document {
            pages: queue.finish(pages).await?,
        })
    }
}

impl Reader {
    /// The words OCR reads in an image of a text page, placed on the page.
    async fn read_region(
        &self,
        region: pdf_regions::ImageRegion,
        language: &str,
    ) -> Result<Vec<document::Word>, ExtractionError> {
        let pdf_regions::ImageRegion {
            left,
            top,
            image,
            dpi,
        } = region;
        // Rendered from the PDF, the image is as clean as it will get:
        // preparing it for a scan's faults would only cost detail.
        let prepared = blocking(move || {
            let (image, dpi) = preprocess::fit_for_ocr(image, dpi);
            Ok(preprocess::Prepared { image, dpi })
        })
        .await?;
        let read = self
            .ocr
            .recognise(
                prepared.image,
                prepared.dpi,
                language,
                ocr::Segmentation::Auto,
            )
            .await?;
        Ok(pdf_regions::placed_words(
            left,
            top,
            prepared.dpi,
            read.words,
        ))
    }
}

/// Runs blocking decoder work off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ExtractionError> + Send + 'static,
) -> Result<T, ExtractionError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ExtractionError::Unreadable(format!("decoding failed: {e}")))?
}

/// Pages of one document read by OCR at the same time, whatever the number of
/// OCR threads: each costs up to about 150 MB, and one document must stay
/// within about 500 MB. Other documents use the remaining threads.
const MAX_PAGES_READ_AT_ONCE: usize = 2;

/// Scanned pages on their way through the OCR pool, at most one per OCR
/// thread (up to [`MAX_PAGES_READ_AT_ONCE`]) plus one at a time, with page
/// progress reported as they finish.
struct OcrQueue {
    ocr: ocr::OcrPool,
    language: String,
    progress: Progress,
    slots: Arc<tokio::sync::Semaphore>,
    done: Arc<AtomicU32>,
    total: Arc<AtomicU32>,
    scans: tokio::task::JoinSet<Result<Page, ExtractionError>>,
}

impl OcrQueue {
    fn new(reader: &Reader, language: &str, progress: Progress, total: u32) -> Self {
        let queue = Self {
            ocr: reader.ocr.clone(),
            language: language.to_string(),
            slots: Arc::new(tokio::sync::Semaphore::new(
                reader.ocr.threads().min(MAX_PAGES_READ_AT_ONCE) + 1,
            )),
            done: Arc::new(AtomicU32::new(0)),
            total: Arc::new(AtomicU32::new(0)),
            scans: tokio::task::JoinSet::new(),
            progress,
        };
        if total > 0 {
            queue.set_total(total);
        }
        queue
    }

    fn set_total(&self, total: u32) {
        self.total.store(total, Ordering::SeqCst);
        (self.progress)(0, total);
    }

    fn page_done(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        (self.progress)(done, self.total.load(Ordering::SeqCst));
    }

    /// Waits until a page may be prepared for OCR.
    async fn slot(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    fn push(
        &mut self,
        slot: tokio::sync::OwnedSemaphorePermit,
        number: u32,
        image: image::GrayImage,
        dpi: u32,
    ) {
        let (ocr, language, progress) = (
            self.ocr.clone(),
            self.language.clone(),
            self.progress.clone(),
        );
        let (done, total) = (self.done.clone(), self.total.clone());
        self.scans.spawn(async move {
            let page = ocr.read_page(image, dpi, &language, number).await;
            drop(slot);
            progress(
                done.fetch_add(1, Ordering::SeqCst) + 1,
                total.load(Ordering::SeqCst),
            );
            page
        });
    }

    /// Every page: `pages` read already and the scans as they finish, in page order.
    async fn finish(mut self, mut pages: Vec<Page>) -> Result<Vec<Page>, ExtractionError> {
        while let Some(joined) = self.scans.join_next().await {
            let page = joined
                .map_err(|e| ExtractionError::Unreadable(format!("OCR task failed: {e}")))??;
            pages.push(page);
        }
        pages.sort_by_key(|p| p.number);
        Ok(pages)
    }
}
