//! Deliveries: filter by status (failed = dead letters), destination and
//! template; each one's attempt log; Retry.

use std::collections::BTreeMap;

use actix_web::web;
use askama::Template;
use serde::Deserialize;

use super::form::Form;
use super::jobs::template_names;
use super::session::Session;
use super::{html, see_other, Nav, Page};
use crate::api::path_id;
use crate::delivery::listing::{Attempt, Delivery};
use crate::delivery::{Deliveries, DeliveryQuery};
use crate::destinations::Destinations;
use crate::templates::Templates;
use crate::types::{DeliveryId, DestinationId};

#[derive(Deserialize)]
pub struct ListQuery {
    job_id: Option<String>,
    status: Option<String>,
    destination_id: Option<String>,
    template_id: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/deliveries.html")]
struct ListPage {
    nav: Nav,
    deliveries: Vec<Delivery>,
    status: String,
    destination_id: String,
    template_id: String,
    destinations: Vec<(DestinationId, String)>,
    templates: BTreeMap<String, String>,
}

impl ListPage {
    fn target(&self, d: &Delivery) -> String {
        match &d.destination_id {
            None => "template webhook".into(),
            Some(id) => self
                .destinations
                .iter()
                .find(|(i, _)| i == id)
                .map_or_else(|| id.to_string(), |(_, label)| label.clone()),
        }
    }

    fn template_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.templates.get(id).map_or(id, String::as_str)
    }
}

pub async fn list(
    session: Session,
    query: web::Query<ListQuery>,
    deliveries: web::Data<Deliveries>,
    destinations: web::Data<Destinations>,
    templates: web::Data<Templates>,
) -> Page {
    let q = query.into_inner();
    let (status, destination_id, template_id) = (
        q.status.unwrap_or_default(),
        q.destination_id.unwrap_or_default(),
        q.template_id.unwrap_or_default(),
    );
    let deliveries = deliveries
        .list(
            &session.account_id,
            &DeliveryQuery {
                status: Some(status.clone()).filter(|s| !s.is_empty()),
                destination_id: Some(destination_id.clone()),
                template_id: Some(template_id.clone()),
                job_id: q.job_id,
                limit: Some(200),
            },
        )
        .await?;
    let destinations = destinations
        .list(&session.account_id)
        .await?
        .into_iter()
        .map(|d| {
            let url = ["url", "queue_url", "bucket"]
                .iter()
                .find_map(|k| d.config.get(*k).and_then(|v| v.as_str()))
                .unwrap_or_default()
                .to_string();
            (d.id, url)
        })
        .collect();
    let templates = template_names(&templates, &session.account_id).await?;
    html(&ListPage {
        nav: Nav::new(&session, "deliveries"),
        deliveries,
        status,
        destination_id,
        template_id,
        destinations,
        templates,
    })
}

#[derive(Template)]
#[template(path = "dashboard/delivery.html")]
struct ShowPage {
    nav: Nav,
    delivery: Delivery,
    attempts: Vec<Attempt>,
    notice: Option<&'static str>,
}

pub async fn show(
    req: actix_web::HttpRequest,
    session: Session,
    id: web::Path<String>,
    deliveries: web::Data<Deliveries>,
) -> Page {
    let id: DeliveryId = path_id(&id)?;
    let (delivery, attempts) = deliveries.with_attempts(&session.account_id, &id).await?;
    html(&ShowPage {
        nav: Nav::new(&session, "deliveries"),
        delivery,
        attempts,
        notice: (req.query_string() == "retried=1")
            .then_some("Queued again: it is sent at once, then retried on the usual schedule."),
    })
}

pub async fn retry(
    session: Session,
    id: web::Path<String>,
    form: Form,
    deliveries: web::Data<Deliveries>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let id: DeliveryId = path_id(&id)?;
    deliveries.retry(&session.account_id, &id).await?;
    see_other(&format!("/dashboard/deliveries/{id}?retried=1"))
}
