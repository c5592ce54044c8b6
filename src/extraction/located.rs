//! What locating a field yields: the text found with its confidence and
//! place, a field's parsed result, a lines field's rows, and page areas.

use serde_json::Value;

use super::document::{Page, Word};

/// Located text, the confidence of the words it came from and where they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    pub text: String,
    pub confidence: Option<f32>,
    pub area: Option<Area>,
    /// The words the text came from.
    pub words: Vec<Word>,
    /// Whether the words were read by OCR (and may be cleaned before parsing).
    pub scanned: bool,
}

impl Located {
    pub(super) fn from_words<'a>(
        text: String,
        page: &Page,
        words: impl IntoIterator<Item = &'a Word> + Clone,
    ) -> Self {
        let words: Vec<Word> = words.into_iter().cloned().collect();
        Self {
            text,
            confidence: words.iter().map(|w| w.confidence).reduce(f32::min),
            area: Area::around(page, &words),
            words,
            scanned: page.scan.is_some(),
        }
    }

    /// Several located texts as one, joined by `separator`.
    pub(super) fn joined(parts: &[Located], separator: &str) -> Self {
        let text: Vec<&str> = parts.iter().map(|l| l.text.trim()).collect();
        Self {
            text: text.join(separator),
            confidence: parts.iter().filter_map(|l| l.confidence).reduce(f32::min),
            // Around every part on the first one's page.
            area: parts
                .iter()
                .filter_map(|l| l.area)
                .reduce(|a, b| a.union(&b)),
            words: parts.iter().flat_map(|l| l.words.clone()).collect(),
            scanned: parts.iter().any(|l| l.scanned),
        }
    }
}

/// What the template yields for one field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldResult {
    /// The parsed value; `null` where nothing was found or parsed.
    pub value: Value,
    pub confidence: Option<f32>,
    /// Where the located text is, also when it did not parse.
    pub area: Option<Area>,
    /// Text was found but did not parse as the field's type.
    pub unparsed: bool,
    /// What OCR clean-up changed, for the file's `warnings`.
    pub note: Option<String>,
    /// For a lines field, each row's confidence and place.
    pub rows: Option<Vec<RowDetail>>,
}

/// One row of a lines field: the lowest confidence of its cells, where it
/// is, and the columns whose text did not parse.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowDetail {
    pub confidence: Option<f32>,
    pub area: Option<Area>,
    pub unparsed: Vec<String>,
}

impl FieldResult {
    pub fn nothing() -> Self {
        Self {
            value: Value::Null,
            confidence: None,
            area: None,
            unparsed: false,
            note: None,
            rows: None,
        }
    }

    /// Whether another reading may do better: nothing found or parsed, or
    /// less sure than the template's `min_confidence`.
    pub fn doubtful(&self, min_confidence: Option<f64>) -> bool {
        if self.rows.is_some() {
            // Rows with a hole (a column OCR dropped) or none at all.
            return self.cells().1 > 0
                || self.value.as_array().is_none_or(Vec::is_empty)
                || self.unsure(min_confidence);
        }
        self.value.is_null() || self.unsure(min_confidence)
    }

    /// A lines field's cells: how many hold a value and how many are `null`.
    fn cells(&self) -> (usize, usize) {
        let cells = self
            .value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|row| row.values());
        cells.fold((0, 0), |(full, empty), v| {
            if v.is_null() {
                (full, empty + 1)
            } else {
                (full + 1, empty)
            }
        })
    }

    /// Several results as one list value: the least sure confidence, the first
    /// area, and unparsed when any did not parse.
    pub fn list(results: Vec<FieldResult>) -> Self {
        let confidence = results.iter().filter_map(|r| r.confidence).reduce(f32::min);
        Self {
            confidence,
            area: results.iter().find_map(|r| r.area),
            unparsed: results.iter().any(|r| r.unparsed),
            note: results.iter().find_map(|r| r.note.clone()),
            rows: None,
            value: Value::Array(results.into_iter().map(|r| r.value).collect()),
        }
    }

    pub(super) fn unsure(&self, min_confidence: Option<f64>) -> bool {
        matches!((self.confidence, min_confidence), (Some(c), Some(min)) if f64::from(c) < min)
    }

    /// A value beats none; between values, the surer one wins.
    pub fn better_than(&self, other: &Self) -> bool {
        if self.rows.is_some() && other.rows.is_some() {
            let (mine, theirs) = (self.cells().0, other.cells().0);
            return mine > theirs
                || (mine == theirs
                    && self.confidence.unwrap_or(0.0) > other.confidence.unwrap_or(0.0));
        }
        match (self.value.is_null(), other.value.is_null()) {
            (false, true) => true,
            (true, _) => false,
            (false, false) => self.confidence.unwrap_or(0.0) > other.confidence.unwrap_or(0.0),
        }
    }
}

/// A rectangle on one page, in fractions of the page's width and height.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Area {
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Area {
    /// The smallest rectangle holding both, on the first one's page.
    pub fn union(&self, other: &Area) -> Area {
        if other.page != self.page {
            return *self;
        }
        let (l, t) = (self.x.min(other.x), self.y.min(other.y));
        let r = (self.x + self.width).max(other.x + other.width);
        let b = (self.y + self.height).max(other.y + other.height);
        Area {
            page: self.page,
            x: l,
            y: t,
            width: ((r - l) * 10_000.0).round() / 10_000.0,
            height: ((b - t) * 10_000.0).round() / 10_000.0,
        }
    }

    /// The smallest rectangle holding every word; `None` without words.
    pub fn around<'a>(page: &Page, words: impl IntoIterator<Item = &'a Word>) -> Option<Self> {
        let (l, t, r, b) =
            words
                .into_iter()
                .fold(None, |acc: Option<(f32, f32, f32, f32)>, w| {
                    Some(match acc {
                        None => (w.left, w.top, w.right, w.bottom),
                        Some((l, t, r, b)) => {
                            (l.min(w.left), t.min(w.top), r.max(w.right), b.max(w.bottom))
                        }
                    })
                })?;
        let (pw, ph) = (
            f64::from(page.width.max(1.0)),
            f64::from(page.height.max(1.0)),
        );
        let frac =
            |v: f32, of: f64| ((f64::from(v) / of).clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
        Some(Self {
            page: page.number,
            x: frac(l, pw),
            y: frac(t, ph),
            width: frac(r - l, pw),
            height: frac(b - t, ph),
        })
    }
}
