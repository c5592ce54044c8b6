//! Dashboard sessions. The cookie holds a random token; only its hash is stored.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};

use super::entities::sessions;
use super::{now_ms, DbError};
use crate::types::KeyId;

pub async fn create(db: &DatabaseConnection, s: sessions::Model) -> Result<(), DbError> {
    sessions::ActiveModel {
        token_hash: Set(s.token_hash),
        account_id: Set(s.account_id),
        key_id: Set(s.key_id),
        csrf: Set(s.csrf),
        created_at: Set(s.created_at),
        expires_at: Set(s.expires_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The live session with this token hash.
pub async fn find(
    db: &DatabaseConnection,
    token_hash: &str,
) -> Result<Option<sessions::Model>, DbError> {
    Ok(sessions::Entity::find_by_id(token_hash.to_string())
        .one(db)
        .await?
        .filter(|s| s.expires_at > now_ms()))
}

pub async fn end(db: &DatabaseConnection, token_hash: &str) -> Result<(), DbError> {
    sessions::Entity::delete_by_id(token_hash.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session opened with a key (when the key is revoked).
pub async fn end_for_key(db: &impl ConnectionTrait, key_id: &KeyId) -> Result<(), DbError> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::KeyId.eq(key_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes expired sessions; run with the retention sweep.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, DbError> {
    Ok(sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lte(now_ms()))
        .exec(db)
        .await?
        .rows_affected)
}
