//! One field of a template (SPEC §2, §2.1): its definition as clients send it
//! and its compiled form.

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lines::{LinesRules, Rows, TableDef};
use super::patterns::{label_regex, Budget};
use crate::json_input::optional_object;

/// A field as stored and returned: the client's definition, normalised. It
/// has exactly one locator: `regex`, `anchor` (with `direction`), `zone` or a
/// constant `value`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true}))]
pub struct FieldDef {
    /// Unique within the template, 1 to 200 characters.
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = FieldTypeName)]
    pub ty: String,
    /// Searched in the document's text, one line per physical line; the first
    /// capture group is the value. A list: the first pattern that matches wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<Patterns>,
    /// A label; the value is right of it or below it. At most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// For an anchor: `right` (the default) or `below`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DirectionName>)]
    pub direction: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_object"
    )]
    pub zone: Option<ZoneDef>,
    /// A constant: the field's value whatever the document says (typed like any other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Constant>,
    /// For a regex: which of its matches make the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Matches>,
    /// For a regex: search only this part of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<WithinDef>,
    /// Only look on this page (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4294967295u64)]
    pub page: Option<u32>,
    /// A required field that is missing makes the result `needs_review`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// chrono formats tried in order, for type `date` (and a lines field's date columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_formats: Option<Vec<String>>,
    /// For type `lines`: rows found by invoice2data's `lines` parser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<LinesRules>,
    /// For type `lines`: rows of a table found by its header line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableDef>,
}

/// A field's value type.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldTypeName {
    String,
    Number,
    Integer,
    Date,
    Boolean,
    /// A list of rows (SPEC §2.2), found by `lines` or `table`.
    Lines,
}

/// Where an anchored value sits relative to its label.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectionName {
    Right,
    Below,
}

/// One regex, or alternatives tried in order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(untagged)]
pub enum Patterns {
    One(String),
    Many(Vec<String>),
}

impl Patterns {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Patterns::One(p) => std::slice::from_ref(p),
            Patterns::Many(ps) => ps,
        }
    }
}

/// A constant's value as written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(untagged)]
pub enum Constant {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
    Flag(bool),
}

impl Constant {
    /// The constant as text, for the field's type to parse.
    pub fn text(&self) -> String {
        match self {
            Constant::Text(t) => t.clone(),
            Constant::Number(n) => n.to_string(),
            Constant::Flag(b) => b.to_string(),
        }
    }
}

/// Which matches of a field's regex make its value.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Matches {
    /// The first match (the default).
    #[default]
    First,
    Last,
    /// A JSON list of every match's typed value.
    All,
    /// Numbers added up.
    Sum,
    /// The least number or the earliest date.
    Min,
    /// The greatest number or the latest date.
    Max,
    /// Strings joined by a space.
    Join,
    /// invoice2data's default: the distinct values; one is the value, several a list.
    Unique,
}

/// A rectangle of a page, in fractions of its width and height from the top-left corner.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    #[schema(minimum = 1, maximum = 4294967295u64)]
    pub page: u32,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub x: f64,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub y: f64,
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub width: f64,
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub height: f64,
}

/// The part of the text a regex field searches: a rectangle of a page (the
/// physical lines of the words inside it) or the text between two regexes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(untagged)]
pub enum WithinDef {
    Rect(ZoneDef),
    Span(SpanDef),
}

/// The text after the first match of `start` up to the next match of `end`
/// (or the end of the text).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpanDef {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    String,
    Number,
    Integer,
    Date,
    Boolean,
    Lines,
}

impl FieldType {
    /// The name templates give the type.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Date => "date",
            FieldType::Boolean => "boolean",
            FieldType::Lines => "lines",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "string" => FieldType::String,
            "number" => FieldType::Number,
            "integer" => FieldType::Integer,
            "date" => FieldType::Date,
            "boolean" => FieldType::Boolean,
            "lines" => FieldType::Lines,
            other => {
                return Err(format!(
                "unknown type {other:?} (expected string, number, integer, date, boolean or lines)"
            ))
            }
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Right,
    Below,
}

