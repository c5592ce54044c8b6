//! `docpush-bench --hostile`: the inputs an attacker with a valid key would
//! send to exhaust memory, each against a fresh `docpush serve` process, with
//! the process's peak resident memory (VmHWM) read from /proc when the input
//! has been dealt with. The budget is about 500 MB per input.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use image::{GrayImage, Luma, RgbImage};
use serde_json::{json, Value};

use docpush_samples::{self as samples, PageSpec};

/// The service binary: `DOCPUSH_BIN`, else the `docpush` built beside this
/// one (`cargo build --release --workspace` builds both).
fn docpush_binary() -> anyhow::Result<std::path::PathBuf> {
    if let Some(bin) = std::env::var_os("DOCPUSH_BIN") {
        return Ok(bin.into());
    }
    let beside = std::env::current_exe()?.with_file_name("docpush");
    if !beside.exists() {
        bail!(
            "{} is missing: build the service with cargo build --release --workspace, or set DOCPUSH_BIN",
            beside.display()
        );
    }
    Ok(beside)
}

/// Peak memory one input may cost the server.
const BUDGET_MB: f64 = 500.0;

struct Server {
    child: Child,
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Server {
    async fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let data = dir.join("data");
        let child = Command::new(docpush_binary()?)
            .arg("serve")
            .env("DOCPUSH_DATA_DIR", &data)
            .env("DOCPUSH_BIND", format!("127.0.0.1:{port}"))
            .env("DOCPUSH_DEV_ACCOUNT", "true")
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .spawn()
            .context("starting docpush serve")?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/healthz")).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("docpush serve did not start");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let key = std::fs::read_to_string(data.join(docpush::startup::DEV_KEY_FILE))?
            .trim()
            .to_string();
        Ok(Self {
            child,
            base,
            key,
            http,
        })
    }

    fn memory_mb(&self, field: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{field} in /proc/{}/status", self.child.id()))?;
        Ok(kb / 1024.0)
    }

