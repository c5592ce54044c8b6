//! Tables (SPEC §2.2 `table`): rows cut from the lines under a header line by
//! the words' positions, for text layers and OCR alike.

use regex::Regex;

use super::RawRow;
use crate::extraction::document::{Line, Page, Word};
use crate::extraction::rules::Located;
use crate::spec::Table;

/// The physical lines of a page: the lines of each row together, left to right.
fn physical_lines(page: &Page) -> Vec<Vec<&Line>> {
    let mut out: Vec<Vec<&Line>> = Vec::new();
    for line in &page.lines {
        match out.last_mut() {
            Some(last) if last[0].row == line.row => last.push(line),
            _ => out.push(vec![line]),
        }
    }
    out
}

/// A physical line's words and its text, single-spaced, with each word's byte offset.
fn joined<'p>(lines: &[&'p Line]) -> (Vec<&'p Word>, String, Vec<usize>) {
    let words: Vec<&Word> = lines.iter().flat_map(|l| &l.words).collect();
    let mut text = String::new();
    let mut offsets = Vec::with_capacity(words.len());
    for w in &words {
        if !text.is_empty() {
            text.push(' ');
        }
        offsets.push(text.len());
        text.push_str(&w.text);
    }
    (words, text, offsets)
}

/// The left edge of each label on the header line, in column order; `None`
/// when a label is missing.
fn header(lines: &[&Line], labels: &[Regex]) -> Option<Vec<f32>> {
    let (words, text, offsets) = joined(lines);
    labels
        .iter()
        .map(|label| {
            let m = label.find(&text)?;
            let i = offsets.iter().rposition(|o| *o <= m.start())?;
            Some(words[i].left)
        })
        .collect()
}

/// A table on one page: under each header line, the lines up to `end` cut
/// into the columns; a line with nothing in the rightmost column continues
/// the row above (on a scan, only when it holds little else).
pub(super) fn by_columns(page: &Page, table: &Table, columns: usize) -> Vec<RawRow> {
    let lines = physical_lines(page);
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lefts) = header(&lines[i], &table.labels) else {
            i += 1;
            continue;
        };
        // Columns in the order they are printed, each up to the next one's label.
        let mut order: Vec<usize> = (0..columns).collect();
        order.sort_by(|a, b| lefts[*a].total_cmp(&lefts[*b]));
        let column_of = |w: &Word| {
            let (cx, _) = w.centre();
            let k = order.iter().rposition(|c| lefts[*c] <= cx).unwrap_or(0);
            order[k]
        };
        let rightmost = *order.last().expect("a table has columns");
        let mut current: Option<RawRow> = None;
        i += 1;
        while i < lines.len() {
            let (words, text, _) = joined(&lines[i]);
            if table.end.as_ref().is_some_and(|e| e.is_match(&text)) {
                break;
            }
            if header(&lines[i], &table.labels).is_some() {
                break;
            }
            i += 1;
            let mut cells: Vec<Vec<&Word>> = vec![Vec::new(); columns];
            for w in words {
                cells[column_of(w)].push(w);
            }
            // Nothing in the last column: a wrapped cell of the row above. On a
            // scan, a line filling half the columns or more starts a row even
            // so: its last value is one OCR dropped, left empty to be read again.
            let filled = cells.iter().filter(|c| !c.is_empty()).count();
            let dropped = page.scan.is_some() && filled > 1 && filled * 2 >= columns;
            let starts_row = !cells[rightmost].is_empty() || dropped;
            let row = match (&mut current, starts_row) {
                (_, true) => {
                    out.extend(current.take());
                    current.insert(RawRow::new(columns))
                }
                (Some(row), false) => row,
                (None, false) => continue,
            };
            for (c, words) in cells.into_iter().enumerate() {
                if words.is_empty() {
                    continue;
                }
                let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
                let piece = Located::from_words(text.join(" "), page, words);
                // A wrapped cell is one value, whatever its type ("1" above "234.00").
                row.cells[c] = match row.cells[c].pop() {
                    Some(above) => vec![Located::joined(&[above, piece], " ")],
                    None => vec![piece],
                };
            }
        }
        out.extend(current);
    }
    out
}
