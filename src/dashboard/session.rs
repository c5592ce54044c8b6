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
use crate::accounts::{Accounts, SessionRow};
use crate::crypto;
use crate::types::{AccountId, Actor, KeyId};

pub const COOKIE: &str = "docpush_session";
/// Holds the login form's own CSRF token before any session exists.
pub const LOGIN_COOKIE: &str = "docpush_login";
/// The signed-in account, for every dashboard page but the login page.
pub struct Session {
    pub account_id: AccountId,
    pub key_id: KeyId,
    pub csrf: String,
    token_hash: String,
}

impl Session {
    /// The signed-in person, as lock holders and audit rows name them.
    pub fn actor(&self) -> Actor {
        Actor::User(self.key_id.clone())
    }
}

impl From<SessionRow> for Session {
    fn from(s: SessionRow) -> Self {
        Self {
            account_id: s.account_id,
            key_id: s.key_id,
            csrf: s.csrf,
            token_hash: s.token_hash,
        }
    }
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
    /// Opens a session for the account of `key` (and the browser's token for
    /// its cookie); `None` for an unknown key.
    pub async fn open(accounts: &Accounts, key: &str) -> Result<Option<(Self, String)>, DashError> {
        let token = random_token();
        let opened = accounts.open_session(key, &token, random_token()).await?;
        Ok(opened.map(|row| (row.into(), token)))
    }

    pub async fn end(&self, accounts: &Accounts) -> Result<(), DashError> {
        accounts.end_session(&self.token_hash).await?;
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
        let accounts = req.app_data::<web::Data<Accounts>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_string());
        Box::pin(async move {
            let (Some(accounts), Some(token)) = (accounts, token) else {
                return Err(DashError::SignedOut);
            };
            if token.is_empty() || token.len() > 100 {
                return Err(DashError::SignedOut);
            }
            match accounts.session(&token).await? {
                Some(s) => Ok(s.into()),
                None => Err(DashError::SignedOut),
            }
        })
    }
}
