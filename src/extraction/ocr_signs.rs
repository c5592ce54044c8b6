//! Minus signs Tesseract loses in front of figures. On a speckled or blurred
//! scan its line reader often drops the short dash of "-39.88", or reads it
//! as `~`, `"` or `_`, and a debit becomes a credit. The dash is still on the
//! page: a short, flat mark at mid-height just left of the first digit. It is
//! looked for in the image, and where it is found the figure gets its sign back.

use image::GrayImage;

use super::document::Word;
use super::preprocess::otsu;

/// Characters OCR makes of a minus sign in front of a figure.
const MISREAD_MINUS: &[char] = &['~', '_', '"', '\'', '‘', '“', '`', '´', '—', '–', '¬'];

/// Gives back the minus of each unsigned figure whose dash is on the page.
pub(super) fn restore_minus(image: &GrayImage, words: &mut [Word]) {
    for i in 0..words.len() {
        let Some(digits) = unsigned_figure(&words[i].text).map(str::to_string) else {
            continue;
        };
        let found = dash_before(image, &words[i]);
        tracing::trace!(text = %words[i].text, left = words[i].left, top = words[i].top,
            height = words[i].height(), ?found, "figure without a sign");
        let Some(dash) = found else {
            continue;
        };
        // A dash that OCR read as a word of its own is a separate mark ("10 - 20").
        let claimed = words.iter().enumerate().any(|(j, w)| {
            j != i
                && w.left < dash.right
                && w.right > dash.left
                && w.top < dash.bottom
                && w.bottom > dash.top
        });
        if claimed {
            continue;
        }
        let word = &mut words[i];
        word.text = format!("-{digits}");
        word.left = word.left.min(dash.left);
    }
}

/// The figure of a word without a sign, leading misreadings of one removed:
/// digits with separators, starting and ending with a digit.
fn unsigned_figure(text: &str) -> Option<&str> {
    let digits = text.trim_start_matches(MISREAD_MINUS);
    let figure = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.ends_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ".,' ".contains(c));
    figure.then_some(digits)
}

/// A box in image pixels, right and bottom exclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Mark {
    left: f32,
    top: f32,
    right: f32,
    bottom: f32,
}

impl Mark {
    fn width(&self) -> f32 {
        self.right - self.left
    }
    fn height(&self) -> f32 {
        self.bottom - self.top
    }
}

/// Where a minus sits, as a fraction of the digits' height from their top:
/// about half way, above an underscore and below the flag of a 1.
const MIDDLE: std::ops::RangeInclusive<f32> = 0.3..=0.7;

