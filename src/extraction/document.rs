//! The page model every reader produces: words with boxes, assembled into lines
//! in reading order. Template rules only ever see this model, so text PDFs and
//! OCR'd images are located the same way.

/// One word and its box, in the page's own units with the origin top-left.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
    /// How sure the reader is of the text, 0 to 1; a text layer is 1.
    pub confidence: f32,
}

impl Word {
    pub fn new(text: impl Into<String>, left: f32, top: f32, right: f32, bottom: f32) -> Self {
        Self {
            text: text.into(),
            left,
            top,
            right,
            bottom,
            confidence: 1.0,
        }
    }

    pub fn with_confidence(mut self, confidence: f32) -> Self {
        self.confidence = confidence.clamp(0.0, 1.0);
        self
    }

    pub fn height(&self) -> f32 {
        (self.bottom - self.top).max(0.0)
    }

    pub fn centre(&self) -> (f32, f32) {
        (
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }
}

/// A run of words on one baseline with no column gap between them.
#[derive(Clone, Debug)]
pub struct Line {
    pub words: Vec<Word>,
    /// The line's words joined by single spaces.
    pub text: String,
    /// Byte offset in `text` where each word starts.
    pub offsets: Vec<usize>,
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
    /// Index of the visual row the line belongs to; lines of one row share a baseline.
    pub row: usize,
}

impl Line {
    fn from_words(words: Vec<Word>, row: usize) -> Self {
        let mut text = String::new();
        let mut offsets = Vec::with_capacity(words.len());
        for w in &words {
            if !text.is_empty() {
                text.push(' ');
            }
            offsets.push(text.len());
            text.push_str(&w.text);
        }
        let fold = |init: f32, f: fn(f32, f32) -> f32, g: fn(&Word) -> f32| {
            words.iter().map(g).fold(init, f)
        };
        Self {
            left: fold(f32::MAX, f32::min, |w| w.left),
            top: fold(f32::MAX, f32::min, |w| w.top),
            right: fold(f32::MIN, f32::max, |w| w.right),
            bottom: fold(f32::MIN, f32::max, |w| w.bottom),
            words,
            text,
            offsets,
            row,
        }
    }

    /// The horizontal extent of the words touching the byte range `start..end` of `text`.
    pub fn span_x(&self, start: usize, end: usize) -> (f32, f32) {
        let mut left = f32::MAX;
        let mut right = f32::MIN;
        for (w, &off) in self.words.iter().zip(&self.offsets) {
            let w_end = off + w.text.len();
            if off < end && w_end > start {
                left = left.min(w.left);
                right = right.max(w.right);
            }
        }
        (left, right)
    }
}

/// How a scanned page was read, so that it can be prepared again exactly
/// as it was for a second reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Resolution of the decoded or rendered image before preparation.
    pub source_dpi: u32,
    /// Resolution of the prepared image the words' boxes are in.
    pub dpi: u32,
    /// The turn that put the page upright.
    pub turn: Turn,
}

/// A page's turn before reading, for pages that lie on their side or upside down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Turn {
    #[default]
    None,
    Clockwise,
    Anticlockwise,
    Half,
}

/// One page: its size and its lines in reading order.
#[derive(Clone, Debug)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    pub width: f32,
    pub height: f32,
    pub lines: Vec<Line>,
    /// How the page was read by OCR; `None` for a text layer.
    pub scan: Option<Scan>,
}

