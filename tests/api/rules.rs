//! Destination rules (SPEC §4): events × origins × templates × categories,
//! each event reaching the destinations whose rules select it and no other.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_with, Receiver, TestApp};
use docpush_samples::{invoice_template_fields, Invoice};

async fn rules_destination(app: &TestApp, receiver: &Receiver, rules: Value) -> Value {
    app.create_destination(
        json!({"type": "webhook", "config": {"url": receiver.url}, "rules": rules}),
    )
    .await
}

fn kinds(receiver: &Receiver) -> BTreeSet<(String, String)> {
    receiver
        .received()
        .iter()
        .map(|r| {
            let b = r.json();
            (
                b["type"].as_str().unwrap().to_string(),
                b["origin"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn post(app: &TestApp, path: &str) -> u16 {
    app.post_json(path, &app.key, &json!({}))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_lifecycle_event_reaches_the_destinations_whose_rules_select_it_and_no_other() {
    let app = spawn_with(|s| s.limits.review_lock = Duration::from_millis(800)).await;
    let (by_api, by_system, by_user) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let (invoices, receipts) = (Receiver::start().await, Receiver::start().await);
    let all = json!(["*"]);
    rules_destination(&app, &by_api, json!([{"events": all, "origins": ["api"]}])).await;
    rules_destination(&app, &by_system, json!([{"origins": ["system"]}])).await;
    rules_destination(&app, &by_user, json!([{"origins": ["user"]}])).await;

    let mut fields =
        json!({"name": "invoices", "fields": invoice_template_fields(), "category": "invoices"});
    let resp = app.post_json("/v1/templates", &app.key, &fields).await;
    assert_eq!(resp.status().as_u16(), 201);
    let t: Value = resp.json().await.unwrap();
    assert_eq!(t["category"], "invoices");
    fields["category"] = json!("receipts");
    let other: Value = app
        .post_json("/v1/templates", &app.key, &fields)
        .await
        .json()
        .await
        .unwrap();
    let d = rules_destination(
        &app,
        &invoices,
        json!([{"events": ["extraction.processed"], "categories": ["invoices"]},
               {"events": ["batch.completed"], "templates": [other["id"]]}]),
    )
    .await;
    assert_eq!(d["rules"][0]["categories"], json!(["invoices"]), "{d}");
    rules_destination(
        &app,
        &receipts,
        json!([{"events": ["extraction.processed"], "categories": ["receipts"]}]),
    )
    .await;

    // Every action of SPEC §3 by key, and the system's own.
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(7).pdf(),
            "r.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    for action in ["hold", "release", "lock", "unlock", "lock"] {
        assert_eq!(
            post(&app, &format!("/v1/jobs/{job}/{action}")).await,
            200,
            "{action}"
        );
    }
    // The second lock lapses: the system unlocks it.
    eventually("the lock to lapse", || async {
        by_system
            .received()
            .iter()
            .any(|r| r.json()["type"] == "batch.unlocked")
    })
    .await;
    let delete = |query: &'static str| {
        let url = format!("{}/v1/jobs/{job}{query}", app.base);
        let req = app.http.delete(url).header("x-auth", &app.key);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(delete("").await, 204);
    assert_eq!(post(&app, &format!("/v1/jobs/{job}/restore")).await, 200);

    let pairs = |list: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let mut api = pairs(&[
        ("job.received", "api"),
        ("batch.ready", "api"),
        ("batch.on_hold", "api"),
        ("batch.released", "api"),
        ("batch.locked", "api"),
        ("batch.unlocked", "api"),
        ("document.deleted", "api"),
        ("batch.deleted", "api"),
        ("document.restored", "api"),
    ]);
    let system = pairs(&[
        ("batch.processing", "system"),
        ("extraction.processed", "system"),
        ("batch.completed", "system"),
        ("batch.unlocked", "system"),
    ]);
    // Delivered before the erasure, which takes what is still owed with it.
    eventually("every api event so far", || async { kinds(&by_api) == api }).await;
    eventually("every system event", || async {
        kinds(&by_system) == system
    })
    .await;
    assert_eq!(delete("?hard=true").await, 204);
    api.insert(("document.hard_deleted".into(), "api".into()));
    eventually("every api event", || async { kinds(&by_api) == api }).await;
    // Two locks by key, a soft and a hard batch.deleted: twelve in all, each once.
    eventually("both batch.deleted", || async {
        by_api.received().len() == 12
    })
    .await;
    eventually("the category's event", || async {
        !invoices.received().is_empty()
    })
    .await;
    assert_eq!(
        kinds(&invoices),
        pairs(&[("extraction.processed", "system")]),
        "not batch.completed of another template"
    );
    assert!(
        by_user.received().is_empty(),
        "nothing was done from the dashboard"
    );
    assert!(
        receipts.received().is_empty(),
        "another category's destination gets nothing"
    );
}

#[tokio::test]
async fn rules_and_the_single_filter_do_not_mix_and_bad_rules_name_their_fault() {
    let app = spawn_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let config = json!({"url": receiver.url});
    for (body, says) in [
        (
            json!({"type": "webhook", "config": config, "events": ["*"], "rules": [{"origins": ["api"]}]}),
            "not both",
        ),
        (
            json!({"type": "webhook", "config": config, "rules": []}),
            "rules",
        ),
        (
            json!({"type": "webhook", "config": config, "rules": [{"origins": ["robot"]}]}),
            "robot",
        ),
        (
            json!({"type": "webhook", "config": config, "rules": [{"colour": "red"}]}),
            "colour",
        ),
        (
            json!({"type": "webhook", "config": config, "rules": [{"events": ["nope.event"]}]}),
            "nope.event",
        ),
    ] {
        let resp = app.post_json("/v1/destinations", &app.key, &body).await;
        assert_eq!(resp.status().as_u16(), 422, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert!(err["message"].as_str().unwrap().contains(says), "{err}");
    }
    let resp = app
        .post_json(
            "/v1/templates",
            &app.key,
            &json!({"name": "t", "fields": invoice_template_fields(), "category": "x".repeat(101)}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
}
