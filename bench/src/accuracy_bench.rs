//! `docpush-bench --accuracy`: the corpus of real-world layouts through the
//! service's HTTP API, each document's values compared with what a person
//! reads off the page.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{json, Value};

use docpush::config::Settings;
use docpush::startup::Application;

use super::corpus::{self, CorpusDoc};

/// Right and total field counts.
#[derive(Default, Clone, Copy)]
struct Score {
    right: usize,
    total: usize,
}

impl Score {
    fn add(&mut self, right: bool) {
        self.total += 1;
        self.right += usize::from(right);
    }

    fn percent(self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            100.0 * self.right as f64 / self.total as f64
        }
    }
}

/// Whether an extracted value is the true one (numbers to a millionth).
fn same(got: &Value, want: &Value) -> bool {
    match (got.as_f64(), want.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        _ => got == want,
    }
}

pub async fn run(per_layout: usize, concurrency: usize) -> anyhow::Result<()> {
    if per_layout == 0 {
        bail!("--per-layout must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!(
        "docpush-accuracy-{}",
        uuid::Uuid::new_v4().simple()
    ));
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
    let mut settings = Settings::from_env()?;
    settings.data_dir = dir.join("data");
    settings.database_url = None;
    settings.bind = "127.0.0.1:0".into();
    settings.dev_account = false;
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

    let mut templates = BTreeMap::new();
    for layout in &layouts {
        let mut body = layout.template.clone();
        body["name"] = json!(layout.name);
        let created: Value = http
            .post(format!("{base}/v1/templates"))
            .header("x-auth", &key)
            .json(&body)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("creating the {} template", layout.name))?
            .json()
            .await?;
        templates.insert(
            layout.name,
            created["id"].as_str().context("template id")?.to_string(),
        );
    }

    println!(
        "docpush-bench --accuracy: {} layouts × {per_layout} documents, each as a text PDF and a scan; {concurrency} in flight",
        layouts.len()
    );
    let (text, scans): (Vec<&CorpusDoc>, Vec<&CorpusDoc>) =
        docs.iter().partition(|d| d.kind == "text PDF");
    // `--ocr`'s clean scans, as many as the corpus's, through the same server.
    let clean_template: Value = http
        .post(format!("{base}/v1/templates"))
        .header("x-auth", &key)
        .json(&json!({"name": "clean", "fields": docpush_samples::invoice_template_fields()}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    templates.insert(
        CLEAN,
        clean_template["id"]
            .as_str()
            .context("template id")?
            .to_string(),
    );
    let clean: Vec<CorpusDoc> = crate::bench::scanned_pages(scans.len())
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| CorpusDoc {
            layout: CLEAN,
            kind: "clean scan".into(),
            file_name: format!("clean-{i:02}.png"),
            bytes,
            truth: Default::default(),
        })
        .collect();
    let client = Client {
        http: &http,
        base: &base,
        key: &key,
        templates: &templates,
        auto: false,
    };
    let mut rows = Vec::new();
    let mut pages_per_s = BTreeMap::new();
    let dirty = scans.clone();
    for (phase, set) in [
        ("text PDFs", text),
        ("scans", scans),
        ("clean scans (--ocr's)", clean.iter().collect()),
    ] {
        let started = Instant::now();
        let results: Vec<anyhow::Result<(&CorpusDoc, Value)>> =
            futures_util::stream::iter(set.iter().copied())
                .map(|doc| {
                    let client = &client;
                    async move { Ok((doc, client.extract(doc).await?)) }
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        let elapsed = started.elapsed();
        let results: Vec<(&CorpusDoc, Value)> =
            results.into_iter().collect::<anyhow::Result<_>>()?;
        let pages: u64 = results
            .iter()
            .filter_map(|(_, f)| f["pages"].as_u64())
            .sum();
        let rate = pages as f64 / elapsed.as_secs_f64();
        println!(
            "{phase}: {} documents ({pages} pages) in {:.2} s = {:.2} documents/s, {rate:.2} pages/s",
            results.len(),
            elapsed.as_secs_f64(),
            results.len() as f64 / elapsed.as_secs_f64()
        );
        pages_per_s.insert(phase, (rate, pages));
        if phase != "clean scans (--ocr's)" {
            rows.extend(results);
        }
    }
    stop.cancel();
    server.await??;
    report(&rows);

    let files: Vec<(&str, &[u8])> = dirty
        .iter()
        .map(|d| (d.file_name.as_str(), d.bytes.as_slice()))
        .collect();
    let (took, cores) = super::ocr_reference::run(&dir.join("reference"), &files)?;
    let (scans, pages) = pages_per_s["scans"];
    let (clean, _) = pages_per_s["clean scans (--ocr's)"];
    let command = pages as f64 / took.as_secs_f64();
    println!(
        "tesseract command on the same scans, one file at a time on each of {cores} cores: {:.2} s = {command:.2} pages/s",
        took.as_secs_f64()
    );
    println!(
        "scans: ratio docpush / tesseract command {:.2}; ratio to clean scans {:.2}",
        scans / command,
        scans / clean
    );
    Ok(())
}

/// The layout name of `--ocr`'s clean scans.
const CLEAN: &str = "clean";

pub(crate) struct Client<'a> {
    pub http: &'a reqwest::Client,
    pub base: &'a str,
    pub key: &'a str,
    pub templates: &'a BTreeMap<&'static str, String>,
    /// Submit with `"template_id": "auto"` instead of the layout's template.
    pub auto: bool,
}

impl Client<'_> {
    /// Submits one document and waits for its result (`result` member of the file).
    pub async fn extract(&self, doc: &CorpusDoc) -> anyhow::Result<Value> {
        let submitted: Value = self
            .http
            .post(format!("{}/process-job", self.base))
            .header("x-auth", self.key)
            .json(&json!({
                "template_id": if self.auto { "auto" } else { self.templates[doc.layout].as_str() },
                "actual_image": base64::engine::general_purpose::STANDARD.encode(&doc.bytes),
                "file_name": doc.file_name,
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let job = submitted["job_id"].as_str().context("job id")?.to_string();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let status: Value = self
                .http
                .get(format!("{}/job-status", self.base))
                .query(&[("job_id", &job)])
                .header("x-auth", self.key)
                .send()
                .await?
                .json()
                .await?;
            if matches!(status["status"].as_str(), Some("SUCCESS" | "FAILED")) {
                break;
            }
            if Instant::now() > deadline {
                bail!("{} did not finish within 10 minutes", doc.file_name);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let results: Value = self
            .http
            .post(format!("{}/v1/job-results", self.base))
            .header("x-auth", self.key)
            .json(&json!({"job_id": job}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(results["results"][0].clone())
    }
}

/// The values a field is scored by: itself, or for line items every cell
/// (`items.amount`), a row missing or extra counting each of its cells wrong.
fn values(name: &str, got: &Value, want: &Value) -> Vec<(String, Value, Value)> {
    let Some(want_rows) = want.as_array().filter(|r| r.iter().all(Value::is_object)) else {
        return vec![(name.to_string(), got.clone(), want.clone())];
    };
    let got_rows = got.as_array().cloned().unwrap_or_default();
    let columns: Vec<String> = want_rows
        .iter()
        .flat_map(|r| r.as_object().into_iter().flatten().map(|(k, _)| k.clone()))
        .fold(Vec::new(), |mut seen, c| {
            if !seen.contains(&c) {
                seen.push(c);
            }
            seen
        });
    let mut out = Vec::new();
    for i in 0..want_rows.len().max(got_rows.len()) {
        for c in &columns {
            let cell = |rows: &[Value]| rows.get(i).map_or(Value::Null, |r| r[c.as_str()].clone());
            let (g, w) = (cell(&got_rows), cell(want_rows));
            // An extra row is wrong even where its cell is null.
            let w = if i >= want_rows.len() {
                json!("(no such row)")
            } else {
                w
            };
            out.push((format!("{name}.{c}"), g, w));
        }
    }
    out
}

/// Prints field accuracy per kind and layout, and the fields most often wrong.
fn report(rows: &[(&CorpusDoc, Value)]) {
    let mut by_kind: BTreeMap<String, Score> = BTreeMap::new();
    let mut by_layout: BTreeMap<(&str, bool), Score> = BTreeMap::new();
    let mut by_field: BTreeMap<(bool, &str, String), (Score, Vec<String>)> = BTreeMap::new();
    let (mut text, mut scans) = (Score::default(), Score::default());
    // Tables read with exactly as many rows as printed, text PDFs and scans apart.
    let mut tables: BTreeMap<bool, (Score, Vec<String>)> = BTreeMap::new();
    for (doc, file) in rows {
        let scan = doc.kind != "text PDF";
        for (name, want) in &doc.truth {
            if let Some(printed) = want.as_array().filter(|r| r.iter().all(Value::is_object)) {
                let read = file["result"][name.as_str()].as_array().map_or(0, Vec::len);
                let entry = tables.entry(scan).or_default();
                entry.0.add(read == printed.len());
                if read != printed.len() {
                    entry.1.push(format!(
                        "{} {name}: {read} rows, {} printed",
                        doc.file_name,
                        printed.len()
                    ));
                }
            }
            for (what, got, want) in values(name, &file["result"][name.as_str()], want) {
                let right = same(&got, &want);
                by_kind.entry(doc.kind.clone()).or_default().add(right);
                by_layout.entry((doc.layout, scan)).or_default().add(right);
                if scan { &mut scans } else { &mut text }.add(right);
                let entry = by_field.entry((scan, doc.layout, what)).or_default();
                entry.0.add(right);
                if !right {
                    entry
                        .1
                        .push(format!("{}: got {got}, want {want}", doc.file_name));
                }
            }
        }
    }
    println!("\nfield accuracy by kind");
    for (kind, s) in &by_kind {
        println!(
            "  {kind:<12} {:>4}/{:<4} {:6.2}%",
            s.right,
            s.total,
            s.percent()
        );
    }
    println!(
        "  {:<12} {:>4}/{:<4} {:6.2}%",
        "all text",
        text.right,
        text.total,
        text.percent()
    );
    println!(
        "  {:<12} {:>4}/{:<4} {:6.2}%",
        "all scans",
        scans.right,
        scans.total,
        scans.percent()
    );
    println!("\nline item tables with exactly the rows printed");
    for (scan, (s, misses)) in &tables {
        let kind = if *scan { "scans" } else { "text PDFs" };
        println!("  {kind:<12} {:>4}/{:<4}", s.right, s.total);
        for m in misses {
            println!("    {m}");
        }
    }
    println!("\nfield accuracy by layout (text PDFs | scans)");
    let layouts: Vec<&str> = by_layout
        .keys()
        .map(|(l, _)| *l)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for l in layouts {
        let t = by_layout.get(&(l, false)).copied().unwrap_or_default();
        let s = by_layout.get(&(l, true)).copied().unwrap_or_default();
        println!("  {l:<16} {:6.2}% | {:6.2}%", t.percent(), s.percent());
    }
    let mut worst: Vec<_> = by_field
        .iter()
        .filter(|(_, (s, _))| s.right < s.total)
        .collect();
    worst.sort_by_key(|(_, (s, _))| std::cmp::Reverse(s.total - s.right));
    println!("\nworst fields");
    if worst.is_empty() {
        println!("  none: every field right");
    }
    for ((scan, layout, field), (s, misses)) in worst.into_iter().take(10) {
        let kind = if *scan { "scans" } else { "text" };
        println!(
            "  {layout}.{field} ({kind}): {} of {} wrong",
            s.total - s.right,
            s.total
        );
        for m in misses.iter().take(3) {
            println!("    {m}");
        }
    }
}
