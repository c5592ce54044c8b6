//! The template format of SPEC §2: field definitions as clients send them, and
//! their validated form with compiled regexes that the extraction rules use.

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::json_input::optional_object;

/// A field as stored and returned: the client's definition, normalised. It
/// has exactly one locator: `regex`, `anchor` (with `direction`) or `zone`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true}))]
pub struct FieldDef {
    /// Unique within the template, 1 to 200 characters.
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = FieldTypeName)]
    pub ty: String,
    /// Searched in the document's text, one line per physical line; the first capture group is the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
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
    /// Only look on this page (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4294967295u64)]
    pub page: Option<u32>,
    /// A required field that is missing makes the result `needs_review`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// chrono formats tried in order, for type `date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_formats: Option<Vec<String>>,
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
}

/// Where an anchored value sits relative to its label.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectionName {
    Right,
    Below,
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

/// Template-wide options.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// `.` or `,`.
    #[serde(default = "default_decimal")]
    #[schema(example = ".")]
    pub decimal_separator: String,
    /// Tesseract language codes, such as `eng` or `deu+eng`.
    #[serde(default = "default_language")]
    #[schema(example = "eng")]
    pub language: String,
    /// Required values read with a lower confidence (0 to 1) need review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub min_confidence: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            decimal_separator: default_decimal(),
            language: default_language(),
            min_confidence: None,
        }
    }
}

fn default_decimal() -> String {
    ".".into()
}
fn default_language() -> String {
    "eng".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    String,
    Number,
    Integer,
    Date,
    Boolean,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Right,
    Below,
}

#[derive(Clone, Debug)]
pub enum Locator {
    Regex(Regex),
    /// The label's matcher, compiled once when the template is saved or loaded.
    Anchor {
        matcher: Regex,
        direction: Direction,
    },
    Zone(ZoneDef),
}

/// Most fields one template may define.
pub const MAX_FIELDS: usize = 100;
/// Longest anchor label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// Largest compiled regex, and largest search cache per regex, in bytes:
/// together with [`MAX_FIELDS`] they bound what one template can make a worker hold.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A validated field, ready to locate.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub locator: Locator,
    pub page: Option<u32>,
    pub required: bool,
    pub date_formats: Vec<String>,
}

/// The validation failure reported to the client as 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTemplate(pub String);

fn invalid(msg: impl Into<String>) -> InvalidTemplate {
    InvalidTemplate(msg.into())
}

/// Checks the client's field definitions, naming the field and the problem on failure.
pub fn check_fields(defs: Vec<FieldDef>) -> Result<(Vec<FieldDef>, Vec<Field>), InvalidTemplate> {
    if defs.is_empty() {
        return Err(invalid("fields: at least one field is required"));
    }
    if defs.len() > MAX_FIELDS {
        return Err(invalid(format!(
            "fields: {} fields, more than the limit of {MAX_FIELDS}",
            defs.len()
        )));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(defs.len());
    for (i, def) in defs.iter().enumerate() {
        // The member path first (as serde's own messages have it), so forms can
        // show the message beside that input; the name for people.
        let label = |member: &str| format!("fields[{i}].{member} (field {:?})", def.name);
        let field = compile(def).map_err(|e| invalid(format!("{}: {e}", label(member_of(&e)))))?;
        if fields.iter().any(|f| f.name == field.name) {
            return Err(invalid(format!(
                "{}: the name is used by another field",
                label("name")
            )));
        }
        fields.push(field);
    }
    Ok((defs, fields))
}

/// The member of a field definition that a [`compile`] message is about.
fn member_of(message: &str) -> &'static str {
    const MEMBERS: [(&str, &str); 9] = [
        ("invalid regex", "regex"),
        ("anchor", "anchor"),
        ("unknown direction", "direction"),
        ("direction", "direction"),
        ("zone", "zone"),
        ("page", "page"),
        ("date", "date_formats"),
        ("unknown type", "type"),
        ("name", "name"),
    ];
    MEMBERS
        .iter()
        .find(|(start, _)| message.starts_with(start))
        .map_or("name", |(_, member)| member)
}

