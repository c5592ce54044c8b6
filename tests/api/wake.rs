//! Wake-ups across processes: on PostgreSQL, work announced through one
//! connection pool wakes the waiters of another at once (LISTEN/NOTIFY),
//! instead of after their idle poll.

use std::time::Duration;

use docpush::wake::{self, Wake};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::helpers::{fresh_postgres, postgres_or_skip};

#[tokio::test]
async fn postgres_only_work_announced_by_one_process_wakes_another() {
    // SQLite: one process, woken in memory.
    let Some(admin) = postgres_or_skip("postgres_only_work_announced_by_one_process_wakes_another")
    else {
        return;
    };
    let url = fresh_postgres(&admin).await;
    // Two pools, as two hosts would have.
    let here = docpush::db::connect(&url, 2).await.unwrap();
    let there = docpush::db::connect(&url, 2).await.unwrap();
    let announcer = Wake::new(&here, wake::JOBS);
    let waiter = Wake::new(&there, wake::JOBS);
    let other_kind = Wake::new(&there, wake::DELIVERIES);
    assert!(
        waiter.idle_poll() >= Duration::from_secs(5),
        "without announcements a waiter would have to poll often"
    );
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    wake::listen(
        &there,
        vec![
            (wake::JOBS, waiter.clone()),
            (wake::DELIVERIES, other_kind.clone()),
        ],
        token.clone(),
        &tracker,
    );
    // Listening wakes everyone once (for what was announced before), which
    // also says that the listener is in place.
    let within = Duration::from_secs(20);
    tokio::time::timeout(within, waiter.notified())
        .await
        .expect("the listener never started");
    tokio::time::timeout(within, other_kind.notified())
        .await
        .expect("the listener never started");

    for round in 0..3 {
        let woken = waiter.notified();
        announcer.notify_one();
        tokio::time::timeout(within, woken)
            .await
            .unwrap_or_else(|_| panic!("announcement {round} did not reach the other pool"));
        // A relayed announcement also leaves one wake-up for a waiter to
        // come; taken here, so that the next round is woken only by its own.
        let _ = tokio::time::timeout(Duration::from_millis(100), waiter.notified()).await;
    }
    // Only the channel announced on is woken.
    let stray = tokio::time::timeout(Duration::from_millis(300), other_kind.notified()).await;
    assert!(
        stray.is_err(),
        "a job announcement woke the delivery waiters"
    );

    token.cancel();
    tracker.close();
    tracker.wait().await;
}
