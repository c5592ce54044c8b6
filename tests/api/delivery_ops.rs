//! Operating the delivery engine (SPEC §4): operational events about a
//! failing receiver reach another destination, continuous failure disables
//! a destination without losing its events, `recover` for a window runs as a
//! task that survives a restart, `rate_limit` paces deliveries across
//! dispatchers, and large results go as signed links.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_with, Received, Receiver, TestApp};
use docpush_samples::{invoice_template_fields, Invoice};

const OPERATIONAL: [&str; 4] = [
    "destination.failing",
    "destination.disabled",
    "destination.recovered",
    "delivery.exhausted",
];

async fn template_id(app: &TestApp) -> String {
    let t = app.create_template(invoice_template_fields(), None).await;
    t["id"].as_str().unwrap().to_string()
}

/// The events of `types` a receiver got, in order.
fn of_types(got: &[Received], types: &[&str]) -> Vec<Value> {
    got.iter()
        .map(Received::json)
        .filter(|b| types.contains(&b["type"].as_str().unwrap_or_default()))
        .collect()
}

async fn wait_event(receiver: &Receiver, event: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = of_types(&receiver.received(), &[event]).into_iter().next() {
            return found;
        }
        assert!(Instant::now() < deadline, "no {event} arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn task_done(app: &TestApp, task: &str) -> Value {
    let path = format!("/v1/tasks/{task}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown: Value = app.get(&path, &app.key).await.json().await.unwrap();
        if shown["status"] == "done" {
            return shown;
        }
        assert!(Instant::now() < deadline, "the task is not done: {shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn destination(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/destinations/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failing_receiver_is_announced_disabled_kept_and_recovered_for_its_window() {
    // Retries go on for several seconds: long enough to outlast `disable_after`.
    let app =
        spawn_with(|s| s.delivery.retry_schedule = vec![Duration::from_millis(400); 12]).await;
    let down = Receiver::start().await;
    down.fail_next(10_000, 500);
    let ops = Receiver::start().await;
    let t = template_id(&app).await;
    let mut wanted = vec!["extraction.processed"];
    wanted.extend(OPERATIONAL);
    let failing = app
        .create_destination(json!({"type": "webhook", "config": {"url": down.url},
            "events": wanted, "disable_after": "2s"}))
        .await;
    let id = failing["id"].as_str().unwrap();
    assert_eq!(failing["disable_after"], "2s");
    // Its template filter is about documents: events about destinations still reach it.
    app.create_destination(json!({"type": "webhook", "config": {"url": ops.url},
        "events": OPERATIONAL, "templates": [t]}))
        .await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);

    for i in 0..2 {
        app.submit_ok(&t, &Invoice::numbered(i).pdf(), "d.pdf")
            .await;
    }
    let announced = wait_event(&ops, "destination.failing").await;
    assert_eq!(announced["origin"], "system");
    assert_eq!(announced["data"]["destination_id"], id);
    assert_eq!(announced["data"]["destination_type"], "webhook");
    assert!(announced["data"]["consecutive_failures"].as_i64().unwrap() >= 5);
    assert!(
        announced["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{announced}"
    );
    assert!(announced["data"]["failing_since"].is_string());
    assert!(
        down.received().len() >= 5,
        "announced after five failed attempts, not before"
    );

    let disabled = wait_event(&ops, "destination.disabled").await;
    assert_eq!(disabled["data"]["destination_id"], id);
    let shown = destination(&app, id).await;
    assert_eq!(shown["enabled"], false);
    assert!(shown["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("every attempt failed since"));
    let tried = down.received().len();

    // While disabled, a new event is kept as a failed delivery and nothing is sent.
    let job = app
        .submit_ok(&t, &Invoice::numbered(2).pdf(), "e.pdf")
        .await;
    app.wait_finished(&job).await;
    eventually("all three deliveries to be failed", || async {
        let failed = app
            .deliveries(&format!("status=failed&destination_id={id}"))
            .await;
        failed
            .iter()
            .filter(|d| d["event_type"] == "extraction.processed")
            .count()
            == 3
    })
    .await;
    assert_eq!(
        down.received().len(),
        tried,
        "nothing is sent to a disabled destination"
    );

    // Back up, re-enabled through the API: announced, then recovered for the window.
    down.recover();
    let mut body = shown.clone();
    let body = body.as_object_mut().unwrap();
    body.retain(|k, _| ["type", "config", "events", "disable_after"].contains(&k.as_str()));
    body.insert("enabled".into(), json!(true));
    let resp = app
        .put_json(&format!("/v1/destinations/{id}"), &json!(body))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let recovered = wait_event(&ops, "destination.recovered").await;
    assert_eq!(recovered["data"]["destination_id"], id);
    assert!(recovered["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("re-enabled by API key"));

    let failed_before: Vec<Value> = app
        .deliveries(&format!("status=failed&destination_id={id}"))
        .await;
    let event_ids: BTreeSet<String> = failed_before
        .iter()
        .map(|d| d["event_id"].as_str().unwrap().to_string())
        .collect();
    let window = json!({"since": since.to_rfc3339(), "until": (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339()});
    let resp = app
        .post_json(&format!("/v1/destinations/{id}/recover"), &app.key, &window)
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let task: Value = resp.json().await.unwrap();
    let task_id = task["task_id"].as_str().unwrap();
    assert!(task_id.starts_with("tsk_"), "{task}");
    let done = task_done(&app, task_id).await;
    assert_eq!(done["total"], failed_before.len());
    assert_eq!(done["done"], failed_before.len());

    eventually("every recovered delivery to succeed", || async {
        app.deliveries(&format!("status=succeeded&destination_id={id}"))
            .await
            .len()
            == failed_before.len()
    })
    .await;
    let delivered: Vec<String> = down.received()[tried..]
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    assert_eq!(
        delivered.iter().cloned().collect::<BTreeSet<_>>(),
        event_ids,
        "each failed event once more, under its own webhook-id"
    );
    assert_eq!(delivered.len(), event_ids.len(), "no event twice");

    // Operational events about this destination never went to it.
    for d in app.deliveries(&format!("destination_id={id}")).await {
        assert!(
            !OPERATIONAL.contains(&d["event_type"].as_str().unwrap()),
            "{d}"
        );
    }
    let exhausted = of_types(&ops.received(), &["delivery.exhausted"]);
    for e in &exhausted {
        assert_eq!(e["data"]["destination_id"], id);
        assert!(event_ids.contains(e["data"]["event_id"].as_str().unwrap()));
        assert_eq!(e["data"]["event_type"], "extraction.processed");
    }
    let op = app.deliveries(&format!("job_id={job}")).await;
    assert!(op.iter().all(|d| d["job_id"] == job.as_str()));
}

#[tokio::test]
async fn a_recovery_task_resumes_after_a_restart_where_it_stood() {
    let app = spawn_with(|_| {}).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(10_000, 500);
    let t = template_id(&app).await;
    let dest = app
        .webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    let id = dest["id"].as_str().unwrap().to_string();
    let since = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    for i in 0..5 {
        app.submit_ok(&t, &Invoice::numbered(i).pdf(), "d.pdf")
            .await;
    }
    eventually("five dead letters", || async {
        app.deliveries(&format!("status=failed&destination_id={id}"))
            .await
            .len()
            == 5
    })
    .await;
    let first_ids: BTreeSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    receiver.recover();
    let tried = receiver.received().len();

    // A process that only serves the API stores the task; nothing runs it.
    let app = app.restart(|s| s.workers_enabled = false).await;
    let resp = app
        .post_json(
            &format!("/v1/destinations/{id}/recover"),
            &app.key,
            &json!({"since": since}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let task: Value = resp.json().await.unwrap();
    assert_eq!(task["status"], "queued");
    assert_eq!(task["total"], 5);
    let task_id = task["task_id"].as_str().unwrap().to_string();

    // A worker takes two steps of two and stops without a word (its lease lapses).
    let tasks = &app.state.tasks;
    let lease = Duration::from_millis(300);
    let step = docpush::tasks::try_run_step(tasks, "gone-worker", 2, lease)
        .await
        .unwrap();
    assert_eq!(step, Some(docpush::types::TaskStatus::Running));
    let shown: Value = app
        .get(&format!("/v1/tasks/{task_id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (shown["status"].as_str(), shown["done"].as_i64()),
        (Some("running"), Some(2))
    );
    let queued = app
        .deliveries(&format!("status=pending&destination_id={id}"))
        .await;
    assert_eq!(queued.len(), 2, "the first step's deliveries are queued");
    let again = app
        .post_json(
            &format!("/v1/destinations/{id}/recover"),
            &app.key,
            &json!({"since": since}),
        )
        .await;
    assert_eq!(
        again.status().as_u16(),
        409,
        "one recovery of a destination at a time"
    );
    assert!(again.text().await.unwrap().contains(&task_id));

    let app = app.restart(|s| s.workers_enabled = true).await;
    let done = task_done(&app, &task_id).await;
    assert_eq!(
        (done["done"].as_i64(), done["total"].as_i64()),
        (Some(5), Some(5))
    );
    eventually("all five delivered", || async {
        app.deliveries(&format!("status=succeeded&destination_id={id}"))
            .await
            .len()
            == 5
    })
    .await;
    let resent: Vec<String> = receiver.received()[tried..]
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    assert_eq!(resent.len(), 5, "each once: {resent:?}");
    assert_eq!(resent.iter().cloned().collect::<BTreeSet<_>>(), first_ids);
}

#[tokio::test]
async fn recover_and_the_new_settings_refuse_what_they_cannot_do() {
    let app = spawn_with(|_| {}).await;
    let receiver = Receiver::start().await;
    for (body, member) in [
        (json!({"disable_after": "soon"}), "disable_after"),
        (json!({"disable_after": "0s"}), "disable_after"),
        (json!({"rate_limit": 0}), "rate_limit"),
        (json!({"rate_limit": 1_000_000}), "rate_limit"),
        (json!({"max_payload_bytes": 10}), "max_payload_bytes"),
    ] {
        let mut d = json!({"type": "webhook", "config": {"url": receiver.url}, "events": ["*"]});
        d.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let resp = app.post_json("/v1/destinations", &app.key, &d).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 422, "{d}: {text}");
        assert!(text.contains(member), "{text}");
    }
    let sqs = json!({"type": "sqs", "events": ["*"], "max_payload_bytes": 4096,
        "config": {"queue_url": "http://127.0.0.1:9/q", "region": "us-east-1",
                   "access_key_id": "a", "secret_access_key": "b"}});
    let resp = app.post_json("/v1/destinations", &app.key, &sqs).await;
    assert_eq!(
        resp.status().as_u16(),
        422,
        "only webhooks have max_payload_bytes"
    );

    let d = app.webhook_destination(&receiver.url, &["*"]).await;
    assert_eq!(d["disable_after"], "5d", "the default");
    assert_eq!(d["max_payload_bytes"], 1024 * 1024, "the default");
    assert_eq!(d["rate_limit"], Value::Null);
    let id = d["id"].as_str().unwrap();
    let path = format!("/v1/destinations/{id}/recover");
    let app = &app;
    let recover = |body: Value| {
        let path = path.clone();
        async move {
            app.post_json(&path, &app.key, &body)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(recover(json!({"since": "yesterday"})).await, 400);
    assert_eq!(recover(json!({})).await, 422);
    let until_before = json!({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"});
    assert_eq!(recover(until_before).await, 422);
    let other = app.other_account(10).await;
    let task = app
        .post_json(
            &format!("/v1/destinations/{id}/recover"),
            &app.key,
            &json!({"since": "2026-01-01T00:00:00Z"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let path = format!("/v1/tasks/{}", task["task_id"].as_str().unwrap());
    assert_eq!(
        app.get(&path, &other).await.status().as_u16(),
        404,
        "another account's task"
    );
    assert_eq!(
        task_done(app, task["task_id"].as_str().unwrap()).await["total"],
        0
    );
}

/// The rate the receiver saw over `got`, and the most arrivals in any one second.
fn pace(got: &[Received]) -> (f64, usize) {
    let at: Vec<Instant> = got.iter().map(|r| r.at).collect();
    let span = at[at.len() - 1].duration_since(at[0]).as_secs_f64();
    let most = (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| t.duration_since(at[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    ((at.len() - 1) as f64 / span, most)
}

/// `n` deliveries, each once, at 20/s ± 10 % and never more than 20 in
/// one second (one of slack: the receiver sees arrivals, not the starts the
/// limit counts).
pub(crate) fn assert_paced_at_20(got: &[Received], n: usize) {
    let (rate, most) = pace(got);
    println!("the receiver saw {rate:.2} deliveries/s, at most {most} in one second");
    assert!((18.0..=22.0).contains(&rate), "{rate:.1}/s");
    assert!(most <= 21, "{most} in one second");
    assert_eq!(once_each(got), n);
}

/// Each event once, under its own webhook-id.
fn once_each(got: &[Received]) -> usize {
    let by_id: HashMap<String, usize> = got.iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(r.header("webhook-id")).or_default() += 1;
        m
    });
    assert!(by_id.values().all(|n| *n == 1), "an event arrived twice");
    by_id.len()
}

#[tokio::test]
async fn a_rate_limit_paces_a_backlog_and_fails_none() {
    let app = spawn_with(|s| s.metrics.public = true).await;
    let receiver = Receiver::start().await;
    let t = template_id(&app).await;
    // Created paused: every event waits as a failed delivery, then all are due at once.
    let d = app
        .create_destination(json!({"type": "webhook", "config": {"url": receiver.url},
            "events": ["job.received"], "rate_limit": 20, "enabled": false}))
        .await;
    let id = d["id"].as_str().unwrap();
    assert_eq!(d["rate_limit"], 20);
    let pdf = Invoice::numbered(1).pdf();
    let n = 60;
    for _ in 0..n {
        app.submit_ok(&t, &pdf, "r.pdf").await;
    }
    eventually("every event kept", || async {
        app.deliveries(&format!("status=failed&destination_id={id}&limit=200"))
            .await
            .len()
            == n
    })
    .await;
    let mut body = d.as_object().unwrap().clone();
    body.retain(|k, _| ["type", "config", "events", "rate_limit"].contains(&k.as_str()));
    let resp = app
        .put_json(&format!("/v1/destinations/{id}"), &json!(body))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .post_json(
            &format!("/v1/destinations/{id}/recover"),
            &app.key,
            &json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);

    assert_paced_at_20(&receiver.wait_for(n).await, n);
    eventually("every delivery succeeded", || async {
        app.deliveries(&format!("status=succeeded&destination_id={id}&limit=200"))
            .await
            .len()
            == n
    })
    .await;
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let waited = format!("docpush_delivery_throttled_total{{destination_id=\"{id}\"}}");
    assert!(metrics.contains(&waited), "{metrics}");
}

#[tokio::test]
async fn a_result_over_the_payload_limit_goes_as_a_signed_link_that_ends_with_the_document() {
    let app = spawn_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let t = template_id(&app).await;
    app.create_destination(json!({"type": "webhook", "config": {"url": receiver.url},
        "events": ["extraction.processed"], "max_payload_bytes": 1024}))
        .await;
    let small = Receiver::start().await;
    app.webhook_destination(&small.url, &["extraction.processed"])
        .await;
    let job = app
        .submit_ok(&t, &Invoice::numbered(7).pdf(), "big.pdf")
        .await;
    app.wait_finished(&job).await;
    let linked = receiver.wait_for(1).await[0].json();
    assert!(linked["data"].get("result").is_none(), "{linked}");
    let url = linked["data"]["result_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/v1/result-links/", app.base)),
        "{url}"
    );
    let whole = small.wait_for(1).await[0].json();
    assert!(
        whole["data"]["result"].is_object(),
        "under the default limit the result is sent"
    );

    // No API key: the link is the credential, for this result only.
    let got = app.http.get(&url).send().await.unwrap();
    assert_eq!(got.status().as_u16(), 200);
    let result: Value = got.json().await.unwrap();
    assert_eq!(result["file_id"], linked["data"]["file_id"]);
    assert_eq!(result["job_id"], job.as_str());
    assert_eq!(result["result"], whole["data"]["result"]);
    let (head, signature) = url.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", signature.chars().rev().collect::<String>());
    assert_eq!(
        app.http
            .get(&forged)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    let resp = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/jobs/{job}?hard=true"),
            &app.key,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        app.http.get(&url).send().await.unwrap().status().as_u16(),
        404,
        "erased"
    );
}

#[tokio::test]
async fn operational_events_go_with_the_retention_period() {
    let app = spawn_with(|s| s.retention = Duration::from_secs(1)).await;
    let down = Receiver::start().await;
    down.fail_next(10_000, 500);
    let ops = Receiver::start().await;
    let t = template_id(&app).await;
    app.webhook_destination(&down.url, &["extraction.processed"])
        .await;
    let watcher = app
        .create_destination(
            json!({"type": "webhook", "config": {"url": ops.url}, "events": OPERATIONAL}),
        )
        .await;
    let watcher = watcher["id"].as_str().unwrap();
    for i in 0..2 {
        app.submit_ok(&t, &Invoice::numbered(i).pdf(), "d.pdf")
            .await;
    }
    wait_event(&ops, "destination.failing").await;
    let query = format!("destination_id={watcher}");
    eventually("the operational deliveries to be purged", || async {
        let left = app.deliveries(&query).await;
        left.iter().all(|d| d["status"] == "pending")
            && !left
                .iter()
                .any(|d| d["event_type"] == "destination.failing")
    })
    .await;
}
