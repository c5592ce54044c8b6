//! invoice2data's `lines` parser (and the older `lines` plugin) as a docpush
//! lines field: its rule sets, regexes in Rust syntax, types of the columns
//! its regexes name.

use serde_json::{json, Map, Value};

use super::{field_type, list, python_regex};

/// A `lines` parser (one set of rules or several under `rules`) as a lines field.
pub(super) fn lines_field(name: &str, def: &Value) -> Result<Value, String> {
    let sets: Vec<&Value> = match def.get("rules") {
        Some(Value::Array(rules)) => rules.iter().collect(),
        Some(_) => return Err("rules must be a list".into()),
        None => vec![def],
    };
    let shared_types = def.get("types");
    let mut out = Vec::with_capacity(sets.len());
    for set in sets {
        let mut rules = line_rules(set, shared_types)?;
        // invoice2data gives the UNECE code of the unit to the rows of these two fields.
        if matches!(name, "lines" | "tax_lines") && names_column(&rules, "uom") {
            rules["unit_codes"] = json!({"unece_code": "uom"});
        }
        out.push(rules);
    }
    let lines = match out.len() {
        1 => out.remove(0),
        _ => json!(out),
    };
    Ok(json!({"name": name, "type": "lines", "lines": lines}))
}

/// One set of `lines` rules, its regexes translated and its types kept for
/// the columns its regexes name.
fn line_rules(set: &Value, shared_types: Option<&Value>) -> Result<Value, String> {
    if let Some(m) = set.get("end_match").and_then(Value::as_str) {
        if m != "first" {
            return Err(format!(
                "end_match {m:?} has no counterpart (rows end at the first end)"
            ));
        }
    }
    if let Some(sep) = set.get("line_separator").and_then(Value::as_str) {
        if sep != r"\n" && sep != "\n" {
            return Err(format!(
                "line_separator {sep:?} has no counterpart (rows are lines)"
            ));
        }
    }
    if set.get("replace").is_some() {
        return Err("replace in lines has no counterpart".into());
    }
    let mut rules = Map::new();
    let mut columns: Vec<String> = Vec::new();
    for key in [
        "start",
        "end",
        "line",
        "first_line",
        "last_line",
        "skip_line",
    ] {
        let Some(v) = set.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let translated = list(Some(v))
            .iter()
            .map(|p| python_regex(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{key}: {e}"))?;
        for p in &translated {
            let re = regex::Regex::new(p).map_err(|e| format!("{key}: {e}"))?;
            columns.extend(re.capture_names().flatten().map(str::to_string));
        }
        let value = match (key, translated.as_slice()) {
            ("start" | "end", [one]) => json!(one),
            ("start" | "end", _) => return Err(format!("{key} must be one regex")),
            (_, [one]) => json!(one),
            _ => json!(translated),
        };
        rules.insert(key.into(), value);
    }
    for key in ["start", "line"] {
        if !rules.contains_key(key) {
            return Err(format!("{key} is required"));
        }
    }
    let mut types = Map::new();
    for declared in [set.get("types"), shared_types].into_iter().flatten() {
        for (column, ty) in declared.as_object().into_iter().flatten() {
            if columns.contains(column) && !types.contains_key(column) {
                let ty =
                    field_type(column, ty.as_str()).map_err(|e| format!("types.{column}: {e}"))?;
                types.insert(column.clone(), json!(ty));
            }
        }
    }
    // invoice2data reads an optional group a row left empty as 0 in a number column.
    let defaults: Map<String, Value> = types
        .iter()
        .filter(|(_, ty)| matches!(ty.as_str(), Some("number" | "integer")))
        .map(|(column, _)| (column.clone(), json!(0)))
        .collect();
    if !defaults.is_empty() {
        rules.insert("defaults".into(), Value::Object(defaults));
    }
    if !types.is_empty() {
        rules.insert("types".into(), Value::Object(types));
    }
    Ok(Value::Object(rules))
}

/// Whether one of the rules' regexes has a group named `column`.
fn names_column(rules: &Value, column: &str) -> bool {
    ["line", "first_line", "last_line"].iter().any(|key| {
        list(rules.get(*key)).iter().any(|p| {
            regex::Regex::new(p).is_ok_and(|re| re.capture_names().flatten().any(|n| n == column))
        })
    })
}
