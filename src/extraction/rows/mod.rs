//! Line items (SPEC §2.2): the rows of a `lines` field, found by regexes over
//! each page's text or cut from a table by word positions, each cell typed.

use regex::{Captures, Regex};
use serde_json::{Map, Value};

use super::document::Document;
use super::rules::{parse_located, Area, FieldResult, Located, RowDetail};
use super::search::located;
use super::text::Text;
use super::values::Parsing;
use crate::spec::{Compiled, Field, FieldType, RowFinder, Rows};

mod lines;
mod table;
mod units;

/// The rows of a lines field in `doc`: `[]` when none is found.
pub fn find(
    doc: &Document,
    field: &Field,
    rows: &Rows,
    compiled: &Compiled,
    how: &Parsing,
) -> FieldResult {
    let pages = |only: Option<u32>| {
        doc.pages
            .iter()
            .filter(move |p| field.page.is_none_or(|n| p.number == n))
            .filter(move |p| only.is_none_or(|n| p.number == n))
    };
    let mut raw: Vec<RawRow> = Vec::new();
    match &rows.finder {
        RowFinder::Lines(sets) => {
            let text =
                Text::read(pages(None), compiled.text.layout, |_, _| true).prepared(&compiled.text);
            for rules in sets {
                for range in lines::blocks(&text.text, &rules.start, rules.end.as_ref()) {
                    raw.extend(lines::by_lines(&text, range, rules, rows));
                }
            }
        }
        RowFinder::Table(table) => {
            for page in pages(table.page) {
                raw.extend(table::by_columns(page, table, rows.columns.len()));
            }
        }
    }
    typed(raw, rows, how)
}

/// A row as found: each column's located pieces, in column order, and
/// which columns a regex the row matched names.
struct RawRow {
    cells: Vec<Vec<Located>>,
    named: Vec<bool>,
}

impl RawRow {
    fn new(columns: usize) -> Self {
        Self {
            cells: (0..columns).map(|_| Vec::new()).collect(),
            named: vec![false; columns],
        }
    }

    fn is_empty(&self) -> bool {
        self.cells.iter().all(Vec::is_empty)
    }

    /// Adds the named groups of a match of `line`, which starts at byte `at` of `text`.
    fn add(&mut self, text: &Text, at: usize, caps: &Captures, re: &Regex, rows: &Rows) {
        for name in re.capture_names().flatten() {
            let Some(i) = rows.columns.iter().position(|(n, _)| n == name) else {
                continue;
            };
            self.named[i] = true;
            let Some(m) = caps.name(name) else {
                continue;
            };
            let value = m.as_str().trim();
            if !value.is_empty() {
                self.cells[i].push(located(text, at + m.start()..at + m.end(), value));
            }
        }
    }
}

/// Typed rows: string cells joined by a space, others from their first piece.
fn typed(raw: Vec<RawRow>, rows: &Rows, how: &Parsing) -> FieldResult {
    let mut values = Vec::with_capacity(raw.len());
    let mut details = Vec::with_capacity(raw.len());
    for row in raw {
        let mut object = Map::new();
        let mut detail = RowDetail::default();
        let mut area: Option<Area> = None;
        for (((name, ty), pieces), named) in rows.columns.iter().zip(row.cells).zip(row.named) {
            if pieces.is_empty() {
                let default = rows.defaults.get(name).filter(|_| named);
                object.insert(name.clone(), default.cloned().unwrap_or(Value::Null));
                continue;
            }
            for piece in &pieces {
                area = match (area, piece.area) {
                    (Some(a), Some(b)) => Some(a.union(&b)),
                    (a, b) => a.or(b),
                };
            }
            let cell = match ty {
                FieldType::String => Located::joined(&pieces, " "),
                _ => pieces.into_iter().next().expect("not empty"),
            };
            let r = parse_located(&cell, *ty, how);
            if r.unparsed {
                detail.unparsed.push(name.clone());
            }
            detail.confidence = match (detail.confidence, r.confidence) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            object.insert(name.clone(), r.value);
        }
        for (code, unit) in &rows.unit_codes {
            if object.get(code).is_none_or(Value::is_null) {
                let found = object
                    .get(unit)
                    .and_then(Value::as_str)
                    .and_then(units::unece);
                object.insert(code.clone(), found.map_or(Value::Null, Value::from));
            }
        }
        detail.area = area;
        values.push(Value::Object(object));
        details.push(detail);
    }
    FieldResult {
        confidence: details.iter().filter_map(|d| d.confidence).reduce(f32::min),
        area: details.iter().find_map(|d| d.area),
        unparsed: false,
        note: None,
        value: Value::Array(values),
        rows: Some(details),
    }
}

#[cfg(test)]
mod tests;
