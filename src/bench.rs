//! `docpush bench`: documents through the real HTTP API to a local webhook
//! receiver, end to end, with `pdftotext` on the same files as a reference.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::{bail, Context};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::json;

use crate::config::Settings;
use crate::samples::{invoice_template_fields, Invoice};
use crate::startup::Application;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Documents to submit (two-page text PDFs).
    #[arg(long, default_value_t = 200)]
    pub documents: usize,
    /// Submissions in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.documents == 0 {
        bail!("--documents must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("docpush-bench-{}", uuid::Uuid::new_v4().simple()));
    let result = run_in(&dir, &args).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    settings.data_dir = dir.join("data");
    settings.database_url = None;
    settings.bind = "127.0.0.1:0".into();
    settings.dev_account = false;
    settings.delivery.allowed_networks = vec!["127.0.0.0/8".parse()?];
    let app = Application::build(settings).await?;
    let port = app.port();
    let (_, key) =
        crate::db::accounts::create(&app.state().db, "bench", (args.documents as i64) * 2 + 10)
            .await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(app.run_until_stopped(async move { stopped.cancelled().await }));

    // The receiver counts deliveries of extraction events.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let receiver_port = listener.local_addr()?.port();
    let receiver = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let receiver_handle = receiver.handle();
    tokio::spawn(receiver);

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let template: serde_json::Value = http
        .post(format!("{base}/v1/templates"))
        .header("x-auth", &key)
        .json(&json!({
            "name": "bench",
            "fields": invoice_template_fields(),
            "webhook": {"url": format!("http://127.0.0.1:{receiver_port}/hook")},
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let template_id = template["id"].as_str().context("template id")?.to_string();

    let pdf_dir = dir.join("pdfs");
    std::fs::create_dir_all(&pdf_dir)?;
    let docs: Vec<Vec<u8>> = (0..args.documents)
        .map(|i| Invoice::numbered(i).pdf())
        .collect();
    for (i, d) in docs.iter().enumerate() {
        std::fs::write(pdf_dir.join(format!("{i}.pdf")), d)?;
    }
    let bodies: Vec<String> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "template_id": template_id,
                "actual_image": base64::engine::general_purpose::STANDARD.encode(d),
                "file_name": format!("{i}.pdf"),
            })
            .to_string()
        })
        .collect();

    println!(
        "docpush bench: {} two-page text PDFs, {} in flight, SQLite, {} job workers",
        args.documents,
        args.concurrency,
        std::thread::available_parallelism().map_or(2, |n| n.get())
    );
    let started = Instant::now();
    let latencies: Vec<anyhow::Result<Duration>> = futures_util::stream::iter(bodies)
        .map(|body| {
            let http = http.clone();
            let url = format!("{base}/process-job");
            let key = key.clone();
            async move {
                let t = Instant::now();
                let resp = http
                    .post(url)
                    .header("x-auth", key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                if resp.status().as_u16() != 202 {
                    bail!("submit answered {}", resp.status());
                }
                Ok(t.elapsed())
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let submitted_in = started.elapsed();
    let mut latencies: Vec<Duration> = latencies.into_iter().collect::<anyhow::Result<_>>()?;
    latencies.sort();

    let deadline = Instant::now() + Duration::from_secs(600);
    while received.load(Ordering::SeqCst) < args.documents {
        if Instant::now() > deadline {
            bail!(
                "only {} of {} webhooks arrived within 10 minutes",
                received.load(Ordering::SeqCst),
                args.documents
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end_to_end = started.elapsed();
    stop.cancel();
    server.await??;
    receiver_handle.stop(true).await;

    let ours = args.documents as f64 / end_to_end.as_secs_f64();
    println!(
        "submitted {} documents in {:.2} s",
        args.documents,
        submitted_in.as_secs_f64()
    );
    println!(
        "submit latency: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "end to end (first submit to last webhook): {:.2} s = {ours:.1} documents/s",
        end_to_end.as_secs_f64()
    );

    // Reference: the raw text extractor, one process per file, on the same PDFs.
    let t = Instant::now();
    for i in 0..args.documents {
        let status = std::process::Command::new("pdftotext")
            .arg("-layout")
            .arg(pdf_dir.join(format!("{i}.pdf")))
            .arg(pdf_dir.join(format!("{i}.txt")))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => bail!("pdftotext failed: {s}"),
            Err(e) => {
                println!("pdftotext reference skipped: {e} (install poppler-utils)");
                return Ok(());
            }
        }
    }
    let raw = args.documents as f64 / t.elapsed().as_secs_f64();
    println!(
        "pdftotext -layout, one file at a time: {:.2} s = {raw:.1} documents/s",
        t.elapsed().as_secs_f64()
    );
    println!("ratio docpush end-to-end / pdftotext: {:.2}", ours / raw);
    Ok(())
}
