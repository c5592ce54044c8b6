//! Deliveries as the account sees them: the list (dead letters with
//! `status=failed`), each one's attempts, replay, Test Connection and the
//! metrics.

use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::metrics::Metrics;
use super::probe::{self, TestOutcome};
use super::sender::Sender;
use super::DeliveryError;
use crate::db::{self, entities::deliveries, rfc3339};
use crate::targets::Config;
use crate::types::{
    AccountId, DeliveryId, DeliveryStatus, DestinationId, EventId, EventType, FileId, JobId,
    Origin, TemplateChoice, TemplateId,
};
use crate::wake::Wake;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    #[schema(value_type = String)]
    pub id: DeliveryId,
    #[schema(value_type = String)]
    pub event_id: EventId,
    #[schema(value_type = String)]
    pub event_type: EventType,
    /// `null` for an operational event, which is about a destination.
    #[schema(value_type = Option<String>)]
    pub job_id: Option<JobId>,
    #[schema(value_type = Option<String>)]
    pub file_id: Option<FileId>,
    #[schema(value_type = String)]
    /// The template the event is about, or `auto` when its document matched none.
    pub template_id: TemplateChoice,
    #[schema(value_type = Option<String>)]
    pub destination_id: Option<DestinationId>,
    /// `template_webhook` or `destination`.
    pub destination: String,
    /// `pending`, `succeeded` or `failed`.
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub succeeded_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub attempted_at: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The first 1 KiB of the answer.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// Which deliveries to list, newest first, as the client wrote it.
#[derive(Debug, Default)]
pub struct DeliveryQuery {
    pub status: Option<String>,
    pub job_id: Option<String>,
    pub destination_id: Option<String>,
    pub template_id: Option<String>,
    pub limit: Option<u64>,
}

pub fn view(d: &deliveries::Model) -> Delivery {
    Delivery {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type,
        job_id: d.job_id.clone(),
        file_id: d.file_id.clone(),
        template_id: d.template_id.clone(),
        destination_id: d.destination_id.clone(),
        destination: if d.destination_id.is_some() {
            "destination"
        } else {
            "template_webhook"
        }
        .into(),
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: rfc3339(d.next_attempt_at),
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_at),
        succeeded_at: d.succeeded_at.map(rfc3339),
    }
}

/// The deliveries of accounts, as the API and the dashboard show and replay them.
#[derive(Clone)]
pub struct Deliveries {
    db: DatabaseConnection,
    sender: Sender,
    ready: Wake,
    metrics: Metrics,
}

/// An id filter: absent or empty matches any; one that names no id of its
/// kind matches nothing.
enum IdFilter<T> {
    Any,
    Only(T),
    Nothing,
}

fn id_filter<T>(raw: &Option<String>, parse: impl Fn(&str) -> Option<T>) -> IdFilter<T> {
    match raw.as_deref().filter(|v| !v.is_empty()) {
        None => IdFilter::Any,
        Some(v) => parse(v).map_or(IdFilter::Nothing, IdFilter::Only),
    }
}

impl Deliveries {
    /// Deletes what operational events left (settled deliveries, their
    /// attempts, the events) once older than `keep_for`; returns how many deliveries.
    pub async fn purge_operational(
        &self,
        keep_for: std::time::Duration,
    ) -> Result<u64, DeliveryError> {
        let before = db::now_ms() - keep_for.as_millis() as i64;
        let mut total = 0;
        loop {
            let n = db::deliveries::purge_operational(&self.db, before, 500).await?;
            total += n;
            if n < 500 {
                return Ok(total);
            }
        }
    }

    pub fn new(db: DatabaseConnection, sender: Sender, ready: Wake, metrics: Metrics) -> Self {
        Self {
            db,
            sender,
            ready,
            metrics,
        }
    }

    pub async fn list(
        &self,
        account_id: &AccountId,
        q: &DeliveryQuery,
    ) -> Result<Vec<Delivery>, DeliveryError> {
        let status = match q.status.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<DeliveryStatus>().map_err(|_| {
                DeliveryError::BadQuery("status must be pending, succeeded or failed".into())
            })?),
        };
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(DeliveryError::BadQuery("limit must be 1 to 1000".into()));
        }
        let mut filter = db::deliveries::DeliveryFilter {
            status,
            ..Default::default()
        };
        macro_rules! narrow {
            ($raw:expr, $ty:ident, $field:ident) => {
                match id_filter(&$raw, $ty::parse) {
                    IdFilter::Any => {}
                    IdFilter::Only(id) => filter.$field = Some(id),
                    IdFilter::Nothing => return Ok(Vec::new()),
                }
            };
        }
        narrow!(q.job_id, JobId, job_id);
        narrow!(q.destination_id, DestinationId, destination_id);
        narrow!(q.template_id, TemplateId, template_id);
        let rows = db::deliveries::list(&self.db, account_id, &filter, limit).await?;
        Ok(rows.iter().map(view).collect())
    }

    async fn owned(
        &self,
        account_id: &AccountId,
        id: &DeliveryId,
    ) -> Result<deliveries::Model, DeliveryError> {
        db::deliveries::get(&self.db, account_id, id)
            .await?
            .ok_or_else(|| DeliveryError::NotFound(id.clone()))
    }

    pub async fn with_attempts(
        &self,
        account_id: &AccountId,
        id: &DeliveryId,
    ) -> Result<(Delivery, Vec<Attempt>), DeliveryError> {
        let d = self.owned(account_id, id).await?;
        let rows = db::deliveries::attempts_of(&self.db, &d.id).await?;
        let attempts = rows
            .iter()
            .map(|a| Attempt {
                attempted_at: rfc3339(a.attempted_at),
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                response_body: a.response_body.clone(),
                error: a.error.clone(),
            })
            .collect();
        Ok((view(&d), attempts))
    }

    /// Queues a failed delivery again.
    pub async fn retry(
        &self,
        account_id: &AccountId,
        id: &DeliveryId,
    ) -> Result<DeliveryId, DeliveryError> {
        let d = self.owned(account_id, id).await?;
        if !db::deliveries::requeue_failed(&self.db, &d.id).await? {
            return Err(DeliveryError::NotFailed {
                id: d.id,
                status: d.status,
            });
        }
        self.ready.notify_one();
        Ok(d.id)
    }

    /// Test Connection for a destination, saved (`id`) or not.
    pub async fn test_destination(
        &self,
        id: Option<&DestinationId>,
        config: &Config,
        origin: Origin,
    ) -> TestOutcome {
        probe::test_destination(&self.sender, id, config, origin).await
    }

    /// Test Connection for a template's webhook, with sample values.
    pub async fn test_template_webhook(
        &self,
        config: &Config,
        template_id: Option<&TemplateId>,
        sample: Map<String, Value>,
        origin: Origin,
    ) -> TestOutcome {
        probe::test_template_webhook(&self.sender, config, template_id, sample, origin).await
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics(&self) -> Result<String, DeliveryError> {
        let gauges = db::metrics::gauges(&self.db).await?;
        Ok(self.metrics.render(&gauges))
    }
}
