//! How a destination is operated (SPEC §4): when continuous failure disables
//! it, how fast it may be sent to, and how large a webhook body may grow.

use std::time::Duration;

use super::input::DestinationInput;
use super::DestinationError;
use crate::db::entities::destinations;
use crate::types::DestinationKind;

/// The highest `rate_limit` accepted: beyond it the limit would be the engine itself.
const MAX_RATE: u32 = 10_000;

/// The smallest `max_payload_bytes`: the envelope alone takes a few hundred bytes.
const MIN_PAYLOAD: u64 = 1024;

#[derive(Default)]
pub(super) struct Operation {
    pub disable_after_ms: Option<i64>,
    pub rate_limit: Option<i64>,
    pub max_payload_bytes: Option<i64>,
}

impl Operation {
    pub fn from_input(
        body: &DestinationInput,
        kind: DestinationKind,
    ) -> Result<Self, DestinationError> {
        let bad = |m: String| DestinationError::Invalid(m);
        let disable_after_ms = match body.disable_after.as_deref() {
            None => None,
            Some(v) => {
                let d = crate::config::parse_duration(v)
                    .ok()
                    .filter(|d| *d >= Duration::from_secs(1))
                    .ok_or_else(|| {
                        bad(format!(
                            "disable_after: {v:?} is not a duration of at least a second such as \"30s\", \"15m\", \"12h\" or \"5d\""
                        ))
                    })?;
                Some(d.as_millis() as i64)
            }
        };
        let rate_limit = match body.rate_limit {
            Some(n) if !(1..=MAX_RATE).contains(&n) => {
                return Err(bad(format!(
                    "rate_limit: {n} is not between 1 and {MAX_RATE} deliveries per second"
                )))
            }
            n => n.map(i64::from),
        };
        let max_payload_bytes = match body.max_payload_bytes {
            Some(_) if kind != DestinationKind::Webhook => {
                return Err(bad(format!(
                    "max_payload_bytes: only webhook destinations have it, not {kind}"
                )))
            }
            Some(n) if n < MIN_PAYLOAD => {
                return Err(bad(format!(
                    "max_payload_bytes: {n} is below the smallest accepted, {MIN_PAYLOAD}"
                )))
            }
            n => n.map(|n| n.min(i64::MAX as u64) as i64),
        };
        Ok(Self {
            disable_after_ms,
            rate_limit,
            max_payload_bytes,
        })
    }

    pub fn apply(self, d: &mut destinations::Model) {
        d.disable_after_ms = self.disable_after_ms;
        d.rate_limit = self.rate_limit;
        d.max_payload_bytes = self.max_payload_bytes;
    }
}

/// A duration as the shortest exact form a client would write: `"5d"`, `"90m"`, `"1500ms"`.
pub fn format_duration(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms > 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back_as_written() {
        assert_eq!(format_duration(5 * 86_400_000), "5d");
        assert_eq!(format_duration(90 * 60_000), "90m");
        assert_eq!(format_duration(30_000), "30s");
        assert_eq!(format_duration(1500), "1500ms");
    }
}
