//! The accuracy corpus as files: every sample of every layout as a text PDF
//! and as a degraded scan, with its template and its true values.

use serde_json::{json, Map, Value};

use docpush_samples::corpus::{self, Layout};

/// One document of the corpus.
pub struct CorpusDoc {
    pub layout: &'static str,
    /// `text PDF`, or `scan <FORMAT>`.
    pub kind: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub truth: Map<String, Value>,
}

/// `per_layout` samples of each layout, each as a text PDF and as a scan.
pub async fn documents(per_layout: usize) -> anyhow::Result<(Vec<Layout>, Vec<CorpusDoc>)> {
    let layouts = corpus::layouts();
    let pdf = docpush::extraction::pdf::PdfEngine::global();
    let mut docs = Vec::new();
    for layout in &layouts {
        for index in 0..per_layout {
            let sample = corpus::sample(layout, index);
            let text = sample.pdf();
            let (format, style) = sample.scan_style();
            let pages = pdf.render(text.clone(), style.dpi, u64::MAX).await?;
            let scanned: Vec<image::GrayImage> = pages
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut style = style.clone();
                    style.seed += i as u64;
                    docpush_samples::scan(p, &style)
                })
                .collect();
            let stem = format!("{}-{index:02}", layout.name);
            docs.push(CorpusDoc {
                layout: layout.name,
                kind: "text PDF".into(),
                file_name: format!("{stem}.pdf"),
                bytes: text,
                truth: sample.truth.clone(),
            });
            docs.push(CorpusDoc {
                layout: layout.name,
                kind: format!("scan {}", format.extension().to_uppercase()),
                file_name: format!("{stem}-scan-{}dpi.{}", style.dpi, format.extension()),
                bytes: format.encode(&scanned, style.quality, style.dpi),
                truth: sample.truth,
            });
        }
    }
    Ok((layouts, docs))
}

/// Writes the corpus into `dir`: the documents, one template per layout
/// (`<layout>.template.json`) and `truth.json` (file name → values).
pub async fn write(dir: &std::path::Path, per_layout: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let (layouts, docs) = documents(per_layout).await?;
    for layout in &layouts {
        let mut template = layout.template.clone();
        template["name"] = json!(layout.name);
        std::fs::write(
            dir.join(format!("{}.template.json", layout.name)),
            serde_json::to_string_pretty(&template)?,
        )?;
    }
    let mut truth = Map::new();
    for d in &docs {
        std::fs::write(dir.join(&d.file_name), &d.bytes)?;
        truth.insert(
            d.file_name.clone(),
            json!({"layout": d.layout, "kind": d.kind, "values": d.truth}),
        );
    }
    std::fs::write(
        dir.join("truth.json"),
        serde_json::to_string_pretty(&truth)?,
    )?;
    println!(
        "{} documents of {} layouts in {}",
        docs.len(),
        layouts.len(),
        dir.display()
    );
    Ok(())
}
