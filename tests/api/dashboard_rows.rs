//! Line items in the dashboard: a table field built by drawing its header on
//! the page, tried with each row boxed, and a scan's rows reviewed in the
//! grid (a cell edited, a row deleted, one added, then confirmed), the
//! receiver getting `extraction.edited` and `extraction.confirmed` with the rows.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::accuracy::scanned;
use crate::helpers::{spawn_app, Receiver};
use crate::ui::{events_of, Ui};
use docpush_samples::corpus;

/// Waits until the receiver holds `n` events of `kind`; the last of them.
async fn nth_event(hook: &Receiver, kind: &str, n: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = events_of(hook, kind);
        if got.len() >= n {
            return got[n - 1].clone();
        }
        assert!(Instant::now() < deadline, "no {kind} event number {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_drawn_on_the_page_is_tried_and_a_scans_rows_are_reviewed_in_a_grid() {
    let app = spawn_app().await;
    let hook = Receiver::start().await;
    let ui = Ui::start(&app).await;
    let layout = corpus::layouts()
        .into_iter()
        .find(|l| l.name == "serif_invoice")
        .unwrap();
    let sample = corpus::sample(&layout, 0);
    let printed = sample.truth["items"].as_array().unwrap().clone();
    let pdf_path = app.dir.path().join("joinery.pdf");
    std::fs::write(&pdf_path, sample.pdf()).unwrap();
    let (scan_name, scan) = scanned(&sample).await;

    ui.goto("/dashboard/login").await;
    ui.fill("#api_key", &app.key).await;
    ui.submit("button[type=submit]").await;
    ui.goto("/dashboard/templates").await;
    ui.submit("#new-template").await;
    ui.fill("#name", "Joinery invoices").await;
    ui.fill("[name='f0.name']", "invoice_number").await;
    ui.fill("[name='f0.regex']", r"Invoice No\.:\s*(\S+)").await;
    ui.try_it(&pdf_path).await;

    // The header band of this layout spans x 50–562 and y 200–218 of a
    // 612 × 792 pt page: dragged across, its four labels become the columns.
    ui.click("#add-field").await;
    ui.fill("[name='f1.name']", "items").await;
    ui.select("[name='f1.locator']", "rows").await;
    ui.click(".field[data-index='1'] [data-draw-header]").await;
    ui.drag("#page-view img", (0.07, 0.249), (0.93, 0.279))
        .await;
    assert_eq!(
        ui.find("[name='f1.type']")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("lines")
    );
    let drawn = ui
        .find("[name='f1.rows']")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let mut rules: Value = serde_json::from_str(&drawn).unwrap();
    assert_eq!(
        rules["table"]["columns"],
        json!({"description": "Description", "qty": "Qty", "unit_price": "Unit price", "amount": "Amount"}),
        "{drawn}"
    );
    ui.shot("rows-header-drawn").await;
    // Where the table stops and what its numbers are, typed as a user would.
    rules["table"]["end"] = json!(r"^Subtotal\b");
    rules["table"]["types"] = json!({"qty": "integer", "unit_price": "number", "amount": "number"});
    ui.fill("[name='f1.rows']", &rules.to_string()).await;
    // A reference this invoice does not carry: every document waits for review.
    ui.click("#add-field").await;
    ui.fill("[name='f2.name']", "reference").await;
    ui.fill("[name='f2.regex']", r"Reference:\s*(\S+)").await;
    ui.click("[name='f2.required']").await;

    ui.try_it(&pdf_path).await;
    let tried = ui
        .c()
        .find_all(Locator::Css(
            "#try-result table[data-rows='items'] tbody tr",
        ))
        .await
        .unwrap();
    assert_eq!(tried.len(), printed.len(), "a row per printed item");
    let first = ui
        .text("#try-result table[data-rows='items'] tbody tr")
        .await;
    assert!(
        first.contains(printed[0]["description"].as_str().unwrap()),
        "{first}"
    );
    let boxes = ui
        .c()
        .find_all(Locator::Css("#page-view .box"))
        .await
        .unwrap();
    assert_eq!(
        boxes.len(),
        printed.len() + 1,
        "each row boxed, and the number"
    );
    ui.shot_at("rows-tried", "#try-result").await;

    ui.fill("[name='webhook.url']", &hook.url).await;
    ui.click("[name='webhook.events_mode'][value='all']").await;
    ui.submit("#save").await;
    let template_id = ui.text("#template-id").await;

    // A scan of the invoice: its rows wait for review.
    let job = app.submit_ok(&template_id, &scan, &scan_name).await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS", "{status}");
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let read = &results["results"][0];
    assert_eq!(read["result_status"], "needs_review", "{read}");
    assert_eq!(read["result"]["items"], json!(printed), "the scan's rows");

    ui.goto(&format!("/dashboard/jobs/{job}")).await;
    ui.find("fieldset[data-grid='items']").await;
    let shown = ui
        .c()
        .find_all(Locator::Css("fieldset[data-grid='items'] tbody tr"))
        .await
        .unwrap();
    assert_eq!(shown.len(), printed.len() + 1, "the rows and an empty one");
    ui.shot_at("rows-review", "fieldset[data-grid='items']")
        .await;

    // One cell corrected and saved.
    ui.fill("[name='cell.items.0.amount']", "999.99").await;
    ui.submit("button[value=save]").await;
    let edited = nth_event(&hook, "extraction.edited", 1).await;
    let rows = edited["data"]["result"]["items"].as_array().unwrap();
    assert_eq!(rows.len(), printed.len());
    assert_eq!(
        rows[0]["amount"],
        json!(999.99),
        "typed by the column's type"
    );
    assert_eq!(rows[0]["description"], printed[0]["description"]);
    assert_eq!(rows[1], printed[1], "the other rows unchanged");

    // The last row deleted, one added in the empty row.
    let last = printed.len() - 1;
    ui.click(&format!("[name='delete.items.{last}']")).await;
    let blank = printed.len();
    ui.fill(
        &format!("[name='cell.items.{blank}.description']"),
        "Delivery",
    )
    .await;
    ui.fill(&format!("[name='cell.items.{blank}.amount']"), "12.50")
        .await;
    ui.submit("button[value=save]").await;
    let edited = nth_event(&hook, "extraction.edited", 2).await;
    let rows = edited["data"]["result"]["items"].as_array().unwrap();
    assert_eq!(rows.len(), printed.len());
    assert_eq!(
        rows[last],
        json!({"description": "Delivery", "qty": null, "unit_price": null, "amount": 12.5})
    );

    // A cell that is not a number is refused beside the grid, nothing saved.
    ui.fill("[name='cell.items.1.qty']", "many").await;
    ui.submit("button[value=save]").await;
    let refused = ui.text("fieldset[data-grid='items'] .error").await;
    assert!(refused.contains("items[1]"), "{refused}");
    assert_eq!(events_of(&hook, "extraction.edited").len(), 2);
    ui.fill("[name='cell.items.1.qty']", &printed[1]["qty"].to_string())
        .await;

    ui.fill("[name='value.reference']", "PO-77").await;
    ui.submit("button[value=confirm]").await;
    let confirmed = nth_event(&hook, "extraction.confirmed", 1).await;
    assert_eq!(
        confirmed["data"]["result"]["items"][0]["amount"],
        json!(999.99)
    );
    assert_eq!(
        confirmed["data"]["result"]["items"][last]["description"],
        "Delivery"
    );
    assert_eq!(confirmed["data"]["result"]["reference"], "PO-77");
    ui.wait_text("[data-result-status]", |t| t == "confirmed")
        .await;
    // What the reviewer typed is certain; rows left as read keep their confidence.
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    let sure = results["results"][0]["confidences"]["items"].clone();
    assert_eq!(sure.as_array().map(Vec::len), Some(printed.len()), "{sure}");
    assert_eq!(sure[0], json!(1.0));
    assert_eq!(sure[last], json!(1.0));
    assert_eq!(sure[1], read["confidences"]["items"][1]);
    let at = &results["results"][0]["boxes"]["items"];
    assert_eq!(
        at[1], read["boxes"]["items"][1],
        "a row left as read keeps its box"
    );
    assert_eq!(at[last], Value::Null, "an added row has none");
    ui.find("table[data-rows='items']").await;
    ui.shot_at("rows-confirmed", "table[data-rows='items']")
        .await;
}
