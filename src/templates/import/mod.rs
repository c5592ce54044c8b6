//! invoice2data templates (YAML or JSON) translated into docpush templates
//! (SPEC §2.1 "Import"). What has a counterpart is translated with its
//! meaning kept; what has none is refused by name, never guessed.

use serde_json::{json, Map, Value};

mod lines;
mod python;

use super::input::TemplateInput;
use super::TemplateError;
pub use python::python_regex;
use python::replacements;

/// invoice2data's template as text, YAML or JSON.
pub fn parse(body: &[u8]) -> Result<Value, TemplateError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| TemplateError::Invalid("the template is not UTF-8 text".into()))?;
    let trimmed = text.trim_start();
    let value: Value = if trimmed.starts_with('{') {
        serde_json::from_str(text)
            .map_err(|e| TemplateError::Invalid(format!("the template is not valid JSON: {e}")))?
    } else {
        yaml_serde::from_str(text)
            .map_err(|e| TemplateError::Invalid(format!("the template is not valid YAML: {e}")))?
    };
    if !value.is_object() {
        return Err(TemplateError::Invalid(
            "the template must be a mapping with keywords and fields".into(),
        ));
    }
    Ok(value)
}

/// The docpush template for an invoice2data template, or every construct
/// that has no counterpart, each with its reason.
pub fn translate(t: &Value) -> Result<TemplateInput, TemplateError> {
    let mut refused = Vec::new();
    let mut fields: Vec<Value> = Vec::new();
    let options = t.get("options").cloned().unwrap_or(json!({}));
    let opt = |k: &str| options.get(k).filter(|v| !v.is_null());

    let keywords = list(t.get("keywords"));
    if keywords.is_empty() {
        refused.push("keywords: invoice2data templates need at least one keyword".to_string());
    }
    let issuer = t
        .get("issuer")
        .and_then(scalar)
        .or_else(|| keywords.first().cloned());
    if let Some(issuer) = &issuer {
        fields.push(json!({"name": "issuer", "type": "string", "value": issuer}));
    }

    if let Some(Value::Object(defs)) = t.get("fields") {
        for (name, def) in defs {
            match field(name, def) {
                Ok(Some(f)) => {
                    let name = f["name"].as_str().unwrap_or_default().to_string();
                    fields.retain(|g| g["name"] != name.as_str());
                    fields.push(f);
                }
                Ok(None) => {}
                Err(reason) => refused.push(format!("fields.{name}: {reason}")),
            }
        }
    } else {
        refused.push("fields: missing or not a mapping".into());
    }
    let has = |fields: &[Value], n: &str| fields.iter().any(|f| f["name"] == n);
    if !has(&fields, "currency") {
        let currency = opt("currency")
            .and_then(scalar)
            .unwrap_or_else(|| "EUR".into());
        fields.push(json!({"name": "currency", "type": "string", "value": currency}));
    }
    if let Some(issuer) = &issuer {
        if !has(&fields, "desc") {
            fields.push(
                json!({"name": "desc", "type": "string", "value": format!("Invoice from {issuer}")}),
            );
        }
    }
    // A required field the template does not define could never be found by
    // invoice2data either; it only fails the extraction there.
    for name in list(t.get("required_fields")) {
        if let Some(f) = fields.iter_mut().find(|f| f["name"] == name.as_str()) {
            f["required"] = json!(true);
        }
    }

    let mut out_options = Map::new();
    out_options.insert("text".into(), json!("layout"));
    if let Some(d) = opt("decimal_separator").and_then(scalar) {
        out_options.insert("decimal_separator".into(), json!(d));
    }
    let formats = list(opt("date_formats"));
    if !formats.is_empty() {
        out_options.insert("date_formats".into(), json!(formats));
    }
    // Without languages invoice2data reads dates in whichever language they are written.
    let languages = list(opt("languages"));
    let languages = match languages.is_empty() {
        true => crate::spec::DATE_LANGUAGES
            .iter()
            .map(|l| l.to_string())
            .collect(),
        false => languages,
    };
    out_options.insert("languages".into(), json!(languages));
    for flag in ["remove_whitespace", "remove_accents", "lowercase"] {
        if opt(flag).and_then(Value::as_bool) == Some(true) {
            out_options.insert(flag.into(), json!(true));
        }
    }
    if let Some(replace) = opt("replace") {
        match replacements(replace) {
            Ok(pairs) if !pairs.is_empty() => {
                out_options.insert("replace".into(), json!(pairs));
            }
            Ok(_) => {}
            Err(reason) => refused.push(format!("options.replace: {reason}")),
        }
    }
    let mut blocks = Vec::new();
    for (i, table) in t
        .get("tables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        match block(table) {
            Ok(b) => blocks.push(b),
            Err(reason) => refused.push(format!("tables[{i}]: {reason}")),
        }
    }
    if let Some(plugin) = t.get("lines") {
        // The `lines` plugin is the `lines` parser on a field called lines.
        match lines::lines_field("lines", plugin) {
            Ok(f) => {
                fields.retain(|g| g["name"] != "lines");
                fields.push(f);
            }
            Err(reason) => refused.push(format!("lines: {reason}")),
        }
    }
    let exclude = list(t.get("exclude_keywords"));
    let template = json!({
        "name": t
            .get("template_name")
            .and_then(scalar)
            .or(issuer)
            .unwrap_or_else(|| "Imported template".into())
            .chars()
            .take(200)
            .collect::<String>(),
        "fields": fields,
        "options": out_options,
        "keywords": keywords.iter().map(String::as_str).map(keyword).collect::<Vec<_>>(),
        "exclude_keywords": exclude.iter().map(String::as_str).map(keyword).collect::<Vec<_>>(),
        "priority": t.get("priority").and_then(Value::as_i64).or_else(|| opt("priority").and_then(Value::as_i64)),
        "blocks": blocks,
    });
    if !refused.is_empty() {
        refused.dedup();
        return Err(TemplateError::Invalid(format!(
            "the invoice2data template has constructs docpush cannot import: {}",
            refused.join("; ")
        )));
    }
    serde_json::from_value(template).map_err(|e| TemplateError::Invalid(e.to_string()))
}

