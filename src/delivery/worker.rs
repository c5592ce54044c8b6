//! The delivery dispatcher: claims due deliveries (leased, so several processes
//! can share the queue) and sends each on its own task, up to the configured
//! concurrency, so one slow receiver does not hold up the others.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::events::EventType;
use super::webhook;
use crate::db::{self, deliveries as q, entities::deliveries};
use crate::state::AppState;

/// Runs until `token` is cancelled; in-flight sends are awaited by `tracker`.
pub async fn run(state: AppState, token: CancellationToken, tracker: TaskTracker) {
    let owner = format!("dlv-{}", uuid::Uuid::new_v4().simple());
    let permits = Arc::new(Semaphore::new(state.settings.delivery.concurrency.max(1)));
    let lease_ms = (state.settings.delivery.timeout.as_millis() as i64) + 30_000;
    loop {
        let permit = tokio::select! {
            _ = token.cancelled() => break,
            p = permits.clone().acquire_owned() => p.expect("semaphore is never closed"),
        };
        match q::claim_due(&state.db, &owner, lease_ms).await {
            Ok(Some(d)) => {
                let state = state.clone();
                let owner = owner.clone();
                let span = tracing::info_span!("delivery", delivery_id = %d.id, event_id = %d.event_id, job_id = %d.job_id);
                tracker.spawn(
                    async move {
                        if let Err(e) = attempt(&state, &owner, d).await {
                            tracing::error!(error.cause_chain = ?e, "delivery attempt could not be recorded");
                        }
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            Ok(None) => {
                drop(permit);
                let wait = idle_wait(&state).await;
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = state.deliveries_ready.notified() => {}
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

/// The delay before retry number `attempts` (1-based), with ±10 % jitter; `None` when the schedule is spent.
pub fn retry_delay(
    schedule: &[Duration],
    attempts: usize,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let base = *schedule.get(attempts.checked_sub(1)?)?;
    let jitter = rand::thread_rng().gen_range(0.9..=1.1);
    let delay = base.mul_f64(jitter);
    // A receiver's Retry-After is honoured up to an hour.
    let floor = retry_after
        .map(|r| r.min(Duration::from_secs(3600)))
        .unwrap_or_default();
    Some(delay.max(floor))
}

async fn attempt(state: &AppState, owner: &str, d: deliveries::Model) -> anyhow::Result<()> {
    let target = match q::get_event(&state.db, &d.event_id).await? {
        None => Err("the event is no longer stored".to_string()),
        Some(ev) => match state.load_template(&d.template_id).await {
            Ok(t) => t
                .webhook
                .map(|hook| (ev, hook))
                .ok_or_else(|| "the template no longer has a webhook".to_string()),
            Err(e) => Err(format!("the template cannot be loaded: {e}")),
        },
    };
    let result = match target {
        Ok((ev, hook)) => {
            webhook::send(
                &state.http,
                &hook.url,
                &hook.secret,
                &ev.id,
                &hook.headers,
                ev.payload,
            )
            .await
        }
        Err(reason) => webhook::AttemptResult {
            status: None,
            latency: Duration::ZERO,
            body: None,
            error: Some(reason),
            retry_after: None,
        },
    };
    let attempts = d.attempts as usize + 1;
    tracing::info!(
        attempt = attempts,
        status = result.status,
        latency_ms = result.latency.as_millis() as u64,
        error = result.error.as_deref(),
        "delivery attempt"
    );
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
    if result.succeeded() {
        if q::settle(&state.db, &d.id, owner, q::SUCCEEDED, db::now_ms(), None).await? {
            release_upload_if_delivered(state, &d).await?;
        }
        return Ok(());
    }
    let schedule = &state.settings.delivery.retry_schedule;
    match retry_delay(schedule, attempts, result.retry_after) {
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
    Ok(())
}

/// Deletes a document's stored upload once every delivery of its `extraction.processed` succeeded.
async fn release_upload_if_delivered(
    state: &AppState,
    d: &deliveries::Model,
) -> anyhow::Result<()> {
    let Some(file_id) = &d.file_id else {
        return Ok(());
    };
    if d.event_type != EventType::ExtractionProcessed.as_str() {
        return Ok(());
    }
    if q::unsettled_for_file(&state.db, file_id, &d.event_type).await? > 0 {
        return Ok(());
    }
    if let Some(f) = db::jobs::get_file(&state.db, file_id).await? {
        if let Some(key) = &f.blob_key {
            state.blobs.delete(key).await?;
            db::jobs::clear_file_blob(&state.db, file_id).await?;
            tracing::debug!(file_id, "upload deleted after delivery");
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
        let first = retry_delay(&s, 1, None).unwrap();
        assert!(first >= Duration::from_millis(4500) && first <= Duration::from_millis(5500));
        assert!(retry_delay(&s, 2, None).unwrap() >= Duration::from_secs(27));
        assert_eq!(retry_delay(&s, 3, None), None);
        assert_eq!(retry_delay(&s, 0, None), None);
        let honoured = retry_delay(&s, 1, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(honoured, Duration::from_secs(60));
    }
}
