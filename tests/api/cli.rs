//! The binary as an operator runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::on_sqlite;

fn docpush(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docpush"));
    c.env("DOCPUSH_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

#[tokio::test]
async fn sqlite_only_account_create_prints_a_working_key_as_its_last_line() {
    if !on_sqlite("sqlite_only_account_create_prints_a_working_key_as_its_last_line") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = docpush(dir.path())
        .args(["account", "create", "--name", "acme", "--credits", "50"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("dp_"), "{stdout}");
    let again = docpush(dir.path())
        .args(["account", "create", "--name", "acme"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "duplicate names are refused");
    let list = docpush(dir.path())
        .args(["account", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("acme"));

    let mut settings = crate::helpers::test_settings(dir.path()).await;
    settings.data_dir = dir.path().to_path_buf();
    let app = crate::helpers::start(settings, tempfile::tempdir().unwrap(), 0).await;
    let me: Value = app.get("/v1/account", &key).await.json().await.unwrap();
    assert_eq!(me["name"], "acme");
    assert_eq!(me["credits"], 50);
}

/// `docpush serve` on a free port, started through `sh` under `umask`, once it
/// answers `/healthz`; its standard output (the log) is kept for [`stop`].
async fn serve(data_dir: &std::path::Path, umask: &str) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("sh")
        .args(["-c", &format!("umask {umask} && exec \"$0\" serve")])
        .arg(env!("CARGO_BIN_EXE_docpush"))
        .env("DOCPUSH_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .env("DOCPUSH_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            assert_eq!(r.status().as_u16(), 200);
            assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
            return (child, base);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("docpush serve exited: {status}");
        }
        assert!(Instant::now() < deadline, "service did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One call to a served binary, answered in JSON.
async fn call(method: &str, url: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .header("x-auth", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Stops the service with SIGTERM; asserts a clean exit and returns its output.
async fn stop(mut child: std::process::Child) -> String {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    stdout
}

#[tokio::test]
async fn sqlite_only_serve_prints_the_development_key_and_stops_cleanly_on_sigterm() {
    if !on_sqlite("sqlite_only_serve_prints_the_development_key_and_stops_cleanly_on_sigterm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = serve(dir.path(), "022").await;
    let key = std::fs::read_to_string(dir.path().join("dev-api-key")).unwrap();
    let (_, me) = call("GET", &format!("{base}/v1/account"), key.trim(), None).await;
    assert_eq!(me["credits"], 1000);
    let stdout = stop(child).await;
    assert!(
        stdout.contains(key.trim()),
        "the key is printed at first start: {stdout}"
    );
}

/// Every file under `dir` is 0600 and every directory 0700.
fn assert_private(dir: &std::path::Path) -> usize {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files += assert_private(&path);
        } else {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            files += 1;
        }
    }
    files
}

#[tokio::test]
async fn sqlite_only_data_at_rest_is_private_and_the_log_cannot_be_forged_even_with_umask_000() {
    if !on_sqlite(
        "sqlite_only_data_at_rest_is_private_and_the_log_cannot_be_forged_even_with_umask_000",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, base) = serve(&data, "000").await;
    let key = std::fs::read_to_string(data.join("dev-api-key")).unwrap();
    let key = key.trim();

    // A failed sign-in is logged, without the key that was tried.
    let (refused, _) = call(
        "GET",
        &format!("{base}/v1/templates"),
        "dp_guessed_key_0123456789",
        None,
    )
    .await;
    assert_eq!(refused, 401);

    let fields = docpush_samples::invoice_template_fields();
    let template = serde_json::json!({"name": "t", "fields": fields});
    let (_, template) = call("POST", &format!("{base}/v1/templates"), key, Some(template)).await;
    let forged = "a.pdf\r\n2026-01-01T00:00:00Z ERROR FORGED line\u{1b}[2J.pdf";
    let invoice = docpush_samples::Invoice::numbered(1).pdf();
    let archive = docpush_samples::zip(&[(forged, &invoice)]);
    let upload = serde_json::json!({"template_id": template["id"], "actual_image": crate::helpers::b64(&archive)});
    let (_, submitted) = call("POST", &format!("{base}/process-job"), key, Some(upload)).await;
    let job = submitted["job_id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = call("GET", &format!("{base}/job-status?job_id={job}"), key, None).await;
        if status["status"] == "SUCCESS" {
            assert_eq!(
                status["files"][0]["file_name"], forged,
                "the data keeps the name as sent"
            );
            break;
        }
        assert!(Instant::now() < deadline, "job did not finish: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Database, its journal, keys and blobs: private despite umask 000.
    let files = assert_private(&data);
    assert!(data.join("docpush.db").exists() && data.join("secret.key").exists());
    assert!(files >= 4, "database, keys and the stored entry: {files}");

    let log = stop(child).await;
    assert!(log.contains("sign-in failed"), "{log}");
    assert!(
        !log.contains("dp_guessed_key"),
        "the tried key is not logged"
    );
    assert!(
        log.contains("a.pdf\\r\\n2026-01-01T00:00:00Z ERROR FORGED"),
        "the name is logged escaped: {log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "no terminal escapes reach the log");
}

#[tokio::test]
async fn sqlite_only_extract_prints_the_result_for_a_text_pdf_and_a_scan() {
    if !on_sqlite("sqlite_only_extract_prints_the_result_for_a_text_pdf_and_a_scan") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    docpush_samples::write_quickstart(dir.path()).unwrap();
    let inv = docpush_samples::Invoice::numbered(1);
    let pages = docpush::extraction::pdf::PdfEngine::global()
        .render(inv.pdf(), 200, u64::MAX)
        .await
        .unwrap();
    std::fs::write(dir.path().join("scan.png"), docpush_samples::png(&pages[0])).unwrap();
    for (file, reference) in [
        ("invoice.pdf", Value::from(inv.reference.clone())),
        ("scan.png", Value::Null),
    ] {
        let out = docpush(dir.path())
            .args([
                "extract",
                dir.path().join(file).to_str().unwrap(),
                "--template",
            ])
            .arg(dir.path().join("template.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["result"]["invoice_number"], inv.number.as_str(), "{file}");
        assert_eq!(v["result"]["total"], inv.total_value(), "{file}");
        assert_eq!(
            v["result"]["reference"], reference,
            "{file}: page 2 only exists in the PDF"
        );
    }
    let bad = docpush(dir.path())
        .args([
            "extract",
            "/nonexistent.pdf",
            "--template",
            "/nonexistent.json",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
