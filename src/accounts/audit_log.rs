//! Reading the audit log (SPEC §5): an account sees only its own rows,
//! newest first, filtered and paged by cursor.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{AccountError, Accounts};
use crate::db::{self, rfc3339};
use crate::types::AccountId;

/// Which rows to list, as the client wrote it.
#[derive(Debug, Default)]
pub struct AuditQuery {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// `key:<key id>`, `user:<key id>` (a dashboard session opened with that key) or `system`.
    pub actor: String,
    /// `api`, `user` or `system`.
    pub origin: String,
    /// e.g. `template.updated`, `destination.secret_rotated`, `key.revoked`, `job.erased`.
    pub action: String,
    /// `template`, `destination`, `key`, `account`, `job` or `document`.
    pub object_type: String,
    pub object_id: String,
    /// Each changed member, `{"before", "after"}`; secrets masked.
    #[schema(value_type = Object)]
    pub changes: Map<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next_cursor: Option<String>,
}

const MAX_PAGE: u64 = 200;

impl Accounts {
    pub async fn audit_log(
        &self,
        account_id: &AccountId,
        q: &AuditQuery,
    ) -> Result<AuditPage, AccountError> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AccountError::BadQuery(format!(
                "limit must be 1 to {MAX_PAGE}"
            )));
        }
        let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(c.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                AccountError::BadQuery(
                    "cursor: pass the next_cursor of the previous page unchanged".into(),
                )
            })?),
        };
        let some = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        let (object_type, object_id, action) =
            (some(&q.object_type), some(&q.object_id), some(&q.action));
        // No stored name holds a NUL, and PostgreSQL refuses one in a query: nothing matches.
        let filters = [&object_type, &object_id, &action];
        if filters
            .iter()
            .any(|f| f.as_deref().is_some_and(|f| f.contains('\0')))
        {
            return Ok(AuditPage {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let filter = db::audit::AuditFilter {
            object_type: object_type.as_deref(),
            object_id: object_id.as_deref(),
            action: action.as_deref(),
            before,
            limit: limit + 1,
        };
        let mut rows = db::audit::list(&self.db, account_id, filter).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = more
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten();
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    changes: db::json("audit_log.changes", &r.changes)?,
                    id: r.id,
                    at: rfc3339(r.at),
                    actor: r.actor,
                    origin: r.origin,
                    action: r.action,
                    object_type: r.object_type,
                    object_id: r.object_id,
                })
            })
            .collect::<Result<_, db::DbError>>()?;
        Ok(AuditPage { items, next_cursor })
    }

    /// Drops audit rows older than a year; returns how many.
    pub async fn purge_expired_audit(&self) -> Result<u64, AccountError> {
        Ok(self.audit.purge_expired().await?)
    }
}
