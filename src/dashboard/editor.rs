//! The template editor's form ↔ the template JSON the API takes, so that the
//! dashboard saves through the same validation, and a 422 that names a member
//! (`fields[2].regex: …`) is shown beside that input.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::form::Form;
use super::webhook_form::WebhookRow;
use crate::spec::FieldDef;
use crate::templates::TemplateView;

/// One field of the editor, as text inputs hold it.
#[derive(Clone, Debug, Default)]
pub struct FieldRow {
    /// Its number in the form's input names (`f3.name`); not its position.
    pub index: String,
    pub name: String,
    pub ty: String,
    /// `regex`, `anchor` or `zone`.
    pub locator: String,
    pub regex: String,
    pub anchor: String,
    pub direction: String,
    pub zone_page: String,
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub page: String,
    pub required: bool,
    pub date_formats: String,
    /// A constant's value, as text.
    pub value: String,
    /// For a regex: which matches make the value.
    pub matches: String,
    /// JSON of the members this form does not edit (`within`), kept as they are.
    pub extra: String,
    /// For a lines field: its `lines` or `table` member as JSON.
    pub rows: String,
}

/// The editor's whole state.
#[derive(Clone, Debug, Default)]
pub struct EditorState {
    pub name: String,
    pub fields: Vec<FieldRow>,
    pub decimal_separator: String,
    pub language: String,
    pub min_confidence: String,
    /// Date languages, comma-separated.
    pub languages: String,
    /// `plain` or `layout`.
    pub text: String,
    /// Keywords, one per line.
    pub keywords: String,
    pub exclude_keywords: String,
    pub priority: String,
    /// What destination rules select this template's events by.
    pub category: String,
    /// JSON of the members this form does not edit (blocks, the other text
    /// options), kept as they are.
    pub kept: String,
    pub webhook: WebhookRow,
}

fn num(v: f64) -> String {
    v.to_string()
}

impl FieldRow {
    fn from_def(index: String, d: &FieldDef) -> Self {
        let locator = if d.lines.is_some() || d.table.is_some() {
            "rows"
        } else if d.zone.is_some() {
            "zone"
        } else if d.value.is_some() {
            "value"
        } else if d.anchor.is_some() {
            "anchor"
        } else {
            "regex"
        };
        let z = d.zone;
        Self {
            index,
            name: d.name.clone(),
            ty: d.ty.clone(),
            locator: locator.into(),
            // Alternatives one per line.
            regex: d
                .regex
                .as_ref()
                .map(|p| p.as_slice().join("\n"))
                .unwrap_or_default(),
            anchor: d.anchor.clone().unwrap_or_default(),
            direction: d.direction.clone().unwrap_or_else(|| "right".into()),
            zone_page: z.map_or_else(|| "1".into(), |z| z.page.to_string()),
            x: z.map(|z| num(z.x)).unwrap_or_default(),
            y: z.map(|z| num(z.y)).unwrap_or_default(),
            width: z.map(|z| num(z.width)).unwrap_or_default(),
            height: z.map(|z| num(z.height)).unwrap_or_default(),
            page: d.page.map(|p| p.to_string()).unwrap_or_default(),
            required: d.required,
            date_formats: d.date_formats.clone().unwrap_or_default().join(", "),
            value: d.value.as_ref().map(|v| v.text()).unwrap_or_default(),
            matches: d
                .matches
                .map(|m| json!(m).as_str().unwrap_or_default().to_string())
                .unwrap_or_else(|| "first".into()),
            extra: d
                .within
                .as_ref()
                .map(|w| json!({"within": w}).to_string())
                .unwrap_or_default(),
            rows: match (&d.lines, &d.table) {
                (Some(l), _) => serde_json::to_string_pretty(&json!({ "lines": l })),
                (_, Some(t)) => serde_json::to_string_pretty(&json!({ "table": t })),
                _ => Ok(String::new()),
            }
            .unwrap_or_default(),
        }
    }

    pub fn blank(index: String) -> Self {
        Self {
            index,
            ty: "string".into(),
            locator: "regex".into(),
            direction: "right".into(),
            zone_page: "1".into(),
            matches: "first".into(),
            ..Default::default()
        }
    }

