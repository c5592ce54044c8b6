//! `docpush extract` and `docpush doctor`: the pipeline on a local file, and
//! a check of the engines, for template authors and operators.

use std::path::Path;

use anyhow::Context;
use serde_json::{json, Value};

use docpush::config::Settings;
use docpush::extraction::{no_progress, ocr, pdf, DocKind, Reader};
use docpush::jobs::unzip;
use docpush::spec;

/// Extracts the template's fields from a file (every root document of a ZIP).
pub async fn extract_file(
    settings: &Settings,
    file: &Path,
    template: &Path,
) -> anyhow::Result<Value> {
    let raw: Value = serde_json::from_slice(
        &std::fs::read(template).with_context(|| format!("reading {}", template.display()))?,
    )
    .with_context(|| format!("{} is not JSON", template.display()))?;
    let (options, compiled) =
        spec::parse_template(&raw).map_err(|e| anyhow::anyhow!("{}: {e}", template.display()))?;
    let compiled = std::sync::Arc::new(compiled);
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let kind = DocKind::detect(&bytes).context("not a PDF, PNG, JPEG, TIFF, WebP or ZIP")?;
    let reader = Reader::start(
        settings.limits.max_pages,
        settings.limits.max_image_pixels,
        settings.ocr_threads,
    );
    let name = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let docs = if kind == DocKind::Zip {
        // A local file: its entries may all be held at once.
        let mut entries = Vec::new();
        unzip::unzip(&bytes, &settings.limits, |_, e| {
            entries.push((e.name, e.kind, e.bytes));
            Ok::<_, std::convert::Infallible>(())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        entries
    } else {
        vec![(name, kind, bytes)]
    };
    let mut results = Vec::new();
    for (name, kind, bytes) in docs {
        let started = std::time::Instant::now();
        let entry = match reader
            .extract(kind, bytes, compiled.clone(), &options, no_progress())
            .await
        {
            Ok((doc, ex)) => {
                json!({
                    "file_name": name,
                    "pages": doc.pages.len(),
                    "result_status": ex.result_status(),
                    "result": ex.values,
                    "confidences": ex.confidences,
                    "warnings": ex.warnings,
                    // What the template's regex fields search: layout spacing and text options applied.
                    "text": regex_text(&doc, &compiled),
                    "seconds": started.elapsed().as_secs_f64(),
                })
            }
            Err(e) => json!({"file_name": name, "error": e.to_string()}),
        };
        results.push(entry);
    }
    Ok(if results.len() == 1 {
        results.remove(0)
    } else {
        Value::Array(results)
    })
}

/// Prints what the engines can do here.
pub async fn doctor(settings: &Settings) {
    let reader = Reader::start(
        settings.limits.max_pages,
        settings.limits.max_image_pixels,
        1,
    );
    let probe = probe_pdf("docpush doctor");
    match reader.read(DocKind::Pdf, probe, "eng", no_progress()).await {
        Ok(doc) if doc.text().contains("doctor") => println!("pdfium: ok"),
        Ok(_) => println!("pdfium: loaded, but the probe text was not read"),
        Err(e) => println!(
            "pdfium: NOT AVAILABLE: {e} (searched {:?})",
            pdf::library_dirs()
        ),
    }
    let langs = ocr::installed_languages();
    if langs.is_empty() {
        println!("tesseract: NOT AVAILABLE (install tesseract-ocr and tesseract-ocr-eng)");
    } else {
        println!("tesseract languages: {}", langs.join(", "));
    }
    println!(
        "OMP_THREAD_LIMIT={} ocr_threads={}",
        std::env::var("OMP_THREAD_LIMIT").unwrap_or_else(|_| "unset".into()),
        settings.ocr_threads
    );
}

/// A one-page PDF with one line of Helvetica: what the doctor asks pdfium to read.
fn probe_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 40 750 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).into_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for o in offsets {
        pdf.extend(format!("{o:010} 00000 n \n").into_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    pdf
}

fn regex_text(doc: &docpush::extraction::Document, compiled: &spec::Compiled) -> String {
    docpush::extraction::text::Text::read(doc.pages.iter(), compiled.text.layout, |_, _| true)
        .prepared(&compiled.text)
        .text
}
