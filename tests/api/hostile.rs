//! What an account holder with a valid key can send to hurt the service: huge
//! bodies, huge pages, page floods, zip tricks, headers, internal addresses,
//! wrong-typed members. Each is refused or contained with a clear error, and
//! the service goes on working.

use std::time::Duration;

use image::GrayImage;
use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, spawn_with, Receiver, TestApp};
use docpush_samples::{self as samples, invoice_template_fields, Invoice, PageSpec};

async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn template_id(app: &TestApp) -> String {
    let t = app.create_template(invoice_template_fields(), None).await;
    t["id"].as_str().unwrap().to_string()
}

/// Submits a normal invoice and waits for its success: the workers still work.
async fn assert_working(app: &TestApp, template: &str) {
    app.assert_serving().await;
    let job = app
        .submit_ok(template, &Invoice::numbered(3).pdf(), "after.pdf")
        .await;
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");
}

#[tokio::test]
async fn json_bodies_over_the_limit_are_refused_before_they_are_read_whole() {
    let app = spawn_app().await;
    let t = template_id(&app).await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let cases = [
        (
            "POST",
            "/v1/templates".to_string(),
            json!({"name": padding, "fields": []}),
        ),
        (
            "PUT",
            format!("/v1/templates/{t}"),
            json!({"name": padding}),
        ),
        ("POST", "/v1/job-results".into(), json!({"job_id": padding})),
        ("POST", "/job-results".into(), json!({"job_id": padding})),
        (
            "POST",
            "/v1/destinations".into(),
            json!({"type": "webhook", "config": {"url": padding}}),
        ),
        (
            "POST",
            "/v1/destinations/test".into(),
            json!({"type": "webhook", "config": {"url": padding}}),
        ),
        (
            "PATCH",
            format!("/v1/jobs/{t}/files/{t}/result"),
            json!({"result": {"x": padding}}),
        ),
    ];
    for (method, path, body) in cases {
        let req = app
            .http
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .header("x-auth", &app.key)
            .json(&body);
        let (status, err) = error_of(req.send().await.unwrap()).await;
        assert_eq!(status, 413, "{method} {path}: {err}");
        assert_eq!(err["error"], "payload_too_large", "{method} {path}");
        assert!(
            err["message"].as_str().unwrap().contains("1048576 bytes"),
            "{err}"
        );
    }
    // A body without a length (chunked) is cut off as it streams past the limit.
    assert_eq!(
        chunked_post(&app, "/v1/templates", 64, 64 * 1024).await,
        413
    );
    assert_working(&app, &t).await;
}

