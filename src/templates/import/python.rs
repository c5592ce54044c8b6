//! Python `re` syntax, as invoice2data templates write it, in Rust `regex` syntax.

use serde_json::Value;

/// `replace` pairs with Python's replacement syntax (`\g<name>`, `\1`) in Rust's (`${name}`, `${1}`).
pub(super) fn replacements(v: &Value) -> Result<Vec<[String; 2]>, String> {
    let pairs: Vec<&Value> = match v.as_array() {
        Some(items) if items.len() == 2 && items.iter().all(Value::is_string) => vec![v],
        Some(items) => items.iter().collect(),
        None => return Err("expected a list of [pattern, replacement] pairs".into()),
    };
    pairs
        .into_iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([Value::String(a), Value::String(b)]) => {
                Ok([python_regex(a)?, python_replacement(b)])
            }
            _ => Err("each entry must be a [pattern, replacement] pair of strings".into()),
        })
        .collect()
}

pub(super) fn python_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some('g') => {
                    chars.next();
                    let mut name = String::new();
                    if chars.next_if_eq(&'<').is_some() {
                        for c in chars.by_ref() {
                            if c == '>' {
                                break;
                            }
                            name.push(c);
                        }
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some(d @ '0'..='9') => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// A Python `re` pattern in Rust `regex` syntax: `{,n}` is `{0,n}`, `\Z` is
/// `\z`; look-around and back-references have no counterpart and are refused.
/// An indentation the pattern asks for (`^` and n ≥ 2 spaces) is matched from
/// three quarters of n to n spaces: it was counted in `pdftotext`'s column
/// grid, which is finer than the average character width layout text counts in.
pub fn python_regex(p: &str) -> Result<String, String> {
    let mut out = String::with_capacity(p.len());
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
        match c {
            '\\' if i + 1 < chars.len() => {
                let next = chars[i + 1];
                match next {
                    '1'..='9' if !in_class => {
                        return Err(format!(
                            "the regex {p:?} uses a back-reference (\\{next}), which Rust regexes do not have"
                        ))
                    }
                    'Z' if !in_class => out.push_str("\\z"),
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal in both syntaxes.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '[' if in_class => out.push_str("\\["),
            '(' if !in_class
                && (rest.starts_with("(?=")
                    || rest.starts_with("(?!")
                    || rest.starts_with("(?<=")
                    || rest.starts_with("(?<!")) =>
            {
                return Err(format!(
                    "the regex {p:?} uses look-around ({}), which Rust regexes do not have",
                    &rest[..if rest.starts_with("(?<") { 4 } else { 3 }]
                ))
            }
            '(' if !in_class && rest.starts_with("(?P=") => {
                return Err(format!(
                    "the regex {p:?} uses a named back-reference ((?P=…)), which Rust regexes do not have"
                ))
            }
            '{' if !in_class && chars.get(i + 1) == Some(&',') => {
                out.push_str("{0");
            }
            '^' if !in_class => {
                out.push(c);
                let spaces = chars[i + 1..].iter().take_while(|&&c| c == ' ').count();
                let quantified = matches!(chars.get(i + 1 + spaces), Some('{' | '*' | '+' | '?'));
                if spaces >= 2 && !quantified {
                    out.push_str(&format!(" {{{},{spaces}}}", spaces * 3 / 4));
                    i += spaces;
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    regex::Regex::new(&out).map_err(|e| format!("the regex {p:?} does not compile: {e}"))?;
    Ok(out)
}
