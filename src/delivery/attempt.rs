//! One attempt of a claimed delivery: its event and its target, loaded once
//! per claimed batch, then the send. Targets are resolved at attempt time so
//! that edits, rotations and disabling apply to retries.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;

use super::sender::Outgoing;
use super::sent::{Deferred, Sent};
use super::throttle;
use super::worker::Dispatcher;
use super::DeliveryError;
use crate::db::{
    self, deliveries as q, entities::deliveries, entities::destinations, entities::events, DbError,
};
use crate::outbound::links::DEFAULT_MAX_PAYLOAD_BYTES;
use crate::stages::Stage;
use crate::targets::{self, Config, TargetError, TemplateWebhook};
use crate::types::{DestinationId, EventId};

/// Where a delivery goes.
pub(super) enum Target {
    TemplateWebhook(Box<TemplateWebhook>),
    Destination(Box<(destinations::Model, Config)>),
}

/// What to do with a claimed delivery.
pub(super) enum Plan {
    Send(Arc<events::Model>, Arc<Target>),
    /// Gone for good (deleted, disabled, no webhook any more): the attempt
    /// fails with this reason and the delivery ends; retrying cannot help.
    Fail(String),
    /// The database could not be read: the delivery waits and is tried again.
    Postpone(String),
}

pub(super) struct Prepared {
    pub delivery: deliveries::Model,
    pub plan: Plan,
}

/// A sent (or failed) attempt, waiting to be recorded.
pub(super) struct Finished {
    pub delivery: deliveries::Model,
    pub result: Sent,
    pub attempted_at: i64,
    /// The destination it went to (none for a template's webhook).
    pub destination: Option<DestinationId>,
    /// Its destination was in a run of failures when the batch was claimed.
    pub was_failing: bool,
    /// The target is gone: no retry.
    pub final_failure: bool,
}

/// Loads the batch's events in one query and each distinct target once,
/// all at the same time: the dispatcher waits on this before it can send.
pub(super) async fn prepare(
    state: &Dispatcher,
    batch: Vec<deliveries::Model>,
) -> Result<Vec<Prepared>, DeliveryError> {
    let ids = batch.iter().map(|d| d.event_id.clone());
    let mut firsts: Vec<&deliveries::Model> = Vec::new();
    for d in &batch {
        if !firsts.iter().any(|f| q::target_key(f) == q::target_key(d)) {
            firsts.push(d);
        }
    }
    // A few targets at a time: a batch may name many, and the pool is shared.
    let lookups: Vec<_> = firsts.iter().map(|d| resolve(state, d)).collect();
    let targets = futures_util::stream::iter(lookups)
        .buffered(4)
        .collect::<Vec<_>>();
    let (events, resolved) = tokio::join!(q::events_by_id(&state.db, ids), targets);
    let events: HashMap<EventId, Arc<events::Model>> = events?
        .into_iter()
        .map(|e| (e.id.clone(), Arc::new(e)))
        .collect();
    let targets: HashMap<String, Result<Arc<Target>, Unresolved>> = firsts
        .iter()
        .map(|d| q::target_key(d).to_string())
        .zip(resolved.into_iter().map(|r| r.map(Arc::new)))
        .collect();
    let mut prepared = Vec::with_capacity(batch.len());
    for d in batch {
        let plan = match (events.get(&d.event_id), &targets[q::target_key(&d)]) {
            (None, _) => Plan::Fail("the event is no longer stored".into()),
            (_, Err(Unresolved::Final(reason))) => Plan::Fail(reason.clone()),
            (_, Err(Unresolved::Passing(reason))) => Plan::Postpone(reason.clone()),
            (Some(ev), Ok(target)) => Plan::Send(ev.clone(), target.clone()),
        };
        prepared.push(Prepared { delivery: d, plan });
    }
    Ok(prepared)
}

/// Why a delivery has no target now.
enum Unresolved {
    Final(String),
    Passing(String),
}

/// Final or passing, by whose fault reading the target failed.
fn unresolved(reason: String, passing: bool) -> Unresolved {
    if passing {
        Unresolved::Passing(reason)
    } else {
        Unresolved::Final(reason)
    }
}

