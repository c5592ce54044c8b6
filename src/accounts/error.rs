use crate::db::DbError;
use crate::types::{Blame, KeyId};

/// Why an account request failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The key is valid but its account is gone.
    #[error("the account of this key no longer exists")]
    Gone,
    #[error("{0}")]
    BadQuery(String),
    #[error("key {0} not found")]
    KeyNotFound(KeyId),
    #[error("this is the account's only key: create another before revoking it")]
    LastKey(KeyId),
    #[error("this request is signed with that key: revoke it with another key")]
    OwnKey(KeyId),
    #[error("an account named {0:?} already exists")]
    NameTaken(String),
    #[error("no account {0:?}")]
    NoSuchAccount(String),
    #[error("credits must not be negative")]
    NegativeCredits,
    /// Settings the account cannot take.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl AccountError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::Database(e) => e.blame(),
            _ => Blame::Caller,
        }
    }
}