/// The minus in front of `word`'s first digit, when there is one. The word's
/// tallest mark gives the digits' height (its box may be stretched by a speck);
/// the leftmost tall mark is the first digit; the dash is a flat mark at
/// mid-height that ends just before it, or, blurred into it, the flat columns
/// the digit's mark starts with.
fn dash_before(image: &GrayImage, word: &Word) -> Option<Mark> {
    let h = word.height();
    if h < 6.0 {
        return None;
    }
    let (iw, ih) = image.dimensions();
    let x0 = (word.left - 1.2 * h).max(0.0) as u32;
    let x1 = (word.right.min(iw as f32)) as u32;
    let y0 = (word.top - 0.15 * h).max(0.0) as u32;
    let y1 = ((word.bottom + 0.15 * h).min(ih as f32)) as u32;
    if x1 <= x0 + 2 || y1 <= y0 + 2 {
        return None;
    }
    let region = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
    let dark = Dark::of(&region);
    let at = |m: Mark| Mark {
        left: m.left + x0 as f32,
        top: m.top + y0 as f32,
        right: m.right + x0 as f32,
        bottom: m.bottom + y0 as f32,
    };
    let marks: Vec<Mark> = dark.marks().into_iter().map(at).collect();
    let digits = marks
        .iter()
        .filter(|m| m.right > word.left && m.left < word.right)
        .map(Mark::height)
        .fold(0.0f32, f32::max);
    if digits < 6.0 {
        return None;
    }
    let first_digit = marks
        .iter()
        .copied()
        .filter(|m| m.height() >= 0.6 * digits && m.right > word.left)
        .min_by(|a, b| a.left.total_cmp(&b.left))?;
    let middle = |m: &Mark| ((m.top + m.bottom) / 2.0 - first_digit.top) / digits;
    let flat = |m: &Mark| {
        m.width() >= 0.25 * digits
            && m.width() <= digits
            && m.height() <= (0.3 * digits).max(2.0)
            && m.width() >= 1.6 * m.height()
            && MIDDLE.contains(&middle(m))
    };
    let apart = marks
        .iter()
        .copied()
        .filter(|m| {
            flat(m)
                && (-1.0..=0.45 * digits).contains(&(first_digit.left - m.right))
                // A line running in from the left is a rule, not a sign.
                && m.left > x0 as f32
        })
        .max_by(|a, b| a.right.total_cmp(&b.right));
    apart.or_else(|| {
        let local = |v: f32, origin: u32| (v - origin as f32).max(0.0) as usize;
        let joined = dark.leading_bar(
            local(first_digit.left, x0)..local(first_digit.right, x0),
            local(first_digit.top, y0)..local(first_digit.bottom, y0),
        )?;
        let dash = at(joined);
        (flat(&dash) && dash.width() >= 0.3 * digits).then_some(dash)
    })
}

/// Which pixels of an image are ink (darker than its Otsu threshold).
struct Dark {
    width: usize,
    height: usize,
    ink: Vec<bool>,
}

impl Dark {
    fn of(img: &GrayImage) -> Self {
        let threshold = otsu(img);
        Self {
            width: img.width() as usize,
            height: img.height() as usize,
            ink: img.as_raw().iter().map(|&p| p < threshold).collect(),
        }
    }

    /// The run of flat columns a mark starts with, within `columns` × `rows`:
    /// each column's ink spans no more than a third of the rows, and the run
    /// ends where a column's ink spans at least half of them.
    fn leading_bar(
        &self,
        columns: std::ops::Range<usize>,
        rows: std::ops::Range<usize>,
    ) -> Option<Mark> {
        let tall = rows.len() as f32;
        let (mut top, mut bottom, mut end) = (usize::MAX, 0, None);
        for x in columns.clone().take_while(|&x| x < self.width) {
            let inked: Vec<usize> = rows
                .clone()
                .filter(|&y| y < self.height && self.ink[y * self.width + x])
                .collect();
            let (Some(&t), Some(&b)) = (inked.first(), inked.last()) else {
                return None;
            };
            let span = (b - t + 1) as f32;
            if span >= 0.5 * tall {
                end = Some(x);
                break;
            }
            if span > (tall / 3.0).max(2.0) {
                return None;
            }
            (top, bottom) = (top.min(t), bottom.max(b));
        }
        let end = end?;
        (end > columns.start).then(|| Mark {
            left: columns.start as f32,
            top: top as f32,
            right: end as f32,
            bottom: (bottom + 1) as f32,
        })
    }

