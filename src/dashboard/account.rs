//! The account: credits, the ledger of charges, and API keys (a new key is shown once).

use actix_web::web;
use askama::Template;

use super::form::Form;
use super::session::Session;
use super::{html, see_other, Nav, Page};
use crate::accounts::{AccountError, AccountSettings, AccountView, Accounts, KeyView, LedgerPage};
use crate::api::path_id;
use crate::types::KeyId;

#[derive(Template)]
#[template(path = "dashboard/account.html")]
struct AccountPage {
    nav: Nav,
    account: AccountView,
    ledger: LedgerPage,
    keys: Vec<KeyView>,
    new_key: Option<String>,
    notice: Option<String>,
}

async fn page(
    session: &Session,
    accounts: &Accounts,
    new_key: Option<String>,
    notice: Option<String>,
) -> Page {
    html(&AccountPage {
        nav: Nav::new(session, "account"),
        account: accounts.view(&session.account_id).await?,
        ledger: accounts
            .ledger_page(&session.account_id, None, Some(50))
            .await?,
        keys: accounts.keys(&session.account_id).await?,
        new_key,
        notice,
    })
}

pub async fn show(
    req: actix_web::HttpRequest,
    session: Session,
    accounts: web::Data<Accounts>,
) -> Page {
    let notice = match req.query_string() {
        "revoked=1" => Some("Key revoked: it no longer works for the API or the dashboard."),
        "saved=1" => Some("Settings saved."),
        _ => None,
    };
    page(&session, &accounts, None, notice.map(str::to_string)).await
}

/// Saves the account's settings; a value the account cannot take is shown, not saved.
pub async fn save_settings(session: Session, form: Form, accounts: web::Data<Accounts>) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let hours = form.get("retention_hours").unwrap_or_default().trim();
    // A value that is not a number is passed on as text, for the service to refuse by name.
    let hours = hours
        .parse::<i64>()
        .map_or_else(|_| serde_json::json!(hours), serde_json::Value::from);
    let saved = match AccountSettings::from_json(&serde_json::json!({ "retention_hours": hours })) {
        Ok(settings) => {
            accounts
                .update(&session.account_id, &settings, &session.actor())
                .await
        }
        Err(refused) => Err(refused),
    };
    match saved {
        Ok(_) => see_other("/dashboard/account?saved=1"),
        Err(AccountError::Invalid(message)) => page(&session, &accounts, None, Some(message)).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn create_key(session: Session, form: Form, accounts: web::Data<Accounts>) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let key = accounts
        .create_key(&session.account_id, &session.actor())
        .await?;
    page(&session, &accounts, key.key, None).await
}

pub async fn revoke_key(
    session: Session,
    id: web::Path<String>,
    form: Form,
    accounts: web::Data<Accounts>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let id: KeyId = path_id(&id)?;
    accounts
        .revoke_key(&session.account_id, &id, None, &session.actor())
        .await?;
    see_other("/dashboard/account?revoked=1")
}
