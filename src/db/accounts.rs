//! Accounts, their hashed API keys and the credit ledger.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};

use super::entities::{accounts, api_keys, credit_ledger};
use super::{exec, now_ms, DbError};
use crate::crypto;
use crate::types::{AccountId, FileId, JobId, KeyId};

/// Creates an account with a first key; returns the account and the key (shown once).
pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    credits: i64,
) -> Result<(accounts::Model, String), DbError> {
    let txn = db.begin().await?;
    let account = accounts::ActiveModel {
        id: Set(AccountId::new()),
        name: Set(name.to_string()),
        credits: Set(credits),
        created_at: Set(now_ms()),
        retention_hours: Set(None),
    }
    .insert(&txn)
    .await?;
    if credits != 0 {
        credit_ledger::ActiveModel {
            account_id: Set(account.id.clone()),
            delta: Set(credits),
            balance_after: Set(credits),
            reason: Set("initial credits".into()),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let (key, _) = insert_key(&txn, &account.id).await?;
    txn.commit().await?;
    Ok((account, key))
}

/// A new key for the account: the key (shown once) and its stored row.
pub async fn insert_key(
    db: &impl ConnectionTrait,
    account_id: &AccountId,
) -> Result<(String, api_keys::Model), DbError> {
    let (key, hash) = crypto::new_api_key();
    let row = api_keys::ActiveModel {
        id: Set(KeyId::new()),
        account_id: Set(account_id.clone()),
        key_hash: Set(hash),
        prefix: Set(key[..10].to_string()),
        created_at: Set(now_ms()),
    }
    .insert(db)
    .await?;
    Ok((key, row))
}

/// The account's keys, oldest first (hashes only; the keys themselves are never stored).
pub async fn keys(
    db: &DatabaseConnection,
    account_id: &AccountId,
) -> Result<Vec<api_keys::Model>, DbError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::AccountId.eq(account_id))
        .order_by_asc(api_keys::Column::CreatedAt)
        .order_by_asc(api_keys::Column::Id)
        .all(db)
        .await?)
}

/// What revoking a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    Done,
    NotFound,
    /// The account's only key: revoking it would lock the account out.
    LastKey,
}

/// Deletes one of the account's keys and every dashboard session it opened.
pub async fn revoke_key(
    db: &DatabaseConnection,
    account_id: &AccountId,
    key_id: &KeyId,
) -> Result<Revoked, DbError> {
    let txn = db.begin().await?;
    // Locks the account row, so two revocations at once cannot both see a second key.
    exec(
        &txn,
        "UPDATE accounts SET credits = credits WHERE id = $1",
        vec![account_id.into()],
    )
    .await?;
    let all = api_keys::Entity::find()
        .filter(api_keys::Column::AccountId.eq(account_id))
        .all(&txn)
        .await?;
    if !all.iter().any(|k| &k.id == key_id) {
        return Ok(Revoked::NotFound);
    }
    if all.len() == 1 {
        return Ok(Revoked::LastKey);
    }
    api_keys::Entity::delete_by_id(key_id.clone())
        .exec(&txn)
        .await?;
    super::sessions::end_for_key(&txn, key_id).await?;
    txn.commit().await?;
    Ok(Revoked::Done)
}

