//! Events → destinations. An event is stored once; each destination that wants
//! it gets a delivery row, worked by [`worker`] with retries until it succeeds
//! or is dead-lettered. Every attempt is logged.

mod attempt;
pub mod aws;
pub mod dispatch;
pub mod listing;
pub mod metrics;
pub mod probe;
mod settle;
pub mod webhook;
pub mod worker;
pub mod xml;

use sea_orm::{ConnectionTrait, DbErr};
use serde_json::Value;

use crate::db::{self, entities};
use crate::outbound::events::{self, EventType};
use crate::templates::service::Webhook;

/// An event about to be stored.
pub struct NewEvent<'a> {
    pub event_type: EventType,
    pub account_id: &'a str,
    pub job_id: &'a str,
    pub file_id: Option<&'a str>,
    pub template_id: &'a str,
    pub data: Value,
}

/// Stores the event and one delivery per target that wants it: the template
/// webhook and every matching destination of the account. Call inside the
/// transaction that makes the event true. A disabled destination's delivery is
/// stored as failed, so `recover` can send it once the destination is back.
pub async fn emit(
    db: &impl ConnectionTrait,
    ev: NewEvent<'_>,
    webhook: Option<&Webhook>,
) -> Result<String, DbErr> {
    let id = events::new_event_id();
    let now = db::now_ms();
    let body = events::envelope(ev.event_type, &id, ev.data);
    let delivery =
        |destination_id: Option<String>, disabled: Option<String>| entities::deliveries::Model {
            id: format!("dlv_{}", uuid::Uuid::now_v7().simple()),
            event_id: id.clone(),
            account_id: ev.account_id.to_string(),
            job_id: ev.job_id.to_string(),
            file_id: ev.file_id.map(str::to_string),
            template_id: ev.template_id.to_string(),
            event_type: ev.event_type.as_str().to_string(),
            status: if disabled.is_some() {
                db::deliveries::FAILED
            } else {
                db::deliveries::PENDING
            }
            .to_string(),
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_expires_at: None,
            last_error: disabled,
            created_at: now,
            updated_at: now,
            succeeded_at: None,
            destination_id,
        };
    let mut deliveries = Vec::new();
    if webhook.is_some_and(|w| w.wants(ev.event_type)) {
        deliveries.push(delivery(None, None));
    }
    for d in db::destinations::list(db, ev.account_id).await? {
        if crate::destinations::wants(&d, ev.event_type, ev.template_id) {
            let disabled = (d.enabled == 0).then(|| {
                format!(
                    "destination disabled: {}",
                    d.disabled_reason.as_deref().unwrap_or("by the account")
                )
            });
            deliveries.push(delivery(Some(d.id), disabled));
        }
    }
    let event = entities::events::Model {
        id: id.clone(),
        account_id: ev.account_id.to_string(),
        job_id: ev.job_id.to_string(),
        file_id: ev.file_id.map(str::to_string),
        event_type: ev.event_type.as_str().to_string(),
        payload: body.to_string(),
        created_at: now,
    };
    db::deliveries::insert_event(db, event, deliveries).await?;
    Ok(id)
}
