//! Image files → grayscale pages: PNG, JPEG, WebP (one page) and TIFF (every
//! page). Sizes are checked from the headers before any pixel is decoded.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader};

use super::{DocKind, ExtractionError};

/// Resolution assumed for images that do not say (most scans are 200 to 300 DPI).
pub const DEFAULT_DPI: u32 = 300;

fn too_large(w: u32, h: u32, max_pixels: u64) -> Option<ExtractionError> {
    let pixels = u64::from(w) * u64::from(h);
    (pixels > max_pixels).then(|| {
        ExtractionError::Unreadable(format!(
            "the image is {w}×{h} = {pixels} pixels, over the limit of {max_pixels}"
        ))
    })
}

fn unreadable(e: impl std::fmt::Display) -> ExtractionError {
    ExtractionError::Unreadable(format!("the image cannot be decoded: {e}"))
}

/// Decodes every page of an image file to grayscale.
pub fn decode(
    kind: DocKind,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<Vec<GrayImage>, ExtractionError> {
    match kind {
        DocKind::Tiff => decode_tiff(bytes, max_pixels),
        _ => {
            let reader = ImageReader::new(Cursor::new(bytes))
                .with_guessed_format()
                .map_err(unreadable)?;
            let decoder = reader.into_decoder().map_err(unreadable)?;
            let (w, h) = decoder.dimensions();
            if let Some(e) = too_large(w, h, max_pixels) {
                return Err(e);
            }
            let img = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
            Ok(vec![img.to_luma8()])
        }
    }
}

fn decode_tiff(bytes: &[u8], max_pixels: u64) -> Result<Vec<GrayImage>, ExtractionError> {
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::ColorType;
    let mut dec = Decoder::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut pages = Vec::new();
    loop {
        let (w, h) = dec.dimensions().map_err(unreadable)?;
        if let Some(e) = too_large(w, h, max_pixels) {
            return Err(e);
        }
        let color = dec.colortype().map_err(unreadable)?;
        let data = match dec.read_image().map_err(unreadable)? {
            DecodingResult::U8(d) => d,
            DecodingResult::U16(d) => d.into_iter().map(|v| (v >> 8) as u8).collect(),
            _ => return Err(unreadable("unsupported TIFF sample format")),
        };
        let channels = match color {
            ColorType::Gray(_) => 1,
            ColorType::GrayA(_) => 2,
            ColorType::RGB(_) => 3,
            ColorType::RGBA(_) => 4,
            other => {
                return Err(unreadable(format!(
                    "unsupported TIFF colour type {other:?}"
                )))
            }
        };
        let gray: Vec<u8> = data
            .chunks_exact(channels)
            .map(|px| match channels {
                1 | 2 => px[0],
                _ => {
                    ((u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114)
                        / 1000) as u8
                }
            })
            .collect();
        let page =
            GrayImage::from_raw(w, h, gray).ok_or_else(|| unreadable("truncated TIFF page"))?;
        pages.push(page);
        if !dec.more_images() {
            break;
        }
        dec.next_image().map_err(unreadable)?;
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        GrayImage::new(w, h)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn oversized_images_are_refused_before_decoding() {
        let err = decode(DocKind::Png, &png(100, 100), 5_000).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        assert_eq!(
            decode(DocKind::Png, &png(100, 100), 50_000).unwrap().len(),
            1
        );
    }

    #[test]
    fn multi_page_tiffs_give_every_page() {
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for shade in [0u8, 200] {
            enc.write_image::<tiff::encoder::colortype::Gray8>(4, 3, &[shade; 12])
                .unwrap();
        }
        let pages = decode(DocKind::Tiff, out.get_ref(), 1000).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].get_pixel(0, 0)[0], 200);
    }

    #[test]
    fn corrupt_and_truncated_images_fail_cleanly() {
        let mut cut = png(50, 50);
        cut.truncate(cut.len() / 2);
        assert!(decode(DocKind::Png, &cut, 1 << 20).is_err());
        assert!(decode(DocKind::Jpeg, &[0xFF, 0xD8, 0xFF, 0x00], 1 << 20).is_err());
        assert!(decode(DocKind::Tiff, b"II*\0garbage", 1 << 20).is_err());
    }
}
