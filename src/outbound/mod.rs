//! What leaves the service, as templates and destinations configure it and
//! delivery sends it: the event catalogue and event filters, the targets a
//! request may reach (the SSRF guard), custom headers and Basic credentials,
//! TLS client identities, and how stored secrets are shown.
//!
//! Templates, destinations and delivery all build on this module; none of
//! them needs another to validate what a client asks for.

pub mod events;
pub mod headers;
pub mod links;
pub mod signing;
pub mod ssrf;
pub mod tls;

pub use events::{EventFilter, EventType};
pub use headers::{BasicAuth, CustomHeaders};
pub use signing::SignatureScheme;

/// How a secret or header value is shown once stored; sending it back keeps the stored value.
pub const MASK: &str = "********";
