//! Passing failures: the database refusing a query for a while is waited out,
//! never turned into a failed job or a dead-lettered delivery.
//!
//! The failure is real: the `templates` table is renamed away while a worker
//! runs, so every query that needs it fails, then renamed back.

use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::helpers::{eventually, spawn_with, Receiver, TestApp};
use docpush::db;
use docpush::delivery::worker as deliveries;
use docpush::jobs::worker as jobs;
use docpush::types::JobStatus;
use docpush_samples::{invoice_template_fields, Invoice};

async fn sql(app: &TestApp, statement: &str) {
    app.state
        .db
        .execute_unprepared(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

async fn hide_templates(app: &TestApp) {
    sql(app, "ALTER TABLE templates RENAME TO templates_away").await;
}

async fn restore_templates(app: &TestApp) {
    sql(app, "ALTER TABLE templates_away RENAME TO templates").await;
}

/// An app without workers of its own, a template with a webhook to `receiver`, and a submitted job.
async fn job_waiting(receiver: &Receiver) -> (TestApp, String) {
    let app = spawn_with(|s| s.workers_enabled = false).await;
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
    (app, job)
}

#[tokio::test]
async fn a_database_error_during_a_job_puts_it_back_and_it_finishes_once_the_database_is_back() {
    let receiver = Receiver::start().await;
    let (app, job) = job_waiting(&receiver).await;

    hide_templates(&app).await;
    let err = jobs::try_run_one(&app.state.job_worker, "worker-a")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let row = db::jobs::get_any(&app.state.db, &crate::helpers::id(&job))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, JobStatus::New, "not failed");
    assert_eq!(row.claims, 0, "a passing failure does not count as a claim");
    assert!(row.finished_at.is_none());

    restore_templates(&app).await;
    eventually("the job to be taken up again", || async {
        matches!(
            jobs::try_run_one(&app.state.job_worker, "worker-b").await,
            Ok(jobs::Outcome::Processed)
        )
    })
    .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS", "{status}");
    assert_eq!(status["files"][0]["status"], "PROCESS IMAGE SUCCESS");
}

#[tokio::test]
async fn a_database_error_while_resolving_a_delivery_postpones_it_without_an_attempt() {
    let receiver = Receiver::start().await;
    let (app, job) = job_waiting(&receiver).await;
    assert_eq!(
        jobs::try_run_one(&app.state.job_worker, "worker")
            .await
            .unwrap(),
        jobs::Outcome::Processed
    );
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");

    hide_templates(&app).await;
    // Each attempt finds its target unreadable and puts its delivery back.
    while deliveries::try_run_one(&app.state.dispatcher, "sender")
        .await
        .unwrap()
        == deliveries::Outcome::Attempted
    {}
    let pending = app.deliveries(&format!("job_id={job}")).await;
    assert!(!pending.is_empty());
    for d in &pending {
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["attempts"], 0, "{d}");
        assert!(
            d["last_error"]
                .as_str()
                .unwrap()
                .contains("cannot be loaded now"),
            "{d}"
        );
    }
    assert!(receiver.received().is_empty());

    restore_templates(&app).await;
    eventually("the webhook to arrive", || async {
        deliveries::try_run_one(&app.state.dispatcher, "sender")
            .await
            .unwrap();
        receiver
            .received()
            .iter()
            .any(|r| r.json()["type"] == "extraction.processed")
    })
    .await;
    let delivered: Vec<Value> = app
        .deliveries(&format!("job_id={job}&status=succeeded"))
        .await;
    let processed = delivered
        .iter()
        .find(|d| d["event_type"] == "extraction.processed")
        .expect("the delivery succeeded");
    assert_eq!(processed["attempts"], 1, "{processed}");
    assert!(app.deliveries("status=failed").await.is_empty());
}

#[tokio::test]
async fn a_template_that_cannot_be_read_fails_its_job_at_once_instead_of_looping() {
    let receiver = Receiver::start().await;
    let (app, job) = job_waiting(&receiver).await;
    sql(&app, "UPDATE templates SET fields = 'not json'").await;
    assert_eq!(
        jobs::try_run_one(&app.state.job_worker, "worker")
            .await
            .unwrap(),
        jobs::Outcome::Processed
    );
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("template cannot be read"),
        "{status}"
    );
}

