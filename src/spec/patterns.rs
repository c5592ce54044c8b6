//! Regexes of a template, compiled under a memory bound that real templates
//! never reach but that keeps one template from filling a worker.

use regex::Regex;

/// Largest compiled regex, in bytes: Unicode classes are big, and `\w{1,100}`
/// (a field of up to a hundred letters of any script) needs about 8 MiB.
pub const REGEX_SIZE_LIMIT: usize = 16 << 20;
/// Compiled size of all of one template's regexes together, in bytes: with the
/// search caches (bounded per regex below) what one template can make a worker hold.
pub const TEMPLATE_REGEX_BUDGET: usize = 64 << 20;
/// Search cache per regex, in bytes.
const DFA_CACHE_LIMIT: usize = 1 << 20;
/// The smallest size tried first: nearly every pattern fits, so most compile once.
const FIRST_TRY: usize = 256 << 10;

/// What a template's regexes may still take, charged as each one compiles.
#[derive(Debug)]
pub struct Budget {
    left: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            left: TEMPLATE_REGEX_BUDGET,
        }
    }
}

impl Budget {
    /// Compiles `pattern`, charging the size it needed (to within a factor of
    /// four: the regex crate does not report it, so it is found by trying
    /// growing limits). The message says which bound was reached.
    pub fn compile(&mut self, pattern: &str) -> Result<Regex, String> {
        let mut limit = FIRST_TRY;
        loop {
            let tried = limit.min(self.left).min(REGEX_SIZE_LIMIT);
            match regex::RegexBuilder::new(pattern)
                .size_limit(tried)
                .dfa_size_limit(DFA_CACHE_LIMIT)
                .build()
            {
                Ok(re) => {
                    self.left -= tried.min(self.left);
                    return Ok(re);
                }
                Err(regex::Error::CompiledTooBig(_)) if tried == REGEX_SIZE_LIMIT => {
                    return Err(format!(
                        "the regex needs more than {} MiB once compiled (the limit per regex); \
                         narrow a repeated Unicode class such as \\w{{1,500}}",
                        REGEX_SIZE_LIMIT >> 20
                    ))
                }
                Err(regex::Error::CompiledTooBig(_)) if tried == self.left => {
                    return Err(format!(
                        "the template's regexes together need more than {} MiB once compiled \
                         (the limit per template)",
                        TEMPLATE_REGEX_BUDGET >> 20
                    ))
                }
                Err(regex::Error::CompiledTooBig(_)) => limit *= 4,
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// A case-insensitive whole-word matcher for a label; whitespace inside it
/// matches any run, or none: OCR drops the space in "Amountto pay".
pub fn label_regex(label: &str, budget: &mut Budget) -> Result<Regex, String> {
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
    budget.compile(&format!("(?i){start}{body}{end}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_regexes_of_real_templates_compile() {
        let mut budget = Budget::default();
        for p in [r"IBAN\s+(\w{10,30})", r"(\w{1,100})", r"BIC\s+(\w{8,11})"] {
            budget.compile(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn a_regex_past_the_bounds_is_refused_with_the_bound_named() {
        let e = Budget::default().compile(r"\w{1000}\w{1000}").unwrap_err();
        assert!(e.contains("16 MiB"), "{e}");
        let mut budget = Budget::default();
        let mut last = Ok(());
        for _ in 0..20 {
            last = budget.compile(r"(\w{1,100})").map(|_| ());
            if last.is_err() {
                break;
            }
        }
        assert!(last.unwrap_err().contains("per template"));
    }

    #[test]
    fn a_label_matches_whole_words_with_or_without_the_spaces_between_them() {
        let label = label_regex("Amount to pay", &mut Budget::default()).unwrap();
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
}
