//! The `x-auth` API key → the calling account.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use super::sign_in::client_address;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// The id of the account whose key made the request.
pub struct Account(pub String);

impl FromRequest for Account {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let key = req
            .headers()
            .get("x-auth")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string());
        let client = state
            .as_ref()
            .and_then(|s| client_address(req, &s.settings.sign_in.trusted_proxies));
        let request = format!("{} {}", req.method(), req.path());
        Box::pin(async move {
            let Some(state) = state else {
                return Err(AppError::Unauthorized);
            };
            state.sign_ins.admit(client)?;
            let failure = match key {
                None => "no x-auth header",
                Some(k) if k.is_empty() || k.len() > 200 => "a malformed key",
                Some(k) => match db::accounts::account_for_key(&state.db, &k).await? {
                    Some(id) => return Ok(Account(id)),
                    None => "an unknown key",
                },
            };
            state.sign_ins.refused(client, &request, failure);
            Err(AppError::Unauthorized)
        })
    }
}
