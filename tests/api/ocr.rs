//! Scans read as well as text PDFs: every variant of one invoice, rendered by
//! pdfium and degraded like a scanner would, must give the text PDF's values.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_with};
use docpush::extraction::pdf::PdfEngine;
use docpush_samples::{self as samples, degrade, invoice_template_fields, Invoice, PageSpec};

/// Renders the invoice's pages as a scanner at `dpi` would.
async fn scans(inv: &Invoice, dpi: u32) -> Vec<image::GrayImage> {
    PdfEngine::global()
        .render(inv.pdf(), dpi, u64::MAX)
        .await
        .unwrap()
}

fn page_one_fields(result: &Value) -> Value {
    let mut r = result.clone();
    r.as_object_mut().unwrap().remove("reference");
    r
}

#[tokio::test]
async fn every_scanned_variant_reads_like_the_text_pdf() {
    let app = spawn_app().await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let inv = Invoice::numbered(12);
    let truth = app.extract_one(tid, &inv.pdf(), "text.pdf").await["result"].clone();
    assert!(
        truth.as_object().unwrap().values().all(|v| !v.is_null()),
        "{truth}"
    );

    let pages = scans(&inv, 200).await;
    let (p1, p2) = (&pages[0], &pages[1]);
    let single_page: Vec<(&str, Vec<u8>)> = vec![
        (
            "rotated-noisy.png",
            samples::png(&degrade(p1, 1.5, 0.002, 1)),
        ),
        (
            "tilted.jpg",
            samples::jpeg(&degrade(p1, -2.0, 0.001, 2), 70),
        ),
        ("scan.webp", samples::webp(&degrade(p1, 0.7, 0.001, 3))),
        (
            "sideways.png",
            samples::png(&image::imageops::rotate90(&degrade(p1, 0.0, 0.001, 4))),
        ),
    ];
    for (name, bytes) in single_page {
        let got = app.extract_one(tid, &bytes, name).await;
        assert_eq!(
            page_one_fields(&got["result"]),
            page_one_fields(&truth),
            "{name}"
        );
        assert_eq!(got["pages"], 1, "{name}");
    }

    let two_pages: Vec<(&str, Vec<u8>)> = vec![
        (
            "scan.tiff",
            samples::tiff(&[degrade(p1, 1.0, 0.001, 5), degrade(p2, -1.0, 0.001, 6)]),
        ),
        (
            "scanned.pdf",
            samples::scanned_pdf(&[degrade(p1, -1.2, 0.001, 7), degrade(p2, 0.5, 0.001, 8)]),
        ),
        (
            "mixed.pdf",
            samples::pdf_pages(&[
                PageSpec::Text(inv.pages()[0].clone()),
                PageSpec::Jpeg {
                    data: samples::jpeg(&degrade(p2, 1.0, 0.001, 9), 80),
                    width: p2.width(),
                    height: p2.height(),
                },
            ]),
        ),
    ];
    for (name, bytes) in two_pages {
        let got = app.extract_one(tid, &bytes, name).await;
        assert_eq!(got["result"], truth, "{name}");
        assert_eq!(got["pages"], 2, "{name}");
        assert_eq!(got["result_status"], "ok", "{name}");
    }
}

