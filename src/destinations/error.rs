use crate::db::DbError;
use crate::targets::TargetError;
use crate::types::{Blame, DestinationId, TaskId};

/// Why a destination request failed.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("destination {0} not found")]
    NotFound(DestinationId),
    /// What the client sent breaks a rule; the message names the member.
    #[error("{0}")]
    Invalid(String),
    #[error("destination {0} is not a webhook; only webhooks have signing secrets")]
    NotAWebhook(DestinationId),
    #[error("destination {id} is disabled ({reason}); re-enable it first")]
    Disabled { id: DestinationId, reason: String },
    #[error("destination {id} is being recovered already (task {task}); follow it at GET /v1/tasks/{task}")]
    Recovering { id: DestinationId, task: TaskId },
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl DestinationError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::Target(e) => e.blame(),
            Self::Database(e) => e.blame(),
            _ => Blame::Caller,
        }
    }
}
