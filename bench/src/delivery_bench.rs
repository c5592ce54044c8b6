//! `docpush-bench --delivery`: N events fanned out to two local webhook
//! destinations, one healthy and one answering 500 half of the time. The
//! events are emitted straight into the store as the job workers would, so
//! only delivery is measured. Each receiver records the first acknowledgement
//! of every event id; nothing may be missing when the run ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::bail;
use rand::Rng;
use sea_orm::TransactionTrait;
use serde_json::{json, Value};

use docpush::config::Settings;
use docpush::delivery::{self, NewEvent};
use docpush::startup::{Application, Services};
use docpush::types::{
    AccountId, Actor, DeliveryStatus, EventType, JobId, TemplateChoice, TemplateId,
};

#[derive(Default)]
struct Tally {
    requests: usize,
    /// Event id → latency from the event's timestamp to its first 2xx.
    acked: HashMap<String, Duration>,
    duplicates: usize,
}

struct Receiver {
    url: String,
    tally: Arc<Mutex<Tally>>,
    handle: actix_web::dev::ServerHandle,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A receiver that answers 500 with probability `fail_rate`.
fn receiver(fail_rate: f64) -> anyhow::Result<Receiver> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let t = tally.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        let t = t.clone();
        App::new().default_service(web::to(move |body: web::Bytes| {
            let t = t.clone();
            async move {
                let fail = rand::thread_rng().gen_bool(fail_rate);
                let mut tally = t.lock().expect("tally");
                tally.requests += 1;
                if fail {
                    return HttpResponse::InternalServerError().finish();
                }
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let id = v["event_id"].as_str().unwrap_or_default().to_string();
                let sent = v["timestamp"]
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map_or(0, |d| d.timestamp_millis());
                let latency = Duration::from_millis((now_ms() - sent).max(0) as u64);
                if tally.acked.insert(id, latency).is_some() {
                    tally.duplicates += 1;
                }
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(Receiver {
        url: format!("http://127.0.0.1:{port}/hook"),
        tally,
        handle,
    })
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The shape of a delivery run.
pub enum Shape {
    /// `events` to two destinations of one account, as fast as `rate` allows (0: unlimited).
    TwoDestinations { events: usize, rate: u32 },
    /// One destination per tenant, events offered at `rate` for `seconds`.
    Tenants {
        destinations: usize,
        rate: u32,
        seconds: u64,
    },
}

pub async fn run(shape: Shape) -> anyhow::Result<()> {
    if matches!(shape, Shape::TwoDestinations { events: 0, .. }) {
        bail!("--events must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("docpush-bench-{}", uuid::Uuid::new_v4().simple()));
    let result = run_in(&dir, shape).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// The service with its workers, until the token is cancelled.
pub(crate) async fn start(
    settings: Settings,
) -> anyhow::Result<(
    Services,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    let app = Application::build(settings).await?;
    let services = app.services().clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(app.run_until_stopped(async move { stopped.cancelled().await }));
    Ok((services, stop, server))
}

/// A webhook destination of `account` for `extraction.processed`, to `url`.
pub(crate) async fn webhook_destination(
    services: &Services,
    account: &AccountId,
    url: &str,
) -> anyhow::Result<()> {
    let body =
        json!({"type": "webhook", "config": {"url": url}, "events": ["extraction.processed"]});
    services
        .destinations
        .create(account, serde_json::from_value(body)?, &Actor::System)
        .await
        .map_err(|e| anyhow::anyhow!("creating a destination: {e}"))?;
    Ok(())
}

/// A database of its own on the server `DATABASE_URL` names, dropped afterwards.
struct BenchDatabase {
    admin: String,
    name: String,
}

impl BenchDatabase {
    async fn create(admin: &str) -> anyhow::Result<(Self, String)> {
        use sea_orm::ConnectionTrait;
        let name = format!("docpush_bench_{}", uuid::Uuid::new_v4().simple());
        let conn = sea_orm::Database::connect(admin).await?;
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        conn.close().await?;
        let (server, _) = admin
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database name"))?;
        let url = format!("{server}/{name}");
        Ok((
            Self {
                admin: admin.to_string(),
                name,
            },
            url,
        ))
    }

    async fn drop_it(self) {
        use sea_orm::ConnectionTrait;
        if let Ok(conn) = sea_orm::Database::connect(&self.admin).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            conn.execute_unprepared(&sql).await.ok();
        }
    }
}

async fn run_in(dir: &std::path::Path, shape: Shape) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    settings.data_dir = dir.join("data");
    let server_db = match settings.database_url.take() {
        Some(url) if url.expose().starts_with("postgres") => {
            let (db, own) = BenchDatabase::create(url.expose()).await?;
            settings.database_url = Some(docpush::config::DatabaseUrl::from(own));
            Some(db)
        }
        _ => None,
    };
    let result = match shape {
        Shape::TwoDestinations { events, rate } => measure(settings, events, rate).await,
        Shape::Tenants {
            destinations,
            rate,
            seconds,
        } => super::fanout_bench::run(settings, destinations, rate, seconds).await,
    };
    if let Some(db) = server_db {
        db.drop_it().await;
    }
    result
}

async fn measure(mut settings: Settings, events: usize, rate: u32) -> anyhow::Result<()> {
    settings.bind = "127.0.0.1:0".into();
    settings.dev_account = false;
    settings.delivery.allowed_networks = vec!["127.0.0.0/8".parse()?];
    // Short retries so that the run measures the engine, not the schedule's
    // tail (the last of 10,000 events at 50 % failure needs about 14 attempts);
    // 24 attempts leave about 6e-8 odds of a dead letter per event.
    settings.delivery.retry_schedule = [20, 40, 80, 160]
        .into_iter()
        .chain(std::iter::repeat_n(200, 20))
        .map(Duration::from_millis)
        .collect();
    let concurrency = settings.delivery.concurrency;
    let backend = if settings.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let per_destination = settings.delivery.per_destination;
    let (services, stop, server) = start(settings).await?;
    let account = services.accounts.create("bench", 0).await?.account;

    let healthy = receiver(0.0)?;
    let flaky = receiver(0.5)?;
    for r in [&healthy, &flaky] {
        webhook_destination(&services, &account.id, &r.url).await?;
    }
    println!(
        "docpush-bench --delivery: {events} events to 2 webhook destinations (one answers 500 half of the time), \
         {backend}, {concurrency} concurrent attempts, {per_destination} per destination, rate {}",
        if rate == 0 { "unlimited".to_string() } else { format!("{rate} events/s") }
    );

    let (job_id, template_id) = (JobId::new(), TemplateChoice::Fixed(TemplateId::new()));
    let started = Instant::now();
    let batch = 50usize;
    let mut emitted = 0usize;
    while emitted < events {
        let n = batch.min(events - emitted);
        // The load is made as a batch producer makes it (one read of the
        // destinations, one insert each for events and deliveries), so that
        // the two cores go to the engine under test rather than to the load.
        let batch_events = (emitted..emitted + n)
            .map(|i| NewEvent {
                event_type: EventType::ExtractionProcessed,
                account_id: &account.id,
                job_id: Some(&job_id),
                about: None,
                file_id: None,
                template_id: &template_id,
                origin: docpush::types::Origin::System,
                data: json!({"job_id": job_id, "file_name": format!("{i}.pdf"), "result": {"total": i}}),
            })
            .collect();
        let txn = services.db.begin().await?;
        delivery::emit_all(&txn, batch_events, None).await?;
        txn.commit().await?;
        services.deliveries_ready.notify_one();
        emitted += n;
        if rate > 0 {
            let due = started + Duration::from_secs_f64(emitted as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
    }
    let emitted_in = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let done = [&healthy, &flaky]
            .iter()
            .all(|r| r.tally.lock().expect("tally").acked.len() >= events);
        if done {
            break;
        }
        if Instant::now() > deadline {
            bail!("not every event was acknowledged within 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    // Let settlements land before counting rows.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = |status| {
        let filter = docpush::db::deliveries::DeliveryFilter {
            status: Some(status),
            ..Default::default()
        };
        let (db, account_id) = (services.db.clone(), account.id.clone());
        async move { docpush::db::deliveries::list(&db, &account_id, &filter, 10).await }
    };
    let pending = count(DeliveryStatus::Pending).await?.len();
    let failed = count(DeliveryStatus::Failed).await?.len();
    stop.cancel();
    server.await??;

    println!(
        "emitted {events} events in {:.2} s",
        emitted_in.as_secs_f64()
    );
    let total = 2 * events;
    println!(
        "{total} deliveries acknowledged in {:.2} s = {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    for (name, r) in [("healthy", &healthy), ("500 half the time", &flaky)] {
        let line = {
            let t = r.tally.lock().expect("tally");
            let mut lat: Vec<Duration> = t.acked.values().copied().collect();
            lat.sort();
            format!(
                "  {name}: {} of {events} events acknowledged, {} requests, {} duplicates; event to receipt p50 {:.0} ms, p99 {:.0} ms",
                t.acked.len(),
                t.requests,
                t.duplicates,
                percentile(&lat, 0.5).as_secs_f64() * 1000.0,
                percentile(&lat, 0.99).as_secs_f64() * 1000.0,
            )
        };
        println!("{line}");
        r.handle.stop(true).await;
    }
    let lost = [&healthy, &flaky]
        .iter()
        .map(|r| events - r.tally.lock().expect("tally").acked.len().min(events))
        .sum::<usize>();
    println!("lost: {lost}; deliveries still pending: {pending}; dead-lettered: {failed}");
    super::bench::print_stages(&services.stages, total);
    let (duplicates, p50, p99) = {
        let t = healthy.tally.lock().expect("tally");
        let mut lat: Vec<Duration> = t.acked.values().copied().collect();
        lat.sort();
        (t.duplicates, percentile(&lat, 0.5), percentile(&lat, 0.99))
    };
    println!(
        "delivery: deliveries_per_s={:.0} lost={lost} duplicates={duplicates} p50_ms={:.0} p99_ms={:.0}",
        total as f64 / elapsed.as_secs_f64(),
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0
    );
    if lost > 0 || failed > 0 {
        bail!("events were not delivered")
    }
    Ok(())
}
