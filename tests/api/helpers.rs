//! A real app per test: port 0, its own data dir, a fresh SQLite file (or a
//! fresh PostgreSQL database when TEST_DATABASE_URL points at a server), and
//! real HTTP receivers for webhooks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use docpush::config::Settings;
use docpush::startup::Application;
use docpush::startup::Services;
use docpush::types::AccountId;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub account_id: AccountId,
    pub state: Services,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres"))
}

/// The PostgreSQL server a `postgres_only_*` test runs against. Without one
/// the test says so and does nothing: `scripts/test` leaves these tests out of
/// its SQLite run by name, so they show there as filtered out, not passed.
pub fn postgres_or_skip(test: &str) -> Option<String> {
    let url = postgres_url();
    if url.is_none() {
        eprintln!("{test}: skipped: it needs PostgreSQL (TEST_DATABASE_URL)");
    }
    url
}

/// Whether a `sqlite_only_*` test (the binary on its embedded default) runs:
/// not in the PostgreSQL run, which leaves these tests out by name.
pub fn on_sqlite(test: &str) -> bool {
    let sqlite = postgres_url().is_none();
    if !sqlite {
        eprintln!("{test}: skipped: it runs on the embedded SQLite default");
    }
    sqlite
}

/// A new empty database on the test server: `…/docpush_test_<random>`.
pub async fn fresh_postgres(admin_url: &str) -> String {
    use sea_orm::ConnectionTrait;
    let name = format!("docpush_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(admin_url)
        .await
        .expect("connecting to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("creating a test database");
    admin.close().await.ok();
    let (prefix, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// Settings every test starts from: fast retries, short leases, loopback allowed.
pub async fn test_settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        dev_account: false,
        workers: 2,
        job_lease: Duration::from_secs(2),
        retention_interval: Duration::from_millis(100),
        ..Settings::default()
    };
    s.delivery.retry_schedule = vec![
        Duration::from_millis(200),
        Duration::from_millis(300),
        Duration::from_millis(400),
    ];
    s.delivery.timeout = Duration::from_secs(5);
    s.delivery.allowed_networks = vec!["127.0.0.0/8".parse().unwrap()];
    if let Some(url) = postgres_url() {
        s.database_url = Some(fresh_postgres(&url).await.into());
    }
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path()).await;
    configure(&mut settings);
    start(settings, dir, 1000).await
}

pub async fn start(settings: Settings, dir: tempfile::TempDir, credits: i64) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("building the app");
    let state = app.services().clone();
    let (account, key) = docpush::db::accounts::create(
        &state.db,
        &format!("acct-{}", uuid::Uuid::new_v4().simple()),
        credits,
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(app.run_until_stopped(async move { stopped.cancelled().await }));
    TestApp {
        base,
        key,
        account_id: account.id,
        state,
        // The server closes a connection after 75 s idle; a client that reuses
        // one just then loses the request it is writing. The client lets its
        // own idle connections go long before.
        http: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        dir,
        stop,
        server: Some(server),
    }
}

/// What a client is told: the status, `Retry-After` (seconds) and the JSON body.
pub async fn told(resp: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = resp.status().as_u16();
    let wait = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, wait, resp.json().await.unwrap_or(Value::Null))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl TestApp {
    /// Stops the API and the workers as SIGTERM would.
    pub async fn shutdown(&mut self) {
        self.stop.cancel();
        if let Some(s) = self.server.take() {
            s.await.unwrap().unwrap();
        }
    }

    /// Stops the app and starts it again on the same data dir and database with
    /// changed settings, as an operator restarting it would; accounts and keys stay.
    pub async fn restart(mut self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        self.shutdown().await;
        let mut settings = (*self.state.settings).clone();
        settings.bind = "127.0.0.1:0".into();
        configure(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("restarting the app");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.services().clone();
        let server = tokio::spawn(app.run_until_stopped(async move { stopped.cancelled().await }));
        TestApp {
            base,
            state,
            stop,
            server: Some(server),
            ..self
        }
    }

    /// Asserts the API still answers: health, and an authenticated read.
    pub async fn assert_serving(&self) {
        let health = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .expect("the server is still up");
        assert_eq!(health.status().as_u16(), 200);
        assert_eq!(
            self.get("/v1/templates", &self.key).await.status().as_u16(),
            200
        );
    }

    /// Another key of a new account with `credits`.
    pub async fn other_account(&self, credits: i64) -> String {
        let (_, key) = docpush::db::accounts::create(
            &self.state.db,
            &format!("acct-{}", uuid::Uuid::new_v4().simple()),
            credits,
        )
        .await
        .unwrap();
        key
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-auth", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(format!("{}{path}", self.base))
            .header("x-auth", &self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a destination; asserts 201 and returns its body.
    pub async fn create_destination(&self, body: Value) -> Value {
        let resp = self.post_json("/v1/destinations", &self.key, &body).await;
        assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);
        resp.json().await.unwrap()
    }

    /// A webhook destination for `url` taking `events` of every template.
    pub async fn webhook_destination(&self, url: &str, events: &[&str]) -> Value {
        self.create_destination(
            json!({"type": "webhook", "config": {"url": url}, "events": events}),
        )
        .await
    }

    /// The deliveries of the account matching `query` (e.g. `status=failed`).
    pub async fn deliveries(&self, query: &str) -> Vec<Value> {
        let resp = self
            .get(&format!("/v1/deliveries?{query}"), &self.key)
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.unwrap()
    }

    /// The published OpenAPI document (served without a key).
    pub async fn openapi(&self) -> Value {
        let resp = self.get("/openapi.json", "").await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("x-auth", key)
            .send()
            .await
            .unwrap()
    }

    /// Creates a template; returns its body (with `id` and the webhook secret).
    pub async fn create_template(&self, fields: Value, webhook_url: Option<&str>) -> Value {
        let mut body = json!({"name": "test template", "fields": fields});
        if let Some(url) = webhook_url {
            body["webhook"] = json!({"url": url, "headers": {"Authorization": "Bearer abc"}});
        }
        let resp = self.post_json("/v1/templates", &self.key, &body).await;
        assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);
        resp.json().await.unwrap()
    }

    pub async fn submit(
        &self,
        template_id: &str,
        bytes: &[u8],
        file_name: &str,
    ) -> reqwest::Response {
        self.post_json(
            "/process-job",
            &self.key,
            &json!({"template_id": template_id, "actual_image": b64(bytes), "file_name": file_name}),
        )
        .await
    }

    /// Submits one document, waits for the job to succeed and returns its result.
    pub async fn extract_one(&self, template_id: &str, bytes: &[u8], name: &str) -> Value {
        let job = self.submit_ok(template_id, bytes, name).await;
        let status = self.wait_finished(&job).await;
        assert_eq!(status["status"], "SUCCESS", "{name}: {status}");
        let results: Value = self.results(&job, "json").await.json().await.unwrap();
        results["results"][0].clone()
    }

    /// Submits and returns the job id, asserting 202.
    pub async fn submit_ok(&self, template_id: &str, bytes: &[u8], file_name: &str) -> String {
        let resp = self.submit(template_id, bytes, file_name).await;
        assert_eq!(resp.status().as_u16(), 202, "{:?}", resp.text().await);
        let body: Value = resp.json().await.unwrap();
        body["job_id"].as_str().unwrap().to_string()
    }

    pub async fn status(&self, job_id: &str) -> Value {
        let resp = self
            .get(&format!("/job-status?job_id={job_id}"), &self.key)
            .await;
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.unwrap()
    }

    /// Polls until the job is SUCCESS or FAILED (a scan's OCR in a debug
    /// build, beside other tests, can take tens of seconds).
    pub async fn wait_finished(&self, job_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let s = self.status(job_id).await;
            if s["status"] == "SUCCESS" || s["status"] == "FAILED" {
                return s;
            }
            assert!(Instant::now() < deadline, "job did not finish: {s}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn results(&self, job_id: &str, format: &str) -> reqwest::Response {
        self.post_json(
            "/v1/job-results",
            &self.key,
            &json!({"job_id": job_id, "result_format": format}),
        )
        .await
    }

    pub async fn credits(&self) -> i64 {
        let v: Value = self
            .get("/v1/account", &self.key)
            .await
            .json()
            .await
            .unwrap();
        v["credits"].as_i64().unwrap()
    }
}

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// A real HTTP server on 127.0.0.1 that records every request and answers
/// with planned status codes (then 200).
pub struct Receiver {
    pub url: String,
    requests: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<u16>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (r, p, d) = (requests.clone(), plan.clone(), delay.clone());
        let server = HttpServer::new(move || {
            let (r, p, d) = (r.clone(), p.clone(), d.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (r, p, d) = (r.clone(), p.clone(), d.clone());
                async move {
                    let wait = *d.lock().unwrap();
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    let mut headers = reqwest::header::HeaderMap::new();
                    for (k, v) in req.headers() {
                        headers.insert(
                            reqwest::header::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
                            reqwest::header::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
                        );
                    }
                    r.lock().unwrap().push(Received {
                        headers,
                        body: body.to_vec(),
                        at: Instant::now(),
                    });
                    let status = p.lock().unwrap().pop_front().unwrap_or(200);
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .body("ack")
                }
            }))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            requests,
            plan,
            delay,
        }
    }

    /// Every answer waits `d` first.
    pub fn set_delay(&self, d: Duration) {
        *self.delay.lock().unwrap() = d;
    }

    /// Forgets planned failures: every request is answered 200 from now on.
    pub fn recover(&self) {
        self.plan.lock().unwrap().clear();
    }

    /// The next `n` requests are answered with `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut p = self.plan.lock().unwrap();
        for _ in 0..n {
            p.push_back(status);
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} webhooks arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Polls `check` until it returns true.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The id `s` names, typed (ids in answers are strings).
pub fn id<T: docpush::types::Id>(s: &str) -> T {
    T::parse(s).unwrap_or_else(|| panic!("{s:?} is not a {}", T::KIND))
}