/// Sends `chunks` chunks of `size` spaces as a chunked POST and returns the status.
async fn chunked_post(app: &TestApp, path: &str, chunks: usize, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nx-auth: {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        app.key
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
    for _ in 0..chunks {
        // The server may answer and close before the client is done sending.
        if conn.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 12];
    conn.read_exact(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
}

#[tokio::test]
async fn a_page_of_absurd_size_fails_its_file_and_the_pdf_reader_goes_on() {
    let app = spawn_app().await;
    let t = template_id(&app).await;
    // pdfium may fall back to a default page size for some of these; either way
    // each document ends with an answer and the next one is read.
    for side in [1e30_f32, 3.4e38, 0.0, -500.0] {
        let job = app
            .submit_ok(&t, &huge_image_page(side), "absurd.pdf")
            .await;
        let status = app.wait_finished(&job).await;
        if status["status"] == "FAILED" {
            let error = status["files"][0]["error"].as_str().unwrap().to_string();
            assert!(error.starts_with("page 1 "), "{side}: {error}");
        }
    }
    assert_working(&app, &t).await;
}

#[tokio::test]
async fn upload_members_besides_the_document_are_held_to_a_small_limit() {
    let app = spawn_app().await;
    let t = template_id(&app).await;
    // 2 MB of static values: well within the upload limit, over the 1 MiB for the rest.
    let wide: Vec<u8> = vec![0; 1_000_000];
    let body = json!({
        "template_id": t,
        "actual_image": crate::helpers::b64(&Invoice::numbered(1).pdf()),
        "static_values": {"a": wide},
    });
    let (status, err) = error_of(app.post_json("/process-job", &app.key, &body).await).await;
    assert_eq!(status, 413, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("static_values is over the limit"),
        "{err}"
    );
    assert_working(&app, &t).await;
}

/// A one-page PDF whose page is `side`×`side` points and holds only a tiny image.
fn huge_image_page(side: f32) -> Vec<u8> {
    let img = GrayImage::from_pixel(8, 8, image::Luma([255]));
    let page = PageSpec::Jpeg {
        data: samples::jpeg(&img, 90),
        width: 8,
        height: 8,
    };
    samples::pdf_pages_sized(&[page], side, side)
}

#[tokio::test]
async fn a_scanned_page_too_large_to_render_fails_its_file_with_the_limit_named() {
    let app = spawn_app().await;
    let t = template_id(&app).await;
    let pdf = huge_image_page(10_000.0);
    assert!(pdf.len() < 2000, "a tiny file: {} bytes", pdf.len());
    let job = app.submit_ok(&t, &pdf, "poster.pdf").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    let error = status["files"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("page 1 is 10000×10000 pt") && error.contains("DOCPUSH_MAX_IMAGE_PIXELS"),
        "{error}"
    );
    assert_working(&app, &t).await;
}

#[tokio::test]
async fn a_large_scanned_page_within_the_limits_is_read() {
    let app = spawn_app().await;
    let t = app
        .create_template(
            json!([{"name": "n", "type": "string", "regex": "(\\d+)"}]),
            None,
        )
        .await;
    // 2000 pt square: at 150 DPI it would be 17 Mpx, over what OCR reads, so it is rendered at 144.
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &huge_image_page(2000.0),
            "big.pdf",
        )
        .await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS", "{status}");
    assert_eq!(status["files"][0]["pages"], 1);
}

#[tokio::test]
async fn tiff_pages_are_checked_before_decoding_and_counted_against_the_page_limit() {
    let app = spawn_with(|s| {
        s.limits.max_image_pixels = 1_000_000;
        s.limits.max_pages = 3;
    })
    .await;
    let t = template_id(&app).await;
    let small = GrayImage::from_pixel(100, 100, image::Luma([255]));
    let big = GrayImage::from_pixel(1100, 1000, image::Luma([255]));

    let oversized = samples::tiff(&[small.clone(), small.clone(), big]);
    let job = app.submit_ok(&t, &oversized, "scan.tiff").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    let error = status["files"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("page 3 of the image is 1100×1000")
            && error.contains("over the limit of 1000000"),
        "{error}"
    );

    let long = samples::tiff(&vec![small; 4]);
    let job = app.submit_ok(&t, &long, "long.tiff").await;
    let status = app.wait_finished(&job).await;
    let error = status["files"][0]["error"].as_str().unwrap();
    assert!(error.contains("more pages than the limit of 3"), "{error}");
    assert_working(&app, &t).await;
}

#[tokio::test]
async fn zip_entries_sharing_a_name_are_listed_as_skipped() {
    let app = spawn_app().await;
    let t = template_id(&app).await;
    let (first, last) = (Invoice::numbered(1).pdf(), Invoice::numbered(2).pdf());
    let archive = samples::zip_with_one_name("inv.pdf", &[&first, &last]);
    let job = app.submit_ok(&t, &archive, "dupes.zip").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS");
    assert_eq!(status["files"].as_array().unwrap().len(), 1);
    let skipped = status["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{status}");
    assert_eq!(skipped[0]["file_name"], "inv.pdf");
    assert!(skipped[0]["reason"].as_str().unwrap().contains("same name"));
    let results: Value = app.results(&job, "json").await.json().await.unwrap();
    assert_eq!(
        results["results"][0]["result"]["invoice_number"],
        Invoice::numbered(2).number
    );
}

#[tokio::test]
async fn an_inflating_zip_is_unpacked_and_an_entry_over_the_document_limit_is_skipped_unread() {
    let app = spawn_with(|s| {
        s.limits.max_upload_bytes = 4 * 1024 * 1024;
        s.limits.zip_max_total_bytes = 64 * 1024 * 1024;
        // Zeros compress about 1000:1; this test is about sizes, not ratios.
        s.limits.zip_max_ratio = 5000;
    })
    .await;
    let t = template_id(&app).await;
    // Three 3 MiB "PNGs" of zeros, one over the document limit, and a good invoice.
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.resize(3 * 1024 * 1024, 0);
    let mut too_big = b"\x89PNG\r\n\x1a\n".to_vec();
    too_big.resize(5 * 1024 * 1024, 0);
    let invoice = Invoice::numbered(4).pdf();
    let archive = samples::zip(&[
        ("a.png", &fake),
        ("b.png", &fake),
        ("huge.png", &too_big),
        ("c.png", &fake),
        ("ok.pdf", &invoice),
    ]);
    assert!(archive.len() < 200 * 1024, "{} bytes", archive.len());
    let job = app.submit_ok(&t, &archive, "bomb.zip").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS", "{status}");
    let files = status["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    assert_eq!(files[3]["status"], "PROCESS IMAGE SUCCESS");
    for f in &files[..3] {
        assert_eq!(f["status"], "PROCESS IMAGE FAILED", "{f}");
    }
    assert_eq!(status["skipped"][0]["file_name"], "huge.png");
    assert!(status["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("larger than the document limit"));
}

#[tokio::test]
async fn custom_headers_are_capped_and_hop_by_hop_names_refused() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let hook = |headers: Value| {
        json!({"name": "h", "fields": invoice_template_fields(),
               "webhook": {"url": receiver.url, "headers": headers}})
    };
    let many: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("X-H{i}"), json!("v"))).collect();
    let cases = [
        (json!(many), "21 headers, more than the limit of 20"),
        (json!({"X-Big": "v".repeat(4097)}), "longer than 4096 bytes"),
        (json!({"X".repeat(129): "v"}), "longer than 128 bytes"),
        (
            json!({"Connection": "close"}),
            "Connection is a hop-by-hop header",
        ),
        (
            json!({"Expect": "100-continue"}),
            "Expect is a hop-by-hop header",
        ),
        (json!({"Transfer-Encoding": "chunked"}), "hop-by-hop"),
        (json!({"webhook-id": "x"}), "set by docpush"),
    ];
    for (headers, want) in cases {
        let (status, err) = error_of(
            app.post_json("/v1/templates", &app.key, &hook(headers))
                .await,
        )
        .await;
        assert_eq!(status, 422, "{want}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(want),
            "{want}: {err}"
        );
    }
    // Destinations take the same rules.
    let (status, err) = error_of(
        app.post_json(
            "/v1/destinations",
            &app.key,
            &json!({"type": "webhook", "config": {"url": receiver.url, "headers": {"Keep-Alive": "5"}}, "events": ["*"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{err}");
    // An 8 MB value is over the body limit before any rule runs.
    let (status, _) = error_of(
        app.post_json(
            "/v1/templates",
            &app.key,
            &hook(json!({"X-Big": "v".repeat(8 << 20)})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 413);
    app.assert_serving().await;
}

/// One address in each special-purpose range, and the kind the refusal names.
const SPECIAL_ADDRESSES: &[(&str, &str)] = &[
    ("0.1.2.3", "unspecified"),
    ("10.1.2.3", "private"),
    ("100.64.1.2", "shared"),
    ("127.0.0.2", "loopback"),
    ("169.254.169.254", "metadata"),
    ("169.254.10.1", "link-local"),
    ("172.16.5.4", "private"),
    ("192.0.0.9", "IETF protocol assignment"),
    ("192.0.2.10", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.1", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("[::]", "unspecified"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("[::127.0.0.1]", "loopback"),
    ("[::8.8.8.8]", "IPv4-compatible"),
    ("[64:ff9b::10.0.0.1]", "private"),
    ("[64:ff9b:1::1]", "local NAT64"),
    ("[100::1]", "discard-only"),
    ("[2001::7f00:1]", "Teredo"),
    ("[2001:2::1]", "benchmarking"),
    ("[2001:10::1]", "IETF protocol assignment"),
    ("[2001:db8::1]", "documentation"),
    ("[2002:7f00:1::1]", "6to4"),
    ("[3fff::1]", "documentation"),
    ("[5f00::1]", "segment routing"),
    ("[fc00::1]", "private"),
    ("[fd00:ec2::254]", "private"),
    ("[fe80::1]", "link-local"),
    ("[fec0::1]", "site-local"),
    ("[ff02::1]", "multicast"),
    ("[4000::1]", "reserved"),
];

#[tokio::test]
async fn every_special_purpose_range_is_refused_for_webhooks_and_destinations() {
    let app = spawn_with(|s| s.delivery.allowed_networks.clear()).await;
    for (host, kind) in SPECIAL_ADDRESSES {
        let url = format!("http://{host}:8080/hook");
        let body =
            json!({"name": "t", "fields": invoice_template_fields(), "webhook": {"url": url}});
        let (status, err) = error_of(app.post_json("/v1/templates", &app.key, &body).await).await;
        assert_eq!(status, 422, "{host}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(&format!("({kind}")), "{host}: {message}");
        let (status, err) = error_of(
            app.post_json(
                "/v1/destinations",
                &app.key,
                &json!({"type": "webhook", "config": {"url": url}, "events": ["*"]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 422, "{host}: {err}");
    }
    // Public addresses pass the guard (nothing is contacted when saving).
    for public in ["http://93.184.216.34/h", "http://[2606:4700::1111]/h"] {
        let body =
            json!({"name": "t", "fields": invoice_template_fields(), "webhook": {"url": public}});
        let resp = app.post_json("/v1/templates", &app.key, &body).await;
        assert_eq!(resp.status().as_u16(), 201, "{public}");
    }
    app.assert_serving().await;
}

#[tokio::test]
async fn an_ip_literal_webhook_is_refused_at_delivery_once_its_network_is_no_longer_allowed() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let t = app
        .create_template(invoice_template_fields(), Some(&receiver.url))
        .await;
    let dest = app
        .webhook_destination(&receiver.url, &["extraction.processed"])
        .await;
    // The operator removes the allowance for loopback and restarts.
    let app = app.restart(|s| s.delivery.allowed_networks.clear()).await;
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &Invoice::numbered(5).pdf(),
            "a.pdf",
        )
        .await;
    app.wait_finished(&job).await;
    eventually("both deliveries to be refused", || async {
        let pending = app.deliveries(&format!("job_id={job}")).await;
        pending.len() == 2
            && pending.iter().all(|d| {
                d["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("loopback"))
            })
    })
    .await;
    let deliveries = app.deliveries(&format!("job_id={job}")).await;
    assert!(deliveries.iter().any(|d| d["destination_id"] == dest["id"]));
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
    let attempts: Vec<Value> = app
        .get(
            &format!(
                "/v1/deliveries/{}/attempts",
                deliveries[0]["id"].as_str().unwrap()
            ),
            &app.key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(attempts[0]["error"]
        .as_str()
        .unwrap()
        .contains("DOCPUSH_ALLOWED_NETWORKS"));
    // Refused deliveries hold up nothing else.
    assert_working(&app, t["id"].as_str().unwrap()).await;
}

#[tokio::test]
async fn wrong_typed_template_members_are_422_naming_the_member() {
    let app = spawn_app().await;
    let fields = invoice_template_fields();
    let cases = [
        (
            json!({"name": "t", "fields": fields, "options": []}),
            "options: invalid type: sequence, expected an object",
        ),
        (
            json!({"name": "t", "fields": fields, "options": "eng"}),
            "options: invalid type: string \"eng\", expected an object",
        ),
        (
            json!({"name": "t", "fields": fields, "options": {"language": 5}}),
            "options.language:",
        ),
        (
            json!({"name": "t", "fields": fields, "webhook": {"url": "https://93.184.216.34/h", "secret": 5}}),
            "webhook.secret",
        ),
        (
            json!({"name": "t", "fields": fields, "webhook": {"url": "https://93.184.216.34/h", "secret": "hunter2"}}),
            "webhook.secret",
        ),
        (
            json!({"name": "t", "fields": fields, "webhook": "https://93.184.216.34/h"}),
            "webhook: invalid type: string \"https://93.184.216.34/h\", expected an object",
        ),
        (
            json!({"name": "t", "fields": fields, "webhook": {"url": 5}}),
            "webhook.url",
        ),
        (
            json!({"name": "t", "fields": fields, "webhook": {"url": "https://93.184.216.34/h", "events": "all"}}),
            "webhook.events",
        ),
        (json!({"name": 5, "fields": fields}), "name:"),
        (
            json!({"name": "t", "fields": {"a": 1}}),
            "fields: invalid type: map, expected a list of objects",
        ),
        (
            json!({"name": "t", "fields": [["a", "string", "x"]]}),
            "fields[0]: invalid type: sequence, expected an object",
        ),
        (
            json!({"name": "t", "fields": [{"name": "z", "type": "string", "zone": [1, 0, 0, 1, 1]}]}),
            "fields[0].zone: invalid type: sequence, expected an object",
        ),
        (
            json!({"name": "t", "fields": [{"name": "r", "type": "string", "regex": "x", "required": "yes"}]}),
            "fields[0].required: invalid type: string",
        ),
        (
            json!({"name": "t", "fields": [{"name": "a", "type": "string", "anchor": "x".repeat(201)}]}),
            "more than the limit of 200",
        ),
        (
            json!({"name": "t", "fields": (0..101).map(|i| json!({"name": format!("f{i}"), "type": "string", "regex": "x"})).collect::<Vec<_>>()}),
            "101 fields, more than the limit of 100",
        ),
    ];
    for (body, want) in cases {
        let (status, err) = error_of(app.post_json("/v1/templates", &app.key, &body).await).await;
        assert_eq!(status, 422, "{want}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(want),
            "{want}: {err}"
        );
    }
    // A secret of the right form is taken, and a long anchor within the limit works.
    let chosen = format!("whsec_{}", samples_b64(&[7u8; 32]));
    let body = json!({"name": "t", "fields": [{"name": "a", "type": "string", "anchor": "x".repeat(200)}],
                      "webhook": {"url": "https://93.184.216.34/h", "secret": chosen}});
    let resp = app.post_json("/v1/templates", &app.key, &body).await;
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["webhook"]["secret"], chosen);
}

fn samples_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn csv_cells_that_would_run_as_formulas_are_prefixed() {
    let app = spawn_app().await;
    let t = template_id(&app).await;
    let resp = app
        .post_json(
            "/process-job",
            &app.key,
            &json!({
                "template_id": t,
                "actual_image": crate::helpers::b64(&Invoice::numbered(6).pdf()),
                "file_name": "@evil.pdf",
                "static_values": {"note": "=HYPERLINK(\"http://x\",\"y\")", "plus": "+1+1", "amount": "-12.50"},
            }),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 202);
    let job = resp.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.wait_finished(&job).await["status"], "SUCCESS");
    let csv = app.results(&job, "csv").await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(cell("file_name"), "'@evil.pdf");
    assert_eq!(cell("note"), "'=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(cell("plus"), "'+1+1");
    assert_eq!(cell("amount"), "-12.50", "a plain number stays a number");
    assert_working(&app, &t).await;
}

#[tokio::test]
async fn wrong_keys_from_one_address_are_throttled_and_valid_keys_never_are() {
    let app = spawn_with(|s| {
        s.sign_in.max_failures = 3;
        s.sign_in.window = Duration::from_secs(60);
    })
    .await;
    // No key at all guesses nothing: a plain 401, however often.
    for _ in 0..10 {
        let resp = app
            .http
            .get(format!("{}/v1/templates", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    for wrong in ["dp_nope", "", "dp_still_wrong", "dp_third"] {
        assert_eq!(app.get("/v1/templates", wrong).await.status().as_u16(), 401);
    }
    let resp = app.get("/v1/templates", "dp_fourth_guess").await;
    assert_eq!(resp.status().as_u16(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 60, "{wait}");
    let (_, err) = error_of(resp).await;
    assert_eq!(err["error"], "too_many_requests");
    // From the same address, a valid key is served, and a missing one is still a 401.
    assert_eq!(
        app.get("/v1/templates", &app.key).await.status().as_u16(),
        200
    );
    let other = app.other_account(10).await;
    assert_eq!(
        app.get("/v1/templates", &other).await.status().as_u16(),
        200
    );
    let bare = app
        .http
        .get(format!("{}/v1/templates", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    assert_eq!(
        app.get("/v1/templates", "dp_fifth_guess")
            .await
            .status()
            .as_u16(),
        429
    );
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

/// PostgreSQL cannot hold U+0000 in text: ids and names carrying one must be
/// answered like any unknown id or bad name, never as a server error.
#[tokio::test]
async fn nul_characters_in_ids_and_names_are_refused_not_server_errors() {
    let app = spawn_app().await;
    let template = template_id(&app).await;
    for path in [
        "/v1/job-status?job_id=a%00b".to_string(),
        "/v1/templates/a%00b".to_string(),
        "/v1/destinations/a%00b".to_string(),
        "/v1/deliveries/a%00b/attempts".to_string(),
    ] {
        let (status, err) = error_of(app.get(&path, &app.key).await).await;
        assert_eq!(status, 404, "{path}: {err}");
    }
    let (status, _) = error_of(
        app.post_json("/v1/job-results", &app.key, &json!({"job_id": "a\u{0}b"}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let resp = app
        .post_json(
            "/process-job",
            &app.key,
            &json!({"template_id": "a\u{0}b", "actual_image": "JVBERi0="}),
        )
        .await;
    assert_eq!(error_of(resp).await.0, 404);
    let (status, err) = error_of(
        app.post_json(
            "/v1/templates",
            &app.key,
            &json!({"name": "a\u{0}b", "fields": invoice_template_fields()}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        err["message"].as_str().unwrap().starts_with("name:"),
        "{err}"
    );
    assert_working(&app, &template).await;
}
