//! `"template_id": "auto"` (SPEC §2.1): among an account's templates with
//! keywords, those whose every keyword matches a document's text and no
//! exclude keyword does; the highest priority wins, then the most keywords,
//! then the oldest template.

use std::sync::Arc;

use super::{TemplateError, Templates};
use crate::db;
use crate::spec::Compiled;
use crate::types::{AccountId, TemplateId};

/// Accounts whose candidates are kept at most; past that the cache starts again.
const CANDIDATES_KEPT: usize = 256;

/// What [`Templates::candidates`] keeps per account: the fingerprint it was loaded at.
pub(super) type KeptCandidates =
    std::collections::HashMap<AccountId, ((i64, i64), Arc<Candidates>)>;

/// One template `auto` may choose, compiled.
pub struct Candidate {
    pub id: TemplateId,
    pub name: String,
    pub compiled: Arc<Compiled>,
}

/// The templates `auto` chooses among for one account, in the order ties are broken.
pub struct Candidates(Vec<Candidate>);

impl Candidates {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The template for a document whose text is `text`, if any matches.
    pub fn choose(&self, text: &str) -> Option<&Candidate> {
        let mut best: Option<(&Candidate, (i32, usize))> = None;
        for c in &self.0 {
            let Some(selector) = &c.compiled.selector else {
                continue;
            };
            // Most templates fail on their first keyword (the vendor's name).
            if !selector.keywords.iter().all(|k| k.is_match(text))
                || selector.exclude.iter().any(|k| k.is_match(text))
            {
                continue;
            }
            let rank = (selector.priority, selector.keywords.len());
            if best.is_none_or(|(_, r)| rank > r) {
                best = Some((c, rank));
            }
        }
        best.map(|(c, _)| c)
    }
}

impl Templates {
    /// The account's templates with keywords, compiled; kept per account
    /// until they change, so that a job does not load hundreds of rows.
    pub async fn candidates(
        &self,
        account_id: &AccountId,
    ) -> Result<Arc<Candidates>, TemplateError> {
        let print = db::templates::rules_fingerprint(&self.db, account_id).await?;
        if let Some((p, kept)) = self
            .chosen_among
            .lock()
            .expect("candidates")
            .get(account_id)
        {
            if *p == print {
                return Ok(kept.clone());
            }
        }
        let candidates = Arc::new(self.load_candidates(account_id).await?);
        let mut cache = self.chosen_among.lock().expect("candidates");
        if cache.len() >= CANDIDATES_KEPT {
            cache.clear();
        }
        cache.insert(account_id.clone(), (print, candidates.clone()));
        Ok(candidates)
    }

    async fn load_candidates(&self, account_id: &AccountId) -> Result<Candidates, TemplateError> {
        let rows = db::templates::with_rules(&self.db, account_id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for t in &rows {
            let compiled = match self.compiled(t) {
                Ok(c) => c,
                Err(e) => {
                    // One template that no longer compiles must not stop the others.
                    tracing::warn!(template_id = %t.id, error = %e, "a template with keywords cannot be compiled");
                    continue;
                }
            };
            if compiled.selector.is_some() {
                out.push(Candidate {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    compiled,
                });
            }
        }
        Ok(Candidates(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{compile_template, FieldDef, Options, TemplateRules};

    fn candidate(keywords: &[&str], exclude: &[&str], priority: Option<i32>) -> Candidate {
        let defs: Vec<FieldDef> = serde_json::from_value(
            serde_json::json!([{"name": "a", "type": "string", "regex": "x"}]),
        )
        .unwrap();
        let rules = TemplateRules {
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            exclude_keywords: exclude.iter().map(|s| s.to_string()).collect(),
            priority,
            ..TemplateRules::default()
        };
        Candidate {
            id: TemplateId::new(),
            name: keywords.join("+"),
            compiled: Arc::new(compile_template(&defs, &Options::default(), &rules).unwrap()),
        }
    }

    #[test]
    fn every_keyword_must_match_and_priority_then_keywords_decide() {
        let all = Candidates(vec![
            candidate(&["ACME"], &[], None),
            candidate(&["ACME", "Invoice"], &[], None),
            candidate(&["ACME", "Invoice"], &["Credit note"], Some(9)),
            candidate(&["Globex"], &[], Some(10)),
        ]);
        let name = |text: &str| all.choose(text).map(|c| c.name.clone());
        assert_eq!(name("ACME Invoice 7").as_deref(), Some("ACME+Invoice"));
        assert_eq!(
            all.choose("ACME Invoice 7")
                .map(|c| c.compiled.selector.as_ref().unwrap().priority),
            Some(9)
        );
        assert_eq!(
            all.choose("ACME Invoice Credit note").map(|c| c
                .compiled
                .selector
                .as_ref()
                .unwrap()
                .priority),
            Some(5)
        );
        assert_eq!(name("ACME receipt").as_deref(), Some("ACME"));
        assert_eq!(name("Initech"), None);
    }
}
