//! Clean-up of values read by OCR, before they are parsed: what dust and
//! look-alike glyphs do to a value, undone where the field's type makes the
//! intent clear. Text layers are never cleaned: their text is what was printed.

use super::document::Word;
use crate::spec::FieldType;

/// Punctuation that specks become at a value's edge.
const SPECKS: &[char] = &[
    '‘', '’', '\'', '`', '´', '"', '“', '”', ',', '.', ':', ';', '_', '~', '*', '•', '·', '|', '-',
    '^', '°',
];
/// Signs that belong to a number even when they stand alone.
const NUMBER_SIGNS: &[char] = &['-', '(', ')', '+'];

/// The cleaned text, and a note when it differs from what OCR read.
#[derive(Debug, PartialEq)]
pub struct Cleaned {
    pub text: String,
    pub note: Option<String>,
}

/// Cleans `text` read by OCR for a field of type `ty`; `words` are the words it came from.
pub fn clean(text: &str, words: &[Word], ty: FieldType) -> Cleaned {
    let numeric = matches!(ty, FieldType::Number | FieldType::Integer);
    let digits_wanted = numeric || ty == FieldType::Date;
    let mut value = drop_lone_specks(text.trim(), words, numeric);
    value = strip_glued(&value, ty);
    // A full stop may end a name ("Ltd."), unless OCR was unsure of the word it ends.
    let unsure_end = words
        .last()
        .is_some_and(|w| w.text.ends_with('.') && w.confidence < 0.6);
    if ty == FieldType::String && unsure_end && value.ends_with('.') && value.len() > 1 {
        value = strip_glued(value.trim_end_matches('.'), ty);
    }
    if digits_wanted {
        value = value
            .split(' ')
            .map(|token| digits_for_look_alikes(token, ty == FieldType::Date))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let note = (value != text.trim()).then(|| note(text, &value));
    Cleaned { text: value, note }
}

/// A number whose decimal separator OCR read as a space (`197 11`): a last
/// group of two digits is never a thousands group, so it is the decimals.
pub fn lost_decimal(text: &str, decimal: char) -> Option<String> {
    let (head, tail) = text.rsplit_once(' ')?;
    let tail_is_cents = tail.len() == 2 && tail.bytes().all(|b| b.is_ascii_digit());
    let head_ends_in_digit = head.chars().last().is_some_and(|c| c.is_ascii_digit());
    (tail_is_cents && head_ends_in_digit && !head.contains(decimal))
        .then(|| format!("{head}{decimal}{tail}"))
}

/// What a file's `warnings` say of a value OCR read as `raw` and clean-up changed.
pub fn note(raw: &str, cleaned: &str) -> String {
    format!("OCR read {:?}, cleaned to {cleaned:?}", raw.trim())
}

/// Whether `text` is only punctuation that dust becomes (a dash aside, which
/// may be a value): what is left of a label's line after a scanned `Date:.`.
pub fn speck_punctuation(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.chars().all(|c| c != '-' && SPECKS.contains(&c))
}

/// Whether a token is punctuation only.
fn is_punctuation(token: &str) -> bool {
    !token.is_empty() && !token.chars().any(char::is_alphanumeric)
}

/// A word that is a speck rather than print: read with low confidence, or
/// much smaller than the value's other words.
fn speck_like(word: &Word, typical_height: f32) -> bool {
    word.confidence < 0.6 || word.height() < typical_height * 0.45
}

/// Drops punctuation-only tokens at either edge that came from specks.
fn drop_lone_specks(text: &str, words: &[Word], numeric: bool) -> String {
    let mut heights: Vec<f32> = words
        .iter()
        .filter(|w| w.text.chars().any(char::is_alphanumeric))
        .map(Word::height)
        .collect();
    heights.sort_by(f32::total_cmp);
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    let droppable = |token: &str| {
        is_punctuation(token)
            && token.chars().all(|c| SPECKS.contains(&c))
            && !(numeric && token.chars().all(|c| NUMBER_SIGNS.contains(&c)))
            && words
                .iter()
                .find(|w| w.text == token)
                .is_some_and(|w| speck_like(w, typical) || token.chars().all(|c| c != '-'))
    };
    let mut tokens: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
    while tokens.len() > 1 && droppable(tokens[0]) {
        tokens.remove(0);
    }
    while tokens.len() > 1 && droppable(tokens[tokens.len() - 1]) {
        tokens.pop();
    }
    // Keep the original spacing (and line breaks) between the tokens that stay.
    match (tokens.first(), tokens.last()) {
        (Some(first), Some(last)) => {
            let start = text.find(first).unwrap_or(0);
            let end = text.rfind(last).map_or(text.len(), |i| i + last.len());
            text[start..end.max(start)].to_string()
        }
        _ => text.to_string(),
    }
}

/// Strips speck punctuation stuck to the start or end of the value: a quote
/// before a date, a colon after a name. What may really end or start a value
/// of the type stays (a full stop after "Ltd", a sign before a number).
fn strip_glued(text: &str, ty: FieldType) -> String {
    let numeric = matches!(ty, FieldType::Number | FieldType::Integer);
    // A quote with its partner in the value ("“Sunrise” Bakery") was printed.
    let paired = |c: char| {
        let partner = match c {
            '‘' => '’',
            '’' => '‘',
            '“' => '”',
            '”' => '“',
            '"' | '\'' => c,
            _ => return false,
        };
        text.chars().filter(|&x| x == partner || x == c).count() >= 2
    };
    let lead = |c: char| SPECKS.contains(&c) && !paired(c) && !(numeric && matches!(c, '-' | '.'));
    let trail = |c: char| {
        SPECKS.contains(&c)
            && !paired(c)
            && match ty {
                FieldType::String | FieldType::Boolean | FieldType::Lines => c != '.',
                FieldType::Number | FieldType::Integer => c != '-',
                FieldType::Date => true,
            }
    };
    let mut s = text.trim();
    loop {
        let before = s;
        let mut chars = s.chars();
        if let (Some(first), Some(next)) = (chars.next(), chars.next()) {
            // A full stop before a space is never a decimal point.
            let stray_point = numeric && first == '.' && next.is_whitespace();
            if (lead(first) || stray_point)
                && (next.is_alphanumeric() || next.is_whitespace() || lead(next))
            {
                s = s[first.len_utf8()..].trim_start();
            }
        }
        if s.chars().count() > 1 {
            if let Some(last) = s.chars().last().filter(|c| trail(*c)) {
                s = s[..s.len() - last.len_utf8()].trim_end();
            }
        }
        if s == before {
            return s.to_string();
        }
    }
}

/// For a value of a type that needs digits and does not parse as it is:
/// every token made only of look-alike glyphs and digits ("lO") read as
/// digits. `None` when nothing changes.
pub fn as_digits(text: &str) -> Option<String> {
    let mapped: Vec<String> = text
        .split(' ')
        .map(|token| {
            let all = token
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',') || look_alike(c).is_some());
            if all {
                token.chars().map(|c| look_alike(c).unwrap_or(c)).collect()
            } else {
                token.to_string()
            }
        })
        .collect();
    let mapped = mapped.join(" ");
    (mapped != text).then_some(mapped)
}