async fn resolve(state: &Dispatcher, d: &deliveries::Model) -> Result<Target, Unresolved> {
    use Unresolved::Final;
    let db_failed = |what: &str, e: DbError| {
        let passing = e.blame().is_retryable();
        unresolved(format!("the {what} cannot be loaded now: {e}"), passing)
    };
    let unreadable = |what: &str, e: TargetError| Final(format!("the {what} cannot be used: {e}"));
    match &d.destination_id {
        None => {
            let id = d
                .template_id
                .fixed()
                .ok_or_else(|| Final("the delivery names no template".into()))?;
            let template = db::templates::get_any(&state.db, id)
                .await
                .map_err(|e| db_failed("template", e))?
                .ok_or_else(|| {
                    Final(format!(
                        "the template cannot be used: template {id} not found"
                    ))
                })?;
            TemplateWebhook::of(&template, &state.secrets)
                .map_err(|e| unreadable("template", e))?
                .map(|w| Target::TemplateWebhook(Box::new(w)))
                .ok_or_else(|| Final("the template no longer has a webhook".into()))
        }
        Some(id) => {
            let dest = db::destinations::get_any(&state.db, id)
                .await
                .map_err(|e| db_failed("destination", e))?
                .ok_or_else(|| Final("the destination no longer exists".into()))?;
            if dest.deleted_at.is_some() {
                return Err(Final("the destination was deleted".into()));
            }
            if dest.enabled == 0 {
                return Err(Final(format!(
                    "destination disabled: {}",
                    dest.disabled_reason.as_deref().unwrap_or("by the account")
                )));
            }
            let config = targets::open_destination(&dest, &state.secrets)
                .map_err(|e| Final(format!("the destination cannot be opened: {e}")))?;
            Ok(Target::Destination(Box::new((dest, config))))
        }
    }
}

/// What came of a claimed delivery's turn.
pub(super) enum Turn {
    /// The attempt was made (or failed for good without one), to be recorded.
    Made(Finished),
    /// Our side could not make it now: the delivery is put back, no attempt counted.
    Deferred(deliveries::Model, String),
    /// Its destination's rate limit has no slot soon: the delivery waits in the queue.
    Throttled(deliveries::Model),
}

/// Makes the attempt; `plan` is `Send` or `Fail`.
pub(super) async fn send(state: &Dispatcher, p: Prepared) -> Turn {
    let attempted_at = db::now_ms();
    let d = p.delivery;
    let was_failing = match &p.plan {
        Plan::Send(_, target) => match &**target {
            Target::Destination(boxed) => {
                let dest = &boxed.0;
                dest.failing_since.is_some() || dest.consecutive_failures != 0
            }
            Target::TemplateWebhook(_) => false,
        },
        _ => false,
    };
    let made = match p.plan {
        Plan::Send(ev, target) => {
            let out = |seed_keys, max_body: Option<i64>| Outgoing {
                event_id: &ev.id,
                event_type: ev.event_type,
                created_at: ev.created_at,
                file_id: ev.file_id.as_ref(),
                stored_body: &ev.payload,
                seed_keys,
                max_body: max_body
                    .map_or(DEFAULT_MAX_PAYLOAD_BYTES as usize, |n| n.max(0) as usize),
            };
            let sender = &state.sender;
            match &*target {
                Target::TemplateWebhook(hook) => {
                    let config = Config::Webhook(hook.config.clone());
                    let sending = sender.send(&config, out(true, None));
                    let r = state.stages.time(Stage::Send, sending).await;
                    r.map(|r| ("template_webhook", r, None, false))
                }
                Target::Destination(boxed) => {
                    let (dest, config) = &**boxed;
                    if let Some(per_second) = dest.rate_limit {
                        match throttle::wait_turn(state, &dest.id, per_second).await {
                            Ok(throttle::Turn::Go) => {}
                            Ok(throttle::Turn::Later) => return Turn::Throttled(d),
                            Err(e) => {
                                let reason = format!("the rate limit cannot be read now: {e}");
                                return Turn::Deferred(d, reason);
                            }
                        }
                    }
                    let sending = sender.send(config, out(false, dest.max_payload_bytes));
                    let r = state.stages.time(Stage::Send, sending).await;
                    r.map(|r| (config.kind().as_str(), r, Some(dest.id.clone()), false))
                }
            }
        }
        Plan::Fail(reason) | Plan::Postpone(reason) => {
            Ok(("unresolved", Sent::not_made(reason), None, true))
        }
    };
    let (kind, result, destination, final_failure) = match made {
        Ok(made) => made,
        Err(Deferred(reason)) => return Turn::Deferred(d, reason),
    };
    tracing::info!(
        delivery_id = %d.id,
        event_id = %d.event_id,
        attempt = d.attempts + 1,
        status = result.status(),
        latency_ms = result.latency.as_millis() as u64,
        error = result.error(),
        "delivery attempt"
    );
    state
        .metrics
        .observe_attempt(kind, result.is_delivered(), result.latency);
    Turn::Made(Finished {
        delivery: d,
        result,
        attempted_at,
        destination,
        was_failing,
        final_failure,
    })
}