/// The `fields` of a template as JSON (template files of the `extract` command, tests).
pub fn parse_fields(
    raw: &serde_json::Value,
) -> Result<(Vec<FieldDef>, Vec<Field>), InvalidTemplate> {
    let defs: Vec<FieldDef> =
        crate::json_input::objects(raw).map_err(|e| invalid(format!("fields: {e}")))?;
    check_fields(defs)
}

/// The `options` of a template as JSON, absent or `null` for the defaults.
pub fn parse_options(raw: Option<&serde_json::Value>) -> Result<Options, InvalidTemplate> {
    let opts = match raw {
        None => None,
        Some(v) => optional_object(v).map_err(|e| invalid(format!("options: {e}")))?,
    };
    check_options(opts)
}

/// Compiles one stored definition.
pub fn compile(def: &FieldDef) -> Result<Field, String> {
    let name = def.name.trim();
    if name.is_empty() {
        return Err("name must not be empty".into());
    }
    if name.len() > 200 {
        return Err("name is longer than 200 characters".into());
    }
    let ty = match def.ty.as_str() {
        "string" => FieldType::String,
        "number" => FieldType::Number,
        "integer" => FieldType::Integer,
        "date" => FieldType::Date,
        "boolean" => FieldType::Boolean,
        other => {
            return Err(format!(
                "unknown type {other:?} (expected string, number, integer, date or boolean)"
            ))
        }
    };
    let locators = [
        def.regex.is_some(),
        def.anchor.is_some(),
        def.zone.is_some(),
    ];
    let locator = match locators.iter().filter(|x| **x).count() {
        0 => return Err("needs one locator: regex, anchor or zone".into()),
        1 => {
            if let Some(re) = &def.regex {
                Locator::Regex(compile_regex(re).map_err(|e| format!("invalid regex: {e}"))?)
            } else if let Some(label) = &def.anchor {
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
                Locator::Anchor {
                    matcher: label_regex(label.trim())
                        .map_err(|e| format!("anchor cannot be matched: {e}"))?,
                    direction,
                }
            } else {
                let z = def.zone.expect("one locator is set");
                check_zone(&z)?;
                Locator::Zone(z)
            }
        }
        _ => {
            return Err("has more than one locator; use exactly one of regex, anchor, zone".into())
        }
    };
    if def.direction.is_some() && def.anchor.is_none() {
        return Err("direction applies only to an anchor".into());
    }
    if def.page == Some(0) {
        return Err("page is 1-based and must be at least 1".into());
    }
    let date_formats = def.date_formats.clone().unwrap_or_default();
    if !date_formats.is_empty() && ty != FieldType::Date {
        return Err("date_formats applies only to type date".into());
    }
    for f in &date_formats {
        let bad =
            chrono::format::StrftimeItems::new(f).any(|i| matches!(i, chrono::format::Item::Error));
        if bad || f.is_empty() {
            return Err(format!("date format {f:?} is not a valid chrono format"));
        }
    }
    Ok(Field {
        name: name.to_string(),
        ty,
        locator,
        page: def.page,
        required: def.required,
        date_formats,
    })
}

fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// A case-insensitive whole-word matcher for a label; whitespace inside it
/// matches any run, or none: OCR drops the space in "Amountto pay".
fn label_regex(label: &str) -> Result<Regex, regex::Error> {
    let words: Vec<String> = label.split_whitespace().map(regex::escape).collect();
    let body = words.join(r"\s*");
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let start = if is_word(label.chars().next()) {
        r"\b"
    } else {
        ""
    };
    let end = if is_word(label.chars().last()) {
        r"\b"
    } else {
        ""
    };
    compile_regex(&format!("(?i){start}{body}{end}"))
}

