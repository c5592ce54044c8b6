//! The delivery dispatcher: claims due deliveries (leased, so several processes
//! can share the queue) and sends each on its own task, up to the configured
//! concurrency, so one slow receiver does not hold up the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::dispatch::{self, Outgoing};
use super::metrics;
use super::webhook::AttemptResult;
use crate::db::{self, deliveries as q, entities::deliveries, entities::destinations};
use crate::destinations::Config;
use crate::error::AppError;
use crate::outbound::EventType;
use crate::state::AppState;
use crate::templates::service::Webhook;
use crate::transient::Backoff;

/// Delays for deliveries whose target could not be read for a passing reason.
static BACKOFF: std::sync::LazyLock<Backoff> = std::sync::LazyLock::new(Backoff::default);

/// What one call of [`try_run_one`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Attempted,
    Idle,
}

/// Claims one due delivery, if any, and makes its attempt (for tools and tests:
/// [`run`] is the dispatcher with its concurrency).
pub async fn try_run_one(state: &AppState, owner: &str) -> anyhow::Result<Outcome> {
    match q::claim_due(&state.db, owner, lease_ms(state), &[]).await? {
        Some(d) => {
            attempt(state, owner, d).await?;
            Ok(Outcome::Attempted)
        }
        None => Ok(Outcome::Idle),
    }
}