#[derive(Clone, Debug)]
pub enum Locator {
    /// Alternatives, tried in order.
    Regex(Vec<Regex>),
    /// The label's matcher, compiled once when the template is saved or loaded.
    Anchor {
        matcher: Regex,
        direction: Direction,
    },
    Zone(ZoneDef),
    Constant(Constant),
    /// The rows of a lines field.
    Rows(Box<Rows>),
}

#[derive(Clone, Debug)]
pub enum Within {
    Rect(ZoneDef),
    Span { start: Regex, end: Regex },
}

/// Longest anchor label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// Most alternatives one regex field may list.
pub const MAX_ALTERNATIVES: usize = 20;

/// A validated field, ready to locate.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub locator: Locator,
    pub matches: Matches,
    pub within: Option<Within>,
    pub page: Option<u32>,
    pub required: bool,
    pub date_formats: Vec<String>,
}

/// Compiles one stored definition, charging its regexes to `budget`.
pub fn compile(def: &FieldDef, budget: &mut Budget) -> Result<Field, String> {
    let name = def.name.trim();
    if name.is_empty() {
        return Err("name must not be empty".into());
    }
    if name.len() > 200 {
        return Err("name is longer than 200 characters".into());
    }
    let ty = FieldType::parse(&def.ty)?;
    if ty == FieldType::Lines {
        return super::lines::compile_field(def, name, budget);
    }
    if def.lines.is_some() || def.table.is_some() {
        return Err("lines and table apply only to type lines".into());
    }
    let set = [
        def.regex.is_some(),
        def.anchor.is_some(),
        def.zone.is_some(),
        def.value.is_some(),
    ];
    let locator = match set.iter().filter(|x| **x).count() {
        0 => return Err("needs one locator: regex, anchor, zone or value".into()),
        1 => locator(def, ty, budget)?,
        _ => {
            return Err(
                "has more than one locator; use exactly one of regex, anchor, zone, value".into(),
            )
        }
    };
    let is_regex = matches!(locator, Locator::Regex(_));
    if def.direction.is_some() && def.anchor.is_none() {
        return Err("direction applies only to an anchor".into());
    }
    let matches = def.matches.unwrap_or_default();
    if def.matches.is_some() && !is_regex {
        return Err("matches applies only to a regex".into());
    }
    let numeric = matches!(ty, FieldType::Number | FieldType::Integer);
    if matches == Matches::Sum && !numeric {
        return Err("matches sum needs type number or integer".into());
    }
    if matches!(matches, Matches::Min | Matches::Max) && !numeric && ty != FieldType::Date {
        return Err("matches min and max need type number, integer or date".into());
    }
    if matches == Matches::Join && ty != FieldType::String {
        return Err("matches join needs type string".into());
    }
    let within = match &def.within {
        None => None,
        Some(_) if !is_regex => return Err("within applies only to a regex".into()),
        Some(WithinDef::Rect(z)) => {
            check_zone(z).map_err(|e| format!("within{}", e.trim_start_matches("zone")))?;
            Some(Within::Rect(*z))
        }
        Some(WithinDef::Span(s)) => Some(Within::Span {
            start: budget
                .compile(&s.start)
                .map_err(|e| format!("within.start is not a valid regex: {e}"))?,
            end: budget
                .compile(&s.end)
                .map_err(|e| format!("within.end is not a valid regex: {e}"))?,
        }),
    };
    if def.page == Some(0) {
        return Err("page is 1-based and must be at least 1".into());
    }
    let date_formats = def.date_formats.clone().unwrap_or_default();
    if !date_formats.is_empty() && ty != FieldType::Date {
        return Err("date_formats applies only to type date".into());
    }
    check_date_formats(&date_formats)?;
    Ok(Field {
        name: name.to_string(),
        ty,
        locator,
        matches,
        within,
        page: def.page,
        required: def.required,
        date_formats,
    })
}

