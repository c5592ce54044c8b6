//! The `x-auth` API key → the calling account.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

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
        Box::pin(async move {
            let (Some(state), Some(key)) = (state, key) else {
                return Err(AppError::Unauthorized);
            };
            if key.is_empty() || key.len() > 200 {
                return Err(AppError::Unauthorized);
            }
            db::accounts::account_for_key(&state.db, &key)
                .await?
                .map(Account)
                .ok_or(AppError::Unauthorized)
        })
    }
}
