//! A lines field's rows as the dashboard shows and edits them: one column per
//! row member, every cell as text, each row with its confidence.

use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// `value` when it is a list of rows: under the template's columns and
    /// any other member the rows hold.
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
        // The template's columns, then any the rows hold that it no longer has:
        // nothing stored is hidden from the reviewer.
        let mut columns = columns.unwrap_or_default();
        for key in objects.iter().flat_map(|o| o.keys()) {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
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

/// Most columns one grid of a review form may have.
const MAX_COLUMNS: usize = 200;
/// Highest row number a review form may send for one grid.
const MAX_ROWS: usize = 20_000;

/// The rows a review form holds for field `name` (`cell.{name}.{row}.{column}`
/// under `columns.{name}`, beside the stored rows as JSON in `original.{name}`),
/// as the value an edit sends; `None` when the reviewer changed nothing in it.
/// A cell left as shown keeps its stored value (a number stays a number,
/// whatever the template's decimal sign); a changed one is text, parsed by its
/// column's type when saved, or `null` when emptied. Rows ticked
/// `delete.{name}.{row}` are left out, and so are new rows left empty.
pub fn edited_rows(form: &Form, name: &str) -> Result<Option<Value>, String> {
    let Some(columns) = form.get(&format!("columns.{name}")) else {
        return Ok(None);
    };
    let columns: Vec<String> = serde_json::from_str(columns)
        .map_err(|_| format!("columns.{name}: not a list of column names"))?;
    if columns.len() > MAX_COLUMNS {
        return Err(format!("{name}: more than {MAX_COLUMNS} columns"));
    }
    let stored: Vec<Value> = form
        .get(&format!("original.{name}"))
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    // One pass over the form, whatever its size: the cells by row, then column.
    let mut typed: BTreeMap<usize, HashMap<&str, &str>> = BTreeMap::new();
    let prefix = format!("cell.{name}.");
    for (rest, v) in form.pairs_with_prefix(&prefix) {
        let Some((row, column)) = rest.split_once('.') else {
            continue;
        };
        let Ok(row) = row.parse::<usize>() else {
            continue;
        };
        if row >= MAX_ROWS {
            return Err(format!("{name}: more than {MAX_ROWS} rows"));
        }
        typed.entry(row).or_default().insert(column, v.trim());
    }
    let deleted: HashSet<usize> = form
        .pairs_with_prefix(&format!("delete.{name}."))
        .filter_map(|(row, _)| row.parse().ok())
        .collect();
    let mut rows = Vec::new();
    for (i, cells) in typed {
        let before = stored.get(i).and_then(Value::as_object);
        if deleted.contains(&i) || (before.is_none() && cells.values().all(|t| t.is_empty())) {
            continue;
        }
        let mut row = Map::new();
        for column in &columns {
            let text = cells.get(column.as_str()).copied().unwrap_or("");
            let was = before.and_then(|b| b.get(column));
            let value = match was {
                Some(v) if cell_text(Some(v)).trim() == text => v.clone(),
                _ if text.is_empty() => Value::Null,
                _ => Value::String(text.to_string()),
            };
            // A column the stored row never had stays out unless filled in.
            if was.is_some() || !value.is_null() {
                row.insert(column.clone(), value);
            }
        }
        rows.push(Value::Object(row));
    }
    let value = Value::Array(rows);
    Ok((value != Value::Array(stored)).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> String {
        json!([
            {"description": "Oak boards", "amount": 1.5, "note": null},
            {"description": "Dowels", "amount": 2.25, "note": null},
        ])
        .to_string()
    }

    /// The form a review page sends for the stored rows, with `cells` typed over.
    fn form(cells: &[(&str, &str)]) -> Form {
        let stored = stored();
        let mut pairs = vec![
            ("columns.items", r#"["description","amount","note"]"#),
            ("original.items", stored.as_str()),
            ("cell.items.0.description", "Oak boards"),
            ("cell.items.0.amount", "1.5"),
            ("cell.items.0.note", ""),
            ("cell.items.1.description", "Dowels"),
            ("cell.items.1.amount", "2.25"),
            ("cell.items.1.note", ""),
            ("cell.items.2.description", ""),
            ("cell.items.2.amount", ""),
            ("cell.items.2.note", ""),
        ];
        for (k, v) in cells {
            pairs.retain(|(key, _)| key != k);
            pairs.push((k, v));
        }
        Form::of(&pairs)
    }

    #[test]
    fn rows_left_as_shown_are_no_edit() {
        assert_eq!(edited_rows(&form(&[]), "items"), Ok(None));
        assert_eq!(edited_rows(&form(&[]), "other"), Ok(None));
    }

    #[test]
    fn an_edited_cell_is_text_and_the_rest_keep_their_stored_values() {
        let got = edited_rows(&form(&[("cell.items.1.amount", "2,50")]), "items").unwrap();
        assert_eq!(
            got,
            Some(json!([
                {"description": "Oak boards", "amount": 1.5, "note": null},
                {"description": "Dowels", "amount": "2,50", "note": null},
            ]))
        );
    }

    #[test]
    fn deleted_rows_go_and_the_empty_row_adds_one_when_filled() {
        let got = edited_rows(
            &form(&[
                ("delete.items.0", "on"),
                ("cell.items.2.description", "Glue"),
            ]),
            "items",
        )
        .unwrap();
        assert_eq!(
            got,
            Some(json!([
                {"description": "Dowels", "amount": 2.25, "note": null},
                {"description": "Glue"},
            ]))
        );
    }

    #[test]
    fn a_stored_row_of_empty_cells_is_kept() {
        let empty = json!([{"description": null}]).to_string();
        let f = Form::of(&[
            ("columns.items", r#"["description"]"#),
            ("original.items", &empty),
            ("cell.items.0.description", ""),
        ]);
        assert_eq!(edited_rows(&f, "items"), Ok(None));
    }

    #[test]
    fn hostile_grids_are_refused() {
        let many: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
        let columns = serde_json::to_string(&many).unwrap();
        let f = Form::of(&[("columns.items", &columns)]);
        assert!(edited_rows(&f, "items").is_err());
        let f = Form::of(&[("columns.items", "[\"a\"]"), ("cell.items.99999999.a", "x")]);
        assert!(edited_rows(&f, "items").is_err());
        let f = Form::of(&[("columns.items", "{}")]);
        assert!(edited_rows(&f, "items").is_err());
    }
}
