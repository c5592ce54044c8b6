//! `docpush-bench --delivery --destinations N`: the shape of Hookdeck
//! Outpost's benchmark plan. N tenants (accounts), each with one webhook
//! destination on a receiver of its own port; events offered at `--rate` per
//! second for `--seconds`, spread evenly over the tenants; one receiver in ten
//! answers 500 a third of the time. Every receiver records when each event id
//! first reached it (the time docpush adds between the event and its first
//! attempt) and its first 2xx; the run ends when every event is acknowledged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::bail;
use rand::Rng;
use sea_orm::TransactionTrait;
use serde_json::{json, Value};

use docpush::config::Settings;
use docpush::delivery::{self, NewEvent};
use docpush::types::{AccountId, DeliveryStatus, EventType, JobId, TemplateChoice, TemplateId};

use super::delivery_bench::{now_ms, percentile, start, webhook_destination};

/// What one receiver saw.
#[derive(Default)]
struct Seen {
    requests: usize,
    /// Event id → time from the event's `timestamp` to its first attempt.
    first: HashMap<String, Duration>,
    /// The load's sequence number → when the event first arrived (ms).
    first_at: HashMap<u64, i64>,
    /// Event ids acknowledged (2xx), and how many were acknowledged again.
    acked: HashMap<String, u32>,
    /// The load's own sequence number → the event ids it arrived under:
    /// one event stored twice would arrive under two.
    ids_of: HashMap<u64, String>,
    distinct_duplicates: usize,
}

/// Every receiver: one HTTP server listening on one port per receiver.
struct Receivers {
    urls: Vec<String>,
    seen: Vec<Arc<Mutex<Seen>>>,
    handle: actix_web::dev::ServerHandle,
}

