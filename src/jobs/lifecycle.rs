//! Xtracta's document and batch actions (SPEC §3): the recycle bin, erasure,
//! hold and release (review locks are [`super::locks`]). Each emits its
//! event with the caller's origin in the transaction that makes it true.

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{json, Value};

use super::views::JobState;
use super::{JobError, Jobs};
use crate::audit::Object;
use crate::db::{self, entities::files, entities::jobs, erasure, rfc3339};
use crate::delivery::{self, NewEvent};
use crate::storage::keys;
use crate::targets::TemplateWebhook;
use crate::types::{AccountId, Actor, EventType, FileId, JobId};

/// How a deletion goes: to the recycle bin, or erased at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    ToBin,
    Erase,
}

pub(super) fn state(job: &jobs::Model, now: i64) -> JobState {
    let lock = job
        .lock_holder
        .as_ref()
        .zip(job.lock_expires_at)
        .filter(|(_, until)| *until > now);
    JobState {
        job_id: job.id.clone(),
        deleted: job.deleted_at.is_some(),
        held: job.held_at.is_some(),
        locked_by: lock.map(|(h, _)| h.clone()),
        lock_expires_at: lock.map(|(_, until)| rfc3339(until)),
    }
}

/// An event about a job, or one of its documents, with ids only: nothing
/// of an erased document's content may travel in its obituary.
pub(super) fn event<'a>(
    job: &'a jobs::Model,
    file: Option<&'a FileId>,
    t: EventType,
    actor: &Actor,
    data: Value,
) -> NewEvent<'a> {
    let mut body = json!({"job_id": job.id, "template_id": job.template_id});
    if let Some(f) = file {
        body["file_id"] = json!(f);
    }
    if let (Value::Object(extra), Some(out)) = (data, body.as_object_mut()) {
        out.extend(extra);
    }
    NewEvent {
        event_type: t,
        account_id: &job.account_id,
        job_id: Some(&job.id),
        file_id: file,
        template_id: &job.template_id,
        about: None,
        origin: actor.origin(),
        data: body,
    }
}

/// The audit row of a lifecycle action on a job or one of its documents.
async fn audited(
    jobs: &Jobs,
    txn: &impl ConnectionTrait,
    job: &jobs::Model,
    file: Option<&FileId>,
    actor: &Actor,
    member: &str,
    now: bool,
) -> Result<(), JobError> {
    let action = match (member, now) {
        ("deleted", false) => "restored",
        _ => member,
    };
    let (kind, id) = match file {
        Some(f) => ("document", f.to_string()),
        None => ("job", job.id.to_string()),
    };
    let mut changes = serde_json::Map::new();
    changes.insert(member.into(), json!({"before": !now, "after": now}));
    let action = format!("{kind}.{action}");
    let object = Object { kind, id };
    jobs.audit
        .record_in(txn, &job.account_id, actor, &action, object, changes)
        .await?;
    Ok(())
}

