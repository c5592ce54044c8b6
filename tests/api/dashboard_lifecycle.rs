//! A job's lifecycle in the dashboard, in a real browser: hold and lock
//! shown on the job page, delete to the recycle bin and restore from it,
//! erase another, and all of it in the audit log, each event by a `user`.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Receiver};
use crate::ui::{wait_event, Ui};
use docpush_samples::{invoice_template_fields, Invoice};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deletes_restores_and_erases_jobs_and_finds_it_all_in_the_audit_log() {
    let app = spawn_app().await;
    let hook = Receiver::start().await;
    // Only what people do in the dashboard reaches this destination.
    app.create_destination(json!({"type": "webhook", "config": {"url": hook.url},
        "rules": [{"origins": ["user"]}]}))
        .await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let kept = app
        .submit_ok(tid, &Invoice::numbered(1).pdf(), "kept.pdf")
        .await;
    let erased = app
        .submit_ok(tid, &Invoice::numbered(2).pdf(), "erased.pdf")
        .await;
    app.wait_finished(&kept).await;
    app.wait_finished(&erased).await;

    let ui = Ui::start(&app).await;
    ui.goto("/dashboard/login").await;
    ui.fill("#api_key", &app.key).await;
    ui.submit("button[type=submit]").await;

    // Hold and lock: the job page says so, and who holds the lock.
    ui.goto(&format!("/dashboard/jobs/{kept}")).await;
    ui.submit("#hold").await;
    assert!(ui.text("#hold-state").await.contains("on hold"));
    ui.submit("#lock").await;
    let lock = ui.text("#lock-state").await;
    assert!(
        lock.contains("dashboard user") && lock.contains("(you)"),
        "{lock}"
    );
    ui.find("#unlock").await;
    ui.shot("job-held-locked").await;
    assert_eq!(wait_event(&hook, "batch.locked").await["origin"], "user");
    ui.submit("#unlock").await;
    ui.submit("#release").await;

    // Delete: the job leaves the list for the recycle bin.
    ui.submit("#delete").await;
    ui.find("#in-bin").await;
    ui.shot("job-in-bin").await;
    ui.goto("/dashboard/jobs").await;
    let listed = ui.text("main").await;
    assert!(
        !listed.contains(&kept[..8]),
        "a deleted job is not listed: {listed}"
    );
    ui.submit("#open-bin").await;
    ui.find(&format!("tr[data-job='{kept}']")).await;
    ui.shot("recycle-bin").await;
    ui.submit(&format!("tr[data-job='{kept}'] a")).await;
    ui.submit("#restore").await;
    ui.find("#delete").await;
    let page = ui.text("main").await;
    assert!(!page.contains("in the recycle bin"), "restored: {page}");
    let results: Value = app.results(&kept, "json").await.json().await.unwrap();
    let file = results["results"][0]["file_id"]
        .as_str()
        .unwrap()
        .to_string();

    // One document of it: to the bin and back.
    ui.click("[data-doc-actions] summary").await;
    ui.submit("[data-delete-doc]").await;
    ui.find(&format!("#binned-documents [data-binned='{file}']"))
        .await;
    ui.shot("document-in-bin").await;
    let results: Value = app.results(&kept, "json").await.json().await.unwrap();
    assert_eq!(
        results["results"],
        json!([]),
        "a binned document leaves the results"
    );
    ui.submit("[data-restore-doc]").await;
    ui.find("[data-doc-actions]").await;
    let results: Value = app.results(&kept, "json").await.json().await.unwrap();
    assert_eq!(results["results"][0]["file_id"], file.as_str());

    // Erase: a confirmation that names what goes, then nothing of it answers.
    ui.goto(&format!("/dashboard/jobs/{erased}")).await;
    ui.click("#erase-box summary").await;
    let warning = ui.text("#erase-box").await;
    assert!(
        warning.contains("uploaded documents") && warning.contains("cannot be undone"),
        "{warning}"
    );
    ui.shot("erase-confirm").await;
    ui.click("#confirm-erase").await;
    ui.submit("#erase").await;
    assert_eq!(ui.path().await, "/dashboard/audit");
    let status = app
        .get(&format!("/job-status?job_id={erased}"), &app.key)
        .await;
    assert_eq!(status.status().as_u16(), 404);

    // The audit log: both jobs' stories, by the dashboard user.
    for (action, job) in [
        ("job.deleted", &kept),
        ("job.restored", &kept),
        ("document.deleted", &file),
        ("document.restored", &file),
        ("job.erased", &erased),
    ] {
        let row = ui
            .text(&format!("tr[data-action='{action}'][data-object='{job}']"))
            .await;
        assert!(row.contains("user:"), "{action}: {row}");
    }
    ui.shot("audit-log").await;

    for kind in [
        "batch.on_hold",
        "batch.released",
        "batch.unlocked",
        "document.deleted",
        "batch.deleted",
        "document.restored",
        "document.hard_deleted",
    ] {
        let ev: Value = wait_event(&hook, kind).await;
        assert_eq!(ev["origin"], "user", "{kind}: {ev}");
    }
    assert!(
        hook.received().iter().all(|r| r.json()["origin"] == "user"),
        "the workers' events are not the dashboard's"
    );

    // The destination form shows its rules.
    ui.goto("/dashboard/destinations").await;
    ui.submit("table a[href^='/dashboard/destinations/dst_']")
        .await;
    let rules = ui
        .find("#rules")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        rules.contains("\"origins\"") && rules.contains("user"),
        "{rules}"
    );
    ui.shot_at("destination-rules", "#rules").await;

    // A template's category, set in the editor, is what rules select by.
    ui.goto(&format!("/dashboard/templates/{tid}")).await;
    ui.fill("#category", "invoices").await;
    ui.submit("#save").await;
    let saved: Value = app
        .get(&format!("/v1/templates/{tid}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved["category"], "invoices", "{saved}");
    ui.goto("/dashboard/audit?object_type=template").await;
    let row = ui.text("tr[data-action='template.updated']").await;
    assert!(
        row.contains("category") && row.contains("invoices"),
        "{row}"
    );
}
