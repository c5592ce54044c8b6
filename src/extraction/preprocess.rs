//! Image clean-up before OCR, where it pays: small text is enlarged, small
//! rotations are straightened, and pages lying on their side are detected.
//! All of it works on grayscale images and is pure.

use image::{imageops, GrayImage, Luma};

use super::document::Turn;

/// Text lines shorter than this many pixels are enlarged before OCR.
const MIN_LINE_HEIGHT: f32 = 30.0;
/// Straightening is searched within ± this many degrees.
const MAX_SKEW: f32 = 5.0;

/// Dark pixels of a downsampled copy, as (x, y) in the copy's coordinates.
fn dark_points(img: &GrayImage, max_side: u32) -> (Vec<(f32, f32)>, u32, u32) {
    let (w, h) = img.dimensions();
    let step = (w.max(h) / max_side).max(1);
    let threshold = otsu(img);
    let mut pts = Vec::new();
    for y in (0..h).step_by(step as usize) {
        for x in (0..w).step_by(step as usize) {
            if img.get_pixel(x, y)[0] < threshold {
                pts.push(((x / step) as f32, (y / step) as f32));
            }
        }
    }
    (pts, w / step + 1, h / step + 1)
}

/// Otsu's threshold of the image's histogram.
pub fn otsu(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.pixels() {
        hist[p[0] as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, n)| i as f64 * *n as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut best_t) = (0u64, 0f64, 0f64, 128u8);
    for (t, n) in hist.iter().enumerate() {
        w_b += n;
        if w_b == 0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0 {
            break;
        }
        sum_b += t as f64 * *n as f64;
        let (m_b, m_f) = (sum_b / w_b as f64, (sum_all - sum_b) / w_f as f64);
        let between = w_b as f64 * w_f as f64 * (m_b - m_f).powi(2);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t.saturating_add(1)
}

/// How sharply dark pixels bunch into rows when the page is turned by `degrees`:
/// text lines give a spiky row profile when level.
fn sharpness(pts: &[(f32, f32)], rows: usize, degrees: f32) -> f64 {
    let (s, c) = degrees.to_radians().sin_cos();
    let mut profile = vec![0u32; rows * 2 + 1];
    // Half a row added then truncated: rounding without a libm call, which
    // this loop (every dark point at every searched angle) would make millions of.
    let offset = rows as f32 / 2.0 + 0.5;
    for &(x, y) in pts {
        let r = y * c - x * s + offset;
        if r >= 0.0 {
            if let Some(n) = profile.get_mut(r as usize) {
                *n += 1;
            }
        }
    }
    profile
        .windows(2)
        .map(|w| (w[1] as f64 - w[0] as f64).powi(2))
        .sum()
}

/// The page's skew in degrees (positive: text rises to the right).
pub fn skew_angle(img: &GrayImage) -> f32 {
    let (pts, _, h) = dark_points(img, 1000);
    if pts.len() < 50 {
        return 0.0;
    }
    let rows = h as usize * 2;
    let search = |from: f32, to: f32, step: f32, best: f32| {
        let mut best = (best, f64::MIN);
        let mut a = from;
        while a <= to + 1e-6 {
            let s = sharpness(&pts, rows, a);
            if s > best.1 {
                best = (a, s);
            }
            a += step;
        }
        best.0
    };
    let coarse = search(-MAX_SKEW, MAX_SKEW, 0.25, 0.0);
    // The profile is levelled by turning the page by the found angle; the skew is its opposite.
    -search(coarse - 0.25, coarse + 0.25, 0.05, coarse)
}

/// Removes isolated specks: a dark pixel with no dark neighbour turns white,
/// a light pixel surrounded by dark ones turns dark.
pub fn despeckle(img: &GrayImage) -> GrayImage {
    let t = otsu(img);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut out = img.clone();
    let dst: &mut [u8] = &mut out;
    for y in 1..h.saturating_sub(1) {
        let (up, row, down) = ((y - 1) * w, y * w, (y + 1) * w);
        for x in 1..w.saturating_sub(1) {
            let dark = src[row + x] < t;
            let neighbours = [
                src[up + x - 1],
                src[up + x],
                src[up + x + 1],
                src[row + x - 1],
                src[row + x + 1],
                src[down + x - 1],
                src[down + x],
                src[down + x + 1],
            ];
            let dark_neighbours = neighbours.iter().filter(|&&p| p < t).count();
            if dark && dark_neighbours == 0 {
                dst[row + x] = 255;
            } else if !dark && dark_neighbours == 8 {
                dst[row + x] = 0;
            }
        }
    }
    out
}

/// Fraction bits of the fixed-point source positions [`rotate`] steps through.
const FRAC: u32 = 20;

/// Rotates by `degrees` (counter-clockwise) about the centre, bilinear, white fill.
pub fn rotate(img: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let mut out = GrayImage::from_pixel(w, h, Luma([255]));
    if w < 2 || h < 2 {
        return out;
    }
    let (s, c) = f64::from(degrees).to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let one = f64::from(1u32 << FRAC);
    // Every page of a tilted scan passes through here: the source position
    // walks along a row by two integer additions, and the blend is integer
    // too (per-pixel float rounding was a fifth of an OCR thread's time).
    let (step_x, step_y) = ((c * one) as i64, (s * one) as i64);
    let (max_x, max_y) = (i64::from(w - 1) << FRAC, i64::from(h - 1) << FRAC);
    let src = img.as_raw();
    let stride = w as usize;
    let dst: &mut [u8] = &mut out;
    for (y, row) in dst.chunks_exact_mut(stride).enumerate() {
        let dy = y as f64 - cy;
        let mut sx = ((-cx * c - dy * s + cx) * one) as i64;
        let mut sy = ((-cx * s + dy * c + cy) * one) as i64;
        for px in row.iter_mut() {
            if sx >= 0 && sy >= 0 && sx < max_x && sy < max_y {
                let (x0, y0) = ((sx >> FRAC) as usize, (sy >> FRAC) as usize);
                let fx = ((sx >> (FRAC - 8)) & 0xFF) as u32;
                let fy = ((sy >> (FRAC - 8)) & 0xFF) as u32;
                let i = y0 * stride + x0;
                let top = u32::from(src[i]) * (256 - fx) + u32::from(src[i + 1]) * fx;
                let bottom =
                    u32::from(src[i + stride]) * (256 - fx) + u32::from(src[i + stride + 1]) * fx;
                *px = ((top * (256 - fy) + bottom * fy + (1 << 15)) >> 16) as u8;
            }
            sx += step_x;
            sy += step_y;
        }
    }
    out
}

/// The median height of text lines, from runs of rows that hold dark pixels.
pub fn line_height(img: &GrayImage) -> Option<f32> {
    let threshold = otsu(img);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let row_dark: Vec<usize> = (0..h)
        .map(|y| {
            src[y * w..(y + 1) * w]
                .iter()
                .filter(|&&p| p < threshold)
                .count()
        })
        .collect();
    // A row belongs to a line of text when 1 % of it is dark; specks do not count.
    let mut lines = runs(&row_dark, (w / 100).max(2));
    lines.sort_unstable();
    lines.get(lines.len() / 2).map(|r| *r as f32)
}

/// Lengths of runs of consecutive counts at or over `min`.
fn runs(counts: &[usize], min: usize) -> Vec<u32> {
    let mut runs = Vec::new();
    let mut run = 0u32;
    for &c in counts.iter().chain(std::iter::once(&0)) {
        if c >= min {
            run += 1;
        } else {
            if run > 2 {
                runs.push(run);
            }
            run = 0;
        }
    }
    runs
}

/// Largest page OCR works on. A page of text gains nothing from more (this
/// is an A4 page at about 480 DPI), while Tesseract's memory and time grow
/// with every pixel; larger pages are scaled down first.
pub const MAX_OCR_PIXELS: u64 = 16_000_000;

/// `img` scaled down to [`MAX_OCR_PIXELS`] when it is larger, with its
/// resolution (`dpi`) scaled alike.
pub fn fit_for_ocr(img: GrayImage, dpi: u32) -> (GrayImage, u32) {
    let (w, h) = img.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels <= MAX_OCR_PIXELS {
        return (img, dpi);
    }
    let factor = (MAX_OCR_PIXELS as f64 / pixels as f64).sqrt();
    let (nw, nh) = (
        ((f64::from(w) * factor) as u32).max(1),
        ((f64::from(h) * factor) as u32).max(1),
    );
    // Area averaging in integers: no floating-point copy of the large image.
    let smaller = imageops::thumbnail(&img, nw, nh);
    (smaller, ((f64::from(dpi) * factor).round() as u32).max(1))
}

/// Grayscale page ready for OCR and the resolution to tell Tesseract.
pub struct Prepared {
    pub image: GrayImage,
    pub dpi: u32,
}

/// Side of the cells dark regions are found in, in pixels.
const CELL: u32 = 4;
/// Cells, either way from a cell, whose median decides whether it lies in a dark region.
const REGION_REACH: i64 = 5;

/// Light print on dark bands or boxes (white on green, white on navy) turned
/// into dark print on white, so that it reads like the rest of the page. A
/// region is dark when the median of its neighbourhood (about twenty pixels
/// either way) is well below the paper: text, even bold, leaves
/// most of its surroundings paper. Pages without such regions are untouched.
pub fn lighten_dark_regions(img: &mut GrayImage) {
    let (w, h) = img.dimensions();
    let (cw, ch) = (w.div_ceil(CELL), h.div_ceil(CELL));
    if cw < 8 || ch < 8 {
        return;
    }
    let cells = imageops::thumbnail(img, cw, ch);
    let mut levels: Vec<u8> = cells.as_raw().clone();
    levels.sort_unstable();
    let paper = f32::from(levels[levels.len() * 9 / 10]);
    let dark = (paper * 0.6) as u8;
    if levels[0] >= dark {
        return;
    }
    let (cwi, chi) = (i64::from(cw), i64::from(ch));
    let mut region: Vec<Option<u8>> = vec![None; (cw * ch) as usize];
    let mut window = Vec::with_capacity(((2 * REGION_REACH + 1) * (2 * REGION_REACH + 1)) as usize);
    for cy in 0..chi {
        for cx in 0..cwi {
            window.clear();
            for y in (cy - REGION_REACH).max(0)..=(cy + REGION_REACH).min(chi - 1) {
                for x in (cx - REGION_REACH).max(0)..=(cx + REGION_REACH).min(cwi - 1) {
                    window.push(cells.get_pixel(x as u32, y as u32)[0]);
                }
            }
            let mid = window.len() / 2;
            let (_, median, _) = window.select_nth_unstable(mid);
            if *median < dark {
                region[(cy * cwi + cx) as usize] = Some(*median);
            }
        }
    }
    if region.iter().all(Option::is_none) {
        return;
    }
    for (x, y, p) in img.enumerate_pixels_mut() {
        if let Some(level) = region[((y / CELL) * cw + x / CELL) as usize] {
            let inverted = f32::from(255 - p[0]);
            let span = f32::from(255 - level).max(1.0);
            p[0] = (inverted * 255.0 / span).min(255.0) as u8;
        }
    }
}

/// Removes specks, enlarges small text and straightens small rotations.
pub fn prepare(img: GrayImage, dpi: u32) -> Prepared {
    let mut img = despeckle(&img);
    let mut dpi = dpi;
    // A page this large is a full page scanned at 180 DPI or more: Tesseract reads it as it is.
    let small = img.width().max(img.height()) < 2000;
    if let Some(lh) = line_height(&img).filter(|_| small) {
        let factor = (MIN_LINE_HEIGHT / lh).min(3.0);
        // Enlarging costs OCR time; only text well below the size Tesseract reads best gains from it.
        if factor >= 1.5 {
            let (w, h) = img.dimensions();
            img = imageops::resize(
                &img,
                (w as f32 * factor) as u32,
                (h as f32 * factor) as u32,
                imageops::FilterType::Triangle,
            );
            dpi = (dpi as f32 * factor) as u32;
        }
    }
    Prepared {
        image: straighten(img),
        dpi,
    }
}

/// The page turned by `turn` and straightened, as OCR read it.
pub fn turn(img: &GrayImage, turn: Turn) -> GrayImage {
    let turned = match turn {
        Turn::None => return img.clone(),
        Turn::Clockwise => imageops::rotate90(img),
        Turn::Anticlockwise => imageops::rotate270(img),
        Turn::Half => imageops::rotate180(img),
    };
    straighten(turned)
}

/// Turns the page level when it is skewed by more than a fraction of a degree.
pub fn straighten(img: GrayImage) -> GrayImage {
    let angle = skew_angle(&img);
    if angle.abs() >= 0.2 {
        rotate(&img, -angle)
    } else {
        img
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Black bars like lines of text on a white page.
    fn lines_page(w: u32, h: u32) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, Luma([255]));
        for line in 0..12 {
            let y0 = 40 + line * 40;
            for y in y0..y0 + 14 {
                // Words of 50 pixels with 10-pixel gaps.
                for x in (30..w - 30).filter(|x| x % 60 < 50) {
                    img.put_pixel(x, y, Luma([0]));
                }
            }
        }
        img
    }

    #[test]
    fn a_known_rotation_is_measured() {
        let page = lines_page(600, 560);
        assert!(skew_angle(&page).abs() < 0.2);
        for deg in [2.0f32, -3.0] {
            let turned = rotate(&page, deg);
            let got = skew_angle(&turned);
            assert!((got.abs() - deg.abs()).abs() < 0.3, "{deg}: measured {got}");
            let level = rotate(&turned, -got);
            assert!(
                skew_angle(&level).abs() < 0.3,
                "{deg}: still {}",
                skew_angle(&level)
            );
        }
    }

    #[test]
    fn specks_go_and_text_stays() {
        let mut page = lines_page(600, 560);
        page.put_pixel(5, 5, Luma([0]));
        // (40, 45) lies inside a bar; (60, 50) too.
        page.put_pixel(40, 45, Luma([255]));
        let clean = despeckle(&page);
        assert_eq!(clean.get_pixel(5, 5)[0], 255);
        assert_eq!(clean.get_pixel(40, 45)[0], 0);
        assert_eq!(clean.get_pixel(60, 50)[0], 0, "text pixels are kept");
    }

    #[test]
    fn light_text_on_a_dark_box_becomes_dark_on_white() {
        let mut page = lines_page(600, 560);
        // A box of green-grey with a light bar (text) inside it, below the lines.
        let mut with_box = GrayImage::from_pixel(600, 800, Luma([240]));
        imageops::overlay(&mut with_box, &page, 0, 0);
        for y in 600..700 {
            for x in 200..500 {
                let light = (640..660).contains(&y) && (240..460).contains(&x);
                with_box.put_pixel(x, y, Luma([if light { 250 } else { 100 }]));
            }
        }
        page = with_box.clone();
        lighten_dark_regions(&mut page);
        assert!(
            page.get_pixel(300, 650)[0] < 60,
            "the light text is dark now"
        );
        assert!(page.get_pixel(350, 620)[0] > 200, "the box is light now");
        // Ordinary dark text on paper is untouched.
        for (x, y) in [(40, 45), (60, 50), (5, 5), (100, 300)] {
            assert_eq!(page.get_pixel(x, y), with_box.get_pixel(x, y), "({x}, {y})");
        }
    }

    #[test]
    fn small_text_is_enlarged() {
        let page = lines_page(600, 560);
        assert_eq!(line_height(&page), Some(14.0));
        let p = prepare(page, 150);
        assert!(p.image.width() > 600 && p.dpi > 150);
    }
}
