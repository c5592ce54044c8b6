//! The audit log (SPEC §5): every change with its actor and origin, changed
//! members before and after, secrets masked, each account its own.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use docpush_samples::{invoice_template_fields, Invoice};

async fn log(app: &TestApp, key: &str, query: &str) -> Value {
    let resp = app.get(&format!("/v1/audit-log{query}"), key).await;
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

fn find<'a>(page: &'a Value, action: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {page}"))
}

#[tokio::test]
async fn the_log_shows_edits_masked_rotations_revoked_keys_and_erasures_to_their_account_only() {
    let app = spawn_app().await;
    let keys: Vec<Value> = app.get("/v1/keys", &app.key).await.json().await.unwrap();
    let me = format!("key:{}", keys[0]["id"].as_str().unwrap());

    let mut body = json!({"name": "Invoices", "fields": invoice_template_fields(),
        "webhook": {"url": "http://127.0.0.1:9/hook", "headers": {"Authorization": "Bearer sekrit-token"}}});
    let t: Value = app
        .post_json("/v1/templates", &app.key, &body)
        .await
        .json()
        .await
        .unwrap();
    let id = t["id"].as_str().unwrap().to_string();
    let first_secret = t["webhook"]["secret"].as_str().unwrap().to_string();
    body["name"] = json!("Supplier invoices");
    let resp = app.put_json(&format!("/v1/templates/{id}"), &body).await;
    assert_eq!(resp.status().as_u16(), 200);
    let rotated: Value = app
        .post_json(
            &format!("/v1/templates/{id}/webhook/rotate-secret"),
            &app.key,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let new_secret = rotated["webhook"]["secret"].as_str().unwrap().to_string();
    assert_ne!(first_secret, new_secret);

    let other: Value = app
        .post_json("/v1/keys", &app.key, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let other_id = other["id"].as_str().unwrap().to_string();
    let resp = app
        .http
        .delete(format!("{}/v1/keys/{other_id}", app.base))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);

    let job = app
        .submit_ok(&id, &Invoice::numbered(8).pdf(), "audit.pdf")
        .await;
    app.wait_finished(&job).await;
    let resp = app
        .http
        .delete(format!("{}/v1/jobs/{job}?hard=true", app.base))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = app
        .http
        .patch(format!("{}/v1/account", app.base))
        .header("x-auth", &app.key)
        .json(&json!({"retention_hours": 48}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let page = log(&app, &app.key, "").await;
    let text = page.to_string();
    for secret in [first_secret.as_str(), new_secret.as_str(), "sekrit-token"] {
        assert!(!text.contains(secret), "a secret in the log: {text}");
    }
    let edit = find(&page, "template.updated");
    assert_eq!(
        edit["changes"]["name"],
        json!({"before": "Invoices", "after": "Supplier invoices"})
    );
    assert_eq!(
        (&edit["actor"], &edit["origin"]),
        (&json!(me), &json!("api"))
    );
    assert_eq!(edit["object_type"], "template");
    assert_eq!(edit["object_id"], id.as_str());
    let rotation = find(&page, "template.webhook_secret_rotated");
    assert_eq!(
        rotation["changes"]["webhook"]["after"]["secret"], "********",
        "{rotation}"
    );
    let revoked = find(&page, "key.revoked");
    assert_eq!(revoked["object_id"], other_id.as_str());
    let erased = find(&page, "job.erased");
    assert_eq!(erased["object_id"], job.as_str());
    assert_eq!(
        erased["changes"]["erased"],
        json!({"before": false, "after": true})
    );
    let settings = find(&page, "account.updated");
    assert_eq!(
        settings["changes"]["retention_hours"],
        json!({"before": 24, "after": 48})
    );
    find(&page, "template.created");
    find(&page, "key.created");
    // Newest first.
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // Filters and pages.
    let templates = log(
        &app,
        &app.key,
        &format!("?object_type=template&object_id={id}"),
    )
    .await;
    assert_eq!(
        templates["items"].as_array().unwrap().len(),
        3,
        "{templates}"
    );
    let first = log(&app, &app.key, "?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = log(&app, &app.key, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["id"].as_i64().unwrap(), ids[2]);
    assert_eq!(
        app.get("/v1/audit-log?cursor=abc", &app.key)
            .await
            .status()
            .as_u16(),
        400
    );

    // A NUL matches nothing (PostgreSQL refuses it in a query).
    assert_eq!(
        log(&app, &app.key, "?action=%00job").await["items"],
        json!([])
    );

    // Another account sees none of it.
    let stranger = app.other_account(10).await;
    let theirs = log(&app, &stranger, "").await;
    assert_eq!(theirs["items"], json!([]), "{theirs}");
}
