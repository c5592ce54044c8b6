//! The resolution a PDF page is rendered at within the pixel limit.

use super::ExtractionError;

/// A page too large for the pixel limit is rendered coarser, down to this
/// resolution; a page that does not fit even then is refused.
pub const MIN_FIT_DPI: u32 = 50;

/// `dpi`, or the highest lower resolution at which a page of `width`×`height`
/// points stays within `max_pixels`; an error when even [`MIN_FIT_DPI`] is too
/// much, or when the page has no usable size. Sizes are computed in floating
/// point, so an absurd page cannot overflow its way under the limit.
pub fn fitting_dpi(
    number: u32,
    width: f32,
    height: f32,
    dpi: u32,
    max_pixels: u64,
) -> Result<u32, ExtractionError> {
    let (w, h) = (f64::from(width), f64::from(height));
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0) {
        return Err(ExtractionError::Unreadable(format!(
            "page {number} has no usable size ({width}×{height} pt)"
        )));
    }
    let pixels = |d: u32| {
        let scale = f64::from(d) / 72.0;
        (w * scale).ceil().max(1.0) * (h * scale).ceil().max(1.0)
    };
    let limit = max_pixels as f64;
    if pixels(dpi) <= limit {
        return Ok(dpi);
    }
    let mut fit = (72.0 * (limit / (w * h)).sqrt())
        .floor()
        .min(f64::from(dpi)) as u32;
    while fit >= MIN_FIT_DPI && pixels(fit) > limit {
        fit -= 1;
    }
    if fit >= MIN_FIT_DPI {
        return Ok(fit);
    }
    Err(ExtractionError::Unreadable(format!(
        "page {number} is {w:.0}×{h:.0} pt ({:.0}×{:.0} in): even at {MIN_FIT_DPI} DPI it would be {:.0} pixels, over the limit of {max_pixels} for a rendered page (DOCPUSH_MAX_IMAGE_PIXELS, and at most what OCR reads)",
        w / 72.0,
        h / 72.0,
        pixels(MIN_FIT_DPI)
    )))
}