impl Page {
    /// Builds lines from loose words: rows by shared baseline, split at column gaps.
    pub fn from_words(number: u32, width: f32, height: f32, mut words: Vec<Word>) -> Self {
        words.retain(|w| !w.text.trim().is_empty());
        words.sort_by(|a, b| a.top.total_cmp(&b.top).then(a.left.total_cmp(&b.left)));

        // Rows: a word joins the row whose band overlaps it by half the smaller
        // height. A row's band grows only with words of about its own size, so
        // a large heading beside two small lines does not join them into one.
        // A band set by punctuation alone (a `*`, a quote) takes the size of
        // the first word that joins it.
        let mut rows: Vec<(f32, f32, bool, Vec<Word>)> = Vec::new();
        for w in words {
            let sized = w.text.chars().any(char::is_alphanumeric);
            let slot = rows.iter().rposition(|(top, bottom, _, row)| {
                overlaps(*top, *bottom, &w) && same_baseline(row, &w)
            });
            match slot {
                Some(i) => {
                    let row = &mut rows[i];
                    let ratio = w.height() / (row.1 - row.0).max(0.1);
                    if (0.67..=1.5).contains(&ratio) || (sized && !row.2) {
                        row.0 = row.0.min(w.top);
                        row.1 = row.1.max(w.bottom);
                    }
                    row.2 |= sized;
                    row.3.push(w);
                }
                None => rows.push((w.top, w.bottom, sized, vec![w])),
            }
        }
        settle_guests(&mut rows);
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));

        let mut lines = Vec::new();
        for (row_index, (_, _, _, mut row)) in rows.into_iter().enumerate() {
            row.sort_by(|a, b| a.left.total_cmp(&b.left));
            let mut current: Vec<Word> = Vec::new();
            for w in row {
                if let Some(prev) = current.last() {
                    let text_height = prev.height().max(w.height());
                    if w.left - prev.right > 3.0 * text_height {
                        lines.push(Line::from_words(std::mem::take(&mut current), row_index));
                    }
                }
                current.push(w);
            }
            if !current.is_empty() {
                lines.push(Line::from_words(current, row_index));
            }
        }
        Self {
            number,
            width,
            height,
            lines,
            scan: None,
        }
    }

    /// The page as read by OCR.
    pub fn scanned(mut self, scan: Scan) -> Self {
        self.scan = Some(scan);
        self
    }

    /// Every word of the page, in reading order.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.lines.iter().flat_map(|l| &l.words)
    }

    /// The page's text as `regex` sees it: one line per physical line (the
    /// segments of a row joined by a space, across column gaps), lines joined by `\n`.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                text.push(self.separator_before(i));
            }
            text.push_str(&line.text);
        }
        text
    }

    /// What joins line `index` to the line before it in the page's text: a
    /// space within one row, a line break between rows.
    pub fn separator_before(&self, index: usize) -> char {
        match index.checked_sub(1).and_then(|i| self.lines.get(i)) {
            Some(prev) if prev.row == self.lines[index].row => ' ',
            _ => '\n',
        }
    }

    /// Words whose centres lie in the rectangle given in page fractions, in reading order.
    pub fn words_in(&self, x: f64, y: f64, width: f64, height: f64) -> Vec<&Word> {
        let (w, h) = (
            self.width.max(f32::EPSILON) as f64,
            self.height.max(f32::EPSILON) as f64,
        );
        self.words()
            .filter(|word| {
                let (cx, cy) = word.centre();
                let (fx, fy) = (cx as f64 / w, cy as f64 / h);
                fx >= x && fx <= x + width && fy >= y && fy <= y + height
            })
            .collect()
    }
}

/// Whether `w` overlaps the band `top..bottom` by half the smaller height.
fn overlaps(top: f32, bottom: f32, w: &Word) -> bool {
    let overlap = bottom.min(w.bottom) - top.max(w.top);
    let smaller = (bottom - top).min(w.height()).max(0.1);
    overlap >= smaller * 0.5
}

/// Whether `w` sits on the baseline of the row's words of about its size: a
/// large heading spans two lines of small text, and each of those small
/// lines is a row of its own beside it (as `pdftotext -layout` prints them),
/// not one row of both interleaved.
fn same_baseline(row: &[Word], w: &Word) -> bool {
    let similar = row
        .iter()
        .filter(|o| (0.67..=1.5).contains(&(w.height() / o.height().max(0.1))));
    let band = similar.fold(None, |band: Option<(f32, f32)>, o| {
        Some(match band {
            None => (o.top, o.bottom),
            Some((t, b)) => (t.min(o.top), b.max(o.bottom)),
        })
    });
    band.is_none_or(|(top, bottom)| overlaps(top, bottom, w))
}

