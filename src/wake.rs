//! Wake-ups for idle job workers and delivery dispatchers: inside a process
//! through a `Notify`; across processes, on PostgreSQL, through LISTEN/NOTIFY,
//! so that a worker on another host starts on new work at once instead of
//! finding it by polling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One kind of work that can be waited for.
#[derive(Clone)]
pub struct Wake {
    local: Arc<Notify>,
    /// Set on PostgreSQL: the channel other processes listen on.
    remote: Option<Remote>,
}

#[derive(Clone)]
struct Remote {
    db: DatabaseConnection,
    channel: &'static str,
    /// A NOTIFY is wanted / one is being sent: many wake-ups in a burst become
    /// a few NOTIFYs, and the last one is always sent after the last wake-up.
    wanted: Arc<AtomicBool>,
    sending: Arc<AtomicBool>,
}

pub const JOBS: &str = "docpush_jobs";
pub const DELIVERIES: &str = "docpush_deliveries";
pub const TASKS: &str = "docpush_tasks";

impl Wake {
    /// In-process only, unless `db` is PostgreSQL.
    pub fn new(db: &DatabaseConnection, channel: &'static str) -> Self {
        let remote = crate::db::is_postgres(db).then(|| Remote {
            db: db.clone(),
            channel,
            wanted: Arc::new(AtomicBool::new(false)),
            sending: Arc::new(AtomicBool::new(false)),
        });
        Self {
            local: Arc::new(Notify::new()),
            remote,
        }
    }

    /// Wakes one waiter here and, on PostgreSQL, the listeners of every process.
    pub fn notify_one(&self) {
        self.local.notify_one();
        if let Some(r) = &self.remote {
            r.wanted.store(true, Ordering::SeqCst);
            if !r.sending.swap(true, Ordering::SeqCst) {
                tokio::spawn(r.clone().send());
            }
        }
    }

    /// Wakes one waiter in this process only: for work this process made
    /// due for itself, such as a retry it just scheduled.
    pub fn notify_here(&self) {
        self.local.notify_one();
    }

    pub fn notified(&self) -> Notified<'_> {
        self.local.notified()
    }

    /// How long an idle loop waits before looking again without a wake-up:
    /// long where other processes' work is announced, short where it is not.
    pub fn idle_poll(&self) -> Duration {
        if self.remote.is_some() {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(500)
        }
    }
}

impl Remote {
    async fn send(self) {
        loop {
            while self.wanted.swap(false, Ordering::SeqCst) {
                let sql = format!("NOTIFY {}", self.channel);
                if let Err(e) = self.db.execute_unprepared(&sql).await {
                    // Other processes still find the work by their idle poll.
                    tracing::debug!(error = %e, "NOTIFY failed");
                }
            }
            self.sending.store(false, Ordering::SeqCst);
            // A wake-up that arrived after the last swap and before the store
            // above would otherwise wait for the next one.
            if !self.wanted.load(Ordering::SeqCst) || self.sending.swap(true, Ordering::SeqCst) {
                return;
            }
        }
    }
}

/// On PostgreSQL, relays the other processes' NOTIFYs to this process's
/// waiters until `token` is cancelled; does nothing on SQLite.
pub fn listen(
    db: &DatabaseConnection,
    wakes: Vec<(&'static str, Wake)>,
    token: CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) {
    if !crate::db::is_postgres(db) {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    tracker.spawn(async move {
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                Err(e) = relay(&pool, &wakes) => {
                    tracing::warn!(error = %e, "listening for work on PostgreSQL failed; trying again");
                },
            }
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
}

/// Wakes this process's waiters for each NOTIFY; returns only when listening fails.
async fn relay(
    pool: &sea_orm::sqlx::PgPool,
    wakes: &[(&'static str, Wake)],
) -> Result<std::convert::Infallible, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen_all(wakes.iter().map(|(c, _)| *c)).await?;
    // Work announced while no one listened is found now.
    wakes.iter().for_each(|(_, w)| w.local.notify_one());
    loop {
        match listener.try_recv().await? {
            // A burst of work announced once: every idle waiter looks, and
            // one wake-up is kept for a waiter that is about to wait.
            Some(n) => {
                if let Some((_, w)) = wakes.iter().find(|(c, _)| *c == n.channel()) {
                    w.local.notify_waiters();
                    w.local.notify_one();
                }
            }
            // Reconnected: what was announced meanwhile was not heard.
            None => wakes.iter().for_each(|(_, w)| {
                w.local.notify_waiters();
                w.local.notify_one();
            }),
        }
    }
}
