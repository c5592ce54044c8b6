//! Xtracta's document and batch actions (SPEC §3): the recycle bin, restore,
//! erasure down to the bytes on disk, hold and release, review locks; each
//! event with its origin.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{b64, eventually, postgres_url, spawn_app, spawn_with, Receiver, TestApp};
use crate::jobs::files_under;
use crate::peers;
use docpush_samples::{invoice_template_fields, Invoice};

impl TestApp {
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-auth", key)
            .send()
            .await
            .unwrap()
    }

    async fn act(&self, path: &str) -> (u16, Value) {
        let resp = self.send(reqwest::Method::POST, path, &self.key).await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// The first body of `kind` the receiver got.
fn first(receiver: &Receiver, kind: &str) -> Option<Value> {
    receiver
        .received()
        .iter()
        .map(|r| r.json())
        .find(|b| b["type"] == kind)
}

async fn wait_event(receiver: &Receiver, kind: &str) -> Value {
    eventually(kind, || async { first(receiver, kind).is_some() }).await;
    first(receiver, kind).unwrap()
}

/// The account's deliveries of one event type.
async fn deliveries_of(app: &TestApp, kind: &str) -> Vec<Value> {
    app.deliveries("limit=100")
        .await
        .into_iter()
        .filter(|d| d["event_type"] == kind)
        .collect()
}

/// A job read by the workers while on hold, with a destination taking every event.
async fn held_job() -> (TestApp, Receiver, String) {
    let app = spawn_with(|s| s.workers_enabled = false).await;
    let receiver = Receiver::start().await;
    app.webhook_destination(&receiver.url, &["*"]).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(2).pdf(),
            "held.pdf",
        )
        .await;
    let (status, state) = app.act(&format!("/v1/jobs/{job}/hold")).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["held"], true);
    let app = app.restart(|s| s.workers_enabled = true).await;
    app.wait_finished(&job).await;
    wait_event(&receiver, "batch.completed").await;
    (app, receiver, job)
}

#[tokio::test]
async fn a_held_jobs_document_events_wait_and_go_out_on_release() {
    let (app, receiver, job) = held_job().await;
    for kind in [
        "job.received",
        "batch.ready",
        "batch.processing",
        "batch.on_hold",
    ] {
        let ev = wait_event(&receiver, kind).await;
        let origin = if kind == "batch.processing" {
            "system"
        } else {
            "api"
        };
        assert_eq!(ev["origin"], origin, "{kind}: {ev}");
        assert_eq!(ev["data"]["job_id"], job.as_str());
    }
    let held = deliveries_of(&app, "extraction.processed").await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["status"], "held");
    assert!(
        first(&receiver, "extraction.processed").is_none(),
        "nothing of the document left while held"
    );

    let (status, state) = app.act(&format!("/v1/jobs/{job}/release")).await;
    assert_eq!((status, &state["held"]), (200, &json!(false)), "{state}");
    let processed = wait_event(&receiver, "extraction.processed").await;
    assert_eq!(processed["data"]["result"]["invoice_number"], "INV-1002");
    let released = wait_event(&receiver, "batch.released").await;
    assert_eq!(released["origin"], "api");
    let order: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_string())
        .collect();
    let at = |k: &str| order.iter().position(|t| t == k).unwrap();
    assert!(
        at("batch.released") < at("extraction.processed")
            || at("batch.on_hold") < at("extraction.processed"),
        "{order:?}"
    );
}