/// The digit a glyph is often mistaken for, if any.
fn look_alike(c: char) -> Option<char> {
    match c {
        'O' | 'o' => Some('0'),
        'l' | 'I' | '|' => Some('1'),
        'S' | 's' | '$' => Some('5'),
        'B' => Some('8'),
        'Z' | 'z' => Some('2'),
        _ => None,
    }
}

/// Look-alike glyphs inside a token that holds digits become digits: between
/// two digits always, elsewhere only in a token that is otherwise a figure.
/// Words without digits ("Oct", "USD") are left alone.
fn digits_for_look_alikes(token: &str, date: bool) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    if !chars.iter().any(char::is_ascii_digit) {
        return token.to_string();
    }
    // A month name inside a date token ("3Nov2026") keeps its letters.
    if date && chars.iter().filter(|c| c.is_alphabetic()).count() >= 3 {
        return token.to_string();
    }
    let numeric = chars.iter().all(|&c| {
        c.is_ascii_digit() || matches!(c, '.' | ',' | '/' | '-' | ':') || look_alike(c).is_some()
    });
    let digitish = |chars: &[char], i: usize| -> bool {
        let at = |j: usize| chars.get(j).copied();
        match at(i) {
            Some(c) if c.is_ascii_digit() => true,
            Some('.' | ',' | '/' | '-' | ':') => {
                let before = i
                    .checked_sub(1)
                    .and_then(at)
                    .is_some_and(|c| c.is_ascii_digit());
                let after = at(i + 1).is_some_and(|c| c.is_ascii_digit());
                before || after
            }
            _ => false,
        }
    };
    for _ in 0..2 {
        for i in 0..chars.len() {
            let Some(digit) = look_alike(chars[i]) else {
                continue;
            };
            let before = i > 0 && digitish(&chars, i - 1);
            let after = digitish(&chars, i + 1);
            let first = chars[..i].iter().all(|c| !c.is_alphanumeric());
            let last = chars[i + 1..].iter().all(|c| !c.is_alphanumeric());
            // Between digits anything maps. In a token of nothing but digits,
            // separators and look-alikes, the rest map too, except a leading
            // S or $ (a currency sign: "S12.50" is "$12.50") and a trailing
            // s or l (a unit: "30s", "42.5l").
            let currency = first && matches!(chars[i], 'S' | 's' | '$');
            let unit = last && matches!(chars[i], 's' | 'l');
            let maps = (before && after) || (numeric && !currency && !unit);
            if maps {
                chars[i] = digit;
            }
        }
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_point_read_as_a_space_comes_back() {
        assert_eq!(lost_decimal("197 11", '.').as_deref(), Some("197.11"));
        assert_eq!(lost_decimal("1,234 56", '.').as_deref(), Some("1,234.56"));
        assert_eq!(lost_decimal("1.234 56", ',').as_deref(), Some("1.234,56"));
        assert_eq!(lost_decimal("1 234", '.'), None);
        assert_eq!(lost_decimal("12.50 00", '.'), None);
        assert_eq!(lost_decimal("EUR 12", '.'), None);
    }

    /// Words for `text`, each 20 units high, except those given as `(word, height, confidence)`.
    fn words(text: &str, odd: &[(&str, f32, f32)]) -> Vec<Word> {
        let mut x = 0.0;
        text.split_whitespace()
            .map(|t| {
                let (h, c) = odd
                    .iter()
                    .find(|(w, _, _)| *w == t)
                    .map_or((20.0, 0.95), |(_, h, c)| (*h, *c));
                let w = Word::new(t, x, 0.0, x + 10.0 * t.len() as f32, h).with_confidence(c);
                x += 10.0 * t.len() as f32 + 8.0;
                w
            })
            .collect()
    }

    #[test]
    fn specks_and_look_alikes_are_cleaned_by_type() {
        use FieldType::*;
        // (OCR text, type, odd words, cleaned)
        type Odd<'a> = &'a [(&'a str, f32, f32)];
        let cases: &[(&str, FieldType, Odd, &str)] = &[
            ("- AB-1234", String, &[("-", 4.0, 0.9)], "AB-1234"),
            ("‘2024-03-05", Date, &[], "2024-03-05"),
            ("SHOP NAME:", String, &[], "SHOP NAME"),
            ("ACME Ltd.", String, &[], "ACME Ltd."),
            ("12.50 .", Number, &[(".", 3.0, 0.4)], "12.50"),
            ("' 1,234.56", Number, &[("'", 5.0, 0.3)], "1,234.56"),
            ("l23.45", Number, &[], "123.45"),
            ("1O.5O", Number, &[], "10.50"),
            ("S12.50", Number, &[], "S12.50"),
            ("1$0.00", Number, &[], "150.00"),
            ("2O26-1l-03", Date, &[], "2026-11-03"),
            ("Oct 3, 2O26", Date, &[], "Oct 3, 2026"),
            ("USD 1,2O0.00", Number, &[], "USD 1,200.00"),
            ("- 12.50", Number, &[("-", 4.0, 0.9)], "- 12.50"),
            ("(12.50)", Number, &[], "(12.50)"),
            ("12.50-", Number, &[], "12.50-"),
            ("INV-1O", String, &[], "INV-1O"),
            ("-", String, &[], "-"),
            ("Total: ok", String, &[], "Total: ok"),
            ("3l", Integer, &[], "3l"),
            ("3lO", Integer, &[], "310"),
            ("1st March 2026", Date, &[], "1st March 2026"),
            ("30s", Number, &[], "30s"),
            ("42.35l", Number, &[], "42.35l"),
            ("12.5O", Number, &[], "12.50"),
            ("“Sunrise” Bakery", String, &[], "“Sunrise” Bakery"),
            (".FRESH FOODS\" -", String, &[], "FRESH FOODS"),
            (". 24/05/2026", Date, &[], "24/05/2026"),
            (". 12.50", Number, &[], "12.50"),
            (".50", Number, &[], ".50"),
            (
                "HILLTOP STORES.",
                String,
                &[("STORES.", 20.0, 0.4)],
                "HILLTOP STORES",
            ),
        ];
        for (read, ty, odd, want) in cases {
            let got = clean(read, &words(read, odd), *ty);
            assert_eq!(got.text, *want, "{read:?} as {ty:?}");
            assert_eq!(got.note.is_some(), read != want, "{read:?}");
        }
    }

    #[test]
    fn tokens_of_look_alikes_only_are_read_as_digits_on_demand() {
        assert_eq!(as_digits("lO").as_deref(), Some("10"));
        assert_eq!(as_digits("USD lO").as_deref(), Some("USD 10"));
        assert_eq!(as_digits("10"), None);
        assert_eq!(as_digits("Oil"), None);
    }

    #[test]
    fn the_note_says_what_was_read_and_what_was_kept() {
        let got = clean("l23.45", &words("l23.45", &[]), FieldType::Number);
        assert_eq!(
            got.note.as_deref(),
            Some("OCR read \"l23.45\", cleaned to \"123.45\"")
        );
    }
}