    async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> anyhow::Result<(u16, Value)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-auth", &self.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    async fn template(&self, fields: Value) -> anyhow::Result<String> {
        let body = json!({"name": "bench", "fields": fields});
        let (status, t) = self.post("/v1/templates", body.to_string()).await?;
        if status != 201 {
            bail!("creating a template: {status} {t}");
        }
        Ok(t["id"].as_str().context("template id")?.to_string())
    }

    /// Submits `doc` and waits for its job to end; returns its final status.
    async fn submit(&self, template: &str, doc: &[u8], name: &str) -> anyhow::Result<Value> {
        let body = json!({
            "template_id": template,
            "actual_image": base64::engine::general_purpose::STANDARD.encode(doc),
            "file_name": name,
        });
        let (status, accepted) = self.post("/process-job", body.to_string()).await?;
        if status != 202 {
            return Ok(json!({"status": status, "error": accepted}));
        }
        let job = accepted["job_id"].as_str().context("job id")?;
        loop {
            let s: Value = self
                .http
                .get(format!("{}/job-status?job_id={job}", self.base))
                .header("x-auth", &self.key)
                .send()
                .await?
                .json()
                .await?;
            if s["status"] == "SUCCESS" || s["status"] == "FAILED" {
                return Ok(s);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// How many rows the finished job's first document holds.
    async fn rows(&self, status: &Value) -> anyhow::Result<usize> {
        let job = status["job_id"].as_str().context("job id")?;
        let body = json!({"job_id": job, "result_format": "json"});
        let (code, results) = self.post("/v1/job-results", body.to_string()).await?;
        if code != 200 {
            bail!("results: {code} {results}");
        }
        Ok(results["results"][0]["result"]["transactions"]
            .as_array()
            .map_or(0, Vec::len))
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// What happened to a job, in a few words: its status and the first error.
fn outcome(status: &Value) -> String {
    let error = status["files"]
        .as_array()
        .and_then(|f| f.iter().find_map(|f| f["error"].as_str()))
        .or_else(|| status["error"].as_str())
        .unwrap_or("");
    let mut out = status["status"].as_str().unwrap_or("?").to_string();
    if let Some(files) = status["files"].as_array() {
        out.push_str(&format!(" ({} documents", files.len()));
        if let Some(skipped) = status["skipped"].as_array().filter(|s| !s.is_empty()) {
            out.push_str(&format!(", {} skipped", skipped.len()));
        }
        out.push(')');
    }
    if !error.is_empty() {
        out.push_str(": ");
        out.extend(error.chars().take(90));
    }
    out
}

/// A one-page PDF whose 10000×10000 pt page holds only a tiny image.
fn poster_pdf() -> Vec<u8> {
    let img = GrayImage::from_pixel(8, 8, Luma([255]));
    let page = PageSpec::Jpeg {
        data: samples::jpeg(&img, 90),
        width: 8,
        height: 8,
    };
    samples::pdf_pages_sized(&[page], 10_000.0, 10_000.0)
}

/// `pages` blank colour pages of `side`×`side`, each one strip (the whole page
/// decodes at once), deflate-compressed into a small file.
fn tiff_pages(pages: usize, side: u32) -> anyhow::Result<Vec<u8>> {
    use tiff::encoder::{colortype::RGB8, Compression, DeflateLevel, TiffEncoder};
    let white = vec![255u8; (side * side * 3) as usize];
    let mut out = std::io::Cursor::new(Vec::new());
    let mut enc =
        TiffEncoder::new(&mut out)?.with_compression(Compression::Deflate(DeflateLevel::Fast));
    for _ in 0..pages {
        let mut img = enc.new_image::<RGB8>(side, side)?;
        img.rows_per_strip(side)?;
        img.write_data(&white)?;
    }
    Ok(out.into_inner())
}

/// A ZIP of `entries` documents of `size` bytes each that compress about 150:1
/// (under the ratio limit of 200): PNG signatures over mostly zeros.
fn inflating_zip(entries: usize, size: usize) -> anyhow::Result<Vec<u8>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut data = vec![0u8; size];
    data[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    // A random byte every 600 or so keeps deflate near 150:1.
    let mut at = 8;
    while at < size {
        data[at] = rng.gen();
        at += rng.gen_range(300..900);
    }
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..entries {
        w.start_file(
            format!("{i:02}.png"),
            zip::write::SimpleFileOptions::default(),
        )?;
        w.write_all(&data)?;
    }
    Ok(w.finish()?.into_inner())
}

struct Case {
    input: String,
    outcome: String,
    peak_mb: f64,
    idle_mb: f64,
    seconds: f64,
}

pub async fn run(only: Option<&str>) -> anyhow::Result<()> {
    if !std::path::Path::new("/proc/self/status").exists() {
        bail!("--hostile reads peak memory from /proc; it runs on Linux");
    }
    let dir =
        std::env::temp_dir().join(format!("docpush-hostile-{}", uuid::Uuid::new_v4().simple()));
    let result = run_in(&dir, only).await;
    std::fs::remove_dir_all(&dir).ok();
    let cases = result?;
    println!(
        "\n{:<58} {:>9} {:>9} {:>7}  outcome",
        "input", "peak MB", "idle MB", "secs"
    );
    let mut over = 0;
    for c in &cases {
        let mark = if c.peak_mb > BUDGET_MB {
            over += 1;
            "  OVER BUDGET"
        } else {
            ""
        };
        println!(
            "{:<58} {:>9.0} {:>9.0} {:>7.1}  {}{mark}",
            c.input, c.peak_mb, c.idle_mb, c.seconds, c.outcome
        );
    }
    println!(
        "\nbudget: {BUDGET_MB:.0} MB peak per input (the server process's VmHWM, fresh server per input); {over} over"
    );
    if over > 0 {
        bail!("{over} input(s) over the {BUDGET_MB:.0} MB budget");
    }
    Ok(())
}

async fn run_in(dir: &std::path::Path, only: Option<&str>) -> anyhow::Result<Vec<Case>> {
    let mut cases = Vec::new();
    let huge_body = format!("{{\"name\": \"{}\"}}", "x".repeat(200_000_000));
    let inputs: Vec<(&str, Input)> = vec![
        (
            "200 MB JSON body to 4 JSON endpoints",
            Input::Bodies(huge_body),
        ),
        (
            "PDF: 10000x10000 pt image-only page",
            Input::Doc(poster_pdf(), "poster.pdf"),
        ),
        (
            "TIFF: 25 pages of 10000x10000 (100 Mpx each)",
            Input::Doc(tiff_pages(25, 10_000)?, "over.tiff"),
        ),
        // The largest pages accepted: 44 Mpx of RGB, each decoded at once (128 MiB).
        (
            "TIFF: 25 one-strip RGB pages of 6600x6600 (44 Mpx)",
            Input::Doc(tiff_pages(25, 6_600)?, "at-limit.tiff"),
        ),
        (
            "PNG: one RGB image of 6600x6600 (44 Mpx)",
            Input::Doc(samples_png_rgb(6_600), "big.png"),
        ),
        (
            "ZIP: 5 MB inflating to 1 GiB (25 x 40 MiB entries)",
            Input::Doc(inflating_zip(25, 40 << 20)?, "bomb.zip"),
        ),
        // Rows must grow with the pages, not with their square.
        (
            "Statement PDF: 10 pages, 500 rows in a table",
            Input::Statement(statement_pdf(10)),
        ),
        (
            "Statement PDF: 100 pages, 5,000 rows",
            Input::Statement(statement_pdf(100)),
        ),
        (
            "Statement PDF: 200 pages, 10,000 rows",
            Input::Statement(statement_pdf(200)),
        ),
    ];
    let chosen = inputs
        .into_iter()
        .filter(|(name, _)| only.is_none_or(|o| name.contains(o)));
    for (i, (name, input)) in chosen.enumerate() {
        let case_dir = dir.join(i.to_string());
        std::fs::create_dir_all(&case_dir)?;
        let server = Server::start(&case_dir).await?;
        let fields = match &input {
            Input::Statement(..) => statement_fields(),
            _ => samples::invoice_template_fields(),
        };
        let template = server.template(fields).await?;
        let idle_mb = server.memory_mb("VmRSS:")?;
        let started = Instant::now();
        let (outcome, size) = match &input {
            Input::Bodies(body) => {
                let mut answers = Vec::new();
                for path in [
                    "/v1/templates",
                    "/v1/job-results",
                    "/v1/destinations",
                    "/v1/destinations/test",
                ] {
                    // The server may answer and close before the whole body is sent.
                    answers.push(match server.post(path, body.clone()).await {
                        Ok((status, err)) => {
                            format!("{status} {}", err["error"].as_str().unwrap_or(""))
                        }
                        Err(_) => "connection closed early".to_string(),
                    });
                }
                answers.dedup();
                (answers.join(", "), body.len())
            }
            Input::Doc(bytes, file_name) => (
                outcome(&server.submit(&template, bytes, file_name).await?),
                bytes.len(),
            ),
            Input::Statement(bytes) => {
                let status = server.submit(&template, bytes, "statement.pdf").await?;
                let rows = server.rows(&status).await?;
                (format!("{}, {rows} rows", outcome(&status)), bytes.len())
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let peak_mb = server.memory_mb("VmHWM:")?;
        server.stop();
        std::fs::remove_dir_all(&case_dir).ok();
        println!("{name}: {size} bytes sent, peak {peak_mb:.0} MB, {outcome}");
        cases.push(Case {
            input: name.to_string(),
            outcome,
            peak_mb,
            idle_mb,
            seconds,
        });
    }
    Ok(cases)
}

enum Input {
    Bodies(String),
    Doc(Vec<u8>, &'static str),
    /// A statement PDF read with a table field.
    Statement(Vec<u8>),
}

/// Rows printed on each page of the statements.
const ROWS_PER_PAGE: usize = 50;

/// A bank statement of `pages` text pages, each with the table's header and
/// [`ROWS_PER_PAGE`] transactions: the long tables line items must survive.
fn statement_pdf(pages: usize) -> Vec<u8> {
    let specs: Vec<Vec<samples::Text>> = (0..pages)
        .map(|p| {
            let mut page = vec![
                samples::text(
                    40.0,
                    30.0,
                    12.0,
                    format!("Statement of account, page {}", p + 1),
                ),
                samples::text(40.0, 56.0, 9.0, "Date"),
                samples::text(110.0, 56.0, 9.0, "Description"),
                samples::text(420.0, 56.0, 9.0, "Amount"),
                samples::text(500.0, 56.0, 9.0, "Balance"),
            ];
            for r in 0..ROWS_PER_PAGE {
                let y = 70.0 + 13.5 * r as f32;
                let n = p * ROWS_PER_PAGE + r;
                page.push(samples::text(
                    40.0,
                    y,
                    9.0,
                    format!("{:02}/{:02}/2025", n % 28 + 1, n / 28 % 12 + 1),
                ));
                page.push(samples::text(
                    110.0,
                    y,
                    9.0,
                    format!("Card payment {n} to merchant"),
                ));
                page.push(samples::text(
                    420.0,
                    y,
                    9.0,
                    format!("{}.{:02}", n % 900 + 1, n % 100),
                ));
                page.push(samples::text(500.0, y, 9.0, format!("{}.00", 10_000 + n)));
            }
            page.push(samples::text(40.0, 760.0, 8.0, "Carried forward"));
            page
        })
        .collect();
    samples::pdf(&specs)
}

fn statement_fields() -> Value {
    json!([{"name": "transactions", "type": "lines", "table": {
        "columns": {"date": "Date", "description": "Description", "amount": "Amount", "balance": "Balance"},
        "end": "^Carried forward",
        "types": {"date": "date", "amount": "number", "balance": "number"}}}])
}

fn samples_png_rgb(side: u32) -> Vec<u8> {
    let img = RgbImage::from_pixel(side, side, image::Rgb([250, 250, 250]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding an in-memory PNG");
    out.into_inner()
}
