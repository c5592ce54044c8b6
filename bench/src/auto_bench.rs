//! `docpush-bench --auto`: what choosing the template by keywords costs per
//! document when the account holds 500 templates with keywords, measured
//! beside the same documents submitted with their template named, in one run.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context};
use futures_util::StreamExt;
use serde_json::{json, Value};

use docpush::config::Settings;
use docpush::startup::Application;

use super::accuracy_bench::Client;
use super::corpus::{self, CorpusDoc};

/// Templates in the account: the corpus's six layouts and decoys.
const TEMPLATES: usize = 500;

pub async fn run(per_layout: usize, concurrency: usize) -> anyhow::Result<()> {
    if per_layout == 0 {
        bail!("--per-layout must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("docpush-auto-{}", uuid::Uuid::new_v4().simple()));
    let result = run_in(&dir, per_layout, concurrency).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn run_in(
    dir: &std::path::Path,
    per_layout: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let (layouts, docs) = corpus::documents(per_layout).await?;
    let docs: Vec<&CorpusDoc> = docs.iter().filter(|d| d.kind == "text PDF").collect();
    let mut settings = Settings::from_env()?;
    settings.data_dir = dir.join("data");
    settings.database_url = None;
    settings.bind = "127.0.0.1:0".into();
    settings.dev_account = false;
    settings.limits.max_queued_documents = 0;
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let key = app
        .services()
        .accounts
        .create("bench", 1_000_000)
        .await?
        .key;
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(app.run_until_stopped(async move { stopped.cancelled().await }));
    let http = reqwest::Client::new();
    let create = |body: Value| {
        let (http, base, key) = (&http, &base, &key);
        async move {
            let created: Value = http
                .post(format!("{base}/v1/templates"))
                .header("x-auth", key)
                .json(&body)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(created["id"].as_str().context("template id")?.to_string())
        }
    };
    let mut templates = BTreeMap::new();
    for layout in &layouts {
        let mut body = layout.template.clone();
        body["name"] = json!(layout.name);
        body["keywords"] = json!(docpush_samples::corpus::keywords(layout.name));
        templates.insert(layout.name, create(body).await?);
    }
    // Decoys as an account of many suppliers has them: a vendor's name and
    // its VAT number, an invoice word, now and then an exclusion.
    for i in templates.len()..TEMPLATES {
        create(json!({
            "name": format!("supplier {i}"),
            "keywords": [format!("Supplier {i} (?:GmbH|Ltd)"), format!("VAT\\s*DE{:09}", i * 7919), "(?i)invoice"],
            "exclude_keywords": if i % 5 == 0 { json!(["(?i)credit note"]) } else { json!([]) },
            "priority": (i % 9) as i64,
            "fields": [{"name": "total", "type": "number", "regex": "Total\\s+(\\S+)"}]
        }))
        .await?;
    }
    println!(
        "docpush-bench --auto: {} text PDFs of {} layouts, {TEMPLATES} templates with keywords in the account, {concurrency} in flight",
        docs.len(),
        layouts.len()
    );
    // The first auto document compiles the account's templates once (kept
    // until they change): timed apart, as what a change of templates costs.
    let warm = Client {
        http: &http,
        base: &base,
        key: &key,
        templates: &templates,
        auto: true,
    };
    let started = Instant::now();
    warm.extract(docs[0]).await?;
    println!(
        "first auto document (compiles the {TEMPLATES} templates): {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut rates = Vec::new();
    // Named, auto, named again, auto again: each mode twice, interleaved, on a noisy machine.
    for auto in [false, true, false, true] {
        let client = Client {
            http: &http,
            base: &base,
            key: &key,
            templates: &templates,
            auto,
        };
        let started = Instant::now();
        let results: Vec<anyhow::Result<(&CorpusDoc, Value)>> =
            futures_util::stream::iter(docs.iter().copied())
                .map(|doc| {
                    let client = &client;
                    async move { Ok((doc, client.extract(doc).await?)) }
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        let seconds = started.elapsed().as_secs_f64();
        let results: Vec<(&CorpusDoc, Value)> =
            results.into_iter().collect::<anyhow::Result<_>>()?;
        let wrong = results
            .iter()
            .filter(|(doc, file)| file["template_id"] != templates[doc.layout].as_str())
            .count();
        println!(
            "{}: {} documents in {seconds:.2} s = {:.1} documents/s; {wrong} read with another template",
            if auto { "auto " } else { "named" },
            results.len(),
            results.len() as f64 / seconds
        );
        if wrong > 0 {
            bail!("auto chose the wrong template for {wrong} documents");
        }
        rates.push((auto, seconds / results.len() as f64));
    }
    let mean = |auto: bool| {
        let v: Vec<f64> = rates
            .iter()
            .filter(|(a, _)| *a == auto)
            .map(|(_, s)| *s)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!(
        "choosing among {TEMPLATES} templates adds {:.2} ms per document (wall time per document: auto {:.2} ms, named {:.2} ms)",
        (mean(true) - mean(false)) * 1000.0,
        mean(true) * 1000.0,
        mean(false) * 1000.0
    );
    stop.cancel();
    server.await??;
    Ok(())
}
