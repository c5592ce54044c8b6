use serde_json::{json, Value};

use crate::helpers::{b64, spawn_app, spawn_with};
use docpush_samples::{invoice_template_fields, Invoice};

async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn every_submission_error_has_its_code_and_a_json_body() {
    let app = spawn_with(|s| s.limits.max_upload_bytes = 4096).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let pdf = Invoice::numbered(1).pdf();
    assert!(pdf.len() < 4096);

    let cases: Vec<(&str, Value, u16)> = vec![
        (
            "empty document",
            json!({"template_id": tid, "actual_image": ""}),
            400,
        ),
        (
            "invalid base64",
            json!({"template_id": tid, "actual_image": "***"}),
            400,
        ),
        ("no template_id", json!({"actual_image": b64(&pdf)}), 400),
        ("no actual_image", json!({"template_id": tid}), 400),
        (
            "static_values not an object",
            json!({"template_id": tid, "actual_image": b64(&pdf), "static_values": [1]}),
            400,
        ),
        (
            "unknown template",
            json!({"template_id": uuid::Uuid::new_v4().to_string(), "actual_image": b64(&pdf)}),
            404,
        ),
        (
            "too large",
            json!({"template_id": tid, "actual_image": b64(&vec![b'%'; 5000])}),
            413,
        ),
        (
            "text is not a document",
            json!({"template_id": tid, "actual_image": b64(b"just some text")}),
            415,
        ),
    ];
    for (what, body, want) in cases {
        let (status, err) = error_of(app.post_json("/process-job", &app.key, &body).await).await;
        assert_eq!(status, want, "{what}: {err}");
    }
    let (status, _) = error_of(
        app.post_json(
            "/process-job",
            "dp_wrong",
            &json!({"template_id": tid, "actual_image": b64(&pdf)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    let resp = app
        .http
        .post(format!("{}/process-job", app.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 401);
    let resp = app
        .http
        .post(format!("{}/v1/process-job", app.base))
        .header("x-auth", &app.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.0, 400);
    let resp = app
        .get(
            &format!("/job-status?job_id={}", uuid::Uuid::new_v4()),
            &app.key,
        )
        .await;
    assert_eq!(error_of(resp).await.0, 404);
    let resp = app.results(&uuid::Uuid::new_v4().to_string(), "json").await;
    assert_eq!(error_of(resp).await.0, 404);
    let resp = app.results(&uuid::Uuid::new_v4().to_string(), "xml").await;
    assert_eq!(error_of(resp).await.0, 422);
    // A zero-byte file part is as empty as an empty string (SPEC §3: 400).
    let form = reqwest::multipart::Form::new()
        .text("template_id", tid.to_string())
        .part(
            "actual_image",
            reqwest::multipart::Part::bytes(Vec::new()).file_name("empty.pdf"),
        );
    let resp = app
        .http
        .post(format!("{}/v1/process-job", app.base))
        .header("x-auth", &app.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(resp).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"], "bad_request");
}

#[tokio::test]
async fn multipart_and_data_urls_are_accepted() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap().to_string();
    let pdf = Invoice::numbered(3).pdf();

    let form = reqwest::multipart::Form::new()
        .text("template_id", tid.clone())
        .text("static_values", r#"{"batch": "B-9"}"#)
        .part(
            "actual_image",
            reqwest::multipart::Part::bytes(pdf.clone()).file_name("scan-3.pdf"),
        );
    let resp = app
        .http
        .post(format!("{}/v1/process-job", app.base))
        .header("x-auth", &app.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["template_id"], tid.as_str());
    assert_eq!(body["static_values"], json!({"batch": "B-9"}));
    let status = app.wait_finished(body["job_id"].as_str().unwrap()).await;
    assert_eq!(status["files"][0]["file_name"], "scan-3.pdf");
    assert_eq!(status["status"], "SUCCESS");

    let data_url = format!("data:application/pdf;base64,{}", b64(&pdf));
    let resp = app
        .post_json(
            "/process-job",
            &app.key,
            &json!({"template_id": tid, "actual_image": data_url}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let job: Value = resp.json().await.unwrap();
    let status = app.wait_finished(job["job_id"].as_str().unwrap()).await;
    assert_eq!(status["status"], "SUCCESS");
    assert_eq!(status["files"][0]["file_name"], "document.pdf");
}

#[tokio::test]
async fn idempotency_key_returns_the_first_job_and_rejects_another_body() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let body = json!({"template_id": tid, "actual_image": b64(&Invoice::numbered(1).pdf()), "static_values": {"k": "v"}});
    let send = |body: Value| {
        let app = &app;
        async move {
            app.http
                .post(format!("{}/process-job", app.base))
                .header("x-auth", &app.key)
                .header("Idempotency-Key", "order-42")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone()).await;
    assert_eq!(again.status().as_u16(), 202);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again);
    let jobs = docpush::db::entities::jobs::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(jobs, 1);

    let mut other = body.clone();
    other["actual_image"] = json!(b64(&Invoice::numbered(2).pdf()));
    let (status, _) = error_of(send(other).await).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn another_accounts_ids_answer_404() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let job = app
        .submit_ok(tid, &Invoice::numbered(1).pdf(), "a.pdf")
        .await;
    app.wait_finished(&job).await;

    let other = app.other_account(100).await;
    assert_eq!(
        app.get(&format!("/v1/templates/{tid}"), &other)
            .await
            .status()
            .as_u16(),
        404
    );
    let list: Value = app.get("/v1/templates", &other).await.json().await.unwrap();
    assert_eq!(list, json!([]));
    assert_eq!(
        app.get(&format!("/job-status?job_id={job}"), &other)
            .await
            .status()
            .as_u16(),
        404
    );
    let resp = app
        .post_json("/v1/job-results", &other, &json!({"job_id": job}))
        .await;
    assert_eq!(resp.status().as_u16(), 404);
    let resp = app
        .post_json(
            "/process-job",
            &other,
            &json!({"template_id": tid, "actual_image": b64(&Invoice::numbered(1).pdf())}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 404);
    let resp = app
        .http
        .delete(format!("{}/v1/templates/{tid}", app.base))
        .header("x-auth", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        app.get(&format!("/v1/templates/{tid}"), &app.key)
            .await
            .status()
            .as_u16(),
        200
    );
}
