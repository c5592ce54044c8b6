//! (document bytes, template) → extracted fields.
//!
//! Readers turn a document into the page model of [`document`]; [`rules`]
//! applies the template to that model and [`values`] parses each value.

pub mod detect;
pub mod document;
pub mod pdf;
pub mod rules;
pub mod values;

pub use detect::DocKind;
pub use document::Document;
pub use rules::Extracted;

/// Why a document could not be read. None of these get better by retrying.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExtractionError {
    #[error("{0}")]
    Unreadable(String),
    #[error("OCR not available: {0}; images and scanned pages cannot be read by this version")]
    OcrUnavailable(String),
    #[error("the PDF has {pages} pages, more than the limit of {limit}")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("document engine not available: {0}")]
    EngineUnavailable(String),
}

/// Reads documents of every supported kind into the page model.
#[derive(Clone)]
pub struct Reader {
    pdf: pdf::PdfEngine,
    max_pages: u32,
}

impl Reader {
    pub fn start(max_pages: u32) -> Self {
        Self {
            pdf: pdf::PdfEngine::global(),
            max_pages,
        }
    }

    pub async fn read(&self, kind: DocKind, bytes: Vec<u8>) -> Result<Document, ExtractionError> {
        match kind {
            DocKind::Pdf => self.pdf.read(bytes, self.max_pages).await,
            DocKind::Zip => Err(ExtractionError::Unreadable(
                "a ZIP inside a ZIP is not processed".into(),
            )),
            image => Err(ExtractionError::OcrUnavailable(format!(
                "the document is a {image} image"
            ))),
        }
    }
}
