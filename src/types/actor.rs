//! Who did something: an API key, a person signed in to the dashboard, or
//! docpush itself. Lock holders and audit rows name them; events carry their
//! [`Origin`].

use super::{KeyId, Origin};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A request made with this API key.
    Key(KeyId),
    /// A dashboard session, signed in with this key.
    User(KeyId),
    /// Workers, retries, lapses and the retention purge.
    System,
}

impl Actor {
    pub fn origin(&self) -> Origin {
        match self {
            Actor::Key(_) => Origin::Api,
            Actor::User(_) => Origin::User,
            Actor::System => Origin::System,
        }
    }

    /// The stored and shown name: `key:<id>`, `user:<key id>` or `system`.
    pub fn name(&self) -> String {
        match self {
            Actor::Key(id) => format!("key:{id}"),
            Actor::User(id) => format!("user:{id}"),
            Actor::System => "system".into(),
        }
    }

    /// How a message to a person names a stored actor.
    pub fn describe(stored: &str) -> String {
        match stored.split_once(':') {
            Some(("key", id)) => format!("API key {id}"),
            Some(("user", id)) => format!("a dashboard user (signed in with key {id})"),
            _ => stored.to_string(),
        }
    }
}
