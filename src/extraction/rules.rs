//! Template rules (SPEC §2) applied to a document: pure, no I/O.

use serde_json::{Map, Value};

use super::document::{Document, Line, Page};
pub use super::located::{Area, FieldResult, Located, RowDetail};
use super::values::{self, Parsing};
use super::{cleanup, search};
use crate::spec::{Compiled, Direction, Field, FieldType, Locator, Matches, Options};
use crate::types::ResultStatus;

/// What a template yields for one document.
#[derive(Clone, Debug, PartialEq)]
pub struct Extracted {
    /// Every field of the template, in template order; `null` where nothing was found or parsed.
    pub values: Map<String, Value>,
    /// For each field, the lowest confidence (0 to 1) of the words its value came from; `null` without a value.
    pub confidences: Map<String, Value>,
    /// For each field, where its text was found (also when it did not parse):
    /// `{page, x, y, width, height}` as page fractions; `null` when nothing was found.
    pub boxes: Map<String, Value>,
    /// Names of the fields whose located text did not parse as their type.
    pub warnings: Vec<String>,
    /// A required field is `null`, or below the template's `min_confidence`.
    pub needs_review: bool,
}

impl Extracted {
    pub fn result_status(&self) -> ResultStatus {
        if self.needs_review {
            ResultStatus::NeedsReview
        } else {
            ResultStatus::Ok
        }
    }
}

/// Locates and parses every field and block of the template in `doc`.
pub fn extract(doc: &Document, compiled: &Compiled, options: &Options) -> Extracted {
    let results = compiled
        .fields
        .iter()
        .map(|f| evaluate(doc, f, compiled, options))
        .collect();
    Extracted::assemble(compiled, results, blocks(doc, compiled, options), options)
}

/// The values of the template's blocks, one per named group.
pub fn blocks(doc: &Document, compiled: &Compiled, options: &Options) -> Vec<FieldResult> {
    if compiled.blocks.is_empty() {
        return Vec::new();
    }
    let how = Parsing {
        decimal: options.decimal(),
        dates: &compiled.dates,
        field_formats: &[],
    };
    search::blocks(doc, compiled, &how)
}

/// Locates and parses one field; OCR text is cleaned first.
pub fn evaluate(
    doc: &Document,
    field: &Field,
    compiled: &Compiled,
    options: &Options,
) -> FieldResult {
    let how = Parsing {
        decimal: options.decimal(),
        dates: &compiled.dates,
        field_formats: &field.date_formats,
    };
    let patterns = match &field.locator {
        Locator::Constant(c) => return search::constant(&c.text(), field, &how),
        Locator::Rows(rows) => return super::rows::find(doc, field, rows, compiled, &how),
        Locator::Regex(patterns) => patterns,
        _ => {
            return match locate(doc, field).filter(|l| !l.text.trim().is_empty()) {
                Some(located) => parse_located(&located, field.ty, &how),
                None => FieldResult::nothing(),
            }
        }
    };
    let every = field.matches != Matches::First;
    let mut found = search::find(doc, field, patterns, compiled, every);
    found.retain(|l| !l.text.trim().is_empty());
    if found.is_empty() {
        return FieldResult::nothing();
    }
    let integral = field.ty == FieldType::Integer;
    let parse_all = |found: &[Located]| -> Vec<FieldResult> {
        found
            .iter()
            .map(|l| parse_located(l, field.ty, &how))
            .collect()
    };
    match field.matches {
        Matches::First => parse_located(&found[0], field.ty, &how),
        Matches::Last => parse_located(found.last().expect("not empty"), field.ty, &how),
        Matches::All => FieldResult::list(parse_all(&found)),
        Matches::Min | Matches::Max if field.ty == FieldType::Date => {
            let results = parse_all(&found);
            // ISO dates order as text.
            let dates = results.iter().filter_map(|r| r.value.as_str());
            let pick = match field.matches {
                Matches::Min => dates.min(),
                _ => dates.max(),
            }
            .map(|d| Value::String(d.to_string()));
            FieldResult {
                unparsed: pick.is_none(),
                value: pick.unwrap_or(Value::Null),
                ..FieldResult::list(results)
            }
        }
        Matches::Sum | Matches::Min | Matches::Max => {
            let results = parse_all(&found);
            let numbers = search::numbers(&results);
            let value = match field.matches {
                _ if numbers.is_empty() => None,
                Matches::Sum => Some(numbers.iter().sum::<f64>()),
                Matches::Min => numbers.iter().copied().reduce(f64::min),
                _ => numbers.iter().copied().reduce(f64::max),
            };
            FieldResult {
                value: value.map_or(Value::Null, |v| search::number(v, integral)),
                unparsed: value.is_none(),
                ..FieldResult::list(results)
            }
        }
        Matches::Join => parse_located(&Located::joined(&found, " "), field.ty, &how),
        Matches::Unique => {
            let mut distinct: Vec<Located> = Vec::new();
            for l in found {
                if !distinct.iter().any(|d| d.text.trim() == l.text.trim()) {
                    distinct.push(l);
                }
            }
            let mut results = parse_all(&distinct);
            match results.len() {
                1 => results.remove(0),
                _ => FieldResult::list(results),
            }
        }
    }
}

