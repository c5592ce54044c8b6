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
use crate::api::{path_id, AppError};
use crate::delivery::probe::TestOutcome;
use crate::delivery::Deliveries;
use crate::destinations::input::DestinationInput;
use crate::destinations::{DestinationView, Destinations};
use crate::json_input;
use crate::outbound::events::PRESETS;
use crate::targets::Config;
use crate::tasks::{TaskView, Tasks};
use crate::templates::Templates;
use crate::types::{AccountId, DestinationId, Origin, TaskId};

#[derive(Template)]
#[template(path = "dashboard/destinations.html")]
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

pub async fn list(session: Session, destinations: web::Data<Destinations>) -> Page {
    html(&ListPage {
        nav: Nav::new(&session, "destinations"),
        destinations: destinations.list(&session.account_id).await?,
    })
}

#[derive(Template)]
#[template(path = "dashboard/destination.html")]
struct FormPage {
    nav: Nav,
    id: Option<DestinationId>,
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
    /// The recovery just asked for, as it stands.
    task: Option<TaskView>,
}

impl FormPage {
    async fn new(
        templates: &Templates,
        session: &Session,
        view: Option<DestinationView>,
        state: DestState,
    ) -> Result<Self, DashError> {
        let templates = templates
            .list(&session.account_id)
            .await?
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
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
            task: None,
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

    fn fail(&mut self, e: impl Into<AppError>) -> Result<(), DashError> {
        match e.into() {
            AppError::Unprocessable(m) | AppError::BadRequest(m) | AppError::Conflict(m) => {
                self.errors.insert(self.state.error_slot(&m), m.clone());
                self.notice = Some(format!("Not done: {m}"));
                Ok(())
            }
            other => Err(other.into()),
        }
    }
}

pub async fn new(session: Session, templates: web::Data<Templates>) -> Page {
    html(&FormPage::new(&templates, &session, None, DestState::blank()).await?)
}

pub async fn show(
    req: actix_web::HttpRequest,
    session: Session,
    id: web::Path<String>,
    destinations: web::Data<Destinations>,
    templates: web::Data<Templates>,
    tasks: web::Data<Tasks>,
) -> Page {
    let id: DestinationId = path_id(&id)?;
    let view = destinations.get(&session.account_id, &id).await?;
    let form = DestState::from_view(&view);
    let mut page = FormPage::new(&templates, &session, Some(view), form).await?;
    let query = req.query_string();
    if query == "saved=1" {
        page.notice = Some("Saved.".into());
    }
    if let Some(task) = query.strip_prefix("task=").and_then(TaskId::parse) {
        page.task = tasks.get(&session.account_id, &task).await?;
    }
    html(&page)
}

/// What the destination form uses.
struct Services {
    destinations: web::Data<Destinations>,
    templates: web::Data<Templates>,
    deliveries: web::Data<Deliveries>,
}

pub async fn submit_new(
    session: Session,
    form: Form,
    destinations: web::Data<Destinations>,
    templates: web::Data<Templates>,
    deliveries: web::Data<Deliveries>,
) -> Page {
    let app = Services {
        destinations,
        templates,
        deliveries,
    };
    submit_form(session, None, form, app).await
}

pub async fn submit(
    session: Session,
    id: web::Path<String>,
    form: Form,
    destinations: web::Data<Destinations>,
    templates: web::Data<Templates>,
    deliveries: web::Data<Deliveries>,
) -> Page {
    let id: DestinationId = path_id(&id)?;
    let app = Services {
        destinations,
        templates,
        deliveries,
    };
    submit_form(session, Some(id), form, app).await
}

async fn submit_form(
    session: Session,
    id: Option<DestinationId>,
    form: Form,
    app: Services,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let view = match &id {
        Some(id) => Some(app.destinations.get(&session.account_id, id).await?),
        None => None,
    };
    let dest = DestState::from_form(&form);
    let body = dest.to_json();
    let mut page = FormPage::new(&app.templates, &session, view, dest).await?;
    let input =
        json_input::parse::<DestinationInput>(body.to_string().as_bytes()).map_err(AppError::from);
    if form.get("action") == Some("test") {
        let tested = match input {
            Ok(i) => {
                match parse_for_test(&app.destinations, &session.account_id, id.as_ref(), i).await {
                    Ok(config) => Ok(app
                        .deliveries
                        .test_destination(id.as_ref(), &config, Origin::User)
                        .await),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let refused = match tested {
            Ok(outcome) => {
                page.tested = Some(outcome);
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
            Some(id) => {
                app.destinations
                    .update(&session.account_id, id, i, &session.actor())
                    .await
            }
            None => {
                app.destinations
                    .create(&session.account_id, i, &session.actor())
                    .await
            }
        }
        .map_err(AppError::from),
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
                    let mut page = FormPage::new(&app.templates, &session, Some(d), form).await?;
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
    destinations: &Destinations,
    account_id: &AccountId,
    id: Option<&DestinationId>,
    input: DestinationInput,
) -> Result<Config, AppError> {
    let parsed = match id {
        Some(id) => destinations.parse_edited(account_id, id, input).await,
        None => destinations.parse_unsaved(account_id, input).await,
    };
    Ok(parsed?)
}

/// Delete, rotate the secret, enable/disable, or recover failed deliveries since a time.
pub async fn action(
    session: Session,
    path: web::Path<(String, String)>,
    form: Form,
    destinations: web::Data<Destinations>,
    templates: web::Data<Templates>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let (id, action) = path.into_inner();
    let id: DestinationId = path_id(&id)?;
    let account = &session.account_id;
    let back = format!("/dashboard/destinations/{id}");
    let view = destinations.get(account, &id).await?;
    let (view, notice, secret) = match action.as_str() {
        "delete" => {
            destinations.delete(account, &id, &session.actor()).await?;
            return see_other("/dashboard/destinations");
        }
        "rotate" => {
            let v = destinations
                .rotate_secret(account, &id, &session.actor())
                .await?;
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
            destinations
                .update(account, &id, input, &session.actor())
                .await?;
            return see_other(&format!("{back}?saved=1"));
        }
        "recover" => {
            let at = |name: &str, what: &str| {
                chrono::NaiveDateTime::parse_from_str(&form.text(name), "%Y-%m-%dT%H:%M")
                    .map(|t| t.and_utc().timestamp_millis())
                    .map_err(|_| AppError::BadRequest(format!("{name}: choose {what}")))
            };
            let since = at("since", "a date and time")?;
            let until = match form.text("until").is_empty() {
                true => None,
                false => Some(at("until", "a date and time, or none")?),
            };
            let task = destinations.recover(account, &id, since, until).await?;
            return see_other(&format!("{back}?task={}", task.task_id));
        }
        _ => return Err(AppError::NotFound("there is no such action".into()).into()),
    };
    let form_state = DestState::from_view(&view);
    let mut page = FormPage::new(&templates, &session, Some(view), form_state).await?;
    page.notice = notice;
    page.secret = secret;
    html(&page)
}
