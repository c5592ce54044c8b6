//! A destination's `rate_limit` (SPEC §4): before each attempt its sender
//! takes the destination's next start slot, shared with every process
//! through the database, and waits for it. A slot further away than a few
//! seconds is not taken: the delivery goes back to the queue for a while,
//! so a backlog waits in the database rather than in claims that lapse.

use std::time::Duration;

use super::worker::Dispatcher;
use crate::db::{self, DbError};
use crate::types::DestinationId;

/// The furthest slot a sender waits for.
const HORIZON: Duration = Duration::from_secs(5);

/// How long a delivery that found no slot within the horizon stays queued.
pub(super) const REQUEUE_FOR: Duration = Duration::from_secs(2);

/// What became of the wait for a turn.
pub(super) enum Turn {
    /// The slot came: the attempt may start.
    Go,
    /// No slot within the horizon: the delivery waits in the queue.
    Later,
}

/// Waits for destination `id`'s next slot under `per_second`.
pub(super) async fn wait_turn(
    state: &Dispatcher,
    id: &DestinationId,
    per_second: i64,
) -> Result<Turn, DbError> {
    let horizon = HORIZON.as_micros() as i64;
    let Some((slot, now)) =
        db::rate_slots::reserve(&state.db, id, interval(per_second), horizon).await?
    else {
        state.metrics.observe_throttle(id, None);
        return Ok(Turn::Later);
    };
    let wait = Duration::from_micros((slot - now).max(0) as u64);
    if !wait.is_zero() {
        state.metrics.observe_throttle(id, Some(wait));
        tokio::time::sleep(wait).await;
    }
    Ok(Turn::Go)
}

/// The spacing of starts for `per_second`, rounded up, with 0.5 % to spare
/// for the moment between a slot and its request: never more than
/// `per_second` starts in a second, and less than 1 % fewer.
fn interval(per_second: i64) -> i64 {
    (1_005_000 + per_second - 1) / per_second.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_never_allow_more_than_the_limit_in_a_second() {
        for n in [1, 3, 7, 20, 999, 10_000] {
            let i = interval(n);
            assert!(n * i > 1_000_000, "{n}/s: {i} µs apart");
            assert!(n * i <= 1_010_000, "{n}/s: {i} µs apart");
        }
    }
}
