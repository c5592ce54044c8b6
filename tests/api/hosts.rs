//! Processes of the real binary for the deployment tests: started with an
//! environment of their own, logged to a file, killed with SIGKILL when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};

use docpush_samples::Invoice;

/// One process of the deployment; killed when dropped.
pub struct Host {
    name: &'static str,
    child: Child,
    pub data: PathBuf,
    pub log: PathBuf,
}

impl Drop for Host {
    /// SIGKILL to the host's whole process group: a wrapper such as
    /// `faketime` runs the binary as its child, which would outlive it.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill").args(["-KILL", "--", &group]).status();
        if !killed.is_ok_and(|s| s.success()) {
            self.child.kill().ok();
        }
        self.child.wait().ok();
    }
}

impl Host {
    pub fn start(name: &'static str, role: &str, root: &Path, env: &[(&str, String)]) -> Self {
        Self::start_under(&[], name, role, root, env)
    }

    /// Started through `wrapper` (a command that runs the rest of its arguments).
    pub fn start_under(
        wrapper: &[&str],
        name: &'static str,
        role: &str,
        root: &Path,
        env: &[(&str, String)],
    ) -> Self {
        let data = root.join(name);
        let log = root.join(format!("{name}.log"));
        let binary = env!("CARGO_BIN_EXE_docpush");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        // A group of its own, so that dropping the host kills what a wrapper started.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.arg("serve")
            .args(Some(role).filter(|r| !r.is_empty()))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DOCPUSH_DATA_DIR", &data)
            .env("AWS_CONFIG_FILE", root.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                root.join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ));
        for (k, v) in env {
            cmd.env(k, v);
        }
        Host {
            name,
            child: cmd.spawn().expect("starting the docpush binary"),
            data,
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The lease owner names this process uses start with this.
    pub fn owner_prefix(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // The name, then the host it was made on.
            if let Ok(stored) = std::fs::read_to_string(self.data.join("worker-id")) {
                let id = stored.lines().next().unwrap_or_default();
                if id.len() == 32 && stored.lines().count() == 2 {
                    return format!("job-{id}.");
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} never started: {}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A program on `PATH`, or a panic saying how to get it.
pub fn which(program: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{program} is missing: run ./scripts/test-tools"))
        .to_string_lossy()
        .into_owned()
}

pub async fn rows(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
}

pub async fn scans(n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..n {
        let pages = docpush::extraction::pdf::PdfEngine::global()
            .render(Invoice::numbered(100 + i).pdf(), 200, u64::MAX)
            .await
            .unwrap();
        let page = docpush_samples::degrade(&pages[0], 0.6, 0.0005, i as u64);
        out.push(docpush_samples::png(&page));
    }
    out
}

/// A free port on 127.0.0.1 for a host to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A host's API as a client sees it.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn on(port: u16) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Saves a template with `key`; returns its view.
    pub async fn create_template(&self, key: &str, body: &serde_json::Value) -> serde_json::Value {
        self.http
            .post(format!("{}/v1/templates", self.base))
            .header("x-auth", key)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until `host` answers `/healthz`.
    pub async fn wait_started(&self, host: &Host) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "{} did not start: {}",
                host.name,
                host.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls each job until it is SUCCESS; FAILED or the deadline fails the
    /// test with `host`'s log. An answer other than 200 (the database may be
    /// down) is polled again.
    pub async fn wait_success(&self, key: &str, jobs: &[String], within: Duration, host: &Host) {
        let deadline = Instant::now() + within;
        for id in jobs {
            loop {
                let resp = self
                    .http
                    .get(format!("{}/job-status?job_id={id}", self.base))
                    .header("x-auth", key)
                    .send()
                    .await;
                let s: serde_json::Value = match resp {
                    Ok(r) if r.status().is_success() => r.json().await.unwrap(),
                    _ => serde_json::json!({"status": "unknown"}),
                };
                if s["status"] == "SUCCESS" {
                    break;
                }
                assert!(
                    s["status"] != "FAILED" && Instant::now() < deadline,
                    "job {id}: {s}\n{}'s log:\n{}",
                    host.name,
                    host.log()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
