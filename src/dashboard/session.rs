//! Signing in to the dashboard: the API key is exchanged for a session whose
//! random token lives in an HttpOnly, SameSite=Strict cookie; the database
//! keeps only the token's hash, so signing out (or revoking the key) ends it.
//! Every form carries the session's CSRF token.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;

use super::error::DashError;
use crate::crypto;
use crate::db::{self, entities::sessions};
use crate::state::AppState;

pub const COOKIE: &str = "docpush_session";
/// Holds the login form's own CSRF token before any session exists.
pub const LOGIN_COOKIE: &str = "docpush_login";
const LIFETIME_MS: i64 = 12 * 3600 * 1000;

/// The signed-in account, for every dashboard page but the login page.
pub struct Session {
    pub account_id: String,
    pub csrf: String,
    token_hash: String,
}

pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::random_bytes(32))
}

/// Cookies marked Secure when the request came over https (directly or, per
/// the proxy's header, through a TLS-terminating proxy).
pub fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String) -> Cookie<'a> {
    let secure = req.connection_info().scheme() == "https";
    Cookie::build(name, value)
        .path("/dashboard")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// A cookie that tells the browser to forget `name`.
pub fn removal<'a>(req: &HttpRequest, name: &'a str) -> Cookie<'a> {
    let mut c = cookie(req, name, String::new());
    c.make_removal();
    c
}

impl Session {
    /// Opens a session for the account of `key`; `None` for an unknown key.
    pub async fn open(state: &AppState, key: &str) -> Result<Option<(Self, String)>, DashError> {
        let Some(row) = db::accounts::find_key(&state.db, key).await? else {
            return Ok(None);
        };
        let token = random_token();
        let now = db::now_ms();
        let model = sessions::Model {
            token_hash: crypto::sha256_hex(token.as_bytes()),
            account_id: row.account_id,
            key_id: row.id,
            csrf: random_token(),
            created_at: now,
            expires_at: now + LIFETIME_MS,
        };
        db::sessions::create(&state.db, model.clone()).await?;
        Ok(Some((
            Self {
                account_id: model.account_id,
                csrf: model.csrf,
                token_hash: model.token_hash,
            },
            token,
        )))
    }

    pub async fn end(&self, state: &AppState) -> Result<(), DashError> {
        db::sessions::end(&state.db, &self.token_hash).await?;
        Ok(())
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), DashError> {
        let sent = sent.unwrap_or_default();
        // Digests compare in constant time whatever the sent length.
        if crypto::sha256_hex(sent.as_bytes()) == crypto::sha256_hex(self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(DashError::Csrf)
        }
    }
}

impl FromRequest for Session {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_string());
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(DashError::SignedOut);
            };
            if token.is_empty() || token.len() > 100 {
                return Err(DashError::SignedOut);
            }
            let hash = crypto::sha256_hex(token.as_bytes());
            match db::sessions::find(&state.db, &hash).await? {
                Some(s) => Ok(Session {
                    account_id: s.account_id,
                    csrf: s.csrf,
                    token_hash: s.token_hash,
                }),
                None => Err(DashError::SignedOut),
            }
        })
    }
}
