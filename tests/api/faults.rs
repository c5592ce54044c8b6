//! What clients and monitors are told when the disk fills up or an account
//! sends faster than its documents are read: `507` or `503` with nothing
//! partial kept, `429` with `Retry-After`, and service as usual once the fault
//! is gone. Nothing accepted is lost to any of them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::{b64, spawn_with, told, TestApp};
use docpush_samples::{invoice_template_fields, Invoice};

/// A tmpfs of a few MiB mounted for the test's life: a disk that fills up.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts it at `dir`; `None` (the test is skipped) where mounting is
    /// not allowed: without root, or in a container that forbids it.
    fn mount(dir: &Path, bytes: u64, test: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(Self {
                dir: dir.to_path_buf(),
            });
        }
        eprintln!("skipping {test}: mounting a small filesystem needs root (and a host that lets it mount)");
        None
    }

    /// Fills the disk to about `left` bytes free with a file; returns it.
    fn fill(&self, left: u64) -> PathBuf {
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x5au8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        drop(f);
        let full = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(full.saturating_sub(left)).unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Files under `dir` whose names mark a blob that was being written.
fn partial_writes(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(partial_writes(&path));
        } else if path.to_string_lossy().contains(".tmp-") {
            found.push(path);
        }
    }
    found
}

async fn submit(app: &TestApp, key: &str, template: &Value, bytes: &[u8]) -> reqwest::Response {
    app.post_json(
        "/process-job",
        key,
        &json!({"template_id": template["id"], "actual_image": b64(bytes), "file_name": "a.pdf"}),
    )
    .await
}

async fn health(app: &TestApp) -> (u16, Option<u64>, Value) {
    told(
        app.http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_full_disk_answers_507_keeps_nothing_partial_and_a_low_one_503_until_space_returns() {
    let test =
        "a_full_disk_answers_507_keeps_nothing_partial_and_a_low_one_503_until_space_returns";
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&root.path().join("disk"), 16 << 20, test) else {
        return;
    };
    let data = disk.dir.join("data");
    // First without a watermark, so that the upload meets the full disk itself.
    let app = spawn_with(|s| {
        s.data_dir = data.clone();
        s.limits.min_free_bytes = Some(0);
    })
    .await;
    let template = app.create_template(invoice_template_fields(), None).await;
    let small = Invoice::numbered(1).pdf();
    let (status, _, first) = told(submit(&app, &app.key, &template, &small).await).await;
    assert_eq!(status, 202, "{first}");
    let first = first["job_id"].as_str().unwrap().to_string();
    app.wait_finished(&first).await;

    let filler = disk.fill(1 << 20);
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(3 << 20, b'0');
    let (status, wait, body) = told(submit(&app, &app.key, &template, &big).await).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"], "insufficient_storage");
    assert_eq!(wait, None);
    assert_eq!(
        partial_writes(&data),
        Vec::<PathBuf>::new(),
        "nothing partial stays"
    );
    let jobs: Value = app.get("/v1/jobs", &app.key).await.json().await.unwrap();
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        1,
        "no job for it: {jobs}"
    );
    let (status, _, h) = health(&app).await;
    assert_eq!(status, 200, "{h}");
    assert!(h["free_bytes"].as_u64().unwrap() < 2 << 20, "{h}");

    // With a watermark, the same disk is refused before anything is written, and monitors see it.
    let app = app
        .restart(|s| s.limits.min_free_bytes = Some(4 << 20))
        .await;
    let (status, wait, h) = health(&app).await;
    assert_eq!(
        (status, h["storage"].as_str()),
        (503, Some("low_on_space")),
        "{h}"
    );
    assert_eq!(
        (h["database"].as_str(), h["min_free_bytes"].as_u64()),
        (Some("ok"), Some(4 << 20))
    );
    assert!(wait.is_some_and(|w| w > 0));
    let (status, wait, body) = told(submit(&app, &app.key, &template, &small).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(wait.is_some_and(|w| w > 0));

    // Space comes back: so does service, and what was accepted before is all there.
    std::fs::remove_file(filler).unwrap();
    let (status, _, h) = health(&app).await;
    assert_eq!((status, h["storage"].as_str()), (200, Some("ok")), "{h}");
    let (status, _, second) = told(submit(&app, &app.key, &template, &small).await).await;
    assert_eq!(status, 202, "{second}");
    let done = app.wait_finished(second["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    assert_eq!(app.status(&first).await["status"], "SUCCESS");
}

#[tokio::test]
async fn an_account_at_its_queue_limit_is_told_to_wait_and_the_others_are_not() {
    let app = spawn_with(|s| {
        s.limits.max_queued_documents = 3;
        // Nothing is read while the queue fills.
        s.workers_enabled = false;
    })
    .await;
    let template = app.create_template(invoice_template_fields(), None).await;
    let mut jobs = Vec::new();
    for i in 0..3 {
        let body = json!({"template_id": template["id"], "actual_image": b64(&Invoice::numbered(i).pdf())});
        let resp = app
            .http
            .post(format!("{}/process-job", app.base))
            .header("x-auth", &app.key)
            .header("idempotency-key", format!("k-{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, _, accepted) = told(resp).await;
        assert_eq!(status, 202, "{accepted}");
        jobs.push(accepted["job_id"].as_str().unwrap().to_string());
    }
    let (status, wait, body) =
        told(submit(&app, &app.key, &template, &Invoice::numbered(3).pdf()).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_requests")),
        "{body}"
    );
    assert!(wait.is_some_and(|w| w > 0));
    assert!(body["message"].as_str().unwrap().contains("(3)"), "{body}");
    // A repeated request is answered with its job: it adds nothing to the queue.
    let replay = app
        .http
        .post(format!("{}/process-job", app.base))
        .header("x-auth", &app.key)
        .header("idempotency-key", "k-0")
        .json(&json!({"template_id": template["id"], "actual_image": b64(&Invoice::numbered(0).pdf())}))
        .send()
        .await
        .unwrap();
    let (status, _, replayed) = told(replay).await;
    assert_eq!(
        (status, replayed["job_id"].as_str()),
        (202, Some(jobs[0].as_str()))
    );
    // Another account's documents are not held up by this one's.
    let other = app.other_account(100).await;
    let theirs: Value = app
        .post_json(
            "/v1/templates",
            &other,
            &json!({"name": "theirs", "fields": invoice_template_fields()}),
        )
        .await
        .json()
        .await
        .unwrap();
    let (status, _, body) =
        told(submit(&app, &other, &theirs, &Invoice::numbered(7).pdf()).await).await;
    assert_eq!(status, 202, "{body}");

    // Once the queue is worked through, the account is served again; nothing was lost.
    let app = app.restart(|s| s.workers_enabled = true).await;
    for job in &jobs {
        assert_eq!(app.wait_finished(job).await["status"], "SUCCESS");
    }
    let (status, _, body) =
        told(submit(&app, &app.key, &template, &Invoice::numbered(3).pdf()).await).await;
    assert_eq!(status, 202, "{body}");
}