#[tokio::test]
async fn a_150_dpi_scan_reads_like_a_300_dpi_one_and_values_carry_confidences() {
    let app = spawn_app().await;
    let fields = json!([
        {"name": "invoice_number", "type": "string", "regex": "Invoice\\s*(?:No|#)\\.?:?\\s*([A-Z0-9-]+)"},
        {"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true},
        {"name": "vendor", "type": "string", "zone": {"page": 1, "x": 0.0, "y": 0.03, "width": 0.5, "height": 0.05}}
    ]);
    let t = app.create_template(fields.clone(), None).await;
    let inv = Invoice::numbered(4);
    let low = scans(&inv, 150).await;
    let high = scans(&inv, 300).await;
    let a = app
        .extract_one(t["id"].as_str().unwrap(), &samples::png(&low[0]), "150.png")
        .await;
    let b = app
        .extract_one(
            t["id"].as_str().unwrap(),
            &samples::png(&high[0]),
            "300.png",
        )
        .await;
    assert_eq!(a["result"], b["result"]);
    assert_eq!(a["result"]["invoice_number"], inv.number.as_str());
    assert_eq!(a["result"]["total"], json!(inv.total_value()));
    for name in ["invoice_number", "total", "vendor"] {
        let c = a["confidences"][name].as_f64().unwrap();
        assert!(c > 0.5 && c <= 1.0, "{name}: {c}");
    }

    // A threshold above what OCR achieved sends the required field to review.
    let strict = json!({"name": "strict", "fields": fields, "options": {"min_confidence": 0.999}});
    let resp = app.post_json("/v1/templates", &app.key, &strict).await;
    let strict: Value = resp.json().await.unwrap();
    let c = app
        .extract_one(
            strict["id"].as_str().unwrap(),
            &samples::png(&high[0]),
            "strict.png",
        )
        .await;
    assert_eq!(c["result"], b["result"], "values are kept");
    assert_eq!(c["result_status"], "needs_review");
    let text = app
        .extract_one(strict["id"].as_str().unwrap(), &inv.pdf(), "text.pdf")
        .await;
    assert_eq!(text["result_status"], "ok", "a text layer is certain");
    assert_eq!(text["confidences"]["total"], 1.0);
}

#[tokio::test]
async fn a_multi_page_scan_shows_page_progress_while_it_runs() {
    let app = spawn_with(|s| s.ocr_threads = 1).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let inv = Invoice::numbered(2);
    let pages = scans(&inv, 200).await;
    let many: Vec<image::GrayImage> = (0..5)
        .map(|i| {
            if i % 2 == 0 {
                pages[0].clone()
            } else {
                pages[1].clone()
            }
        })
        .collect();
    let job = app
        .submit_ok(
            t["id"].as_str().unwrap(),
            &samples::scanned_pdf(&many),
            "five.pdf",
        )
        .await;
    let mut seen_partial = false;
    let status = loop {
        let s = app.status(&job).await;
        let p = &s["progress"];
        let (done, total) = (
            p["pages_done"].as_i64().unwrap(),
            p["pages_total"].as_i64().unwrap(),
        );
        assert!(done <= total, "{s}");
        if total == 5 && done > 0 && done < 5 {
            seen_partial = true;
        }
        if s["status"] == "SUCCESS" || s["status"] == "FAILED" {
            break s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    };
    assert_eq!(status["status"], "SUCCESS");
    assert_eq!(status["progress"]["pages_total"], 5);
    assert_eq!(status["progress"]["pages_done"], 5);
    assert!(
        seen_partial,
        "progress was visible between the first and the last page"
    );
    assert_eq!(app.credits().await, 1000 - 5);
}

#[tokio::test]
async fn broken_and_oversized_images_fail_their_document_only() {
    let app = spawn_with(|s| s.limits.max_image_pixels = 2_000_000).await;
    let t = app.create_template(invoice_template_fields(), None).await;
    let tid = t["id"].as_str().unwrap();
    let page = &scans(&Invoice::numbered(1), 100).await[0];
    let good = samples::png(page);
    let mut truncated = samples::png(page);
    truncated.truncate(truncated.len() / 3);
    let huge = samples::png(&image::GrayImage::from_pixel(
        3000,
        3000,
        image::Luma([255]),
    ));
    let archive = samples::zip(&[
        ("good.png", &good),
        ("truncated.png", &truncated),
        ("huge.png", &huge),
    ]);
    let job = app.submit_ok(tid, &archive, "batch.zip").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "SUCCESS", "{status}");
    let files = status["files"].as_array().unwrap();
    assert_eq!(files[0]["status"], "PROCESS IMAGE SUCCESS");
    assert_eq!(files[1]["status"], "PROCESS IMAGE FAILED");
    assert!(
        files[1]["error"]
            .as_str()
            .unwrap()
            .contains("cannot be decoded"),
        "{status}"
    );
    assert_eq!(files[2]["status"], "PROCESS IMAGE FAILED");
    assert!(
        files[2]["error"]
            .as_str()
            .unwrap()
            .contains("over the limit"),
        "{status}"
    );

    let job = app.submit_ok(tid, &truncated, "alone.png").await;
    let status = app.wait_finished(&job).await;
    assert_eq!(status["status"], "FAILED");
    let history: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["NEW", "PROCESSING IMAGE", "PROCESS IMAGE FAILED", "FAILED"]
    );
}