#[tokio::test]
async fn a_deleted_job_leaves_the_lists_cancels_its_deliveries_and_comes_back_on_restore() {
    let (app, receiver, job) = held_job().await;
    let resp = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/jobs/{job}"),
            &app.key,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 204);
    let cancelled = deliveries_of(&app, "extraction.processed").await;
    assert_eq!(cancelled[0]["status"], "cancelled", "{cancelled:?}");
    let deleted = wait_event(&receiver, "document.deleted").await;
    assert_eq!(deleted["origin"], "api");
    let file_id = deleted["data"]["file_id"].as_str().unwrap().to_string();
    assert_eq!(
        wait_event(&receiver, "batch.deleted").await["data"]["hard"],
        false
    );

    let listed: Value = app.get("/v1/jobs", &app.key).await.json().await.unwrap();
    assert!(
        listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["job_id"] != job.as_str()),
        "{listed}"
    );
    let bin: Value = app
        .get("/v1/jobs?deleted=true", &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bin["jobs"][0]["job_id"], job.as_str(), "{bin}");
    assert_eq!(app.results(&job, "json").await.status().as_u16(), 410);
    let (status, _) = app.act(&format!("/v1/jobs/{job}/hold")).await;
    assert_eq!(status, 410, "a binned job takes no batch action");

    let (status, state) = app.act(&format!("/v1/jobs/{job}/restore")).await;
    assert_eq!((status, &state["deleted"]), (200, &json!(false)), "{state}");
    let restored = wait_event(&receiver, "document.restored").await;
    assert_eq!(restored["data"]["file_id"], file_id.as_str());
    assert_eq!(app.results(&job, "json").await.status().as_u16(), 200);
    let (status, body) = app.act(&format!("/v1/jobs/{job}/restore")).await;
    assert_eq!(status, 409, "{body}");

    // One document of it, on its own.
    let path = format!("/v1/jobs/{job}/files/{file_id}");
    assert_eq!(
        app.send(reqwest::Method::DELETE, &path, &app.key)
            .await
            .status()
            .as_u16(),
        204
    );
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    assert_eq!(
        results["results"],
        json!([]),
        "a binned document leaves the results"
    );
    let (status, _) = app.act(&format!("{path}/restore")).await;
    assert_eq!(status, 200);
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    assert_eq!(results["results"][0]["file_id"], file_id.as_str());

    // What a receiver was told not to expect does not arrive late.
    app.act(&format!("/v1/jobs/{job}/release")).await;
    let cancelled = deliveries_of(&app, "extraction.processed").await;
    assert_eq!(cancelled[0]["status"], "cancelled");
    assert!(first(&receiver, "extraction.processed").is_none());
}

#[tokio::test]
async fn a_lock_keeps_others_edits_out_names_its_holder_and_lapses() {
    let app = spawn_with(|s| s.limits.review_lock = Duration::from_millis(1500)).await;
    let receiver = Receiver::start().await;
    app.webhook_destination(&receiver.url, &["batch.locked", "batch.unlocked"])
        .await;
    let other: Value = app
        .post_json("/v1/keys", &app.key, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let other_key = other["key"].as_str().unwrap().to_string();
    let keys: Vec<Value> = app.get("/v1/keys", &app.key).await.json().await.unwrap();
    let mine = keys.iter().find(|k| k["id"] != other["id"]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t = app.create_template(invoice_template_fields(), None).await;
    let result = app
        .extract_one(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(4).pdf(),
            "l.pdf",
        )
        .await;
    let job: Value = app.get("/v1/jobs", &app.key).await.json().await.unwrap();
    let job = job["jobs"][0]["job_id"].as_str().unwrap().to_string();
    let edit = format!(
        "/v1/jobs/{job}/files/{}/result",
        result["file_id"].as_str().unwrap()
    );
    let patch = |key: String| {
        let (app, edit) = (&app, edit.clone());
        async move {
            app.http
                .patch(format!("{}{edit}", app.base))
                .header("x-auth", key)
                .json(&json!({"result": {"reference": "REF-X"}}))
                .send()
                .await
                .unwrap()
        }
    };

    let (status, state) = app.act(&format!("/v1/jobs/{job}/lock")).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["locked_by"], format!("key:{mine}"));
    let refused = patch(other_key.clone()).await;
    assert_eq!(refused.status().as_u16(), 409);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains(&mine),
        "names the holder: {body}"
    );
    let lock_other = app
        .send(
            reqwest::Method::POST,
            &format!("/v1/jobs/{job}/lock"),
            &other_key,
        )
        .await;
    assert_eq!(lock_other.status().as_u16(), 409);
    assert_eq!(
        patch(app.key.clone()).await.status().as_u16(),
        200,
        "the holder edits"
    );
    let locked = wait_event(&receiver, "batch.locked").await;
    assert_eq!(locked["origin"], "api");

    // Lapsed, the lock lets the other key in, and the system says so.
    let unlocked = wait_event(&receiver, "batch.unlocked").await;
    assert_eq!(unlocked["origin"], "system", "{unlocked}");
    assert_eq!(patch(other_key.clone()).await.status().as_u16(), 200);
    let status = app.status(&job).await;
    assert_eq!(status["lifecycle"]["locked_by"], Value::Null, "{status}");
}

