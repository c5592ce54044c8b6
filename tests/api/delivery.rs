use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, spawn_with, start, test_settings, Receiver};
use crate::jobs::files_under;
use docpush_samples::{invoice_template_fields, Invoice};

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_same_event_on_the_third_attempt() {
    let app = spawn_with(|_| {}).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(2, 500);
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    let got = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got_after = receiver.received();
    assert_eq!(got_after.len(), 3, "no fourth attempt after a success");
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids[0].starts_with("evt_"));
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(150),
        "backoff between attempts"
    );

    let list = app.deliveries("").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "succeeded");
    assert_eq!(list[0]["attempts"], 3);
    let attempts: Value = app
        .get(
            &format!(
                "/v1/deliveries/{}/attempts",
                list[0]["id"].as_str().unwrap()
            ),
            &app.key,
        )
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<i64> = attempts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 500, 200]);
    assert_eq!(attempts[0]["response_body"], "ack");
}

#[tokio::test]
async fn the_upload_is_kept_until_its_webhook_succeeds_then_deleted() {
    let app = spawn_with(|s| s.delivery.retry_schedule = vec![Duration::from_millis(700)]).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(1, 503);
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    let job_blobs = app.dir.path().join("blobs/jobs").join(&job);
    receiver.wait_for(1).await;
    assert_eq!(
        files_under(&job_blobs).len(),
        1,
        "kept while the delivery is pending"
    );
    receiver.wait_for(2).await;
    eventually("the upload to be deleted", || async {
        files_under(&job_blobs).is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_dead_letter_is_listed_and_replayed() {
    let app = spawn_with(|s| s.delivery.retry_schedule = vec![Duration::from_millis(100)]).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(2, 500);
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    receiver.wait_for(2).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let failed = app.deliveries("status=failed").await;
        if failed.len() == 1 {
            break failed;
        }
        assert!(std::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failed[0]["last_error"], "HTTP 500");
    let id = failed[0]["id"].as_str().unwrap();
    let resp = app
        .post_json(&format!("/v1/deliveries/{id}/retry"), &app.key, &json!({}))
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].header("webhook-id"), got[0].header("webhook-id"));
    eventually("the replay to succeed", || async {
        app.deliveries("status=succeeded").await.len() == 1
    })
    .await;
    let resp = app
        .post_json(&format!("/v1/deliveries/{id}/retry"), &app.key, &json!({}))
        .await;
    assert_eq!(resp.status().as_u16(), 409);
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart_and_are_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path()).await;
    settings.delivery.retry_schedule = vec![Duration::from_millis(1500); 5];
    let second_life = settings.clone();
    let mut app = start(settings, dir, 100).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(1, 500);
    let destination = Receiver::start().await;
    destination.fail_next(1, 503);
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    app.webhook_destination(&destination.url, &["extraction.processed"])
        .await;
    app.submit_ok(
        t["id"].as_str().unwrap(),
        &Invoice::numbered(1).pdf(),
        "a.pdf",
    )
    .await;
    receiver.wait_for(1).await;
    destination.wait_for(1).await;
    app.shutdown().await;

    // Same data dir and database: the pending retry is picked up by the new process.
    let restarted = docpush::startup::Application::build(second_life)
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let server =
        tokio::spawn(restarted.run_until_stopped(async move { stopped.cancelled().await }));
    for r in [&receiver, &destination] {
        let got = r.wait_for(2).await;
        assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for r in [&receiver, &destination] {
        assert_eq!(
            r.received().len(),
            2,
            "nothing is sent again after the success"
        );
    }
    stop.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_template_subscribed_to_batch_completed_gets_one_per_job() {
    let app = spawn_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let body = json!({"name": "t", "fields": invoice_template_fields(),
        "webhook": {"url": receiver.url, "events": ["batch.completed"]}});
    let t: Value = app
        .post_json("/v1/templates", &app.key, &body)
        .await
        .json()
        .await
        .unwrap();
    let p = Invoice::numbered(1).pdf();
    let archive = docpush_samples::zip(&[("a.pdf", &p), ("b.pdf", &p)]);
    let job = app
        .submit_ok(t["id"].as_str().unwrap(), &archive, "x.zip")
        .await;
    app.wait_finished(&job).await;
    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1);
    let body = got[0].json();
    assert_eq!(body["type"], "batch.completed");
    assert_eq!(body["data"]["status"], "SUCCESS");
    assert_eq!(body["data"]["files"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_event_says_who_caused_it() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    app.webhook_destination(&receiver.url, &["*"]).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    app.submit_ok(
        t["id"].as_str().unwrap(),
        &Invoice::numbered(1).pdf(),
        "a.pdf",
    )
    .await;
    // job.received, batch.ready, batch.processing, extraction.processed, batch.completed.
    let got = receiver.wait_for(5).await;
    let origin = |kind: &str| {
        got.iter()
            .map(|r| r.json())
            .find(|b| b["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))["origin"]
            .clone()
    };
    assert_eq!(origin("job.received"), "api", "a submission by key");
    assert_eq!(origin("extraction.processed"), "system", "the worker's");
    assert_eq!(origin("batch.completed"), "system");
    assert_eq!(origin("batch.ready"), "api", "queued by the submission");
    assert_eq!(origin("batch.processing"), "system");
    let spec = app.openapi().await;
    assert!(
        spec["components"]["schemas"]["EventEnvelope"]["properties"]["origin"].is_object(),
        "the envelope's schema has origin"
    );
}
