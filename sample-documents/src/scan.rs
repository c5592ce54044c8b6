//! Scans made from rendered pages: a scanner's imperfections and the image
//! formats scanners write.

use image::GrayImage;

use crate::pdf::{pdf_pages_sized, PageSpec, PAGE_HEIGHT, PAGE_WIDTH};

/// A scanner's imperfections: a small rotation and speckle noise (deterministic for a seed).
pub fn degrade(img: &GrayImage, degrees: f32, speckle: f64, seed: u64) -> GrayImage {
    use rand::{Rng, SeedableRng};
    let mut out = if degrees == 0.0 {
        img.clone()
    } else {
        tilt(img, degrees)
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for p in out.pixels_mut() {
        if rng.gen_bool(speckle) {
            p[0] = if p[0] > 128 {
                rng.gen_range(0..90)
            } else {
                rng.gen_range(170..=255)
            };
        }
    }
    out
}

/// A page fed in askew: for the small angles of a scanner, a rotation about the
/// centre is two shears (rows slide sideways, columns up or down) on white paper.
fn tilt(img: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let s = degrees.to_radians().sin();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let sx = x as f32 + (y as f32 - cy) * s;
        let sy = y as f32 - (x as f32 - cx) * s;
        if sx < 0.0 || sy < 0.0 || sx >= w as f32 || sy >= h as f32 {
            image::Luma([255])
        } else {
            *img.get_pixel(sx as u32, sy as u32)
        }
    })
}

fn encode(img: &GrayImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding an in-memory image");
    out.into_inner()
}

pub fn png(img: &GrayImage) -> Vec<u8> {
    encode(img, image::ImageFormat::Png)
}

pub fn webp(img: &GrayImage) -> Vec<u8> {
    encode(img, image::ImageFormat::WebP)
}

pub fn jpeg(img: &GrayImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encoding an in-memory JPEG");
    out
}

/// A multi-page grayscale TIFF.
pub fn tiff(pages: &[GrayImage]) -> Vec<u8> {
    tiff_with(pages, tiff::encoder::Compression::Uncompressed)
}

/// A multi-page grayscale TIFF compressed as scanners write it (Deflate).
fn tiff_deflated(pages: &[GrayImage]) -> Vec<u8> {
    tiff_with(
        pages,
        tiff::encoder::Compression::Deflate(Default::default()),
    )
}

fn tiff_with(pages: &[GrayImage], compression: tiff::encoder::Compression) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out)
        .expect("TIFF encoder")
        .with_compression(compression);
    for p in pages {
        enc.write_image::<tiff::encoder::colortype::Gray8>(p.width(), p.height(), p.as_raw())
            .expect("encoding a TIFF page");
    }
    out.into_inner()
}

/// An image-only PDF on Letter-size pages: each image becomes a JPEG page.
pub fn scanned_pdf(pages: &[GrayImage]) -> Vec<u8> {
    image_pdf(pages, 85, PAGE_WIDTH, PAGE_HEIGHT)
}

/// An image-only PDF of JPEG pages at `quality` on pages of `width`×`height` points.
fn image_pdf(pages: &[GrayImage], quality: u8, width: f32, height: f32) -> Vec<u8> {
    let specs: Vec<PageSpec> = pages
        .iter()
        .map(|p| PageSpec::Jpeg {
            data: jpeg(p, quality),
            width: p.width(),
            height: p.height(),
        })
        .collect();
    pdf_pages_sized(&specs, width, height)
}

/// How one corpus scan is made: what a tired office scanner does to a page.
#[derive(Clone, Debug)]
pub struct ScanStyle {
    /// Resolution the page is rendered at.
    pub dpi: u32,
    /// Degrees the page is fed askew.
    pub tilt: f32,
    /// Out of focus: a 3×3 blur.
    pub blur: bool,
    /// Standard deviation of sensor noise, in grey levels.
    pub noise: f32,
    /// Dust specks on the glass.
    pub dust: usize,
    /// The grey level of the paper (255 is white).
    pub paper: u8,
    /// JPEG quality where the format is lossy.
    pub quality: u8,
    pub seed: u64,
}

/// `img` (a clean rendering at `style.dpi`) as that scanner returns it.
pub fn scan(img: &GrayImage, style: &ScanStyle) -> GrayImage {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(style.seed);
    let mut out = if style.tilt == 0.0 {
        img.clone()
    } else {
        tilt(img, style.tilt)
    };
    if style.blur {
        out = image::imageops::blur(&out, 0.7);
    }
    let (w, h) = out.dimensions();
    // Paper: its tone, a little darker towards one edge, ink on it.
    let paper = f32::from(style.paper);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let shade = paper - 8.0 * (x as f32 / w as f32) * (y as f32 / h as f32);
        let ink = f32::from(p[0]) / 255.0;
        let noise: f32 =
            (0..4).map(|_| rng.gen_range(-1.0f32..1.0)).sum::<f32>() * style.noise / 1.15;
        p[0] = (shade * ink + noise).clamp(0.0, 255.0) as u8;
    }
    // Dust: small dark blobs, about a third of a point to a point across.
    let scale = style.dpi as f32 / 150.0;
    for _ in 0..style.dust {
        let (cx, cy) = (rng.gen_range(0..w) as f32, rng.gen_range(0..h) as f32);
        let r = rng.gen_range(0.5f32..1.6) * scale;
        let level = rng.gen_range(10.0f32..90.0);
        let reach = r.ceil() as i64;
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (x, y) = (cx as i64 + dx, cy as i64 + dy);
                if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
                    continue;
                }
                if ((dx * dx + dy * dy) as f32).sqrt() <= r {
                    let p = out.get_pixel_mut(x as u32, y as u32);
                    p[0] = p[0].min(level as u8);
                }
            }
        }
    }
    out
}

/// The file formats a scan arrives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFormat {
    Png,
    Jpeg,
    Tiff,
    Webp,
    /// An image-only PDF (JPEG pages).
    Pdf,
}

impl ScanFormat {
    pub const ALL: [ScanFormat; 5] = [
        ScanFormat::Png,
        ScanFormat::Jpeg,
        ScanFormat::Tiff,
        ScanFormat::Webp,
        ScanFormat::Pdf,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            ScanFormat::Png => "png",
            ScanFormat::Jpeg => "jpg",
            ScanFormat::Tiff => "tif",
            ScanFormat::Webp => "webp",
            ScanFormat::Pdf => "pdf",
        }
    }

    /// Whether every page fits in one file of this format.
    pub fn holds_pages(self, pages: usize) -> bool {
        pages == 1 || matches!(self, ScanFormat::Tiff | ScanFormat::Pdf)
    }

    /// The pages (scanned at `dpi`) as one file; lossy formats at `quality`.
    pub fn encode(self, pages: &[GrayImage], quality: u8, dpi: u32) -> Vec<u8> {
        match self {
            ScanFormat::Png => png(&pages[0]),
            ScanFormat::Jpeg => jpeg(&pages[0], quality),
            ScanFormat::Webp => webp(&pages[0]),
            ScanFormat::Tiff => tiff_deflated(pages),
            ScanFormat::Pdf => {
                let points = |px: u32| px as f32 * 72.0 / dpi as f32;
                image_pdf(
                    pages,
                    quality,
                    points(pages[0].width()),
                    points(pages[0].height()),
                )
            }
        }
    }
}
