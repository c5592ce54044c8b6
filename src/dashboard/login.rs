//! Sign in with an API key, sign out.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::form::Form;
use super::session::{self, Session, COOKIE, LOGIN_COOKIE};
use super::{DashError, Page};
use crate::accounts::Accounts;
use crate::api::{AppError, Gate};

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

/// The login form; its CSRF token is pinned in a cookie of its own, since no session exists yet.
pub async fn form(req: HttpRequest) -> Page {
    login_page(&req, None, actix_web::http::StatusCode::OK)
}

fn login_page(
    req: &HttpRequest,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Page {
    let csrf = session::random_token();
    let page = LoginPage {
        csrf: csrf.clone(),
        error,
    };
    Ok(HttpResponse::build(status)
        .content_type(actix_web::http::header::ContentType::html())
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .cookie(session::cookie(req, LOGIN_COOKIE, csrf))
        .body(askama::Template::render(&page)?))
}

pub async fn submit(
    req: HttpRequest,
    form: Form,
    gate: web::Data<Gate>,
    accounts: web::Data<Accounts>,
) -> Page {
    let pinned = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string());
    if pinned.is_none() || pinned.as_deref() != form.get("csrf") {
        return Err(DashError::Csrf);
    }
    let client = gate.sign_ins.client(&req);
    let key = form.text("api_key");
    let opened = if key.is_empty() || key.len() > 200 {
        None
    } else {
        Session::open(&accounts, &key).await?
    };
    let Some((_, token)) = opened else {
        let request = "POST /dashboard/login";
        let refused = if key.is_empty() {
            gate.sign_ins.missing(client, request)
        } else {
            gate.sign_ins.wrong(client, request, "an unknown key")
        };
        if !matches!(refused, AppError::Unauthorized) {
            return Err(refused.into());
        }
        let why = "That key is not valid. Use a key printed by `docpush account create` or made on the Account page.";
        return login_page(
            &req,
            Some(why.into()),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/dashboard"))
        .cookie(session::cookie(&req, COOKIE, token))
        .cookie(session::removal(&req, LOGIN_COOKIE))
        .finish())
}

pub async fn logout(
    req: HttpRequest,
    session: Session,
    form: Form,
    accounts: web::Data<Accounts>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    session.end(&accounts).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/dashboard/login"))
        .cookie(session::removal(&req, COOKIE))
        .finish())
}
