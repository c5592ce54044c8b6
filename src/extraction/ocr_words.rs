//! What OCR words are cleaned of before any locator sees them: Tesseract's
//! TSV rows become words, and what is certainly noise goes — specks read as
//! punctuation, stray quote marks, a `;` between digits, a capital I read as `l`.

use super::document::Word;

/// Word rows (level 5) of Tesseract's TSV: left, top, width, height, confidence, text.
pub(super) fn parse_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 12 || cols[0] != "5" {
                return None;
            }
            let num = |i: usize| cols[i].trim().parse::<f32>().ok();
            let (left, top, width, height, conf) = (num(6)?, num(7)?, num(8)?, num(9)?, num(10)?);
            // Underline and border fragments stick to words as `_` and `|`.
            let text = cols[11..]
                .join("\t")
                .trim()
                .trim_matches(['_', '|'])
                .to_string();
            if text.is_empty() || conf < 0.0 {
                return None;
            }
            Some(
                Word::new(
                    capital_i(unquoted(separators(text))),
                    left,
                    top,
                    left + width,
                    top + height,
                )
                .with_confidence(conf / 100.0),
            )
        })
        .collect()
}

/// Drops what OCR made of dust: punctuation-only words whose box is tiny
/// beside the page's text (a quarter of its usual height either way). A full
/// stop or a colon printed with the text is as tall as a third of a line.
pub(super) fn without_specks(mut words: Vec<Word>) -> Vec<Word> {
    let mut heights: Vec<f32> = words
        .iter()
        .filter(|w| w.text.chars().any(char::is_alphanumeric))
        .map(Word::height)
        .collect();
    if heights.is_empty() {
        return words;
    }
    heights.sort_by(f32::total_cmp);
    let tiny = heights[heights.len() / 2] * 0.25;
    words.retain(|w| {
        w.text.chars().any(char::is_alphanumeric) || w.height() >= tiny || w.right - w.left >= tiny
    });
    words
}

/// A semicolon between digits is a comma OCR misread: no figure is printed with one.
fn separators(text: String) -> String {
    if !text.contains(';') {
        return text;
    }
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(char::is_ascii_digit)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if c == ';' && digit(i.checked_sub(1)) && digit(Some(i + 1)) {
                ','
            } else {
                c
            }
        })
        .collect()
}

/// Quote marks that OCR made of dust at a word's edge: an opening quote with
/// no closing one, or a closing quote with no opening one.
fn unquoted(text: String) -> String {
    const OPENING: &[char] = &['‘', '“', '`', '´'];
    const CLOSING: &[char] = &['’', '”'];
    let has = |set: &[char]| text.chars().any(|c| set.contains(&c));
    let t = text.as_str();
    let t = if has(OPENING) && !has(CLOSING) {
        t.trim_start_matches(OPENING)
    } else {
        t
    };
    let t = if has(CLOSING) && !has(OPENING) {
        t.trim_end_matches(CLOSING)
    } else {
        t
    };
    if t.is_empty() || t.len() == text.len() {
        text
    } else {
        t.to_string()
    }
}

/// A capital I that OCR read as `l` at the start of a word ("lNVOICE",
/// "lnvoice"): no word starts with `l` followed by a capital or an `n`.
fn capital_i(text: String) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some('l'), Some(next)) if next.is_uppercase() || next == 'n' => format!("I{}", &text[1..]),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_word_rows_become_words_with_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t96.5\tTotal\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t20\t12\t-1\t \n\
                   5\t1\t1\t1\t1\t3\t70\t20\t20\t12\t80\tREF-82_\n\
                   5\t1\t1\t1\t1\t4\t95\t20\t5\t12\t60\t|\n";
        let words = parse_tsv(tsv);
        assert_eq!(words.len(), 2);
        assert_eq!(words[1].text, "REF-82");
        assert_eq!(words[0].text, "Total");
        assert_eq!(
            (words[0].left, words[0].top, words[0].right, words[0].bottom),
            (10.0, 20.0, 40.0, 32.0)
        );
        assert!((words[0].confidence - 0.965).abs() < 1e-6);
    }

    #[test]
    fn specks_are_dropped_and_punctuation_of_text_size_stays() {
        let word = |t: &str, w: f32, h: f32| Word::new(t, 0.0, 0.0, w, h);
        let words = vec![
            word("Closing", 80.0, 28.0),
            word("balance", 80.0, 28.0),
            word(":", 3.0, 3.0),
            word("'", 5.0, 5.0),
            word(":", 4.0, 12.0),
            word("—", 20.0, 3.0),
            word("6,331.58", 90.0, 30.0),
        ];
        let kept: Vec<String> = without_specks(words).into_iter().map(|w| w.text).collect();
        assert_eq!(kept, ["Closing", "balance", ":", "—", "6,331.58"]);
    }

    #[test]
    fn a_semicolon_between_digits_is_a_comma() {
        assert_eq!(separators("2.241;9".into()), "2.241,9");
        assert_eq!(separators("a;b".into()), "a;b");
        assert_eq!(separators("12;".into()), "12;");
    }

    #[test]
    fn stray_quotes_at_a_word_edge_go() {
        for (read, want) in [
            ("‘KT-52066", "KT-52066"),
            ("STORES”", "STORES"),
            ("‘quoted’", "‘quoted’"),
            ("“Acme”", "“Acme”"),
            ("O'Brien", "O'Brien"),
            ("‘", "‘"),
        ] {
            assert_eq!(unquoted(read.to_string()), want);
        }
    }

    #[test]
    fn a_capital_i_read_as_l_starts_the_word_again() {
        for (read, want) in [
            ("lNVOICE", "INVOICE"),
            ("lnvoice", "Invoice"),
            ("ltd", "ltd"),
            ("label", "label"),
            ("l", "l"),
            ("Ilse", "Ilse"),
        ] {
            assert_eq!(capital_i(read.to_string()), want);
        }
    }
}
