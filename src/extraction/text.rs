//! The text regex fields search (SPEC §2, §2.1): physical lines joined by
//! `\n`, pages by `\f`, words single-spaced or spaced as laid out, then the
//! template's text options. Every byte keeps where it came from, so a match
//! is traced back to the words it covers.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

use super::document::{Page, Word};
use crate::spec::TextRules;

/// A word of the text: its byte span in the text as read, and where it came from.
pub struct Span<'a> {
    pub start: usize,
    pub end: usize,
    pub page: &'a Page,
    pub word: &'a Word,
}

/// The searched text and its words.
pub struct Text<'a> {
    pub text: String,
    /// For each byte of `text` (and one past its end), the byte of the text as
    /// read it came from; `None` while the two are the same.
    origin: Option<Vec<u32>>,
    spans: Vec<Span<'a>>,
}

/// The average width of a character on the page, for layout spacing.
fn char_width(page: &Page) -> f32 {
    let (width, chars) = page.words().fold((0.0f32, 0usize), |(w, n), word| {
        (
            w + (word.right - word.left).max(0.0),
            n + word.text.chars().count(),
        )
    });
    if chars == 0 {
        return 1.0;
    }
    (width / chars as f32).max(0.01)
}

fn spaces(gap: f32, width: f32) -> usize {
    ((gap / width).round() as usize).clamp(1, 400)
}

impl<'a> Text<'a> {
    /// The text of `pages`, keeping the words `keep` accepts.
    pub fn read(
        pages: impl Iterator<Item = &'a Page>,
        layout: bool,
        keep: impl Fn(&Page, &Word) -> bool,
    ) -> Self {
        let mut text = String::new();
        let mut spans = Vec::new();
        for (pi, page) in pages.enumerate() {
            if pi > 0 {
                text.push('\u{c}');
            }
            let width = if layout { char_width(page) } else { 1.0 };
            let margin = page
                .words()
                .map(|w| w.left)
                .fold(f32::MAX, f32::min)
                .min(f32::MAX);
            let mut previous: Option<(usize, f32)> = None;
            let mut first_line = true;
            for line in &page.lines {
                let words: Vec<&Word> = line.words.iter().filter(|w| keep(page, w)).collect();
                let Some(first) = words.first() else {
                    continue;
                };
                match previous {
                    Some((row, right)) if row == line.row => {
                        let n = if layout {
                            spaces(first.left - right, width)
                        } else {
                            1
                        };
                        text.extend(std::iter::repeat_n(' ', n));
                    }
                    _ => {
                        if !first_line {
                            text.push('\n');
                        }
                        if layout {
                            let indent = ((first.left - margin) / width).round().max(0.0);
                            text.extend(std::iter::repeat_n(' ', indent.min(400.0) as usize));
                        }
                    }
                }
                first_line = false;
                let mut right = None;
                for w in &words {
                    if let Some(r) = right {
                        let n = if layout { spaces(w.left - r, width) } else { 1 };
                        text.extend(std::iter::repeat_n(' ', n));
                    }
                    spans.push(Span {
                        start: text.len(),
                        end: text.len() + w.text.len(),
                        page,
                        word: w,
                    });
                    text.push_str(&w.text);
                    right = Some(w.right);
                }
                previous = Some((line.row, words.last().map_or(first.right, |w| w.right)));
            }
        }
        Self {
            text,
            origin: None,
            spans,
        }
    }