/// Whether `marker` is anywhere the service keeps data: every file under its
/// data directory (the SQLite file, its write-ahead log, the local blobs),
/// and on PostgreSQL every row of every table.
async fn stored_anywhere(app: &TestApp, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for path in files_under(app.dir.path()) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            found.push(path.display().to_string());
        }
    }
    if postgres_url().is_some() {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &app.state.db;
        let tables = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            ))
            .await
            .unwrap();
        for t in tables {
            let name: String = t.try_get("", "tablename").unwrap();
            let sql =
                format!("SELECT COUNT(*) AS n FROM \"{name}\" t WHERE t::text LIKE '%{marker}%'");
            let row = db
                .query_one(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<i64>("", "n").unwrap() > 0 {
                found.push(format!("table {name}"));
            }
        }
    }
    found
}

/// Submits a document whose name, static values and extracted vendor carry
/// `marker`, to a destination that is down, so its deliveries are pending
/// with attempts logged when it is erased.
async fn erase_pending_document(app: &TestApp, marker: &str) -> (Receiver, String) {
    let receiver = Receiver::start().await;
    receiver.fail_next(10_000, 500);
    app.webhook_destination(&receiver.url, &["*"]).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let mut invoice = Invoice::numbered(5);
    invoice.vendor = format!("{marker} Ltd");
    let resp = app
        .post_json(
            "/v1/process-job",
            &app.key,
            &json!({"template_id": t["id"], "actual_image": b64(&invoice.pdf()),
                    "file_name": format!("{marker}.pdf"), "static_values": {"customer": marker}}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let job = resp.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.wait_finished(&job).await;
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    assert_eq!(
        results["results"][0]["result"]["vendor"],
        format!("{marker} Ltd")
    );
    eventually("an attempt logged", || async {
        deliveries_of(app, "extraction.processed")
            .await
            .first()
            .is_some_and(|d| d["attempts"].as_i64() > Some(0))
    })
    .await;
    assert!(
        !stored_anywhere(app, marker).await.is_empty(),
        "the document is stored before its erasure"
    );

    let resp = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/jobs/{job}?hard=true"),
            &app.key,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text().await);
    (receiver, job)
}

/// After an erasure: nothing answers for the job, the receiver is told,
/// and only events without content are left.
async fn erased_and_announced(app: &TestApp, receiver: &Receiver, job: &str) {
    assert_eq!(
        app.get(&format!("/job-status?job_id={job}"), &app.key)
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(app.results(job, "json").await.status().as_u16(), 404);
    let listed: Value = app
        .get("/v1/jobs?deleted=true", &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["jobs"], json!([]));
    receiver.recover();
    let gone = wait_event(receiver, "document.hard_deleted").await;
    assert_eq!(gone["origin"], "api");
    assert_eq!(gone["data"]["job_id"], job);
    assert_eq!(
        wait_event(receiver, "batch.deleted").await["data"]["hard"],
        true
    );
    let kinds: Vec<String> = app
        .deliveries("limit=100")
        .await
        .iter()
        .map(|d| d["event_type"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| k == "document.hard_deleted" || k == "batch.deleted"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_hard_delete_erases_every_byte_of_a_document_with_deliveries_pending() {
    let app = spawn_app().await;
    let marker = format!(
        "ERASEME{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
    .to_uppercase();
    let (receiver, job) = erase_pending_document(&app, &marker).await;
    let left = stored_anywhere(&app, &marker).await;
    assert!(
        left.is_empty(),
        "the document's content is still in {left:?}"
    );
    erased_and_announced(&app, &receiver, &job).await;
    assert!(stored_anywhere(&app, &marker).await.is_empty());
}

#[tokio::test]
async fn a_hard_delete_erases_the_document_from_an_s3_blob_store() {
    let bucket = peers::new_bucket().await;
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", peers::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", peers::SECRET_KEY),
        ("AWS_ENDPOINT_URL", peers::s3_endpoint()),
        ("AWS_REGION", "us-east-1"),
    ] {
        // Each test runs in its own process (nextest): nothing else reads these.
        std::env::set_var(k, v);
    }
    let app = spawn_with(|s| s.blob_store = Some(format!("s3://{bucket}/blobs"))).await;
    let marker = format!(
        "ERASEME{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
    .to_uppercase();
    let (receiver, job) = erase_pending_document(&app, &marker).await;
    let s3 = peers::s3_client();
    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(
        keys.iter().all(|k| !k.contains(&job)),
        "the job's objects are gone: {keys:?}"
    );
    for key in keys {
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert!(
            !body.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{key} holds the document"
        );
    }
    let left = stored_anywhere(&app, &marker).await;
    assert!(
        left.is_empty(),
        "the document's content is still in {left:?}"
    );
    erased_and_announced(&app, &receiver, &job).await;
}

#[tokio::test]
async fn the_retention_purge_is_the_systems_erasure() {
    let app = spawn_with(|s| s.retention = Duration::from_millis(300)).await;
    let receiver = Receiver::start().await;
    app.webhook_destination(&receiver.url, &["document.hard_deleted", "batch.deleted"])
        .await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(6).pdf(),
            "r.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    let gone = wait_event(&receiver, "document.hard_deleted").await;
    assert_eq!(gone["origin"], "system");
    assert_eq!(
        wait_event(&receiver, "batch.deleted").await["origin"],
        "system"
    );
    assert_eq!(
        app.results(&job, "json").await.status().as_u16(),
        410,
        "purged results answer 410"
    );
}

#[tokio::test]
async fn an_erased_queued_job_is_never_read_and_its_events_never_sent() {
    let app = spawn_with(|s| s.workers_enabled = false).await;
    let receiver = Receiver::start().await;
    app.webhook_destination(
        &receiver.url,
        &[
            "extraction.processed",
            "extraction.failed",
            "batch.completed",
            "document.hard_deleted",
        ],
    )
    .await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(9).pdf(),
            "q.pdf",
        )
        .await;
    let resp = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/jobs/{job}?hard=true"),
            &app.key,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 204);
    let app = app.restart(|s| s.workers_enabled = true).await;
    wait_event(&receiver, "document.hard_deleted").await;
    // A job submitted after it is read: the workers ran past the erased one.
    let next = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(10).pdf(),
            "n.pdf",
        )
        .await;
    app.wait_finished(&next).await;
    wait_event(&receiver, "batch.completed").await;
    let about_erased: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["data"]["job_id"] == job.as_str() && b["type"] != "document.hard_deleted")
        .collect();
    assert!(about_erased.is_empty(), "{about_erased:?}");
    assert_eq!(
        app.get(&format!("/job-status?job_id={job}"), &app.key)
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn erasing_one_document_of_a_batch_leaves_nothing_of_it_and_keeps_the_others() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let marker = format!(
        "ERASEDOC{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
    .to_uppercase();
    let mut secret = Invoice::numbered(11);
    secret.vendor = format!("{marker} Ltd");
    let (name, secret_pdf, kept_pdf) = (
        format!("{marker}.pdf"),
        secret.pdf(),
        Invoice::numbered(12).pdf(),
    );
    let archive = docpush_samples::zip(&[
        (name.as_str(), secret_pdf.as_slice()),
        ("kept.pdf", kept_pdf.as_slice()),
    ]);
    let job = app
        .submit_ok(t["id"].as_str().unwrap(), &archive, "batch.zip")
        .await;
    app.wait_finished(&job).await;
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let erased = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file_name"] == format!("{marker}.pdf"))
        .unwrap()["file_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!stored_anywhere(&app, &marker).await.is_empty());
    let path = format!("/v1/jobs/{job}/files/{erased}?hard=true");
    assert_eq!(
        app.send(reqwest::Method::DELETE, &path, &app.key)
            .await
            .status()
            .as_u16(),
        204
    );
    let left = stored_anywhere(&app, &marker).await;
    assert!(
        left.is_empty(),
        "the document's name or values are still in {left:?}"
    );
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let names: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kept.pdf"]);
    let path = format!("/v1/jobs/{job}/files/{erased}/restore");
    assert_eq!(app.act(&path).await.0, 404, "an erased document is gone");
}