/// Words of another size than their row's (a slogan in a larger font beside
/// an address block) go to the row, of those they overlap, whose bottom is
/// nearest theirs: rows are swept top-down, so the row that suits such a
/// word best may not have existed yet when it was placed.
fn settle_guests(rows: &mut Vec<(f32, f32, bool, Vec<Word>)>) {
    let is_guest = |band: (f32, f32), w: &Word| {
        !(0.67..=1.5).contains(&(w.height() / (band.1 - band.0).max(0.1)))
    };
    let mut moves = Vec::new();
    for (from, (top, bottom, _, words)) in rows.iter().enumerate() {
        for (i, w) in words.iter().enumerate() {
            if !is_guest((*top, *bottom), w) {
                continue;
            }
            let best = rows
                .iter()
                .enumerate()
                .filter(|(_, (t, b, _, _))| overlaps(*t, *b, w))
                .min_by(|(_, a), (_, b)| (a.1 - w.bottom).abs().total_cmp(&(b.1 - w.bottom).abs()))
                .map(|(to, _)| to);
            if let Some(to) = best.filter(|to| *to != from) {
                moves.push((from, i, to));
            }
        }
    }
    for &(from, i, to) in moves.iter().rev() {
        let w = rows[from].3.remove(i);
        rows[to].3.push(w);
    }
    rows.retain(|r| !r.3.is_empty());
}

/// The pages of one document, in order.
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub pages: Vec<Page>,
}

impl Document {
    /// All pages' text: lines joined by `\n`, pages by `\f`.
    pub fn text(&self) -> String {
        let parts: Vec<String> = self.pages.iter().map(Page::text).collect();
        parts.join("\u{c}")
    }

    pub fn page(&self, number: u32) -> Option<&Page> {
        self.pages.iter().find(|p| p.number == number)
    }

    /// The document with page `page.number` replaced by `page`.
    pub fn with_page(&self, page: Page) -> Self {
        let pages = self
            .pages
            .iter()
            .map(|p| {
                if p.number == page.number {
                    page.clone()
                } else {
                    p.clone()
                }
            })
            .collect();
        Self { pages }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str, left: f32, top: f32, width: f32) -> Word {
        Word::new(text, left, top, left + width, top + 10.0)
    }

