//! Delivery attempt counters and latency histogram of this process, and the
//! Prometheus text of `GET /metrics` (these plus gauges read from the database).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    /// (destination type, outcome) → attempts.
    attempts: BTreeMap<(String, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

pub fn observe_attempt(kind: &str, ok: bool, latency: Duration) {
    let mut r = registry().lock().expect("metrics registry");
    let outcome = if ok { "success" } else { "failure" };
    *r.attempts.entry((kind.to_string(), outcome)).or_default() += 1;
    let h = r.latency.entry(kind.to_string()).or_default();
    let secs = latency.as_secs_f64();
    for (i, upper) in BUCKETS.iter().enumerate() {
        if secs <= *upper {
            h.counts[i] += 1;
        }
    }
    h.count += 1;
    h.sum += secs;
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Result<Vec<(String, String, i64)>, DbErr> {
    let out = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    out.iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "a")?,
                r.try_get::<Option<String>>("", "b")?.unwrap_or_default(),
                r.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// The whole exposition.
pub async fn render(db: &DatabaseConnection) -> Result<String, DbErr> {
    let mut out = String::new();
    let w = &mut out;
    let now = crate::db::now_ms();

    let by_type = rows(
        db,
        "SELECT COALESCE(dst.kind, 'template_webhook') AS a, d.status AS b, COUNT(*) AS n \
         FROM deliveries d LEFT JOIN destinations dst ON dst.id = d.destination_id \
         GROUP BY COALESCE(dst.kind, 'template_webhook'), d.status",
    )
    .await?;
    header(
        w,
        "docpush_deliveries",
        "gauge",
        "Stored deliveries by destination type and status.",
    );
    for (kind, status, n) in &by_type {
        let _ = writeln!(
            w,
            "docpush_deliveries{{destination_type=\"{kind}\",status=\"{status}\"}} {n}"
        );
    }
    let pending = rows(
        db,
        "SELECT 'pending' AS a, CAST(MIN(created_at) AS TEXT) AS b, COUNT(*) AS n \
         FROM deliveries WHERE status = 'pending'",
    )
    .await?;
    let (depth, oldest) = pending
        .first()
        .map(|(_, min, n)| (*n, min.parse::<i64>().ok()))
        .unwrap_or((0, None));
    header(
        w,
        "docpush_delivery_queue_depth",
        "gauge",
        "Deliveries waiting to be sent or retried.",
    );
    let _ = writeln!(w, "docpush_delivery_queue_depth {depth}");
    header(
        w,
        "docpush_delivery_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest undelivered delivery.",
    );
    let age = oldest.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
    let _ = writeln!(w, "docpush_delivery_oldest_pending_age_seconds {age}");

    {
        let r = registry().lock().expect("metrics registry");
        header(
            w,
            "docpush_delivery_attempts_total",
            "counter",
            "Delivery attempts made by this process, by destination type and outcome.",
        );
        for ((kind, outcome), n) in &r.attempts {
            let _ = writeln!(
                w,
                "docpush_delivery_attempts_total{{destination_type=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        header(
            w,
            "docpush_delivery_attempt_duration_seconds",
            "histogram",
            "Latency of delivery attempts made by this process.",
        );
        for (kind, h) in &r.latency {
            let name = "docpush_delivery_attempt_duration_seconds";
            for (i, upper) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    w,
                    "{name}_bucket{{destination_type=\"{kind}\",le=\"{upper}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                w,
                "{name}_bucket{{destination_type=\"{kind}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(w, "{name}_sum{{destination_type=\"{kind}\"}} {}", h.sum);
            let _ = writeln!(w, "{name}_count{{destination_type=\"{kind}\"}} {}", h.count);
        }
    }

    let jobs = rows(
        db,
        "SELECT status AS a, NULL AS b, COUNT(*) AS n FROM jobs GROUP BY status",
    )
    .await?;
    header(w, "docpush_jobs", "gauge", "Stored jobs by status.");
    for (status, _, n) in &jobs {
        let _ = writeln!(w, "docpush_jobs{{status=\"{status}\"}} {n}");
    }
    let docs = rows(
        db,
        "SELECT status AS a, CAST(CAST(COALESCE(SUM(pages), 0) AS BIGINT) AS TEXT) AS b, COUNT(*) AS n \
         FROM files GROUP BY status",
    )
    .await?;
    header(
        w,
        "docpush_documents",
        "gauge",
        "Stored documents by status.",
    );
    for (status, _, n) in &docs {
        let _ = writeln!(w, "docpush_documents{{status=\"{status}\"}} {n}");
    }
    header(
        w,
        "docpush_pages",
        "gauge",
        "Pages of stored documents by document status.",
    );
    for (status, pages, _) in &docs {
        let _ = writeln!(
            w,
            "docpush_pages{{status=\"{status}\"}} {}",
            pages.parse::<i64>().unwrap_or(0)
        );
    }
    Ok(out)
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}
