//! The caller's account: balance, the ledger of charges, and API keys.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Account;
use super::schemas::{AccountView, ErrorBody};
use crate::db::{self, rfc3339};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The caller's account and credit balance.
#[utoipa::path(get, path = "/v1/account", tag = "account", security(("x-auth" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn get(account: Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.account_view(&account.0).await?))
}

/// One credit movement: a top-up or the pages of a document or preview.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LedgerEntry {
    pub id: i64,
    /// Credits added (positive) or charged (negative).
    pub delta: i64,
    pub balance_after: i64,
    pub reason: String,
    pub job_id: Option<String>,
    pub file_id: Option<String>,
    pub created_at: String,
}

/// A page of the ledger; pass `next_before` as `before` for older entries.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// Only entries older than this entry id.
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// A key as listed: the key itself is shown only when created.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created_at: String,
    /// Only in the answer to `POST /v1/keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl AppState {
    pub async fn account_view(&self, account_id: &str) -> AppResult<AccountView> {
        let a = db::accounts::get(&self.db, account_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(AccountView {
            id: a.id,
            name: a.name,
            credits: a.credits,
        })
    }

    pub async fn ledger_page(&self, account_id: &str, q: &LedgerQuery) -> AppResult<LedgerPage> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(AppError::BadRequest("limit must be 1 to 500".into()));
        }
        if q.before.is_some_and(|b| b < 1) {
            return Err(AppError::BadRequest(
                "before: an entry id (1 or more), from next_before".into(),
            ));
        }
        let mut rows = db::accounts::ledger_page(&self.db, account_id, q.before, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok(LedgerPage {
            next_before: if more {
                rows.last().map(|r| r.id)
            } else {
                None
            },
            entries: rows
                .into_iter()
                .map(|r| LedgerEntry {
                    id: r.id,
                    delta: r.delta,
                    balance_after: r.balance_after,
                    reason: r.reason,
                    job_id: r.job_id,
                    file_id: r.file_id,
                    created_at: rfc3339(r.created_at),
                })
                .collect(),
        })
    }

    pub async fn list_keys(&self, account_id: &str) -> AppResult<Vec<KeyView>> {
        Ok(db::accounts::keys(&self.db, account_id)
            .await?
            .into_iter()
            .map(|k| KeyView {
                id: k.id,
                prefix: k.prefix,
                created_at: rfc3339(k.created_at),
                key: None,
            })
            .collect())
    }

    pub async fn create_key(&self, account_id: &str) -> AppResult<KeyView> {
        let key = db::accounts::add_key(&self.db, account_id).await?;
        let row = db::accounts::find_key(&self.db, &key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("a new key was not stored"))?;
        Ok(KeyView {
            id: row.id,
            prefix: row.prefix,
            created_at: rfc3339(row.created_at),
            key: Some(key),
        })
    }

    pub async fn revoke_key(&self, account_id: &str, key_id: &str) -> AppResult<()> {
        if key_id.contains('\0') {
            return Err(AppError::NotFound(format!("key {key_id} not found")));
        }
        match db::accounts::revoke_key(&self.db, account_id, key_id).await? {
            db::accounts::Revoked::Done => Ok(()),
            db::accounts::Revoked::NotFound => {
                Err(AppError::NotFound(format!("key {key_id} not found")))
            }
            db::accounts::Revoked::LastKey => Err(AppError::Conflict(
                "this is the account's only key: create another before revoking it".into(),
            )),
        }
    }
}

/// The ledger of credit movements, newest first.
#[utoipa::path(get, path = "/v1/account/ledger", tag = "account", security(("x-auth" = [])),
    params(LedgerQuery),
    responses((status = 200, body = LedgerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn ledger(
    query: web::Query<LedgerQuery>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.ledger_page(&account.0, &query).await?))
}

/// The account's API keys (prefixes only).
#[utoipa::path(get, path = "/v1/keys", operation_id = "list_keys", tag = "account", security(("x-auth" = [])),
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = ErrorBody)))]
pub async fn list_keys(account: Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.list_keys(&account.0).await?))
}

/// Create an API key; the key is shown in this answer only.
#[utoipa::path(post, path = "/v1/keys", operation_id = "create_key", tag = "account", security(("x-auth" = [])),
    responses((status = 201, body = KeyView), (status = 401, body = ErrorBody)))]
pub async fn create_key(account: Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(state.create_key(&account.0).await?))
}

/// Revoke an API key: requests with it are refused from now on, and dashboard sessions it opened end.
#[utoipa::path(delete, path = "/v1/keys/{id}", operation_id = "revoke_key", tag = "account", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The account's only key, or the key making the request", body = ErrorBody)))]
pub async fn revoke_key(
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let caller = req
        .headers()
        .get("x-auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    // A client never locks itself out mid-conversation: another key revokes this one.
    if db::accounts::find_key(&state.db, caller)
        .await?
        .is_some_and(|k| k.id == id)
    {
        return Err(AppError::Conflict(
            "this request is signed with that key: revoke it with another key".into(),
        ));
    }
    state.revoke_key(&account.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
