//! Line items through the API (SPEC §2.2–2.3): a table field's rows in the
//! results, one CSV row per item, checks that send a document to review and
//! run again when a reviewer edits the rows.

use docpush_samples::text;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn invoice() -> Vec<u8> {
    docpush_samples::pdf(&[vec![
        text(40.0, 40.0, 14.0, "Harbour Tools"),
        text(40.0, 200.0, 11.0, "Description"),
        text(300.0, 200.0, 11.0, "Qty"),
        text(420.0, 200.0, 11.0, "Amount"),
        text(40.0, 220.0, 11.0, "Hammer"),
        text(304.0, 220.0, 11.0, "2"),
        text(420.0, 220.0, 11.0, "10.00"),
        text(40.0, 236.0, 11.0, "Saw, large"),
        text(304.0, 236.0, 11.0, "1"),
        text(420.0, 236.0, 11.0, "15.00"),
        text(40.0, 252.0, 11.0, "with a spare blade"),
        text(300.0, 290.0, 11.0, "Total"),
        text(420.0, 290.0, 11.0, "30.00"),
    ]])
}

#[tokio::test]
async fn rows_go_to_results_and_csv_and_a_failing_check_is_reviewed() {
    let app = spawn_app().await;
    let resp = app
        .post_json(
            "/v1/templates",
            &app.key,
            &json!({
                "name": "Harbour Tools",
                "fields": [
                    {"name": "items", "type": "lines", "table": {
                        "columns": {"description": "Description", "qty": "Qty", "amount": "Amount"},
                        "end": "^Total", "types": {"qty": "integer", "amount": "number"}}},
                    {"name": "total", "type": "number", "regex": "Total\\s+([\\d.]+)"}
                ],
                "checks": [{"name": "lines add up", "sum": "items.amount", "equals": "total", "tolerance": 0.01}]
            }),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let template: Value = resp.json().await.unwrap();
    assert_eq!(template["checks"][0]["sum"], "items.amount");
    let id = template["id"].as_str().unwrap();

    let job = app.submit_ok(id, &invoice(), "tools.pdf").await;
    app.wait_finished(&job).await;
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let file = &results["results"][0];
    assert_eq!(
        file["result"]["items"],
        json!([
            {"description": "Hammer", "qty": 2, "amount": 10.0},
            {"description": "Saw, large with a spare blade", "qty": 1, "amount": 15.0},
        ])
    );
    assert_eq!(file["confidences"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(file["result_status"], "needs_review");
    assert_eq!(
        file["warnings"],
        json!(["check \"lines add up\" failed: 25 against 30"])
    );

    let csv = app.results(&job, "csv").await.text().await.unwrap();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "file_name,status,total,items.description,items.qty,items.amount",
            "tools.pdf,PROCESS IMAGE SUCCESS,30.0,Hammer,2,10.0",
            "tools.pdf,PROCESS IMAGE SUCCESS,30.0,\"Saw, large with a spare blade\",1,15.0",
        ]
    );

    // The reviewer corrects the saw's amount; the check holds again.
    let file_id = file["file_id"].as_str().unwrap();
    let edit = |rows: Value| {
        let app = &app;
        let path = format!("{}/v1/jobs/{job}/files/{file_id}/result", app.base);
        async move {
            app.http
                .patch(path)
                .header("x-auth", &app.key)
                .json(&json!({"result": {"items": rows}}))
                .send()
                .await
                .unwrap()
        }
    };
    let bad = edit(json!([{"description": "Hammer", "qty": "two"}])).await;
    assert_eq!(bad.status().as_u16(), 422);
    let body: Value = bad.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("items[0]"),
        "{body}"
    );
    let ok = edit(json!([
        {"description": "Hammer", "qty": 2, "amount": 10.0},
        {"description": "Saw, large with a spare blade", "qty": 1, "amount": "20.00"},
    ]))
    .await;
    assert_eq!(ok.status().as_u16(), 200, "{:?}", ok.text().await);
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let file = &results["results"][0];
    assert_eq!(file["result"]["items"][1]["amount"], 20.0);
    assert_eq!(file["result_status"], "edited");
    assert_eq!(file["warnings"], json!([]));

    let openapi = app.openapi().await;
    for schema in ["TableDef", "LinesDef", "CheckDef"] {
        assert!(
            openapi["components"]["schemas"].get(schema).is_some(),
            "{schema} in /openapi.json"
        );
    }
}
