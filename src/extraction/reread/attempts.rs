//! The ways of reading a doubtful field again: the region around its label
//! or zone (cut out, enlarged, made black and white or inverted) and the
//! whole page in other segmentation modes, cheapest first.

use image::{imageops, GrayImage, Luma};

use crate::extraction::document::{Page, Word};
use crate::extraction::ocr::Segmentation;
use crate::extraction::preprocess;
use crate::spec::{Direction, Field, Locator};

/// Text is enlarged to about this height before a region is read again.
const REGION_TEXT_HEIGHT: f32 = 40.0;

/// A rectangle in a page's own units (the prepared image's pixels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Region {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl Region {
    pub(super) fn holds(&self, w: &Word) -> bool {
        let (x, y) = w.centre();
        x >= self.left && x <= self.right && y >= self.top && y <= self.bottom
    }
}

/// One way of reading a page again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Attempt {
    /// The region cut out, enlarged, made `look`, and read in `mode`.
    Region {
        region: Region,
        look: Look,
        mode: Segmentation,
    },
    /// The whole page, made `look`, read in `mode`.
    Page { look: Look, mode: Segmentation },
}

/// How a region is made ready for reading again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Look {
    /// As scanned.
    Gray,
    /// Black and white at the region's own threshold: noise and faint
    /// paper tone go, thin strokes stay.
    Binary,
    /// Light print on dark bands and boxes turned dark on white.
    Inverted,
}
/// The median height of the page's words: its text size.
pub(super) fn typical_height(page: &Page) -> f32 {
    let mut heights: Vec<f32> = page.words().map(Word::height).collect();
    heights.sort_by(f32::total_cmp);
    heights
        .get(heights.len() / 2)
        .copied()
        .unwrap_or(20.0)
        .max(4.0)
}

/// The ways to read the region around `field`'s label or zone on `page`,
/// cheapest first; none when the page shows neither.
pub(super) fn region_attempts(page: &Page, field: &Field) -> Vec<Attempt> {
    let h = typical_height(page);
    let clip = |r: Region| Region {
        left: r.left.max(0.0),
        top: r.top.max(0.0),
        right: r.right.min(page.width),
        bottom: r.bottom.min(page.height),
    };
    let region = match &field.locator {
        Locator::Zone(z) => Some(Region {
            left: z.x as f32 * page.width - h,
            top: z.y as f32 * page.height - h,
            right: (z.x + z.width) as f32 * page.width + h,
            bottom: (z.y + z.height) as f32 * page.height + h,
        }),
        Locator::Anchor { matcher, direction } => page.lines.iter().find_map(|line| {
            let m = matcher.find(&line.text)?;
            let (left, right) = line.span_x(m.start(), m.end());
            Some(match direction {
                Direction::Right => Region {
                    left: left - h,
                    top: line.top - 0.8 * h,
                    right: page.width,
                    bottom: line.bottom + 0.8 * h,
                },
                Direction::Below => Region {
                    left: left - 4.0 * h,
                    top: line.top - 0.5 * h,
                    right: right + 12.0 * h,
                    bottom: line.bottom + 6.0 * h,
                },
            })
        }),
        Locator::Regex(_) | Locator::Constant(_) | Locator::Rows(_) => None,
    };
    let mut out = Vec::new();
    if let Some(region) = region
        .map(clip)
        .filter(|r| r.right > r.left && r.bottom > r.top)
    {
        let one_line = matches!(
            field.locator,
            Locator::Anchor {
                direction: Direction::Right,
                ..
            }
        );
        let block = Segmentation::Block;
        out.push(Attempt::Region {
            region,
            look: Look::Binary,
            mode: block,
        });
        if one_line {
            out.push(Attempt::Region {
                region,
                look: Look::Gray,
                mode: Segmentation::Line,
            });
        }
        out.push(Attempt::Region {
            region,
            look: Look::Inverted,
            mode: block,
        });
    }
    out
}

/// The ways to read a whole page again, after its regions, cheapest first.
pub(super) const PAGE_ATTEMPTS: [Attempt; 4] = [
    Attempt::Page {
        look: Look::Binary,
        mode: Segmentation::Auto,
    },
    Attempt::Page {
        look: Look::Gray,
        mode: Segmentation::Block,
    },
    Attempt::Page {
        look: Look::Inverted,
        mode: Segmentation::Auto,
    },
    Attempt::Page {
        look: Look::Gray,
        mode: Segmentation::Sparse,
    },
];

/// White margin around a region cut out: Tesseract reads text touching the edge badly.
pub(super) const PADDING: u32 = 12;

/// The region cut out of the page, enlarged so its text is about
/// [`REGION_TEXT_HEIGHT`] high, framed in white; returns it with the scale.
pub(super) fn cut_out(
    image: &GrayImage,
    r: Region,
    text_height: f32,
    look: Look,
) -> (GrayImage, f32) {
    let (x, y) = (r.left as u32, r.top as u32);
    let (w, h) = (
        (r.right - r.left).max(1.0) as u32,
        (r.bottom - r.top).max(1.0) as u32,
    );
    let mut cut = imageops::crop_imm(image, x, y, w, h).to_image();
    look.apply(&mut cut);
    let scale = (REGION_TEXT_HEIGHT / text_height).clamp(1.0, 3.0);
    if scale > 1.05 {
        cut = imageops::resize(
            &cut,
            (w as f32 * scale) as u32,
            (h as f32 * scale) as u32,
            imageops::FilterType::CatmullRom,
        );
    } else {
        return (frame(&cut), 1.0);
    }
    (frame(&cut), scale)
}

impl Look {
    pub(super) fn apply(self, img: &mut GrayImage) {
        match self {
            Look::Gray => {}
            Look::Binary => {
                let t = preprocess::otsu(img);
                for p in img.pixels_mut() {
                    p[0] = if p[0] < t { 0 } else { 255 };
                }
            }
            Look::Inverted => preprocess::lighten_dark_regions(img),
        }
    }
}

fn frame(img: &GrayImage) -> GrayImage {
    let mut out = GrayImage::from_pixel(
        img.width() + 2 * PADDING,
        img.height() + 2 * PADDING,
        Luma([255]),
    );
    imageops::overlay(&mut out, img, i64::from(PADDING), i64::from(PADDING));
    out
}
