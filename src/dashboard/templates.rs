//! Templates: the list, and the editor with Try it, the webhook and its Test Connection.

use actix_web::web;
use askama::Template;
use base64::Engine;
use serde_json::{json, Value};

use super::editor::{EditorState, Errors, FieldRow};
use super::form::Form;
use super::grid::Grid;
use super::jobs::{boxes_of, shown, BoxView};
use super::session::Session;
use super::webhook_form::event_names;
use super::{html, see_other, DashError, Nav, Page};
use crate::api::{path_id, AppError};
use crate::delivery::probe::TestOutcome;
use crate::delivery::Deliveries;
use crate::json_input;
use crate::outbound::events::PRESETS;
use crate::templates::input::TemplateInput;
use crate::templates::preview::{PageWord, PreviewTemplate};
use crate::templates::webhook_test::WebhookTest;
use crate::templates::{TemplateView, Templates};
use crate::types::{Origin, TemplateId};

#[derive(Template)]
#[template(path = "dashboard/templates.html")]
struct ListPage {
    nav: Nav,
    templates: Vec<TemplateView>,
    /// The invoice2data template sent to Import, shown again with what stopped it.
    import: String,
    import_error: Option<String>,
}

pub async fn list(session: Session, templates: web::Data<Templates>) -> Page {
    html(&ListPage {
        nav: Nav::new(&session, "templates"),
        templates: templates.list(&session.account_id).await?,
        import: String::new(),
        import_error: None,
    })
}

/// Import: an invoice2data template, pasted or uploaded, becomes a template.
pub async fn import(session: Session, form: Form, templates: web::Data<Templates>) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let pasted = form.get("import").unwrap_or_default().to_string();
    let body = match form.file().filter(|f| !f.bytes.is_empty()) {
        Some(f) => f.bytes.clone(),
        None => pasted.clone().into_bytes(),
    };
    let failed = |message: String| ListPage {
        nav: Nav::new(&session, "templates"),
        templates: Vec::new(),
        import: pasted.clone(),
        import_error: Some(message),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        let mut page = failed("paste an invoice2data template or choose its file".into());
        page.templates = templates.list(&session.account_id).await?;
        return html(&page);
    }
    match templates
        .import(&session.account_id, &body, &session.actor())
        .await
    {
        Ok(t) => super::see_other(&format!("/dashboard/templates/{}?imported=1", t.id)),
        Err(crate::templates::TemplateError::Invalid(message)) => {
            let mut page = failed(message);
            page.templates = templates.list(&session.account_id).await?;
            html(&page)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// What Try it found, as the editor shows it.
struct TryView {
    file_name: String,
    result_status: crate::types::ResultStatus,
    rows: Vec<(String, String, String, bool)>,
    image: Option<String>,
    page: u32,
    boxes: Vec<BoxView>,
    /// Lines fields' rows, shown as tables.
    grids: Vec<NamedGrid>,
    /// The shown page's words as JSON (`<` escaped), for drawing a table's header.
    words_json: String,
}

struct NamedGrid {
    name: String,
    grid: Grid,
}

#[derive(Template)]
#[template(path = "dashboard/template.html")]
struct EditorPage {
    nav: Nav,
    id: Option<TemplateId>,
    editor: EditorState,
    blank: FieldRow,
    errors: Errors,
    notice: Option<String>,
    secret: Option<String>,
    tried: Option<TryView>,
    tested: Option<TestOutcome>,
    has_webhook: bool,
    events: Vec<&'static str>,
    presets: Vec<&'static str>,
}

impl EditorPage {
    fn new(session: &Session, id: Option<TemplateId>, editor: EditorState) -> Self {
        Self {
            nav: Nav::new(session, "templates"),
            has_webhook: !editor.webhook.url.is_empty(),
            id,
            editor,
            blank: FieldRow::blank("__i__".into()),
            errors: Errors::new(),
            notice: None,
            secret: None,
            tried: None,
            tested: None,
            events: event_names(),
            presets: PRESETS.iter().map(|(n, _)| *n).collect(),
        }
    }

    fn err(&self, slot: &str) -> &str {
        self.errors.get(slot).map_or("", String::as_str)
    }

    /// The error about one member of field row `index`.
    fn ferr(&self, index: &str, member: &str) -> &str {
        self.err(&format!("f{index}.{member}"))
    }

    /// The row the "Add field" button copies (its index is filled in by the script).
    fn blank_rows(&self) -> &[FieldRow] {
        std::slice::from_ref(&self.blank)
    }

    fn types(&self) -> [&'static str; 6] {
        ["string", "number", "integer", "date", "boolean", "lines"]
    }

    fn has_event(&self, e: &str) -> bool {
        self.editor.webhook.events.iter().any(|x| x == e)
    }

    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/dashboard/templates/{id}"),
            None => "/dashboard/templates/new".into(),
        }
    }

    fn fail(&mut self, editor: &EditorState, e: impl Into<AppError>) -> Result<(), DashError> {
        match e.into() {
            AppError::Unprocessable(m) | AppError::BadRequest(m) => {
                self.errors.insert(editor.error_slot(&m), m.clone());
                self.notice = Some(format!("Not done: {m}"));
                Ok(())
            }
            AppError::PayloadTooLarge(m)
            | AppError::UnsupportedMediaType(m)
            | AppError::Conflict(m) => {
                self.notice = Some(m);
                Ok(())
            }
            other => Err(other.into()),
        }
    }
}

