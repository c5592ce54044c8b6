//! Typed parsing of located text: numbers in either separator convention,
//! integers, dates and booleans. `None` means the text does not parse.

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::spec::{DateRules, FieldType};

/// How a template reads values: its decimal separator, its date rules and
/// the field's own date formats (tried first).
#[derive(Clone, Copy, Debug)]
pub struct Parsing<'a> {
    pub decimal: char,
    pub dates: &'a DateRules,
    pub field_formats: &'a [String],
}

/// Converts trimmed text to the field's JSON value.
pub fn parse(ty: FieldType, raw: &str, how: &Parsing) -> Option<Value> {
    let raw = raw.trim();
    let decimal = how.decimal;
    match ty {
        FieldType::String => Some(Value::String(raw.to_string())),
        FieldType::Number => parse_number(raw, decimal)
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        FieldType::Integer => parse_integer(raw, decimal).map(Value::from),
        FieldType::Date => {
            let formats: Vec<String> = how
                .field_formats
                .iter()
                .chain(&how.dates.formats)
                .cloned()
                .collect();
            parse_date(raw, &formats)
                .or_else(|| super::dates::read(raw, how.dates))
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
        }
        FieldType::Boolean => parse_boolean(raw).map(Value::Bool),
        // Rows are found and typed cell by cell, never parsed from one text.
        FieldType::Lines => None,
    }
}

/// Splits a sign written as `-`, `−`, a trailing `-` or accounting parentheses
/// from the digits, dropping currency symbols and codes at either end.
fn strip_sign_and_currency(raw: &str) -> Option<(bool, String)> {
    let mut s = raw.trim().replace('\u{2212}', "-");
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') && s.len() >= 2 {
        negative = true;
        s = s[1..s.len() - 1].to_string();
    }
    let is_numeric = |c: char| c.is_ascii_digit() || matches!(c, '.' | ',' | '\'');
    let trimmed = |s: &str, neg: &mut bool| -> String {
        let mut t = s.trim();
        loop {
            let before = t;
            t = t.trim_start_matches(|c: char| !is_numeric(c) && c != '-' && c != '+');
            if let Some(rest) = t.strip_prefix('-') {
                *neg = !*neg;
                t = rest;
            } else if let Some(rest) = t.strip_prefix('+') {
                t = rest;
            }
            t = t.trim_end_matches(|c: char| !is_numeric(c) && c != '-');
            if let Some(rest) = t.strip_suffix('-') {
                *neg = !*neg;
                t = rest;
            }
            if t == before {
                return t.to_string();
            }
        }
    };
    let body = trimmed(&s, &mut negative);
    let compact: String = body
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}'))
        .collect();
    if compact.is_empty() || !compact.chars().all(is_numeric) {
        return None;
    }
    Some((negative, compact))
}

/// `1,234.56`, `$ 1 234.56`, `(12.00)` = -12, and with `,` as decimal separator `1.234,56`.
pub fn parse_number(raw: &str, decimal: char) -> Option<f64> {
    let (negative, digits) = strip_sign_and_currency(raw)?;
    let group = if decimal == ',' { '.' } else { ',' };
    let digits = digits.replace('\'', "");
    let (int_part, frac_part) = match digits.rsplit_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (digits.as_str(), None),
    };
    if frac_part.is_some_and(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let int_digits = ungroup(int_part, group)?;
    let text = match frac_part {
        Some(f) => format!(
            "{}.{f}",
            if int_digits.is_empty() {
                "0"
            } else {
                &int_digits
            }
        ),
        None if int_digits.is_empty() => return None,
        None => int_digits,
    };
    let v: f64 = text.parse().ok()?;
    Some(if negative { -v } else { v })
}

/// Removes thousands separators, insisting on groups of three digits after the first.
fn ungroup(int_part: &str, group: char) -> Option<String> {
    if !int_part.contains(group) {
        return int_part
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| int_part.to_string());
    }
    let mut parts = int_part.split(group);
    let first = parts.next()?;
    if first.is_empty() || first.len() > 3 || !first.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut out = first.to_string();
    for p in parts {
        if p.len() != 3 || !p.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        out.push_str(p);
    }
    Some(out)
}

/// Digits with an optional sign and thousands separators.
pub fn parse_integer(raw: &str, decimal: char) -> Option<i64> {
    let (negative, digits) = strip_sign_and_currency(raw)?;
    let digits = digits.replace('\'', "");
    let group = if decimal == ',' { '.' } else { ',' };
    if digits.contains(decimal) {
        return None;
    }
    let v: i64 = ungroup(&digits, group)?.parse().ok()?;
    Some(if negative { -v } else { v })
}

/// The template's formats first, then ISO 8601; trailing text after a date is
/// ignored. A format with a four-digit year (`%Y`) does not take a two-digit
/// one: chrono reads "18" as the year 18, and users list `%d/%m/%Y` before `%d/%m/%y`.
pub fn parse_date(raw: &str, formats: &[String]) -> Option<NaiveDate> {
    let raw = raw.trim();
    let iso = [
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%S",
    ];
    for f in formats.iter().map(String::as_str).chain(iso) {
        let four_digits = |d: NaiveDate| !f.contains("%Y") || d.year() >= 1000;
        if let Ok((d, rest)) = NaiveDate::parse_and_remainder(raw, f) {
            let ends = rest.is_empty() || rest.starts_with(char::is_whitespace) || f.contains('T');
            if ends && four_digits(d) {
                return Some(d);
            }
        }
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(raw, f) {
            if four_digits(dt.date()) {
                return Some(dt.date());
            }
        }
    }
    None
}

