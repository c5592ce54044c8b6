//! The delivery dispatcher: claims due deliveries in batches (leased, so
//! several processes can share the queue), sends each on its own task up to
//! the configured concurrency and at most `per_destination` at once to any
//! one target, so one slow receiver does not hold up the others, and hands
//! the outcomes to one writer that records them in batches ([`settle`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::attempt::{self, Plan, Prepared, Turn};
use super::claims::{Claimer, Load, MAX_BATCH};
use super::metrics::Metrics;
use super::sender::Sender;
use super::settle::{self, Settler};
use super::throttle;
use super::DeliveryError;
use crate::backoff::Backoff;
use crate::config::DeliverySettings;
use crate::crypto::SecretBox;
use crate::db::{self, deliveries as q, entities::deliveries};
use crate::stages::{Stage, Stages};
use crate::storage::BlobStore;
use crate::wake::Wake;

pub use super::settle::retry_delay;

/// What the dispatcher, its senders and its writer use.
#[derive(Clone)]
pub struct Dispatcher {
    pub(super) db: DatabaseConnection,
    pub(super) sender: Sender,
    /// Opens the targets' stored secrets.
    pub(super) secrets: SecretBox,
    /// Uploads are deleted once nothing needs them.
    pub(super) blobs: BlobStore,
    pub(super) settings: Arc<DeliverySettings>,
    /// Wakes the dispatcher when deliveries are queued (in any process, on PostgreSQL).
    pub(super) ready: Wake,
    pub(super) metrics: Metrics,
    pub(super) stages: Stages,
    /// Delays for deliveries whose target could not be read for a passing reason.
    backoff: Arc<Backoff>,
}

impl Dispatcher {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: DatabaseConnection,
        sender: Sender,
        secrets: SecretBox,
        blobs: BlobStore,
        settings: DeliverySettings,
        ready: Wake,
        metrics: Metrics,
        stages: Stages,
    ) -> Self {
        Self {
            db,
            sender,
            secrets,
            blobs,
            settings: Arc::new(settings),
            ready,
            metrics,
            stages,
            backoff: Arc::default(),
        }
    }
}

/// What one call of [`try_run_one`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Attempted,
    Idle,
}

/// Claims one due delivery, if any, makes its attempt and records it (for
/// tools and tests: [`run`] is the dispatcher with its concurrency).
pub async fn try_run_one(d: &Dispatcher, owner: &str) -> Result<Outcome, DeliveryError> {
    let claimed = q::claim_due(&d.db, owner, lease_ms(d), q::Scope::Except(&[]), 1).await?;
    if claimed.is_empty() {
        return Ok(Outcome::Idle);
    }
    for p in attempt::prepare(d, claimed).await? {
        if let Plan::Postpone(reason) = &p.plan {
            postpone(d, owner, &p.delivery, reason).await?;
            continue;
        }
        match attempt::send(d, p).await {
            Turn::Made(finished) => settle::record(d, owner, &[finished]).await?,
            Turn::Deferred(delivery, reason) => postpone(d, owner, &delivery, &reason).await?,
            Turn::Throttled(delivery) => wait_in_queue(d, owner, &delivery).await?,
        }
    }
    Ok(Outcome::Attempted)
}

/// Deliveries of one target: how many are being sent, and those claimed
/// beyond its cap (with when they were claimed), sent next by the tasks
/// already sending to it.
#[derive(Default)]
struct Lane {
    sending: usize,
    waiting: VecDeque<(Prepared, Instant)>,
}

impl Lane {
    fn load(&self) -> Load {
        Load {
            sending: self.sending,
            waiting: self.waiting.len(),
        }
    }
}

type Lanes = Arc<Mutex<HashMap<String, Lane>>>;

