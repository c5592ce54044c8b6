//! Secrets at rest (AES-256-GCM), API keys (only their SHA-256 is stored) and
//! Standard Webhooks secrets and signatures.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

const SEALED_PREFIX: &str = "enc1:";
const KEY_FILE: &str = "secret.key";

/// Encrypts and decrypts the secrets we keep in the database.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Signs links that stand in for an API key (result links); derived from
    /// the same key, so every host that shares it accepts the others' links.
    link_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box from a base64-encoded 32-byte key.
    pub fn from_base64(key: &str) -> anyhow::Result<Self> {
        let raw = B64
            .decode(key.trim())
            .context("DOCPUSH_SECRET_KEY is not base64")?;
        if raw.len() != 32 {
            bail!(
                "DOCPUSH_SECRET_KEY must decode to 32 bytes, not {}",
                raw.len()
            );
        }
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&raw).expect("HMAC takes keys of any size");
        mac.update(b"docpush link signing key");
        Ok(Self {
            cipher: Aes256Gcm::new_from_slice(&raw).expect("32-byte key"),
            link_key: mac.finalize().into_bytes().into(),
        })
    }

    /// The configured key, else the key file in `data_dir`, created on first start.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(key) = configured {
            return Self::from_base64(key);
        }
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            crate::private_fs::restrict_if_present(&path)
                .with_context(|| format!("making {} private", path.display()))?;
            let key = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(&key);
        }
        let key = B64.encode(random_bytes(32));
        crate::private_fs::write(&path, key.as_bytes())
            .with_context(|| format!("creating {}", path.display()))?;
        Self::from_base64(&key)
    }

    /// A signature of `message` for a link (unpadded URL-safe base64).
    pub fn sign_link(&self, message: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.link_key)
            .expect("HMAC takes keys of any size");
        mac.update(message.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is this key's signature of `message`, compared in constant time.
    pub fn verify_link(&self, message: &str, signature: &str) -> bool {
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.link_key)
            .expect("HMAC takes keys of any size");
        mac.update(message.as_bytes());
        mac.verify_slice(&sig).is_ok()
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = random_bytes(12);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption does not fail for in-memory data");
        let mut out = nonce;
        out.extend_from_slice(&ct);
        format!("{SEALED_PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError::NotSealed)?;
        let raw = B64.decode(body).map_err(|_| SealError::NotBase64)?;
        if raw.len() < 12 {
            return Err(SealError::Truncated);
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealError::NotText)
    }
}

/// Why a stored secret did not open: it was written by another key or
/// damaged. Neither gets better by trying again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("stored secret is not sealed")]
    NotSealed,
    #[error("stored secret is not base64")]
    NotBase64,
    #[error("stored secret is truncated")]
    Truncated,
    #[error("stored secret does not decrypt with this key")]
    WrongKey,
    #[error("stored secret is not text")]
    NotText,
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// A new API key (shown once) and the hash we store.
pub fn new_api_key() -> (String, String) {
    let key = format!("dp_{}", hex::encode(random_bytes(24)));
    let hash = hash_api_key(&key);
    (key, hash)
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", B64.encode(random_bytes(32)))
}

/// Whether `s` is a Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 bytes.
pub fn is_webhook_secret(s: &str) -> bool {
    s.strip_prefix("whsec_")
        .and_then(|b| B64.decode(b).ok())
        .is_some_and(|key| (24..=64).contains(&key.len()))
}

/// The prefix of Extracta.ai's keys, which its legacy signature leaves out of the HMAC key.
pub const EXTRACTA_PREFIX: &str = "E_AI_K_";

/// A new secret for a webhook signed the Extracta way: `E_AI_K_` and 48 hex digits.
pub fn new_extracta_secret() -> String {
    format!("{EXTRACTA_PREFIX}{}", hex::encode(random_bytes(24)))
}

/// Whether `s` can key Extracta's legacy signature: `E_AI_K_` and 16 to 256 visible ASCII characters.
pub fn is_extracta_secret(s: &str) -> bool {
    s.strip_prefix(EXTRACTA_PREFIX)
        .is_some_and(|k| (16..=256).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
}

/// The HMAC key of a webhook secret: the decoded bytes of a `whsec_` secret,
/// the characters after `E_AI_K_` of an Extracta one.
fn webhook_key(secret: &str) -> Vec<u8> {
    if let Some(k) = secret.strip_prefix(EXTRACTA_PREFIX) {
        return k.as_bytes().to_vec();
    }
    let key_b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    B64.decode(key_b64)
        .unwrap_or_else(|_| key_b64.as_bytes().to_vec())
}

/// Extracta.ai's `x-webhook-signature`: base64 HMAC-SHA256 of the `result`
/// member as a JSON string, keyed by the secret without its `E_AI_K_` prefix.
pub fn sign_extracta_legacy(secret: &str, result_json: &str) -> String {
    let key = secret.strip_prefix(EXTRACTA_PREFIX).unwrap_or(secret);
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(result_json.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// `v1,<base64 HMAC-SHA256(id.timestamp.body)>` keyed with the secret's decoded bytes.
pub fn sign_webhook(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = webhook_key(secret);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any size");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_and_do_not_show_the_plain_text() {
        let b = SecretBox::from_base64(&B64.encode([7u8; 32])).unwrap();
        let sealed = b.seal("Bearer abc");
        assert!(!sealed.contains("Bearer"));
        assert_eq!(b.open(&sealed).unwrap(), "Bearer abc");
        let other = SecretBox::from_base64(&B64.encode([8u8; 32])).unwrap();
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load_or_create(None, dir.path()).unwrap();
        let b = SecretBox::load_or_create(None, dir.path()).unwrap();
        assert_eq!(b.open(&a.seal("x")).unwrap(), "x");
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // Test vector from the Standard Webhooks specification.
        let sig = sign_webhook(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn api_keys_are_stored_as_hashes() {
        let (key, hash) = new_api_key();
        assert!(key.starts_with("dp_"));
        assert_ne!(key, hash);
        assert_eq!(hash_api_key(&key), hash);
    }
}
