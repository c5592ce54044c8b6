//! The vocabulary every stage speaks: ids that are parsed once and carried
//! typed, the statuses of jobs, documents and deliveries, the kinds of
//! documents and destinations, the event catalogue, and whose fault a failure
//! is. Each is stored as text and read back through sea-orm's value traits,
//! so a column that holds something else is an error where it is read, not a
//! string compared later.

mod actor;
mod blame;
mod ids;
mod job_status;
mod kinds;
mod statuses;
mod template_choice;

pub use actor::Actor;
pub use blame::Blame;
pub use ids::{
    AccountId, DeliveryId, DestinationId, EventId, FileId, Id, JobId, KeyId, TaskId, TemplateId,
};
pub use job_status::JobStatus;
pub use kinds::{DestinationKind, DocKind, EventType, Origin};
pub use statuses::{DeliveryStatus, ResultStatus, TaskStatus};
pub use template_choice::{TemplateChoice, AUTO};

/// Text stored for one of a fixed set of values (a status or a kind) that
/// names none of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {text:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub text: String,
}

/// A closed set of values, each written as one fixed string: `as_str`,
/// `Display`, `FromStr` and the list of all of them.
macro_rules! named_values {
    ($(#[$meta:meta])* $vis:vis enum $name:ident as $what:literal {
        $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
        #[sea_orm(value_type = "String")]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            const NAMES: &'static [&'static str] = &[$($text,)+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::types::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::types::UnknownName { what: $what, text: s.to_string() })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse()
                    .map_err(|_| serde::de::Error::unknown_variant(&text, Self::NAMES))
            }
        }

        impl From<&$name> for sea_orm::Value {
            fn from(v: &$name) -> Self {
                v.as_str().into()
            }
        }
    };
}
pub(crate) use named_values;
