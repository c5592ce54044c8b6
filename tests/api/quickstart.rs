//! The README's quickstart, as a client would run it: samples, a template with
//! a webhook, a two-page PDF and a ZIP batch, verified signatures.

use serde_json::{json, Value};

use crate::helpers::{b64, spawn_app, Receiver};
use docpush_samples::{write_quickstart, Invoice};

#[tokio::test]
async fn quickstart_delivers_one_signed_webhook_per_document_with_the_right_values() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let samples = tempfile::tempdir().unwrap();
    write_quickstart(samples.path()).unwrap();
    let mut template: Value =
        serde_json::from_slice(&std::fs::read(samples.path().join("template.json")).unwrap())
            .unwrap();
    template["webhook"] = json!({"url": receiver.url, "headers": {"Authorization": "Bearer abc"}});
    let resp = app.post_json("/v1/templates", &app.key, &template).await;
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    let tid = created["id"].as_str().unwrap().to_string();
    let secret = created["webhook"]["secret"].as_str().unwrap().to_string();

    // curl -F actual_image=@invoice.pdf
    let form = reqwest::multipart::Form::new()
        .text("template_id", tid.clone())
        .part(
            "actual_image",
            reqwest::multipart::Part::bytes(
                std::fs::read(samples.path().join("invoice.pdf")).unwrap(),
            )
            .file_name("invoice.pdf"),
        );
    let resp = app
        .http
        .post(format!("{}/process-job", app.base))
        .header("x-auth", &app.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let single: Value = resp.json().await.unwrap();

    // base64 JSON for the batch
    let zip_bytes = std::fs::read(samples.path().join("batch.zip")).unwrap();
    let resp = app.post_json("/process-job", &app.key, &json!({"template_id": tid, "actual_image": b64(&zip_bytes), "static_values": {"batch": "B-7"}})).await;
    assert_eq!(resp.status().as_u16(), 202);
    let batch: Value = resp.json().await.unwrap();

    let s = app.wait_finished(single["job_id"].as_str().unwrap()).await;
    assert_eq!(s["files"][0]["pages"], 2);
    let b = app.wait_finished(batch["job_id"].as_str().unwrap()).await;
    let skipped: Vec<&str> = b["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["archive/invoice-5.pdf", "readme.txt"]);

    let got = receiver.wait_for(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        4,
        "one webhook per document, nothing else"
    );
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    let mut by_name = std::collections::BTreeMap::new();
    for r in &got {
        verifier
            .verify(&r.body, &r.headers)
            .expect("signature verifies with the standardwebhooks crate");
        assert_eq!(r.header("authorization"), "Bearer abc");
        let body = r.json();
        assert_eq!(body["type"], "extraction.processed");
        assert_eq!(body["event_id"], r.header("webhook-id"));
        assert_eq!(body["result"], body["data"]["result"]);
        by_name.insert(
            body["data"]["file_name"].as_str().unwrap().to_string(),
            body,
        );
    }
    let names: Vec<&String> = by_name.keys().collect();
    assert_eq!(
        names,
        [
            "invoice-2.pdf",
            "invoice-3.pdf",
            "invoice-4.pdf",
            "invoice.pdf"
        ]
    );
    for (name, n) in [
        ("invoice.pdf", 1),
        ("invoice-2.pdf", 2),
        ("invoice-3.pdf", 3),
        ("invoice-4.pdf", 4),
    ] {
        let inv = Invoice::numbered(n);
        let body = &by_name[name];
        assert_eq!(body["data"]["pages"], 2);
        assert_eq!(body["data"]["result_status"], "ok");
        assert_eq!(
            body["result"],
            json!({
                "invoice_number": inv.number, "invoice_date": inv.iso_date(), "total": inv.total_value(),
                "vendor": "ACME Supplies Ltd", "reference": inv.reference, "paid": false,
            }),
            "{name}"
        );
    }
    assert_eq!(
        by_name["invoice-3.pdf"]["static_values"],
        json!({"batch": "B-7"})
    );

    // A tampered body does not verify.
    let mut tampered = got[0].body.clone();
    tampered[10] ^= 1;
    assert!(verifier.verify(&tampered, &got[0].headers).is_err());
}