    fn from_form(form: &Form, index: String) -> Self {
        let t = |k: &str| form.text(&format!("f{index}.{k}"));
        let regex = form
            .get(&format!("f{index}.regex"))
            .unwrap_or_default()
            .to_string();
        let required = form.checked(&format!("f{index}.required"));
        Self {
            index: index.clone(),
            name: t("name"),
            ty: t("type"),
            locator: t("locator"),
            regex,
            anchor: t("anchor"),
            direction: t("direction"),
            zone_page: t("zone_page"),
            x: t("x"),
            y: t("y"),
            width: t("width"),
            height: t("height"),
            page: t("page"),
            required,
            date_formats: t("date_formats"),
            value: t("value"),
            matches: t("matches"),
            extra: t("extra"),
            rows: form
                .get(&format!("f{index}.rows"))
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The field as JSON; a number that does not parse is sent as text so the
    /// API's message names it.
    fn to_json(&self) -> Value {
        let number = |s: &str| -> Value {
            s.parse::<f64>()
                .ok()
                .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
                .unwrap_or_else(|| Value::String(s.to_string()))
        };
        let integer = |s: &str| -> Value {
            s.parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(s.to_string()))
        };
        let mut f = Map::new();
        f.insert("name".into(), json!(self.name));
        f.insert("type".into(), json!(self.ty));
        match self.locator.as_str() {
            "anchor" => {
                f.insert("anchor".into(), json!(self.anchor));
                f.insert("direction".into(), json!(self.direction));
            }
            "zone" => {
                f.insert(
                    "zone".into(),
                    json!({
                        "page": integer(&self.zone_page),
                        "x": number(&self.x),
                        "y": number(&self.y),
                        "width": number(&self.width),
                        "height": number(&self.height),
                    }),
                );
            }
            "value" => {
                f.insert("value".into(), json!(self.value));
            }
            // Not JSON: sent as text, so the API's message names the member.
            "rows" => match serde_json::from_str::<Value>(&self.rows) {
                Ok(Value::Object(rows)) => f.extend(rows),
                _ => {
                    f.insert("table".into(), json!(self.rows));
                }
            },
            _ => {
                let lines: Vec<&str> = self
                    .regex
                    .split('\n')
                    .map(|l| l.trim_end_matches('\r'))
                    .filter(|l| !l.is_empty())
                    .collect();
                let regex = match lines.as_slice() {
                    [_, _, ..] => json!(lines),
                    _ => json!(self.regex),
                };
                f.insert("regex".into(), regex);
                if !self.matches.is_empty() && self.matches != "first" {
                    f.insert("matches".into(), json!(self.matches));
                }
                if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(&self.extra) {
                    f.extend(extra);
                }
            }
        }
        if !self.page.is_empty() {
            f.insert("page".into(), integer(&self.page));
        }
        if self.required {
            f.insert("required".into(), json!(true));
        }
        let formats: Vec<&str> = self
            .date_formats
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if self.ty == "date" && !formats.is_empty() {
            f.insert("date_formats".into(), json!(formats));
        }
        Value::Object(f)
    }
}

impl EditorState {
    pub fn new_template() -> Self {
        Self {
            fields: vec![FieldRow::blank("0".into())],
            decimal_separator: ".".into(),
            language: "eng".into(),
            languages: "en".into(),
            text: "plain".into(),
            webhook: WebhookRow::new_default(),
            ..Default::default()
        }
    }

    pub fn from_view(t: &TemplateView) -> Self {
        let webhook = t
            .webhook
            .as_ref()
            .map_or_else(WebhookRow::new_default, WebhookRow::from_view);
        Self {
            name: t.name.clone(),
            fields: t
                .fields
                .iter()
                .enumerate()
                .map(|(i, d)| FieldRow::from_def(i.to_string(), d))
                .collect(),
            decimal_separator: t.options.decimal_separator.clone(),
            language: t.options.language.clone(),
            min_confidence: t.options.min_confidence.map(num).unwrap_or_default(),
            languages: t.options.languages.join(", "),
            text: json!(t.options.text)
                .as_str()
                .unwrap_or("plain")
                .to_string(),
            keywords: t.keywords.join("\n"),
            exclude_keywords: t.exclude_keywords.join("\n"),
            priority: t.priority.map(|p| p.to_string()).unwrap_or_default(),
            category: t.category.clone().unwrap_or_default(),
            kept: kept_members(t).to_string(),
            webhook,
        }
    }

    pub fn from_form(form: &Form) -> Self {
        let mut indexes: Vec<usize> = form
            .names_with_prefix("f")
            .iter()
            .filter_map(|(rest, _)| rest.strip_suffix(".name")?.parse().ok())
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        Self {
            name: form.text("name"),
            fields: indexes
                .into_iter()
                .map(|i| FieldRow::from_form(form, i.to_string()))
                .collect(),
            decimal_separator: form.text("decimal_separator"),
            language: form.text("language"),
            min_confidence: form.text("min_confidence"),
            languages: form.text("languages"),
            text: form.text("text"),
            keywords: form.get("keywords").unwrap_or_default().to_string(),
            exclude_keywords: form.get("exclude_keywords").unwrap_or_default().to_string(),
            priority: form.text("priority"),
            category: form.text("category"),
            kept: form.get("kept").unwrap_or_default().to_string(),
            webhook: WebhookRow::from_form(form),
        }
    }

