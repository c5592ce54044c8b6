//! Hosts that share nothing but PostgreSQL, an S3 bucket and the secret key:
//! one `serve --api-only` and three `serve --worker-only` processes of the
//! real binary, each with its own data dir, one of them with its clock five
//! minutes ahead; one worker is killed with SIGKILL while it reads a scan.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::hosts::{free_port, rows, scans, which, Api, Host};

use crate::helpers::{b64, fresh_postgres, Receiver};
use crate::peers;
use docpush_samples::{invoice_template_fields, Invoice};

#[tokio::test]
async fn postgres_only_an_api_host_and_two_worker_hosts_share_only_postgres_and_s3() {
    let test = "postgres_only_an_api_host_and_two_worker_hosts_share_only_postgres_and_s3";
    let Some(admin) = crate::helpers::postgres_or_skip(test) else {
        return;
    };
    let database_url = fresh_postgres(&admin).await;
    let bucket = peers::new_bucket().await;
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let shared = vec![
        ("DATABASE_URL", database_url.clone()),
        ("DOCPUSH_BLOB_STORE", format!("s3://{bucket}/blobs")),
        (
            "DOCPUSH_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ),
        ("AWS_ACCESS_KEY_ID", peers::ACCESS_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", peers::SECRET_KEY.to_string()),
        ("AWS_ENDPOINT_URL", peers::s3_endpoint().to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("DOCPUSH_JOB_LEASE", "4s".to_string()),
        ("DOCPUSH_ALLOWED_NETWORKS", "127.0.0.0/8".to_string()),
        ("DOCPUSH_WORKERS", "2".to_string()),
        ("DOCPUSH_DB_CONNECTIONS", "4".to_string()),
    ];
    let with = |extra: &[(&'static str, String)]| {
        let mut env = shared.clone();
        env.extend_from_slice(extra);
        env
    };
    let api = Host::start(
        "api",
        "--api-only",
        root.path(),
        &with(&[("DOCPUSH_BIND", format!("127.0.0.1:{port}"))]),
    );
    let client = Api::on(port);
    client.wait_started(&api).await;
    let (http, base) = (&client.http, &client.base);
    let key = std::fs::read_to_string(api.data.join("dev-api-key")).unwrap();
    let no_dev = [("DOCPUSH_DEV_ACCOUNT", "false".to_string())];
    let faketime = which("faketime");
    let mut workers = vec![
        Host::start("worker-a", "--worker-only", root.path(), &with(&no_dev)),
        Host::start("worker-b", "--worker-only", root.path(), &with(&no_dev)),
        // Its clock runs ahead: leases it reads as long expired are live by the database's clock.
        Host::start_under(
            &[&faketime, "-f", "+5m"],
            "worker-ahead",
            "--worker-only",
            root.path(),
            &with(&no_dev),
        ),
    ];
    let prefixes: Vec<String> = workers.iter().map(Host::owner_prefix).collect();

    let receiver = Receiver::start().await;
    let template: Value = http
        .post(format!("{base}/v1/templates"))
        .header("x-auth", &key)
        .json(
            &json!({"name": "scale-out", "fields": invoice_template_fields(),
                      "webhook": {"url": receiver.url}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tid = template["id"]
        .as_str()
        .expect("template created")
        .to_string();

    // 6 scans first (so that a worker is soon reading one), a ZIP of 4, 30 text PDFs: 40 documents.
    let mut uploads: Vec<(String, Vec<u8>)> = scans(6)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, png)| (format!("scan-{i}.png"), png))
        .collect();
    let zipped: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| (format!("zipped-{i}.pdf"), Invoice::numbered(200 + i).pdf()))
        .collect();
    let entries: Vec<(&str, &[u8])> = zipped
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    uploads.push(("batch.zip".into(), docpush_samples::zip(&entries)));
    uploads.extend((0..30).map(|i| (format!("text-{i}.pdf"), Invoice::numbered(300 + i).pdf())));
    let mut job_ids = Vec::new();
    for (name, bytes) in &uploads {
        let resp = http
            .post(format!("{base}/process-job"))
            .header("x-auth", &key)
            .json(&json!({"template_id": tid, "actual_image": b64(bytes), "file_name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 202, "{name}");
        let accepted: Value = resp.json().await.unwrap();
        job_ids.push(accepted["job_id"].as_str().unwrap().to_string());
    }

    // Kill the worker that is reading a scan.
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (killed_job, victim) = loop {
        let held = rows(
            &db,
            "SELECT id, lease_owner FROM jobs WHERE source_kind = 'png' \
             AND status = 'PROCESSING IMAGE' AND lease_owner IS NOT NULL",
        )
        .await;
        let found = held.iter().find_map(|r| {
            let owner: String = r.try_get("", "lease_owner").ok()?;
            let w = prefixes.iter().position(|p| owner.starts_with(p))?;
            Some((r.try_get::<String>("", "id").ok()?, w))
        });
        if let Some(f) = found {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "no worker took a scan:\n{}",
            workers.iter().map(Host::log).collect::<Vec<_>>().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let dead = workers.remove(victim);
    let dead_prefix = prefixes[victim].clone();
    drop(dead); // SIGKILL, then reaped
    let orphaned: BTreeSet<String> = rows(
        &db,
        &format!("SELECT id FROM jobs WHERE lease_owner LIKE '{dead_prefix}%'"),
    )
    .await
    .iter()
    .map(|r| r.try_get("", "id").unwrap())
    .collect();
    assert!(orphaned.contains(&killed_job));
    let survivor = &workers[0];

    // Every document reaches its final status.
    client
        .wait_success(&key, &job_ids, Duration::from_secs(300), survivor)
        .await;
    // The scan the killed worker was reading was claimed again; no live job
    // was taken over, not even by the host whose clock runs ahead. (Its other
    // jobs may have been finished by a commit it sent just before it died.)
    for r in rows(&db, "SELECT id, claims FROM jobs").await {
        let (id, claims): (String, i64) = (
            r.try_get("", "id").unwrap(),
            r.try_get("", "claims").unwrap(),
        );
        if id == killed_job {
            assert!(
                claims >= 2,
                "the killed worker's scan {id} was claimed {claims} time(s)\nsurvivor's log:\n{}",
                survivor.log()
            );
        } else if orphaned.contains(&id) {
            assert!(claims <= 2, "job {id} was claimed {claims} times");
        } else {
            assert_eq!(
                claims, 1,
                "job {id} was taken over while its lease was live"
            );
        }
    }

    // One distinct extraction.processed event per document; redeliveries of one id are counted, not failed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (by_file, redeliveries) = loop {
        let mut by_file: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut redeliveries = 0;
        for r in receiver.received() {
            let body = r.json();
            assert_eq!(body["type"], "extraction.processed", "{body}");
            assert!(!body["result"]["invoice_number"].is_null(), "{body}");
            let id = r.header("webhook-id");
            if !seen.insert(id.clone()) {
                redeliveries += 1;
            }
            by_file
                .entry(body["data"]["file_id"].as_str().unwrap().to_string())
                .or_default()
                .insert(id);
        }
        if by_file.len() >= 40 || Instant::now() > deadline {
            break (by_file, redeliveries);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(by_file.len(), 40, "documents announced");
    assert!(
        by_file.values().all(|ids| ids.len() == 1),
        "a document was announced under two event ids: {by_file:?}"
    );
    eprintln!("redeliveries of one webhook-id: {redeliveries}");

    // Delivered documents leave nothing in the bucket.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = peers::s3_client()
            .list_objects_v2()
            .bucket(&bucket)
            .prefix("blobs/")
            .send()
            .await
            .unwrap();
        if left.contents().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blobs left after delivery: {:?}",
            left.contents().iter().map(|o| o.key()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(api);
}

/// A single-process deployment killed with SIGKILL and started again on its
/// data dir frees the leases its dead start left: its job resumes at once
/// instead of waiting out a two-minute lease.
#[tokio::test]
async fn a_process_restarted_after_sigkill_resumes_its_jobs_without_waiting_out_their_leases() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = vec![
        ("DOCPUSH_BIND", format!("127.0.0.1:{port}")),
        ("DOCPUSH_JOB_LEASE", "120s".to_string()),
        ("DOCPUSH_ALLOWED_NETWORKS", "127.0.0.0/8".to_string()),
    ];
    let client = Api::on(port);
    let (http, base) = (&client.http, &client.base);
    let host = Host::start("single", "", root.path(), &env);
    client.wait_started(&host).await;
    let key = std::fs::read_to_string(host.data.join("dev-api-key")).unwrap();
    let template = client
        .create_template(
            &key,
            &json!({"name": "restart", "fields": invoice_template_fields()}),
        )
        .await;
    let scan = scans(1).await.remove(0);
    let accepted: Value = http
        .post(format!("{base}/process-job"))
        .header("x-auth", &key)
        .json(&json!({"template_id": template["id"], "actual_image": b64(&scan), "file_name": "scan.png"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = accepted["job_id"].as_str().unwrap().to_string();

    let db_url = format!(
        "sqlite://{}?mode=rw",
        host.data.join("docpush.db").display()
    );
    let db = sea_orm::Database::connect(&db_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let lease_ends: i64 = loop {
        let held = rows(
            &db,
            &format!(
                "SELECT lease_expires_at FROM jobs WHERE id = '{job}' \
                 AND status = 'PROCESSING IMAGE' AND lease_owner IS NOT NULL"
            ),
        )
        .await;
        if let Some(r) = held.first() {
            break r.try_get("", "lease_expires_at").unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the job was never taken: {}",
            host.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(host); // SIGKILL while it reads the scan
    db.close().await.ok();

    let host = Host::start("single", "", root.path(), &env);
    client.wait_started(&host).await;
    client
        .wait_success(
            &key,
            std::slice::from_ref(&job),
            Duration::from_secs(110),
            &host,
        )
        .await;
    let db = sea_orm::Database::connect(&db_url).await.unwrap();
    let finished: i64 = rows(
        &db,
        &format!("SELECT finished_at FROM jobs WHERE id = '{job}'"),
    )
    .await[0]
        .try_get("", "finished_at")
        .unwrap();
    assert!(
        finished < lease_ends,
        "the job waited for its dead lease to expire"
    );
    assert!(host
        .log()
        .contains("resuming the jobs this data dir's previous start left"));
}
