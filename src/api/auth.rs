//! The `x-auth` API key → the calling account.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use super::{AppError, Gate};
use crate::accounts::Accounts;
use crate::types::{AccountId, Actor, KeyId};

/// The id of the account whose key made the request, and the key's.
pub struct Account(pub AccountId, pub KeyId);

impl Account {
    /// The key, as lock holders and audit rows name it.
    pub fn actor(&self) -> Actor {
        Actor::Key(self.1.clone())
    }
}

impl FromRequest for Account {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let gate = req.app_data::<web::Data<Gate>>().cloned();
        let accounts = req.app_data::<web::Data<Accounts>>().cloned();
        let key = req
            .headers()
            .get("x-auth")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string());
        let client = gate.as_ref().and_then(|g| g.sign_ins.client(req));
        let request = format!("{} {}", req.method(), req.path());
        Box::pin(async move {
            let (Some(gate), Some(accounts)) = (gate, accounts) else {
                return Err(AppError::Unauthorized);
            };
            // A valid key is served whatever else came from its address.
            let failure = match key {
                None => return Err(gate.sign_ins.missing(client, &request)),
                Some(k) if k.is_empty() => return Err(gate.sign_ins.missing(client, &request)),
                Some(k) if k.len() > 200 => "a malformed key",
                Some(k) => match accounts.key(&k).await? {
                    Some((account, key)) => return Ok(Account(account, key)),
                    None => "an unknown key",
                },
            };
            Err(gate.sign_ins.wrong(client, &request, failure))
        })
    }
}
