//! Destinations: the list, and one form whose fields follow the type, with
//! Test Connection before saving, enable/disable, secret rotation and recovery.

use std::collections::BTreeMap;

use actix_web::web;
use askama::Template;
use serde_json::{json, Value};

use super::destination_form::{DestState, KindInputs, INPUTS};
use super::form::Form;
use super::session::Session;
use super::webhook_form::event_names;
use super::{html, see_other, DashError, Nav, Page};
use crate::api::schemas::TestOutcome;
use crate::destinations::input::DestinationInput;
use crate::destinations::service::DestinationView;
use crate::error::AppError;
use crate::json_input;
use crate::outbound::events::PRESETS;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "destinations.html")]
struct ListPage {
    nav: Nav,
    destinations: Vec<DestinationView>,
}

impl ListPage {
    fn summary(&self, d: &DestinationView) -> String {
        let c = &d.config;
        let s = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match c.get("url") {
            Some(_) => s("url"),
            None if c.get("queue_url").is_some() => s("queue_url"),
            None => format!("s3://{}", s("bucket")),
        }
    }
}

pub async fn list(session: Session, state: web::Data<AppState>) -> Page {
    html(&ListPage {
        nav: Nav::new(&session, "destinations"),
        destinations: state.list_destinations(&session.account_id).await?,
    })
}

#[derive(Template)]
#[template(path = "destination.html")]
struct FormPage {
    nav: Nav,
    id: Option<String>,
    view: Option<DestinationView>,
    state: DestState,
    inputs: &'static [KindInputs],
    templates: Vec<(String, String)>,
    events: Vec<&'static str>,
    presets: Vec<&'static str>,
    errors: BTreeMap<String, String>,
    notice: Option<String>,
    secret: Option<String>,
    tested: Option<TestOutcome>,
}

impl FormPage {
    async fn new(
        app: &AppState,
        session: &Session,
        view: Option<DestinationView>,
        state: DestState,
    ) -> Result<Self, DashError> {
        let templates = app
            .list_templates(&session.account_id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        Ok(Self {
            nav: Nav::new(session, "destinations"),
            id: view.as_ref().map(|v| v.id.clone()),
            view,
            state,
            inputs: &INPUTS,
            templates,
            events: event_names(),
            presets: PRESETS.iter().map(|(n, _)| *n).collect(),
            errors: BTreeMap::new(),
            notice: None,
            secret: None,
            tested: None,
        })
    }

    fn err(&self, slot: &str) -> &str {
        self.errors.get(slot).map_or("", String::as_str)
    }

    fn kerr(&self, kind: &str, name: &str) -> &str {
        self.err(&format!("{kind}.{name}"))
    }

    fn value(&self, kind: &str, name: &str) -> &str {
        self.state.value(&format!("{kind}.{name}"))
    }

    fn has_event(&self, e: &str) -> bool {
        self.state.events.iter().any(|x| x == e)
    }

    fn has_template(&self, id: &str) -> bool {
        self.state.templates.iter().any(|x| x == id)
    }

    fn receives(&self, what: &str) -> bool {
        self.state.receive_files.iter().any(|x| x == what)
    }

    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/dashboard/destinations/{id}"),
            None => "/dashboard/destinations/new".into(),
        }
    }

    fn fail(&mut self, e: AppError) -> Result<(), DashError> {
        match e {
            AppError::Unprocessable(m) | AppError::BadRequest(m) | AppError::Conflict(m) => {
                self.errors.insert(self.state.error_slot(&m), m.clone());
                self.notice = Some(format!("Not done: {m}"));
                Ok(())
            }
            other => Err(other.into()),
        }
    }
}

pub async fn new(session: Session, state: web::Data<AppState>) -> Page {
    html(&FormPage::new(&state, &session, None, DestState::blank()).await?)
}

