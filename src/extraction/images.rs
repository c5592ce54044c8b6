//! Image files → grayscale pages: PNG, JPEG, WebP (one page) and TIFF (every
//! page). Every page's size is checked from the headers before any pixel is
//! decoded; pages are then decoded one at a time, TIFF pages strip by strip
//! (or tile by tile), so a page costs about one byte per pixel, and pages
//! larger than OCR needs are scaled down at once.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader};
use tiff::decoder::{ChunkType, Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

use super::{preprocess, DocKind, ExtractionError};

/// Resolution assumed for images that do not say (most scans are 200 to 300 DPI).
pub const DEFAULT_DPI: u32 = 300;

/// Most memory one decoder may allocate at once. It bounds the colour buffer
/// of a JPEG, PNG or WebP before its conversion to grayscale, and one TIFF
/// strip (a page stored as one strip of 128 MiB is an RGB page of 44 Mpx).
const DECODE_BUFFER_BYTES: u64 = 128 << 20;

fn too_large(number: u32, w: u32, h: u32, max_pixels: u64) -> Option<ExtractionError> {
    let pixels = u64::from(w) * u64::from(h);
    (pixels > max_pixels).then(|| {
        let page = if number > 1 {
            format!("page {number} of the image")
        } else {
            "the image".to_string()
        };
        ExtractionError::Unreadable(format!(
            "{page} is {w}×{h} = {pixels} pixels, over the limit of {max_pixels} (DOCPUSH_MAX_IMAGE_PIXELS)"
        ))
    })
}

fn unreadable(e: impl std::fmt::Display) -> ExtractionError {
    ExtractionError::Unreadable(format!("the image cannot be decoded: {e}"))
}

/// An image file whose pages have been counted and measured, ready to be
/// decoded page by page.
pub struct PageReader {
    source: Source,
    pages: u32,
    max_pixels: u64,
}

enum Source {
    Single { kind: DocKind, bytes: Vec<u8> },
    Tiff(Box<Decoder<Cursor<Vec<u8>>>>),
}

impl PageReader {
    /// Reads the headers: every page's size against `max_pixels` and the page
    /// count against `max_pages`, without decoding any pixel.
    pub fn open(
        kind: DocKind,
        bytes: Vec<u8>,
        max_pixels: u64,
        max_pages: u32,
    ) -> Result<Self, ExtractionError> {
        if kind != DocKind::Tiff {
            let reader = ImageReader::new(Cursor::new(&bytes))
                .with_guessed_format()
                .map_err(unreadable)?;
            let (w, h) = reader.into_dimensions().map_err(unreadable)?;
            if let Some(e) = too_large(1, w, h, max_pixels) {
                return Err(e);
            }
            return Ok(Self {
                source: Source::Single { kind, bytes },
                pages: 1,
                max_pixels,
            });
        }
        let mut limits = tiff::decoder::Limits::default();
        limits.decoding_buffer_size = DECODE_BUFFER_BYTES as usize;
        let mut dec = Decoder::new(Cursor::new(bytes))
            .map_err(unreadable)?
            .with_limits(limits);
        let mut pages = 0u32;
        loop {
            pages += 1;
            if pages > max_pages {
                return Err(ExtractionError::Unreadable(format!(
                    "the TIFF has more pages than the limit of {max_pages} (DOCPUSH_MAX_PAGES)"
                )));
            }
            let (w, h) = dec.dimensions().map_err(unreadable)?;
            if let Some(e) = too_large(pages, w, h, max_pixels) {
                return Err(e);
            }
            if !dec.more_images() {
                break;
            }
            dec.next_image().map_err(unreadable)?;
        }
        Ok(Self {
            source: Source::Tiff(Box::new(dec)),
            pages,
            max_pixels,
        })
    }

    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Decodes page `number` (1-based) to grayscale, scaled down to what OCR
    /// needs; returns it with the resolution to tell OCR.
    pub fn page(&mut self, number: u32) -> Result<(GrayImage, u32), ExtractionError> {
        let image = match &mut self.source {
            Source::Single { kind, bytes } => decode_single(*kind, bytes, self.max_pixels)?,
            Source::Tiff(dec) => {
                dec.seek_to_image(number as usize - 1).map_err(unreadable)?;
                decode_tiff_page(dec)?
            }
        };
        Ok(preprocess::fit_for_ocr(image, DEFAULT_DPI))
    }
}

/// Decodes every page of an image file to grayscale (for tools and tests).
pub fn decode(
    kind: DocKind,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<Vec<GrayImage>, ExtractionError> {
    let mut reader = PageReader::open(kind, bytes.to_vec(), max_pixels, u32::MAX)?;
    (1..=reader.pages())
        .map(|n| reader.page(n).map(|(img, _)| img))
        .collect()
}

fn decode_single(
    kind: DocKind,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<GrayImage, ExtractionError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(unreadable)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(DECODE_BUFFER_BYTES);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(unreadable)?;
    let (w, h) = decoder.dimensions();
    if let Some(e) = too_large(1, w, h, max_pixels) {
        return Err(e);
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => ExtractionError::Unreadable(format!(
            "the {} is {w}×{h} in a colour format that needs more than {} MiB to decode",
            kind.as_str(),
            DECODE_BUFFER_BYTES >> 20
        )),
        other => unreadable(other),
    })?;
    Ok(match img {
        DynamicImage::ImageLuma8(gray) => gray,
        other => super::ink::grayscale(other),
    })
}

/// Samples per pixel and whether they are 16-bit, for the colour types we read.
fn layout(color: ColorType) -> Result<(usize, bool), ExtractionError> {
    Ok(match color {
        ColorType::Gray(8) => (1, false),
        ColorType::Gray(16) => (1, true),
        ColorType::GrayA(8) => (2, false),
        ColorType::GrayA(16) => (2, true),
        ColorType::RGB(8) => (3, false),
        ColorType::RGB(16) => (3, true),
        ColorType::RGBA(8) => (4, false),
        ColorType::RGBA(16) => (4, true),
        other => {
            return Err(unreadable(format!(
                "unsupported TIFF colour type {other:?}"
            )))
        }
    })
}

fn luma(px: &[u8]) -> u8 {
    match px.len() {
        1 | 2 => px[0],
        _ => super::ink::gray(px[0], px[1], px[2]),
    }
}

/// TIFF compression codes whose chunks are JPEG streams.
const OLD_JPEG: u16 = 6;
const JPEG: u16 = 7;

/// The size a JPEG stream declares in its frame header (SOFn), walking the
/// segments before it.
fn jpeg_size(data: &[u8]) -> Option<(u32, u32)> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let be16 = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_be_bytes(
            data.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let mut at = 2;
    while at + 4 <= data.len() {
        if data[at] != 0xFF {
            return None;
        }
        let marker = data[at + 1];
        match marker {
            0xFF => at += 1,
            0x01 | 0xD0..=0xD7 => at += 2,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some((be16(at + 7)?, be16(at + 5)?));
            }
            0xD9 | 0xDA => return None,
            _ => at += 2 + be16(at + 2)? as usize,
        }
    }
    None
}

