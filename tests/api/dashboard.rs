//! The dashboard in a real browser: a user's whole story from sign-in to a
//! replayed dead letter, and the page security rules. Every page is saved as
//! a screenshot under `target/screenshots/`.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Receiver};
use crate::ui::{wait_event, Ui};
use docpush::extraction::pdf::PdfEngine;
use docpush_samples::{self as samples, Invoice};

/// An invoice without its "Total due" block: the required total is missing, so it needs review.
fn invoice_without_total(inv: &Invoice) -> Vec<u8> {
    let mut pages = inv.pages();
    pages[0].retain(|t| !t.text.starts_with("Total due") && !t.text.starts_with("$ "));
    samples::pdf(&pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_builds_a_template_watches_jobs_reviews_and_replays_in_the_dashboard() {
    let app = spawn_app().await;
    let hook = Receiver::start().await;
    let ui = Ui::start(&app).await;
    let inv = Invoice::numbered(1);
    let pdf_path = app.dir.path().join("invoice.pdf");
    std::fs::write(&pdf_path, inv.pdf()).unwrap();
    let scan = PdfEngine::global()
        .render(inv.pdf(), 200, u64::MAX)
        .await
        .unwrap();
    let scan_path = app.dir.path().join("scan.png");
    std::fs::write(&scan_path, samples::png(&scan[0])).unwrap();

    // Signed out, every page leads to the sign-in form.
    ui.goto("/dashboard").await;
    ui.find("#api_key").await;
    assert_eq!(ui.path().await, "/dashboard/login");
    ui.shot("login").await;
    ui.fill("#api_key", &app.key).await;
    ui.submit("button[type=submit]").await;
    ui.find("#jobs-empty, #jobs").await;
    assert_eq!(ui.path().await, "/dashboard");
    assert!(ui.text("main").await.contains("creating a template"));
    ui.shot("jobs-empty").await;

    // A template in the editor: a 422 shows beside the field it names.
    ui.goto("/dashboard/templates").await;
    ui.shot("templates-empty").await;
    ui.submit("#new-template").await;
    ui.fill("#name", "Supplier invoices").await;
    ui.fill("[name='f0.name']", "invoice_number").await;
    ui.fill("[name='f0.regex']", "Invoice No: ([").await;
    ui.submit("#save").await;
    let err = ui.text("[data-error-for='f0.regex']").await;
    assert!(err.contains("fields[0].regex"), "{err}");
    ui.fill(
        "[name='f0.regex']",
        r"Invoice\s*(?:No|#)\.?:?\s*([A-Z0-9-]+)",
    )
    .await;
    ui.click("#add-field").await;
    ui.fill("[name='f1.name']", "total").await;
    ui.select("[name='f1.type']", "number").await;
    ui.select("[name='f1.locator']", "anchor").await;
    ui.fill("[name='f1.anchor']", "Total due").await;
    ui.select("[name='f1.direction']", "below").await;
    ui.click("[name='f1.required']").await;
    ui.click("#add-field").await;
    ui.fill("[name='f2.name']", "invoice_date").await;
    ui.select("[name='f2.type']", "date").await;
    ui.select("[name='f2.locator']", "anchor").await;
    ui.fill("[name='f2.anchor']", "Date").await;
    ui.fill("[name='f2.date_formats']", "%d/%m/%Y").await;

    // Try it on the PDF: values, and their boxes on the page.
    ui.try_it(&pdf_path).await;
    assert_eq!(ui.text("[data-value='invoice_number']").await, "INV-1001");
    assert_eq!(
        ui.text("[data-value='total']").await,
        inv.total_value().to_string()
    );
    assert_eq!(ui.text("[data-value='invoice_date']").await, inv.iso_date());
    let boxes = ui
        .c()
        .find_all(Locator::Css("#page-view .box"))
        .await
        .unwrap();
    assert_eq!(boxes.len(), 3, "one box per value found");

    // A fourth field whose zone is drawn by dragging on the page image.
    ui.click("#add-field").await;
    ui.fill("[name='f3.name']", "vendor").await;
    ui.click(".field[data-index='3'] [data-draw-zone]").await;
    ui.drag("#page-view img", (0.04, 0.025), (0.5, 0.08)).await;
    let x: f64 = ui
        .find("[name='f3.x']")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let width: f64 = ui
        .find("[name='f3.width']")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (x - 0.04).abs() < 0.01 && (width - 0.46).abs() < 0.02,
        "zone {x} {width}"
    );
    assert_eq!(
        ui.find("[name='f3.locator']")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap(),
        "zone"
    );
    ui.try_it(&pdf_path).await;
    assert_eq!(ui.text("[data-value='vendor']").await, inv.vendor);
    ui.shot_at("template-try-pdf", "#try-result").await;

    // And on a scan of the same invoice.
    ui.try_it(&scan_path).await;
    assert_eq!(ui.text("[data-value='invoice_number']").await, "INV-1001");
    assert_eq!(ui.text("[data-value='vendor']").await, inv.vendor);
    ui.shot_at("template-try-scan", "#try-result").await;

    // The webhook, tested before it is saved: first a receiver that answers, then a closed port.
    ui.fill("[name='webhook.url']", &hook.url).await;
    ui.submit("#test-connection").await;
    let ok = ui.text("#test-result").await;
    assert!(ok.contains("Connected") && ok.contains("HTTP 200"), "{ok}");
    let test_event = wait_event(&hook, "destination.test").await;
    assert!(
        test_event["result"].get("invoice_number").is_some(),
        "{test_event}"
    );
    assert!(!hook.received()[0].header("webhook-signature").is_empty());
    ui.fill("[name='webhook.url']", "http://127.0.0.1:9/hook")
        .await;
    ui.submit("#test-connection").await;
    assert!(ui.text("#test-result").await.contains("Failed"));
    assert!(!ui.text("#test-error").await.is_empty());
    ui.shot_at("template-webhook-failed", "#webhook").await;
    ui.fill("[name='webhook.url']", &hook.url).await;
    ui.fill("[name='webhook.headers']", "Authorization: Bearer abc")
        .await;
    for event in ["extraction.edited", "extraction.confirmed"] {
        ui.click(&format!("[name='webhook.events'][value='{event}']"))
            .await;
    }
    ui.submit("#save").await;
    let secret = ui.text("#webhook-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let headers = ui
        .find("[name='webhook.headers']")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        headers, "Authorization: ********",
        "header values are masked once saved"
    );
    ui.shot("template-saved").await;
    let template_id = ui.text("#template-id").await;
    ui.goto("/dashboard/templates").await;
    ui.find("#templates").await;
    ui.shot("templates").await;

    // Jobs submitted through the API appear and finish on the jobs page, which is not reloaded.
    ui.goto("/dashboard/jobs").await;
    ui.find("main").await;
    let done = app.submit_ok(&template_id, &inv.pdf(), "invoice.pdf").await;
    let review = app
        .submit_ok(
            &template_id,
            &invoice_without_total(&Invoice::numbered(2)),
            "no-total.pdf",
        )
        .await;
    for job in [&done, &review] {
        ui.wait_text(&format!("[data-job='{job}'] [data-status]"), |t| {
            t == "SUCCESS"
        })
        .await;
    }
    ui.shot("jobs").await;

    // Review: the page is shown with the boxes, values are checked, then saved and confirmed.
    ui.goto(&format!("/dashboard/jobs/{review}")).await;
    ui.find("form.review").await;
    let loaded = ui
        .c()
        .execute(
            "const i = document.querySelector('.page-view img'); return i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, json!(true), "the kept upload's page is shown");
    ui.shot_at("job-review", "form.review").await;
    ui.fill("[name='value.total']", "not a number").await;
    ui.submit("button[value=save]").await;
    assert!(ui.text(".review .error").await.contains("result.total"));
    ui.fill("[name='value.total']", "99.50").await;
    ui.submit("button[value=save]").await;
    let edited = wait_event(&hook, "extraction.edited").await;
    assert_eq!(
        edited["origin"], "user",
        "an edit in the dashboard comes from its user"
    );
    let sent = hook.received();
    let with_header = sent
        .iter()
        .find(|r| r.json()["type"] == "extraction.edited")
        .unwrap();
    assert_eq!(
        with_header.header("authorization"),
        "Bearer abc",
        "the masked header keeps its value"
    );
    assert_eq!(edited["data"]["result"]["total"], json!(99.5));
    ui.submit("button[value=confirm]").await;
    let confirmed = wait_event(&hook, "extraction.confirmed").await;
    assert_eq!(confirmed["data"]["result"]["total"], json!(99.5));
    ui.wait_text("[data-result-status]", |t| t == "confirmed")
        .await;
    let page_url = format!(
        "/v1/jobs/{review}/files/{}/pages/1",
        edited["data"]["file_id"].as_str().unwrap()
    );
    crate::helpers::eventually("a confirmed document's upload to be deleted", || async {
        app.get(&page_url, &app.key).await.status().as_u16() == 410
    })
    .await;
    ui.goto(&format!("/dashboard/jobs/{done}")).await;
    ui.wait_text("[data-value='vendor']", |t| t == inv.vendor)
        .await;
    ui.shot("job").await;

    // A destination whose receiver fails: its delivery is dead-lettered, then replayed.
    let flaky = Receiver::start().await;
    flaky.fail_next(100, 500);
    ui.goto("/dashboard/destinations").await;
    ui.shot("destinations-empty").await;
    ui.submit("#new-destination").await;
    ui.fill("[name='webhook.url']", &flaky.url).await;
    ui.click("[name='templates_mode'][value='chosen']").await;
    ui.submit("#save").await;
    let err = ui.text("[data-error-for='templates']").await;
    assert!(err.contains("choose at least one template or all"), "{err}");
    ui.click(&format!("[name='templates'][value='{template_id}']"))
        .await;
    ui.submit("#test-connection").await;
    assert!(ui.text("#test-result").await.contains("HTTP 500"));
    ui.submit("#save").await;
    assert!(ui.text("#destination-secret").await.starts_with("whsec_"));
    ui.shot("destination").await;
    let destination_page = ui
        .find("main")
        .await
        .attr("data-canonical")
        .await
        .unwrap()
        .expect("the saved destination's address");
    let third = app.submit_ok(&template_id, &inv.pdf(), "again.pdf").await;
    app.wait_finished(&third).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        ui.goto("/dashboard/deliveries?status=failed").await;
        ui.find("main").await;
        if ui
            .c()
            .find(Locator::Css("#deliveries tbody tr a"))
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery was dead-lettered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ui.shot("deliveries-failed").await;
    // Its page says since when it fails, how often and why.
    ui.goto(&destination_page).await;
    let banner = ui.text("#failing-banner").await;
    assert!(
        banner.contains("attempts in a row failed") && banner.contains("HTTP 500"),
        "{banner}"
    );
    ui.shot("destination-failing").await;
    ui.goto("/dashboard/deliveries?status=failed").await;
    let failed_row = ui.find("#deliveries tbody tr a").await;
    failed_row.click().await.unwrap();
    assert_eq!(ui.text("#delivery-status").await, "failed");
    assert!(
        ui.c()
            .find_all(Locator::Css("#attempts tbody tr"))
            .await
            .unwrap()
            .len()
            >= 2
    );
    ui.shot("delivery").await;
    flaky.recover();
    ui.submit("#retry").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while ui.text("#delivery-status").await != "succeeded" {
        assert!(
            Instant::now() < deadline,
            "the retried delivery did not succeed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        ui.c().refresh().await.unwrap();
    }
    ui.goto("/dashboard/deliveries").await;
    ui.find("#deliveries").await;
    ui.shot("deliveries").await;
    // Recovery for a time range runs as a task; its page shows how far it got.
    ui.goto(&destination_page).await;
    ui.c()
        .execute(
            "document.querySelector('#since').value = '2020-01-01T00:00';\
             document.querySelector('#until').value = '2099-01-01T00:00';",
            vec![],
        )
        .await
        .unwrap();
    ui.submit("#recover").await;
    let task = ui
        .wait_text("#recover-task", |t| t.starts_with("Recovery"))
        .await;
    assert!(task.contains("failed deliveries queued again"), "{task}");
    ui.shot_at("destination-recover", "#recover").await;

    // Keys: a new one is shown once, and once revoked it is refused.
    ui.goto("/dashboard/account").await;
    ui.submit("#create-key").await;
    let key = ui.text("#new-key").await;
    assert_eq!(app.get("/v1/account", &key).await.status().as_u16(), 200);
    assert!(ui.text("#ledger").await.contains("page(s) previewed"));
    ui.shot("account").await;
    ui.click("#keys tbody tr:last-child button").await;
    ui.c().accept_alert().await.unwrap();
    ui.wait_text("#keys tbody", |t| t.matches("Revoke").count() == 1)
        .await;
    assert_eq!(app.get("/v1/account", &key).await.status().as_u16(), 401);

    // Retention is the account's own setting.
    assert_eq!(
        ui.find("#retention_hours")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("24")
    );
    ui.fill("#retention_hours", "48").await;
    ui.submit("#settings button").await;
    assert_eq!(ui.text(".notice").await, "Settings saved.");
    let account: Value = app.get("/v1/account", &app.key).await.json().await.unwrap();
    assert_eq!(account["retention_hours"], 48);
    ui.shot("account-settings").await;

    // The same pages on a phone.
    ui.c().set_window_size(390, 844).await.unwrap();
    ui.goto(&format!("/dashboard/jobs/{done}")).await;
    ui.find("#job-status").await;
    ui.shot("phone-job").await;
    ui.goto(&format!("/dashboard/templates/{template_id}"))
        .await;
    ui.find("#fields").await;
    ui.shot("phone-template").await;

    // Signing out ends the session on the server too.
    let cookie = ui.session_cookie().await;
    ui.submit("#sign-out").await;
    ui.find("#api_key").await;
    ui.goto("/dashboard/templates").await;
    ui.find("#api_key").await;
    assert_eq!(ui.path().await, "/dashboard/login");
    let old = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/dashboard/jobs", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status().as_u16(), 303);
    ui.browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_refuse_forged_forms_escape_names_and_keep_accounts_apart() {
    let app = spawn_app().await;
    let ui = Ui::start(&app).await;
    ui.goto("/dashboard/templates").await;
    assert_eq!(ui.path().await, "/dashboard/login");
    ui.fill("#api_key", "dp_not_a_key").await;
    ui.submit("button[type=submit]").await;
    assert!(ui.text(".notice").await.contains("not valid"));
    ui.fill("#api_key", &app.key).await;
    ui.submit("button[type=submit]").await;
    ui.find("main").await;

    // A name with markup is shown as text, never run.
    let script = "<script>alert(1)</script>";
    app.create_template(
        json!([{"name": "n", "type": "string", "regex": "(x)"}]),
        None,
    )
    .await;
    let resp = app
        .post_json(
            "/v1/templates",
            &app.key,
            &json!({"name": script, "fields": [{"name": "n", "type": "string", "regex": "(x)"}]}),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    ui.goto("/dashboard/templates").await;
    let names = ui.text("#templates").await;
    assert!(names.contains(script), "{names}");
    assert!(ui.c().get_alert_text().await.is_err(), "no script ran");
    let source = ui.c().source().await.unwrap();
    assert!(source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    ui.shot("templates-escaped").await;
    // Deleting asks first.
    ui.c()
        .find(Locator::LinkText(script))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    ui.click("#delete-template").await;
    assert!(ui
        .c()
        .get_alert_text()
        .await
        .unwrap()
        .contains("Delete this template"));
    ui.c().accept_alert().await.unwrap();
    ui.wait_text("#templates", |t| !t.contains(script)).await;

    // Forms without the session's CSRF token are refused.
    let cookie = ui.session_cookie().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &str, body: &'static str| {
        http.post(format!("{}{path}", app.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    for body in ["", "csrf=forged"] {
        let r = post("/dashboard/account/keys", body).await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{body:?}");
    }
    let keys: Vec<Value> = app.get("/v1/keys", &app.key).await.json().await.unwrap();
    assert_eq!(keys.len(), 1, "no key was made by a forged form");
    let login = http
        .post(format!("{}/dashboard/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("api_key={}", app.key))
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status().as_u16(),
        403,
        "the sign-in form has its token too"
    );

    // Another account's template and job answer 404.
    let other = app.other_account(100).await;
    let theirs: Value = app
        .post_json(
            "/v1/templates",
            &other,
            &json!({"name": "theirs", "fields": [{"name": "n", "type": "string", "regex": "(x)"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let tid = theirs["id"].as_str().unwrap();
    let job: Value = app
        .post_json(
            "/v1/process-job",
            &other,
            &json!({"template_id": tid, "actual_image": crate::helpers::b64(&Invoice::numbered(3).pdf())}),
        )
        .await
        .json()
        .await
        .unwrap();
    let get = |path: String| {
        http.get(format!("{}{path}", app.base))
            .header("cookie", &cookie)
            .send()
    };
    for path in [
        format!("/dashboard/templates/{tid}"),
        format!("/dashboard/jobs/{}", job["job_id"].as_str().unwrap()),
        "/dashboard/deliveries/dlv_theirs".to_string(),
        "/dashboard/destinations/theirs".to_string(),
    ] {
        assert_eq!(
            get(path.clone()).await.unwrap().status().as_u16(),
            404,
            "{path}"
        );
    }
    ui.goto(&format!("/dashboard/templates/{tid}")).await;
    assert!(ui.text("h1").await.contains("404"));
    ui.shot("not-found").await;
    ui.browser.client.clone().close().await.unwrap();
}

/// Import an invoice2data template in the dashboard, see a refused one named
/// with its reasons, and save an imported template from the editor without
/// losing what the editor has no inputs for.
#[tokio::test]
async fn an_invoice2data_template_is_imported_and_survives_the_editor() {
    let app = spawn_app().await;
    let ui = Ui::start(&app).await;
    ui.goto("/dashboard/login").await;
    ui.fill("#api_key", &app.key).await;
    ui.submit("button[type=submit]").await;
    ui.find("#jobs-empty, #jobs").await;

    ui.goto("/dashboard/templates").await;
    ui.fill(
        "#import",
        "issuer: X\nkeywords: [X]\nfields:\n  a: Total(?= EUR)\n",
    )
    .await;
    ui.submit("#import-template").await;
    let err = ui.text("#import-error").await;
    assert!(err.contains("look-around"), "{err}");
    ui.shot("import-refused").await;

    let oyo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invoice2data/templates/com.oyo.invoice.yml"
    ))
    .unwrap();
    ui.fill("#import", &oyo).await;
    ui.submit("#import-template").await;
    assert!(ui.path().await.starts_with("/dashboard/templates/"));
    let keywords = ui
        .find("#keywords")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(
        keywords.lines().collect::<Vec<_>>(),
        ["OYO", "Oravel", "Stays"]
    );
    assert_eq!(
        ui.find("#text")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("layout")
    );
    ui.shot("imported-template").await;
    let id = ui
        .path()
        .await
        .trim_start_matches("/dashboard/templates/")
        .to_string();
    let before: Value = app
        .get(&format!("/v1/templates/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    ui.fill("#priority", "7").await;
    ui.submit("#save").await;
    let after: Value = app
        .get(&format!("/v1/templates/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["priority"], 7);
    for kept in ["fields", "options", "keywords", "blocks"] {
        assert_eq!(after[kept], before[kept], "{kept} kept through the editor");
    }

    // Line items (invoice2data's lines parser, two rule sets) survive it too.
    let coolblue = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invoice2data/templates/nl.be.coolblue.yml"
    ))
    .unwrap();
    ui.goto("/dashboard/templates").await;
    ui.fill("#import", &coolblue).await;
    ui.submit("#import-template").await;
    assert!(ui.path().await.starts_with("/dashboard/templates/"));
    let id = ui
        .path()
        .await
        .trim_start_matches("/dashboard/templates/")
        .to_string();
    let before: Value = app
        .get(&format!("/v1/templates/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    let lines = before["fields"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["type"] == "lines")
        .expect("a lines field");
    let rows = ui
        .find(&format!("textarea[name='f{lines}.rows']"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(rows.contains("first_line"), "{rows}");
    ui.shot_at("imported-lines", &format!("[data-index='{lines}']"))
        .await;
    ui.fill("#priority", "3").await;
    ui.submit("#save").await;
    let after: Value = app
        .get(&format!("/v1/templates/{id}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["priority"], 3, "saved");
    assert_eq!(
        after["fields"], before["fields"],
        "lines kept through the editor"
    );
}