fn locator(def: &FieldDef, ty: FieldType, budget: &mut Budget) -> Result<Locator, String> {
    if let Some(patterns) = &def.regex {
        let patterns = patterns.as_slice();
        if patterns.is_empty() {
            return Err("regex list must not be empty".into());
        }
        if patterns.len() > MAX_ALTERNATIVES {
            return Err(format!(
                "regex lists {} patterns, more than the limit of {MAX_ALTERNATIVES}",
                patterns.len()
            ));
        }
        let compiled = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                budget.compile(p).map_err(|e| match patterns.len() {
                    1 => format!("invalid regex: {e}"),
                    _ => format!("invalid regex (pattern {}): {e}", i + 1),
                })
            })
            .collect::<Result<_, _>>()?;
        return Ok(Locator::Regex(compiled));
    }
    if let Some(label) = &def.anchor {
        if label.trim().is_empty() {
            return Err("anchor must not be empty".into());
        }
        let chars = label.chars().count();
        if chars > MAX_LABEL_CHARS {
            return Err(format!(
                "anchor is {chars} characters long, more than the limit of {MAX_LABEL_CHARS}"
            ));
        }
        let direction = match def.direction.as_deref().unwrap_or("right") {
            "right" => Direction::Right,
            "below" => Direction::Below,
            other => {
                return Err(format!(
                    "unknown direction {other:?} (expected right or below)"
                ))
            }
        };
        return Ok(Locator::Anchor {
            matcher: label_regex(label.trim(), budget)
                .map_err(|e| format!("anchor cannot be matched: {e}"))?,
            direction,
        });
    }
    if let Some(z) = def.zone {
        check_zone(&z)?;
        return Ok(Locator::Zone(z));
    }
    let constant = def.value.clone().expect("one locator is set");
    let fits = match (&constant, ty) {
        (Constant::Flag(_), FieldType::Boolean | FieldType::String) => true,
        (Constant::Flag(_), _) => false,
        (Constant::Number(_), FieldType::Number | FieldType::String) => true,
        (Constant::Number(n), FieldType::Integer) => n.is_i64() || n.is_u64(),
        (Constant::Number(_), _) => false,
        // Text is parsed with the template's options like any located text.
        (Constant::Text(t), _) => !t.trim().is_empty(),
    };
    if !fits {
        return Err(format!(
            "value {} is not a valid {}",
            serde_json::to_string(&constant).unwrap_or_default(),
            def.ty
        ));
    }
    Ok(Locator::Constant(constant))
}

/// Checks chrono formats, naming the first that is not one.
pub fn check_date_formats(formats: &[String]) -> Result<(), String> {
    for f in formats {
        let bad =
            chrono::format::StrftimeItems::new(f).any(|i| matches!(i, chrono::format::Item::Error));
        if bad || f.is_empty() {
            return Err(format!("date format {f:?} is not a valid chrono format"));
        }
    }
    Ok(())
}

pub fn check_zone(z: &ZoneDef) -> Result<(), String> {
    if z.page == 0 {
        return Err("zone.page is 1-based and must be at least 1".into());
    }
    for (k, v) in [
        ("x", z.x),
        ("y", z.y),
        ("width", z.width),
        ("height", z.height),
    ] {
        if !(0.0..=1.0).contains(&v) || v.is_nan() {
            return Err(format!("zone.{k} is {v}, outside 0..1"));
        }
    }
    if z.width <= 0.0 || z.height <= 0.0 {
        return Err("zone.width and zone.height must be greater than 0".into());
    }
    const SLACK: f64 = 1e-9;
    if z.x + z.width > 1.0 + SLACK || z.y + z.height > 1.0 + SLACK {
        return Err("zone extends past the page (x + width or y + height is over 1)".into());
    }
    Ok(())
}
