//! Accounts: who a key belongs to, balances and the ledger of charges, API
//! keys, dashboard sessions, and the operator's account commands.

mod audit_log;
mod error;
mod service;
mod sessions;

pub use audit_log::{AuditEntry, AuditPage, AuditQuery};
pub use error::AccountError;
pub use service::{
    AccountSettings, AccountView, Accounts, KeyView, LedgerEntry, LedgerPage, NewAccount,
};
pub use sessions::SessionRow;
