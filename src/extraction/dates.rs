//! Dates that no format matched (SPEC §2.1): written dates in the template's
//! languages ("19 april 2014", "02 Juillet 2015", "August 3 , 2014") and
//! numeric dates in the template's order ("31/12/2017").

use chrono::NaiveDate;

use crate::spec::{DateOrder, DateRules};

/// Month names and their usual abbreviations per language, lower case, with
/// and without accents. Abbreviations are matched with or without a final `.`.
fn months(language: &str) -> &'static [&'static [&'static str]; 12] {
    match language {
        "fr" => &[
            &["janvier", "janv", "jan"],
            &["février", "fevrier", "févr", "fevr", "fév", "fev"],
            &["mars", "mar"],
            &["avril", "avr"],
            &["mai"],
            &["juin"],
            &["juillet", "juil"],
            &["août", "aout", "aoû"],
            &["septembre", "sept", "sep"],
            &["octobre", "oct"],
            &["novembre", "nov"],
            &["décembre", "decembre", "déc", "dec"],
        ],
        "de" => &[
            &["januar", "jänner", "jan", "jän"],
            &["februar", "feb"],
            &["märz", "maerz", "marz", "mär", "mrz"],
            &["april", "apr"],
            &["mai"],
            &["juni", "jun"],
            &["juli", "jul"],
            &["august", "aug"],
            &["september", "sept", "sep"],
            &["oktober", "okt"],
            &["november", "nov"],
            &["dezember", "dez"],
        ],
        "nl" => &[
            &["januari", "jan"],
            &["februari", "feb"],
            &["maart", "mrt", "mar"],
            &["april", "apr"],
            &["mei"],
            &["juni", "jun"],
            &["juli", "jul"],
            &["augustus", "aug"],
            &["september", "sept", "sep"],
            &["oktober", "okt"],
            &["november", "nov"],
            &["december", "dec"],
        ],
        "es" => &[
            &["enero", "ene"],
            &["febrero", "feb"],
            &["marzo", "mar"],
            &["abril", "abr"],
            &["mayo", "may"],
            &["junio", "jun"],
            &["julio", "jul"],
            &["agosto", "ago"],
            &["septiembre", "setiembre", "sept", "sep", "set"],
            &["octubre", "oct"],
            &["noviembre", "nov"],
            &["diciembre", "dic"],
        ],
        "it" => &[
            &["gennaio", "gen"],
            &["febbraio", "feb"],
            &["marzo", "mar"],
            &["aprile", "apr"],
            &["maggio", "mag"],
            &["giugno", "giu"],
            &["luglio", "lug"],
            &["agosto", "ago"],
            &["settembre", "set"],
            &["ottobre", "ott"],
            &["novembre", "nov"],
            &["dicembre", "dic"],
        ],
        "pt" => &[
            &["janeiro", "jan"],
            &["fevereiro", "fev"],
            &["março", "marco", "mar"],
            &["abril", "abr"],
            &["maio", "mai"],
            &["junho", "jun"],
            &["julho", "jul"],
            &["agosto", "ago"],
            &["setembro", "set"],
            &["outubro", "out"],
            &["novembro", "nov"],
            &["dezembro", "dez"],
        ],
        _ => &[
            &["january", "jan"],
            &["february", "feb"],
            &["march", "mar"],
            &["april", "apr"],
            &["may"],
            &["june", "jun"],
            &["july", "jul"],
            &["august", "aug"],
            &["september", "sept", "sep"],
            &["october", "oct"],
            &["november", "nov"],
            &["december", "dec"],
        ],
    }
}

/// Words that may stand between a date's parts: "3 de agosto de 2014",
/// "le 2 juillet", "den 3. März".
const FILLERS: [&str; 6] = ["de", "del", "of", "le", "den", "the"];

#[derive(Debug, PartialEq)]
enum Token {
    /// Digits and how many there were.
    Number(u32, usize),
    Month(u32),
    Word,
}

/// Splits at anything that is not a letter or a digit; ordinal endings
/// (`3rd`, `1er`, `2.`) stay with their number.
fn tokens(raw: &str, languages: &[String]) -> Vec<Token> {
    let lower = raw.to_lowercase();
    let mut out = Vec::new();
    for part in lower.split(|c: char| !c.is_alphanumeric()) {
        if part.is_empty() {
            continue;
        }
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            let rest = &part[digits.len()..];
            let ordinal = ["st", "nd", "rd", "th", "er", "e", "o", "a", ""].contains(&rest);
            match digits.parse() {
                Ok(n) if ordinal && digits.len() <= 4 => out.push(Token::Number(n, digits.len())),
                _ => out.push(Token::Word),
            }
            continue;
        }
        let month = languages.iter().find_map(|l| {
            months(l)
                .iter()
                .position(|names| names.contains(&part))
                .map(|i| i as u32 + 1)
        });
        match month {
            Some(m) => out.push(Token::Month(m)),
            None if FILLERS.contains(&part) => {}
            None => out.push(Token::Word),
        }
    }
    out
}

