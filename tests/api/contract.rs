//! The published contract: `/openapi.json` against the live server under
//! schemathesis, a client generated from it doing real work, `/docs` served
//! from the binary, and Extracta's legacy signature checked by a receiver
//! written the way Extracta's users write them.

use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{eventually, spawn_app};
use crate::peers::tool;
use docpush_samples::{invoice_template_fields, Invoice};

const CONTRACT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract");

/// `st run --checks all` against the live server, with the exclusions of `schemathesis.toml`.
async fn schemathesis(
    app: &crate::helpers::TestApp,
    report: &std::path::Path,
) -> std::process::Output {
    tokio::process::Command::new(tool("st"))
        // Its caches go with the test's files, not into the repository.
        .current_dir(app.dir.path())
        .args([
            "--no-color",
            "--config-file",
            &format!("{CONTRACT_DIR}/schemathesis.toml"),
        ])
        .arg("run")
        .arg(format!("{}/openapi.json", app.base))
        .args(["--url", &app.base])
        .args(["-H", &format!("x-auth: {}", app.key)])
        .args([
            "--checks",
            "all",
            "--max-examples",
            "30",
            "--seed",
            "7",
            "--workers",
            "2",
            // The whole suite runs beside it on two cores: an answer may take
            // seconds. Each call still has to come back, and its own bounds
            // (a DNS lookup stops at 5 s) keep it well under this.
            "--request-timeout",
            "60",
        ])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(report)
        .output()
        .await
        .expect("schemathesis runs (scripts/test-tools installs it)")
}

