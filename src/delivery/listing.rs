//! Deliveries as the account sees them: the list (dead letters with
//! `status=failed`), each one's attempts, and replay.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{self, entities::deliveries, rfc3339};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub job_id: String,
    pub file_id: Option<String>,
    pub template_id: String,
    pub destination_id: Option<String>,
    /// `template_webhook` or `destination`.
    pub destination: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub succeeded_at: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub attempted_at: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The first 1 KiB of the answer.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// Which deliveries to list, newest first.
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
        event_type: d.event_type.clone(),
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
        status: d.status.clone(),
        attempts: d.attempts,
        next_attempt_at: rfc3339(d.next_attempt_at),
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_at),
        succeeded_at: d.succeeded_at.map(rfc3339),
    }
}

impl AppState {
    pub async fn list_deliveries(
        &self,
        account_id: &str,
        q: &DeliveryQuery,
    ) -> AppResult<Vec<Delivery>> {
        let status = q.status.as_deref();
        if let Some(s) = status {
            if ![
                db::deliveries::PENDING,
                db::deliveries::SUCCEEDED,
                db::deliveries::FAILED,
            ]
            .contains(&s)
            {
                return Err(AppError::BadRequest(
                    "status must be pending, succeeded or failed".into(),
                ));
            }
        }
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(AppError::BadRequest("limit must be 1 to 1000".into()));
        }
        let filters = [&q.job_id, &q.destination_id, &q.template_id];
        // No id holds a NUL character (and PostgreSQL refuses one in a query): such a filter matches nothing.
        if filters
            .iter()
            .any(|f| f.as_deref().is_some_and(|v| v.contains('\0')))
        {
            return Ok(Vec::new());
        }
        let given = |f: &Option<String>| f.clone().filter(|v| !v.is_empty());
        let filter = db::deliveries::DeliveryFilter {
            status: status.map(str::to_string),
            job_id: given(&q.job_id),
            destination_id: given(&q.destination_id),
            template_id: given(&q.template_id),
        };
        let rows = db::deliveries::list(&self.db, account_id, &filter, limit).await?;
        Ok(rows.iter().map(view).collect())
    }

    async fn owned_delivery(&self, account_id: &str, id: &str) -> AppResult<deliveries::Model> {
        db::deliveries::get(&self.db, account_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("delivery {id} not found")))
    }

    pub async fn delivery_with_attempts(
        &self,
        account_id: &str,
        id: &str,
    ) -> AppResult<(Delivery, Vec<Attempt>)> {
        let d = self.owned_delivery(account_id, id).await?;
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
    pub async fn retry_delivery(&self, account_id: &str, id: &str) -> AppResult<()> {
        let d = self.owned_delivery(account_id, id).await?;
        if !db::deliveries::requeue_failed(&self.db, &d.id).await? {
            return Err(AppError::Conflict(format!(
                "delivery {id} is {}, not failed",
                d.status
            )));
        }
        self.deliveries_ready.notify_one();
        Ok(())
    }
}
