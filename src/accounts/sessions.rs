//! Dashboard sessions: an API key exchanged for a random token whose hash
//! alone is stored, with the form token (CSRF) that every form carries.

use super::{AccountError, Accounts};
use crate::crypto;
use crate::db::{self, entities::sessions};
use crate::types::{AccountId, KeyId};

const LIFETIME_MS: i64 = 12 * 3600 * 1000;

/// A live session as stored.
pub struct SessionRow {
    pub account_id: AccountId,
    /// The key the session was opened with: who the dashboard user is.
    pub key_id: KeyId,
    pub csrf: String,
    pub token_hash: String,
}

impl Accounts {
    /// Opens a session for the account of `key` with the browser's `token`
    /// and a new form token; `None` for an unknown key.
    pub async fn open_session(
        &self,
        key: &str,
        token: &str,
        csrf: String,
    ) -> Result<Option<SessionRow>, AccountError> {
        let Some(row) = db::accounts::find_key(&self.db, key).await? else {
            return Ok(None);
        };
        let now = db::now_ms();
        let model = sessions::Model {
            token_hash: crypto::sha256_hex(token.as_bytes()),
            account_id: row.account_id,
            key_id: row.id,
            csrf,
            created_at: now,
            expires_at: now + LIFETIME_MS,
        };
        db::sessions::create(&self.db, model.clone()).await?;
        Ok(Some(SessionRow {
            account_id: model.account_id,
            key_id: model.key_id,
            csrf: model.csrf,
            token_hash: model.token_hash,
        }))
    }

    /// The live session of a browser's token.
    pub async fn session(&self, token: &str) -> Result<Option<SessionRow>, AccountError> {
        let hash = crypto::sha256_hex(token.as_bytes());
        Ok(db::sessions::find(&self.db, &hash)
            .await?
            .map(|s| SessionRow {
                account_id: s.account_id,
                key_id: s.key_id,
                csrf: s.csrf,
                token_hash: s.token_hash,
            }))
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<(), AccountError> {
        Ok(db::sessions::end(&self.db, token_hash).await?)
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AccountError> {
        Ok(db::sessions::purge_expired(&self.db).await?)
    }
}