    /// Boxes of the 8-connected marks of ink.
    fn marks(&self) -> Vec<Mark> {
        let (w, h) = (self.width, self.height);
        let dark = &self.ink;
        let mut seen = vec![false; w * h];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for start in 0..w * h {
            if !dark[start] || seen[start] {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            let (mut l, mut t, mut r, mut b) = (usize::MAX, usize::MAX, 0, 0);
            while let Some(p) = stack.pop() {
                let (x, y) = (p % w, p / w);
                (l, t, r, b) = (l.min(x), t.min(y), r.max(x), b.max(y));
                for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                        let q = ny * w + nx;
                        if dark[q] && !seen[q] {
                            seen[q] = true;
                            stack.push(q);
                        }
                    }
                }
            }
            out.push(Mark {
                left: l as f32,
                top: t as f32,
                right: (r + 1) as f32,
                bottom: (b + 1) as f32,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A white strip with dark rectangles (left, top, width, height).
    fn page(rects: &[(u32, u32, u32, u32)]) -> GrayImage {
        let mut img = GrayImage::from_pixel(400, 80, Luma([235]));
        for &(x, y, w, h) in rects {
            for yy in y..y + h {
                for xx in x..x + w {
                    img.put_pixel(xx, yy, Luma([20]));
                }
            }
        }
        img
    }

    /// "39.88" as OCR boxes it (from x = 200), digits 30 px tall from y = 20,
    /// with whatever marks precede it.
    fn figure_after(before: &[(u32, u32, u32, u32)], text: &str) -> (GrayImage, Vec<Word>) {
        let mut rects = vec![(200, 20, 14, 30), (218, 20, 14, 30), (236, 46, 4, 4)];
        rects.extend_from_slice(before);
        (
            page(&rects),
            vec![Word::new(text, 200.0, 20.0, 244.0, 50.0)],
        )
    }

    #[test]
    fn a_dropped_minus_before_a_figure_comes_back() {
        let (img, mut words) = figure_after(&[(184, 33, 12, 3)], "39.88");
        restore_minus(&img, &mut words);
        assert_eq!(words[0].text, "-39.88");
        assert_eq!(words[0].left, 184.0);
    }

    #[test]
    fn a_minus_blurred_into_the_first_digit_comes_back() {
        let (img, mut words) = figure_after(&[(187, 33, 13, 3)], "39.88");
        words[0].left = 187.0;
        restore_minus(&img, &mut words);
        assert_eq!(words[0].text, "-39.88");
    }

    #[test]
    fn a_speck_stretching_the_box_does_not_hide_the_minus() {
        let (img, mut words) = figure_after(&[(184, 33, 12, 3), (190, 2, 5, 5)], "39.88");
        words[0].top = 2.0;
        restore_minus(&img, &mut words);
        assert_eq!(words[0].text, "-39.88");
    }

    #[test]
    fn a_minus_read_as_a_tilde_or_quote_becomes_a_minus() {
        for misread in ["~39.88", "\"39.88", "_39.88"] {
            let (img, mut words) = figure_after(&[(188, 34, 10, 3)], misread);
            words[0].left = 186.0;
            restore_minus(&img, &mut words);
            assert_eq!(words[0].text, "-39.88", "{misread}");
        }
    }

    #[test]
    fn no_dash_no_sign() {
        for (marks, why) in [
            (vec![], "nothing before the figure"),
            (vec![(190, 30, 4, 4)], "a speck"),
            (vec![(168, 33, 12, 3)], "a dash a space away"),
            (vec![(184, 47, 12, 3)], "an underscore at the baseline"),
            (vec![(0, 33, 196, 3)], "a rule running in from the left"),
        ] {
            let (img, mut words) = figure_after(&marks, "39.88");
            restore_minus(&img, &mut words);
            assert_eq!(words[0].text, "39.88", "{why}");
        }
    }

    #[test]
    fn a_dash_read_as_its_own_word_stays_apart() {
        let (img, mut words) = figure_after(&[(184, 33, 12, 3)], "39.88");
        words.push(Word::new("-", 183.0, 31.0, 197.0, 37.0));
        restore_minus(&img, &mut words);
        assert_eq!(words[0].text, "39.88");
    }

    #[test]
    fn only_figures_get_a_sign() {
        for text in ["ACME", "12/05", "-39.88", "39.88€", "~"] {
            assert!(
                unsigned_figure(text).is_none(),
                "{text} is not an unsigned figure"
            );
        }
        assert_eq!(unsigned_figure("~1,641.62"), Some("1,641.62"));
    }
}
