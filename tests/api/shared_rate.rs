//! A destination's `rate_limit` is one budget for every worker process: the
//! real binary as one API host and two worker hosts on one PostgreSQL
//! database, a backlog of 100 deliveries to a destination limited to 20/s.

use base64::Engine;
use serde_json::{json, Value};

use crate::delivery_ops::assert_paced_at_20;
use crate::helpers::{b64, fresh_postgres, Receiver};
use crate::hosts::{free_port, Api, Host};
use docpush_samples::{invoice_template_fields, Invoice};

#[tokio::test]
async fn postgres_only_a_rate_limit_holds_across_two_worker_processes() {
    let test = "postgres_only_a_rate_limit_holds_across_two_worker_processes";
    let Some(admin) = crate::helpers::postgres_or_skip(test) else {
        return;
    };
    let database_url = fresh_postgres(&admin).await;
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let shared = vec![
        ("DATABASE_URL", database_url.clone()),
        (
            "DOCPUSH_BLOB_STORE",
            format!("file://{}", root.path().join("blobs").display()),
        ),
        (
            "DOCPUSH_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode([3u8; 32]),
        ),
        ("DOCPUSH_ALLOWED_NETWORKS", "127.0.0.0/8".to_string()),
        ("DOCPUSH_WORKERS", "1".to_string()),
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
    let workers = [
        Host::start("worker-a", "--worker-only", root.path(), &with(&no_dev)),
        Host::start("worker-b", "--worker-only", root.path(), &with(&no_dev)),
    ];

    let receiver = Receiver::start().await;
    let template = client
        .create_template(
            &key,
            &json!({"name": "paced", "fields": invoice_template_fields()}),
        )
        .await;
    let tid = template["id"].as_str().unwrap();
    let post = |path: String, body: Value| {
        let key = key.clone();
        async move {
            http.post(format!("{base}{path}"))
                .header("x-auth", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let d: Value = post(
        "/v1/destinations".into(),
        json!({"type": "webhook", "config": {"url": receiver.url}, "events": ["job.received"],
               "rate_limit": 20, "enabled": false}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = d["id"].as_str().expect("destination created").to_string();
    let n = 100;
    let pdf = b64(&Invoice::numbered(4).pdf());
    for _ in 0..n {
        let resp = post(
            "/process-job".into(),
            json!({"template_id": tid, "actual_image": pdf, "file_name": "p.pdf"}),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 202);
    }
    let count = |status: &'static str| {
        let (key, id) = (key.clone(), id.clone());
        async move {
            let list: Vec<Value> = http
                .get(format!(
                    "{base}/v1/deliveries?status={status}&destination_id={id}&limit=1000"
                ))
                .header("x-auth", key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            list.len()
        }
    };
    crate::helpers::eventually("every event kept", || async { count("failed").await == n }).await;
    let mut body = d.as_object().unwrap().clone();
    body.retain(|k, _| ["type", "config", "events", "rate_limit"].contains(&k.as_str()));
    let resp = http
        .put(format!("{base}/v1/destinations/{id}"))
        .header("x-auth", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = post(
        format!("/v1/destinations/{id}/recover"),
        json!({"since": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 202);

    assert_paced_at_20(&receiver.wait_for(n).await, n);
    crate::helpers::eventually("every delivery succeeded", || async {
        count("succeeded").await == n
    })
    .await;
    assert_eq!(count("failed").await, 0);
    for w in &workers {
        let sent = w.log().matches("delivery attempt").count();
        assert!(
            sent > 0,
            "each worker process sends its share:\n{}",
            w.log()
        );
    }
}
