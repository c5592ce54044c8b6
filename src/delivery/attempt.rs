//! One attempt of a claimed delivery: its event and its target, loaded once
//! per claimed batch, then the send. Targets are resolved at attempt time so
//! that edits, rotations and disabling apply to retries.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;

use super::dispatch::{self, Outgoing};
use super::metrics;
use super::webhook::AttemptResult;
use crate::db::{
    self, deliveries as q, entities::deliveries, entities::destinations, entities::events,
};
use crate::destinations::Config;
use crate::error::AppError;
use crate::stages::Stage;
use crate::state::AppState;
use crate::templates::service::Webhook;

/// Where a delivery goes.
pub(super) enum Target {
    TemplateWebhook(Box<Webhook>),
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
    pub result: AttemptResult,
    pub attempted_at: i64,
    pub destination: Option<destinations::Model>,
    /// The target is gone: no retry.
    pub final_failure: bool,
}

/// Loads the batch's events in one query and each distinct target once,
/// all at the same time: the dispatcher waits on this before it can send.
pub(super) async fn prepare(
    state: &AppState,
    batch: Vec<deliveries::Model>,
) -> anyhow::Result<Vec<Prepared>> {
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
    let events: HashMap<String, Arc<events::Model>> = events?
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

async fn resolve(state: &AppState, d: &deliveries::Model) -> Result<Target, Unresolved> {
    use Unresolved::{Final, Passing};
    let passing_or_final = |reason: String, e: anyhow::Error| {
        if crate::transient::is_transient(&e) {
            Passing(reason)
        } else {
            Final(reason)
        }
    };
    match &d.destination_id {
        None => match state.load_template(&d.template_id).await {
            Ok(t) => t
                .webhook
                .map(|w| Target::TemplateWebhook(Box::new(w)))
                .ok_or_else(|| Final("the template no longer has a webhook".into())),
            Err(e @ (AppError::NotFound(_) | AppError::Unprocessable(_))) => {
                Err(Final(format!("the template cannot be used: {e}")))
            }
            Err(e) => {
                let e = anyhow::Error::new(e);
                Err(passing_or_final(
                    format!("the template cannot be loaded now: {e:#}"),
                    e,
                ))
            }
        },
        Some(id) => {
            let dest = db::destinations::get_any(&state.db, id)
                .await
                .map_err(|e| {
                    let reason = format!("the destination cannot be loaded now: {e}");
                    passing_or_final(reason, anyhow::Error::new(e))
                })?
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
            let config = state
                .open_destination(&dest)
                .map_err(|e| Final(format!("the destination cannot be opened: {e}")))?;
            Ok(Target::Destination(Box::new((dest, config))))
        }
    }
}

/// Makes the attempt; `plan` is `Send` or `Fail`.
pub(super) async fn send(state: &AppState, p: Prepared) -> Finished {
    let attempted_at = db::now_ms();
    let d = p.delivery;
    let (kind, result, destination, final_failure) = match p.plan {
        Plan::Send(ev, target) => {
            let out = |seed_keys| Outgoing {
                event_id: &ev.id,
                event_type: &ev.event_type,
                created_at: ev.created_at,
                file_id: ev.file_id.as_deref(),
                stored_body: &ev.payload,
                seed_keys,
            };
            match &*target {
                Target::TemplateWebhook(hook) => {
                    let config = Config::Webhook(hook.config.clone());
                    let r = Stage::Send
                        .time(dispatch::send(state, &config, out(true)))
                        .await;
                    ("template_webhook", r, None, false)
                }
                Target::Destination(boxed) => {
                    let (dest, config) = &**boxed;
                    let r = Stage::Send
                        .time(dispatch::send(state, config, out(false)))
                        .await;
                    (config.kind(), r, Some(dest.clone()), false)
                }
            }
        }
        Plan::Fail(reason) | Plan::Postpone(reason) => {
            ("unresolved", AttemptResult::failed(reason), None, true)
        }
    };
    tracing::info!(
        delivery_id = %d.id,
        event_id = %d.event_id,
        attempt = d.attempts + 1,
        status = result.status,
        latency_ms = result.latency.as_millis() as u64,
        error = result.error.as_deref(),
        "delivery attempt"
    );
    metrics::observe_attempt(kind, result.ok, result.latency);
    Finished {
        delivery: d,
        result,
        attempted_at,
        destination,
        final_failure,
    }
}