/// A JPEG-compressed TIFF page's chunks are decoded at the size their own
/// JPEG header gives, not the page's: each must fit the block it stands for.
fn check_jpeg_chunks(
    dec: &mut Decoder<Cursor<Vec<u8>>>,
    chunk_type: ChunkType,
    (cw, ch): (u32, u32),
) -> Result<(), ExtractionError> {
    let compression = dec
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(unreadable)?;
    match compression {
        Some(OLD_JPEG) => Err(unreadable(
            "old-style JPEG TIFF (compression 6) is not supported; send the pages as JPEG or PDF",
        )),
        Some(JPEG) => {
            let (offsets, counts) = match chunk_type {
                ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
                ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
            };
            let offsets = dec.get_tag_u64_vec(offsets).map_err(unreadable)?;
            let counts = dec.get_tag_u64_vec(counts).map_err(unreadable)?;
            let file = dec.inner().get_ref();
            for (&at, &len) in offsets.iter().zip(&counts) {
                let chunk = usize::try_from(at)
                    .ok()
                    .zip(usize::try_from(len).ok())
                    .and_then(|(at, len)| file.get(at..at.checked_add(len)?));
                match chunk.and_then(jpeg_size) {
                    Some((w, h)) if w <= cw && h <= ch => {}
                    Some((w, h)) => {
                        return Err(unreadable(format!(
                            "a TIFF block of {cw}×{ch} holds a JPEG of {w}×{h}"
                        )))
                    }
                    None => return Err(unreadable("a TIFF block is not a JPEG stream")),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The current TIFF page in grayscale, decoded one strip or tile at a time.
fn decode_tiff_page(dec: &mut Decoder<Cursor<Vec<u8>>>) -> Result<GrayImage, ExtractionError> {
    let (w, h) = dec.dimensions().map_err(unreadable)?;
    let (channels, sixteen) = layout(dec.colortype().map_err(unreadable)?)?;
    // PlanarConfiguration 2: one plane per colour.
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(unreadable)?
        == Some(2);
    if planar {
        return Err(unreadable(
            "planar TIFF pages (one plane per colour) are not supported",
        ));
    }
    let (chunk_type, chunks) = match dec.get_chunk_type() {
        ChunkType::Strip => (ChunkType::Strip, dec.strip_count()),
        ChunkType::Tile => (ChunkType::Tile, dec.tile_count()),
    };
    let chunks = chunks.map_err(unreadable)?;
    let (cw, ch) = dec.chunk_dimensions();
    check_jpeg_chunks(dec, chunk_type, (cw, ch))?;
    let across = w.div_ceil(cw.max(1)).max(1);
    let (w, h) = (w as usize, h as usize);
    let mut gray = vec![255u8; w * h];
    let mut px = [0u8; 4];
    for i in 0..chunks {
        let (dw, dh) = dec.chunk_data_dimensions(i);
        let (x0, y0) = (((i % across) * cw) as usize, ((i / across) * ch) as usize);
        let data = dec.read_chunk(i).map_err(|e| match e {
            tiff::TiffError::LimitsExceeded => ExtractionError::Unreadable(format!(
                "a {w}×{h} TIFF page is stored in blocks of more than {} MiB; save it in strips or tiles",
                DECODE_BUFFER_BYTES >> 20
            )),
            other => unreadable(other),
        })?;
        let samples = dw as usize * channels;
        for row in 0..dh as usize {
            let y = y0 + row;
            if y >= h {
                break;
            }
            let out = &mut gray[y * w..(y + 1) * w];
            for col in 0..(dw as usize).min(w.saturating_sub(x0)) {
                let at = row * samples + col * channels;
                for (c, p) in px.iter_mut().enumerate().take(channels) {
                    *p = match &data {
                        DecodingResult::U8(d) if !sixteen => *d.get(at + c).unwrap_or(&255),
                        DecodingResult::U16(d) if sixteen => {
                            (d.get(at + c).unwrap_or(&u16::MAX) >> 8) as u8
                        }
                        _ => return Err(unreadable("unsupported TIFF sample format")),
                    };
                }
                out[x0 + col] = luma(&px[..channels]);
            }
        }
    }
    GrayImage::from_raw(w as u32, h as u32, gray).ok_or_else(|| unreadable("truncated TIFF page"))
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

    fn tiff_pages(pages: &[(u32, u32, u8)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for &(w, h, shade) in pages {
            let data = vec![shade; (w * h) as usize];
            enc.write_image::<tiff::encoder::colortype::Gray8>(w, h, &data)
                .unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn multi_page_tiffs_give_every_page() {
        let pages = decode(DocKind::Tiff, &tiff_pages(&[(4, 3, 0), (4, 3, 200)]), 1000).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].get_pixel(0, 0)[0], 200);
        assert_eq!(pages[0].dimensions(), (4, 3));
    }

    #[test]
    fn tiff_pages_are_decoded_strip_by_strip_in_colour_too() {
        // Tall enough for several strips; a colour gradient down the page.
        let (w, h) = (300u32, 200u32);
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for _ in 0..w {
                rgb.extend([y as u8, y as u8, y as u8]);
            }
        }
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        let mut img = enc
            .new_image::<tiff::encoder::colortype::RGB8>(w, h)
            .unwrap();
        img.rows_per_strip(16).unwrap();
        img.write_data(&rgb).unwrap();
        let pages = decode(DocKind::Tiff, out.get_ref(), u64::MAX).unwrap();
        for y in [0, 15, 16, 100, 199] {
            assert_eq!(pages[0].get_pixel(7, y)[0], y as u8, "row {y}");
        }
    }

    #[test]
    fn a_tiff_page_over_the_limit_or_too_many_pages_is_refused_before_decoding() {
        let file = tiff_pages(&[(10, 10, 0), (10, 10, 0), (100, 100, 0)]);
        let err = PageReader::open(DocKind::Tiff, file.clone(), 5_000, 10)
            .err()
            .unwrap();
        assert!(err.to_string().contains("page 3 of the image"), "{err}");
        let err = PageReader::open(DocKind::Tiff, file, 1 << 20, 2)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("more pages than the limit of 2"),
            "{err}"
        );
    }

    /// A one-strip, JPEG-compressed gray TIFF page of `w`×`h` whose strip is `jpeg`.
    fn jpeg_tiff(w: u32, h: u32, jpeg: &[u8]) -> Vec<u8> {
        let entries: [(u16, u16, u32); 9] = [
            (256, 4, w),                  // ImageWidth
            (257, 4, h),                  // ImageLength
            (258, 3, 8),                  // BitsPerSample
            (259, 3, u32::from(JPEG)),    // Compression
            (262, 3, 1),                  // PhotometricInterpretation
            (273, 4, 8 + 2 + 9 * 12 + 4), // StripOffsets: right after the IFD
            (277, 3, 1),                  // SamplesPerPixel
            (278, 4, h),                  // RowsPerStrip
            (279, 4, jpeg.len() as u32),  // StripByteCounts
        ];
        let mut out = b"II*\0".to_vec();
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, ty, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            match ty {
                3 => out.extend_from_slice(&[(value as u16).to_le_bytes(), [0, 0]].concat()),
                _ => out.extend_from_slice(&value.to_le_bytes()),
            }
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(jpeg);
        out
    }

    #[test]
    fn a_jpeg_tiff_block_is_decoded_only_when_its_jpeg_fits_it() {
        let jpeg_of =
            |w, h| docpush_samples::jpeg(&GrayImage::from_pixel(w, h, image::Luma([90])), 80);
        let honest = jpeg_tiff(64, 48, &jpeg_of(64, 48));
        let pages = decode(DocKind::Tiff, &honest, 1 << 20).unwrap();
        assert_eq!(pages[0].dimensions(), (64, 48));
        // A 16×16 page whose strip holds a 3000×3000 JPEG: refused before decoding it.
        let lying = jpeg_tiff(16, 16, &jpeg_of(3000, 3000));
        let err = decode(DocKind::Tiff, &lying, 1 << 20).unwrap_err();
        assert!(
            err.to_string().contains("holds a JPEG of 3000×3000"),
            "{err}"
        );
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
