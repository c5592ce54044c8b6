//! Line items (SPEC §2.2): a field of type `lines` finds rows either with
//! invoice2data's `lines` parser (regexes over the text) or as a `table` cut
//! by the word positions under a header line.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field::{
    check_date_formats, Field, FieldDef, FieldType, Locator, Matches, Patterns, MAX_ALTERNATIVES,
};
use super::patterns::{label_regex, Budget};

/// invoice2data's `lines` parser: one set of rules, or several whose rows follow each other.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(untagged)]
pub enum LinesRules {
    One(Box<LinesDef>),
    Many(Vec<LinesDef>),
}

impl LinesRules {
    pub fn as_slice(&self) -> &[LinesDef] {
        match self {
            LinesRules::One(d) => std::slice::from_ref(d.as_ref()),
            LinesRules::Many(ds) => ds,
        }
    }
}

/// On every page where `start` matches, the text after it up to `end` (or the
/// end of the page) read line by line; `line` and its companions may list
/// alternatives.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinesDef {
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// A row, with named groups for its columns.
    pub line: Patterns,
    /// Starts a row that following `line` matches add to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<Patterns>,
    /// Closes the row that `first_line` started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_line: Option<Patterns>,
    /// Lines to ignore, such as a subtotal the `line` regex would also match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_line: Option<Patterns>,
    /// Types of the columns (`number`, `integer`, `date`, `boolean`); strings otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, super::FieldTypeName>)]
    pub types: BTreeMap<String, String>,
    /// The value of a column that the regex a row matched names but did not
    /// capture (an optional group); `null` otherwise. invoice2data gives such
    /// typed columns 0.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, Object>)]
    pub defaults: BTreeMap<String, serde_json::Value>,
    /// Columns filled with the UNECE Recommendation 20 code of the unit another
    /// column holds (`{"unece_code": "uom"}`: "kg" gives "KGM"), unless the row
    /// captured a code itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unit_codes: BTreeMap<String, String>,
}

/// A table found by its header line and cut into columns by word positions.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    /// Column name to the label printed in the header, in the table's order.
    #[schema(value_type = BTreeMap<String, String>)]
    pub columns: serde_json::Map<String, serde_json::Value>,
    /// Where the rows stop (a totals line, say); the end of the page otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Only look on this page (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4294967295u64)]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, super::FieldTypeName>)]
    pub types: BTreeMap<String, String>,
}

/// Most columns one lines field may have.
pub const MAX_COLUMNS: usize = 50;
/// Most rule sets one `lines` member may list.
pub const MAX_RULE_SETS: usize = 10;

/// One set of `lines` rules, compiled.
#[derive(Clone, Debug)]
pub struct LineRules {
    pub start: Regex,
    pub end: Option<Regex>,
    pub line: Vec<Regex>,
    pub first_line: Option<Vec<Regex>>,
    pub last_line: Option<Vec<Regex>>,
    pub skip_line: Vec<Regex>,
}

/// A table's header labels, compiled.
#[derive(Clone, Debug)]
pub struct Table {
    /// Each column's label matcher, in column order.
    pub labels: Vec<Regex>,
    pub end: Option<Regex>,
    pub page: Option<u32>,
}

#[derive(Clone, Debug)]
pub enum RowFinder {
    Lines(Vec<LineRules>),
    Table(Table),
}

/// How a lines field finds its rows, and the rows' typed columns in order.
#[derive(Clone, Debug)]
pub struct Rows {
    pub finder: RowFinder,
    pub columns: Vec<(String, FieldType)>,
    /// Values of columns a matched regex names but did not capture.
    pub defaults: BTreeMap<String, serde_json::Value>,
    /// (column, column holding the unit) pairs: the first gets the unit's UNECE code.
    pub unit_codes: Vec<(String, String)>,
}

impl Rows {
    pub fn column(&self, name: &str) -> Option<FieldType> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }
}

