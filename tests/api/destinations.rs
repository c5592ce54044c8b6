//! Destinations: fan-out to a webhook, an SQS FIFO queue (moto) and an S3
//! bucket (SeaweedFS) through the real AWS SDK, filters, retries, dead letters
//! and recovery, Test Connection, the SSRF guard, review events and /metrics.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, spawn_with, Receiver, TestApp};
use crate::peers::{self, ACCESS_KEY, SECRET_KEY};
use docpush_samples::{invoice_template_fields, Invoice};

fn verify(secret: &str, r: &crate::helpers::Received) -> Value {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    wh.verify(&r.body, &r.headers).expect("signature verifies");
    r.json()
}

async fn template_id(app: &TestApp) -> String {
    let t = app.create_template(invoice_template_fields(), None).await;
    t["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn one_event_fans_out_to_a_webhook_an_sqs_fifo_queue_and_an_s3_bucket_with_filters() {
    let app = spawn_app().await;
    let hook = Receiver::start().await;
    let failures_only = Receiver::start().await;
    let bucket = peers::new_bucket().await;
    let queue = peers::new_fifo_queue().await;
    let template_a = template_id(&app).await;

    let web = app
        .webhook_destination(&hook.url, &["extraction.processed"])
        .await;
    app.webhook_destination(&failures_only.url, &["extraction.failed"])
        .await;
    let sqs = app
        .create_destination(json!({
            "type": "sqs",
            "config": {"queue_url": queue, "region": "us-east-1", "access_key_id": ACCESS_KEY,
                       "secret_access_key": SECRET_KEY, "message_group_id": "invoices",
                       "endpoint_url": peers::sqs_endpoint()},
            "events": ["extraction.processed", "batch.completed"],
            "templates": [template_a],
        }))
        .await;
    let s3 = app
        .create_destination(json!({
            "type": "s3",
            "config": {"bucket": bucket, "region": "us-east-1", "access_key_id": ACCESS_KEY,
                       "secret_access_key": SECRET_KEY, "endpoint_url": peers::s3_endpoint(),
                       "receive_files": ["document", "data"], "data_format": "json"},
            "events": ["extraction.processed"],
            "templates": "all",
        }))
        .await;
    assert_eq!(s3["config"]["secret_access_key"], "********");
    assert_eq!(sqs["templates"], json!([template_a]));
    // `all` takes templates created after the destination.
    let template_b = template_id(&app).await;

    let pdf_a = Invoice::numbered(1).pdf();
    let pdf_b = Invoice::numbered(2).pdf();
    let job_a = app.submit_ok(&template_a, &pdf_a, "a.pdf").await;
    let job_b = app.submit_ok(&template_b, &pdf_b, "b.PDF").await;
    app.wait_finished(&job_a).await;
    app.wait_finished(&job_b).await;
    eventually("every delivery to succeed", || async {
        let all = app.deliveries("limit=100").await;
        all.len() == 6 && all.iter().all(|d| d["status"] == "succeeded")
    })
    .await;

    // Webhook: both documents, plain SPEC envelope, signed with its own secret.
    let got = hook.wait_for(2).await;
    let secret = web["config"]["secret"].as_str().unwrap();
    let mut numbers: Vec<String> = got
        .iter()
        .map(|r| {
            let body = verify(secret, r);
            assert_eq!(body["type"], "extraction.processed");
            assert_eq!(r.header("webhook-id"), body["event_id"].as_str().unwrap());
            assert!(
                body.get("result").is_none(),
                "seed keys are for template webhooks"
            );
            body["data"]["result"]["invoice_number"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["INV-1001", "INV-1002"]);
    assert!(failures_only.received().is_empty(), "event filter");

    // SQS: template A only (template filter), processed + batch.completed, FIFO group and dedup id.
    let out = peers::sqs_client()
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let messages = out.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let mut types = Vec::new();
    for m in messages {
        let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
        assert_eq!(body["data"]["job_id"], job_a);
        let attrs = m.attributes().unwrap();
        use aws_sdk_sqs::types::MessageSystemAttributeName as A;
        assert_eq!(attrs[&A::MessageGroupId], "invoices");
        assert_eq!(
            attrs[&A::MessageDeduplicationId],
            body["event_id"].as_str().unwrap()
        );
        types.push(body["type"].as_str().unwrap().to_string());
    }
    types.sort();
    assert_eq!(types, ["batch.completed", "extraction.processed"]);

    // S3: document and data for each file, under the event's date.
    let listed = peers::s3_client()
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let day = chrono::Utc::now().format("%Y/%m/%d").to_string();
    for (job, pdf, ext) in [(&job_a, &pdf_a, "pdf"), (&job_b, &pdf_b, "pdf")] {
        let file_id = app.status(job).await["files"][0]["file_id"]
            .as_str()
            .unwrap()
            .to_string();
        let doc_key = format!("{day}/documents/{file_id}.{ext}");
        let data_key = format!("{day}/data/{file_id}.json");
        assert!(keys.contains(&doc_key), "{doc_key} in {keys:?}");
        let doc = peers::s3_client()
            .get_object()
            .bucket(&bucket)
            .key(&doc_key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            &doc.body.collect().await.unwrap().into_bytes()[..],
            &pdf[..]
        );
        let data = peers::s3_client()
            .get_object()
            .bucket(&bucket)
            .key(&data_key)
            .send()
            .await
            .unwrap();
        let data: Value =
            serde_json::from_slice(&data.body.collect().await.unwrap().into_bytes()).unwrap();
        assert_eq!(data["data"]["file_id"], file_id.as_str());
        assert!(data["data"]["result"]["total"].is_number());
    }

    // Every destination of extraction.processed succeeded: the uploads are gone.
    for job in [&job_a, &job_b] {
        let file_id = app.status(job).await["files"][0]["file_id"]
            .as_str()
            .unwrap()
            .to_string();
        let f = docpush::db::files::get(&app.state.db, &crate::helpers::id(&file_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.blob_key, None);
    }

    // Test Connection reaches each saved destination.
    for d in [&web, &sqs, &s3] {
        let id = d["id"].as_str().unwrap();
        let r: Value = app
            .post_json(&format!("/v1/destinations/{id}/test"), &app.key, &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(r["ok"], true, "{id}: {r}");
        assert_eq!(r["reachable"], true);
    }
    let test_event = hook.wait_for(3).await.pop().unwrap();
    assert_eq!(verify(secret, &test_event)["type"], "destination.test");
}

#[tokio::test]
async fn the_upload_is_kept_until_the_last_destination_succeeded() {
    let app = spawn_with(|s| {
        s.delivery.retry_schedule = vec![Duration::from_millis(700); 4];
    })
    .await;
    let fast = Receiver::start().await;
    let down = Receiver::start().await;
    down.fail_next(3, 503);
    let t = template_id(&app).await;
    app.webhook_destination(&fast.url, &["extraction.processed"])
        .await;
    app.webhook_destination(&down.url, &["extraction.processed"])
        .await;
    let job = app
        .submit_ok(&t, &Invoice::numbered(3).pdf(), "c.pdf")
        .await;
    let status = app.wait_finished(&job).await;
    let file_id = status["files"][0]["file_id"].as_str().unwrap().to_string();
    fast.wait_for(1).await;
    down.wait_for(2).await;
    let f = docpush::db::files::get(&app.state.db, &crate::helpers::id(&file_id))
        .await
        .unwrap()
        .unwrap();
    let key = f.blob_key.expect("kept while a destination still owes it");
    assert!(app.state.blobs.exists(&key).await.unwrap());
    let got = down.wait_for(4).await;
    assert!(got
        .iter()
        .all(|r| r.header("webhook-id") == got[0].header("webhook-id")));
    eventually("the upload to be deleted", || async {
        !app.state.blobs.exists(&key).await.unwrap()
    })
    .await;
    let d = app
        .deliveries("status=succeeded")
        .await
        .into_iter()
        .find(|d| d["attempts"] == 4)
        .expect("the delivery that needed four attempts");
    let attempts: Vec<Value> = app
        .get(
            &format!("/v1/deliveries/{}/attempts", d["id"].as_str().unwrap()),
            &app.key,
        )
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<i64> = attempts
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [503, 503, 503, 200]);
}

#[tokio::test]
async fn a_dead_destination_is_dead_lettered_then_recovered_in_bulk() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.fail_next(1000, 500);
    let t = template_id(&app).await;
    let dest = app
        .webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    let id = dest["id"].as_str().unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    for i in 0..2 {
        app.submit_ok(&t, &Invoice::numbered(i).pdf(), "d.pdf")
            .await;
    }
    let query = format!("status=failed&destination_id={id}");
    eventually("both deliveries to be dead-lettered", || async {
        app.deliveries(&query).await.len() == 2
    })
    .await;
    // 1 attempt + 3 retries each.
    assert_eq!(receiver.received().len(), 8);
    receiver.recover();
    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resp = app
        .post_json(
            &format!(
                "/v1/destinations/{id}/recover?since={}",
                since.replace('+', "%2B")
            ),
            &app.key,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["total"], 2, "{body}");
    let got = receiver.wait_for(10).await;
    let ok_ids: Vec<String> = got[8..].iter().map(|r| r.header("webhook-id")).collect();
    let first_ids: Vec<String> = got[..8].iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ok_ids.iter().all(|i| first_ids.contains(i)),
        "same event ids"
    );
    eventually("recovered deliveries to succeed", || async {
        app.deliveries(&format!("status=succeeded&destination_id={id}"))
            .await
            .len()
            == 2
    })
    .await;
    let resp = app
        .post_json(
            &format!("/v1/destinations/{id}/recover?since=yesterday"),
            &app.key,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 400);
}

/// Two destinations for processed results, one whose receiver answers
/// after `delay`, then `documents` invoices submitted; gives the slow
/// receiver, the healthy one and the slow destination's id.
async fn slow_beside_healthy(
    app: &TestApp,
    delay: Duration,
    documents: usize,
) -> (Receiver, Receiver, String) {
    let slow = Receiver::start().await;
    slow.set_delay(delay);
    let healthy = Receiver::start().await;
    let t = template_id(app).await;
    let slow_dest = app
        .webhook_destination(&slow.url, &["extraction.processed"])
        .await;
    app.webhook_destination(&healthy.url, &["extraction.processed"])
        .await;
    for i in 0..documents {
        app.submit_ok(&t, &Invoice::numbered(i).pdf(), "invoice.pdf")
            .await;
    }
    let id = slow_dest["id"].as_str().unwrap().to_string();
    (slow, healthy, id)
}

#[tokio::test]
async fn a_slow_destination_does_not_delay_another() {
    let app = spawn_with(|s| {
        s.delivery.concurrency = 2;
        s.delivery.per_destination = 1;
        s.delivery.timeout = Duration::from_secs(4);
    })
    .await;
    let (slow, healthy, slow_id) = slow_beside_healthy(&app, Duration::from_secs(60), 4).await;
    healthy.wait_for(4).await;
    let slow_deliveries = app.deliveries(&format!("destination_id={slow_id}")).await;
    assert!(
        slow_deliveries.iter().all(|d| d["attempts"] == 0),
        "the healthy destination got everything before any slow attempt ended: {slow_deliveries:?}"
    );
    // The slow one times out and is retried, one at a time.
    let ids: Vec<String> = slow_deliveries
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    eventually("a timed-out attempt to be logged", || async {
        for id in &ids {
            let attempts: Vec<Value> = app
                .get(&format!("/v1/deliveries/{id}/attempts"), &app.key)
                .await
                .json()
                .await
                .unwrap();
            if attempts.iter().any(|a| {
                a["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("timed out")
            }) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        slow.received().len() <= 2,
        "one attempt at a time to the slow destination"
    );
}

#[tokio::test]
async fn a_destination_with_a_backlog_does_not_hold_up_another() {
    // One attempt at a time per destination: the stuck receiver's lane fills
    // up with claimed deliveries and is left out of claims, and the healthy
    // destination is then fed from its own queue.
    let app = spawn_with(|s| {
        s.delivery.concurrency = 4;
        s.delivery.per_destination = 1;
        s.delivery.timeout = Duration::from_secs(120);
    })
    .await;
    let (stuck, healthy, stuck_id) = slow_beside_healthy(&app, Duration::from_secs(600), 12).await;
    healthy.wait_for(12).await;
    let waiting = app
        .deliveries(&format!("destination_id={stuck_id}&status=pending"))
        .await;
    assert_eq!(waiting.len(), 12, "the stuck destination's deliveries wait");
    assert!(
        stuck.received().len() <= 1,
        "one attempt at a time to the stuck destination"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_twice_and_the_official_verifier_accepts_both() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let dest = app
        .webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    let id = dest["id"].as_str().unwrap();
    let old = dest["config"]["secret"].as_str().unwrap().to_string();
    let rotated: Value = app
        .post_json(
            &format!("/v1/destinations/{id}/rotate-secret"),
            &app.key,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["config"]["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    let t = template_id(&app).await;
    app.submit_ok(&t, &Invoice::numbered(4).pdf(), "r.pdf")
        .await;
    let got = receiver.wait_for(1).await.remove(0);
    assert_eq!(got.header("webhook-signature").split(' ').count(), 2);

    // The Standard Webhooks library from PyPI, not ours, checks each secret.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body"), &got.body).unwrap();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
body = open(sys.argv[1], "rb").read()
headers = json.loads(sys.argv[2])
for secret in sys.argv[3:]:
    Webhook(secret).verify(body, headers)
    print("verified")
"#;
    let headers = json!({
        "webhook-id": got.header("webhook-id"),
        "webhook-timestamp": got.header("webhook-timestamp"),
        "webhook-signature": got.header("webhook-signature"),
    });
    let out = std::process::Command::new(peers::tool("python"))
        .args(["-c", script])
        .arg(dir.path().join("body"))
        .arg(headers.to_string())
        .args([&old, &new])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("verified")
            .count(),
        2
    );
    let bad = std::process::Command::new(peers::tool("python"))
        .args(["-c", script])
        .arg(dir.path().join("body"))
        .arg(headers.to_string())
        .arg(docpush::crypto::new_webhook_secret())
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a third secret does not verify");
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
    let strict = spawn_with(|s| s.delivery.allowed_networks.clear()).await;
    let urls = [
        "http://127.0.0.1:9/h",
        "http://10.0.0.1/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/h",
        "http://[::ffff:127.0.0.1]:9/h",
        "http://localhost:9/h",
    ];
    for url in urls {
        let resp = strict
            .post_json(
                "/v1/destinations",
                &strict.key,
                &json!({"type": "webhook", "config": {"url": url}, "events": ["*"]}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 422, "{url}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("refused"),
            "{body}"
        );
    }
    let resp = strict
        .post_json(
            "/v1/destinations/test",
            &strict.key,
            &json!({"type": "sqs", "config": {"queue_url": "http://169.254.169.254/1/q", "region": "us-east-1",
                    "access_key_id": "k", "secret_access_key": "s", "endpoint_url": "http://169.254.169.254/"},
                    "events": ["*"]}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);

    let open = spawn_with(|s| {
        s.delivery.allowed_networks =
            vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    })
    .await;
    for url in urls {
        let resp = open
            .post_json(
                "/v1/destinations",
                &open.key,
                &json!({"type": "webhook", "config": {"url": url}, "events": ["*"]}),
            )
            .await;
        let allowed = !url.contains("10.0.0.1") && !url.contains("169.254");
        assert_eq!(resp.status().as_u16() == 201, allowed, "{url}");
    }

    let https_only = spawn_with(|s| s.delivery.https_only = true).await;
    let resp = https_only
        .post_json(
            "/v1/destinations",
            &https_only.key,
            &json!({"type": "webhook", "config": {"url": "http://127.0.0.1:9/h"}, "events": ["*"]}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
}

#[tokio::test]
async fn destinations_are_validated_masked_and_scoped_to_their_account() {
    let app = spawn_app().await;
    let d = app
        .create_destination(
            json!({"type": "webhook", "config": {"url": "http://127.0.0.1:9/h",
            "headers": {"Authorization": "Bearer secret-token"}}, "events": ["*"]}),
        )
        .await;
    let id = d["id"].as_str().unwrap();
    assert!(d["config"]["secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    let shown: Value = app
        .get(&format!("/v1/destinations/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["config"]["secret"], "********");
    assert_eq!(shown["config"]["headers"]["Authorization"], "********");
    assert_eq!(shown["templates"], "all");
    let stored =
        docpush::db::destinations::get(&app.state.db, &app.account_id, &crate::helpers::id(id))
            .await
            .unwrap()
            .unwrap();
    assert!(!stored.config.contains("secret-token"));

    for (body, why) in [
        (
            json!({"type": "ftp", "config": {}, "events": ["*"]}),
            "type",
        ),
        (
            json!({"type": "webhook", "config": {"url": "http://127.0.0.1:9/h"}, "events": ["nope"]}),
            "events",
        ),
        (
            json!({"type": "webhook", "config": {"url": "http://127.0.0.1:9/h"}, "events": ["*"], "templates": ["missing"]}),
            "templates",
        ),
        (
            json!({"type": "sqs", "config": {"queue_url": "http://127.0.0.1:9/1/q.fifo", "region": "r", "access_key_id": "k", "secret_access_key": "s"}, "events": ["*"]}),
            "group",
        ),
        (
            json!({"type": "s3", "config": {"bucket": "b", "region": "r", "access_key_id": "k", "secret_access_key": "s"}, "events": ["*"]}),
            "bucket",
        ),
    ] {
        let resp = app.post_json("/v1/destinations", &app.key, &body).await;
        assert_eq!(resp.status().as_u16(), 422, "{why}");
    }

    // PUT with the masks sent back keeps the stored secrets; enabled toggles.
    let mut edit = shown.clone();
    edit["enabled"] = json!(false);
    let resp = app.put_json(&format!("/v1/destinations/{id}"), &edit).await;
    assert_eq!(resp.status().as_u16(), 200);
    let opened = docpush::targets::open_destination(
        &docpush::db::destinations::get(&app.state.db, &app.account_id, &crate::helpers::id(id))
            .await
            .unwrap()
            .unwrap(),
        &app.state.secrets,
    );
    let docpush::targets::Config::Webhook(w) = opened.unwrap() else {
        panic!()
    };
    assert_eq!(w.headers["Authorization"], "Bearer secret-token");
    assert_eq!(w.secret, d["config"]["secret"].as_str().unwrap());

    let other = app.other_account(10).await;
    assert_eq!(
        app.get(&format!("/v1/destinations/{id}"), &other)
            .await
            .status()
            .as_u16(),
        404
    );
    let list: Vec<Value> = app
        .get("/v1/destinations", &other)
        .await
        .json()
        .await
        .unwrap();
    assert!(list.is_empty());
    let resp = app
        .http
        .delete(format!("{}/v1/destinations/{id}", app.base))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        app.get(&format!("/v1/destinations/{id}"), &app.key)
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn a_410_disables_the_destination_until_it_is_re_enabled() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.fail_next(1, 410);
    let t = template_id(&app).await;
    let dest = app
        .webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    let id = dest["id"].as_str().unwrap();
    app.submit_ok(&t, &Invoice::numbered(5).pdf(), "g.pdf")
        .await;
    eventually("the destination to be disabled", || async {
        let d: Value = app
            .get(&format!("/v1/destinations/{id}"), &app.key)
            .await
            .json()
            .await
            .unwrap();
        d["enabled"] == false
    })
    .await;
    assert_eq!(receiver.received().len(), 1, "no retry after 410");
    // While disabled, new events are kept as failed deliveries, not sent.
    let job = app
        .submit_ok(&t, &Invoice::numbered(6).pdf(), "h.pdf")
        .await;
    app.wait_finished(&job).await;
    eventually("both deliveries to be failed", || async {
        app.deliveries(&format!("status=failed&destination_id={id}"))
            .await
            .len()
            == 2
    })
    .await;
    let resp = app
        .post_json(
            &format!("/v1/destinations/{id}/recover?since=2020-01-01T00:00:00Z"),
            &app.key,
            &json!({}),
        )
        .await;
    assert_eq!(
        resp.status().as_u16(),
        409,
        "recover needs the destination enabled"
    );
    let shown: Value = app
        .get(&format!("/v1/destinations/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .put_json(
            &format!("/v1/destinations/{id}"),
            &shown
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| ["type", "config", "events", "templates"].contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["enabled"], true);
    let resp = app
        .post_json(
            &format!("/v1/destinations/{id}/recover?since=2020-01-01T00:00:00Z"),
            &app.key,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    receiver.wait_for(3).await;
}

#[tokio::test]
async fn review_edits_are_typed_and_emit_edited_and_confirmed() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let t = template_id(&app).await;
    app.webhook_destination(
        &receiver.url,
        &["extraction.edited", "extraction.confirmed"],
    )
    .await;
    let job = app
        .submit_ok(&t, &Invoice::numbered(7).pdf(), "e.pdf")
        .await;
    let status = app.wait_finished(&job).await;
    let file = status["files"][0]["file_id"].as_str().unwrap();
    let path = format!("/v1/jobs/{job}/files/{file}/result");
    let patch = |body: Value| {
        let app = &app;
        let path = path.clone();
        async move {
            app.http
                .patch(format!("{}{path}", app.base))
                .header("x-auth", &app.key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        patch(json!({"result": {"total": "lots"}}))
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(
        patch(json!({"result": {"nope": "x"}}))
            .await
            .status()
            .as_u16(),
        422
    );
    assert_eq!(
        patch(json!({"result": {"paid": "maybe"}}))
            .await
            .status()
            .as_u16(),
        422
    );
    let resp =
        patch(json!({"result": {"total": "1,234.50", "invoice_date": "2026-02-03", "paid": true}}))
            .await;
    assert_eq!(resp.status().as_u16(), 200);
    let got = receiver.wait_for(1).await.remove(0).json();
    assert_eq!(got["type"], "extraction.edited");
    assert_eq!(got["origin"], "api", "an edit by key comes from the API");
    assert_eq!(got["data"]["result"]["total"], 1234.5);
    assert_eq!(got["data"]["result"]["invoice_number"], "INV-1007");
    assert_eq!(got["data"]["changes"]["paid"]["to"], true);
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    assert_eq!(results["results"][0]["result"]["total"], 1234.5);

    let resp = app
        .post_json(
            &format!("/v1/jobs/{job}/files/{file}/confirm"),
            &app.key,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let got = receiver.wait_for(2).await.remove(1).json();
    assert_eq!(got["type"], "extraction.confirmed");
    assert_eq!(got["origin"], "api");
    assert_eq!(got["data"]["result_status"], "confirmed");
    assert_eq!(
        patch(json!({"result": {"total": 1}}))
            .await
            .status()
            .as_u16(),
        409
    );
    let other = app.other_account(1).await;
    let resp = app
        .post_json(
            &format!("/v1/jobs/{job}/files/{file}/confirm"),
            &other,
            &json!({}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_delivery_and_job_figures() {
    let app = spawn_with(|s| {
        s.metrics.token = Some(docpush::config::Secret::new("scrape-token-7"));
    })
    .await;
    let receiver = Receiver::start().await;
    let t = template_id(&app).await;
    app.webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    let job = app
        .submit_ok(&t, &Invoice::numbered(8).pdf(), "m.pdf")
        .await;
    app.wait_finished(&job).await;
    receiver.wait_for(1).await;
    eventually("the delivery to settle", || async {
        app.deliveries("status=succeeded").await.len() == 1
    })
    .await;
    // Every tenant's totals are behind the operator's token.
    let metrics = |auth: Option<&'static str>| {
        let mut req = app.http.get(format!("{}/metrics", app.base));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    for refused in [None, Some("Bearer wrong"), Some("scrape-token-7")] {
        let resp = metrics(refused).await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{refused:?}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("DOCPUSH_METRICS_TOKEN"));
    }
    let resp = metrics(Some("Bearer scrape-token-7")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    let mut samples = std::collections::HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.rsplit_once(' ').expect("name value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a number in {line:?}"));
        if let Some(open) = name.find('{') {
            assert!(name.ends_with('}'), "{line}");
            for pair in name[open + 1..name.len() - 1].split(',') {
                let (k, v) = pair.split_once('=').expect("label=value");
                assert!(
                    !k.is_empty() && v.starts_with('"') && v.ends_with('"'),
                    "{line}"
                );
            }
        }
        samples.insert(name.to_string(), value);
    }
    assert_eq!(
        samples[r#"docpush_deliveries{destination_type="webhook",status="succeeded"}"#],
        1.0
    );
    assert_eq!(samples["docpush_delivery_queue_depth"], 0.0);
    assert_eq!(samples["docpush_delivery_oldest_pending_age_seconds"], 0.0);
    assert!(
        samples[r#"docpush_delivery_attempts_total{destination_type="webhook",outcome="success"}"#]
            >= 1.0
    );
    assert!(
        samples[r#"docpush_delivery_attempt_duration_seconds_count{destination_type="webhook"}"#]
            >= 1.0
    );
    assert_eq!(samples[r#"docpush_jobs{status="SUCCESS"}"#], 1.0);
    assert_eq!(
        samples[r#"docpush_pages{status="PROCESS IMAGE SUCCESS"}"#],
        2.0
    );
}

/// A TLS receiver (Python's ssl module) that requires a client certificate
/// signed by its CA, and the certificates for it, made with openssl.
pub(crate) struct MtlsReceiver {
    pub(crate) url: String,
    log: std::path::PathBuf,
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Drop for MtlsReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

const TLS_SERVER: &str = r#"
import http.server, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        cn = dict(x[0] for x in self.connection.getpeercert()["subject"])["commonName"]
        with open(d + "/received", "a") as f:
            f.write(self.headers["webhook-id"] + " " + cn + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.pem", d + "/server.key")
ctx.load_verify_locations(d + "/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

impl MtlsReceiver {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("client.ext"),
            "extendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        let script = format!(
            "set -e; cd {d}
             openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=docpush-test-ca
             openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
             openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
             openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=docpush-client
             openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext
             openssl pkcs8 -topk8 -in client.key -out client.enc.key -v2 aes-256-cbc -passout pass:hunter2"
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut child = std::process::Command::new("python3")
            .args(["-c", TLS_SERVER, &d])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .expect("the TLS receiver prints its port");
        Self {
            url: format!("https://127.0.0.1:{port}/hook"),
            log: dir.path().join("received"),
            child,
            dir,
        }
    }

    pub(crate) fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    pub(crate) fn received(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[tokio::test]
async fn mutual_tls_to_a_receiver_that_requires_a_client_certificate() {
    let app = spawn_app().await;
    let rx = MtlsReceiver::start();
    let config = json!({
        "url": rx.url,
        "ca_cert": rx.file("ca.pem"),
        "client_cert": rx.file("client.pem"),
        "client_key": rx.file("client.enc.key"),
        "client_key_password": "hunter2",
    });
    let mut wrong = config.clone();
    wrong["client_key_password"] = json!("wrong");
    let resp = app
        .post_json(
            "/v1/destinations",
            &app.key,
            &json!({"type": "webhook", "config": wrong, "events": ["*"]}),
        )
        .await;
    assert_eq!(
        resp.status().as_u16(),
        422,
        "a wrong key password is refused at save"
    );

    // Without a client certificate the receiver refuses the connection.
    let r: Value = app
        .post_json(
            "/v1/destinations/test",
            &app.key,
            &json!({"type": "webhook", "config": {"url": rx.url, "ca_cert": rx.file("ca.pem")}, "events": ["*"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], false, "{r}");
    assert!(!r["error"].as_str().unwrap().is_empty());

    let dest = app
        .create_destination(
            json!({"type": "webhook", "config": config, "events": ["extraction.processed"]}),
        )
        .await;
    assert_eq!(dest["config"]["client_key"], "********");
    assert_eq!(dest["config"]["client_key_password"], "********");
    let id = dest["id"].as_str().unwrap();
    let r: Value = app
        .post_json(&format!("/v1/destinations/{id}/test"), &app.key, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["tls"], true);
    assert_eq!(r["status"], 200);

    let t = template_id(&app).await;
    app.submit_ok(&t, &Invoice::numbered(9).pdf(), "t.pdf")
        .await;
    eventually("the event over mutual TLS", || async {
        rx.received().len() == 2
    })
    .await;
    let lines = rx.received();
    assert!(
        lines.iter().all(|l| l.ends_with(" docpush-client")),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("evt_"));
}
