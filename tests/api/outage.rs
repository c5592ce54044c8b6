//! A host that loses PostgreSQL or its S3 server for a while puts its work
//! back, retries with backoff and goes on: nothing is lost and nothing is
//! failed for it. The test runs its own PostgreSQL cluster and its own
//! SeaweedFS, and stops and starts each of them mid-run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{b64, eventually, told, Receiver};
use crate::hosts::{free_port, scans, Api, Host};
use crate::peers::{self, OwnSeaweed};
use docpush_samples::{invoice_template_fields, Invoice};

/// A PostgreSQL cluster of the test's own (Debian's server binaries, trust auth).
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn bin_dir() -> PathBuf {
        let versions = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries are missing: apt-get install postgresql");
        let newest = versions
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .max()
            .expect("a PostgreSQL version");
        newest.join("bin")
    }

    fn as_postgres(&self, program: &str, args: &[&str]) {
        let status = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running a PostgreSQL tool");
        assert!(status.success(), "{program} {args:?} failed");
    }

    fn init(root: &Path) -> Self {
        let dir = root.join("pg");
        std::fs::create_dir_all(&dir).unwrap();
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        let port = free_port();
        let pg = Self {
            bin: Self::bin_dir(),
            data: dir.join("data"),
            port,
        };
        let data = pg.data.to_string_lossy().into_owned();
        pg.as_postgres("initdb", &["-D", &data, "--auth=trust", "-U", "postgres"]);
        pg.start();
        pg
    }

    fn start(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let sockets = self.data.parent().unwrap().to_string_lossy().into_owned();
        let options = format!(
            "-p {} -k {sockets} -c listen_addresses=127.0.0.1",
            self.port
        );
        let log = format!("{sockets}/server.log");
        self.as_postgres(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    fn stop(&self) {
        let data = self.data.to_string_lossy().into_owned();
        self.as_postgres("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Waits until the host's log has said `what` more than `before` times.
async fn logged(host: &Host, what: &str, before: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = host.log().matches(what).count();
        if n > before {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "never logged {what:?}:\n{}",
            host.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn postgres_only_a_host_rides_out_stopped_postgres_and_s3_servers_and_loses_nothing() {
    let test = "postgres_only_a_host_rides_out_stopped_postgres_and_s3_servers_and_loses_nothing";
    if crate::helpers::postgres_or_skip(test).is_none() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let pg = PrivatePostgres::init(root.path());
    let mut s3 = OwnSeaweed::start(&root.path().join("seaweed"));
    let bucket = peers::new_bucket_in(&s3.client()).await;
    let port = free_port();
    let env = vec![
        ("DATABASE_URL", pg.url()),
        ("DOCPUSH_BLOB_STORE", format!("s3://{bucket}/blobs")),
        (
            "DOCPUSH_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode([9u8; 32]),
        ),
        ("AWS_ACCESS_KEY_ID", peers::ACCESS_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", peers::SECRET_KEY.to_string()),
        ("AWS_ENDPOINT_URL", s3.endpoint()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_MAX_ATTEMPTS", "1".to_string()),
        ("DOCPUSH_JOB_LEASE", "4s".to_string()),
        ("DOCPUSH_ALLOWED_NETWORKS", "127.0.0.0/8".to_string()),
        ("DOCPUSH_BIND", format!("127.0.0.1:{port}")),
    ];
    let host = Host::start("host", "", root.path(), &env);
    let client = Api::on(port);
    client.wait_started(&host).await;
    let (http, base) = (&client.http, &client.base);
    let key = std::fs::read_to_string(host.data.join("dev-api-key")).unwrap();
    let receiver = Receiver::start().await;
    let template = client.create_template(&key, &json!({"name": "outage", "fields": invoice_template_fields(), "webhook": {"url": receiver.url}})).await;
    let mut scanned = scans(4).await.into_iter();
    let submit = |name: String, bytes: Vec<u8>| {
        let (http, base, key, tid) = (
            http.clone(),
            base.clone(),
            key.clone(),
            template["id"].clone(),
        );
        async move {
            let resp = http
                .post(format!("{base}/process-job"))
                .header("x-auth", key)
                .json(&json!({"template_id": tid, "actual_image": b64(&bytes), "file_name": name}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 202, "{name}");
            let v: Value = resp.json().await.unwrap();
            v["job_id"].as_str().unwrap().to_string()
        }
    };

    // The bucket goes away while the uploads wait to be read.
    let mut jobs = Vec::new();
    for i in 0..2 {
        jobs.push(submit(format!("scan-{i}.png"), scanned.next().unwrap()).await);
    }
    for i in 0..6 {
        jobs.push(submit(format!("a-{i}.pdf"), Invoice::numbered(500 + i).pdf()).await);
    }
    s3.stop();
    logged(&host, "met a passing failure", 0).await;
    s3.restart();

    // Then the database.
    for i in 2..4 {
        jobs.push(submit(format!("scan-{i}.png"), scanned.next().unwrap()).await);
    }
    for i in 0..6 {
        jobs.push(submit(format!("b-{i}.pdf"), Invoice::numbered(600 + i).pdf()).await);
    }
    let said = host.log().matches("passing failure").count();
    pg.stop();
    logged(&host, "passing failure", said).await;
    pg.start();

    client
        .wait_success(&key, &jobs, Duration::from_secs(240), &host)
        .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut by_file: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in receiver.received() {
            let body = r.json();
            assert_eq!(body["type"], "extraction.processed", "{body}");
            by_file
                .entry(body["data"]["file_id"].as_str().unwrap().to_string())
                .or_default()
                .insert(r.header("webhook-id"));
        }
        if by_file.len() == jobs.len() {
            assert!(by_file.values().all(|ids| ids.len() == 1), "{by_file:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} documents announced",
            by_file.len(),
            jobs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client's view of a call: its status, `Retry-After` and body.
async fn answer(req: reqwest::RequestBuilder) -> (u16, Option<u64>, Value) {
    told(req.send().await.expect("the server answers")).await
}

#[tokio::test]
async fn postgres_only_an_unreachable_database_answers_503_and_cut_off_jobs_resume_when_it_returns()
{
    let test =
        "postgres_only_an_unreachable_database_answers_503_and_cut_off_jobs_resume_when_it_returns";
    if crate::helpers::postgres_or_skip(test).is_none() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let pg = PrivatePostgres::init(root.path());
    let port = free_port();
    let env = vec![
        ("DATABASE_URL", pg.url()),
        (
            "DOCPUSH_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ),
        // A lease far longer than the test: a job cut off by the outage that
        // finishes at all was given back, not left for its lease to run out.
        ("DOCPUSH_JOB_LEASE", "30m".to_string()),
        // One job at a time, so that the outage finds one in the middle of its work.
        ("DOCPUSH_WORKERS", "1".to_string()),
        ("DOCPUSH_ALLOWED_NETWORKS", "127.0.0.0/8".to_string()),
        ("DOCPUSH_BIND", format!("127.0.0.1:{port}")),
    ];
    let host = Host::start("host", "", root.path(), &env);
    let client = Api::on(port);
    client.wait_started(&host).await;
    let (http, base) = (&client.http, &client.base);
    let key = std::fs::read_to_string(host.data.join("dev-api-key")).unwrap();
    let template = client
        .create_template(
            &key,
            &json!({"name": "outage", "fields": invoice_template_fields()}),
        )
        .await;
    let upload = |bytes: &[u8], name: &str| {
        http.post(format!("{base}/process-job"))
            .header("x-auth", &key)
            .json(&json!({"template_id": template["id"], "actual_image": b64(bytes), "file_name": name}))
    };
    let mut jobs = Vec::new();
    for (i, scan) in scans(4).await.iter().enumerate() {
        let (status, _, body) = answer(upload(scan, &format!("scan-{i}.png"))).await;
        assert_eq!(status, 202, "{body}");
        jobs.push(body["job_id"].as_str().unwrap().to_string());
    }
    // The database goes away while a job is being read.
    eventually("a job being read", || async {
        for job in &jobs {
            let (_, _, s) = answer(
                http.get(format!("{base}/job-status?job_id={job}"))
                    .header("x-auth", &key),
            )
            .await;
            if s["status"] == "PROCESSING IMAGE" {
                return true;
            }
        }
        false
    })
    .await;
    pg.stop();

    // Clients are told to come back, not that the server broke.
    let calls = [
        (
            "GET /v1/templates",
            http.get(format!("{base}/v1/templates"))
                .header("x-auth", &key),
        ),
        (
            "GET /job-status",
            http.get(format!("{base}/job-status?job_id={}", jobs[0]))
                .header("x-auth", &key),
        ),
        (
            "POST /process-job",
            upload(&Invoice::numbered(9).pdf(), "late.pdf"),
        ),
    ];
    for (what, call) in calls {
        let (status, wait, body) = answer(call).await;
        assert_eq!(status, 503, "{what}: {body}");
        assert_eq!(body["error"], "unavailable", "{what}: {body}");
        assert!(wait.is_some_and(|w| w > 0), "{what}: Retry-After");
    }
    let (status, wait, health) = answer(http.get(format!("{base}/healthz"))).await;
    assert_eq!(
        (status, health["database"].as_str()),
        (503, Some("unreachable")),
        "{health}"
    );
    assert_eq!(health["storage"], "ok", "{health}");
    assert!(wait.is_some());
    logged(&host, "trying again while its lease lasts", 0).await;
    pg.start();

    // Every accepted document is read, long before any lease could run out.
    client
        .wait_success(&key, &jobs, Duration::from_secs(180), &host)
        .await;
    assert!(host
        .log()
        .contains("given back once the database answered again"));
    let (status, _, health) = answer(http.get(format!("{base}/healthz"))).await;
    assert_eq!(status, 200, "{health}");
    let (status, _, body) = answer(upload(&Invoice::numbered(9).pdf(), "late.pdf")).await;
    assert_eq!(status, 202, "{body}");
}
