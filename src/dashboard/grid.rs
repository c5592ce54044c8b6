//! A lines field's rows as the dashboard shows and edits them: one column per
//! row member, every cell as text, each row with its confidence.

use serde_json::{Map, Value};

use super::form::Form;
use crate::spec::Locator;
use crate::templates::LoadedTemplate;

pub struct Grid {
    pub columns: Vec<String>,
    pub rows: Vec<GridRow>,
}

pub struct GridRow {
    pub cells: Vec<String>,
    /// The row's confidence (its least sure cell) as a percentage, or empty.
    pub confidence: String,
    /// Read with little confidence: where a reviewer looks first.
    pub weak: bool,
}

/// Rows read with less confidence than this are marked for the reviewer.
const WEAK_BELOW: f64 = 0.7;

impl Grid {
    /// `value` when it is a list of rows: under the template's columns, or the
    /// rows' own members when the template no longer has the field.
    pub fn of(
        value: &Value,
        columns: Option<Vec<String>>,
        confidences: Option<&Value>,
    ) -> Option<Self> {
        let items = value.as_array()?;
        let objects: Vec<&Map<String, Value>> =
            items.iter().map(Value::as_object).collect::<Option<_>>()?;
        if objects.is_empty() && columns.is_none() {
            return None;
        }
        let columns = columns.unwrap_or_else(|| {
            let mut seen: Vec<String> = Vec::new();
            for key in objects.iter().flat_map(|o| o.keys()) {
                if !seen.contains(key) {
                    seen.push(key.clone());
                }
            }
            seen
        });
        let sureness = |i: usize| confidences.and_then(|c| c.get(i)).and_then(Value::as_f64);
        let rows = objects
            .iter()
            .enumerate()
            .map(|(i, o)| GridRow {
                cells: columns.iter().map(|c| cell_text(o.get(c))).collect(),
                confidence: sureness(i)
                    .map(|c| format!("{:.0}%", c * 100.0))
                    .unwrap_or_default(),
                weak: sureness(i).is_some_and(|c| c < WEAK_BELOW),
            })
            .collect();
        Some(Self { columns, rows })
    }

    /// The column names as JSON, for the review form.
    pub fn columns_json(&self) -> String {
        Value::from(self.columns.clone()).to_string()
    }

    /// The cells as text, row by row, as JSON: what a review form's rows are
    /// compared with to tell whether the reviewer changed any.
    pub fn texts_json(&self) -> String {
        let texts: Vec<Vec<String>> = self.rows.iter().map(|r| r.cells.clone()).collect();
        serde_json::to_string(&texts).unwrap_or_default()
    }
}

/// The column names of `template`'s lines field `name`.
pub fn columns_of(template: Option<&LoadedTemplate>, name: &str) -> Option<Vec<String>> {
    let field = template?.compiled.fields.iter().find(|f| f.name == name)?;
    match &field.locator {
        Locator::Rows(rows) => Some(rows.columns.iter().map(|(c, _)| c.clone()).collect()),
        _ => None,
    }
}

/// A cell as the reviewer sees and types it.
pub fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The rows a review form holds for field `name`: inputs
/// `cell.{name}.{row}.{column}` in row order, without the rows ticked
/// `delete.{name}.{row}` and the blank ones (the empty row offered for adding).
pub fn rows_from_form(form: &Form, name: &str, columns: &[String]) -> Vec<Vec<String>> {
    let prefix = format!("cell.{name}.");
    let mut numbers: Vec<usize> = form
        .names_with_prefix(&prefix)
        .iter()
        .filter_map(|(rest, _)| rest.split('.').next()?.parse().ok())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .filter(|i| !form.checked(&format!("delete.{name}.{i}")))
        .map(|i| {
            columns
                .iter()
                .map(|c| {
                    form.text(&format!("cell.{name}.{i}.{c}"))
                        .trim()
                        .to_string()
                })
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.iter().any(|c| !c.is_empty()))
        .collect()
}

/// Rows of text cells as the value an edit sends: empty cells are `null`,
/// the rest are parsed by the field's column types when saved.
pub fn as_value(columns: &[String], rows: &[Vec<String>]) -> Value {
    Value::Array(
        rows.iter()
            .map(|cells| {
                let row: Map<String, Value> = columns
                    .iter()
                    .zip(cells)
                    .map(|(c, v)| {
                        let v = if v.is_empty() {
                            Value::Null
                        } else {
                            Value::String(v.clone())
                        };
                        (c.clone(), v)
                    })
                    .collect();
                Value::Object(row)
            })
            .collect(),
    )
}
