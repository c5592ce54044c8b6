//! What the dashboard needs, as API: the job list, previews with value boxes,
//! page images, the ledger and API keys; and the template webhook taking every
//! webhook destination setting.

use serde_json::{json, Value};

use crate::destinations::MtlsReceiver;
use crate::helpers::{eventually, spawn_app, spawn_with, Receiver};
use docpush_samples::{invoice_template_fields, Invoice};

#[tokio::test]
async fn a_preview_gives_values_boxes_and_page_sizes_and_is_charged() {
    let app = spawn_app().await;
    let inv = Invoice::numbered(5);
    let body = json!({
        "template": {"fields": invoice_template_fields()},
        "actual_image": crate::helpers::b64(&inv.pdf()),
    });
    let resp = app
        .post_json("/v1/templates/preview", &app.key, &body)
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["result"]["invoice_number"], "INV-1005");
    assert_eq!(p["result_status"], "ok");
    assert_eq!(p["pages"].as_array().unwrap().len(), 2);
    assert_eq!(p["pages"][0]["width"], 612.0);
    // The vendor is printed 40 pt from the left and top of a 612×792 pt page.
    let vendor = &p["boxes"]["vendor"];
    assert_eq!(vendor["page"], 1);
    let x = vendor["x"].as_f64().unwrap();
    assert!((x - 40.0 / 612.0).abs() < 0.01, "{vendor}");
    assert_eq!(p["boxes"]["reference"]["page"], 2);
    assert_eq!(app.credits().await, 998, "two pages charged");
    let ledger: Value = app
        .get("/v1/account/ledger", &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["entries"][0]["reason"], "2 page(s) previewed");
    assert_eq!(ledger["entries"][0]["delta"], -2);

    let zip = docpush_samples::zip(&[("a.pdf", &inv.pdf())]);
    let mut bad = body.clone();
    bad["actual_image"] = json!(crate::helpers::b64(&zip));
    assert_eq!(
        app.post_json("/v1/templates/preview", &app.key, &bad)
            .await
            .status()
            .as_u16(),
        415
    );
    let mut invalid = body.clone();
    invalid["template"]["fields"][0]["regex"] = json!("([");
    let r = app
        .post_json("/v1/templates/preview", &app.key, &invalid)
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let msg = r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.starts_with("fields[0].regex"), "{msg}");

    let poor = app.other_account(0).await;
    let r = app.post_json("/v1/templates/preview", &poor, &body).await;
    assert_eq!(r.status().as_u16(), 409, "no credits, no preview");
}

