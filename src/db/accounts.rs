//! Accounts, their hashed API keys and the credit ledger.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, Statement, TransactionTrait,
};

use super::entities::{accounts, api_keys, credit_ledger};
use super::{exec, now_ms};
use crate::crypto;

/// Creates an account with a first key; returns the account and the key (shown once).
pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    credits: i64,
) -> Result<(accounts::Model, String), DbErr> {
    let txn = db.begin().await?;
    let account = accounts::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        name: Set(name.to_string()),
        credits: Set(credits),
        created_at: Set(now_ms()),
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
    let key = insert_key(&txn, &account.id).await?;
    txn.commit().await?;
    Ok((account, key))
}

async fn insert_key(db: &impl ConnectionTrait, account_id: &str) -> Result<String, DbErr> {
    let (key, hash) = crypto::new_api_key();
    api_keys::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        account_id: Set(account_id.to_string()),
        key_hash: Set(hash),
        prefix: Set(key[..10].to_string()),
        created_at: Set(now_ms()),
    }
    .insert(db)
    .await?;
    Ok(key)
}

/// A new key for the account (shown once) and its row.
pub async fn add_key(db: &DatabaseConnection, account_id: &str) -> Result<String, DbErr> {
    insert_key(db, account_id).await
}

/// The account's keys, oldest first (hashes only; the keys themselves are never stored).
pub async fn keys(
    db: &DatabaseConnection,
    account_id: &str,
) -> Result<Vec<api_keys::Model>, DbErr> {
    api_keys::Entity::find()
        .filter(api_keys::Column::AccountId.eq(account_id))
        .order_by_asc(api_keys::Column::CreatedAt)
        .order_by_asc(api_keys::Column::Id)
        .all(db)
        .await
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
    account_id: &str,
    key_id: &str,
) -> Result<Revoked, DbErr> {
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
    if !all.iter().any(|k| k.id == key_id) {
        return Ok(Revoked::NotFound);
    }
    if all.len() == 1 {
        return Ok(Revoked::LastKey);
    }
    api_keys::Entity::delete_by_id(key_id.to_string())
        .exec(&txn)
        .await?;
    super::sessions::end_for_key(&txn, key_id).await?;
    txn.commit().await?;
    Ok(Revoked::Done)
}

/// A new key for the account named (or with the id) `account`; `None` if there is no such account.
pub async fn create_key(db: &DatabaseConnection, account: &str) -> Result<Option<String>, DbErr> {
    let Some(acc) = find_by_name_or_id(db, account).await? else {
        return Ok(None);
    };
    insert_key(db, &acc.id).await.map(Some)
}

pub async fn find_by_name_or_id(
    db: &DatabaseConnection,
    account: &str,
) -> Result<Option<accounts::Model>, DbErr> {
    accounts::Entity::find()
        .filter(
            accounts::Column::Name
                .eq(account)
                .or(accounts::Column::Id.eq(account)),
        )
        .one(db)
        .await
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<accounts::Model>, DbErr> {
    accounts::Entity::find()
        .order_by_asc(accounts::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    accounts::Entity::find().count(db).await
}

/// The account a key belongs to.
pub async fn account_for_key(db: &DatabaseConnection, key: &str) -> Result<Option<String>, DbErr> {
    Ok(find_key(db, key).await?.map(|k| k.account_id))
}

/// The stored row of a key.
pub async fn find_key(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<api_keys::Model>, DbErr> {
    let hash = crypto::hash_api_key(key);
    api_keys::Entity::find()
        .filter(api_keys::Column::KeyHash.eq(hash))
        .one(db)
        .await
}

pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<Option<accounts::Model>, DbErr> {
    accounts::Entity::find_by_id(id.to_string()).one(db).await
}

/// Deducts `pages` credits for one file, writing its ledger row; `false` when the
/// balance is too low (nothing is deducted). The balance never goes negative
/// because the deduction is a conditional update.
pub async fn charge(
    db: &impl ConnectionTrait,
    account_id: &str,
    job_id: &str,
    file_id: &str,
    pages: i64,
) -> Result<bool, DbErr> {
    let reason = format!("{pages} page(s) processed");
    deduct(db, account_id, Some((job_id, file_id)), pages, reason).await
}

/// Deducts the pages of a template preview, like [`charge`] for a job's file.
pub async fn charge_preview(
    db: &DatabaseConnection,
    account_id: &str,
    pages: i64,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let reason = format!("{pages} page(s) previewed");
    let done = deduct(&txn, account_id, None, pages, reason).await?;
    txn.commit().await?;
    Ok(done)
}

async fn deduct(
    db: &impl ConnectionTrait,
    account_id: &str,
    file: Option<(&str, &str)>,
    pages: i64,
    reason: String,
) -> Result<bool, DbErr> {
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
        account_id: Set(account_id.to_string()),
        job_id: Set(file.map(|(j, _)| j.to_string())),
        file_id: Set(file.map(|(_, f)| f.to_string())),
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

/// Adds credits (a top-up), with its ledger row.
pub async fn add_credits(
    db: &DatabaseConnection,
    account_id: &str,
    credits: i64,
) -> Result<i64, DbErr> {
    let txn = db.begin().await?;
    exec(
        &txn,
        "UPDATE accounts SET credits = credits + $1 WHERE id = $2",
        vec![credits.into(), account_id.into()],
    )
    .await?;
    let balance = get(&txn, account_id).await?.map_or(0, |a| a.credits);
    credit_ledger::ActiveModel {
        account_id: Set(account_id.to_string()),
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
    account_id: &str,
) -> Result<Vec<credit_ledger::Model>, DbErr> {
    credit_ledger::Entity::find()
        .filter(credit_ledger::Column::AccountId.eq(account_id))
        .order_by_asc(credit_ledger::Column::Id)
        .all(db)
        .await
}

/// Ledger rows newest first, older than the row `before` when given.
pub async fn ledger_page(
    db: &DatabaseConnection,
    account_id: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<credit_ledger::Model>, DbErr> {
    use sea_orm::QuerySelect;
    let mut q =
        credit_ledger::Entity::find().filter(credit_ledger::Column::AccountId.eq(account_id));
    if let Some(id) = before {
        q = q.filter(credit_ledger::Column::Id.lt(id));
    }
    q.order_by_desc(credit_ledger::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
