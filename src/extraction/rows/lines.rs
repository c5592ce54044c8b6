//! invoice2data's `lines` parser: rows found by regexes, line by line, in the
//! blocks of the text between `start` and `end`.

use std::ops::Range;

use regex::{Captures, Regex};

use super::RawRow;
use crate::extraction::text::Text;
use crate::spec::{LineRules, Rows};

/// The blocks of the document's text (pages joined by `\f`): each starts
/// after a match of `start`. Without an `end` it stops at the end of its
/// page. With one, a table that goes on over the page without its end
/// continues on the next pages, up to its end or a page that has a `start`
/// of its own (its header repeated), which begins the next block.
pub(super) fn blocks(text: &str, start: &Regex, end: Option<&Regex>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    // The next end match, kept while blocks start before it: each block
    // must not search the rest of a long document again.
    let mut next_end: Option<(usize, usize)> = None;
    while at <= text.len() {
        let Some(s) = start.find_at(text, at) else {
            break;
        };
        let from = s.end();
        let page_end = text[from..].find('\u{c}').map_or(text.len(), |i| from + i);
        let (to, next) = match end {
            None => (page_end, page_end),
            Some(end) => {
                if next_end.is_none_or(|(e, _)| e < from) {
                    next_end = end
                        .find_at(text, from)
                        .map(|m| (m.start(), m.end()))
                        .or(Some((text.len(), text.len())));
                }
                let (e, after) = next_end.expect("set above");
                // The next page's own start, if one comes before the end.
                let restart = (page_end < e)
                    .then(|| start.find_at(text, page_end))
                    .flatten()
                    .map(|m| m.start())
                    .filter(|r| *r < e);
                match restart {
                    Some(r) => (r, r),
                    None => (e, after),
                }
            }
        };
        out.push(from..to);
        if to >= text.len() {
            break;
        }
        // A start or end that matched nothing must not find the same place again.
        at = next.max(s.start() + 1);
        while at < text.len() && !text.is_char_boundary(at) {
            at += 1;
        }
    }
    out
}

fn first_match<'h>(patterns: &[Regex], line: &'h str) -> Option<(Captures<'h>, usize)> {
    patterns
        .iter()
        .enumerate()
        .find_map(|(i, re)| re.captures(line).map(|c| (c, i)))
}

/// invoice2data's `lines` parser over one block: `first_line` starts a row,
/// `line` adds to it, `last_line` closes it; without `first_line` each `line`
/// is a row of its own.
pub(super) fn by_lines(
    text: &Text,
    range: Range<usize>,
    rules: &LineRules,
    rows: &Rows,
) -> Vec<RawRow> {
    let opens = rules.first_line.as_ref().unwrap_or(&rules.line);
    let mut out = Vec::new();
    let mut current: Option<RawRow> = None;
    let mut at = range.start;
    for line in text.text[range].split(['\n', '\u{c}']) {
        let line_at = at;
        at += line.len() + 1;
        if line.trim().is_empty() || rules.skip_line.iter().any(|re| re.is_match(line)) {
            continue;
        }
        if let Some((caps, i)) = first_match(opens, line) {
            out.extend(current.take().filter(|r| !r.is_empty()));
            let mut row = RawRow::new(rows.columns.len());
            row.add(text, line_at, &caps, &opens[i], rows);
            current = Some(row);
            continue;
        }
        let Some(row) = current.as_mut() else {
            continue;
        };
        if let Some((caps, i)) = rules
            .last_line
            .as_ref()
            .and_then(|last| first_match(last, line).map(|(c, i)| (c, &last[i])))
        {
            row.add(text, line_at, &caps, i, rows);
            out.extend(current.take().filter(|r| !r.is_empty()));
            continue;
        }
        if rules.first_line.is_some() {
            if let Some((caps, i)) = first_match(&rules.line, line) {
                row.add(text, line_at, &caps, &rules.line[i], rows);
            }
        }
    }
    out.extend(current.filter(|r| !r.is_empty()));
    out
}