fn patterns(
    member: &str,
    p: &Patterns,
    budget: &mut Budget,
    columns: &mut Vec<String>,
) -> Result<Vec<Regex>, String> {
    let list = p.as_slice();
    if list.is_empty() || list.len() > MAX_ALTERNATIVES {
        return Err(format!(
            "{member}: lists {} patterns; 1 to {MAX_ALTERNATIVES} allowed",
            list.len()
        ));
    }
    list.iter()
        .map(|p| {
            let re = budget
                .compile(p)
                .map_err(|e| format!("{member}: invalid regex: {e}"))?;
            for name in re.capture_names().flatten() {
                if !columns.iter().any(|c| c == name) {
                    columns.push(name.to_string());
                }
            }
            Ok(re)
        })
        .collect()
}

fn optional(
    member: &str,
    p: &Option<Patterns>,
    budget: &mut Budget,
    columns: &mut Vec<String>,
) -> Result<Option<Vec<Regex>>, String> {
    p.as_ref()
        .map(|p| patterns(member, p, budget, columns))
        .transpose()
}

fn regex(member: &str, p: &str, budget: &mut Budget) -> Result<Regex, String> {
    budget
        .compile(p)
        .map_err(|e| format!("{member}: invalid regex: {e}"))
}

fn typed(
    member: &str,
    names: Vec<String>,
    types: &BTreeMap<String, String>,
) -> Result<Vec<(String, FieldType)>, String> {
    if names.is_empty() {
        return Err(format!(
            "{member}: needs columns, as named groups such as (?P<amount>[\\d.,]+)"
        ));
    }
    if names.len() > MAX_COLUMNS {
        return Err(format!(
            "{member}: {} columns, more than the limit of {MAX_COLUMNS}",
            names.len()
        ));
    }
    if let Some(extra) = types.keys().find(|k| !names.contains(k)) {
        return Err(format!("{member}.types.{extra}: no column of that name"));
    }
    names
        .into_iter()
        .map(|name| {
            let ty = match types.get(&name) {
                None => FieldType::String,
                Some(t) => match FieldType::parse(t) {
                    Ok(FieldType::Lines) => {
                        return Err(format!("{member}.types.{name}: a column cannot be lines"))
                    }
                    Ok(ty) => ty,
                    Err(e) => return Err(format!("{member}.types.{name}: {e}")),
                },
            };
            Ok((name, ty))
        })
        .collect()
}

/// Compiles the `lines` member of a field.
pub fn compile_lines(rules: &LinesRules, budget: &mut Budget) -> Result<Rows, String> {
    let sets = rules.as_slice();
    if sets.is_empty() || sets.len() > MAX_RULE_SETS {
        return Err(format!(
            "lines: lists {} rule sets; 1 to {MAX_RULE_SETS} allowed",
            sets.len()
        ));
    }
    let mut names = Vec::new();
    let mut types = BTreeMap::new();
    let mut defaults = BTreeMap::new();
    let mut unit_codes: Vec<(String, String)> = Vec::new();
    let mut compiled = Vec::with_capacity(sets.len());
    for (i, d) in sets.iter().enumerate() {
        let at = |m: &str| match sets.len() {
            1 => format!("lines.{m}"),
            _ => format!("lines[{i}].{m}"),
        };
        if d.last_line.is_some() && d.first_line.is_none() {
            return Err(format!(
                "{}: needs first_line (it closes the row first_line starts)",
                at("last_line")
            ));
        }
        let first_line = optional(&at("first_line"), &d.first_line, budget, &mut names)?;
        let line = patterns(&at("line"), &d.line, budget, &mut names)?;
        let last_line = optional(&at("last_line"), &d.last_line, budget, &mut names)?;
        let skip_line = optional(&at("skip_line"), &d.skip_line, budget, &mut Vec::new())?;
        compiled.push(LineRules {
            start: regex(&at("start"), &d.start, budget)?,
            end: d
                .end
                .as_deref()
                .map(|e| regex(&at("end"), e, budget))
                .transpose()?,
            line,
            first_line,
            last_line,
            skip_line: skip_line.unwrap_or_default(),
        });
        for (k, v) in &d.types {
            match types.get(k) {
                Some(earlier) if earlier != v => {
                    return Err(format!(
                        "{}.{k}: {v:?}, where an earlier rule set says {earlier:?}",
                        at("types")
                    ))
                }
                Some(_) => {}
                None => {
                    types.insert(k.clone(), v.clone());
                }
            }
        }
        for (column, value) in &d.defaults {
            if !matches!(
                value,
                serde_json::Value::Number(_)
                    | serde_json::Value::String(_)
                    | serde_json::Value::Bool(_)
            ) {
                return Err(format!(
                    "{}.{column}: a default is a number, a string or a boolean",
                    at("defaults")
                ));
            }
            defaults.insert(column.clone(), value.clone());
        }
        for (code, unit) in &d.unit_codes {
            if !unit_codes.iter().any(|(c, _)| c == code) {
                unit_codes.push((code.clone(), unit.clone()));
            }
        }
    }
    for column in defaults.keys() {
        if !names.contains(column) {
            return Err(format!("lines.defaults.{column}: no column of that name"));
        }
    }
    for (code, unit) in &unit_codes {
        if !names.contains(unit) {
            return Err(format!(
                "lines.unit_codes.{code}: no column {unit:?} holds units"
            ));
        }
        if types.get(code).is_some_and(|t| t != "string") {
            return Err(format!(
                "lines.unit_codes.{code}: a unit code is a string column"
            ));
        }
        // A code column the regexes do not capture is one the rows gain.
        if !names.contains(code) {
            names.push(code.clone());
        }
    }
    Ok(Rows {
        finder: RowFinder::Lines(compiled),
        columns: typed("lines", names, &types)?,
        defaults,
        unit_codes,
    })
}