fn year(n: u32, digits: usize) -> Option<i32> {
    match digits {
        4 => Some(n as i32),
        // As chrono's %y: 69 to 99 are the 1900s.
        2 if n >= 69 => Some(1900 + n as i32),
        2 => Some(2000 + n as i32),
        _ => None,
    }
}

fn day(n: u32, digits: usize) -> Option<u32> {
    (digits <= 2 && (1..=31).contains(&n)).then_some(n)
}

fn date(y: Option<i32>, m: u32, d: Option<u32>) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y?, m, d?)
}

/// The first date in `raw` that reads as one: a month name with a day and a
/// year around it, or three numbers in the template's order (a four-digit
/// first number is always a year).
pub fn read(raw: &str, rules: &DateRules) -> Option<NaiveDate> {
    let mut languages = rules.languages.clone();
    if !languages.iter().any(|l| l == "en") {
        languages.push("en".into());
    }
    let tokens = tokens(raw, &languages);
    for w in 0..tokens.len() {
        let t = |i: usize| tokens.get(w + i);
        use Token::{Month, Number};
        let (a, b, c) = (t(0), t(1), t(2));
        let found = match (a, b, c) {
            // 19 april 2014, 2. März 2015; 2014 August 3
            (Some(Number(d, dl)), Some(Month(m)), Some(Number(y, yl))) => {
                date(year(*y, *yl), *m, day(*d, *dl))
                    .or_else(|| date(year(*d, *dl), *m, day(*y, *yl)))
            }
            // August 3, 2014
            (Some(Month(m)), Some(Number(d, dl)), Some(Number(y, yl))) => {
                date(year(*y, *yl), *m, day(*d, *dl))
            }
            (Some(Number(a, al)), Some(Number(b, bl)), Some(Number(c, cl))) => {
                numeric(rules.order, (*a, *al), (*b, *bl), (*c, *cl))
            }
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn numeric(
    order: DateOrder,
    a: (u32, usize),
    b: (u32, usize),
    c: (u32, usize),
) -> Option<NaiveDate> {
    let month = |(n, digits): (u32, usize)| (digits <= 2 && (1..=12).contains(&n)).then_some(n);
    if a.1 == 4 {
        return date(year(a.0, 4), month(b)?, day(c.0, c.1));
    }
    let dmy = || date(year(c.0, c.1), month(b)?, day(a.0, a.1));
    let mdy = || date(year(c.0, c.1), month(a)?, day(b.0, b.1));
    // A date that cannot be read in the template's order (03/20/2023 day-first)
    // has only the other reading.
    match order {
        DateOrder::Dmy => dmy().or_else(mdy),
        DateOrder::Mdy => mdy().or_else(dmy),
        DateOrder::Ymd => date(year(a.0, a.1), month(b)?, day(c.0, c.1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(languages: &[&str], order: DateOrder) -> DateRules {
        DateRules {
            formats: Vec::new(),
            languages: languages.iter().map(|s| s.to_string()).collect(),
            order,
        }
    }

    #[test]
    fn written_dates_in_every_language() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        let cases = [
            ("August 3 , 2014", "en", d(2014, 8, 3)),
            ("19 april 2014", "nl", d(2014, 4, 19)),
            ("29 maart 2014", "nl", d(2014, 3, 29)),
            ("02 Juillet 2015", "fr", d(2015, 7, 2)),
            ("1er février 2021", "fr", d(2021, 2, 1)),
            ("3. März 2015", "de", d(2015, 3, 3)),
            ("3 de agosto de 2014", "es", d(2014, 8, 3)),
            ("12 settembre 2019", "it", d(2019, 9, 12)),
            ("5 de março de 2020", "pt", d(2020, 3, 5)),
            ("Mar 5th, 2026", "en", d(2026, 3, 5)),
            (
                "Invoice date: 7 Dec. 2026 (due in 30 days)",
                "en",
                d(2026, 12, 7),
            ),
            ("31 juin 2015", "fr", None),
            ("soon", "en", None),
        ];
        for (raw, lang, want) in cases {
            assert_eq!(read(raw, &rules(&[lang], DateOrder::Dmy)), want, "{raw}");
        }
    }

    #[test]
    fn numeric_dates_follow_the_order_and_a_four_digit_start_is_a_year() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        let en = |o| rules(&["en"], o);
        assert_eq!(read("31/12/2017", &en(DateOrder::Dmy)), d(2017, 12, 31));
        assert_eq!(read("12/03/18", &en(DateOrder::Dmy)), d(2018, 3, 12));
        assert_eq!(read("03/12/18", &en(DateOrder::Mdy)), d(2018, 3, 12));
        assert_eq!(read("2018-03-12", &en(DateOrder::Mdy)), d(2018, 3, 12));
        assert_eq!(read("31/12/2017", &en(DateOrder::Mdy)), d(2017, 12, 31));
        assert_eq!(read("03/20/2023", &en(DateOrder::Dmy)), d(2023, 3, 20));
        assert_eq!(read("13/13/2023", &en(DateOrder::Dmy)), None);
    }
}
