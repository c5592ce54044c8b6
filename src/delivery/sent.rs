//! What one attempt to send came to, for every kind of target.

use std::time::Duration;

/// One attempt: how long it took and what came of it.
#[derive(Debug)]
pub struct Sent {
    pub latency: Duration,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub enum Outcome {
    /// The receiver took it: a 2xx, an SQS message id, S3 objects written.
    Delivered {
        status: Option<u16>,
        /// What it answered (the first 1 KiB), or what was written.
        body: Option<String>,
    },
    /// A webhook receiver answered 410 Gone: it wants no more deliveries.
    Gone { body: Option<String> },
    /// The receiver answered and refused it.
    Refused {
        status: u16,
        body: Option<String>,
        /// The receiver's reason, when its protocol gives one (AWS error codes).
        detail: Option<String>,
        retry_after: Option<Duration>,
    },
    /// Nothing usable came back: no connection, a timeout, a broken
    /// transfer, or a request that could not be made at all.
    Failed { error: String, timed_out: bool },
}

impl Sent {
    pub fn delivered(latency: Duration, body: Option<String>) -> Self {
        Self {
            latency,
            outcome: Outcome::Delivered { status: None, body },
        }
    }

    /// An attempt that could not be made (a refused URL, unusable TLS settings, a missing target).
    pub fn not_made(error: impl Into<String>) -> Self {
        Self {
            latency: Duration::ZERO,
            outcome: Outcome::Failed {
                error: error.into(),
                timed_out: false,
            },
        }
    }

    pub fn is_delivered(&self) -> bool {
        matches!(self.outcome, Outcome::Delivered { .. })
    }

    /// The receiver wants no more deliveries.
    pub fn is_gone(&self) -> bool {
        matches!(self.outcome, Outcome::Gone { .. })
    }

    /// Rate-limited or timed out: the next attempt waits longer.
    pub fn is_throttled(&self) -> bool {
        match &self.outcome {
            Outcome::Refused { status, .. } => *status == 429 || *status == 503,
            Outcome::Failed { timed_out, .. } => *timed_out,
            Outcome::Delivered { .. } | Outcome::Gone { .. } => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.outcome {
            Outcome::Delivered { status, .. } => *status,
            Outcome::Refused { status, .. } => Some(*status),
            Outcome::Gone { .. } => Some(410),
            Outcome::Failed { .. } => None,
        }
    }

    pub fn body(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Delivered { body, .. }
            | Outcome::Gone { body }
            | Outcome::Refused { body, .. } => body.as_deref(),
            Outcome::Failed { .. } => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match &self.outcome {
            Outcome::Refused { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Why it was not delivered, as the attempt log shows it.
    pub fn error(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Delivered { .. } => None,
            Outcome::Gone { .. } => Some("HTTP 410".into()),
            Outcome::Refused {
                status,
                detail: Some(detail),
                ..
            } => Some(format!("HTTP {status}: {detail}")),
            Outcome::Refused {
                status: status @ 300..=399,
                ..
            } => Some(format!("HTTP {status}: redirects are not followed")),
            Outcome::Refused { status, .. } => Some(format!("HTTP {status}")),
            Outcome::Failed { error, .. } => Some(error.clone()),
        }
    }
}

/// Our side could not make the attempt for a passing reason (the database
/// or the blob store out of reach): nothing was sent, nothing is held against
/// the receiver, and the delivery waits without the attempt counting.
#[derive(Debug)]
pub struct Deferred(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16) -> Sent {
        Sent {
            latency: Duration::ZERO,
            outcome: Outcome::Refused {
                status,
                body: None,
                detail: None,
                retry_after: None,
            },
        }
    }

    #[test]
    fn what_an_answer_means() {
        let gone = Sent {
            latency: Duration::ZERO,
            outcome: Outcome::Gone { body: None },
        };
        assert!(gone.is_gone() && !gone.is_throttled() && gone.status() == Some(410));
        assert!(!refused(410).is_gone(), "only a webhook's 410 unsubscribes");
        assert!(refused(429).is_throttled() && refused(503).is_throttled());
        assert_eq!(refused(500).error().as_deref(), Some("HTTP 500"));
        assert_eq!(
            refused(302).error().as_deref(),
            Some("HTTP 302: redirects are not followed")
        );
        let timeout = Sent {
            latency: Duration::from_secs(5),
            outcome: Outcome::Failed {
                error: "timed out".into(),
                timed_out: true,
            },
        };
        assert!(timeout.is_throttled() && !timeout.is_delivered() && timeout.status().is_none());
        assert!(Sent::delivered(Duration::ZERO, None).error().is_none());
    }
}