impl Jobs {
    /// The template webhook a job's events also go to, if its template has one.
    pub(super) async fn job_webhook(&self, job: &jobs::Model) -> Option<TemplateWebhook> {
        let id = job.template_id.fixed()?;
        match self.templates.load(id).await {
            Ok(t) => t.webhook,
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "the job's template could not be read; its own webhook is not told");
                None
            }
        }
    }

    /// Stores the events in `txn`. The template's webhook is read before
    /// the transaction opens: on SQLite's one connection, a read beside an
    /// open transaction would wait for it.
    pub(super) async fn announce(
        &self,
        txn: &impl ConnectionTrait,
        webhook: Option<&TemplateWebhook>,
        evs: Vec<NewEvent<'_>>,
    ) -> Result<(), JobError> {
        delivery::emit_all(txn, evs, webhook).await?;
        Ok(())
    }

    /// A job's (or one document's) deletion: to the recycle bin, or erased.
    pub async fn delete(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        file_id: Option<&FileId>,
        how: Deletion,
        actor: &Actor,
    ) -> Result<(), JobError> {
        let job = self.owned(account_id, job_id).await?;
        let file = match file_id {
            Some(f) => Some(self.owned_file(&job, f).await?),
            None => None,
        };
        match how {
            Deletion::ToBin => self.bin(job, file, actor).await,
            Deletion::Erase => {
                let now = db::now_ms();
                let running = job.finished_at.is_none()
                    && job.lease_owner.is_some()
                    && job.lease_expires_at.is_some_and(|t| t > now);
                if running {
                    return Err(JobError::Running {
                        job: job.id,
                        status: job.status,
                    });
                }
                self.erase(&job, file.as_ref(), actor, erasure::Reason::HardDelete)
                    .await?;
                Ok(self.settler.after_erasure(&self.db).await?)
            }
        }
    }

    async fn bin(
        &self,
        job: jobs::Model,
        file: Option<files::Model>,
        actor: &Actor,
    ) -> Result<(), JobError> {
        let now = db::now_ms();
        let files = match &file {
            Some(f) => vec![f.clone()],
            None => db::files::of_job(&self.db, &job.id).await?,
        };
        let webhook = self.job_webhook(&job).await;
        let txn = self.db.begin().await?;
        if !db::lifecycle::delete(&txn, &job.id, file.as_ref().map(|f| &f.id), now).await? {
            // Deleting what is in the bin already changes nothing.
            return Ok(());
        }
        let file_id = file.as_ref().map(|f| &f.id);
        audited(self, &txn, &job, file_id, actor, "deleted", true).await?;
        let mut evs: Vec<NewEvent> = files
            .iter()
            .filter(|f| f.deleted_at.is_none() && f.erased_at.is_none())
            .map(|f| {
                event(
                    &job,
                    Some(&f.id),
                    EventType::DocumentDeleted,
                    actor,
                    json!({"file_name": f.file_name}),
                )
            })
            .collect();
        if file.is_none() {
            evs.push(event(
                &job,
                None,
                EventType::BatchDeleted,
                actor,
                json!({"hard": false}),
            ));
        }
        self.announce(&txn, webhook.as_ref(), evs).await?;
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        Ok(())
    }

    /// Erases every stored byte of a job, or of one document: the blobs
    /// first (a crash in between leaves rows pointing at nothing, never an
    /// orphaned upload), then the rows, announced in the same transaction.
    /// [`erasure::settle`] afterwards makes it physical.
    pub(super) async fn erase(
        &self,
        job: &jobs::Model,
        file: Option<&files::Model>,
        actor: &Actor,
        reason: erasure::Reason,
    ) -> Result<(), JobError> {
        let files = match file {
            Some(f) => vec![f.clone()],
            None => db::files::of_job(&self.db, &job.id).await?,
        };
        match file {
            None => self.blobs.delete_prefix(&keys::job_prefix(&job.id)).await?,
            Some(f) => {
                if let Some(key) = &f.blob_key {
                    self.blobs.delete(key).await?;
                }
            }
        }
        let scope = match file {
            None => erasure::Scope::Job,
            Some(f) => erasure::Scope::File {
                id: &f.id,
                only_one: job.source_kind != crate::types::DocKind::Zip,
            },
        };
        let now = db::now_ms();
        let webhook = self.job_webhook(job).await;
        let txn = self.db.begin().await?;
        erasure::erase(&txn, &job.id, scope, reason, now).await?;
        let file_id = file.map(|f| &f.id);
        audited(self, &txn, job, file_id, actor, "erased", true).await?;
        let mut evs: Vec<NewEvent> = files
            .iter()
            .filter(|f| f.erased_at.is_none())
            .map(|f| {
                event(
                    job,
                    Some(&f.id),
                    EventType::DocumentHardDeleted,
                    actor,
                    json!({}),
                )
            })
            .collect();
        if file.is_none() {
            evs.push(event(
                job,
                None,
                EventType::BatchDeleted,
                actor,
                json!({"hard": true}),
            ));
        }
        self.announce(&txn, webhook.as_ref(), evs).await?;
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        Ok(())
    }

    /// Takes a job, or one document, out of the recycle bin.
    pub async fn restore(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        file_id: Option<&FileId>,
        actor: &Actor,
    ) -> Result<JobState, JobError> {
        let job = self.owned(account_id, job_id).await?;
        if job.purged_at.is_some() {
            return Err(JobError::Purged(job.id));
        }
        let file = match file_id {
            Some(f) => Some(self.owned_file(&job, f).await?),
            None => None,
        };
        let files = match &file {
            Some(f) => vec![f.clone()],
            None => db::files::of_job(&self.db, &job.id).await?,
        };
        let webhook = self.job_webhook(&job).await;
        let txn = self.db.begin().await?;
        if !db::lifecycle::restore(&txn, &job.id, file_id).await? {
            let what = match file_id {
                Some(f) => format!("file {f} of job {}", job.id),
                None => format!("job {}", job.id),
            };
            return Err(JobError::NotDeleted(what));
        }
        audited(self, &txn, &job, file_id, actor, "deleted", false).await?;
        // A whole job brings back the documents binned with it, not those binned before.
        let evs = files
            .iter()
            .filter(|f| f.erased_at.is_none() && (file.is_some() || f.deleted_at.is_none()))
            .map(|f| {
                event(
                    &job,
                    Some(&f.id),
                    EventType::DocumentRestored,
                    actor,
                    json!({"file_name": f.file_name}),
                )
            })
            .collect();
        self.announce(&txn, webhook.as_ref(), evs).await?;
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        // Unfinished, it goes on being read.
        self.jobs_ready.notify_one();
        let job = self.owned(account_id, job_id).await?;
        Ok(state(&job, db::now_ms()))
    }

    /// Holds a job's document events (`true`) or lets them go (`false`).
    pub async fn hold(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        held: bool,
        actor: &Actor,
    ) -> Result<JobState, JobError> {
        let job = self.live(account_id, job_id).await?;
        let now = db::now_ms();
        let webhook = self.job_webhook(&job).await;
        let txn = self.db.begin().await?;
        if db::lifecycle::set_held(&txn, &job.id, held.then_some(now)).await? {
            let t = if held {
                EventType::BatchOnHold
            } else {
                EventType::BatchReleased
            };
            self.announce(
                &txn,
                webhook.as_ref(),
                vec![event(&job, None, t, actor, json!({}))],
            )
            .await?;
        }
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        let job = self.owned(account_id, job_id).await?;
        Ok(state(&job, now))
    }

    /// A job that is neither binned nor purged.
    pub(super) async fn live(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<jobs::Model, JobError> {
        let job = self.owned(account_id, job_id).await?;
        if job.purged_at.is_some() {
            return Err(JobError::Purged(job.id));
        }
        if job.deleted_at.is_some() {
            return Err(JobError::Deleted(job.id));
        }
        Ok(job)
    }

    /// The state of a job's lifecycle: binned, held, locked and by whom.
    pub async fn state(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<JobState, JobError> {
        let job = self.owned(account_id, job_id).await?;
        Ok(state(&job, db::now_ms()))
    }
}
