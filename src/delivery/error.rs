use crate::db::DbError;
use crate::storage::StorageError;
use crate::types::{Blame, DeliveryId, DeliveryStatus};

/// Why a delivery request or a dispatcher step failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("delivery {0} not found")]
    NotFound(DeliveryId),
    /// A filter or limit the caller sent that means nothing.
    #[error("{0}")]
    BadQuery(String),
    #[error("delivery {id} is {status}, not failed")]
    NotFailed {
        id: DeliveryId,
        status: DeliveryStatus,
    },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl DeliveryError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::NotFound(_) | Self::BadQuery(_) | Self::NotFailed { .. } => Blame::Caller,
            Self::Database(e) => e.blame(),
            Self::Storage(e) => e.blame(),
        }
    }
}

impl From<sea_orm::DbErr> for DeliveryError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Database(e.into())
    }
}
