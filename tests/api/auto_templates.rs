//! `"template_id": "auto"`: each document of a mixed batch chooses its own
//! template by keywords; one no template matches fails by name.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Receiver};
use docpush_samples::corpus;
use docpush_samples::{pdf, text};

fn keywords(layout: &str) -> Value {
    json!(corpus::keywords(layout))
}

#[tokio::test]
async fn auto_chooses_each_documents_template_and_names_a_document_none_matches() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    app.create_destination(json!({
        "type": "webhook", "config": {"url": receiver.url},
        "events": ["extraction.processed", "extraction.failed"], "templates": "all"
    }))
    .await;
    let layouts = corpus::layouts();
    let mut ids = Vec::new();
    for layout in &layouts {
        let mut body = layout.template.clone();
        body["name"] = json!(layout.name);
        body["keywords"] = keywords(layout.name);
        let resp = app.post_json("/v1/templates", &app.key, &body).await;
        assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);
        let t: Value = resp.json().await.unwrap();
        assert_eq!(t["keywords"], keywords(layout.name));
        ids.push(t["id"].as_str().unwrap().to_string());
    }
    // Matches the invoice and the delivery note by its one keyword and ranks
    // above both, but its exclude keywords keep it off them; a template
    // without keywords is never chosen.
    let decoy = json!({
        "name": "decoy", "keywords": ["Riverside Joinery"], "priority": 9,
        "exclude_keywords": ["DELIVERY NOTE", "(?i)invoice no"],
        "fields": [{"name": "x", "type": "string", "value": "decoy"}]
    });
    assert_eq!(
        app.post_json("/v1/templates", &app.key, &decoy)
            .await
            .status()
            .as_u16(),
        201
    );
    let plain =
        json!({"name": "no keywords", "fields": [{"name": "x", "type": "string", "regex": "."}]});
    assert_eq!(
        app.post_json("/v1/templates", &app.key, &plain)
            .await
            .status()
            .as_u16(),
        201
    );

    let samples: Vec<_> = layouts.iter().map(|l| corpus::sample(l, 0)).collect();
    let mut entries: Vec<(String, Vec<u8>)> = samples
        .iter()
        .map(|s| (format!("{}.pdf", s.layout), s.pdf()))
        .collect();
    entries.push((
        "letter.pdf".into(),
        pdf(&[vec![text(
            72.0,
            72.0,
            12.0,
            "Dear neighbour, the fence is fixed.",
        )]]),
    ));
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let job = app
        .submit_ok("auto", &docpush_samples::zip(&refs), "mixed.zip")
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["template_id"], "auto");
    assert_eq!(status["status"], "SUCCESS", "{status}");

    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    assert_eq!(results["template_id"], "auto");
    let files = results["results"].as_array().unwrap();
    assert_eq!(files.len(), layouts.len() + 1);
    for (i, sample) in samples.iter().enumerate() {
        let name = format!("{}.pdf", sample.layout);
        let file = files
            .iter()
            .find(|f| f["file_name"] == name.as_str())
            .unwrap();
        assert_eq!(
            file["template_id"],
            ids[i].as_str(),
            "{name} chose its own template"
        );
        for (field, want) in &sample.truth {
            let got = &file["result"][field];
            let same = match (got.as_f64(), want.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                _ => got == want,
            };
            assert!(same, "{name}: {field} is {got}, want {want}");
        }
        let in_status = status["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file_name"] == name.as_str())
            .unwrap();
        assert_eq!(in_status["template_id"], ids[i].as_str());
    }
    let letter = files
        .iter()
        .find(|f| f["file_name"] == "letter.pdf")
        .unwrap();
    assert_eq!(letter["status"], "PROCESS IMAGE FAILED");
    assert_eq!(letter["error"], "NO TEMPLATE MATCHED");
    assert_eq!(letter["template_id"], Value::Null);
    assert_eq!(
        letter["pages"], 1,
        "a document no template matched was read and is charged"
    );

    let events: Vec<Value> = receiver
        .wait_for(layouts.len() + 1)
        .await
        .iter()
        .map(|r| r.json())
        .collect();
    for (i, layout) in layouts.iter().enumerate() {
        let name = format!("{}.pdf", layout.name);
        let ev = events
            .iter()
            .find(|e| e["data"]["file_name"] == name.as_str())
            .unwrap_or_else(|| panic!("no event for {name}"));
        assert_eq!(ev["type"], "extraction.processed");
        assert_eq!(ev["data"]["template_id"], ids[i].as_str());
    }
    let failed = events
        .iter()
        .find(|e| e["data"]["file_name"] == "letter.pdf")
        .unwrap();
    assert_eq!(failed["type"], "extraction.failed");
    assert_eq!(failed["data"]["error"], "NO TEMPLATE MATCHED");
    assert_eq!(failed["data"]["template_id"], "auto");

    // CSV: every chosen template's columns, in order of first appearance.
    let csv = app.results(&job, "csv").await.text().await.unwrap();
    let header = csv.lines().next().unwrap();
    for layout in &layouts {
        for field in layout.template["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap();
            // A lines field has a column per item column, and a row per item.
            let columns: Vec<String> = match field["table"]["columns"].as_object() {
                Some(columns) => columns.keys().map(|c| format!("{name}.{c}")).collect(),
                None => vec![name.to_string()],
            };
            for column in columns {
                assert!(
                    header.split(',').any(|h| h == column),
                    "{column} in {header}"
                );
            }
        }
    }
    let rows: usize = samples
        .iter()
        .map(|s| {
            // Each layout has at most one lines field (items or transactions).
            s.truth
                .values()
                .find_map(|v| v.as_array())
                .map_or(1, |rows| rows.len().max(1))
        })
        .sum();
    assert_eq!(csv.lines().count(), 1 + rows + 1, "{csv}");

    // The choice follows the account's templates as they change: a deleted
    // template is no longer chosen, an edited one by its new keywords.
    let statement = layouts.iter().position(|l| l.name == "statement").unwrap();
    let resp = app
        .http
        .delete(format!("{}/v1/templates/{}", app.base, ids[statement]))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let job = app
        .submit_ok("auto", &samples[statement].pdf(), "statement.pdf")
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(
        status["files"][0]["error"], "NO TEMPLATE MATCHED",
        "{status}"
    );
    let receipt = layouts.iter().position(|l| l.name == "receipt").unwrap();
    let mut body = layouts[receipt].template.clone();
    body["name"] = json!("receipt");
    body["keywords"] = json!(["Statement of account"]);
    let resp = app
        .http
        .put(format!("{}/v1/templates/{}", app.base, ids[receipt]))
        .header("x-auth", &app.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let job = app
        .submit_ok("auto", &samples[statement].pdf(), "statement.pdf")
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(
        status["files"][0]["template_id"],
        ids[receipt].as_str(),
        "{status}"
    );
}

#[tokio::test]
async fn an_unknown_template_id_is_still_refused() {
    let app = spawn_app().await;
    let resp = app.submit("Auto", b"%PDF-1.4", "a.pdf").await;
    assert_eq!(resp.status().as_u16(), 404);
}
