use serde_json::{json, Value};

use crate::helpers::{spawn_app, Receiver};
use docpush_samples::invoice_template_fields;

#[tokio::test]
async fn template_crud_round_trips_and_validates() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let created = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let id = created["id"].as_str().unwrap();
    let secret = created["webhook"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["webhook"]["headers"]["Authorization"], "Bearer abc");
    assert_eq!(created["fields"], invoice_template_fields());
    assert_eq!(
        created["webhook"]["events"],
        json!(["extraction.processed", "extraction.failed"])
    );

    // GET masks header values and never shows the secret.
    let got: Value = app
        .get(&format!("/v1/templates/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["webhook"]["headers"]["Authorization"], "********");
    assert!(got["webhook"].get("secret").is_none());
    let list: Value = app
        .get("/v1/templates", &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // PUT with the masked value keeps the stored header.
    let mut body = json!({"name": "renamed", "fields": invoice_template_fields(),
        "webhook": {"url": receiver.url, "headers": {"Authorization": "********", "X-Extra": "1"}}});
    let resp = app
        .http
        .put(format!("{}/v1/templates/{id}", app.base))
        .header("x-auth", &app.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let loaded = app
        .state
        .templates
        .load(&crate::helpers::id(id))
        .await
        .unwrap();
    let hook = loaded.webhook.unwrap();
    assert_eq!(hook.config.headers["Authorization"], "Bearer abc");
    assert_eq!(hook.config.headers["X-Extra"], "1");
    assert_eq!(hook.config.secret, secret, "PUT keeps the secret");

    // Rotation returns a new secret.
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
    let new_secret = rotated["webhook"]["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    // Invalid PUT is 422 and changes nothing.
    body["fields"] = json!([{"name": "x", "type": "string", "regex": "("}]);
    let resp = app
        .http
        .put(format!("{}/v1/templates/{id}", app.base))
        .header("x-auth", &app.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);

    let resp = app
        .http
        .delete(format!("{}/v1/templates/{id}", app.base))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        app.get(&format!("/v1/templates/{id}"), &app.key)
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn invalid_templates_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "t", "fields": [{"name": "total", "type": "string", "regex": "(unclosed"}]}),
            "total",
        ),
        (
            json!({"name": "t", "fields": [{"name": "a", "type": "string", "regex": "x", "anchor": "y"}]}),
            "more than one locator",
        ),
        (
            json!({"name": "t", "fields": [{"name": "a", "type": "money", "regex": "x"}]}),
            "unknown type",
        ),
        (
            json!({"name": "t", "fields": [{"name": "z", "type": "string", "zone": {"page": 1, "x": 0.2, "y": 0.1, "width": 1.2, "height": 0.1}}]}),
            "zone.width",
        ),
        (
            json!({"fields": [{"name": "a", "type": "string", "regex": "x"}]}),
            "name",
        ),
        (
            json!({"name": "t", "fields": [{"name": "a", "type": "string", "regex": "x"}], "webhook": {"url": "ftp://x"}}),
            "webhook.url",
        ),
        (
            json!({"name": "t", "fields": [{"name": "a", "type": "string", "regex": "x"}], "webhook": {"url": "http://10.0.0.1/hook"}}),
            "internal",
        ),
    ];
    for (body, want) in cases {
        let resp = app.post_json("/v1/templates", &app.key, &body).await;
        assert_eq!(resp.status().as_u16(), 422, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "validation_failed");
        assert!(
            err["message"].as_str().unwrap().contains(want),
            "{body}: {err}"
        );
    }
    let resp = app
        .http
        .post(format!("{}/v1/templates", app.base))
        .header("x-auth", &app.key)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn webhook_secrets_and_headers_are_encrypted_at_rest() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let created = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let secret = created["webhook"]["secret"].as_str().unwrap();
    let row = docpush::db::entities::templates::Entity::find_by_id(crate::helpers::id::<
        docpush::types::TemplateId,
    >(
        created["id"].as_str().unwrap(),
    ))
    .one(&app.state.db)
    .await
    .unwrap()
    .unwrap();
    let stored = format!("{:?}", row);
    assert!(
        !stored.contains("Bearer abc"),
        "header stored in plain text: {stored}"
    );
    assert!(
        !stored.contains(secret.trim_start_matches("whsec_")),
        "secret stored in plain text"
    );
}