/// The account named `account`, or with that id.
pub async fn find_by_name_or_id(
    db: &DatabaseConnection,
    account: &str,
) -> Result<Option<accounts::Model>, DbError> {
    let mut named = Condition::any().add(accounts::Column::Name.eq(account));
    if let Some(id) = AccountId::parse(account) {
        named = named.add(accounts::Column::Id.eq(id));
    }
    Ok(accounts::Entity::find().filter(named).one(db).await?)
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<accounts::Model>, DbError> {
    Ok(accounts::Entity::find()
        .order_by_asc(accounts::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn count(db: &DatabaseConnection) -> Result<u64, DbError> {
    Ok(accounts::Entity::find().count(db).await?)
}

/// The stored row of a key.
pub async fn find_key(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<api_keys::Model>, DbError> {
    let hash = crypto::hash_api_key(key);
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::KeyHash.eq(hash))
        .one(db)
        .await?)
}

pub async fn get(
    db: &impl ConnectionTrait,
    id: &AccountId,
) -> Result<Option<accounts::Model>, DbError> {
    Ok(accounts::Entity::find_by_id(id.clone()).one(db).await?)
}

/// Sets how many hours the account's results are kept; false when the account is gone.
pub async fn set_retention(
    db: &DatabaseConnection,
    id: &AccountId,
    hours: i32,
) -> Result<bool, DbError> {
    let done = accounts::Entity::update_many()
        .col_expr(
            accounts::Column::RetentionHours,
            sea_orm::sea_query::Expr::value(hours),
        )
        .filter(accounts::Column::Id.eq(id.clone()))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The account's balance (0 for an account that is gone).
pub async fn balance(db: &impl ConnectionTrait, id: &AccountId) -> Result<i64, DbError> {
    Ok(get(db, id).await?.map_or(0, |a| a.credits))
}

/// Deducts `pages` credits for one file, writing its ledger row; `false` when the
/// balance is too low (nothing is deducted). The balance never goes negative
/// because the deduction is a conditional update.
pub async fn charge(
    db: &impl ConnectionTrait,
    account_id: &AccountId,
    job_id: &JobId,
    file_id: &FileId,
    pages: i64,
) -> Result<bool, DbError> {
    let reason = format!("{pages} page(s) processed");
    deduct(db, account_id, Some((job_id, file_id)), pages, reason).await
}

/// Deducts the pages of a template preview, like [`charge`] for a job's file.
pub async fn charge_preview(
    db: &DatabaseConnection,
    account_id: &AccountId,
    pages: i64,
) -> Result<bool, DbError> {
    let txn = db.begin().await?;
    let reason = format!("{pages} page(s) previewed");
    let done = deduct(&txn, account_id, None, pages, reason).await?;
    txn.commit().await?;
    Ok(done)
}

async fn deduct(
    db: &impl ConnectionTrait,
    account_id: &AccountId,
    file: Option<(&JobId, &FileId)>,
    pages: i64,
    reason: String,
) -> Result<bool, DbError> {
    let charged = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE accounts SET credits = credits - $1 WHERE id = $2 AND credits >= $1 RETURNING credits",
            vec![pages.into(), account_id.into()],
        ))
        .await?;
    let Some(row) = charged else {
        return Ok(false);
    };
    let balance: i64 = row.try_get("", "credits")?;
    credit_ledger::ActiveModel {
        account_id: Set(account_id.clone()),
        job_id: Set(file.map(|(j, _)| j.clone())),
        file_id: Set(file.map(|(_, f)| f.clone())),
        delta: Set(-pages),
        balance_after: Set(balance),
        reason: Set(reason),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// Adds credits (a top-up), with its ledger row; returns the new balance.
pub async fn add_credits(
    db: &DatabaseConnection,
    account_id: &AccountId,
    credits: i64,
) -> Result<i64, DbError> {
    let txn = db.begin().await?;
    exec(
        &txn,
        "UPDATE accounts SET credits = credits + $1 WHERE id = $2",
        vec![credits.into(), account_id.into()],
    )
    .await?;
    let balance = balance(&txn, account_id).await?;
    credit_ledger::ActiveModel {
        account_id: Set(account_id.clone()),
        delta: Set(credits),
        balance_after: Set(balance),
        reason: Set("credits added".into()),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(balance)
}

pub async fn ledger(
    db: &DatabaseConnection,
    account_id: &AccountId,
) -> Result<Vec<credit_ledger::Model>, DbError> {
    Ok(credit_ledger::Entity::find()
        .filter(credit_ledger::Column::AccountId.eq(account_id))
        .order_by_asc(credit_ledger::Column::Id)
        .all(db)
        .await?)
}

/// Ledger rows newest first, older than the row `before` when given.
pub async fn ledger_page(
    db: &DatabaseConnection,
    account_id: &AccountId,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<credit_ledger::Model>, DbError> {
    let mut q =
        credit_ledger::Entity::find().filter(credit_ledger::Column::AccountId.eq(account_id));
    if let Some(id) = before {
        q = q.filter(credit_ledger::Column::Id.lt(id));
    }
    Ok(q.order_by_desc(credit_ledger::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