fn receivers(n: usize, flaky_every: usize, fail_rate: f64) -> anyhow::Result<Receivers> {
    let mut listeners = Vec::with_capacity(n);
    let mut by_port = HashMap::new();
    let mut seen = Vec::with_capacity(n);
    let mut urls = Vec::with_capacity(n);
    for i in 0..n {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        let s = Arc::new(Mutex::new(Seen::default()));
        let rate = if i % flaky_every == flaky_every - 1 {
            fail_rate
        } else {
            0.0
        };
        by_port.insert(port, (s.clone(), rate));
        seen.push(s);
        urls.push(format!("http://127.0.0.1:{port}/hook"));
        listeners.push(l);
    }
    let by_port = Arc::new(by_port);
    let mut server = HttpServer::new(move || {
        let by_port = by_port.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let by_port = by_port.clone();
            async move {
                let at = now_ms();
                let port = req.app_config().local_addr().port();
                let Some((seen, fail_rate)) = by_port.get(&port) else {
                    return HttpResponse::NotFound().finish();
                };
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let id = v["event_id"].as_str().unwrap_or_default().to_string();
                let sent = v["timestamp"]
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map_or(at, |d| d.timestamp_millis());
                let fail = *fail_rate > 0.0 && rand::thread_rng().gen_bool(*fail_rate);
                let mut s = seen.lock().expect("seen");
                s.requests += 1;
                s.first
                    .entry(id.clone())
                    .or_insert(Duration::from_millis((at - sent).max(0) as u64));
                if let Some(seq) = v["data"]["seq"].as_u64() {
                    s.first_at.entry(seq).or_insert(at);
                }
                if fail {
                    return HttpResponse::InternalServerError().finish();
                }
                if let Some(seq) = v["data"]["seq"].as_u64() {
                    let known = s.ids_of.entry(seq).or_insert_with(|| id.clone());
                    if *known != id {
                        s.distinct_duplicates += 1;
                    }
                }
                *s.acked.entry(id).or_default() += 1;
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(2)
    .disable_signals();
    for l in listeners {
        server = server.listen(l)?;
    }
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(Receivers { urls, seen, handle })
}

pub async fn run(
    settings: Settings,
    tenants: usize,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    if tenants == 0 || rate == 0 || seconds == 0 {
        bail!("--destinations, --rate and --seconds must be at least 1");
    }
    measure(settings, tenants, rate, seconds).await
}

async fn measure(
    mut settings: Settings,
    tenants: usize,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    settings.bind = "127.0.0.1:0".into();
    settings.dev_account = false;
    settings.delivery.allowed_networks = vec!["127.0.0.0/8".parse()?];
    // A short schedule: a third of failures needs a few attempts at most, and
    // the run measures the engine rather than the schedule's tail.
    settings.delivery.retry_schedule = [100, 200, 400]
        .into_iter()
        .chain(std::iter::repeat_n(500, 20))
        .map(Duration::from_millis)
        .collect();
    let backend = if settings.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let concurrency = settings.delivery.concurrency;
    let (services, stop, server) = start(settings).await?;

    let rx = receivers(tenants, 10, 1.0 / 3.0)?;
    let mut accounts: Vec<AccountId> = Vec::with_capacity(tenants);
    for (i, url) in rx.urls.iter().enumerate() {
        let account = services
            .accounts
            .create(&format!("tenant-{i}"), 0)
            .await?
            .account;
        webhook_destination(&services, &account.id, url).await?;
        accounts.push(account.id);
    }
    let events = rate as usize * seconds as usize;
    println!(
        "docpush-bench --delivery --destinations {tenants}: {events} events offered at {rate}/s for {seconds} s, \
         one tenant each round, {tenants} webhook receivers (one in ten answers 500 a third of the time), \
         {backend}, {concurrency} concurrent attempts"
    );

    let (job_id, template_id) = (JobId::new(), TemplateChoice::Fixed(TemplateId::new()));
    // Offered in ticks of 100 ms, each one transaction (as a batch producer
    // stores its outcomes), the tenants taken in turn. An event exists for
    // docpush once its transaction commits: its added latency counts from then.
    let tick = Duration::from_millis(100);
    let per_tick = (rate as usize / 10).max(1);
    let mut committed = vec![0i64; events];
    let started = Instant::now();
    let mut seq = 0usize;
    let mut late_ticks = 0usize;
    while seq < events {
        let n = per_tick.min(events - seq);
        let mut by_account: HashMap<usize, Vec<usize>> = HashMap::new();
        for s in seq..seq + n {
            by_account.entry(s % tenants).or_default().push(s);
        }
        let txn = services.db.begin().await?;
        for (tenant, seqs) in by_account {
            let evs = seqs
                .into_iter()
                .map(|s| NewEvent {
                    event_type: EventType::ExtractionProcessed,
                    account_id: &accounts[tenant],
                    job_id: Some(&job_id),
                    about: None,
                    file_id: None,
                    template_id: &template_id,
                    origin: docpush::types::Origin::System,
                    data: json!({"seq": s, "result": {"total": s}}),
                })
                .collect();
            delivery::emit_all(&txn, evs, None).await?;
        }
        txn.commit().await?;
        let at = now_ms();
        committed[seq..seq + n].fill(at);
        services.deliveries_ready.notify_one();
        seq += n;
        let due = started + tick * (seq / per_tick) as u32;
        if Instant::now() > due + tick {
            late_ticks += 1;
        }
        tokio::time::sleep_until(due.into()).await;
    }
    let offered_in = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(900);
    let acked = |rx: &Receivers| {
        rx.seen
            .iter()
            .map(|s| s.lock().expect("seen").acked.len())
            .sum::<usize>()
    };
    while acked(&rx) < events {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = |status| {
        let filter = docpush::db::deliveries::DeliveryFilter {
            status: Some(status),
            ..Default::default()
        };
        let db = services.db.clone();
        let accounts = accounts.clone();
        async move {
            let mut n = 0;
            for a in &accounts {
                n += docpush::db::deliveries::list(&db, a, &filter, 1000)
                    .await?
                    .len();
            }
            anyhow::Ok(n)
        }
    };
    let failed = count(DeliveryStatus::Failed).await?;
    stop.cancel();
    server.await??;
    rx.handle.stop(true).await;

    let mut healthy = Vec::new();
    let mut flaky = Vec::new();
    let mut stamped = Vec::new();
    let (mut requests, mut again, mut distinct) = (0, 0, 0);
    let mut got = 0;
    for (i, s) in rx.seen.iter().enumerate() {
        let s = s.lock().expect("seen");
        requests += s.requests;
        again += s.acked.values().filter(|n| **n > 1).count();
        distinct += s.distinct_duplicates;
        got += s.acked.len();
        let into = if i % 10 == 9 {
            &mut flaky
        } else {
            &mut healthy
        };
        into.extend(
            s.first_at.iter().map(|(seq, at)| {
                Duration::from_millis((at - committed[*seq as usize]).max(0) as u64)
            }),
        );
        if i % 10 != 9 {
            stamped.extend(s.first.values().copied());
        }
    }
    healthy.sort();
    flaky.sort();
    stamped.sort();
    let lost = events - got.min(events);
    println!(
        "offered {events} events in {:.2} s ({late_ticks} ticks late); all acknowledged in {:.2} s; {requests} requests",
        offered_in.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "added latency, event stored to first attempt: healthy receivers p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, p99.9 {:.0} ms; flaky receivers p50 {:.0} ms, p99 {:.0} ms",
        ms(percentile(&healthy, 0.5)),
        ms(percentile(&healthy, 0.9)),
        ms(percentile(&healthy, 0.99)),
        ms(percentile(&healthy, 0.999)),
        ms(percentile(&flaky, 0.5)),
        ms(percentile(&flaky, 0.99)),
    );
    println!(
        "  counted from the event's own timestamp (inside the producer's transaction): healthy p50 {:.0} ms, p99 {:.0} ms",
        ms(percentile(&stamped, 0.5)),
        ms(percentile(&stamped, 0.99)),
    );
    println!(
        "fanout: destinations={tenants} events={events} lost={lost} duplicates_distinct_ids={distinct} \
         redelivered_same_id={again} dead_lettered={failed} p50_ms={:.0} p99_ms={:.0}",
        ms(percentile(&healthy, 0.5)),
        ms(percentile(&healthy, 0.99)),
    );
    if lost > 0 || distinct > 0 || failed > 0 {
        bail!("events were lost or duplicated");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