/// A string or a list of strings (numbers as written).
fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A keyword as invoice2data 1.0 matches it: plain text. Keywords written for
/// older versions, which matched them as regexes, match as either when they
/// say so unmistakably with a class or an escape (`NL8152[.]54[.]295[.]B01`);
/// a lone `$` stays a dollar sign.
fn keyword(k: &str) -> String {
    let plain = regex::escape(k);
    let is_regex = (k.contains('[') || k.contains('\\')) && python_regex(k).is_ok();
    if is_regex {
        format!("(?:{plain}|{})", python_regex(k).expect("checked"))
    } else {
        plain
    }
}

/// The type invoice2data gives a field by its `type`, or by its name when it has none.
fn field_type(name: &str, ty: Option<&str>) -> Result<&'static str, String> {
    Ok(match ty {
        Some("int") => "integer",
        Some("float") => "number",
        Some("date" | "datetime") => "date",
        Some(other) => return Err(format!("type {other:?} is not one of int, float, date")),
        None if name.starts_with("date") || name.ends_with("date") => "date",
        None if name.starts_with("amount") => "number",
        None => "string",
    })
}

/// One field; `None` for what is dropped on purpose.
fn field(name: &str, def: &Value) -> Result<Option<Value>, String> {
    let regex_field = |patterns: Vec<String>, ty: &str, matches: &str| -> Result<Value, String> {
        let translated = patterns
            .iter()
            .map(|p| python_regex(p))
            .collect::<Result<Vec<_>, _>>()?;
        // invoice2data gathers the matches of every pattern of a list; for
        // `first` that is the first pattern that matches, for the rest one
        // alternation finds them all.
        let joined = translated
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let regex = match translated.as_slice() {
            [one] => json!(one),
            // A group named in two patterns cannot be one alternation.
            _ if matches == "first" || regex::Regex::new(&joined).is_err() => json!(translated),
            _ => json!(joined),
        };
        Ok(json!({"name": name, "type": ty, "regex": regex, "matches": matches}))
    };
    match def {
        Value::Null => Ok(None),
        Value::String(_) | Value::Array(_) if name.starts_with("static_") => Ok(Some(
            json!({"name": &name["static_".len()..], "type": "string", "value": scalar(def).unwrap_or_default()}),
        )),
        Value::Number(_) | Value::Bool(_) if name.starts_with("static_") => Ok(Some(
            json!({"name": &name["static_".len()..], "type": "string", "value": scalar(def)}),
        )),
        Value::Array(_) if name.starts_with("sum_amount") => {
            let mut f = regex_field(list(Some(def)), "number", "sum")?;
            f["name"] = json!(&name["sum_".len()..]);
            Ok(Some(f))
        }
        Value::String(_) | Value::Array(_) => {
            let ty = field_type(name, None)?;
            Ok(Some(regex_field(list(Some(def)), ty, "unique")?))
        }
        Value::Number(_) | Value::Bool(_) => {
            Err("a bare number is not a regex or a static_ value".into())
        }
        Value::Object(o) => {
            if o.get("parser").and_then(Value::as_str) == Some("lines") {
                return lines::lines_field(name, def).map(Some);
            }
            // Members invoice2data reads that have no counterpart; others it ignores, and so do we.
            for k in ["replace", "extract_number"] {
                if o.contains_key(k) {
                    return Err(format!("{k}: no counterpart in docpush fields"));
                }
            }
            let ty = o.get("type").and_then(Value::as_str);
            match o.get("parser").and_then(Value::as_str) {
                Some("static") => {
                    let value = o.get("value").ok_or("a static field needs a value")?;
                    let ty = match ty {
                        None => "string",
                        Some(_) => field_type(name, ty)?,
                    };
                    Ok(Some(
                        json!({"name": name, "type": ty, "value": scalar(value)}),
                    ))
                }
                Some("regex") => {
                    let ty = field_type(name, ty)?;
                    let matches = match o.get("group").and_then(Value::as_str) {
                        None => "unique",
                        Some(g @ ("first" | "last" | "sum" | "min" | "max" | "join")) => g,
                        Some(other) => return Err(format!("group {other:?} has no counterpart")),
                    };
                    let ty = if matches == "join" { "string" } else { ty };
                    let mut f = regex_field(list(o.get("regex")), ty, matches)?;
                    if let Some(area) = o.get("area") {
                        f["within"] = area_rect(area)?;
                    }
                    Ok(Some(f))
                }
                Some(other) => Err(format!("parser {other:?} has no counterpart")),
                None => Err("a field mapping needs a parser".into()),
            }
        }
    }
}