pub async fn show(
    req: actix_web::HttpRequest,
    session: Session,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Page {
    let view = state.get_destination(&session.account_id, &id).await?;
    let form = DestState::from_view(&view);
    let mut page = FormPage::new(&state, &session, Some(view), form).await?;
    if req.query_string() == "saved=1" {
        page.notice = Some("Saved.".into());
    }
    html(&page)
}

pub async fn submit_new(session: Session, form: Form, state: web::Data<AppState>) -> Page {
    submit_form(session, None, form, state).await
}

pub async fn submit(
    session: Session,
    id: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Page {
    submit_form(session, Some(id.into_inner()), form, state).await
}

async fn submit_form(
    session: Session,
    id: Option<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let view = match &id {
        Some(id) => Some(state.get_destination(&session.account_id, id).await?),
        None => None,
    };
    let dest = DestState::from_form(&form);
    let body = dest.to_json();
    let mut page = FormPage::new(&state, &session, view, dest).await?;
    let input = json_input::parse::<DestinationInput>(body.to_string().as_bytes());
    if form.get("action") == Some("test") {
        let tested = match input {
            Ok(i) => match parse_for_test(&state, &session.account_id, id.as_deref(), i).await {
                Ok(config) => {
                    Ok(
                        crate::delivery::probe::test_destination(&state, id.as_deref(), &config)
                            .await,
                    )
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let refused = match tested {
            Ok(v) => {
                page.tested = serde_json::from_value(v).ok();
                false
            }
            Err(e) => {
                page.fail(e)?;
                true
            }
        };
        let mut resp = html(&page)?;
        if refused {
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
        }
        return Ok(resp);
    }
    let saved = match input {
        Ok(i) => match &id {
            Some(id) => state.update_destination(&session.account_id, id, i).await,
            None => state.create_destination(&session.account_id, i).await,
        },
        Err(e) => Err(e),
    };
    match saved {
        Ok(d) => {
            let secret = d
                .config
                .get("secret")
                .and_then(Value::as_str)
                .map(String::from);
            match secret.filter(|s| s != crate::outbound::MASK) {
                None => see_other(&format!("/dashboard/destinations/{}?saved=1", d.id)),
                Some(secret) => {
                    let form = DestState::from_view(&d);
                    let mut page = FormPage::new(&state, &session, Some(d), form).await?;
                    page.notice = Some("Saved.".into());
                    page.secret = Some(secret);
                    html(&page)
                }
            }
        }
        Err(e) => {
            page.fail(e)?;
            let mut resp = html(&page)?;
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// A form's config checked for Test Connection; a saved destination's masked values keep their stored ones.
async fn parse_for_test(
    state: &AppState,
    account_id: &str,
    id: Option<&str>,
    input: DestinationInput,
) -> Result<crate::destinations::Config, AppError> {
    match id {
        Some(id) => state.parse_edited_destination(account_id, id, input).await,
        None => state.parse_unsaved_destination(account_id, input).await,
    }
}

/// Delete, rotate the secret, enable/disable, or recover failed deliveries since a time.
pub async fn action(
    session: Session,
    path: web::Path<(String, String)>,
    form: Form,
    state: web::Data<AppState>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let (id, action) = path.into_inner();
    let account = &session.account_id;
    let back = format!("/dashboard/destinations/{id}");
    let view = state.get_destination(account, &id).await?;
    let (view, notice, secret) = match action.as_str() {
        "delete" => {
            state.delete_destination(account, &id).await?;
            return see_other("/dashboard/destinations");
        }
        "rotate" => {
            let v = state.rotate_destination_secret(account, &id).await?;
            let secret = v
                .config
                .get("secret")
                .and_then(Value::as_str)
                .map(String::from);
            let notice = "A new signing secret is in use; the old one still signs during the rotation grace period.";
            (v, Some(notice.to_string()), secret)
        }
        "enable" | "disable" => {
            let mut body = DestState::from_view(&view).to_json();
            body["enabled"] = json!(action == "enable");
            let input = json_input::parse::<DestinationInput>(body.to_string().as_bytes())?;
            state.update_destination(account, &id, input).await?;
            return see_other(&format!("{back}?saved=1"));
        }
        "recover" => {
            let since = form.text("since");
            let at = chrono::NaiveDateTime::parse_from_str(&since, "%Y-%m-%dT%H:%M")
                .map(|t| t.and_utc().timestamp_millis())
                .map_err(|_| AppError::BadRequest("since: choose a date and time".into()))?;
            let n = state.recover_destination(account, &id, at).await?;
            (
                view,
                Some(format!("{n} failed deliveries queued again.")),
                None,
            )
        }
        _ => return Err(AppError::NotFound("there is no such action".into()).into()),
    };
    let form_state = DestState::from_view(&view);
    let mut page = FormPage::new(&state, &session, Some(view), form_state).await?;
    page.notice = notice;
    page.secret = secret;
    html(&page)
}
