//! Accounts and their keys as the API, the dashboard and the operator's
//! commands see them.

use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AccountError;
use crate::db::{self, accounts::Revoked, entities::accounts, rfc3339};
use serde_json::{json, Value};

use crate::audit::{Audit, Object};
use crate::types::{AccountId, Actor, FileId, JobId, KeyId};

/// Ledger rows one page may hold at most.
pub const MAX_LEDGER_PAGE: u64 = 500;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    #[schema(value_type = String)]
    pub id: AccountId,
    pub name: String,
    pub credits: i64,
    /// How many hours results are kept after a job finishes (1 to 8760).
    #[schema(minimum = 1, maximum = 8760)]
    pub retention_hours: i64,
}

/// Hours an account may keep its results: one hour to a year.
pub const RETENTION_HOURS: std::ops::RangeInclusive<i64> = 1..=8760;

/// The account's settings to change; those left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// How many hours results are kept after a job finishes: 1 to 8760.
    #[schema(nullable = false, minimum = 1, maximum = 8760)]
    pub retention_hours: Option<i32>,
}

impl AccountSettings {
    /// Reads settings from a request body, naming what the account cannot take.
    pub fn from_json(body: &serde_json::Value) -> Result<Self, AccountError> {
        let Some(members) = body.as_object() else {
            return Err(AccountError::Invalid(
                "the body must be a JSON object such as {\"retention_hours\": 48}".into(),
            ));
        };
        if let Some(other) = members.keys().find(|k| *k != "retention_hours") {
            return Err(AccountError::Invalid(format!(
                "{other} is not an account setting; retention_hours is"
            )));
        }
        let retention_hours = members
            .get("retention_hours")
            .map(|hours| {
                // 48.0 is a whole number too, as JSON Schema counts integers.
                hours
                    .as_i64()
                    .or_else(|| hours.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                    .filter(|h| RETENTION_HOURS.contains(h))
                    .map(|h| h as i32)
                    .ok_or_else(|| {
                        AccountError::Invalid(format!(
                            "retention_hours must be a whole number of hours from {} to {}, not {hours}",
                            RETENTION_HOURS.start(),
                            RETENTION_HOURS.end()
                        ))
                    })
            })
            .transpose()?;
        Ok(Self { retention_hours })
    }
}

/// One credit movement: a top-up or the pages of a document or preview.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntry {
    pub id: i64,
    /// Credits added (positive) or charged (negative).
    pub delta: i64,
    pub balance_after: i64,
    pub reason: String,
    #[schema(value_type = Option<String>)]
    pub job_id: Option<JobId>,
    #[schema(value_type = Option<String>)]
    pub file_id: Option<FileId>,
    pub created_at: String,
}

/// A page of the ledger; pass `next_before` as `before` for older entries.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_before: Option<i64>,
}

/// A key as listed: the key itself is shown only when created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    #[schema(value_type = String)]
    pub id: KeyId,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created_at: String,
    /// Only in the answer to `POST /v1/keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A new account and its first key (shown once).
pub struct NewAccount {
    pub account: accounts::Model,
    pub key: String,
}

/// Every account, its keys, ledger and sessions.
#[derive(Clone)]
pub struct Accounts {
    pub(super) db: DatabaseConnection,
    /// Where changes of keys and settings are recorded.
    pub(super) audit: Audit,
    /// How long results are kept for an account that set nothing.
    default_retention: std::time::Duration,
}

fn key_view(k: db::entities::api_keys::Model, key: Option<String>) -> KeyView {
    KeyView {
        id: k.id,
        prefix: k.prefix,
        created_at: rfc3339(k.created_at),
        key,
    }
}

