//! Review locks (SPEC §3): the holder alone edits or confirms a job's
//! results; others get 409 naming the holder; a lock lapses unless renewed.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::lifecycle::{event, state};
use super::views::JobState;
use super::{JobError, Jobs};
use crate::db::lifecycle::Unlock;
use crate::db::{self, entities::jobs, rfc3339};
use crate::types::{AccountId, Actor, EventType, JobId};

/// The 409 for a review by someone who does not hold the job's lock.
fn lock_refused(job: &JobId, holder: Option<&str>, until: Option<i64>) -> JobError {
    JobError::Locked {
        job: job.clone(),
        holder: Actor::describe(holder.unwrap_or("someone")),
        until: until.map(rfc3339).unwrap_or_else(|| "it is dropped".into()),
    }
}

impl Jobs {
    /// Takes (or renews) the job's review lock for `actor`, or drops it.
    pub async fn lock(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        locked: bool,
        actor: &Actor,
    ) -> Result<JobState, JobError> {
        let job = self.live(account_id, job_id).await?;
        let now = db::now_ms();
        let me = actor.name();
        let webhook = self.job_webhook(&job).await;
        let txn = self.db.begin().await?;
        if locked {
            let until = now + self.limits.review_lock.as_millis() as i64;
            let fresh = state(&job, now).locked_by.is_none_or(|h| h != me);
            match db::lifecycle::lock(&txn, &job.id, &me, now, until).await? {
                Some((holder, _)) if holder == me => {}
                // Named as it is now: someone may have taken it since the job was read.
                other => {
                    let (holder, until) = other.unzip();
                    return Err(lock_refused(&job.id, holder.as_deref(), until.flatten()));
                }
            }
            if fresh {
                let data = json!({"holder": me, "expires_at": rfc3339(until)});
                self.announce(
                    &txn,
                    webhook.as_ref(),
                    vec![event(&job, None, EventType::BatchLocked, actor, data)],
                )
                .await?;
            }
        } else {
            let current = state(&job, now).locked_by;
            if current.as_ref().is_some_and(|h| *h != me) {
                return Err(lock_refused(
                    &job.id,
                    job.lock_holder.as_deref(),
                    job.lock_expires_at,
                ));
            }
            let mine = Unlock::By(&me);
            if db::lifecycle::unlock(&txn, &job.id, mine).await? && current.is_some() {
                let data = json!({"holder": me});
                self.announce(
                    &txn,
                    webhook.as_ref(),
                    vec![event(&job, None, EventType::BatchUnlocked, actor, data)],
                )
                .await?;
            }
        }
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        let job = self.owned(account_id, job_id).await?;
        Ok(state(&job, db::now_ms()))
    }

    /// Refuses a review by anyone but the holder of a lock that still lasts.
    pub(super) fn check_lock(&self, job: &jobs::Model, actor: &Actor) -> Result<(), JobError> {
        match state(job, db::now_ms()).locked_by {
            Some(h) if h != actor.name() => {
                Err(lock_refused(&job.id, Some(&h), job.lock_expires_at))
            }
            _ => Ok(()),
        }
    }

    /// Ends lapsed locks, each with its `batch.unlocked` by the system; returns how many.
    pub async fn end_lapsed_locks(&self) -> Result<usize, JobError> {
        let now = db::now_ms();
        let lapsed = db::lifecycle::lapsed_locks(&self.db, now, 100).await?;
        let mut n = 0;
        for job in lapsed {
            let webhook = self.job_webhook(&job).await;
            let txn = self.db.begin().await?;
            if db::lifecycle::unlock(&txn, &job.id, Unlock::LapsedBefore(now)).await? {
                let data = json!({"holder": job.lock_holder, "lapsed": true});
                self.announce(
                    &txn,
                    webhook.as_ref(),
                    vec![event(
                        &job,
                        None,
                        EventType::BatchUnlocked,
                        &Actor::System,
                        data,
                    )],
                )
                .await?;
                n += 1;
            }
            txn.commit().await?;
        }
        if n > 0 {
            self.deliveries_ready.notify_one();
        }
        Ok(n)
    }
}
