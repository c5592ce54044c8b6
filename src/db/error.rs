//! What a query's failure means to its caller: the database out of reach
//! for a while (try again later), stored data that does not read back (a
//! bug, or a row written by hand), or a statement refused (a bug).

use sea_orm::DbErr;

use crate::types::Blame;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection, or one lost mid-statement: the database may be back in a moment.
    #[error("the database cannot be used now: {0}")]
    Unavailable(DbErr),
    /// A stored value does not read back as its type.
    #[error("stored {what} does not read back: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The database refused the statement, which would fail the same way every time.
    #[error("a database statement failed: {0}")]
    Failed(DbErr),
}

impl DbError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::Unavailable(_) => Blame::Dependency,
            Self::Corrupt { .. } | Self::Failed(_) => Blame::Bug,
        }
    }

    /// A stored value of `what` that did not parse.
    pub fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<DbErr> for DbError {
    fn from(e: DbErr) -> Self {
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(e),
            // A statement that failed without the database naming a rule it
            // broke failed on the way (the connection, a busy SQLite file).
            DbErr::Exec(_) | DbErr::Query(_) if e.sql_err().is_none() => Self::Unavailable(e),
            DbErr::Type(detail) => Self::Corrupt {
                what: "column",
                detail: detail.clone(),
            },
            _ => Self::Failed(e),
        }
    }
}

/// Reads a stored JSON column; what does not parse is [`DbError::Corrupt`],
/// never an empty value.
pub fn json<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::corrupt(what, e))
}

/// [`json`] for a column that may be empty.
pub fn json_opt<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: Option<&str>,
) -> Result<Option<T>, DbError> {
    text.map(|t| json(what, t)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_pass_and_the_rest_do_not() {
        let conn = DbError::from(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "connection refused".into(),
        )));
        assert!(conn.blame().is_retryable());
        let corrupt: Result<Vec<String>, _> = json("jobs.skipped", "not json");
        assert!(matches!(
            corrupt,
            Err(DbError::Corrupt {
                what: "jobs.skipped",
                ..
            })
        ));
        assert_eq!(DbError::from(DbErr::RecordNotInserted).blame(), Blame::Bug);
    }
}
