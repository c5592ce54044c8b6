//! The caller's account: balance, the ledger of charges, and API keys.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Account;
use super::body::JsonBody;
use super::schemas::ErrorBody;
use super::{path_id, AppResult};
use crate::accounts::{
    AccountSettings, AccountView, Accounts, AuditPage, AuditQuery, KeyView, LedgerPage,
};
use crate::types::KeyId;

/// The caller's account and credit balance.
#[utoipa::path(get, path = "/v1/account", tag = "account", security(("x-auth" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn get(account: Account, accounts: web::Data<Accounts>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.view(&account.0).await?))
}

/// Changes the account's settings; answers the account as it is now.
#[utoipa::path(patch, path = "/v1/account", tag = "account", security(("x-auth" = [])),
    request_body = AccountSettings,
    responses((status = 200, body = AccountView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "A setting out of range or unknown", body = ErrorBody)))]
pub async fn update(
    account: Account,
    accounts: web::Data<Accounts>,
    JsonBody(settings): JsonBody<serde_json::Value>,
) -> AppResult<HttpResponse> {
    let settings = AccountSettings::from_json(&settings)?;
    Ok(HttpResponse::Ok().json(
        accounts
            .update(&account.0, &settings, &account.actor())
            .await?,
    ))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditLogQuery {
    /// `template`, `destination`, `key`, `account`, `job` or `document`.
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// e.g. `template.updated`, `job.erased`.
    pub action: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Every change to templates, destinations, keys and account settings, and every deletion, restore and erasure, newest first; secrets masked; kept a year.
#[utoipa::path(get, path = "/v1/audit-log", operation_id = "audit_log", tag = "account", security(("x-auth" = [])),
    params(AuditLogQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn audit_log(
    query: web::Query<AuditLogQuery>,
    account: Account,
    accounts: web::Data<Accounts>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let q = AuditQuery {
        object_type: q.object_type,
        object_id: q.object_id,
        action: q.action,
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(HttpResponse::Ok().json(accounts.audit_log(&account.0, &q).await?))
}

/// The ledger of credit movements, newest first.
#[utoipa::path(get, path = "/v1/account/ledger", tag = "account", security(("x-auth" = [])),
    params(LedgerQuery),
    responses((status = 200, body = LedgerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn ledger(
    query: web::Query<LedgerQuery>,
    account: Account,
    accounts: web::Data<Accounts>,
) -> AppResult<HttpResponse> {
    let page = accounts
        .ledger_page(&account.0, query.before, query.limit)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The account's API keys (prefixes only).
#[utoipa::path(get, path = "/v1/keys", operation_id = "list_keys", tag = "account", security(("x-auth" = [])),
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = ErrorBody)))]
pub async fn list_keys(account: Account, accounts: web::Data<Accounts>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.keys(&account.0).await?))
}

/// Create an API key; the key is shown in this answer only.
#[utoipa::path(post, path = "/v1/keys", operation_id = "create_key", tag = "account", security(("x-auth" = [])),
    responses((status = 201, body = KeyView), (status = 401, body = ErrorBody)))]
pub async fn create_key(
    account: Account,
    accounts: web::Data<Accounts>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(accounts.create_key(&account.0, &account.actor()).await?))
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
    accounts: web::Data<Accounts>,
) -> AppResult<HttpResponse> {
    let id: KeyId = path_id(&path)?;
    let caller = req
        .headers()
        .get("x-auth")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    accounts
        .revoke_key(&account.0, &id, caller, &account.actor())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
