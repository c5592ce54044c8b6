//! Ids. Each is made here or parsed from what a client sent, once; a string
//! that is not an id of its kind never reaches a query (PostgreSQL would
//! refuse some of them, a NUL for one, as a failed statement).

use std::fmt;

/// How an id is written.
enum Shape {
    /// A hyphenated lowercase UUID.
    Uuid,
    /// A prefix and a simple lowercase UUID: `dst_0193c2b8…`.
    Prefixed(&'static str),
}

impl Shape {
    fn fits(&self, s: &str) -> bool {
        let lower_hex = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        match self {
            Shape::Uuid => {
                s.len() == 36
                    && s.split('-').map(str::len).eq([8, 4, 4, 4, 12])
                    && lower_hex(&s.replace('-', ""))
            }
            Shape::Prefixed(p) => s
                .strip_prefix(p)
                .is_some_and(|rest| rest.len() == 32 && lower_hex(rest)),
        }
    }
}

/// An id of some kind, as a client may name one.
pub trait Id: Sized {
    /// What it names, as messages say it: `job`, `template`, …
    const KIND: &'static str;
    fn parse(s: &str) -> Option<Self>;
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $shape:expr, $new:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sea_orm::DeriveValueType, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self($new)
            }

            /// The id `s` names, if it is one of this kind.
            pub fn parse(s: &str) -> Option<Self> {
                $shape.fits(s).then(|| Self(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Id for $name {
            const KIND: &'static str = $kind;
            fn parse(s: &str) -> Option<Self> {
                $name::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> Self {
                id.0.as_str().into()
            }
        }

        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("{s:?} is not a {}", stringify!($name)))
                })
            }
        }
    };
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn prefixed(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

id_type!(
    /// An account.
    AccountId, "account", Shape::Uuid, uuid()
);
id_type!(
    /// An API key's row (never the key itself).
    KeyId, "key", Shape::Uuid, uuid()
);
id_type!(
    /// A submitted job: one upload, one document or a ZIP of them.
    JobId, "job", Shape::Uuid, uuid()
);
id_type!(
    /// One document of a job.
    FileId, "file", Shape::Uuid, uuid()
);
id_type!(
    /// A template.
    TemplateId, "template", Shape::Uuid, uuid()
);
id_type!(
    /// A destination: `dst_` and a time-ordered UUID.
    DestinationId, "destination", Shape::Prefixed("dst_"), prefixed("dst_")
);
id_type!(
    /// One event's delivery to one target: `dlv_` and a time-ordered UUID.
    DeliveryId, "delivery", Shape::Prefixed("dlv_"), prefixed("dlv_")
);
id_type!(
    /// A background task a client follows: `tsk_` and a time-ordered UUID.
    TaskId, "task", Shape::Prefixed("tsk_"), prefixed("tsk_")
);
id_type!(
    /// An event, and the `webhook-id` its deliveries carry: `evt_` and a time-ordered UUID.
    EventId, "event", Shape::Prefixed("evt_"), prefixed("evt_")
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_parse_back_and_others_do_not() {
        let job = JobId::new();
        assert_eq!(JobId::parse(job.as_str()), Some(job.clone()));
        let dst = DestinationId::new();
        assert!(dst.as_str().starts_with("dst_"));
        assert_eq!(DestinationId::parse(dst.as_str()), Some(dst));
        for bad in [
            "",
            "nope",
            "job\0",
            "00000000-0000-0000-0000-00000000000g",
            "00000000000000000000000000000000",
            "00000000-0000-0000-0000-0000000000000",
            "ABCDEF00-0000-0000-0000-000000000000",
        ] {
            assert_eq!(JobId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(EventId::parse(job.as_str()), None);
        assert_eq!(
            DeliveryId::parse("dlv_0193c2b8a1f37c2e9d4b5a6f7e8d9c0"),
            None
        );
        assert!(DeliveryId::parse("dlv_0193c2b8a1f37c2e9d4b5a6f7e8d9c0b").is_some());
    }

    #[test]
    fn ids_are_written_as_plain_strings() {
        let id = TemplateId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<TemplateId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TemplateId>("\"x\"").is_err());
    }
}
