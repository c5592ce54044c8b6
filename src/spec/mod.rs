//! The template format of SPEC §2: field definitions as clients send them, and
//! their validated form with compiled regexes that the extraction rules use.

mod checks;
mod field;
mod lines;
mod options;
mod patterns;
mod template;

pub use checks::{Check, CheckDef};
pub use field::{
    check_zone, compile, Constant, Direction, DirectionName, Field, FieldDef, FieldType,
    FieldTypeName, Locator, Matches, Patterns, SpanDef, Within, WithinDef, ZoneDef,
    MAX_LABEL_CHARS,
};
pub use lines::{LineRules, LinesDef, LinesRules, RowFinder, Rows, Table, TableDef};
pub use options::{
    check_options, text_rules, DateOrder, DateRules, Options, TextMode, TextRules, DATE_LANGUAGES,
};
pub use patterns::Budget;
pub use template::{
    check_rules, compile_template, Block, BlockDef, Compiled, Selector, TemplateRules,
    DEFAULT_PRIORITY,
};

use crate::json_input::optional_object;

/// Most fields one template may define.
pub const MAX_FIELDS: usize = 100;

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
    let mut budget = Budget::default();
    for (i, def) in defs.iter().enumerate() {
        // The member path first (as serde's own messages have it), so forms can
        // show the message beside that input; the name for people.
        let label = |member: &str| format!("fields[{i}].{member} (field {:?})", def.name);
        let field = compile(def, &mut budget)
            .map_err(|e| invalid(format!("{}: {e}", label(member_of(&e)))))?;
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
    const MEMBERS: [(&str, &str); 16] = [
        ("lines", "lines"),
        ("table", "table"),
        ("type lines", "type"),
        ("invalid regex", "regex"),
        ("regex", "regex"),
        ("matches", "matches"),
        ("within", "within"),
        ("value", "value"),
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

/// A whole template as JSON (template files of the `extract` command, tests):
/// fields, options and the template-level rules, compiled.
pub fn parse_template(raw: &serde_json::Value) -> Result<(Options, Compiled), InvalidTemplate> {
    let (defs, _) = parse_fields(raw.get("fields").unwrap_or(&serde_json::Value::Null))?;
    let options = parse_options(raw.get("options"))?;
    let member = |name: &str| raw.get(name).filter(|v| !v.is_null()).cloned();
    let rules = TemplateRules {
        keywords: member("keywords")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| invalid(format!("keywords: {e}")))?
            .unwrap_or_default(),
        exclude_keywords: member("exclude_keywords")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| invalid(format!("exclude_keywords: {e}")))?
            .unwrap_or_default(),
        priority: member("priority")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| invalid(format!("priority: {e}")))?,
        blocks: member("blocks")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| invalid(format!("blocks: {e}")))?
            .unwrap_or_default(),
        checks: member("checks")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| invalid(format!("checks: {e}")))?
            .unwrap_or_default(),
    };
    let compiled = compile_template(&defs, &options, &rules)?;
    Ok((options, compiled))
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