    fn options_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("decimal_separator".into(), json!(self.decimal_separator));
        o.insert("language".into(), json!(self.language));
        if !self.min_confidence.is_empty() {
            let v = self
                .min_confidence
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| json!(self.min_confidence), Value::Number);
            o.insert("min_confidence".into(), v);
        }
        let languages: Vec<&str> = self
            .languages
            .split([',', ' '])
            .filter(|l| !l.is_empty())
            .collect();
        if !languages.is_empty() {
            o.insert("languages".into(), json!(languages));
        }
        if !self.text.is_empty() {
            o.insert("text".into(), json!(self.text));
        }
        if let Some(Value::Object(kept)) = self.kept_json().get("options") {
            o.extend(kept.clone());
        }
        Value::Object(o)
    }

    fn kept_json(&self) -> Value {
        serde_json::from_str(&self.kept).unwrap_or(Value::Null)
    }

    /// Keywords, exclude keywords, priority and the blocks kept, as template members.
    fn rules_json(&self, template: &mut Map<String, Value>) {
        let lines = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.trim().is_empty())
                .collect()
        };
        template.insert("keywords".into(), json!(lines(&self.keywords)));
        template.insert(
            "exclude_keywords".into(),
            json!(lines(&self.exclude_keywords)),
        );
        if !self.priority.trim().is_empty() {
            let p = self
                .priority
                .trim()
                .parse::<i64>()
                .map_or_else(|_| json!(self.priority), Value::from);
            template.insert("priority".into(), p);
        }
        if !self.category.trim().is_empty() {
            template.insert("category".into(), json!(self.category));
        }
        for kept in ["blocks", "checks"] {
            if let Some(v) = self.kept_json().get(kept) {
                template.insert(kept.into(), v.clone());
            }
        }
    }

    /// The fields in form order (the API's `fields[i]` is the i-th row shown).
    fn fields_json(&self) -> Value {
        Value::Array(self.fields.iter().map(FieldRow::to_json).collect())
    }

    /// The whole template, as `POST /v1/templates` takes it.
    pub fn template_json(&self) -> Value {
        let mut t = Map::new();
        t.insert("name".into(), json!(self.name));
        t.insert("fields".into(), self.fields_json());
        t.insert("options".into(), self.options_json());
        self.rules_json(&mut t);
        t.insert("webhook".into(), self.webhook.to_json());
        Value::Object(t)
    }

    /// What a preview needs: fields, options and blocks.
    pub fn preview_json(&self) -> Value {
        let mut p = json!({"fields": self.fields_json(), "options": self.options_json()});
        for kept in ["blocks", "checks"] {
            if let Some(v) = self.kept_json().get(kept) {
                p[kept] = v.clone();
            }
        }
        p
    }

    /// Where an API message about `fields[i]…` belongs: the i-th row's input name.
    pub fn error_slot(&self, message: &str) -> String {
        let path = message.split_once(": ").map_or("", |(p, _)| p);
        if let Some(rest) = path.strip_prefix("fields[") {
            if let Some((i, tail)) = rest.split_once(']') {
                if let Some(row) = i.parse::<usize>().ok().and_then(|i| self.fields.get(i)) {
                    let member = tail.trim_start_matches('.');
                    let member = member
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default();
                    let member = match member {
                        "" => "name",
                        "lines" | "table" => "rows",
                        m => m,
                    };
                    return format!("f{}.{member}", row.index);
                }
            }
        }
        match path.split(['.', '[']).next().unwrap_or_default() {
            "options" => path
                .trim_start_matches("options.")
                .split('[')
                .next()
                .unwrap_or_default()
                .to_string(),
            m @ ("keywords" | "exclude_keywords" | "priority" | "category") => m.into(),
            "webhook" => path.to_string(),
            "name" => "name".into(),
            _ => String::new(),
        }
    }
}

/// What the editor keeps as it is: the blocks, and the text options it has no inputs for.
fn kept_members(t: &TemplateView) -> Value {
    let mut options = serde_json::to_value(&t.options).unwrap_or_default();
    if let Value::Object(o) = &mut options {
        for edited in [
            "decimal_separator",
            "language",
            "min_confidence",
            "languages",
            "text",
        ] {
            o.remove(edited);
        }
    }
    let mut kept = json!({"options": options});
    if !t.blocks.is_empty() {
        kept["blocks"] = json!(t.blocks);
    }
    if !t.checks.is_empty() {
        kept["checks"] = json!(t.checks);
    }
    kept
}

/// One error, keyed by the input it belongs to (`""`: the form as a whole).
pub type Errors = BTreeMap<String, String>;
