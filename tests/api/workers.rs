use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{id, start, test_settings, Receiver};
use docpush::startup::Application;
use docpush::types::{JobId, JobStatus};
use docpush_samples::{invoice_template_fields, zip, Invoice};

async fn run_workers(
    settings: docpush::config::Settings,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let app = Application::build(settings).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    (
        stop,
        tokio::spawn(app.run_until_stopped(async move { stopped.cancelled().await })),
    )
}

/// An API-only app (no workers, 100 credits) and the settings of a worker-only
/// process on the same database, started later by the test.
async fn api_app_and_worker_settings() -> (crate::helpers::TestApp, docpush::config::Settings) {
    let dir = tempfile::tempdir().unwrap();
    let mut api_only = test_settings(dir.path()).await;
    api_only.workers_enabled = false;
    let mut worker_only = api_only.clone();
    worker_only.workers_enabled = true;
    worker_only.api_enabled = false;
    (start(api_only, dir, 100).await, worker_only)
}

#[tokio::test]
async fn a_job_whose_worker_died_is_resumed_after_its_lease_and_finishes_once() {
    let (app, worker_only) = api_app_and_worker_settings().await;
    let receiver = Receiver::start().await;
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let docs: Vec<Vec<u8>> = (0..3).map(|i| Invoice::numbered(i).pdf()).collect();
    let archive = zip(&[
        ("a.pdf", &docs[0]),
        ("b.pdf", &docs[1]),
        ("c.pdf", &docs[2]),
    ]);
    let job = app
        .submit_ok(t["id"].as_str().unwrap(), &archive, "batch.zip")
        .await;

    // A worker claims the job, starts unzipping, and dies.
    let lease_ms = 1500;
    let claimed = docpush::db::jobs::claim_next(&app.state.db, "doomed-worker", lease_ms)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id.as_str(), job);
    assert!(docpush::db::jobs::move_status(
        &app.state.db,
        &id(&job),
        "doomed-worker",
        JobStatus::New,
        JobStatus::UnzippingFile,
        None
    )
    .await
    .unwrap());

    let (stop, worker) = run_workers(worker_only).await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS");
    let history: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "NEW",
            "UNZIPPING FILE",
            "UNZIP FILE SUCCESS",
            "PROCESSING IMAGE",
            "PROCESS IMAGE SUCCESS",
            "SUCCESS"
        ]
    );

    let got = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "one webhook per document");
    let mut names: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["file_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["a.pdf", "b.pdf", "c.pdf"]);
    let row = docpush::db::jobs::get_any(&app.state.db, &id(&job))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.claims, 2, "claimed by the dead worker, then once more");
    let ledger = docpush::db::accounts::ledger(&app.state.db, &app.account_id)
        .await
        .unwrap();
    assert_eq!(
        ledger.iter().filter(|l| l.delta < 0).count(),
        3,
        "each document charged once"
    );
    assert_eq!(app.credits().await, 100 - 6);
    stop.cancel();
    worker.await.unwrap().unwrap();
}

