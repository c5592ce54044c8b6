//! Documents through the real HTTP API to a local webhook receiver, end to
//! end, with `pdftotext` (or the `tesseract` command for scans) on the same
//! files as a reference.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::{bail, Context};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::json;

use docpush::config::Settings;
use docpush::startup::Application;
use docpush_samples::{invoice_template_fields, Invoice};

use crate::Args;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Documents (text PDFs, or scans with `ocr`) through the API to a receiver.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    if args.documents == 0 {
        bail!("--documents must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("docpush-bench-{}", uuid::Uuid::new_v4().simple()));
    let result = run_in(&dir, args).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn run_in(dir: &std::path::Path, args: &Args) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    settings.data_dir = dir.join("data");
    settings.database_url = None;
    settings.bind = "127.0.0.1:0".into();
    settings.dev_account = false;
    // What is measured is the engine at full queue, not the admission control
    // that keeps a shared server's queue short.
    settings.limits.max_queued_documents = 0;
    settings.delivery.allowed_networks = vec!["127.0.0.0/8".parse()?];
    let (workers, ocr_threads) = (settings.workers, settings.ocr_threads);
    let app = Application::build(settings).await?;
    let port = app.port();
    let services = app.services().clone();
    let credits = (args.documents as i64) * 2 + 10;
    let key = services.accounts.create("bench", credits).await?.key;
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

    let pdf_dir = dir.join("docs");
    std::fs::create_dir_all(&pdf_dir)?;
    let ext = if args.ocr { "png" } else { "pdf" };
    let docs: Vec<Vec<u8>> = if args.ocr {
        scanned_pages(args.documents).await?
    } else {
        (0..args.documents)
            .map(|i| Invoice::numbered(i).pdf())
            .collect()
    };
    for (i, d) in docs.iter().enumerate() {
        std::fs::write(pdf_dir.join(format!("{i}.{ext}")), d)?;
    }
    let bodies: Vec<String> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "template_id": template_id,
                "actual_image": base64::engine::general_purpose::STANDARD.encode(d),
                "file_name": format!("{i}.{ext}"),
            })
            .to_string()
        })
        .collect();

    let what = if args.ocr {
        "one-page 200 DPI scans (PNG)"
    } else {
        "two-page text PDFs"
    };
    println!(
        "docpush-bench: {} {what}, {} in flight, SQLite, {workers} job workers, {ocr_threads} OCR threads",
        args.documents,
        args.concurrency,
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

    let big = if args.ocr {
        Some(twenty_page_scan(&http, &base, &key, &template_id, &received).await?)
    } else {
        None
    };
    stop.cancel();
    server.await??;
    receiver_handle.stop(true).await;

    let unit = if args.ocr { "pages" } else { "documents" };
    print_stages(&services.stages, args.documents);
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
        "end to end (first submit to last webhook): {:.2} s = {ours:.2} {unit}/s",
        end_to_end.as_secs_f64()
    );
    if let Some((elapsed, rss_kib)) = big {
        println!(
            "20-page scanned PDF as one document: {:.2} s = {:.2} pages/s; peak RSS of this process {} MiB",
            elapsed.as_secs_f64(),
            20.0 / elapsed.as_secs_f64(),
            rss_kib / 1024
        );
    }

    // Reference: the raw tool, one process per file, on the same files.
    let (tool, label) = if args.ocr {
        ("tesseract", "tesseract (OMP_THREAD_LIMIT=1)")
    } else {
        ("pdftotext", "pdftotext -layout")
    };
    let t = Instant::now();
    for i in 0..args.documents {
        let input = pdf_dir.join(format!("{i}.{ext}"));
        let mut cmd = std::process::Command::new(tool);
        if args.ocr {
            cmd.arg(&input)
                .arg(pdf_dir.join(i.to_string()))
                .env("OMP_THREAD_LIMIT", "1");
        } else {
            cmd.arg("-layout")
                .arg(&input)
                .arg(pdf_dir.join(format!("{i}.txt")));
        }
        let status = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => bail!("{tool} failed: {s}"),
            Err(e) => {
                println!("{tool} reference skipped: {e} (run scripts/setup)");
                return Ok(());
            }
        }
    }
    let raw = args.documents as f64 / t.elapsed().as_secs_f64();
    println!(
        "{label}, one file at a time: {:.2} s = {raw:.2} {unit}/s",
        t.elapsed().as_secs_f64()
    );
    println!("ratio docpush end-to-end / {tool}: {:.2}", ours / raw);
    Ok(())
}

/// Where the time went: each stage's wall time summed over all tasks, per
/// document. Stages overlap (several workers, the API and the senders run
/// at once), so the column adds up to more than the end-to-end time.
pub(super) fn print_stages(stages: &docpush::stages::Stages, documents: usize) {
    let per_doc = |d: Duration| d.as_secs_f64() * 1000.0 / documents as f64;
    let line: Vec<String> = stages
        .totals()
        .into_iter()
        .map(|(stage, spent)| format!("{}={:.2}", stage.name(), per_doc(spent)))
        .collect();
    println!(
        "per-stage ms per document (summed over concurrent tasks): {}",
        line.join(" ")
    );
}

/// One-page scans: the sample invoice rendered at 200 DPI, slightly turned and speckled.
pub(crate) async fn scanned_pages(n: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let pdf = Invoice::numbered(i).pdf();
        let pages = docpush::extraction::pdf::PdfEngine::global()
            .render(pdf, 200, u64::MAX)
            .await?;
        let angle = if i % 2 == 0 { 0.8 } else { -0.6 };
        out.push(docpush_samples::png(&docpush_samples::degrade(
            &pages[0], angle, 0.0005, i as u64,
        )));
    }
    Ok(out)
}

/// Submits a 20-page image-only PDF and waits for its webhook; returns the
/// time and the process's peak resident memory in KiB.
async fn twenty_page_scan(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    template_id: &str,
    received: &AtomicUsize,
) -> anyhow::Result<(Duration, u64)> {
    let pdf = Invoice::numbered(1).pdf();
    let pages = docpush::extraction::pdf::PdfEngine::global()
        .render(pdf, 200, u64::MAX)
        .await?;
    let scans: Vec<image::GrayImage> = (0..20)
        .map(|i| docpush_samples::degrade(&pages[i % 2], 0.5, 0.0005, i as u64))
        .collect();
    let pdf = docpush_samples::scanned_pdf(&scans);
    drop(scans);
    let body = json!({
        "template_id": template_id,
        "actual_image": base64::engine::general_purpose::STANDARD.encode(&pdf),
        "file_name": "twenty.pdf",
    });
    let before = received.load(Ordering::SeqCst);
    let t = Instant::now();
    let resp = http
        .post(format!("{base}/process-job"))
        .header("x-auth", key)
        .json(&body)
        .send()
        .await?;
    if resp.status().as_u16() != 202 {
        bail!("submitting the 20-page PDF answered {}", resp.status());
    }
    while received.load(Ordering::SeqCst) == before {
        if t.elapsed() > Duration::from_secs(600) {
            bail!("the 20-page PDF did not finish within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = t.elapsed();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((elapsed, rss))
}