    /// The text after the template's text options, in SPEC order: `replace`,
    /// `remove_whitespace`, `remove_accents`, `lowercase`.
    pub fn prepared(mut self, rules: &TextRules) -> Self {
        if rules.is_identity() {
            return self;
        }
        let mut origin: Vec<u32> = (0..=self.text.len() as u32).collect();
        let mut text = std::mem::take(&mut self.text);
        for (re, with) in &rules.replace {
            let mut out = String::with_capacity(text.len());
            let mut out_origin = Vec::with_capacity(origin.len());
            let mut last = 0;
            for caps in re.captures_iter(&text) {
                let m = caps.get(0).expect("group 0 is the match");
                out.push_str(&text[last..m.start()]);
                out_origin.extend_from_slice(&origin[last..m.start()]);
                let before = out.len();
                caps.expand(with, &mut out);
                out_origin.extend(std::iter::repeat_n(origin[m.start()], out.len() - before));
                last = m.end();
            }
            out.push_str(&text[last..]);
            out_origin.extend_from_slice(&origin[last..]);
            text = out;
            origin = out_origin;
        }
        let per_char = |text: &str, origin: &[u32], f: &dyn Fn(char, &mut String)| {
            let mut out = String::with_capacity(text.len());
            let mut out_origin = Vec::with_capacity(origin.len());
            for (i, c) in text.char_indices() {
                let before = out.len();
                f(c, &mut out);
                out_origin.extend(std::iter::repeat_n(origin[i], out.len() - before));
            }
            out_origin.push(*origin.last().expect("one past the end"));
            (out, out_origin)
        };
        if rules.remove_whitespace {
            (text, origin) = per_char(&text, &origin, &|c, out| {
                if c != ' ' {
                    out.push(c)
                }
            });
        }
        if rules.remove_accents {
            (text, origin) = per_char(&text, &origin, &|c, out| {
                out.extend(
                    std::iter::once(c)
                        .nfkd()
                        .filter(|d| !('\u{300}'..='\u{362}').contains(d)),
                )
            });
        }
        if rules.lowercase {
            (text, origin) = per_char(&text, &origin, &|c, out| out.extend(c.to_lowercase()));
        }
        self.text = text;
        self.origin = Some(origin);
        self
    }

    /// The bytes of the text as read that `range` of this text came from.
    fn source(&self, range: Range<usize>) -> Range<usize> {
        let Some(origin) = &self.origin else {
            return range;
        };
        let start = origin[range.start] as usize;
        let end = if range.end > range.start {
            origin[range.end - 1] as usize + 1
        } else {
            start
        };
        start..end.max(start)
    }

    /// The words `range` of this text covers, in reading order.
    pub fn words(&self, range: Range<usize>) -> Vec<&Span<'a>> {
        let src = self.source(range);
        // Spans are in text order and do not overlap: the covered ones are a run.
        let first = self.spans.partition_point(|s| s.end <= src.start);
        self.spans[first..]
            .iter()
            .take_while(|s| s.start < src.end)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        // 6 units per character, 10 high.
        let w = |t: &str, x: f32, y: f32| {
            Word::new(t, x, y, x + 6.0 * t.chars().count() as f32, y + 10.0)
        };
        Page::from_words(
            1,
            600.0,
            800.0,
            vec![
                w("Subtotal", 40.0, 10.0),
                w("€", 400.0, 10.0),
                w("12,00", 412.0, 10.0),
                w("Crème", 64.0, 30.0),
                w("brûlée", 100.0, 30.0),
            ],
        )
    }

    #[test]
    fn layout_keeps_gaps_and_indentation_as_spaces() {
        let p = page();
        let plain = Text::read(std::iter::once(&p), false, |_, _| true);
        assert_eq!(plain.text, "Subtotal € 12,00\nCrème brûlée");
        let layout = Text::read(std::iter::once(&p), true, |_, _| true);
        let first = layout.text.lines().next().unwrap();
        assert!(
            regex::Regex::new(r"^Subtotal\s{10,80}€ 12,00$")
                .unwrap()
                .is_match(first),
            "{first:?}"
        );
        assert!(layout.text.lines().nth(1).unwrap().starts_with("    Crème"));
    }

    #[test]
    fn text_options_keep_track_of_the_words() {
        let p = page();
        let rules = TextRules {
            replace: vec![(regex::Regex::new("brûlée").unwrap(), "Brulee!".into())],
            remove_whitespace: true,
            remove_accents: true,
            lowercase: true,
            layout: false,
        };
        let text = Text::read(std::iter::once(&p), false, |_, _| true).prepared(&rules);
        assert_eq!(text.text, "subtotal€12,00\ncremebrulee!");
        let at = text.text.find("12,00").unwrap();
        let words: Vec<&str> = text
            .words(at..at + 5)
            .iter()
            .map(|s| s.word.text.as_str())
            .collect();
        assert_eq!(words, ["12,00"]);
        let at = text.text.find("brulee").unwrap();
        let words: Vec<&str> = text
            .words(at..at + 7)
            .iter()
            .map(|s| s.word.text.as_str())
            .collect();
        assert_eq!(words, ["brûlée"]);
    }
}