pub async fn new(session: Session) -> Page {
    html(&EditorPage::new(
        &session,
        None,
        EditorState::new_template(),
    ))
}

pub async fn show(
    req: actix_web::HttpRequest,
    session: Session,
    id: web::Path<String>,
    templates: web::Data<Templates>,
) -> Page {
    let id: TemplateId = path_id(&id)?;
    let t = templates.get(&session.account_id, &id).await?;
    let mut page = EditorPage::new(&session, Some(t.id.clone()), EditorState::from_view(&t));
    if req.query_string() == "saved=1" {
        page.notice = Some("Saved.".into());
    }
    html(&page)
}

pub async fn submit_new(
    session: Session,
    form: Form,
    templates: web::Data<Templates>,
    deliveries: web::Data<Deliveries>,
) -> Page {
    submit_form(session, None, form, &templates, &deliveries).await
}

pub async fn submit(
    session: Session,
    id: web::Path<String>,
    form: Form,
    templates: web::Data<Templates>,
    deliveries: web::Data<Deliveries>,
) -> Page {
    let id: TemplateId = path_id(&id)?;
    submit_form(session, Some(id), form, &templates, &deliveries).await
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, AppError> {
    Ok(json_input::parse(v.to_string().as_bytes())?)
}

async fn submit_form(
    session: Session,
    id: Option<TemplateId>,
    form: Form,
    templates: &Templates,
    deliveries: &Deliveries,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    if let Some(id) = &id {
        // Another account's template is not found, whatever the form says.
        templates.get(&session.account_id, id).await?;
    }
    let editor = EditorState::from_form(&form);
    let mut page = EditorPage::new(&session, id.clone(), editor.clone());
    match form.get("action").unwrap_or("save") {
        "try" => {
            if let Err(e) = try_it(templates, &session, &editor, &form, &mut page).await {
                page.fail(&editor, e)?;
            }
        }
        "test_webhook" => {
            let body = json!({
                "template_id": id,
                "webhook": editor.webhook.to_json(),
                "fields": editor.template_json()["fields"],
            });
            let probe = match parse::<WebhookTest>(&body) {
                Ok(t) => templates
                    .webhook_probe(&session.account_id, t)
                    .await
                    .map_err(AppError::from),
                Err(e) => Err(e),
            };
            match probe {
                Ok(p) => {
                    let outcome = deliveries
                        .test_template_webhook(
                            &p.config,
                            p.template_id.as_ref(),
                            p.sample,
                            Origin::User,
                        )
                        .await;
                    page.tested = Some(outcome);
                }
                Err(e) => page.fail(&editor, e)?,
            }
        }
        _ => {
            let saved = match parse::<TemplateInput>(&editor.template_json()) {
                Ok(input) => match &id {
                    Some(id) => {
                        templates
                            .update(&session.account_id, id, input, &session.actor())
                            .await
                    }
                    None => {
                        templates
                            .create(&session.account_id, input, &session.actor())
                            .await
                    }
                }
                .map_err(AppError::from),
                Err(e) => Err(e),
            };
            match saved {
                Ok(t) => {
                    let Some(secret) = t.webhook.as_ref().and_then(|w| w.secret.clone()) else {
                        return see_other(&format!("/dashboard/templates/{}?saved=1", t.id));
                    };
                    // A new signing secret is shown this once, so this answer is the page
                    // itself; the form shows the template as read back, header values masked.
                    let stored = templates.get(&session.account_id, &t.id).await?;
                    let mut page = EditorPage::new(
                        &session,
                        Some(t.id.clone()),
                        EditorState::from_view(&stored),
                    );
                    page.notice = Some("Saved.".into());
                    page.secret = Some(secret);
                    return html(&page);
                }
                Err(e) => page.fail(&editor, e)?,
            }
        }
    }
    let failed = !page.errors.is_empty() || (page.notice.is_some() && page.tried.is_none());
    let mut resp = html(&page)?;
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

async fn try_it(
    templates: &Templates,
    session: &Session,
    editor: &EditorState,
    form: &Form,
    page: &mut EditorPage,
) -> Result<(), AppError> {
    let Some(file) = form.file() else {
        return Err(AppError::Unprocessable(
            "sample: choose a sample document (PDF or image) to try the template on".into(),
        ));
    };
    let template: PreviewTemplate = parse(&editor.preview_json())?;
    let preview = templates
        .preview(&session.account_id, template, file.bytes.clone())
        .await?;
    let boxes = boxes_of(Some(&preview.boxes));
    let shown_page = boxes.first().map_or(1, |b| b.page);
    let image = templates
        .sample_page(file.bytes.clone(), shown_page)
        .await
        .map(|png| {
            format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            )
        });
    let grids: Vec<NamedGrid> = editor
        .fields
        .iter()
        .filter_map(|f| {
            let grid = Grid::of(
                preview.result.get(&f.name)?,
                None,
                preview.confidences.get(&f.name),
            )?;
            Some(NamedGrid {
                name: f.name.clone(),
                grid,
            })
        })
        .collect();
    let words: Vec<&PageWord> = preview
        .words
        .iter()
        .filter(|w| w.page == shown_page)
        .collect();
    // Inside a script element: no `<` may close it early.
    let words_json = serde_json::to_string(&words)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c");
    let rows = editor
        .fields
        .iter()
        .filter(|f| !grids.iter().any(|g| g.name == f.name))
        .map(|f| {
            let v = preview.result.get(&f.name);
            let confidence = preview
                .confidences
                .get(&f.name)
                .and_then(Value::as_f64)
                .map(|c| format!("{:.0}%", c * 100.0))
                .unwrap_or_default();
            let warned = preview.warnings.contains(&f.name);
            (f.name.clone(), shown(v), confidence, warned)
        })
        .collect();
    page.tried = Some(TryView {
        file_name: file.name.clone(),
        result_status: preview.result_status,
        rows,
        image,
        page: shown_page,
        boxes: boxes.into_iter().filter(|b| b.page == shown_page).collect(),
        grids,
        words_json,
    });
    Ok(())
}

pub async fn delete(
    session: Session,
    id: web::Path<String>,
    form: Form,
    templates: web::Data<Templates>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let id: TemplateId = path_id(&id)?;
    templates
        .delete(&session.account_id, &id, &session.actor())
        .await?;
    see_other("/dashboard/templates")
}

pub async fn rotate(
    session: Session,
    id: web::Path<String>,
    form: Form,
    templates: web::Data<Templates>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let id: TemplateId = path_id(&id)?;
    let t = templates
        .rotate_webhook_secret(&session.account_id, &id, &session.actor())
        .await?;
    let mut page = EditorPage::new(&session, Some(t.id.clone()), EditorState::from_view(&t));
    page.secret = t.webhook.as_ref().and_then(|w| w.secret.clone());
    page.notice = Some(
        "A new signing secret is in use; the old one still signs during the rotation grace period."
            .into(),
    );
    html(&page)
}