impl Accounts {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            audit: Audit::new(db.clone()),
            db,
            default_retention: std::time::Duration::from_secs(24 * 3600),
        }
    }

    async fn audited(
        &self,
        account_id: &AccountId,
        actor: &Actor,
        action: &str,
        object: Object<'_>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), AccountError> {
        self.audit
            .record(
                account_id,
                actor,
                action,
                object,
                before.as_ref(),
                after.as_ref(),
            )
            .await?;
        Ok(())
    }

    /// The retention of accounts that set none (the operator's `DOCPUSH_RETENTION`).
    pub fn with_default_retention(mut self, keep_for: std::time::Duration) -> Self {
        self.default_retention = keep_for;
        self
    }

    /// The account a key belongs to, if it is a key.
    pub async fn account_for_key(&self, key: &str) -> Result<Option<AccountId>, AccountError> {
        Ok(self.key(key).await?.map(|(account, _)| account))
    }

    /// The account a key belongs to, and the key's id.
    pub async fn key(&self, key: &str) -> Result<Option<(AccountId, KeyId)>, AccountError> {
        Ok(db::accounts::find_key(&self.db, key)
            .await?
            .map(|k| (k.account_id, k.id)))
    }

    /// Creates an account with `credits` and a first key; names are unique.
    pub async fn create(&self, name: &str, credits: i64) -> Result<NewAccount, AccountError> {
        if credits < 0 {
            return Err(AccountError::NegativeCredits);
        }
        if db::accounts::find_by_name_or_id(&self.db, name)
            .await?
            .is_some()
        {
            return Err(AccountError::NameTaken(name.to_string()));
        }
        let (account, key) = db::accounts::create(&self.db, name, credits).await?;
        Ok(NewAccount { account, key })
    }

    /// How many accounts there are.
    pub async fn count(&self) -> Result<u64, AccountError> {
        Ok(db::accounts::count(&self.db).await?)
    }

    /// Every account, oldest first.
    pub async fn all(&self) -> Result<Vec<accounts::Model>, AccountError> {
        Ok(db::accounts::list(&self.db).await?)
    }

    /// The account named (or with the id) `account`.
    pub async fn find(&self, account: &str) -> Result<accounts::Model, AccountError> {
        db::accounts::find_by_name_or_id(&self.db, account)
            .await?
            .ok_or_else(|| AccountError::NoSuchAccount(account.to_string()))
    }

    /// Adds credits to the account named (or with the id) `account`; returns it and its balance.
    pub async fn credit(
        &self,
        account: &str,
        credits: i64,
    ) -> Result<(accounts::Model, i64), AccountError> {
        let acc = self.find(account).await?;
        let balance = db::accounts::add_credits(&self.db, &acc.id, credits).await?;
        Ok((acc, balance))
    }

    pub async fn view(&self, account_id: &AccountId) -> Result<AccountView, AccountError> {
        let a = db::accounts::get(&self.db, account_id)
            .await?
            .ok_or(AccountError::Gone)?;
        // The operator's default in whole hours, never shown as 0.
        let default_hours = self.default_retention.as_secs().div_ceil(3600).max(1) as i64;
        Ok(AccountView {
            id: a.id,
            name: a.name,
            credits: a.credits,
            retention_hours: a.retention_hours.map_or(default_hours, i64::from),
        })
    }

    /// Changes the account's settings and answers the account as it is now.
    pub async fn update(
        &self,
        account_id: &AccountId,
        settings: &AccountSettings,
        actor: &Actor,
    ) -> Result<AccountView, AccountError> {
        let before = self.view(account_id).await?;
        if let Some(hours) = settings.retention_hours {
            if !db::accounts::set_retention(&self.db, account_id, hours).await? {
                return Err(AccountError::Gone);
            }
        }
        let after = self.view(account_id).await?;
        let settings = |v: &AccountView| json!({"retention_hours": v.retention_hours});
        let object = Object {
            kind: "account",
            id: account_id.to_string(),
        };
        let (b, a) = (settings(&before), settings(&after));
        if b != a {
            self.audited(
                account_id,
                actor,
                "account.updated",
                object,
                Some(b),
                Some(a),
            )
            .await?;
        }
        Ok(after)
    }

    /// Ledger rows newest first, `limit` (1 to 500, default 100) of them,
    /// older than the row `before` when given.
    pub async fn ledger_page(
        &self,
        account_id: &AccountId,
        before: Option<i64>,
        limit: Option<u64>,
    ) -> Result<LedgerPage, AccountError> {
        let limit = limit.unwrap_or(100);
        if !(1..=MAX_LEDGER_PAGE).contains(&limit) {
            return Err(AccountError::BadQuery(format!(
                "limit must be 1 to {MAX_LEDGER_PAGE}"
            )));
        }
        if before.is_some_and(|b| b < 1) {
            return Err(AccountError::BadQuery(
                "before: an entry id (1 or more), from next_before".into(),
            ));
        }
        let mut rows = db::accounts::ledger_page(&self.db, account_id, before, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok(LedgerPage {
            next_before: if more {
                rows.last().map(|r| r.id)
            } else {
                None
            },
            entries: rows
                .into_iter()
                .map(|r| LedgerEntry {
                    id: r.id,
                    delta: r.delta,
                    balance_after: r.balance_after,
                    reason: r.reason,
                    job_id: r.job_id,
                    file_id: r.file_id,
                    created_at: rfc3339(r.created_at),
                })
                .collect(),
        })
    }

    pub async fn keys(&self, account_id: &AccountId) -> Result<Vec<KeyView>, AccountError> {
        Ok(db::accounts::keys(&self.db, account_id)
            .await?
            .into_iter()
            .map(|k| key_view(k, None))
            .collect())
    }

    /// A new key for the account, shown this once.
    pub async fn create_key(
        &self,
        account_id: &AccountId,
        actor: &Actor,
    ) -> Result<KeyView, AccountError> {
        let (key, row) = db::accounts::insert_key(&self.db, account_id).await?;
        let view = key_view(row, Some(key));
        let object = Object {
            kind: "key",
            id: view.id.to_string(),
        };
        let after = serde_json::to_value(&view).expect("views serialise");
        self.audited(account_id, actor, "key.created", object, None, Some(after))
            .await?;
        Ok(view)
    }

    /// A new key for the account named (or with the id) `account`.
    pub async fn create_key_for(&self, account: &str) -> Result<String, AccountError> {
        let acc = self.find(account).await?;
        Ok(self
            .create_key(&acc.id, &Actor::System)
            .await?
            .key
            .unwrap_or_default())
    }

    /// Revokes one of the account's keys, unless it is the key `caller`
    /// signs this request with: a client never locks itself out
    /// mid-conversation, another key revokes this one.
    pub async fn revoke_key(
        &self,
        account_id: &AccountId,
        key_id: &KeyId,
        caller: Option<&str>,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        if let Some(caller) = caller {
            if db::accounts::find_key(&self.db, caller)
                .await?
                .is_some_and(|k| &k.id == key_id)
            {
                return Err(AccountError::OwnKey(key_id.clone()));
            }
        }
        let before = self
            .keys(account_id)
            .await?
            .into_iter()
            .find(|k| &k.id == key_id)
            .map(|k| serde_json::to_value(k).expect("views serialise"));
        match db::accounts::revoke_key(&self.db, account_id, key_id).await? {
            Revoked::Done => {
                let object = Object {
                    kind: "key",
                    id: key_id.to_string(),
                };
                self.audited(account_id, actor, "key.revoked", object, before, None)
                    .await
            }
            Revoked::NotFound => Err(AccountError::KeyNotFound(key_id.clone())),
            Revoked::LastKey => Err(AccountError::LastKey(key_id.clone())),
        }
    }
}