/// Parses located text as `ty`; OCR text is cleaned first.
pub fn parse_located(located: &Located, ty: FieldType, how: &Parsing) -> FieldResult {
    let (text, mut note) = if located.scanned {
        let mut cleaned = cleanup::clean(&located.text, &located.words, ty);
        if ty == FieldType::Number {
            if let Some(fixed) = cleanup::lost_decimal(&cleaned.text, how.decimal) {
                cleaned.note = Some(cleanup::note(&located.text, &fixed));
                cleaned.text = fixed;
            }
        }
        (cleaned.text, cleaned.note)
    } else {
        (located.text.clone(), None)
    };
    let parse = |t: &str| values::parse(ty, t, how);
    let digits_wanted = matches!(ty, FieldType::Number | FieldType::Integer | FieldType::Date);
    let parsed = parse(&text).or_else(|| {
        // A value of look-alikes only ("lO") is read as digits when nothing else parses.
        let digits = cleanup::as_digits(&text).filter(|_| located.scanned && digits_wanted)?;
        let value = parse(&digits)?;
        note = Some(cleanup::note(&located.text, &digits));
        Some(value)
    });
    match parsed {
        Some(value) => FieldResult {
            value,
            confidence: located.confidence,
            area: located.area,
            note,
            ..FieldResult::nothing()
        },
        None => FieldResult {
            area: located.area,
            unparsed: true,
            note,
            ..FieldResult::nothing()
        },
    }
}

impl Extracted {
    /// The file's result from each field's, in template order, then each block group's.
    pub fn assemble(
        compiled: &Compiled,
        results: Vec<FieldResult>,
        blocks: Vec<FieldResult>,
        options: &Options,
    ) -> Self {
        let mut out = Extracted {
            values: Map::new(),
            confidences: Map::new(),
            boxes: Map::new(),
            warnings: Vec::new(),
            needs_review: false,
        };
        let required = compiled
            .fields
            .iter()
            .map(|f| f.required)
            .chain(std::iter::repeat(false));
        let all = results.into_iter().chain(blocks);
        for ((name, required), r) in compiled.names().zip(required).zip(all) {
            if r.unparsed {
                out.warnings.push(name.to_string());
            }
            if let Some(rows) = &r.rows {
                out.add_rows(name, required, rows);
                out.values.insert(name.to_string(), r.value);
                continue;
            }
            if let Some(note) = &r.note {
                out.warnings.push(format!("{name}: {note}"));
            }
            let area = r.area.and_then(|a| serde_json::to_value(a).ok());
            out.boxes
                .insert(name.to_string(), area.unwrap_or(Value::Null));
            if required && (r.value.is_null() || r.unsure(options.min_confidence)) {
                out.needs_review = true;
            }
            let rounded = r
                .confidence
                .map(|c| (f64::from(c) * 1000.0).round() / 1000.0);
            out.confidences
                .insert(name.to_string(), rounded.map_or(Value::Null, Value::from));
            out.values.insert(name.to_string(), r.value);
        }
        for check in &compiled.checks {
            if let Some(warning) = check.failure(&out.values) {
                out.warnings.push(warning);
                out.needs_review = true;
            }
        }
        out
    }
}

