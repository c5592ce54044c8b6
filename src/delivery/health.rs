//! Destination health: each batch of attempts moves its destinations' runs
//! of failures, and the operational events of SPEC §4 say what changed —
//! `destination.failing` after a few failures in a row, `destination.disabled`
//! after failing for the destination's `disable_after`,
//! `destination.recovered` at the first success after that, and
//! `delivery.exhausted` for a dead letter. They go to the account's other
//! destinations, never to the one they are about.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::json;

use super::attempt::Finished;
use super::emit::{emit, NewEvent};
use crate::db::{self, entities::destinations, DbError};
use crate::types::{DestinationId, EventType, Origin, TemplateChoice};

/// Failed attempts in a row after which a destination is announced as failing.
pub const FAILING_AFTER: i64 = 5;

/// What one batch did to one destination.
#[derive(Default)]
pub(super) struct Tally {
    succeeded: bool,
    /// The destination was failing when its deliveries were claimed.
    was_failing: bool,
    failures: i64,
    gone: bool,
    last_error: Option<String>,
}

pub(super) fn tally(batch: &[Finished]) -> HashMap<&DestinationId, Tally> {
    let mut tallies: HashMap<&DestinationId, Tally> = HashMap::new();
    // Only attempts really made: one that could not start says nothing of the receiver.
    for f in batch.iter().filter(|f| !f.final_failure) {
        let Some(dest) = &f.destination else { continue };
        let t = tallies.entry(dest).or_default();
        t.was_failing |= f.was_failing;
        if f.result.is_delivered() {
            t.succeeded = true;
        } else {
            t.failures += 1;
            t.gone |= f.result.is_gone();
            t.last_error = f.result.error().or(t.last_error.take());
        }
    }
    tallies
}

/// Records the batch's outcomes in `txn` and announces what changed; returns
/// the destinations to disable, with why.
pub(super) async fn note(
    txn: &impl ConnectionTrait,
    tallies: HashMap<&DestinationId, Tally>,
    default_disable_after: Duration,
) -> Result<Vec<(DestinationId, String)>, DbError> {
    let mut to_disable = Vec::new();
    // Rows locked in one order by every process: two batches over the same
    // destinations cannot wait on each other.
    let mut tallies: Vec<_> = tallies.into_iter().collect();
    tallies.sort_by(|a, b| a.0.cmp(b.0));
    for (id, t) in tallies {
        // One success in the batch ends the run. A destination that was not
        // failing when its deliveries were claimed (a few milliseconds ago)
        // has no run to end: its successes cost no write, which is most of
        // them. (A run another process began since is ended by the next
        // success after it is seen.)
        if t.succeeded && !t.was_failing {
            continue;
        }
        if t.succeeded {
            if let Some(d) = db::destinations::note_success(txn, id).await? {
                let reason = "a delivery succeeded";
                announce(txn, &d, EventType::DestinationRecovered, reason).await?;
            }
            continue;
        }
        let last_error = t.last_error.as_deref().unwrap_or("the attempt failed");
        let Some(d) = db::destinations::note_failures(txn, id, t.failures, last_error).await?
        else {
            continue;
        };
        if d.consecutive_failures >= FAILING_AFTER
            && d.failing_reported_at.is_none()
            && db::destinations::mark_failing_reported(txn, id).await?
        {
            announce(txn, &d, EventType::DestinationFailing, last_error).await?;
        }
        let disable_after = d
            .disable_after_ms
            .unwrap_or(default_disable_after.as_millis() as i64);
        let reason = if t.gone {
            Some("the receiver answered 410 Gone".to_string())
        } else {
            d.failing_since
                .filter(|since| db::now_ms() - since >= disable_after)
                .map(|since| {
                    format!(
                        "every attempt failed since {} (last: {last_error})",
                        db::rfc3339(since)
                    )
                })
        };
        if let Some(reason) = reason {
            to_disable.push((id.clone(), reason));
        }
    }
    Ok(to_disable)
}

/// Disables the destination, dead-letters what it owed and announces it, in one transaction.
pub(super) async fn disable(
    db: &DatabaseConnection,
    id: &DestinationId,
    reason: &str,
) -> Result<(), DbError> {
    let txn = db.begin().await?;
    if let Some(d) = db::destinations::disable(&txn, id, reason).await? {
        tracing::warn!(destination_id = %id, %reason, "destination disabled");
        announce(&txn, &d, EventType::DestinationDisabled, reason).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Announces a dead letter (not one of an operational event: two failing
/// destinations would otherwise tell each other of their failures for ever).
pub(super) async fn exhausted(
    txn: &impl ConnectionTrait,
    f: &Finished,
    attempts: usize,
) -> Result<(), DbError> {
    let d = &f.delivery;
    if d.event_type.is_operational() {
        return Ok(());
    }
    let data = json!({
        "delivery_id": d.id,
        "destination_id": d.destination_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "attempts": attempts,
    });
    let ev = NewEvent {
        event_type: EventType::DeliveryExhausted,
        account_id: &d.account_id,
        job_id: None,
        file_id: None,
        template_id: &TemplateChoice::Auto,
        about: d.destination_id.as_ref(),
        origin: Origin::System,
        data,
    };
    emit(txn, ev, None).await?;
    Ok(())
}

/// Stores an operational event about destination `d` for the account's other destinations.
pub async fn announce(
    db: &impl ConnectionTrait,
    d: &destinations::Model,
    event_type: EventType,
    reason: &str,
) -> Result<(), DbError> {
    let data = json!({
        "destination_id": d.id,
        "destination_type": d.kind,
        "reason": reason,
        "failing_since": d.failing_since.map(db::rfc3339),
        "consecutive_failures": d.consecutive_failures,
    });
    let ev = NewEvent {
        event_type,
        account_id: &d.account_id,
        job_id: None,
        file_id: None,
        template_id: &TemplateChoice::Auto,
        about: Some(&d.id),
        origin: Origin::System,
        data,
    };
    emit(db, ev, None).await?;
    Ok(())
}
