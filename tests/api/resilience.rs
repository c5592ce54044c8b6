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
    let err = jobs::try_run_one(&app.state, "worker-a").await.unwrap_err();
    assert!(docpush::transient::is_transient(&err), "{err:?}");
    let row = db::jobs::get_any(&app.state.db, &job)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "NEW", "not failed");
    assert_eq!(row.claims, 0, "a passing failure does not count as a claim");
    assert!(row.finished_at.is_none());

    restore_templates(&app).await;
    eventually("the job to be taken up again", || async {
        matches!(
            jobs::try_run_one(&app.state, "worker-b").await,
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
        jobs::try_run_one(&app.state, "worker").await.unwrap(),
        jobs::Outcome::Processed
    );
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");

    hide_templates(&app).await;
    // Each attempt finds its target unreadable and puts its delivery back.
    while deliveries::try_run_one(&app.state, "sender").await.unwrap()
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
        deliveries::try_run_one(&app.state, "sender").await.unwrap();
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
        jobs::try_run_one(&app.state, "worker").await.unwrap(),
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
