use serde_json::{json, Value};

use crate::helpers::{b64, eventually, spawn_app, spawn_with, start, test_settings};
use docpush_samples::{invoice_template_fields, pdf, text, zip, Invoice};

fn history(status: &Value) -> Vec<String> {
    status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_string())
        .collect()
}

pub fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

fn blob_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    files_under(&dir.join("blobs"))
}

#[tokio::test]
async fn a_single_pdf_goes_through_every_status_and_extracts_its_fields() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let inv = Invoice::numbered(7);
    let job = app
        .submit_ok(t["id"].as_str().unwrap(), &inv.pdf(), "inv.pdf")
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(
        history(&status),
        [
            "NEW",
            "PROCESSING IMAGE",
            "PROCESS IMAGE SUCCESS",
            "SUCCESS"
        ]
    );
    // A quick reading writes its moves together, each with the time it happened.
    let times: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["at"].as_str().unwrap())
        .collect();
    assert!(times.is_sorted(), "history out of order: {times:?}");
    assert_eq!(status["files"][0]["status"], "PROCESS IMAGE SUCCESS");
    assert_eq!(status["files"][0]["pages"], 2);
    assert_eq!(
        status["progress"],
        json!({"total": 1, "done": 1, "pages_total": 2, "pages_done": 2})
    );

    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let r = &results["results"][0];
    assert_eq!(r["result_status"], "ok");
    assert_eq!(
        r["result"],
        json!({
            "invoice_number": inv.number,
            "invoice_date": inv.iso_date(),
            "total": inv.total_value(),
            "vendor": "ACME Supplies Ltd",
            "reference": inv.reference,
            "paid": false,
        })
    );
}

#[tokio::test]
async fn a_zip_is_a_batch_of_root_documents_with_skipped_entries_listed() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let (a, b, c) = (
        Invoice::numbered(1).pdf(),
        Invoice::numbered(2).pdf(),
        Invoice::numbered(3).pdf(),
    );
    let broken = b"%PDF-1.4 this is not really a pdf".to_vec();
    let archive = zip(&[
        ("a.pdf", &a),
        ("b.pdf", &b),
        ("nested/", b""),
        ("nested/c.pdf", &c),
        ("notes.txt", b"hello"),
        ("broken.pdf", &broken),
    ]);
    let job = app
        .submit_ok(t["id"].as_str().unwrap(), &archive, "batch.zip")
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(
        history(&status),
        [
            "NEW",
            "UNZIPPING FILE",
            "UNZIP FILE SUCCESS",
            "PROCESSING IMAGE",
            "PROCESS IMAGE SUCCESS",
            "SUCCESS"
        ]
    );
    let files: Vec<(&str, &str)> = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file_name"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("a.pdf", "PROCESS IMAGE SUCCESS"),
            ("b.pdf", "PROCESS IMAGE SUCCESS"),
            ("broken.pdf", "PROCESS IMAGE FAILED")
        ]
    );
    assert!(
        status["files"][2]["error"]
            .as_str()
            .unwrap()
            .contains("not a valid PDF"),
        "{status}"
    );
    let skipped: Vec<&str> = status["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["nested/c.pdf", "notes.txt"]);
    assert_eq!(
        status["progress"],
        json!({"total": 3, "done": 3, "pages_total": 4, "pages_done": 4})
    );
}

#[tokio::test]
async fn unsafe_archives_fail_and_nothing_is_extracted() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let pdf_bytes = Invoice::numbered(1).pdf();
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "zip-slip",
            zip(&[("ok.pdf", &pdf_bytes), ("../../evil.pdf", &pdf_bytes)]),
            "traversal",
        ),
        (
            "absolute",
            zip(&[("/tmp/evil.pdf", &pdf_bytes)]),
            "absolute path",
        ),
        (
            "bomb",
            zip(&[("ok.pdf", &pdf_bytes), ("bomb.pdf", &zeros)]),
            "zip bomb",
        ),
    ];
    for (what, archive, reason) in cases {
        let job = app.submit_ok(tid, &archive, &format!("{what}.zip")).await;
        let status = app.wait_finished(&job).await;
        assert_eq!(status["status"], "FAILED", "{what}");
        assert_eq!(
            history(&status),
            ["NEW", "UNZIPPING FILE", "UNZIP FILE FAILED", "FAILED"],
            "{what}"
        );
        assert!(
            status["error"].as_str().unwrap().contains(reason),
            "{what}: {status}"
        );
        assert_eq!(status["files"], json!([]), "{what}");
        let rows = docpush::db::entities::files::Entity::find()
            .filter(docpush::db::entities::files::Column::JobId.eq(job.as_str()))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 0, "{what}");
        let left = files_under(&app.dir.path().join("blobs/jobs").join(&job));
        assert!(left.is_empty(), "{what}: blobs left behind: {left:?}");
    }
    assert!(!std::path::Path::new("/tmp/evil.pdf").exists());
    assert_eq!(app.credits().await, 1000, "nothing was charged");
}

#[tokio::test]
async fn too_many_entries_fail_the_archive() {
    let app = spawn_with(|s| s.limits.zip_max_entries = 2).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let p = Invoice::numbered(1).pdf();
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &zip(&[("a.pdf", &p), ("b.pdf", &p), ("c.pdf", &p)]),
            "x.zip",
        )
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("more than the limit of 2"),
        "{status}"
    );
}

