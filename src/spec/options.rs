//! Template-wide options (SPEC §2, §2.1) and what they compile to: the text
//! rules applied before regex fields search, and how dates are read.

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::field::check_date_formats;
use super::patterns::Budget;
use super::{invalid, InvalidTemplate};

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
    /// `[regex, with]` pairs applied in order to the text regex fields search
    /// (`$1` or `${name}` in `with` for a group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = replace_pairs)]
    pub replace: Vec<[String; 2]>,
    /// Spaces removed from the regex text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_whitespace: bool,
    /// Accents removed from the regex text (`é` reads `e`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_accents: bool,
    /// The regex text in lower case.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lowercase: bool,
    /// `layout` keeps the gaps between words as runs of spaces, as `pdftotext -layout` prints them.
    #[serde(default, skip_serializing_if = "TextMode::is_plain")]
    pub text: TextMode,
    /// Languages of written dates (`en`, `fr`, `de`, `nl`, `es`, `it`, `pt`); default `["en"]`.
    #[serde(
        default = "default_languages",
        skip_serializing_if = "is_default_languages"
    )]
    #[schema(example = json!(["en"]))]
    pub languages: Vec<String>,
    /// How a numeric date no format matched is read: `dmy` (the default), `mdy` or `ymd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_order: Option<DateOrder>,
    /// chrono formats tried for every date field, after the field's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub date_formats: Vec<String>,
}

/// `[[regex, with], …]`: pairs of exactly two strings.
fn replace_pairs() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let pair = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new()
        .items(pair)
        .max_items(Some(MAX_REPLACE))
        .description(Some(
            "`[regex, with]` pairs applied in order to the text regex fields search (`$1` or `${name}` in `with` for a group).",
        ))
        .build()
}

/// How the regex text spaces a line's words.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextMode {
    /// Single spaces.
    #[default]
    Plain,
    /// Gaps kept as runs of spaces.
    Layout,
}

impl TextMode {
    fn is_plain(&self) -> bool {
        *self == TextMode::Plain
    }
}

/// The order of day, month and year in a numeric date.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    #[default]
    Dmy,
    Mdy,
    Ymd,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            decimal_separator: default_decimal(),
            language: default_language(),
            min_confidence: None,
            replace: Vec::new(),
            remove_whitespace: false,
            remove_accents: false,
            lowercase: false,
            text: TextMode::Plain,
            languages: default_languages(),
            date_order: None,
            date_formats: Vec::new(),
        }
    }
}

fn default_decimal() -> String {
    ".".into()
}
fn default_language() -> String {
    "eng".into()
}
fn default_languages() -> Vec<String> {
    vec!["en".into()]
}
fn is_default_languages(l: &[String]) -> bool {
    l == ["en"]
}

/// Languages whose written dates are read.
pub const DATE_LANGUAGES: [&str; 7] = ["en", "fr", "de", "nl", "es", "it", "pt"];
/// Most `replace` pairs one template may list.
const MAX_REPLACE: usize = 50;

impl Options {
    pub fn decimal(&self) -> char {
        self.decimal_separator.chars().next().unwrap_or('.')
    }

    /// How this template reads dates.
    pub fn dates(&self) -> DateRules {
        DateRules {
            formats: self.date_formats.clone(),
            languages: self.languages.clone(),
            order: self.date_order.unwrap_or_default(),
        }
    }
}

/// How dates are read: the template's formats (after a field's own), then
/// ISO 8601, then written dates in these languages and numeric dates in this order.
#[derive(Clone, Debug, PartialEq)]
pub struct DateRules {
    pub formats: Vec<String>,
    pub languages: Vec<String>,
    pub order: DateOrder,
}

impl Default for DateRules {
    fn default() -> Self {
        Options::default().dates()
    }
}

/// What the text options compile to: applied in this order to the text regex fields search.
#[derive(Clone, Debug, Default)]
pub struct TextRules {
    pub replace: Vec<(Regex, String)>,
    pub remove_whitespace: bool,
    pub remove_accents: bool,
    pub lowercase: bool,
    pub layout: bool,
}

impl TextRules {
    /// Whether the text is searched as read.
    pub fn is_identity(&self) -> bool {
        self.replace.is_empty()
            && !self.remove_whitespace
            && !self.remove_accents
            && !self.lowercase
    }
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
    for (i, l) in opts.languages.iter().enumerate() {
        if !DATE_LANGUAGES.contains(&l.as_str()) {
            return Err(invalid(format!(
                "options.languages[{i}]: {l:?} is not a language dates are read in (expected one of {})",
                DATE_LANGUAGES.join(", ")
            )));
        }
    }
    if opts.replace.len() > MAX_REPLACE {
        return Err(invalid(format!(
            "options.replace lists {} pairs, more than the limit of {MAX_REPLACE}",
            opts.replace.len()
        )));
    }
    check_date_formats(&opts.date_formats)
        .map_err(|e| invalid(format!("options.date_formats: {e}")))?;
    text_rules(&opts, &mut Budget::default())?;
    Ok(opts)
}

/// The text options compiled, charging their regexes to `budget`.
pub fn text_rules(opts: &Options, budget: &mut Budget) -> Result<TextRules, InvalidTemplate> {
    let replace = opts
        .replace
        .iter()
        .enumerate()
        .map(|(i, [pattern, with])| {
            budget
                .compile(pattern)
                .map(|re| (re, with.clone()))
                .map_err(|e| invalid(format!("options.replace[{i}]: invalid regex: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(TextRules {
        replace,
        remove_whitespace: opts.remove_whitespace,
        remove_accents: opts.remove_accents,
        lowercase: opts.lowercase,
        layout: opts.text == TextMode::Layout,
    })
}
