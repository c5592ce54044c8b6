//! Delivery attempt counters and latency histogram of this service, and the
//! Prometheus text of `GET /metrics` (these plus gauges read from the database).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db::metrics::Gauges;

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
    /// destination id → (attempts that waited for their turn, seconds waited, deliveries sent back to wait).
    throttled: BTreeMap<String, (u64, f64, u64)>,
}

/// What this service's delivery attempts came to; one per app, shared by
/// its dispatcher and its `/metrics`.
#[derive(Clone, Default)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
}

impl Metrics {
    pub fn observe_attempt(&self, kind: &str, ok: bool, latency: Duration) {
        let mut r = self.registry.lock().expect("metrics registry");
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

    /// A rate-limited attempt waited `wait` for its turn, or (`None`) went back to the queue.
    pub fn observe_throttle(
        &self,
        destination: &crate::types::DestinationId,
        wait: Option<Duration>,
    ) {
        let mut r = self.registry.lock().expect("metrics registry");
        let t = r.throttled.entry(destination.to_string()).or_default();
        match wait {
            Some(w) => {
                t.0 += 1;
                t.1 += w.as_secs_f64();
            }
            None => t.2 += 1,
        }
    }

    /// The whole exposition: the stored `gauges` and this service's attempts.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let w = &mut out;
        header(
            w,
            "docpush_deliveries",
            "gauge",
            "Stored deliveries by destination type and status.",
        );
        for (kind, status, n) in &gauges.deliveries {
            let _ = writeln!(
                w,
                "docpush_deliveries{{destination_type=\"{kind}\",status=\"{status}\"}} {n}"
            );
        }
        header(
            w,
            "docpush_delivery_queue_depth",
            "gauge",
            "Deliveries waiting to be sent or retried.",
        );
        let _ = writeln!(w, "docpush_delivery_queue_depth {}", gauges.pending);
        header(
            w,
            "docpush_delivery_oldest_pending_age_seconds",
            "gauge",
            "Age of the oldest undelivered delivery.",
        );
        let now = crate::db::now_ms();
        let age = gauges
            .oldest_pending_at
            .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
        let _ = writeln!(w, "docpush_delivery_oldest_pending_age_seconds {age}");
        self.render_attempts(w);
        header(w, "docpush_jobs", "gauge", "Stored jobs by status.");
        for (status, n) in &gauges.jobs {
            let _ = writeln!(w, "docpush_jobs{{status=\"{status}\"}} {n}");
        }
        header(
            w,
            "docpush_documents",
            "gauge",
            "Stored documents by status.",
        );
        for (status, n, _) in &gauges.documents {
            let _ = writeln!(w, "docpush_documents{{status=\"{status}\"}} {n}");
        }
        header(
            w,
            "docpush_pages",
            "gauge",
            "Pages of stored documents by document status.",
        );
        for (status, _, pages) in &gauges.documents {
            let _ = writeln!(w, "docpush_pages{{status=\"{status}\"}} {pages}");
        }
        out
    }

    fn render_attempts(&self, w: &mut String) {
        let r = self.registry.lock().expect("metrics registry");
        header(
            w,
            "docpush_delivery_throttled_total",
            "counter",
            "Attempts of this process that waited for their destination's rate limit.",
        );
        for (dest, (n, _, _)) in &r.throttled {
            let _ = writeln!(
                w,
                "docpush_delivery_throttled_total{{destination_id=\"{dest}\"}} {n}"
            );
        }
        header(
            w,
            "docpush_delivery_throttle_wait_seconds_total",
            "counter",
            "Time this process's attempts waited for their destination's rate limit.",
        );
        for (dest, (_, secs, _)) in &r.throttled {
            let _ = writeln!(
                w,
                "docpush_delivery_throttle_wait_seconds_total{{destination_id=\"{dest}\"}} {secs}"
            );
        }
        header(
            w,
            "docpush_delivery_throttle_requeued_total",
            "counter",
            "Deliveries this process put back in the queue to wait for their destination's rate limit.",
        );
        for (dest, (_, _, n)) in &r.throttled {
            let _ = writeln!(
                w,
                "docpush_delivery_throttle_requeued_total{{destination_id=\"{dest}\"}} {n}"
            );
        }
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
        let name = "docpush_delivery_attempt_duration_seconds";
        for (kind, h) in &r.latency {
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
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}
