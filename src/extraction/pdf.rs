//! PDF text with positions, through pdfium on one dedicated thread.
//!
//! pdfium is not thread-safe, so one thread owns the library and serves
//! requests from a channel; callers await the reply without blocking the
//! async executor.

use std::path::PathBuf;
use std::sync::mpsc;

use image::GrayImage;
use pdfium_render::prelude::*;

use super::document::{Page, Word};
use super::fit::fitting_dpi;
use super::ExtractionError;

/// What the pdfium thread sends back for one document, in page order.
pub enum PdfItem {
    /// Sent first: how many pages follow.
    PageCount(u32),
    /// A page with a text layer, read directly.
    Text(Page),
    /// A page with a text layer and images that may hold text it lacks: its
    /// words, and the images rendered for OCR.
    Mixed {
        number: u32,
        width: f32,
        height: f32,
        words: Vec<Word>,
        images: Vec<super::pdf_regions::ImageRegion>,
    },
    /// A page without text but with images: rendered for OCR.
    Scan {
        number: u32,
        image: GrayImage,
        dpi: u32,
    },
}

enum Request {
    Read {
        bytes: Vec<u8>,
        limits: PageLimits,
        tx: tokio::sync::mpsc::Sender<Result<PdfItem, ExtractionError>>,
    },
    Render {
        bytes: Vec<u8>,
        dpi: u32,
        max_pixels: u64,
        only: Option<u32>,
        reply: tokio::sync::oneshot::Sender<Result<Vec<GrayImage>, ExtractionError>>,
    },
}

/// How much of a PDF is read: pages, pixels per image a scanned page holds
/// (pdfium decodes them whole to render the page), and pixels per rendered page.
#[derive(Clone, Copy, Debug)]
pub struct PageLimits {
    pub max_pages: u32,
    pub max_image_pixels: u64,
    pub max_render_pixels: u64,
}

/// Highest resolution scanned pages are rendered at for OCR.
pub const RENDER_DPI: u32 = 300;
/// Lowest: below this Tesseract misreads small print, so coarser scans are enlarged.
pub const MIN_RENDER_DPI: u32 = 150;

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
                    let engine = pdfium
                        .as_ref()
                        .map_err(|e| ExtractionError::EngineUnavailable(e.clone()));
                    // A panic on one document must not take the thread, and every
                    // later PDF of every account, with it.
                    let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        serve(engine, req)
                    }));
                    if handled.is_err() {
                        tracing::error!(
                            "reading a PDF panicked; the document fails, the PDF thread goes on"
                        );
                    }
                }
            })
            .expect("spawning the pdfium thread");
        Self { tx }
    }

    /// Streams the document's pages. The channel holds one item, so the pdfium
    /// thread renders the next scanned page only when the previous one is taken.
    pub fn stream(
        &self,
        bytes: Vec<u8>,
        limits: PageLimits,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<PdfItem, ExtractionError>>, ExtractionError>
    {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        self.tx
            .send(Request::Read { bytes, limits, tx })
            .map_err(|_| ExtractionError::EngineUnavailable("the PDF thread has stopped".into()))?;
        Ok(rx)
    }

    /// Every page rendered to grayscale at `dpi` (lower for a page over
    /// `max_pixels`), as a scanner would see it.
    pub async fn render(
        &self,
        bytes: Vec<u8>,
        dpi: u32,
        max_pixels: u64,
    ) -> Result<Vec<GrayImage>, ExtractionError> {
        self.render_pages(bytes, dpi, max_pixels, None).await
    }

    /// Like [`Self::render`], only page `only` (1-based) when given.
    pub async fn render_pages(
        &self,
        bytes: Vec<u8>,
        dpi: u32,
        max_pixels: u64,
        only: Option<u32>,
    ) -> Result<Vec<GrayImage>, ExtractionError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let stopped = || ExtractionError::EngineUnavailable("the PDF thread has stopped".into());
        self.tx
            .send(Request::Render {
                bytes,
                dpi,
                max_pixels,
                only,
                reply,
            })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// Answers one request on the pdfium thread.
fn serve(engine: Result<&Pdfium, ExtractionError>, req: Request) {
    match req {
        Request::Read { bytes, limits, tx } => {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.and_then(|p| read(p, &bytes, limits, &tx))
            }))
            .unwrap_or_else(|_| {
                Err(ExtractionError::Unreadable(
                    "the PDF could not be read (the reader failed on it)".into(),
                ))
            });
            if let Err(e) = outcome {
                let _ = tx.blocking_send(Err(e));
            }
        }
        Request::Render {
            bytes,
            dpi,
            max_pixels,
            only,
            reply,
        } => {
            let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.and_then(|p| render_all(p, &bytes, dpi, max_pixels, only))
            }));
            let _ = reply.send(rendered.unwrap_or_else(|_| {
                Err(ExtractionError::Unreadable(
                    "the PDF could not be rendered".into(),
                ))
            }));
        }
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
    // Where `scripts/setup` installs it when /usr/local/lib is not writable.
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".local/lib"));
    }
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