/// Runs until `token` is cancelled; in-flight sends and their recording are awaited by `tracker`.
pub async fn run(state: Dispatcher, token: CancellationToken, tracker: TaskTracker) {
    let owner = format!("dlv-{}", uuid::Uuid::new_v4().simple());
    let permits = Arc::new(Semaphore::new(state.settings.concurrency.max(1)));
    let per_target = state.settings.per_destination.max(1);
    let lanes: Lanes = Arc::default();
    let freed = Arc::new(Notify::new());
    let settler = Settler::start(&state, &owner, &tracker);
    let lease_ms = lease_ms(&state);
    let mut claimer = Claimer::new(per_target);
    // The last claim took everything due outside the busy lanes: claiming
    // again before new work or a free lane would only scan for nothing.
    let mut drained = false;
    loop {
        if token.is_cancelled() {
            break;
        }
        let free = permits.available_permits();
        if free == 0 {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = freed.notified() => continue,
            }
        }
        if std::mem::take(&mut drained) {
            let wait = idle_wait(&state).await;
            tokio::select! {
                _ = token.cancelled() => break,
                _ = freed.notified() => {}
                _ = state.ready.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let loads: HashMap<String, Load> = lanes
            .lock()
            .expect("lanes")
            .iter()
            .map(|(k, l)| (k.clone(), l.load()))
            .collect();
        let any_full = loads.values().any(|l| claimer.is_full(l));
        let limit = free.min(MAX_BATCH) as u32;
        let claiming = state.stages.start(Stage::DeliveryClaim);
        let claimed = match claimer.claim(&state, &owner, lease_ms, &loads, limit).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "claiming deliveries failed; backing off");
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if claimed.is_empty() {
            drop(claiming);
            // With targets at their limit, what is due may be theirs: wait for a slot instead of polling.
            let wait = if !any_full {
                idle_wait(&state).await
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                _ = token.cancelled() => break,
                _ = state.ready.notified() => {}
                _ = freed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        // Refills are cut to the lanes' room, so a short one says nothing of what is due.
        drained = !any_full && claimed.len() < limit as usize;
        let claimed_at = Instant::now();
        let ids: Vec<_> = claimed.iter().map(|d| d.id.clone()).collect();
        let prepared = match attempt::prepare(&state, claimed).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error.cause_chain = ?e, "loading claimed deliveries failed; giving them back");
                q::give_back(&state.db, &owner, &ids).await.ok();
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        drop(claiming);
        let mut overflow = Vec::new();
        for p in prepared {
            if let Plan::Postpone(reason) = &p.plan {
                if let Err(e) = postpone(&state, &owner, &p.delivery, reason).await {
                    tracing::warn!(error = %e, "postponing a delivery failed; its claim will expire");
                }
                continue;
            }
            state.backoff.succeeded(p.delivery.id.as_str());
            let key = q::target_key(&p.delivery).to_string();
            let mut map = lanes.lock().expect("lanes");
            let lane = map.entry(key.clone()).or_default();
            if lane.sending < per_target {
                if let Ok(permit) = permits.clone().try_acquire_owned() {
                    lane.sending += 1;
                    drop(map);
                    let seat = Seat {
                        key,
                        lanes: lanes.clone(),
                        freed: freed.clone(),
                        refill_at: per_target,
                        left: false,
                        _permit: permit,
                    };
                    tracker.spawn(send_lane(state.clone(), p, seat, settler.clone()));
                    continue;
                }
            }
            // Only behind a task that is sending to this target.
            if lane.sending > 0 && lane.waiting.len() < MAX_BATCH {
                lane.waiting.push_back((p, claimed_at));
            } else {
                overflow.push(p.delivery.id);
            }
        }
        if let Err(e) = q::give_back(&state.db, &owner, &overflow).await {
            tracing::warn!(error = %e, "giving deliveries back failed; their claims will expire");
        }
    }
}

/// Sends `first`, then whatever waits in its target's lane, holding one
/// permit. A waiting delivery is sent only while its claim has room for the
/// send and its recording; an older one is given back at once (only if the
/// claim is still the one this lane holds).
async fn send_lane(state: Dispatcher, first: Prepared, mut seat: Seat, settler: Settler) {
    let fresh_for = fresh_for(&state);
    let mut next = Some(first);
    while let Some(p) = next {
        match attempt::send(&state, p).await {
            Turn::Made(finished) => settler.send(finished),
            Turn::Deferred(delivery, reason) => {
                if let Err(e) = postpone(&state, settler.owner(), &delivery, &reason).await {
                    tracing::warn!(error = %e, "postponing a delivery failed; its claim will expire");
                }
            }
            Turn::Throttled(delivery) => {
                if let Err(e) = wait_in_queue(&state, settler.owner(), &delivery).await {
                    tracing::warn!(error = %e, "requeueing a throttled delivery failed; its claim will expire");
                }
            }
        }
        let mut stale = Vec::new();
        next = seat.next_fresh(fresh_for, &mut stale);
        for d in stale {
            let claim = d.lease_expires_at.unwrap_or_default();
            if let Err(e) = q::give_back_claim(&state.db, settler.owner(), &d.id, claim).await {
                tracing::warn!(error = %e, "giving a delivery back failed; its claim will expire");
            }
        }
    }
}

/// How long a delivery may wait in a lane after its claim: the claim
/// (`timeout` + 30 s) must still cover the send and 15 s to record it.
fn fresh_for(state: &Dispatcher) -> Duration {
    Duration::from_secs(15)
        .min(Duration::from_millis(lease_ms(state) as u64).saturating_sub(state.settings.timeout))
}

/// One sender's place in its lane; leaving it (also by a panic) counts the
/// sender out, so the lane never stays full of senders that are gone.
struct Seat {
    key: String,
    lanes: Lanes,
    freed: Arc<Notify>,
    /// Waiting deliveries left in the lane at which the dispatcher is told
    /// to claim for it again (it was left out of claims while full).
    refill_at: usize,
    /// Counted out already, under the same lock that found the lane empty,
    /// so that the dispatcher never queues behind a sender that is leaving.
    left: bool,
    _permit: OwnedSemaphorePermit,
}

impl Seat {
    /// The next delivery of the lane still fresh enough to send; older ones
    /// go to `stale`. With none left, the sender leaves the lane.
    fn next_fresh(
        &mut self,
        fresh_for: Duration,
        stale: &mut Vec<deliveries::Model>,
    ) -> Option<Prepared> {
        let mut map = self.lanes.lock().expect("lanes");
        let lane = map.get_mut(&self.key)?;
        while let Some((p, claimed_at)) = lane.waiting.pop_front() {
            if lane.waiting.len() == self.refill_at {
                self.freed.notify_one();
            }
            if claimed_at.elapsed() < fresh_for {
                return Some(p);
            }
            stale.push(p.delivery);
        }
        Self::leave(&mut map, &self.key);
        self.left = true;
        None
    }

    fn leave(map: &mut HashMap<String, Lane>, key: &str) {
        if let Some(lane) = map.get_mut(key) {
            lane.sending = lane.sending.saturating_sub(1);
            if lane.sending == 0 {
                // What still waits (only after a panic) is claimed again once its claim runs out.
                map.remove(key);
            }
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if !self.left {
            if let Ok(mut map) = self.lanes.lock() {
                Self::leave(&mut map, &self.key);
            }
        }
        self.freed.notify_one();
    }
}

async fn postpone(
    state: &Dispatcher,
    owner: &str,
    d: &deliveries::Model,
    reason: &str,
) -> Result<(), DeliveryError> {
    let wait = state.backoff.failed(d.id.as_str());
    tracing::warn!(delivery_id = %d.id, %reason, retry_in_ms = wait.as_millis() as u64, "delivery put back");
    let at = db::now_ms() + wait.as_millis() as i64;
    q::postpone(&state.db, &d.id, owner, at, reason).await?;
    Ok(())
}

/// Puts a delivery its destination's rate limit holds up back in the queue,
/// due again shortly, with no attempt counted and no backoff.
async fn wait_in_queue(
    state: &Dispatcher,
    owner: &str,
    d: &deliveries::Model,
) -> Result<(), DeliveryError> {
    let at = db::now_ms() + throttle::REQUEUE_FOR.as_millis() as i64;
    let reason = "waiting for its turn under the destination's rate limit";
    q::postpone(&state.db, &d.id, owner, at, reason).await?;
    Ok(())
}

/// How long a claimed delivery stays with its sender: one attempt's timeout and a margin.
pub(super) fn lease_ms(state: &Dispatcher) -> i64 {
    state.settings.timeout.as_millis() as i64 + 30_000
}

/// Sleep until the next delivery is due, but look again at least every
/// second (every 5 s where PostgreSQL announces new work).
async fn idle_wait(state: &Dispatcher) -> Duration {
    let cap = state.ready.idle_poll().max(Duration::from_secs(1));
    match q::next_due_at(&state.db).await {
        Ok(Some(at)) => {
            let ms = (at - db::now_ms()).clamp(5, cap.as_millis() as i64);
            Duration::from_millis(ms as u64)
        }
        _ => cap,
    }
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