#[tokio::test]
async fn jobs_are_listed_newest_first_with_filters_and_cursor_paging() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let job = app
            .submit_ok(tid, &Invoice::numbered(i).pdf(), &format!("{i}.pdf"))
            .await;
        app.wait_finished(&job).await;
        ids.push(job);
    }
    let first: Value = app
        .get("/v1/jobs?limit=2", &app.key)
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = first["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(first["jobs"][0]["files"], 1);
    assert_eq!(first["jobs"][0]["files_done"], 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(&format!("/v1/jobs?limit=2&cursor={cursor}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["jobs"][0]["job_id"], ids[0].as_str());
    assert!(second["next_cursor"].is_null());

    let failed: Value = app
        .get("/v1/jobs?status=FAILED", &app.key)
        .await
        .json()
        .await
        .unwrap();
    assert!(failed["jobs"].as_array().unwrap().is_empty());
    let by_template: Value = app
        .get(
            &format!("/v1/jobs?template_id={tid}&status=SUCCESS"),
            &app.key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_template["jobs"].as_array().unwrap().len(), 3);
    for bad in [
        "status=DONE",
        "limit=0",
        "cursor=nonsense",
        "template_id=x&cursor=nonsense",
    ] {
        assert_eq!(
            app.get(&format!("/v1/jobs?{bad}"), &app.key)
                .await
                .status()
                .as_u16(),
            400,
            "{bad}"
        );
    }
    let other = app.other_account(10).await;
    let theirs: Value = app.get("/v1/jobs", &other).await.json().await.unwrap();
    assert!(
        theirs["jobs"].as_array().unwrap().is_empty(),
        "jobs stay in their account"
    );
}

#[tokio::test]
async fn a_document_that_needs_review_keeps_its_pages_until_confirmed() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let mut pages = Invoice::numbered(6).pages();
    pages[0].retain(|x| !x.text.starts_with("Total due"));
    let review = app
        .submit_ok(tid, &docpush_samples::pdf(&pages), "r.pdf")
        .await;
    let ok = app
        .submit_ok(tid, &Invoice::numbered(7).pdf(), "ok.pdf")
        .await;
    for job in [&review, &ok] {
        app.wait_finished(job).await;
    }
    let file_of = |s: &Value| s["files"][0]["file_id"].as_str().unwrap().to_string();
    let review_file = file_of(&app.status(&review).await);
    let ok_file = file_of(&app.status(&ok).await);
    let results: Value = app.results(&review, "json").await.json().await.unwrap();
    assert_eq!(results["results"][0]["result_status"], "needs_review");
    assert!(
        results["results"][0]["boxes"]["invoice_number"]["width"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(results["results"][0]["boxes"]["total"].is_null());

    let png = app
        .get(
            &format!("/v1/jobs/{review}/files/{review_file}/pages/2"),
            &app.key,
        )
        .await;
    assert_eq!(png.status().as_u16(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.unwrap()[..4], b"\x89PNG");
    let missing = app
        .get(
            &format!("/v1/jobs/{review}/files/{review_file}/pages/3"),
            &app.key,
        )
        .await;
    assert_eq!(missing.status().as_u16(), 404);
    let other = app.other_account(10).await;
    let theirs = app
        .get(
            &format!("/v1/jobs/{review}/files/{review_file}/pages/1"),
            &other,
        )
        .await;
    assert_eq!(theirs.status().as_u16(), 404);
    // Nothing to deliver to and no review: the other document's upload is gone already.
    let gone = app
        .get(&format!("/v1/jobs/{ok}/files/{ok_file}/pages/1"), &app.key)
        .await;
    assert_eq!(gone.status().as_u16(), 410);

    let r = app
        .post_json(
            &format!("/v1/jobs/{review}/files/{review_file}/confirm"),
            &app.key,
            &json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    eventually("the confirmed document's upload to go", || async {
        app.get(
            &format!("/v1/jobs/{review}/files/{review_file}/pages/1"),
            &app.key,
        )
        .await
        .status()
        .as_u16()
            == 410
    })
    .await;
}

#[tokio::test]
async fn keys_are_created_shown_once_listed_and_revoked() {
    let app = spawn_app().await;
    let created = app.post_json("/v1/keys", &app.key, &json!({})).await;
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(app.get("/v1/account", &key).await.status().as_u16(), 200);
    let listed: Vec<Value> = app.get("/v1/keys", &key).await.json().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|k| k.get("key").is_none()),
        "keys are never shown again"
    );

    let id = created["id"].as_str().unwrap();
    let other = app.other_account(1).await;
    let r = app
        .http
        .delete(format!("{}/v1/keys/{id}", app.base))
        .header("x-auth", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "another account cannot revoke it");
    let r = app
        .http
        .delete(format!("{}/v1/keys/{id}", app.base))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(app.get("/v1/account", &key).await.status().as_u16(), 401);
    let only = app
        .get("/v1/keys", &app.key)
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap();
    let last = only[0]["id"].as_str().unwrap();
    let r = app
        .http
        .delete(format!("{}/v1/keys/{last}", app.base))
        .header("x-auth", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409, "the last key stays");
    assert_eq!(
        app.get("/v1/account", &app.key).await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn a_template_webhook_rotates_with_grace_and_speaks_mutual_tls() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let tid = t["id"].as_str().unwrap();
    let old = t["webhook"]["secret"].as_str().unwrap().to_string();
    let rotated: Value = app
        .post_json(
            &format!("/v1/templates/{tid}/webhook/rotate-secret"),
            &app.key,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["webhook"]["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
    // What a GET returns may be sent back as it is.
    let mut read: Value = app
        .get(&format!("/v1/templates/{tid}"), &app.key)
        .await
        .json()
        .await
        .unwrap();
    read["name"] = json!("renamed");
    assert_eq!(
        app.put_json(&format!("/v1/templates/{tid}"), &read)
            .await
            .status()
            .as_u16(),
        200
    );
    app.submit_ok(tid, &Invoice::numbered(8).pdf(), "w.pdf")
        .await;
    let got = receiver.wait_for(1).await.remove(0);
    let signatures = got.header("webhook-signature");
    assert_eq!(
        signatures.split(' ').count(),
        2,
        "both secrets sign during the grace period"
    );
    for secret in [&old, &new] {
        let wh = standardwebhooks::Webhook::new(secret).unwrap();
        wh.verify(&got.body, &got.headers)
            .expect("each secret verifies");
    }
    assert!(got.json()["job_id"].is_string(), "top-level members stay");

    let rx = MtlsReceiver::start();
    let webhook = json!({
        "url": rx.url,
        "ca_cert": rx.file("ca.pem"),
        "client_cert": rx.file("client.pem"),
        "client_key": rx.file("client.enc.key"),
        "client_key_password": "hunter2",
    });
    let test: Value = app
        .post_json(
            "/v1/templates/webhook/test",
            &app.key,
            &json!({"webhook": webhook, "fields": invoice_template_fields()}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(test["tls"], true);
    let body = json!({"name": "mtls", "fields": invoice_template_fields(), "webhook": webhook});
    let saved: Value = app
        .post_json("/v1/templates", &app.key, &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved["webhook"]["client_key"], "********");
    let mtid = saved["id"].as_str().unwrap();
    app.submit_ok(mtid, &Invoice::numbered(9).pdf(), "m.pdf")
        .await;
    eventually("a template webhook over mutual TLS", || async {
        rx.received().len() == 2
    })
    .await;
    assert!(rx.received().iter().all(|l| l.ends_with(" docpush-client")));

    let strict = spawn_with(|s| s.delivery.https_only = true).await;
    let r = strict
        .post_json(
            "/v1/templates",
            &strict.key,
            &json!({"name": "plain", "fields": invoice_template_fields(), "webhook": {"url": receiver.url}}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let msg = r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.starts_with("webhook.url") && msg.contains("https"),
        "{msg}"
    );
}