/// Bytes of colour bitmap rendered at a time; a page is rendered in strips
/// of this size and kept only in grayscale, so a page costs little more than
/// one byte per pixel. (Rendering into pdfium's own 8-bit gray bitmap format
/// would avoid the strips, but the pinned libpdfium aborts the process on it.)
const STRIP_BYTES: usize = 8 << 20;

/// Renders a page to 8-bit grayscale, strip by strip, at `dpi` or lower when
/// the page would be over `max_pixels`. Returns the image and the resolution used.
fn render_page(
    page: &PdfPage,
    number: u32,
    dpi: u32,
    max_pixels: u64,
) -> Result<(GrayImage, u32), ExtractionError> {
    let (width, height) = (page.width().value, page.height().value);
    let dpi = fitting_dpi(number, width, height, dpi, max_pixels)?;
    let failed = |e: PdfiumError| {
        ExtractionError::Unreadable(format!("page {number} cannot be rendered: {e}"))
    };
    let scale = dpi as f32 / 72.0;
    // Within the pixel limit (checked above), so these fit any integer type used below.
    let (w, h) = (
        (f64::from(width) * f64::from(scale)).ceil().max(1.0) as usize,
        (f64::from(height) * f64::from(scale)).ceil().max(1.0) as usize,
    );
    let strip_rows = (STRIP_BYTES / (w * 4)).clamp(1, h);
    let mut strip =
        PdfBitmap::empty(w as i32, strip_rows as i32, PdfBitmapFormat::BGRA).map_err(failed)?;
    let mut gray = Vec::with_capacity(w * h);
    for top in (0..h).step_by(strip_rows) {
        let config = PdfRenderConfig::new()
            .scale_page_by_factor(scale)
            .set_origin(0, -(top as i32));
        page.render_into_bitmap_with_config(&mut strip, &config)
            .map_err(failed)?;
        let raw = strip.as_raw_bytes();
        let stride = raw.len() / strip_rows;
        for row in raw.chunks_exact(stride).take(strip_rows.min(h - top)) {
            gray.extend(gray_pixels(&row[..w * 4]));
        }
    }
    let image = GrayImage::from_raw(w as u32, h as u32, gray)
        .ok_or_else(|| ExtractionError::Unreadable(format!("page {number} rendered short")))?;
    Ok((image, dpi))
}

/// BGRA pixels in grayscale, coloured print kept dark.
pub(super) fn gray_pixels(bgra: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bgra.chunks_exact(4)
        .map(|px| super::ink::gray(px[2], px[1], px[0]))
}

fn render_all(
    pdfium: &Pdfium,
    bytes: &[u8],
    dpi: u32,
    max_pixels: u64,
    only: Option<u32>,
) -> Result<Vec<GrayImage>, ExtractionError> {
    let doc = pdfium
        .load_pdf_from_byte_slice(bytes, None)
        .map_err(describe)?;
    let pages = doc.pages();
    pages
        .iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|n| n == *i as u32 + 1))
        .map(|(i, page)| render_page(&page, i as u32 + 1, dpi, max_pixels).map(|(img, _)| img))
        .collect()
}