impl Extracted {
    /// A lines field's rows: a confidence and a box per row, a warning per
    /// cell that did not parse; a required field needs rows.
    fn add_rows(&mut self, name: &str, required: bool, rows: &[RowDetail]) {
        let mut confidences = Vec::with_capacity(rows.len());
        let mut boxes = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            for column in &row.unparsed {
                self.warnings.push(format!("{name}[{i}].{column}"));
            }
            confidences.push(row.confidence.map_or(Value::Null, |c| {
                Value::from((f64::from(c) * 1000.0).round() / 1000.0)
            }));
            boxes.push(
                row.area
                    .and_then(|a| serde_json::to_value(a).ok())
                    .unwrap_or(Value::Null),
            );
        }
        if required && rows.is_empty() {
            self.needs_review = true;
        }
        self.confidences
            .insert(name.to_string(), Value::Array(confidences));
        self.boxes.insert(name.to_string(), Value::Array(boxes));
    }
}

/// The raw text an anchor or zone points at, if any (regex fields are found by [`search::find`]).
pub fn locate(doc: &Document, field: &Field) -> Option<Located> {
    match &field.locator {
        Locator::Regex(_) | Locator::Constant(_) | Locator::Rows(_) => None,
        Locator::Anchor { matcher, direction } => {
            let pages = doc
                .pages
                .iter()
                .filter(|p| field.page.is_none_or(|n| p.number == n));
            pages
                .flat_map(|p| p.lines.iter().enumerate().map(move |(i, l)| (p, i, l)))
                .find_map(|(page, i, line)| {
                    let m = matcher.find(&line.text)?;
                    Some(match direction {
                        Direction::Right => right_of(page, i, line, m.end()),
                        Direction::Below => below(page, line, m.start(), m.end()),
                    })
                })
                .flatten()
        }
        Locator::Zone(z) => {
            let page = doc.page(z.page)?;
            let words = page.words_in(z.x, z.y, z.width, z.height);
            let parts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
            Some(Located::from_words(
                parts.join(" "),
                page,
                words.iter().copied(),
            ))
        }
    }
}

/// The rest of the label's line after any `:`; when the label ends its line, the
/// next line on the same row (a value set apart by a column gap).
fn right_of(page: &Page, index: usize, line: &Line, end: usize) -> Option<Located> {
    let rest = line.text[end..].trim_start_matches(|c: char| c.is_whitespace() || c == ':');
    let next = page
        .lines
        .get(index + 1)
        .filter(|next| next.row == line.row);
    // Punctuation left over after the label ("Date:." on a scan) is not a value
    // when one follows across a column gap.
    let leftover = next.is_some() && cleanup::speck_punctuation(rest);
    if !(rest.trim().is_empty() || leftover) {
        let words = line
            .words
            .iter()
            .zip(&line.offsets)
            .filter(|(w, off)| *off + w.text.len() > end)
            .map(|(w, _)| w);
        return Some(Located::from_words(rest.to_string(), page, words));
    }
    next.map(|next| Located::from_words(next.text.clone(), page, &next.words))
}