#[tokio::test]
async fn two_worker_processes_share_the_queue_and_each_job_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path()).await;
    let mut second = settings.clone();
    second.api_enabled = false;
    let app = start(settings, dir, 1000).await;
    let (stop, worker) = run_workers(second).await;
    let receiver = Receiver::start().await;
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let mut jobs = Vec::new();
    for i in 0..12 {
        jobs.push(
            app.submit_ok(
                t["id"].as_str().unwrap(),
                &Invoice::numbered(i).pdf(),
                &format!("{i}.pdf"),
            )
            .await,
        );
    }
    for j in &jobs {
        assert_eq!(app.wait_finished(j).await["status"], "SUCCESS");
    }
    receiver.wait_for(12).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 12);
    let mut per_job: HashMap<String, usize> = HashMap::new();
    for r in &got {
        let body: Value = r.json();
        *per_job
            .entry(body["job_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(per_job.values().all(|n| *n == 1), "{per_job:?}");
    for j in &jobs {
        let row = docpush::db::jobs::get_any(&app.state.db, &id(j))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.claims, 1, "job {j} claimed more than once");
    }
    assert_eq!(app.credits().await, 1000 - 24);
    stop.cancel();
    worker.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_missing_stored_document_fails_its_file_and_a_job_that_keeps_dying_is_failed() {
    let (app, worker_only) = api_app_and_worker_settings().await;
    let receiver = Receiver::start().await;
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let tid = t["id"].as_str().unwrap();

    // Claimed and dropped by eleven workers in a row (each lease already expired).
    let cursed = app
        .submit_ok(tid, &Invoice::numbered(2).pdf(), "cursed.pdf")
        .await;
    for i in 0..11 {
        let claimed = docpush::db::jobs::claim_next(&app.state.db, &format!("dying-{i}"), -1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id.as_str(), cursed);
    }

    let lost = app
        .submit_ok(tid, &Invoice::numbered(1).pdf(), "lost.pdf")
        .await;
    std::fs::remove_file(app.dir.path().join("blobs/jobs").join(&lost).join("upload")).unwrap();

    let (stop, worker) = run_workers(worker_only).await;
    let status = app.wait_finished(&lost).await;
    assert_eq!(status["status"], "FAILED");
    assert_eq!(
        status["files"][0]["error"],
        "the stored document is missing"
    );
    let status = app.wait_finished(&cursed).await;
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("after 10 attempts"),
        "{status}"
    );
    let got = receiver.wait_for(2).await;
    assert!(got.iter().all(|r| r.json()["type"] == "extraction.failed"));
    assert_eq!(app.credits().await, 100);
    stop.cancel();
    worker.await.unwrap().unwrap();
}

/// Hosts started together on an empty PostgreSQL database all migrate it and
/// start: migrations take turns instead of colliding in the catalogue.
#[tokio::test]
async fn postgres_only_hosts_starting_together_on_an_empty_database_all_migrate_it() {
    // SQLite is one file with one writer: there is nothing to race.
    let test = "postgres_only_hosts_starting_together_on_an_empty_database_all_migrate_it";
    let Some(admin) = crate::helpers::postgres_or_skip(test) else {
        return;
    };
    let url = crate::helpers::fresh_postgres(&admin).await;
    let mut hosts = tokio::task::JoinSet::new();
    for n in 0..4 {
        let url = url.clone();
        hosts.spawn(async move {
            let db = docpush::db::connect(&url, 1).await?;
            docpush::db::migrate(&db).await?;
            anyhow::Ok((n, db))
        });
    }
    while let Some(host) = hosts.join_next().await {
        let (n, db) = host.unwrap().expect("every host migrates");
        let (_, key) = docpush::db::accounts::create(&db, &format!("host {n}"), 1)
            .await
            .unwrap();
        assert!(!key.is_empty());
    }
}

/// On PostgreSQL a claim, which writes only the lease, rewrites the row in
/// place and none of the table's indexes: claims come many times per second
/// under load, and each index entry written is work for every one of them.
#[tokio::test]
async fn postgres_only_claiming_deliveries_leaves_their_indexes_alone() {
    use docpush::db::deliveries::{claim_due, Scope};
    use docpush::delivery::{emit_all, NewEvent};
    use docpush::outbound::EventFilter;
    use docpush::targets::{TemplateWebhook, WebhookConfig};
    use docpush::types::{AccountId, EventType, TemplateId};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    // Heap-only updates and fillfactor are PostgreSQL's own.
    let test = "postgres_only_claiming_deliveries_leaves_their_indexes_alone";
    let Some(admin) = crate::helpers::postgres_or_skip(test) else {
        return;
    };
    let url = crate::helpers::fresh_postgres(&admin).await;
    let db = docpush::db::connect(&url, 2).await.unwrap();
    docpush::db::migrate(&db).await.unwrap();
    // Emitted as a job emits them, to a template webhook; enough to fill the
    // table's first pages, where the oldest rows are.
    let hook = TemplateWebhook {
        config: WebhookConfig::default(),
        events: EventFilter::of(&[EventType::ExtractionProcessed]),
    };
    let (account, job, template) = (
        AccountId::new(),
        JobId::new(),
        docpush::types::TemplateChoice::Fixed(TemplateId::new()),
    );
    let events = (0..200)
        .map(|i| NewEvent {
            event_type: EventType::ExtractionProcessed,
            account_id: &account,
            job_id: Some(&job),
            about: None,
            file_id: None,
            template_id: &template,
            origin: docpush::types::Origin::System,
            data: serde_json::json!({"result": {"total": i}}),
        })
        .collect();
    emit_all(&db, events, Some(&hook)).await.unwrap();
    let claimed = claim_due(&db, "owner", 60_000, Scope::Except(&[]), 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);

    // The server publishes its row counters a moment after the statement.
    let counters = Statement::from_string(
        DbBackend::Postgres,
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'deliveries'",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (updated, in_place) = loop {
        let row = db.query_one(counters.clone()).await.unwrap().unwrap();
        let updated: i64 = row.try_get("", "n_tup_upd").unwrap();
        let in_place: i64 = row.try_get("", "n_tup_hot_upd").unwrap();
        if updated >= 5 || std::time::Instant::now() > deadline {
            break (updated, in_place);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(updated, 5, "the claim's updates were never counted");
    assert_eq!(in_place, 5, "claims wrote index entries");
}

/// Unix ms by the database's own clock, as the service reads it.
async fn database_now(db: &sea_orm::DatabaseConnection) -> i64 {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now"
        }
        _ => "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now",
    };
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "now").unwrap()
}