fn read(
    pdfium: &Pdfium,
    bytes: &[u8],
    limits: PageLimits,
    tx: &tokio::sync::mpsc::Sender<Result<PdfItem, ExtractionError>>,
) -> Result<(), ExtractionError> {
    let doc = pdfium
        .load_pdf_from_byte_slice(bytes, None)
        .map_err(describe)?;
    let count = doc.pages().len() as u32;
    if count == 0 {
        return Err(ExtractionError::Unreadable("the PDF has no pages".into()));
    }
    if count > limits.max_pages {
        return Err(ExtractionError::TooManyPages {
            pages: count,
            limit: limits.max_pages,
        });
    }
    // A closed channel means the reader gave up; stop quietly.
    if tx.blocking_send(Ok(PdfItem::PageCount(count))).is_err() {
        return Ok(());
    }
    for (i, page) in doc.pages().iter().enumerate() {
        let number = i as u32 + 1;
        let height = page.height().value;
        let width = page.width().value;
        let text = page.text().map_err(describe)?;
        let words = page_words(&text, height);
        // A page with no text but an image is a scan; it is rendered at the
        // resolution of its largest image, so that nothing is invented or lost.
        let scan_width_px = if words.is_empty() {
            page.objects()
                .iter()
                .filter_map(|o| o.as_image_object().and_then(|i| i.width().ok()))
                .map(|w| w as f32)
                .reduce(f32::max)
        } else {
            None
        };
        let item = if let Some(px) = scan_width_px {
            check_images(&page, number, limits.max_image_pixels)?;
            let native = px / (width / 72.0);
            let wanted = (native.round() as u32).clamp(MIN_RENDER_DPI, RENDER_DPI);
            let (image, dpi) = render_page(&page, number, wanted, limits.max_render_pixels)?;
            if dpi < wanted {
                tracing::info!(
                    page = number,
                    dpi,
                    wanted,
                    "page rendered coarser to stay within DOCPUSH_MAX_IMAGE_PIXELS"
                );
            }
            PdfItem::Scan { number, image, dpi }
        } else {
            let images =
                super::pdf_regions::image_regions(&page, number, &words, limits.max_render_pixels);
            if images.is_empty() {
                PdfItem::Text(Page::from_words(number, width, height, words))
            } else {
                PdfItem::Mixed {
                    number,
                    width,
                    height,
                    words,
                    images,
                }
            }
        };
        if tx.blocking_send(Ok(item)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Refuses a scanned page holding an image larger than `max_pixels`: pdfium
/// decodes each image whole to render the page, whatever the page's own size.
fn check_images(page: &PdfPage, number: u32, max_pixels: u64) -> Result<(), ExtractionError> {
    for object in page.objects().iter() {
        let Some(image) = object.as_image_object() else {
            continue;
        };
        let (w, h) = (image.width().unwrap_or(0), image.height().unwrap_or(0));
        let pixels = u64::from(w.unsigned_abs()) * u64::from(h.unsigned_abs());
        if pixels > max_pixels {
            return Err(ExtractionError::Unreadable(format!(
                "page {number} holds an image of {w}×{h} = {pixels} pixels, over the limit of {max_pixels} (DOCPUSH_MAX_IMAGE_PIXELS)"
            )));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_over_the_pixel_limit_are_rendered_coarser_or_refused() {
        assert_eq!(fitting_dpi(1, 612.0, 792.0, 300, 50_000_000).unwrap(), 300);
        // 2000 pt at 144 DPI is 4000×4000 px: exactly 16 Mpx.
        assert_eq!(
            fitting_dpi(1, 2000.0, 2000.0, 150, 16_000_000).unwrap(),
            144
        );
        let err = fitting_dpi(3, 10_000.0, 10_000.0, 150, 16_000_000).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("page 3 is 10000×10000 pt") && msg.contains("even at 50 DPI"),
            "{msg}"
        );
    }
}
