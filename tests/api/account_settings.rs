//! Account settings (SPEC §5): `GET|PATCH /v1/account` with `retention_hours`,
//! refused outside 1 to 8760 with 422, and the retention purge honouring each
//! account's own setting.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, TestApp};
use docpush_samples::{invoice_template_fields, Invoice};

async fn patch_account(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .http
        .patch(format!("{}/v1/account", app.base))
        .header("x-auth", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn account(app: &TestApp, key: &str) -> Value {
    let resp = app.get("/v1/account", key).await;
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn retention_hours_default_to_a_day_and_only_whole_hours_up_to_a_year_are_taken() {
    let app = spawn_app().await;
    assert_eq!(account(&app, &app.key).await["retention_hours"], 24);

    for bad in [
        json!({"retention_hours": 0}),
        json!({"retention_hours": 8761}),
        json!({"retention_hours": -5}),
        json!({"retention_hours": 1.5}),
        json!({"retention_hours": "48"}),
        json!({"retention_hours": null}),
        json!({"retention": 48}),
    ] {
        let (status, body) = patch_account(&app, &app.key, &bad).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("retention"),
            "{bad}: the message names the setting: {body}"
        );
    }
    assert_eq!(account(&app, &app.key).await["retention_hours"], 24);

    let (status, body) = patch_account(&app, &app.key, &json!({"retention_hours": 36.0})).await;
    assert_eq!(
        (status, &body["retention_hours"]),
        (200, &json!(36)),
        "{body}"
    );
    let (status, body) = patch_account(&app, &app.key, &json!({"retention_hours": 8760})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["retention_hours"], 8760);
    assert_eq!(account(&app, &app.key).await["retention_hours"], 8760);

    let other = app.other_account(10).await;
    assert_eq!(
        account(&app, &other).await["retention_hours"],
        24,
        "another account keeps its own setting"
    );
    let spec = app.openapi().await;
    assert!(
        spec["paths"]["/v1/account"]["patch"]["responses"]["422"].is_object(),
        "PATCH /v1/account is published with its 422"
    );
}

/// Submits one invoice with `key` to a template of its own account; returns the job id.
async fn finished_job(app: &TestApp, key: &str) -> String {
    let resp = app
        .post_json(
            "/v1/templates",
            key,
            &json!({"name": "kept", "fields": invoice_template_fields()}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let template: Value = resp.json().await.unwrap();
    let resp = app
        .post_json(
            "/process-job",
            key,
            &json!({"template_id": template["id"], "file_name": "a.pdf",
                    "actual_image": crate::helpers::b64(&Invoice::numbered(1).pdf())}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let job = resp.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("the job to finish", || async {
        let s: Value = app
            .get(&format!("/job-status?job_id={job}"), key)
            .await
            .json()
            .await
            .unwrap();
        s["status"] == "SUCCESS"
    })
    .await;
    job
}

async fn results_status(app: &TestApp, key: &str, job: &str) -> u16 {
    app.post_json(
        "/v1/job-results",
        key,
        &json!({"job_id": job, "result_format": "json"}),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn the_purge_keeps_each_accounts_results_for_its_own_retention() {
    let app = spawn_app().await;
    let other = app.other_account(100).await;
    let (status, _) = patch_account(&app, &app.key, &json!({"retention_hours": 1})).await;
    assert_eq!(status, 200);
    let (status, _) = patch_account(&app, &other, &json!({"retention_hours": 3})).await;
    assert_eq!(status, 200);
    let short = finished_job(&app, &app.key).await;
    let long = finished_job(&app, &other).await;
    let default = finished_job(&app, &app.other_account(100).await).await;

    // Two hours pass for all three jobs: past an hour, within three hours and a day.
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .execute(Statement::from_string(
            backend,
            format!(
                "UPDATE jobs SET finished_at = finished_at - 7200000 \
                 WHERE id IN ('{short}', '{long}', '{default}')"
            ),
        ))
        .await
        .unwrap();

    eventually("the one-hour account's results to be purged", || async {
        results_status(&app, &app.key, &short).await == 410
    })
    .await;
    assert_eq!(results_status(&app, &other, &long).await, 200);
    let rows = app
        .state
        .db
        .query_all(Statement::from_string(
            backend,
            format!(
                "SELECT id FROM jobs WHERE purged_at IS NOT NULL AND id IN ('{long}', '{default}')"
            ),
        ))
        .await
        .unwrap();
    assert!(rows.is_empty(), "results within their retention are kept");
}