pub fn parse_boolean(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "x" | "on" | "checked" | "✓" | "✔" | "☑" | "☒" => {
            Some(true)
        }
        "false" | "no" | "n" | "0" | "off" | "unchecked" | "☐" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let cases: &[(&str, char, Option<f64>)] = &[
            ("1,234.56", '.', Some(1234.56)),
            ("$ 1 234.56", '.', Some(1234.56)),
            ("(12.00)", '.', Some(-12.0)),
            ("($12.00)", '.', Some(-12.0)),
            ("-7.5", '.', Some(-7.5)),
            ("12.00-", '.', Some(-12.0)),
            ("USD 99", '.', Some(99.0)),
            ("€1.234,56", ',', Some(1234.56)),
            ("1.234,56", ',', Some(1234.56)),
            ("0,5", ',', Some(0.5)),
            ("1 234,56 EUR", ',', Some(1234.56)),
            (".75", '.', Some(0.75)),
            ("1,23.4", '.', None),
            ("12.3.4", '.', None),
            ("abc", '.', None),
            ("", '.', None),
            ("$", '.', None),
            ("1,234.56", ',', None),
        ];
        for (raw, dec, want) in cases {
            assert_eq!(parse_number(raw, *dec), *want, "{raw:?} with {dec:?}");
        }
    }

    #[test]
    fn integers() {
        let cases: &[(&str, char, Option<i64>)] = &[
            ("42", '.', Some(42)),
            ("+42", '.', Some(42)),
            ("-1,000", '.', Some(-1000)),
            ("1.000.000", ',', Some(1_000_000)),
            ("12.5", '.', None),
            ("1,00", '.', None),
            ("seven", '.', None),
        ];
        for (raw, dec, want) in cases {
            assert_eq!(parse_integer(raw, *dec), *want, "{raw:?}");
        }
    }

    #[test]
    fn dates() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        let cases: Vec<(&str, Vec<String>, Option<NaiveDate>)> = vec![
            ("03/02/2026", f(&["%d/%m/%Y"]), d(2026, 2, 3)),
            (
                "March 5, 2026",
                f(&["%d/%m/%Y", "%B %d, %Y"]),
                d(2026, 3, 5),
            ),
            ("2026-03-05", f(&["%d/%m/%Y"]), d(2026, 3, 5)),
            ("2026-03-05", vec![], d(2026, 3, 5)),
            ("2026-03-05T10:00:00Z", vec![], d(2026, 3, 5)),
            ("05.03.2026 Terms: 30 days", f(&["%d.%m.%Y"]), d(2026, 3, 5)),
            ("31/02/2026", f(&["%d/%m/%Y"]), None),
            ("soon", f(&["%d/%m/%Y"]), None),
            ("12/03/18", f(&["%d/%m/%Y", "%d/%m/%y"]), d(2018, 3, 12)),
            ("12/03/0018", f(&["%d/%m/%Y"]), None),
        ];
        for (raw, formats, want) in cases {
            assert_eq!(parse_date(raw, &formats), want, "{raw:?}");
        }
    }

    #[test]
    fn booleans() {
        for (raw, want) in [
            ("Yes", Some(true)),
            ("no", Some(false)),
            ("X", Some(true)),
            ("maybe", None),
        ] {
            assert_eq!(parse_boolean(raw), want, "{raw}");
        }
    }

    #[test]
    fn dates_fall_back_to_written_and_numeric_dates() {
        let dates = DateRules {
            languages: vec!["nl".into()],
            ..DateRules::default()
        };
        let how = Parsing {
            decimal: '.',
            dates: &dates,
            field_formats: &[],
        };
        for (raw, want) in [
            ("29 maart 2014", "2014-03-29"),
            ("31/12/2017", "2017-12-31"),
            ("August 3 , 2014", "2014-08-03"),
        ] {
            assert_eq!(
                parse(FieldType::Date, raw, &how),
                Some(serde_json::json!(want)),
                "{raw}"
            );
        }
    }

    #[test]
    fn parse_produces_json_values() {
        let dates = DateRules::default();
        let how = Parsing {
            decimal: '.',
            dates: &dates,
            field_formats: &[],
        };
        assert_eq!(
            parse(FieldType::Number, " 1,234.50 ", &how),
            Some(serde_json::json!(1234.5))
        );
        assert_eq!(
            parse(FieldType::Integer, "7", &how),
            Some(serde_json::json!(7))
        );
        assert_eq!(
            parse(FieldType::Date, "2026-01-02", &how),
            Some(serde_json::json!("2026-01-02"))
        );
        assert_eq!(
            parse(FieldType::String, "  ACME  ", &how),
            Some(serde_json::json!("ACME"))
        );
    }
}
