//! What the dispatcher claims next. Each target (a destination, or a
//! template's own webhook) has a lane of claimed deliveries; a lane that
//! holds enough is left out of claims. Claiming in due order past a full
//! lane walks over all of its target's due deliveries (thousands when one
//! receiver is slower than the rest), so while a lane is full the others are
//! refilled from their own target's index and the due order over every
//! other target is looked at only now and then, to find targets not seen yet.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::worker::Dispatcher;
use crate::db::deliveries::{self as q, Scope};
use crate::db::entities::deliveries::Model;
use crate::db::DbError;

/// Deliveries claimed in one round at most.
pub(super) const MAX_BATCH: usize = 64;

/// Targets refilled one by one at most; past that, one claim in due order.
const MAX_REFILLS: usize = 8;

/// How often targets not seen yet are looked for while a lane is full.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A target not claimed for this long is no longer refilled on its own.
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// How often at most a backlog has the database's statistics refreshed.
const STATISTICS_EVERY: Duration = Duration::from_secs(60);

/// Deliveries waiting in a lane at which its target is left out of claims:
/// four rounds of its senders. It is refilled when down to one round, so
/// its senders do not run dry and a refill claims three rounds at once.
fn full_lane(per_target: usize) -> usize {
    (4 * per_target).min(MAX_BATCH)
}

/// A lane's deliveries: being sent, and claimed to be sent next.
pub(super) struct Load {
    pub sending: usize,
    pub waiting: usize,
}

pub(super) struct Claimer {
    per_target: usize,
    /// Targets claimed for lately, with when.
    recent: HashMap<String, Instant>,
    swept: Instant,
    /// When this dispatcher last had the statistics refreshed.
    refreshed: Option<Instant>,
}

impl Claimer {
    pub fn new(per_target: usize) -> Self {
        Self {
            per_target,
            recent: HashMap::new(),
            swept: Instant::now(),
            refreshed: None,
        }
    }

    /// Claims up to `limit` deliveries for the lanes with room, given each
    /// lane's `loads`.
    pub async fn claim(
        &mut self,
        state: &Dispatcher,
        owner: &str,
        lease_ms: i64,
        loads: &HashMap<String, Load>,
        limit: u32,
    ) -> Result<Vec<Model>, DbError> {
        let now = Instant::now();
        self.recent.retain(|_, seen| now - *seen < FORGET_AFTER);
        let busy: Vec<String> = loads
            .iter()
            .filter(|(_, l)| self.is_full(l))
            .map(|(k, _)| k.clone())
            .collect();
        let db = &state.db;
        let claimed = if busy.is_empty() {
            q::claim_due(db, owner, lease_ms, Scope::Except(&[]), limit).await?
        } else {
            let room = self.room(loads);
            if room.len() > MAX_REFILLS {
                q::claim_due(db, owner, lease_ms, Scope::Except(&busy), limit).await?
            } else {
                self.refill(state, owner, lease_ms, &room, &busy, limit)
                    .await?
            }
        };
        for d in &claimed {
            self.recent.insert(q::target_key(d).to_string(), now);
        }
        // A full claim means a backlog: the planner should know of it.
        if claimed.len() >= limit as usize
            && self
                .refreshed
                .is_none_or(|at| at.elapsed() >= STATISTICS_EVERY)
        {
            self.refreshed = Some(now);
            let db = state.db.clone();
            tokio::spawn(async move {
                if let Err(e) = q::refresh_statistics(&db).await {
                    tracing::warn!(error = %e, "refreshing the deliveries' statistics failed");
                }
            });
        }
        Ok(claimed)
    }

    /// Whether a lane holds enough that its target is left out of claims.
    pub fn is_full(&self, load: &Load) -> bool {
        load.waiting >= full_lane(self.per_target)
    }

    /// Targets with lanes or claimed for lately that can take more, with how many.
    fn room(&self, loads: &HashMap<String, Load>) -> Vec<(String, u32)> {
        let full = full_lane(self.per_target);
        let mut keys: Vec<&String> = loads.keys().chain(self.recent.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let held = loads.get(k).map_or(0, |l| l.sending + l.waiting);
                let room = (full + self.per_target).saturating_sub(held);
                (room > 0 && !loads.get(k).is_some_and(|l| self.is_full(l)))
                    .then(|| (k.clone(), room as u32))
            })
            .collect()
    }

    /// Each target in `room` from its own index, then (now and then) any
    /// other target's. What was claimed before a failure is kept.
    async fn refill(
        &mut self,
        state: &Dispatcher,
        owner: &str,
        lease_ms: i64,
        room: &[(String, u32)],
        busy: &[String],
        limit: u32,
    ) -> Result<Vec<Model>, DbError> {
        let mut claimed = Vec::new();
        let mut left = limit;
        let sweep = self.swept.elapsed() >= SWEEP_EVERY;
        let skip: Vec<String> = busy
            .iter()
            .cloned()
            .chain(room.iter().map(|(k, _)| k.clone()))
            .collect();
        let scopes = room
            .iter()
            .map(|(k, n)| (Scope::Target(k), *n))
            .chain(sweep.then_some((Scope::Except(&skip), limit)));
        for (scope, n) in scopes {
            if left == 0 {
                break;
            }
            if matches!(scope, Scope::Except(_)) {
                self.swept = Instant::now();
            }
            match q::claim_due(&state.db, owner, lease_ms, scope, n.min(left)).await {
                Ok(got) => {
                    left -= got.len() as u32;
                    claimed.extend(got);
                }
                Err(e) if claimed.is_empty() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "claiming deliveries failed; sending those claimed");
                    break;
                }
            }
        }
        Ok(claimed)
    }
}
