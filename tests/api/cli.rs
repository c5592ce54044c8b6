//! The binary as an operator runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::postgres_url;

fn docpush(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docpush"));
    c.env("DOCPUSH_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

#[tokio::test]
async fn account_create_prints_a_working_key_as_its_last_line() {
    if postgres_url().is_some() {
        return; // the CLI is exercised on the embedded default; the API suite covers PostgreSQL
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

#[tokio::test]
async fn serve_prints_the_development_key_and_stops_cleanly_on_sigterm() {
    if postgres_url().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = docpush(dir.path())
        .arg("serve")
        .env("DOCPUSH_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            assert_eq!(r.status().as_u16(), 200);
            assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
            break;
        }
        assert!(Instant::now() < deadline, "service did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let key = std::fs::read_to_string(dir.path().join("dev-api-key")).unwrap();
    let me: Value = http
        .get(format!("http://127.0.0.1:{port}/v1/account"))
        .header("x-auth", key.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["credits"], 1000);

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
    assert!(
        stdout.contains(key.trim()),
        "the key is printed at first start: {stdout}"
    );
}

#[tokio::test]
async fn extract_prints_the_result_for_a_text_pdf_and_a_scan() {
    if postgres_url().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    docpush::samples::write_quickstart(dir.path()).unwrap();
    let inv = docpush::samples::Invoice::numbered(1);
    let pages = docpush::extraction::pdf::PdfEngine::global()
        .render(inv.pdf(), 200)
        .await
        .unwrap();
    std::fs::write(
        dir.path().join("scan.png"),
        docpush::samples::png(&pages[0]),
    )
    .unwrap();
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
