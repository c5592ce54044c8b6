//! How deliveries are signed, and which secret a webhook signs with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto;

/// How deliveries are signed. Standard Webhooks headers are always sent;
/// `extracta-legacy` adds Extracta.ai's `x-webhook-signature` beside them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureScheme {
    #[default]
    Standard,
    ExtractaLegacy,
}

impl SignatureScheme {
    pub fn is_standard(&self) -> bool {
        *self == Self::Standard
    }

    /// Whether `secret` can sign under this scheme: Standard Webhooks needs a
    /// `whsec_` secret; Extracta's legacy scheme also takes its own `E_AI_K_` keys.
    pub fn accepts(self, secret: &str) -> bool {
        crypto::is_webhook_secret(secret)
            || (self == Self::ExtractaLegacy && crypto::is_extracta_secret(secret))
    }

    fn new_secret(self) -> String {
        match self {
            Self::Standard => crypto::new_webhook_secret(),
            Self::ExtractaLegacy => crypto::new_extracta_secret(),
        }
    }

    /// The secret to store: the client's choice, else the stored one while it
    /// still fits the scheme, else a new one (then `true`: show it once).
    pub fn choose_secret(
        self,
        given: Option<&str>,
        stored: Option<&str>,
    ) -> Result<(String, bool), String> {
        match given.filter(|s| *s != super::MASK) {
            Some(s) if self.accepts(s) => Ok((s.to_string(), false)),
            Some(_) if self.is_standard() => Err("must be a Standard Webhooks secret (whsec_ + base64 of 24 to 64 bytes), or left out to keep or generate one".into()),
            Some(_) => Err("must be a whsec_ secret or an Extracta key (E_AI_K_ + 16 to 256 characters), or left out to keep or generate one".into()),
            None => match stored.filter(|s| self.accepts(s)) {
                Some(s) => Ok((s.to_string(), false)),
                None => Ok((self.new_secret(), true)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_fit_their_scheme() {
        let legacy = SignatureScheme::ExtractaLegacy;
        let (s, new) = legacy.choose_secret(None, None).unwrap();
        assert!(new && s.starts_with("E_AI_K_"));
        assert_eq!(
            legacy
                .choose_secret(Some(super::super::MASK), Some(&s))
                .unwrap(),
            (s.clone(), false)
        );
        // Back to Standard Webhooks: an Extracta key cannot sign there, so a new secret is made.
        let (w, new) = SignatureScheme::Standard
            .choose_secret(None, Some(&s))
            .unwrap();
        assert!(new && w.starts_with("whsec_"));
        assert!(SignatureScheme::Standard
            .choose_secret(Some("E_AI_K_0123456789abcdef"), None)
            .is_err());
        assert!(legacy
            .choose_secret(Some("E_AI_K_0123456789abcdef"), None)
            .is_ok());
    }
}
