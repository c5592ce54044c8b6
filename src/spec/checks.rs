//! Checks (SPEC §2.3): after extraction, sums of line items and simple
//! expressions of fields compared with a tolerance; a failing check sends the
//! document to review with a warning naming it and both values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::field::{Field, FieldType, Locator, Matches};

/// A check as clients write it: `sum` of a lines field's column, or `field`,
/// compared with the expression `equals`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "lines add up", "sum": "items.amount", "equals": "subtotal", "tolerance": 0.01}))]
pub struct CheckDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `field.column` of a lines field: the column added up over the rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
    /// A number field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Field names, numbers, `+`, `-` and `*`, such as `subtotal + tax`.
    pub equals: String,
    /// How far apart the two may be; 0 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0)]
    pub tolerance: Option<f64>,
}

/// Most checks one template may list.
pub const MAX_CHECKS: usize = 50;

#[derive(Clone, Debug)]
enum Left {
    Sum { field: String, column: String },
    Field(String),
}

/// Sums of products: `a * 2 + b - c`.
#[derive(Clone, Debug)]
struct Expr {
    terms: Vec<(f64, Vec<Factor>)>,
}

#[derive(Clone, Debug)]
enum Factor {
    Number(f64),
    Name(String),
}

/// A check, compiled.
#[derive(Clone, Debug)]
pub struct Check {
    /// Its name, else its expression: what warnings call it.
    pub label: String,
    left: Left,
    right: Expr,
    tolerance: f64,
}

fn numeric(fields: &[Field], name: &str) -> Result<(), String> {
    match fields.iter().find(|f| f.name == name) {
        Some(f) if matches!(f.matches, Matches::All | Matches::Unique) => Err(format!(
            "{name:?} may hold a list (matches {}), not one number",
            if f.matches == Matches::All {
                "all"
            } else {
                "unique"
            }
        )),
        Some(f) if matches!(f.ty, FieldType::Number | FieldType::Integer) => Ok(()),
        Some(f) => Err(format!("{name:?} is a {} field, not a number", f.ty.name())),
        None => Err(format!("no field {name:?}")),
    }
}

fn parse(text: &str, fields: &[Field]) -> Result<Expr, String> {
    let mut terms = Vec::new();
    let mut sign = 1.0;
    let mut factors: Vec<Factor> = Vec::new();
    let mut want_operand = true;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '+' | '-' if !want_operand => {
                terms.push((sign, std::mem::take(&mut factors)));
                sign = if c == '-' { -1.0 } else { 1.0 };
                want_operand = true;
            }
            '*' if !want_operand => want_operand = true,
            c if want_operand && (c.is_ascii_digit() || c == '.') => {
                let mut end = i + c.len_utf8();
                while let Some((j, d)) = chars.peek().copied() {
                    if !(d.is_ascii_digit() || d == '.') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let n = text[i..end]
                    .parse::<f64>()
                    .map_err(|_| format!("{:?} is not a number", &text[i..end]))?;
                factors.push(Factor::Number(n));
                want_operand = false;
            }
            c if want_operand && (c.is_alphanumeric() || c == '_') => {
                let mut end = i + c.len_utf8();
                while let Some((j, d)) = chars.peek().copied() {
                    if !(d.is_alphanumeric() || d == '_') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let name = &text[i..end];
                numeric(fields, name)?;
                factors.push(Factor::Name(name.to_string()));
                want_operand = false;
            }
            c => return Err(format!("unexpected {c:?} at character {}", i + 1)),
        }
    }
    if want_operand {
        return Err("the expression ends where a name or number is expected".into());
    }
    terms.push((sign, factors));
    Ok(Expr { terms })
}

/// Compiles the checks against the template's fields, naming the check and the problem.
pub fn compile_checks(defs: &[CheckDef], fields: &[Field]) -> Result<Vec<Check>, String> {
    if defs.len() > MAX_CHECKS {
        return Err(format!(
            "checks: {} checks, more than the limit of {MAX_CHECKS}",
            defs.len()
        ));
    }
    defs.iter()
        .enumerate()
        .map(|(i, d)| compile_check(d, fields).map_err(|e| format!("checks[{i}]: {e}")))
        .collect()
}

fn compile_check(d: &CheckDef, fields: &[Field]) -> Result<Check, String> {
    let left = match (&d.sum, &d.field) {
        (Some(sum), None) => {
            let (field, column) = sum.split_once('.').ok_or_else(|| {
                format!("sum {sum:?} must name a lines field's column, as items.amount")
            })?;
            let rows = fields.iter().find_map(|f| match &f.locator {
                Locator::Rows(rows) if f.name == field => Some(rows),
                _ => None,
            });
            let rows = rows.ok_or_else(|| format!("sum: no lines field {field:?}"))?;
            match rows.column(column) {
                Some(FieldType::Number | FieldType::Integer) => {}
                Some(ty) => {
                    return Err(format!(
                        "sum: column {column:?} is a {} column, not a number",
                        ty.name()
                    ))
                }
                None => return Err(format!("sum: {field:?} has no column {column:?}")),
            }
            Left::Sum {
                field: field.into(),
                column: column.into(),
            }
        }
        (None, Some(field)) => {
            numeric(fields, field).map_err(|e| format!("field: {e}"))?;
            Left::Field(field.clone())
        }
        _ => return Err("needs one of sum or field".into()),
    };
    let right = parse(&d.equals, fields).map_err(|e| format!("equals: {e}"))?;
    let tolerance = d.tolerance.unwrap_or(0.0);
    if !(tolerance >= 0.0 && tolerance.is_finite()) {
        return Err(format!("tolerance {tolerance} must be 0 or more"));
    }
    let left_text = d.sum.as_deref().or(d.field.as_deref()).unwrap_or_default();
    Ok(Check {
        label: d
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{left_text} = {}", d.equals.trim())),
        left,
        right,
        tolerance,
    })
}

impl Check {
    /// Whether `warning` is this check's failure.
    pub fn is_about(&self, warning: &str) -> bool {
        warning.starts_with(&format!("check {:?} failed:", self.label))
    }

    /// `None` when the check holds; else the warning naming it and both values.
    pub fn failure(&self, values: &Map<String, Value>) -> Option<String> {
        let number = |name: &str| values.get(name).and_then(Value::as_f64);
        let left =
            match &self.left {
                // A cell that is null makes the sum null: the check cannot hold.
                Left::Sum { field, column } => values
                    .get(field)
                    .and_then(Value::as_array)
                    .and_then(|rows| {
                        rows.iter()
                            .map(|r| r.get(column).and_then(Value::as_f64))
                            .sum::<Option<f64>>()
                    }),
                Left::Field(name) => number(name),
            };
        let right = self
            .right
            .terms
            .iter()
            .map(|(sign, factors)| {
                factors
                    .iter()
                    .map(|f| match f {
                        Factor::Number(n) => Some(*n),
                        Factor::Name(name) => number(name),
                    })
                    .product::<Option<f64>>()
                    .map(|p| sign * p)
            })
            .sum::<Option<f64>>();
        let shown = |v: Option<f64>| {
            v.map_or("null".to_string(), |v| {
                format!("{}", (v * 1e6).round() / 1e6)
            })
        };
        match (left, right) {
            (Some(l), Some(r)) if (l - r).abs() <= self.tolerance + 1e-9 => None,
            (l, r) => Some(format!(
                "check {:?} failed: {} against {}",
                self.label,
                shown(l),
                shown(r)
            )),
        }
    }
}