#[tokio::test]
async fn images_and_broken_files_fail_with_clear_errors() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let job = app.submit_ok(tid, &png, "photo.png").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(
        history(&status),
        ["NEW", "PROCESSING IMAGE", "PROCESS IMAGE FAILED", "FAILED"]
    );
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("cannot be decoded"),
        "{status}"
    );

    let truncated = Invoice::numbered(1).pdf()[..300].to_vec();
    let job = app.submit_ok(tid, &truncated, "cut.pdf").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    assert_eq!(status["files"][0]["status"], "PROCESS IMAGE FAILED");
    assert!(
        status["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("PDF"),
        "{status}"
    );
    assert_eq!(app.credits().await, 1000, "failed documents cost nothing");
}

#[tokio::test]
async fn credits_are_charged_per_page_and_never_go_negative() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path()).await;
    let app = start(settings, dir, 3).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();

    let job = app
        .submit_ok(tid, &Invoice::numbered(1).pdf(), "two-pages.pdf")
        .await;
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");
    assert_eq!(app.credits().await, 1);

    let job = app
        .submit_ok(tid, &Invoice::numbered(2).pdf(), "two-more.pdf")
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("INSUFFICIENT CREDITS"),
        "{status}"
    );
    assert_eq!(app.credits().await, 1);

    let one_page = pdf(&[vec![text(40.0, 40.0, 12.0, "Invoice No: ONE-1")]]);
    let job = app.submit_ok(tid, &one_page, "one.pdf").await;
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");
    assert_eq!(app.credits().await, 0);

    let ledger = docpush::db::accounts::ledger(&app.state.db, &app.account_id)
        .await
        .unwrap();
    let deltas: Vec<i64> = ledger.iter().map(|l| l.delta).collect();
    assert_eq!(deltas, [3, -2, -1]);
    assert!(ledger.iter().all(|l| l.balance_after >= 0));
}

#[tokio::test]
async fn json_and_csv_results_hold_the_same_content() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let archive = zip(&[
        ("x, \"quoted\".pdf", &Invoice::numbered(1).pdf()),
        ("y.pdf", &Invoice::numbered(2).pdf()),
    ]);
    let resp = app
        .post_json("/process-job", &app.key, &json!({"template_id": tid, "actual_image": b64(&archive), "static_values": {"batch": "B-1", "n": 2}}))
        .await;
    let job: Value = resp.json().await.unwrap();
    let job = job["job_id"].as_str().unwrap();
    app.wait_finished(job).await;

    let json_results: Value = app.results(job, "json").await.json().await.unwrap();
    let resp = app.results(job, "csv").await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv_text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "file_name",
            "status",
            "invoice_number",
            "invoice_date",
            "total",
            "vendor",
            "reference",
            "paid",
            "batch",
            "n"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let results = json_results["results"].as_array().unwrap();
    assert_eq!(rows.len(), results.len());
    for (row, r) in rows.iter().zip(results) {
        assert_eq!(&row[0], r["file_name"].as_str().unwrap());
        assert_eq!(&row[1], r["status"].as_str().unwrap());
        for (i, name) in header[2..8].iter().enumerate() {
            let v = &r["result"][name];
            let want = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            assert_eq!(row[2 + i], want, "{name}");
        }
        assert_eq!(&row[8], "B-1");
        assert_eq!(&row[9], "2");
    }
    assert_eq!(
        json_results["static_values"],
        json!({"batch": "B-1", "n": 2})
    );
}

#[tokio::test]
async fn results_answer_409_while_running_and_410_after_retention() {
    // No workers: the job stays NEW.
    let app = spawn_with(|s| s.workers_enabled = false).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    let resp = app.results(&job, "json").await;
    assert_eq!(resp.status().as_u16(), 409);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "conflict");

    let app = spawn_with(|s| s.retention = std::time::Duration::from_millis(300)).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    eventually("the purge", || async {
        app.results(&job, "json").await.status().as_u16() == 410
    })
    .await;
    let resp = app.results(&job, "csv").await;
    assert_eq!(resp.status().as_u16(), 410);
    assert!(
        blob_files(app.dir.path()).is_empty(),
        "{:?}",
        blob_files(app.dir.path())
    );
    assert_eq!(
        app.status(&job).await["status"],
        "SUCCESS",
        "the job itself is still known"
    );
}

#[tokio::test]
async fn required_fields_missing_need_review_and_unparsable_values_warn() {
    let app = spawn_app().await;
    let fields = json!([
        {"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true},
        {"name": "po", "type": "string", "regex": "PO:\\s*(\\S+)", "required": true},
        {"name": "vendor_as_number", "type": "number", "zone": {"page": 1, "x": 0.0, "y": 0.03, "width": 0.5, "height": 0.05}}
    ]);
    let t = app.create_template(fields, None).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(1).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let r = &results["results"][0];
    assert_eq!(r["result_status"], "needs_review");
    assert_eq!(r["result"]["po"], Value::Null);
    assert_eq!(r["result"]["vendor_as_number"], Value::Null);
    assert_eq!(r["warnings"], json!(["vendor_as_number"]));
    assert_eq!(
        r["result"]["total"],
        json!(Invoice::numbered(1).total_value())
    );
}
