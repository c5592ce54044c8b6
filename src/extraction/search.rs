//! Regex fields and blocks (SPEC §2, §2.1): their matches in the regex text,
//! limited to a page or a region, traced back to the words they cover.

use std::ops::Range;

use regex::Regex;
use serde_json::Value;

use super::document::{Document, Page};
use super::rules::{Area, FieldResult, Located};
use super::text::{Span, Text};
use super::values::{self, Parsing};
use crate::spec::{Block, Compiled, Field, Within};

/// The text a regex field searches, and the part of it within its region.
fn text_of<'a>(doc: &'a Document, field: &Field, compiled: &Compiled) -> Option<Text<'a>> {
    let layout = compiled.text.layout;
    let pages: Vec<&Page> = match (field.page, &field.within) {
        (_, Some(Within::Rect(z))) => vec![doc.page(z.page)?],
        (Some(n), _) => vec![doc.page(n)?],
        (None, _) => doc.pages.iter().collect(),
    };
    let text = match &field.within {
        Some(Within::Rect(z)) => Text::read(pages.into_iter(), layout, |page, word| {
            let (cx, cy) = word.centre();
            let (fx, fy) = (
                f64::from(cx) / f64::from(page.width.max(f32::EPSILON)),
                f64::from(cy) / f64::from(page.height.max(f32::EPSILON)),
            );
            fx >= z.x && fx <= z.x + z.width && fy >= z.y && fy <= z.y + z.height
        }),
        _ => Text::read(pages.into_iter(), layout, |_, _| true),
    };
    Some(text.prepared(&compiled.text))
}

/// The range of `text` after the first match of `start` up to the next match of `end`.
fn between(text: &str, start: &Regex, end: &Regex) -> Option<Range<usize>> {
    let from = start.find(text)?.end();
    let to = end.find_at(text, from).map_or(text.len(), |m| m.start());
    Some(from..to)
}

pub(super) fn located(text: &Text, range: Range<usize>, value: &str) -> Located {
    let hit: Vec<&Span> = text.words(range);
    let confidence = hit.iter().map(|s| s.word.confidence).reduce(f32::min);
    // A match across pages is boxed on its first page.
    let area = hit.first().and_then(|first| {
        let on_page = hit.iter().filter(|s| std::ptr::eq(s.page, first.page));
        Area::around(first.page, on_page.map(|s| s.word))
    });
    Located {
        text: value.to_string(),
        confidence,
        area,
        words: hit.iter().map(|s| s.word.clone()).collect(),
        scanned: hit.iter().any(|s| s.page.scan.is_some()),
    }
}

/// The matches of the first of `patterns` that matches (only its first match
/// unless `every`): the first capture group that took part, else the whole match.
pub fn find(
    doc: &Document,
    field: &Field,
    patterns: &[Regex],
    compiled: &Compiled,
    every: bool,
) -> Vec<Located> {
    let Some(text) = text_of(doc, field, compiled) else {
        return Vec::new();
    };
    let range = match &field.within {
        Some(Within::Span { start, end }) => match between(&text.text, start, end) {
            Some(r) => r,
            None => return Vec::new(),
        },
        _ => 0..text.text.len(),
    };
    let haystack = &text.text[range.clone()];
    for re in patterns {
        let mut found = Vec::new();
        for caps in re.captures_iter(haystack) {
            let m = caps
                .iter()
                .skip(1)
                .flatten()
                .next()
                .or_else(|| caps.get(0))
                .expect("group 0 is the match");
            let at = range.start + m.start()..range.start + m.end();
            found.push(located(&text, at, m.as_str()));
            if !every {
                break;
            }
        }
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Every block's named groups, in template order: one value per group, or a
/// list when several lines of the block matched.
pub fn blocks(doc: &Document, compiled: &Compiled, how: &Parsing) -> Vec<FieldResult> {
    let text =
        Text::read(doc.pages.iter(), compiled.text.layout, |_, _| true).prepared(&compiled.text);
    compiled
        .blocks
        .iter()
        .flat_map(|b| block(&text, b, how))
        .collect()
}

fn block(text: &Text, b: &Block, how: &Parsing) -> Vec<FieldResult> {
    let mut found: Vec<Vec<Located>> = vec![Vec::new(); b.groups.len()];
    if let Some(range) = between(&text.text, &b.start, &b.end) {
        let mut at = range.start;
        for line in text.text[range].split('\n') {
            if let Some(caps) = b.body.captures(line) {
                for (i, (name, _)) in b.groups.iter().enumerate() {
                    if let Some(m) = caps.name(name) {
                        found[i].push(located(text, at + m.start()..at + m.end(), m.as_str()));
                    }
                }
            }
            at += line.len() + 1;
        }
    }
    b.groups
        .iter()
        .zip(found)
        .map(|((_, ty), hits)| {
            let parsed: Vec<FieldResult> = hits
                .iter()
                .map(|l| super::rules::parse_located(l, *ty, how))
                .collect();
            match parsed.len() {
                0 => FieldResult::nothing(),
                1 => parsed.into_iter().next().expect("one"),
                _ => FieldResult::list(parsed),
            }
        })
        .collect()
}

/// A constant's value, typed like located text.
pub fn constant(text: &str, field: &Field, how: &Parsing) -> FieldResult {
    match values::parse(field.ty, text, how) {
        Some(value) => FieldResult {
            value,
            ..FieldResult::nothing()
        },
        None => FieldResult {
            unparsed: true,
            ..FieldResult::nothing()
        },
    }
}

/// The numbers of `results`, skipping those that did not parse.
pub fn numbers(results: &[FieldResult]) -> Vec<f64> {
    results.iter().filter_map(|r| r.value.as_f64()).collect()
}

/// `v` as the field's JSON number: an integer field stays integral.
pub fn number(v: f64, integral: bool) -> Value {
    if integral && v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64((v * 1e9).round() / 1e9).map_or(Value::Null, Value::Number)
    }
}