/// An S3 destination that writes the document: when our own database cannot
/// look the document up, the delivery waits without an attempt counted and
/// without the destination being marked failing; then it is delivered.
#[tokio::test]
async fn a_database_error_while_reading_the_document_for_s3_postpones_its_delivery() {
    use crate::peers::{self, ACCESS_KEY, SECRET_KEY};
    let app = spawn_with(|s| s.workers_enabled = false).await;
    let bucket = peers::new_bucket().await;
    let destination = app
        .create_destination(serde_json::json!({
            "type": "s3",
            "config": {"bucket": bucket, "region": "us-east-1", "access_key_id": ACCESS_KEY,
                       "secret_access_key": SECRET_KEY, "endpoint_url": peers::s3_endpoint(),
                       "receive_files": ["document"]},
            "events": ["extraction.processed"],
        }))
        .await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(2).pdf(),
            "b.pdf",
        )
        .await;
    jobs::try_run_one(&app.state.job_worker, "worker")
        .await
        .unwrap();
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");

    sql(&app, "ALTER TABLE files RENAME TO files_away").await;
    deliveries::try_run_one(&app.state.dispatcher, "sender")
        .await
        .unwrap();
    let waiting = app.deliveries(&format!("job_id={job}")).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["status"], "pending", "{waiting:?}");
    assert_eq!(waiting[0]["attempts"], 0, "no attempt is counted");
    assert!(
        waiting[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot be looked up"),
        "{waiting:?}"
    );
    let id = destination["id"].as_str().unwrap();
    let shown: Value = app
        .get(&format!("/v1/destinations/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["failing_since"],
        Value::Null,
        "our outage is not the receiver's"
    );

    sql(&app, "ALTER TABLE files_away RENAME TO files").await;
    eventually("the document to be written to the bucket", || async {
        deliveries::try_run_one(&app.state.dispatcher, "sender")
            .await
            .unwrap();
        app.deliveries(&format!("job_id={job}&status=succeeded"))
            .await
            .len()
            == 1
    })
    .await;
    let written = peers::s3_client()
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(written
        .contents()
        .iter()
        .any(|o| o.key().unwrap_or_default().contains("/documents/")));
}

/// Static values that no longer read back do not keep a job from finishing:
/// its events carry `null` for them, and the job ends.
#[tokio::test]
async fn a_job_whose_stored_static_values_do_not_read_back_still_finishes() {
    let receiver = Receiver::start().await;
    let (app, job) = job_waiting(&receiver).await;
    sql(&app, "UPDATE jobs SET static_values = 'not json'").await;
    jobs::try_run_one(&app.state.job_worker, "worker")
        .await
        .unwrap();
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");
    eventually("the webhook to arrive", || async {
        deliveries::try_run_one(&app.state.dispatcher, "sender")
            .await
            .unwrap();
        !receiver.received().is_empty()
    })
    .await;
    let got = receiver.received();
    assert_eq!(got[0].json()["data"]["static_values"], Value::Null);
}

/// A destination whose stored filters no longer read back gets each event as
/// a failed delivery that says why: nothing is sent where it may not belong,
/// and nothing is lost.
#[tokio::test]
async fn a_destination_whose_filters_do_not_read_back_gets_failed_deliveries_not_guesses() {
    let receiver = Receiver::start().await;
    let app = spawn_with(|_| {}).await;
    app.webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    sql(&app, "UPDATE destinations SET templates = 'garbled'").await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(3).pdf(),
            "c.pdf",
        )
        .await;
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");
    let failed = app.deliveries(&format!("job_id={job}&status=failed")).await;
    assert!(!failed.is_empty());
    for d in &failed {
        assert!(
            d["last_error"]
                .as_str()
                .unwrap()
                .contains("filters cannot be read"),
            "{d}"
        );
    }
    assert!(receiver.received().is_empty());
}