/// invoice2data's `area` (`f`, `l` pages; `x`, `y`, `W`, `H` in pixels at
/// resolution `r`, 150 by default, on a page `w`×`h` pixels) as a rectangle.
fn area_rect(a: &Value) -> Result<Value, String> {
    let n = |k: &str| a.get(k).and_then(Value::as_f64);
    let (first, last) = (n("f").unwrap_or(1.0), n("l").unwrap_or(1.0));
    if first != last {
        return Err("area over several pages has no counterpart (within is one page)".into());
    }
    let (Some(x), Some(y), Some(w), Some(h)) = (n("x"), n("y"), n("W"), n("H")) else {
        return Err("area needs x, y, W and H".into());
    };
    // pdftotext's -W/-H crop in pixels at -r dpi; an A4 page at that resolution.
    let dpi = n("r").unwrap_or(150.0);
    let (pw, ph) = (8.27 * dpi, 11.69 * dpi);
    let clamp = |v: f64| (v.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
    let (fx, fy) = (clamp(x / pw), clamp(y / ph));
    Ok(json!({
        "page": first as u32,
        "x": fx,
        "y": fy,
        "width": clamp((w / pw).min(1.0 - fx)).max(0.0001),
        "height": clamp((h / ph).min(1.0 - fy)).max(0.0001),
    }))
}

fn block(table: &Value) -> Result<Value, String> {
    let get = |k: &str| {
        table
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{k} is required"))
    };
    let body = python_regex(get("body")?)?;
    let names: Vec<String> = regex::Regex::new(&body)
        .map_err(|e| format!("body: {e}"))?
        .capture_names()
        .flatten()
        .map(str::to_string)
        .collect();
    let declared = table.get("types").and_then(Value::as_object);
    let mut types = Map::new();
    for name in &names {
        let ty = declared
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(|t| field_type(name, Some(t)))
            .transpose()?
            .unwrap_or(field_type(name, None)?);
        if ty != "string" {
            types.insert(name.clone(), json!(ty));
        }
    }
    Ok(json!({
        "start": python_regex(get("start")?)?,
        "end": python_regex(get("end")?)?,
        "body": body,
        "types": types,
    }))
}

#[cfg(test)]
mod tests {
    use super::python::python_replacement;
    use super::*;

    #[test]
    fn python_syntax_is_translated_or_refused_by_name() {
        assert_eq!(
            python_regex(r"(?P<desc>.{,70})\Z").unwrap(),
            r"(?P<desc>.{0,70})\z"
        );
        assert_eq!(python_regex(r"[-|\/]\d").unwrap(), r"[-|\/]\d");
        assert_eq!(python_regex(r"^    (\w+)").unwrap(), r"^ {3,4}(\w+)");
        assert_eq!(python_regex(r"^ (\w+)").unwrap(), r"^ (\w+)");
        assert_eq!(python_regex(r"^   *x").unwrap(), r"^   *x");
        assert_eq!(python_regex(r"[^  ]").unwrap(), r"[^  ]");
        assert!(python_regex(r"Total(?= EUR)")
            .unwrap_err()
            .contains("look-around"));
        assert!(python_regex(r"(a)\1")
            .unwrap_err()
            .contains("back-reference"));
        assert_eq!(
            python_replacement(r" du \g<from>\1 $"),
            " du ${from}${1} $$"
        );
    }

    #[test]
    fn keywords_are_plain_text_or_old_style_regexes() {
        let k = regex::Regex::new(&keyword("NL8152[.]54[.]295[.]B01")).unwrap();
        assert!(k.is_match("BTW NL8152.54.295.B01"));
        let k = regex::Regex::new(&keyword("$")).unwrap();
        assert!(k.is_match("Total $ 5") && !k.is_match("Total 5"));
        let k = regex::Regex::new(&keyword("(EUR)")).unwrap();
        assert!(k.is_match("Total (EUR)"));
    }

    #[test]
    fn a_template_is_translated_with_its_meaning() {
        let t = parse(
            br#"
issuer: OYO
fields:
  amount: Grand Total\s+Rs (\d+)
  static_vat: "NL1"
  note:
    parser: regex
    regex: [(A\d), (B\d)]
    group: join
keywords: [OYO, Stays]
tables:
  - start: GSTIN\s+CIN
    end: Oravel
    body: (?P<gstin>\w+)\s+(?P<amount_x>\d+)
options:
  currency: INR
  date_formats: ["%d/%m/%Y"]
  replace: [['(?P<a>\d) L', '\g<a>LTR']]
"#,
        )
        .unwrap();
        let input = translate(&t).unwrap();
        let fields = serde_json::to_value(&input.fields).unwrap();
        let names: Vec<&str> = fields
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["issuer", "amount", "vat", "note", "currency", "desc"]
        );
        assert_eq!(fields[1]["type"], "number");
        assert_eq!(fields[1]["matches"], "unique");
        assert_eq!(fields[3]["matches"], "join");
        assert_eq!(input.keywords.unwrap(), ["OYO", "Stays"]);
        let opts = serde_json::to_value(input.options.unwrap()).unwrap();
        assert_eq!(opts["replace"][0][1], "${a}LTR");
        assert_eq!(opts["text"], "layout");
        assert_eq!(input.blocks.unwrap()[0].types["amount_x"], "number");
    }

    #[test]
    fn what_has_no_counterpart_is_refused_by_name() {
        let t = parse(
            br#"
issuer: X
keywords: [X]
fields:
  a: Total(?= EUR)
  b: {parser: regex, regex: x, extract_number: true}
lines: {start: a, end: b, line: c, line_separator: ";"}
options: {currency: EUR}
"#,
        )
        .unwrap();
        let TemplateError::Invalid(m) = translate(&t).unwrap_err() else {
            panic!()
        };
        for want in [
            "fields.a: ",
            "look-around",
            "fields.b: extract_number",
            "lines: line_separator",
        ] {
            assert!(m.contains(want), "{want}: {m}");
        }
    }
}
