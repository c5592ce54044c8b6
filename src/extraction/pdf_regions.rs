//! Images on pages that have a text layer: a vendor block scanned into an
//! otherwise digital invoice (IBAN, BIC, telephone) carries text that the text
//! layer does not. Each such image is rendered on its own for OCR, and its
//! words join the page's.

use image::GrayImage;
use pdfium_render::prelude::*;

use super::document::Word;
use super::fit::fitting_dpi;
use super::pdf::{gray_pixels, MIN_RENDER_DPI, RENDER_DPI};

/// An image of a text page, rendered for OCR, and where it is on the page
/// (points from the top-left corner).
pub struct ImageRegion {
    pub left: f32,
    pub top: f32,
    pub image: GrayImage,
    pub dpi: u32,
}

/// Images read on one text page at most: the largest first.
const MAX_REGIONS: usize = 4;
/// An image lower than this (points) holds no line of text worth reading.
const MIN_HEIGHT: f32 = 14.0;
/// Nor one narrower than this.
const MIN_WIDTH: f32 = 40.0;
/// Text-layer words inside an image that mean its text is there already
/// (a searchable scan's invisible layer, a caption over a photo).
const WORDS_ALREADY_THERE: usize = 3;

/// The images of a text page that may hold text the layer lacks, rendered at
/// their own resolution (within the OCR range and `max_pixels`).
pub fn image_regions(
    page: &PdfPage,
    number: u32,
    words: &[Word],
    max_pixels: u64,
) -> Vec<ImageRegion> {
    let height = page.height().value;
    let mut found: Vec<(f32, f32, f32, f32, f32)> = page
        .objects()
        .iter()
        .filter_map(|o| {
            let image = o.as_image_object()?;
            let b = o.bounds().ok()?;
            let (left, right) = (b.left().value, b.right().value);
            let (top, bottom) = (height - b.top().value, height - b.bottom().value);
            let px = image.width().ok()? as f32;
            Some((left, top, right, bottom, px))
        })
        .filter(|(l, t, r, b, _)| r - l >= MIN_WIDTH && b - t >= MIN_HEIGHT)
        .filter(|(l, t, r, b, _)| {
            let inside = words.iter().filter(|w| {
                let (cx, cy) = w.centre();
                cx >= *l && cx <= *r && cy >= *t && cy <= *b
            });
            inside.count() < WORDS_ALREADY_THERE
        })
        .collect();
    found.sort_by(|a, b| ((b.2 - b.0) * (b.3 - b.1)).total_cmp(&((a.2 - a.0) * (a.3 - a.1))));
    found
        .into_iter()
        .take(MAX_REGIONS)
        .filter_map(|(left, top, right, bottom, px)| {
            let native = px / ((right - left) / 72.0);
            let dpi = (native.round() as u32).clamp(MIN_RENDER_DPI, RENDER_DPI);
            match render_region(page, number, (left, top, right, bottom), dpi, max_pixels) {
                Ok((image, dpi)) => Some(ImageRegion {
                    left,
                    top,
                    image,
                    dpi,
                }),
                Err(e) => {
                    tracing::warn!(page = number, error = %e, "an image of a text page cannot be rendered; it is not read");
                    None
                }
            }
        })
        .collect()
}

/// Renders the rectangle `(left, top, right, bottom)` (points, top-left
/// origin) of a page to grayscale at `dpi`, or coarser to stay within `max_pixels`.
fn render_region(
    page: &PdfPage,
    number: u32,
    (left, top, right, bottom): (f32, f32, f32, f32),
    dpi: u32,
    max_pixels: u64,
) -> Result<(GrayImage, u32), String> {
    let dpi = fitting_dpi(number, right - left, bottom - top, dpi, max_pixels)
        .map_err(|e| e.to_string())?;
    let scale = dpi as f32 / 72.0;
    let (w, h) = (
        ((right - left) * scale).ceil().max(1.0) as i32,
        ((bottom - top) * scale).ceil().max(1.0) as i32,
    );
    let mut bitmap = PdfBitmap::empty(w, h, PdfBitmapFormat::BGRA).map_err(|e| e.to_string())?;
    let config = PdfRenderConfig::new()
        .scale_page_by_factor(scale)
        .set_origin(-((left * scale) as i32), -((top * scale) as i32));
    page.render_into_bitmap_with_config(&mut bitmap, &config)
        .map_err(|e| e.to_string())?;
    let raw = bitmap.as_raw_bytes();
    let stride = raw.len() / h as usize;
    let mut gray = Vec::with_capacity((w * h) as usize);
    for row in raw.chunks_exact(stride).take(h as usize) {
        gray.extend(gray_pixels(&row[..w as usize * 4]));
    }
    let image = GrayImage::from_raw(w as u32, h as u32, gray)
        .ok_or_else(|| format!("an image region of page {number} rendered short"))?;
    Ok((image, dpi))
}

/// OCR words of a region, in its image's pixels at `dpi`, placed on the page
/// (points); what OCR is unsure of, or reads as no letter or digit, is left out.
pub fn placed_words(region_left: f32, region_top: f32, dpi: u32, words: Vec<Word>) -> Vec<Word> {
    const SURE_ENOUGH: f32 = 0.5;
    let k = 72.0 / dpi.max(1) as f32;
    words
        .into_iter()
        .filter(|w| w.confidence >= SURE_ENOUGH && w.text.chars().any(char::is_alphanumeric))
        .map(|w| {
            Word::new(
                w.text,
                region_left + w.left * k,
                region_top + w.top * k,
                region_left + w.right * k,
                region_top + w.bottom * k,
            )
            .with_confidence(w.confidence)
        })
        .collect()
}
