//! Storing events: one row per event, and one delivery per target that
//! wants it, in the transaction that makes the event true.

use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::db::{self, entities, DbError};
use crate::outbound::events;
use crate::targets::{destination_wants, EventFacts, TemplateWebhook};
use crate::types::{
    AccountId, DeliveryId, DeliveryStatus, DestinationId, EventId, EventType, FileId, JobId,
    Origin, TemplateChoice,
};

/// An event about to be stored.
pub struct NewEvent<'a> {
    pub event_type: EventType,
    pub account_id: &'a AccountId,
    /// `None` for an operational event (about a destination, not a job).
    pub job_id: Option<&'a JobId>,
    pub file_id: Option<&'a FileId>,
    /// The template the event is about, or `auto` for a job or document that has none.
    pub template_id: &'a TemplateChoice,
    /// Who caused it: in every delivery body as `origin`.
    pub origin: Origin,
    pub data: Value,
    /// The destination an operational event is about: it never receives it.
    pub about: Option<&'a DestinationId>,
}

/// An event as stored: its id and how many deliveries it got.
pub struct Emitted {
    pub id: EventId,
    pub deliveries: usize,
}

/// Stores the event and one delivery per target that wants it: the template
/// webhook and every matching destination of the account. Call inside the
/// transaction that makes the event true. A disabled destination's delivery is
/// stored as failed, so `recover` can send it once the destination is back.
pub async fn emit(
    db: &impl ConnectionTrait,
    ev: NewEvent<'_>,
    webhook: Option<&TemplateWebhook>,
) -> Result<Emitted, DbError> {
    let mut stored = emit_all(db, vec![ev], webhook).await?;
    Ok(stored.remove(0))
}

/// [`emit`] for several events of one account, with one read of its
/// destinations and one insert for all the events and one for all the
/// deliveries: a document's outcome and its job's end are written together.
pub async fn emit_all(
    db: &impl ConnectionTrait,
    evs: Vec<NewEvent<'_>>,
    webhook: Option<&TemplateWebhook>,
) -> Result<Vec<Emitted>, DbError> {
    let Some(account_id) = evs.first().map(|e| e.account_id) else {
        return Ok(Vec::new());
    };
    debug_assert!(evs.iter().all(|e| e.account_id == account_id));
    let destinations = db::destinations::list(db, account_id).await?;
    let by_category = destinations
        .iter()
        .filter_map(|d| d.rules.as_deref())
        .any(|r| r.contains("\"categories\""));
    let now = db::now_ms();
    let mut stored = Vec::with_capacity(evs.len());
    let mut rows = Vec::with_capacity(evs.len());
    let mut deliveries = Vec::new();
    for ev in evs {
        let id = EventId::new();
        // A held job's document events wait; a deleted document's are cancelled.
        let gate = match ev.job_id {
            Some(job_id) if ev.event_type.is_about_values() => {
                db::lifecycle::gate(db, job_id, ev.file_id).await?.status()
            }
            _ => None,
        };
        let delivery = |destination_id, failed: Option<String>| entities::deliveries::Model {
            id: DeliveryId::new(),
            event_id: id.clone(),
            account_id: ev.account_id.clone(),
            job_id: ev.job_id.cloned(),
            file_id: ev.file_id.cloned(),
            template_id: ev.template_id.clone(),
            event_type: ev.event_type,
            // A deleted document's event is cancelled even where it would have failed:
            // no retry or recovery may send it later.
            status: match (&failed, gate) {
                (_, Some(DeliveryStatus::Cancelled)) => DeliveryStatus::Cancelled,
                (Some(_), _) => DeliveryStatus::Failed,
                (None, Some(s)) => s,
                (None, None) => DeliveryStatus::Pending,
            },
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_expires_at: None,
            last_error: failed,
            created_at: now,
            updated_at: now,
            succeeded_at: None,
            destination_id,
        };
        let before = deliveries.len();
        // Rules may select by the template's category: read once per event, only then.
        let category = match (ev.template_id.fixed(), by_category) {
            (Some(t), true) => db::templates::category(db, t).await?,
            _ => None,
        };
        if webhook.is_some_and(|w| w.wants(ev.event_type)) {
            deliveries.push(delivery(None, None));
        }
        for d in destinations.iter().filter(|d| ev.about != Some(&d.id)) {
            // A destination whose filters do not read back gets the event as
            // a failed delivery: nothing is sent where it may not belong, and
            // nothing is lost (it can be recovered once the filters are saved again).
            let facts = EventFacts {
                event: ev.event_type,
                template_id: ev.template_id,
                origin: ev.origin,
                category: category.as_deref(),
            };
            let failed = match destination_wants(d, &facts) {
                Ok(false) => continue,
                Ok(true) if d.enabled != 0 => None,
                Ok(true) => Some(format!(
                    "destination disabled: {}",
                    d.disabled_reason.as_deref().unwrap_or("by the account")
                )),
                Err(e) => {
                    tracing::error!(destination_id = %d.id, error = %e, "a destination's filters do not read back");
                    Some(format!("the destination's filters cannot be read: {e}"))
                }
            };
            deliveries.push(delivery(Some(d.id.clone()), failed));
        }
        // An operational event nobody subscribes to is not kept: it has no job
        // whose purge would take it, and no delivery whose purge would.
        if ev.event_type.is_operational() && deliveries.len() == before {
            stored.push(Emitted { id, deliveries: 0 });
            continue;
        }
        rows.push(entities::events::Model {
            id: id.clone(),
            account_id: ev.account_id.clone(),
            job_id: ev.job_id.cloned(),
            file_id: ev.file_id.cloned(),
            event_type: ev.event_type,
            payload: events::envelope(ev.event_type, &id, ev.origin, ev.data).to_string(),
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