/// The nearest line under the label that overlaps the label's words horizontally.
fn below(page: &Page, line: &Line, start: usize, end: usize) -> Option<Located> {
    let (left, right) = line.span_x(start, end);
    let label_bottom = line.bottom;
    let slack = (line.bottom - line.top) * 0.3;
    page.lines
        .iter()
        .filter(|l| l.row != line.row && l.top >= label_bottom - slack)
        .filter(|l| l.left <= right && l.right >= left)
        .min_by(|a, b| a.top.total_cmp(&b.top))
        .map(|l| Located::from_words(l.text.clone(), page, &l.words))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::extraction::document::Word;
    use crate::spec::parse_fields;
    use serde_json::json;

    /// A page of 600×800 units from `(text, left, top)` with 10-unit-high text and
    /// 6 units per character, so that layout is explicit in each case.
    pub(crate) fn page(number: u32, items: &[(&str, f32, f32)]) -> Page {
        let mut words = Vec::new();
        for (text, left, top) in items {
            let mut x = *left;
            for w in text.split(' ') {
                let width = 6.0 * w.chars().count() as f32;
                words.push(Word::new(w, x, *top, x + width, top + 10.0));
                x += width + 4.0;
            }
        }
        Page::from_words(number, 600.0, 800.0, words)
    }

    fn invoice() -> Document {
        Document {
            pages: vec![
                page(
                    1,
                    &[
                        ("ACME Supplies Ltd", 40.0, 30.0),
                        ("Invoice No: INV-2026-001", 40.0, 100.0),
                        ("Date: 03/02/2026", 40.0, 120.0),
                        ("Total due", 400.0, 300.0),
                        ("1.234,56", 400.0, 315.0),
                        ("Paid", 40.0, 340.0),
                        ("yes", 300.0, 340.0),
                        ("Amount (12.00)", 40.0, 360.0),
                        ("Qty: 1,250", 40.0, 380.0),
                        ("Due date: soon", 40.0, 400.0),
                    ],
                ),
                page(
                    2,
                    &[
                        ("Notes", 40.0, 40.0),
                        ("Reference REF-77", 40.0, 700.0),
                        ("Total due", 40.0, 720.0),
                        ("999.00", 40.0, 735.0),
                    ],
                ),
            ],
        }
    }

    fn run(fields: serde_json::Value, options: Options) -> Extracted {
        on(&invoice(), fields, options)
    }

    fn on(doc: &Document, fields: serde_json::Value, options: Options) -> Extracted {
        let (_, fields) = parse_fields(&fields).unwrap();
        extract(doc, &Compiled::of_fields(fields), &options)
    }

    fn comma() -> Options {
        Options {
            decimal_separator: ",".into(),
            ..Options::default()
        }
    }

    #[test]
    fn every_locator_and_type() {
        struct Case {
            field: serde_json::Value,
            options: Options,
            want: serde_json::Value,
            warning: bool,
        }
        let case = |field, want, warning| Case {
            field,
            options: Options::default(),
            want,
            warning,
        };
        let cases = vec![
            case(
                json!({"name": "n", "type": "string", "regex": "Invoice\\s*No:?\\s*([A-Z0-9-]+)"}),
                json!("INV-2026-001"),
                false,
            ),
            case(
                json!({"name": "n", "type": "string", "regex": "INV-\\d+"}),
                json!("INV-2026"),
                false,
            ),
            case(
                json!({"name": "n", "type": "string", "regex": "REF-(\\d+)", "page": 1}),
                json!(null),
                false,
            ),
            case(
                json!({"name": "n", "type": "integer", "regex": "REF-(\\d+)", "page": 2}),
                json!(77),
                false,
            ),
            case(
                json!({"name": "d", "type": "date", "anchor": "date", "direction": "right", "date_formats": ["%d/%m/%Y"]}),
                json!("2026-02-03"),
                false,
            ),
            case(
                json!({"name": "p", "type": "boolean", "anchor": "Paid", "direction": "right"}),
                json!(true),
                false,
            ),
            case(
                json!({"name": "a", "type": "number", "anchor": "Amount", "direction": "right"}),
                json!(-12.0),
                false,
            ),
            case(
                json!({"name": "q", "type": "integer", "anchor": "Qty", "direction": "right"}),
                json!(1250),
                false,
            ),
            case(
                json!({"name": "x", "type": "string", "anchor": "Missing label", "direction": "right"}),
                json!(null),
                false,
            ),
            case(
                json!({"name": "dd", "type": "date", "anchor": "Due date", "direction": "right"}),
                json!(null),
                true,
            ),
            case(
                json!({"name": "v", "type": "string", "zone": {"page": 1, "x": 0.0, "y": 0.0, "width": 0.5, "height": 0.06}}),
                json!("ACME Supplies Ltd"),
                false,
            ),
            case(
                json!({"name": "r", "type": "string", "zone": {"page": 2, "x": 0.0, "y": 0.85, "width": 0.5, "height": 0.05}}),
                json!("Reference REF-77"),
                false,
            ),
            case(
                json!({"name": "e", "type": "string", "zone": {"page": 3, "x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0}}),
                json!(null),
                false,
            ),
            Case {
                field: json!({"name": "t", "type": "number", "anchor": "Total due", "direction": "below"}),
                options: comma(),
                want: json!(1234.56),
                warning: false,
            },
            case(
                json!({"name": "t", "type": "number", "anchor": "total DUE", "direction": "below", "page": 2}),
                json!(999.0),
                false,
            ),
            case(
                json!({"name": "t", "type": "number", "anchor": "Total due", "direction": "below"}),
                json!(null),
                true,
            ),
        ];
        for c in cases {
            let name = c.field["name"].as_str().unwrap().to_string();
            let got = run(json!([c.field.clone()]), c.options);
            assert_eq!(got.values[&name], c.want, "{}", c.field);
            assert_eq!(got.warnings.contains(&name), c.warning, "{}", c.field);
        }
    }

    #[test]
    fn anchor_is_a_whole_word_and_the_first_occurrence_wins() {
        let doc = Document {
            pages: vec![page(
                1,
                &[
                    ("Subtotal: 5", 40.0, 10.0),
                    ("Total: 7", 40.0, 30.0),
                    ("Total: 9", 40.0, 50.0),
                ],
            )],
        };
        let (_, fields) =
            parse_fields(&json!([{"name": "t", "type": "integer", "anchor": "Total"}])).unwrap();
        assert_eq!(
            extract(&doc, &Compiled::of_fields(fields), &Options::default()).values["t"],
            json!(7)
        );
    }

    #[test]
    fn right_takes_a_value_across_a_column_gap() {
        let doc = Document {
            pages: vec![page(
                1,
                &[("Balance", 40.0, 10.0), ("$ 42.10", 400.0, 10.0)],
            )],
        };
        let (_, fields) =
            parse_fields(&json!([{"name": "b", "type": "number", "anchor": "Balance"}])).unwrap();
        assert_eq!(
            extract(&doc, &Compiled::of_fields(fields), &Options::default()).values["b"],
            json!(42.1)
        );
    }

    #[test]
    fn regex_reads_physical_lines_and_anchors_keep_columns() {
        let doc = Document {
            pages: vec![page(
                1,
                &[
                    ("Discount (5%)", 380.0, 100.0),
                    ("(12.50)", 530.0, 100.0),
                    ("Note No.:", 40.0, 130.0),
                    ("AB-1234", 300.0, 130.0),
                    ("Total 5", 40.0, 160.0),
                    ("Tax 3", 400.0, 160.0),
                ],
            )],
        };
        // (field, value)
        let cases = [
            (
                json!({"name": "f", "type": "number", "regex": "Discount[^\\n]*?(\\([0-9.,]+\\))"}),
                json!(-12.5),
            ),
            (
                json!({"name": "f", "type": "string", "regex": "Note No\\.:\\s*([A-Z]{2}-\\d{4})"}),
                json!("AB-1234"),
            ),
            (
                json!({"name": "f", "type": "string", "regex": "Total (.*)"}),
                json!("5 Tax 3"),
            ),
            (
                json!({"name": "f", "type": "string", "anchor": "Total"}),
                json!("5"),
            ),
            (
                json!({"name": "f", "type": "string", "anchor": "Note No."}),
                json!("AB-1234"),
            ),
        ];
        for (field, want) in cases {
            let (_, fields) = parse_fields(&json!([field.clone()])).unwrap();
            let got = extract(&doc, &Compiled::of_fields(fields), &Options::default());
            assert_eq!(got.values["f"], want, "{field}");
        }
    }

    #[test]
    fn required_null_needs_review_and_values_keep_template_order() {
        let got = run(
            json!([
                {"name": "z_last", "type": "string", "regex": "ACME"},
                {"name": "missing", "type": "string", "regex": "NOPE", "required": true},
                {"name": "a_first", "type": "string", "regex": "Notes"}
            ]),
            Options::default(),
        );
        assert!(got.needs_review);
        assert_eq!(got.result_status(), ResultStatus::NeedsReview);
        let keys: Vec<&String> = got.values.keys().collect();
        assert_eq!(keys, ["z_last", "missing", "a_first"]);
    }

    #[test]
    fn regex_sees_pages_joined_by_form_feed() {
        let got = run(
            json!([{"name": "s", "type": "string", "regex": "(?s)Question (.*)"}]),
            Options::default(),
        );
        assert!(got.values["s"].is_null());
        let got = run(
            json!([{"name": "s", "type": "string", "regex": "due\\n1\\.234,56\\n"}]),
            Options::default(),
        );
        assert_eq!(got.values["s"], json!("due\n1.234,56"));
        let got = run(
            json!([{"name": "s", "type": "string", "regex": "soon\\x0cNotes"}]),
            Options::default(),
        );
        assert_eq!(got.values["s"], json!("soon\u{c}Notes"));
    }
}