/// Runs until `token` is cancelled; in-flight sends are awaited by `tracker`.
pub async fn run(state: AppState, token: CancellationToken, tracker: TaskTracker) {
    let owner = format!("dlv-{}", uuid::Uuid::new_v4().simple());
    let permits = Arc::new(Semaphore::new(state.settings.delivery.concurrency.max(1)));
    let per_target = state.settings.delivery.per_destination.max(1);
    let in_flight: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let freed = Arc::new(Notify::new());
    let lease_ms = lease_ms(&state);
    loop {
        let permit = tokio::select! {
            _ = token.cancelled() => break,
            p = permits.clone().acquire_owned() => p.expect("semaphore is never closed"),
        };
        let busy: Vec<String> = in_flight
            .lock()
            .expect("in-flight map")
            .iter()
            .filter(|(_, n)| **n >= per_target)
            .map(|(k, _)| k.clone())
            .collect();
        match q::claim_due(&state.db, &owner, lease_ms, &busy).await {
            Ok(Some(d)) => {
                let key = q::target_key(&d).to_string();
                *in_flight
                    .lock()
                    .expect("in-flight map")
                    .entry(key.clone())
                    .or_default() += 1;
                let (state, owner, in_flight, freed) = (
                    state.clone(),
                    owner.clone(),
                    in_flight.clone(),
                    freed.clone(),
                );
                let span = tracing::info_span!("delivery", delivery_id = %d.id, event_id = %d.event_id, job_id = %d.job_id);
                tracker.spawn(
                    async move {
                        if let Err(e) = attempt(&state, &owner, d).await {
                            tracing::error!(error.cause_chain = ?e, "delivery attempt could not be recorded");
                        }
                        let mut map = in_flight.lock().expect("in-flight map");
                        if let Some(n) = map.get_mut(&key) {
                            *n -= 1;
                            if *n == 0 {
                                map.remove(&key);
                            }
                        }
                        drop(map);
                        drop(permit);
                        freed.notify_one();
                    }
                    .instrument(span),
                );
            }
            Ok(None) => {
                drop(permit);
                // With targets at their limit, what is due may be theirs: wait for a slot instead of polling.
                let wait = if busy.is_empty() {
                    idle_wait(&state).await
                } else {
                    Duration::from_secs(1)
                };
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = state.deliveries_ready.notified() => {}
                    _ = freed.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            Err(e) => {
                drop(permit);
                tracing::warn!(error = %e, "claiming deliveries failed; backing off");
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// How long a claimed delivery stays with its sender: one attempt's timeout and a margin.
fn lease_ms(state: &AppState) -> i64 {
    state.settings.delivery.timeout.as_millis() as i64 + 30_000
}

/// Sleep until the next delivery is due, but poll at least every second for other processes' work.
async fn idle_wait(state: &AppState) -> Duration {
    let cap = Duration::from_secs(1);
    match q::next_due_at(&state.db).await {
        Ok(Some(at)) => {
            let ms = (at - db::now_ms()).clamp(5, cap.as_millis() as i64);
            Duration::from_millis(ms as u64)
        }
        _ => cap,
    }
}

/// The delay before retry number `attempts` (1-based), with ±10 % jitter; `None`
/// when the schedule is spent. A throttled receiver (429, 503, timeout) gets
/// twice the delay; its `Retry-After` is honoured up to an hour.
pub fn retry_delay(
    schedule: &[Duration],
    attempts: usize,
    retry_after: Option<Duration>,
    throttled: bool,
) -> Option<Duration> {
    let base = *schedule.get(attempts.checked_sub(1)?)?;
    let jitter = rand::thread_rng().gen_range(0.9..=1.1);
    let delay = base.mul_f64(if throttled { 2.0 * jitter } else { jitter });
    let floor = retry_after
        .map(|r| r.min(Duration::from_secs(3600)))
        .unwrap_or_default();
    Some(delay.max(floor))
}

/// Where a delivery goes, resolved at attempt time so edits and rotations apply to retries.
enum Target {
    TemplateWebhook(Box<Webhook>),
    Destination(Box<(destinations::Model, Config)>),
}

/// Why a delivery has no target now.
enum Unresolved {
    /// Gone for good (deleted, disabled, no webhook any more): retrying cannot help.
    Final(String),
    /// The database could not be read: the delivery waits and is tried again.
    Passing(String),
}

async fn resolve(state: &AppState, d: &deliveries::Model) -> Result<Target, Unresolved> {
    use Unresolved::{Final, Passing};
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
                if crate::transient::is_transient(&e) {
                    Err(Passing(format!("the template cannot be loaded now: {e:#}")))
                } else {
                    Err(Final(format!("the template cannot be read: {e:#}")))
                }
            }
        },
        Some(id) => {
            let dest = db::destinations::get_any(&state.db, id)
                .await
                .map_err(|e| {
                    let reason = format!("the destination cannot be loaded now: {e}");
                    if crate::transient::is_transient(&anyhow::Error::new(e)) {
                        Passing(reason)
                    } else {
                        Final(reason)
                    }
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

async fn attempt(state: &AppState, owner: &str, d: deliveries::Model) -> anyhow::Result<()> {
    let target = match q::get_event(&state.db, &d.event_id).await? {
        None => Err(Unresolved::Final("the event is no longer stored".into())),
        Some(ev) => resolve(state, &d).await.map(|t| (ev, t)),
    };
    let target = match target {
        Err(Unresolved::Passing(reason)) => {
            let wait = BACKOFF.failed(&d.id);
            tracing::warn!(%reason, retry_in_ms = wait.as_millis() as u64, "delivery put back");
            let at = db::now_ms() + wait.as_millis() as i64;
            q::postpone(&state.db, &d.id, owner, at, &reason).await?;
            return Ok(());
        }
        Err(Unresolved::Final(reason)) => Err(reason),
        Ok(t) => {
            BACKOFF.succeeded(&d.id);
            Ok(t)
        }
    };
    // A target that is gone for good ends the delivery now; retrying cannot help.
    let final_failure = target.is_err();
    let mut destination = None;
    let (kind, result) = match target {
        Ok((ev, Target::TemplateWebhook(hook))) => {
            let out = Outgoing {
                event_id: &ev.id,
                event_type: &ev.event_type,
                created_at: ev.created_at,
                file_id: ev.file_id.as_deref(),
                stored_body: &ev.payload,
                seed_keys: true,
            };
            let r = dispatch::send(state, &Config::Webhook(hook.config), out).await;
            ("template_webhook", r)
        }
        Ok((ev, Target::Destination(boxed))) => {
            let (dest, config) = *boxed;
            let out = Outgoing {
                event_id: &ev.id,
                event_type: &ev.event_type,
                created_at: ev.created_at,
                file_id: ev.file_id.as_deref(),
                stored_body: &ev.payload,
                seed_keys: false,
            };
            let r = dispatch::send(state, &config, out).await;
            destination = Some(dest);
            (config.kind(), r)
        }
        Err(reason) => ("unresolved", AttemptResult::failed(reason)),
    };
    let attempts = d.attempts as usize + 1;
    tracing::info!(
        attempt = attempts,
        status = result.status,
        latency_ms = result.latency.as_millis() as u64,
        error = result.error.as_deref(),
        "delivery attempt"
    );
    metrics::observe_attempt(kind, result.ok, result.latency);
    q::record_attempt(
        &state.db,
        q::Attempt {
            delivery_id: &d.id,
            status_code: result.status.map(i64::from),
            latency_ms: result.latency.as_millis() as i64,
            response_body: result.body.clone(),
            error: result.error.clone(),
        },
    )
    .await?;
    let failing_since = match &destination {
        Some(dest) => db::destinations::note_outcome(&state.db, dest, result.ok).await?,
        None => None,
    };
    if result.ok {
        if q::settle(&state.db, &d.id, owner, q::SUCCEEDED, db::now_ms(), None).await? {
            release_upload_if_delivered(state, &d).await?;
        }
        return Ok(());
    }
    let schedule = &state.settings.delivery.retry_schedule;
    let delay = retry_delay(schedule, attempts, result.retry_after, result.throttled)
        .filter(|_| !final_failure && !result.gone);
    match delay {
        Some(delay) => {
            let next = db::now_ms() + delay.as_millis() as i64;
            q::settle(
                &state.db,
                &d.id,
                owner,
                q::PENDING,
                next,
                result.error.as_deref(),
            )
            .await?;
        }
        None => {
            tracing::warn!(attempts, "delivery dead-lettered");
            q::settle(
                &state.db,
                &d.id,
                owner,
                q::FAILED,
                db::now_ms(),
                result.error.as_deref(),
            )
            .await?;
        }
    }
    if let Some(dest) = destination {
        let disable_after = state.settings.delivery.disable_after.as_millis() as i64;
        let reason = if result.gone {
            Some("the receiver answered 410 Gone".to_string())
        } else {
            failing_since
                .filter(|since| db::now_ms() - since >= disable_after)
                .map(|since| format!("every attempt failed since {}", crate::db::rfc3339(since)))
        };
        if let Some(reason) = reason {
            tracing::warn!(destination_id = %dest.id, %reason, "destination disabled");
            db::destinations::disable(&state.db, &dest.id, &reason).await?;
        }
    }
    Ok(())
}

/// Deletes a document's stored upload once every delivery of its `extraction.processed` succeeded.
async fn release_upload_if_delivered(
    state: &AppState,
    d: &deliveries::Model,
) -> anyhow::Result<()> {
    let wants_document = [
        EventType::ExtractionProcessed,
        EventType::ExtractionConfirmed,
    ]
    .iter()
    .any(|e| e.as_str() == d.event_type);
    match &d.file_id {
        Some(file_id) if wants_document => release_upload(state, file_id).await,
        _ => Ok(()),
    }
}

/// Deletes a document's upload when nothing needs it any more: every delivery
/// of its `extraction.processed` and `extraction.confirmed` (an S3 destination
/// may write the document) is settled, and its result does not wait for a
/// reviewer (who is shown its pages) to confirm it.
pub async fn release_upload(state: &AppState, file_id: &str) -> anyhow::Result<()> {
    for event in [
        EventType::ExtractionProcessed,
        EventType::ExtractionConfirmed,
    ] {
        if q::unsettled_for_file(&state.db, file_id, event.as_str()).await? > 0 {
            return Ok(());
        }
    }
    if let Some(f) = db::jobs::get_file(&state.db, file_id).await? {
        if matches!(f.result_status.as_deref(), Some("needs_review" | "edited")) {
            return Ok(());
        }
        if let Some(key) = &f.blob_key {
            state.blobs.delete(key).await?;
            db::jobs::clear_file_blob(&state.db, file_id).await?;
            tracing::debug!(file_id, "upload deleted");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_schedule_with_jitter_and_end() {
        let s = [Duration::from_secs(5), Duration::from_secs(30)];
        let first = retry_delay(&s, 1, None, false).unwrap();
        assert!(first >= Duration::from_millis(4500) && first <= Duration::from_millis(5500));
        assert!(retry_delay(&s, 2, None, false).unwrap() >= Duration::from_secs(27));
        assert_eq!(retry_delay(&s, 3, None, false), None);
        assert_eq!(retry_delay(&s, 0, None, false), None);
        let honoured = retry_delay(&s, 1, Some(Duration::from_secs(60)), false).unwrap();
        assert_eq!(honoured, Duration::from_secs(60));
        let capped = retry_delay(&s, 1, Some(Duration::from_secs(86_400)), false).unwrap();
        assert_eq!(capped, Duration::from_secs(3600));
        let throttled = retry_delay(&s, 1, None, true).unwrap();
        assert!(throttled >= Duration::from_secs(9));
    }
}