fn check_zone(z: &ZoneDef) -> Result<(), String> {
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

/// Checks `options`, rejecting values the rules cannot use.
pub fn check_options(opts: Option<Options>) -> Result<Options, InvalidTemplate> {
    let opts = opts.unwrap_or_default();
    if opts.decimal_separator != "." && opts.decimal_separator != "," {
        return Err(invalid(format!(
            "options.decimal_separator must be \".\" or \",\", not {:?}",
            opts.decimal_separator
        )));
    }
    let lang_ok = !opts.language.is_empty()
        && opts
            .language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+');
    if let Some(m) = opts.min_confidence {
        if !(0.0..=1.0).contains(&m) {
            return Err(invalid(format!(
                "options.min_confidence is {m}, outside 0..1"
            )));
        }
    }
    if !lang_ok {
        return Err(invalid(format!(
            "options.language {:?} is not a language code such as eng or deu+eng",
            opts.language
        )));
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use serde_json::Value;

    fn err(fields: Value) -> String {
        parse_fields(&fields).unwrap_err().0
    }

    #[test]
    fn the_spec_example_is_valid() {
        let (defs, fields) = parse_fields(&json!([
            {"name": "invoice_number", "type": "string", "regex": "Invoice\\s*(?:No|#)\\.?:?\\s*([A-Z0-9-]+)"},
            {"name": "invoice_date", "type": "date", "anchor": "Date", "direction": "right", "date_formats": ["%d/%m/%Y", "%B %d, %Y"]},
            {"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true},
            {"name": "vendor", "type": "string", "zone": {"page": 1, "x": 0.05, "y": 0.03, "width": 0.45, "height": 0.08}}
        ]))
        .unwrap();
        assert_eq!(defs.len(), 4);
        assert!(fields[2].required);
        assert!(matches!(
            fields[1].locator,
            Locator::Anchor {
                direction: Direction::Right,
                ..
            }
        ));
    }

    #[test]
    fn a_label_matches_whole_words_with_or_without_the_spaces_between_them() {
        let label = label_regex("Amount to pay").unwrap();
        for line in [
            "Amount to pay EUR 120,99",
            "AMOUNT  TO\tPAY 5",
            "Amountto pay EUR 120,99",
        ] {
            assert!(label.is_match(line), "{line}");
        }
        for line in ["Amount to payee 5", "Amounts to pay 5"] {
            assert!(!label.is_match(line), "{line}");
        }
    }

    #[test]
    fn invalid_fields_are_named_with_the_problem() {
        let cases = [
            (
                json!([{"name": "a", "type": "string", "regex": "("}]),
                "fields[0].regex (field \"a\"): invalid regex",
            ),
            (
                json!([{"name": "a", "type": "string", "regex": "x", "anchor": "y"}]),
                "more than one locator",
            ),
            (
                json!([{"name": "a", "type": "money", "regex": "x"}]),
                "unknown type \"money\"",
            ),
            (
                json!([{"name": "a", "type": "string"}]),
                "needs one locator",
            ),
            (
                json!([{"name": "z", "type": "string", "zone": {"page": 1, "x": 0.5, "y": 0, "width": 1.5, "height": 0.1}}]),
                "zone.width is 1.5",
            ),
            (
                json!([{"name": "z", "type": "string", "zone": {"page": 1, "x": 0.8, "y": 0, "width": 0.5, "height": 0.1}}]),
                "extends past the page",
            ),
            (
                json!([{"name": "a", "type": "string", "regex": "x"}, {"name": "a", "type": "string", "regex": "y"}]),
                "used by another field",
            ),
            (
                json!([{"name": "a", "type": "string", "anchor": "x", "direction": "up"}]),
                "unknown direction",
            ),
            (
                json!([{"name": "d", "type": "date", "regex": "x", "date_formats": ["%Q"]}]),
                "not a valid chrono format",
            ),
            (json!([]), "at least one field"),
            (json!({"a": 1}), "expected a list of objects"),
        ];
        for (fields, want) in cases {
            let got = err(fields.clone());
            assert!(got.contains(want), "{fields}: {got}");
        }
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(parse_options(None).unwrap().decimal_separator, ".");
        assert!(parse_options(Some(&json!({"decimal_separator": ";"}))).is_err());
        assert!(parse_options(Some(&json!({"language": "../etc"}))).is_err());
        assert_eq!(
            parse_options(Some(&json!({"decimal_separator": ","})))
                .unwrap()
                .decimal_separator,
            ","
        );
    }
}