/// Compiles the `table` member of a field.
pub fn compile_table(def: &TableDef, budget: &mut Budget) -> Result<Rows, String> {
    let mut names = Vec::with_capacity(def.columns.len());
    let mut labels = Vec::with_capacity(def.columns.len());
    for (name, label) in &def.columns {
        let Some(label) = label.as_str().filter(|l| !l.trim().is_empty()) else {
            return Err(format!(
                "table.columns.{name}: the label must be non-empty text"
            ));
        };
        if name.trim().is_empty() {
            return Err("table.columns: a column name must not be empty".into());
        }
        labels.push(
            label_regex(label.trim(), budget).map_err(|e| format!("table.columns.{name}: {e}"))?,
        );
        names.push(name.clone());
    }
    if def.page == Some(0) {
        return Err("table.page is 1-based and must be at least 1".into());
    }
    Ok(Rows {
        finder: RowFinder::Table(Table {
            labels,
            end: def
                .end
                .as_deref()
                .map(|e| regex("table.end", e, budget))
                .transpose()?,
            page: def.page,
        }),
        columns: typed("table", names, &def.types)?,
        defaults: BTreeMap::new(),
        unit_codes: Vec::new(),
    })
}

/// A lines field: exactly one of `lines` or `table`, and nothing that locates one value.
pub(super) fn compile_field(
    def: &FieldDef,
    name: &str,
    budget: &mut Budget,
) -> Result<Field, String> {
    let scalar = [
        ("regex", def.regex.is_some()),
        ("anchor", def.anchor.is_some()),
        ("zone", def.zone.is_some()),
        ("value", def.value.is_some()),
        ("matches", def.matches.is_some()),
        ("within", def.within.is_some()),
        ("direction", def.direction.is_some()),
    ];
    if let Some((member, _)) = scalar.iter().find(|(_, set)| *set) {
        return Err(format!(
            "{member} does not apply to type lines; its rows are found by lines or table"
        ));
    }
    let rows = match (&def.lines, &def.table) {
        (Some(lines), None) => compile_lines(lines, budget)?,
        (None, Some(table)) => compile_table(table, budget)?,
        (None, None) => return Err("type lines needs one of lines or table".into()),
        (Some(_), Some(_)) => return Err("type lines takes lines or table, not both".into()),
    };
    if def.page == Some(0) {
        return Err("page is 1-based and must be at least 1".into());
    }
    let date_formats = def.date_formats.clone().unwrap_or_default();
    check_date_formats(&date_formats)?;
    Ok(Field {
        name: name.to_string(),
        ty: FieldType::Lines,
        locator: Locator::Rows(Box::new(rows)),
        matches: Matches::First,
        within: None,
        page: def.page,
        required: def.required,
        date_formats,
    })
}
