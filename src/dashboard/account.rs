//! The account: credits, the ledger of charges, and API keys (a new key is shown once).

use actix_web::web;
use askama::Template;

use super::form::Form;
use super::session::Session;
use super::{html, see_other, Nav, Page};
use crate::api::schemas::AccountView;
use crate::api::{KeyView, LedgerPage, LedgerQuery};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
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
    state: &AppState,
    new_key: Option<String>,
    notice: Option<String>,
) -> Page {
    html(&AccountPage {
        nav: Nav::new(session, "account"),
        account: state.account_view(&session.account_id).await?,
        ledger: state
            .ledger_page(
                &session.account_id,
                &LedgerQuery {
                    before: None,
                    limit: Some(50),
                },
            )
            .await?,
        keys: state.list_keys(&session.account_id).await?,
        new_key,
        notice,
    })
}

pub async fn show(
    req: actix_web::HttpRequest,
    session: Session,
    state: web::Data<AppState>,
) -> Page {
    let notice = (req.query_string() == "revoked=1")
        .then(|| "Key revoked: it no longer works for the API or the dashboard.".to_string());
    page(&session, &state, None, notice).await
}

pub async fn create_key(session: Session, form: Form, state: web::Data<AppState>) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let key = state.create_key(&session.account_id).await?;
    page(&session, &state, key.key, None).await
}

pub async fn revoke_key(
    session: Session,
    id: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    state.revoke_key(&session.account_id, &id).await?;
    see_other("/dashboard/account?revoked=1")
}