    #[test]
    fn words_on_one_baseline_form_a_line_in_left_to_right_order() {
        let p = Page::from_words(
            1,
            600.0,
            800.0,
            vec![w("No:", 80.0, 100.0, 20.0), w("Invoice", 40.0, 101.0, 36.0)],
        );
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.lines[0].text, "Invoice No:");
    }

    #[test]
    fn a_column_gap_splits_a_row_into_two_lines() {
        let p = Page::from_words(
            1,
            600.0,
            800.0,
            vec![
                w("Total", 40.0, 100.0, 30.0),
                w("due", 74.0, 100.0, 20.0),
                w("$12.00", 400.0, 100.0, 40.0),
                w("Next", 40.0, 130.0, 30.0),
            ],
        );
        let texts: Vec<&str> = p.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["Total due", "$12.00", "Next"]);
        assert_eq!(p.lines[0].row, p.lines[1].row);
        assert_ne!(p.lines[1].row, p.lines[2].row);
    }

    #[test]
    fn the_text_has_one_line_per_physical_line() {
        // (words, left, top) → the page's text
        type Items<'a> = &'a [(&'a str, f32, f32)];
        let cases: [(Items, &str); 4] = [
            (
                &[
                    ("Discount", 40.0, 100.0),
                    ("(5%)", 100.0, 101.0),
                    ("(12.50)", 500.0, 99.0),
                ],
                "Discount (5%) (12.50)",
            ),
            (
                &[
                    ("Note", 300.0, 20.0),
                    ("No.:", 335.0, 20.0),
                    ("AB-1234", 470.0, 21.0),
                    ("Bergmann", 40.0, 50.0),
                ],
                "Note No.: AB-1234\nBergmann",
            ),
            (
                &[
                    ("Total", 40.0, 100.0),
                    ("12.00", 400.0, 100.0),
                    ("Paid", 40.0, 130.0),
                    ("yes", 400.0, 131.0),
                ],
                "Total 12.00\nPaid yes",
            ),
            (&[("A", 40.0, 100.0), ("B", 40.0, 112.0)], "A\nB"),
        ];
        // A heading twice the height of the two lines beside it.
        let heading = Word::new("DELIVERY", 40.0, 40.0, 200.0, 60.0);
        let p = Page::from_words(
            1,
            600.0,
            800.0,
            vec![
                heading,
                w("Note", 330.0, 40.0, 24.0),
                w("AB-12", 470.0, 40.0, 30.0),
                w("Date", 330.0, 56.0, 24.0),
                w("24/05", 470.0, 56.0, 30.0),
            ],
        );
        assert_eq!(p.text(), "DELIVERY Note AB-12\nDate 24/05");
        // A small mark first on its row does not set the row's height.
        let star = Word::new("*", 40.0, 100.0, 44.0, 104.0);
        let p = Page::from_words(
            1,
            600.0,
            800.0,
            vec![
                star,
                w("Total", 50.0, 101.0, 30.0),
                w("now", 90.0, 102.0, 20.0),
            ],
        );
        assert_eq!(p.text(), "* Total now");
        for (items, want) in cases {
            let words = items
                .iter()
                .map(|(t, left, top)| w(t, *left, *top, 6.0 * t.len() as f32))
                .collect();
            let p = Page::from_words(1, 600.0, 800.0, words);
            assert_eq!(p.text(), want, "{items:?}");
        }
    }

    /// Coolblue's invoice (invoice2data's corpus), as pdfium boxes its words:
    /// a 24 pt heading beside two 11 pt address lines, and an 18 pt slogan
    /// below it that sits on the third address line's baseline.
    #[test]
    fn a_large_heading_beside_small_lines_keeps_them_apart() {
        let w = |t: &str, l: f32, top: f32, r: f32, b: f32| Word::new(t, l, top, r, b);
        let page = Page::from_words(
            1,
            595.0,
            842.0,
            vec![
                w("FACTUUR.", 45.4, 43.1, 133.7, 67.6),
                w("Coolblue", 445.0, 45.6, 479.8, 56.5),
                w("B.V.", 481.9, 45.6, 497.1, 56.5),
                w("Weena", 445.0, 59.7, 471.0, 70.6),
                w("664", 473.1, 59.7, 486.7, 70.6),
                w("Dat", 45.4, 61.2, 71.8, 83.0),
                w("betaal", 76.0, 61.2, 122.5, 83.0),
                w("3012", 445.0, 73.9, 463.3, 84.7),
                w("CN", 465.3, 73.9, 476.3, 84.7),
                w("Nederland", 445.0, 88.1, 484.9, 98.9),
            ],
        );
        assert_eq!(
            page.text(),
            "FACTUUR. Coolblue B.V.\nWeena 664\nDat betaal 3012 CN\nNederland"
        );
    }

    #[test]
    fn zone_selects_words_by_their_centre() {
        let p = Page::from_words(
            1,
            100.0,
            100.0,
            vec![w("in", 10.0, 10.0, 10.0), w("out", 60.0, 60.0, 10.0)],
        );
        let got: Vec<&str> = p
            .words_in(0.0, 0.0, 0.5, 0.5)
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(got, ["in"]);
    }
}
