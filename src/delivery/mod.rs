//! Events → destinations. An event is stored once; each destination that wants
//! it gets a delivery row, worked by [`worker`] with retries until it succeeds
//! or is dead-lettered. Every attempt is logged.

mod attempt;
pub mod aws;
mod claims;
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
    let mut stored = emit_all(db, vec![ev], webhook).await?;
    Ok(stored.pop().map(|e| e.id).unwrap_or_default())
}

/// An event as stored: its id and how many deliveries it got.
pub struct Emitted {
    pub id: String,
    pub deliveries: usize,
}

/// [`emit`] for several events of one account, with one read of its
/// destinations and one insert for all the events and one for all the
/// deliveries: a document's outcome and its job's end are written together.
pub async fn emit_all(
    db: &impl ConnectionTrait,
    evs: Vec<NewEvent<'_>>,
    webhook: Option<&Webhook>,
) -> Result<Vec<Emitted>, DbErr> {
    let Some(account_id) = evs.first().map(|e| e.account_id) else {
        return Ok(Vec::new());
    };
    debug_assert!(evs.iter().all(|e| e.account_id == account_id));
    let destinations = db::destinations::list(db, account_id).await?;
    let now = db::now_ms();
    let mut stored = Vec::with_capacity(evs.len());
    let mut rows = Vec::with_capacity(evs.len());
    let mut deliveries = Vec::new();
    for ev in evs {
        let id = events::new_event_id();
        let delivery = |destination_id: Option<String>, disabled: Option<String>| {
            entities::deliveries::Model {
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
            }
        };
        let before = deliveries.len();
        if webhook.is_some_and(|w| w.wants(ev.event_type)) {
            deliveries.push(delivery(None, None));
        }
        for d in &destinations {
            if crate::destinations::wants(d, ev.event_type, ev.template_id) {
                let disabled = (d.enabled == 0).then(|| {
                    format!(
                        "destination disabled: {}",
                        d.disabled_reason.as_deref().unwrap_or("by the account")
                    )
                });
                deliveries.push(delivery(Some(d.id.clone()), disabled));
            }
        }
        rows.push(entities::events::Model {
            id: id.clone(),
            account_id: ev.account_id.to_string(),
            job_id: ev.job_id.to_string(),
            file_id: ev.file_id.map(str::to_string),
            event_type: ev.event_type.as_str().to_string(),
            payload: events::envelope(ev.event_type, &id, ev.data).to_string(),
            created_at: now,
        });
        stored.push(Emitted {
            id,
            deliveries: deliveries.len() - before,
        });
    }
    db::deliveries::insert_events(db, rows, deliveries).await?;
    Ok(stored)
}