/// Whether a failed run reports errors of schemathesis itself and no failed check.
fn only_tool_errors(stdout: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stdout);
    text.contains("Runtime Error") && !text.contains("❌ ST")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_against_the_document() {
    // On the default settings: schemathesis sends wrong keys on purpose, and
    // a valid key must go on being served.
    let app = spawn_app().await;
    // Something to find behind the ids: a template and a finished job.
    let template = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            template["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;

    let report = app.dir.path().join("schemathesis.xml");
    let mut out = schemathesis(&app, &report).await;
    // schemathesis' own generators now and then stop with "Runtime Error"
    // (hypothesis reporting its strategies inconsistent). That says nothing
    // about the server: such a run, and only such a run, is repeated once.
    if !out.status.success() && only_tool_errors(&out.stdout) {
        eprintln!(
            "schemathesis stopped on an error of its own; running it again:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        out = schemathesis(&app, &report).await;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It did test every operation: none skipped or errored for lack of a schema.
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.contains("POST /v1/templates") && xml.contains("GET /v1/deliveries/{id}/attempts"),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_client_creates_a_template_submits_a_job_and_reads_results() {
    let app = spawn_app().await;
    let inv = Invoice::numbered(4);
    let pdf = app.dir.path().join("invoice.pdf");
    std::fs::write(&pdf, inv.pdf()).unwrap();
    let out = tokio::process::Command::new(tool("python"))
        .arg(format!("{CONTRACT_DIR}/generated_client.py"))
        .args([&app.base, &app.key])
        .arg(&pdf)
        .arg(&inv.number)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("'invoice_number': '{}'", inv.number)),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_docs_render_it_from_the_binary() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["webhooks"]["extraction.processed"]["post"]["requestBody"].is_object());
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let check = tokio::process::Command::new(tool("openapi-spec-validator"))
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        check.status.success(),
        "the document is not valid OpenAPI 3.1: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let page = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("swagger-ui") && !html.contains("cdn."),
        "{html}"
    );
    let script = app
        .http
        .get(format!("{}/docs/swagger-ui-bundle.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.status().as_u16(),
        200,
        "the script is served, not fetched from a CDN"
    );
    let init = app
        .http
        .get(format!("{}/docs/swagger-initializer.js", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        init.contains("\"validatorUrl\": \"none\"") && init.contains("/openapi.json"),
        "the page asks no outside validator about the document: {init}"
    );
}

/// Starts the Extracta-style receiver; returns it with its URL and its output lines.
async fn extracta_receiver(
    secret: &str,
) -> (
    tokio::process::Child,
    String,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    let mut child = tokio::process::Command::new(tool("python"))
        .arg(format!("{CONTRACT_DIR}/extracta_receiver.py"))
        .arg(secret)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = lines
        .next_line()
        .await
        .unwrap()
        .expect("the receiver prints its port");
    (child, format!("http://127.0.0.1:{port}/extracta"), lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extracta_legacy_receiver_accepts_our_signature_and_rejects_a_tampered_body() {
    let app = spawn_app().await;
    let secret = "E_AI_K_3f9a0c1d2b7e4a5f8c6d9e0b1a2c3d4e";
    let (_receiver, url, mut lines) = extracta_receiver(secret).await;
    let resp = app
        .post_json(
            "/v1/templates",
            &app.key,
            &json!({"name": "legacy", "fields": invoice_template_fields(),
                    "webhook": {"url": url, "signature": "extracta-legacy", "secret": secret}}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let template: Value = resp.json().await.unwrap();
    assert_eq!(template["webhook"]["signature"], "extracta-legacy");
    let inv = Invoice::numbered(2);
    let job = app
        .submit_ok(template["id"].as_str().unwrap(), &inv.pdf(), "a.pdf")
        .await;
    app.wait_finished(&job).await;

    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("accepted extraction.processed")
    );
    eventually("the delivery succeeded", || async {
        app.deliveries(&format!("job_id={job}"))
            .await
            .iter()
            .any(|d| d["status"] == "succeeded")
    })
    .await;

    // The same delivery with one value changed and the original signature: refused.
    let event: Value = {
        let events = app.state.db.clone();
        let rows = docpush::db::deliveries::events_of_job(&events, &crate::helpers::id(&job))
            .await
            .unwrap();
        let processed = rows
            .iter()
            .find(|e| e.event_type == docpush::types::EventType::ExtractionProcessed)
            .unwrap();
        serde_json::from_str(&processed.payload).unwrap()
    };
    let result_json = event["result"].to_string();
    let signature = docpush::crypto::sign_extracta_legacy(secret, &result_json);
    let mut tampered = event.clone();
    tampered["result"]["total"] = json!(1.0);
    for (body, want) in [(&event, 200), (&tampered, 401)] {
        let resp = app
            .http
            .post(&url)
            .header("x-webhook-signature", &signature)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), want);
    }
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("accepted extraction.processed")
    );
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("rejected extraction.processed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xtracta_habits_presets_basic_auth_json_content_type_and_no_empty_template_list() {
    let app = spawn_app().await;
    let receiver = crate::helpers::Receiver::start().await;
    let template = app.create_template(invoice_template_fields(), None).await;
    let destination = |extra: Value| {
        let mut body = json!({"type": "webhook", "config": {
            "url": receiver.url,
            "headers": {"Content-Type": "application/json"},
            "basic_auth": {"username": "xtracta", "password": "pa55word"},
        }, "events": "documents"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let resp = app
        .post_json(
            "/v1/destinations",
            &app.key,
            &destination(json!({"templates": []})),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("choose at least one template or all"),
        "{err}"
    );

    let resp = app
        .post_json(
            "/v1/destinations",
            &app.key,
            &destination(json!({"templates": [template["id"]]})),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(
        created["events"],
        json!([
            "extraction.processed",
            "extraction.failed",
            "extraction.edited",
            "extraction.confirmed"
        ])
    );
    assert_eq!(
        created["config"]["basic_auth"],
        json!({"username": "xtracta", "password": "********"})
    );
    let stored = docpush::db::destinations::get(
        &app.state.db,
        &app.account_id,
        &crate::helpers::id(created["id"].as_str().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        !stored.config.contains("pa55word"),
        "the password is sealed at rest"
    );

    let job = app
        .submit_ok(
            template["id"].as_str().unwrap(),
            &Invoice::numbered(3).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    eventually("the document event arrived", || async {
        !receiver.received().is_empty()
    })
    .await;
    let got = &receiver.received()[0];
    assert_eq!(
        got.headers["authorization"],
        "Basic eHRyYWN0YTpwYTU1d29yZA=="
    );
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.json()["event"], "extraction.processed");
    assert_eq!(got.json()["type"], "extraction.processed");
}
