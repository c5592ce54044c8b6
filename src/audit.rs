//! The audit log's writer (SPEC §5): who changed what, when, and each changed
//! member before and after, with secrets masked. Every service that changes
//! templates, destinations, keys, account settings or documents records here.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Map, Value};

use crate::db::{self, entities::audit_log, DbError};
use crate::outbound::MASK;
use crate::types::{AccountId, Actor};

/// How long rows are kept.
pub const KEEP_MS: i64 = 365 * 24 * 3600 * 1000;

/// Members whose values are secrets wherever they appear.
const SECRETS: [&str; 6] = [
    "secret",
    "password",
    "secret_access_key",
    "client_key",
    "client_key_password",
    "key",
];

/// The object a change is about.
pub struct Object<'a> {
    pub kind: &'a str,
    pub id: String,
}

#[derive(Clone)]
pub struct Audit {
    db: DatabaseConnection,
}

/// `v` with every secret replaced by the mask, and header values too (they
/// carry tokens).
fn masked(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let hidden = match (k.as_str(), v) {
                        (_, Value::Null) => v.clone(),
                        (k, _) if SECRETS.contains(&k) => json!(MASK),
                        ("headers", Value::Object(h)) => {
                            h.keys().map(|name| (name.clone(), json!(MASK))).collect()
                        }
                        _ => masked(v),
                    };
                    (k.clone(), hidden)
                })
                .collect(),
        ),
        Value::Array(items) => items.iter().map(masked).collect(),
        _ => v.clone(),
    }
}

/// The top-level members that differ between `before` and `after`, masked.
/// A secret that changed shows as masked on both sides: that it changed is
/// what the log may say.
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) || matches!(key.as_str(), "updated_at" | "created_at") {
            continue;
        }
        // A member absent on one side reads as null: absent and null are not a change.
        let (old, new) = (b.get(key), a.get(key));
        if old.unwrap_or(&Value::Null) == new.unwrap_or(&Value::Null) {
            continue;
        }
        let side = |v: Option<&Value>| {
            let v = v.cloned().unwrap_or(Value::Null);
            if SECRETS.contains(&key.as_str()) && !v.is_null() {
                json!(MASK)
            } else {
                masked(&v)
            }
        };
        out.insert(
            key.clone(),
            json!({"before": side(old), "after": side(new)}),
        );
    }
    out
}

impl Audit {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Records a change of `object` by `actor` from `before` to `after`, as
    /// the client sees it (`None` before a creation and after a deletion).
    pub async fn record<T: serde::Serialize>(
        &self,
        account_id: &AccountId,
        actor: &Actor,
        action: &str,
        object: Object<'_>,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<(), DbError> {
        let json = |v: Option<&T>| v.map(|v| serde_json::to_value(v).expect("views serialise"));
        let changes = changes(json(before).as_ref(), json(after).as_ref());
        self.record_in(&self.db, account_id, actor, action, object, changes)
            .await
    }

    /// [`Audit::record`] inside a caller's transaction, with the changes already made out.
    pub async fn record_in(
        &self,
        db: &impl ConnectionTrait,
        account_id: &AccountId,
        actor: &Actor,
        action: &str,
        object: Object<'_>,
        changes: Map<String, Value>,
    ) -> Result<(), DbError> {
        db::audit::insert(
            db,
            audit_log::Model {
                id: 0,
                account_id: account_id.clone(),
                at: db::now_ms(),
                actor: actor.name(),
                origin: actor.origin().as_str().to_string(),
                action: action.to_string(),
                object_type: object.kind.to_string(),
                object_id: object.id,
                changes: Value::Object(changes).to_string(),
            },
        )
        .await
    }

    /// Drops rows older than a year; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, DbError> {
        db::audit::purge_before(&self.db, db::now_ms() - KEEP_MS).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_members_show_before_and_after_with_secrets_masked() {
        let before = json!({"name": "a", "webhook": {"url": "https://x", "secret": "whsec_old", "headers": {"Authorization": "Bearer t"}}, "updated_at": "1"});
        let after = json!({"name": "b", "webhook": {"url": "https://x", "secret": "whsec_new", "headers": {"Authorization": "Bearer t"}}, "updated_at": "2"});
        let c = changes(Some(&before), Some(&after));
        assert_eq!(c["name"], json!({"before": "a", "after": "b"}));
        assert_eq!(c["webhook"]["before"]["secret"], MASK);
        assert_eq!(c["webhook"]["after"]["secret"], MASK);
        assert_eq!(c["webhook"]["after"]["headers"]["Authorization"], MASK);
        assert!(!c.contains_key("updated_at"));
        let text = Value::Object(c).to_string();
        assert!(
            !text.contains("whsec_") && !text.contains("Bearer"),
            "{text}"
        );
        assert!(changes(Some(&after), Some(&after)).is_empty());
    }
}
