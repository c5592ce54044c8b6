//! Sample documents for docpush: a minimal PDF writer, scans made from
//! rendered pages, TIFFs and ZIPs, the invoice used by the quickstart, the
//! benchmarks and the tests, and the accuracy corpus of real-world layouts.

use std::io::Write as _;

pub mod corpus;
mod pdf;
mod scan;

pub use pdf::{
    pdf, pdf_pages, pdf_pages_sized, text, Font, Mark, PageSpec, Rgb, Text, BLACK, PAGE_HEIGHT,
    PAGE_WIDTH, WHITE,
};
pub use scan::{degrade, jpeg, png, scan, scanned_pdf, tiff, webp, ScanFormat, ScanStyle};

/// The values written into a sample invoice.
#[derive(Clone, Debug)]
pub struct Invoice {
    pub vendor: String,
    pub number: String,
    /// Written as dd/mm/yyyy.
    pub date: (u32, u32, i32),
    pub total: String,
    pub reference: String,
}

impl Invoice {
    pub fn numbered(i: usize) -> Self {
        Self {
            vendor: "ACME Supplies Ltd".into(),
            number: format!("INV-{:04}", 1000 + i),
            date: (1 + (i % 28) as u32, 1 + (i % 12) as u32, 2026),
            total: format!("{},{:03}.{:02}", 1 + i % 9, (i * 37) % 1000, i % 100),
            reference: format!("REF-{}", 70 + i),
        }
    }

    /// A two-page invoice: header and totals on page 1, a reference on page 2.
    pub fn pdf(&self) -> Vec<u8> {
        pdf(&self.pages())
    }

    /// The invoice's pages as text runs.
    pub fn pages(&self) -> Vec<Vec<Text>> {
        let (d, m, y) = self.date;
        vec![
            vec![
                text(40.0, 40.0, 16.0, &self.vendor),
                text(40.0, 62.0, 10.0, "12 Harbour Road, Leeds"),
                text(360.0, 40.0, 12.0, format!("Invoice No: {}", self.number)),
                text(360.0, 60.0, 11.0, format!("Date: {d:02}/{m:02}/{y}")),
                text(40.0, 200.0, 11.0, "Description"),
                text(400.0, 200.0, 11.0, "Amount"),
                text(40.0, 220.0, 11.0, "Consulting services"),
                text(400.0, 220.0, 11.0, &self.total),
                text(400.0, 300.0, 11.0, "Total due"),
                text(400.0, 316.0, 11.0, format!("$ {}", self.total)),
                text(40.0, 360.0, 10.0, "Paid: no"),
            ],
            vec![
                text(40.0, 40.0, 12.0, "Terms and notes"),
                text(40.0, 700.0, 10.0, format!("Reference: {}", self.reference)),
            ],
        ]
    }

    /// The total as the template's `number` type reads it.
    pub fn total_value(&self) -> f64 {
        self.total
            .replace(',', "")
            .parse()
            .expect("sample totals are numbers")
    }

    pub fn iso_date(&self) -> String {
        let (d, m, y) = self.date;
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// The template that reads [`Invoice`], using all three locator kinds.
pub fn invoice_template_fields() -> serde_json::Value {
    serde_json::json!([
        {"name": "invoice_number", "type": "string", "regex": "Invoice\\s*(?:No|#)\\.?:?\\s*([A-Z0-9-]+)"},
        {"name": "invoice_date", "type": "date", "anchor": "Date", "direction": "right", "date_formats": ["%d/%m/%Y"]},
        {"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true},
        {"name": "vendor", "type": "string", "zone": {"page": 1, "x": 0.0, "y": 0.03, "width": 0.5, "height": 0.05}},
        {"name": "reference", "type": "string", "regex": "Reference:\\s*(\\S+)", "page": 2},
        {"name": "paid", "type": "boolean", "anchor": "Paid", "direction": "right"}
    ])
}

/// A ZIP of named entries (a name ending in `/` is a folder).
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, SimpleFileOptions::default())
                .expect("zip folder");
        } else {
            w.start_file(*name, SimpleFileOptions::default())
                .expect("zip entry");
            w.write_all(data).expect("zip write");
        }
    }
    w.finish().expect("zip finish").into_inner()
}

/// A ZIP whose entries all carry `name`, with `contents` in order (zip
/// writers refuse to make one, so the entries are written under placeholder
/// names of the same length, which are then overwritten).
pub fn zip_with_one_name(name: &str, contents: &[&[u8]]) -> Vec<u8> {
    let placeholders: Vec<String> = (0..contents.len())
        .map(|i| format!("{i:0>width$}", width = name.len()))
        .collect();
    let entries: Vec<(&str, &[u8])> = placeholders
        .iter()
        .map(String::as_str)
        .zip(contents.iter().copied())
        .collect();
    let mut z = zip(&entries);
    for p in &placeholders {
        let mut at = 0;
        while let Some(i) = z[at..].windows(p.len()).position(|w| w == p.as_bytes()) {
            z[at + i..at + i + p.len()].copy_from_slice(name.as_bytes());
            at += i + p.len();
        }
    }
    z
}

/// Writes the quickstart's files into `dir`: a two-page invoice and a batch ZIP
/// of three invoices, one document in a folder and one text file.
pub fn write_quickstart(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let invoice = dir.join("invoice.pdf");
    std::fs::write(&invoice, Invoice::numbered(1).pdf())?;
    let (a, b, c, d) = (
        Invoice::numbered(2).pdf(),
        Invoice::numbered(3).pdf(),
        Invoice::numbered(4).pdf(),
        Invoice::numbered(5).pdf(),
    );
    let batch = dir.join("batch.zip");
    std::fs::write(
        &batch,
        zip(&[
            ("invoice-2.pdf", &a),
            ("invoice-3.pdf", &b),
            ("invoice-4.pdf", &c),
            ("archive/", b""),
            ("archive/invoice-5.pdf", &d),
            ("readme.txt", b"not a document"),
        ]),
    )?;
    let template = dir.join("template.json");
    std::fs::write(
        &template,
        serde_json::to_string_pretty(&serde_json::json!({
            "name": "Sample invoices",
            "fields": invoice_template_fields(),
        }))?,
    )?;
    Ok(vec![invoice, batch, template])
}

#[cfg(test)]
mod quickstart_files {
    /// `docpush samples` writes the files kept in `quickstart/`; they must be
    /// what [`super::write_quickstart`] makes now. `DOCPUSH_REGENERATE=1`
    /// writes them there instead of comparing.
    #[test]
    fn the_kept_quickstart_files_are_what_the_generator_makes() {
        let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("quickstart");
        let fresh = std::env::temp_dir().join(format!("docpush-quickstart-{}", std::process::id()));
        let made = super::write_quickstart(&fresh).unwrap();
        let regenerate = std::env::var_os("DOCPUSH_REGENERATE").is_some();
        for path in made {
            let name = path.file_name().unwrap();
            let now = std::fs::read(&path).unwrap();
            if regenerate {
                std::fs::create_dir_all(&kept).unwrap();
                std::fs::write(kept.join(name), &now).unwrap();
            } else {
                let stored = std::fs::read(kept.join(name)).unwrap_or_default();
                assert!(
                    stored == now,
                    "sample-documents/quickstart/{} is out of date: run DOCPUSH_REGENERATE=1 cargo test -p docpush-samples",
                    name.to_string_lossy()
                );
            }
        }
        std::fs::remove_dir_all(&fresh).ok();
    }
}