/// A renewed lease holds its job against every other claimer, counted on the
/// database's clock; a job given back after a failed step is not claimable
/// again until its delay has passed.
#[tokio::test]
async fn leases_are_kept_on_the_database_clock_and_a_failed_step_waits_before_its_next_claim() {
    let (app, _) = api_app_and_worker_settings().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(4).pdf(),
            "a.pdf",
        )
        .await;
    let db = &app.state.db;
    let job: JobId = id(&job);

    let claimed = docpush::db::jobs::claim_next(db, "worker-a", 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, job);
    assert!(docpush::db::jobs::renew_lease(db, &job, "worker-a", 60_000)
        .await
        .unwrap());
    let row = docpush::db::jobs::get_any(db, &job).await.unwrap().unwrap();
    let left = row.lease_expires_at.expect("a lease") - database_now(db).await;
    assert!(
        (50_000..=60_000).contains(&left),
        "the renewed lease ends {left} ms from the database's now"
    );
    assert!(
        docpush::db::jobs::claim_next(db, "worker-b", 1_000)
            .await
            .unwrap()
            .is_none(),
        "a live lease was taken over"
    );
    assert!(
        !docpush::db::jobs::renew_lease(db, &job, "worker-b", 60_000)
            .await
            .unwrap()
    );

    // A failed step: given back with a delay, counted as a claim.
    docpush::db::jobs::put_back(db, &job, "worker-a", Duration::from_secs(30), true)
        .await
        .unwrap();
    let row = docpush::db::jobs::get_any(db, &job).await.unwrap().unwrap();
    assert_eq!(row.lease_owner, None);
    assert_eq!(row.claims, 1);
    let left = row.lease_expires_at.expect("a retry time") - database_now(db).await;
    assert!((20_000..=30_000).contains(&left), "retry in {left} ms");
    assert!(docpush::db::jobs::claim_next(db, "worker-c", 1_000)
        .await
        .unwrap()
        .is_none());

    // A passing failure: given back without using up a claim.
    docpush::db::jobs::put_back(db, &job, "nobody", Duration::ZERO, false)
        .await
        .unwrap();
    let again = docpush::db::jobs::claim_next(db, "worker-d", 1_000)
        .await
        .unwrap();
    assert!(again.is_none(), "only the owner can give a job back");
}
