//! Sample documents for docpush: a minimal PDF writer (Helvetica text at given
//! positions), scans made from rendered pages, TIFFs and ZIPs, and the invoice
//! used by the quickstart, the benchmarks and the tests.

use std::fmt::Write as _;
use std::io::Write as _;

use image::GrayImage;

/// One run of text: position in points from the page's top-left, font size, text.
#[derive(Clone, Debug)]
pub struct Text {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub text: String,
}

pub fn text(x: f32, y: f32, size: f32, s: impl Into<String>) -> Text {
    Text {
        x,
        y,
        size,
        text: s.into(),
    }
}

pub const PAGE_WIDTH: f32 = 612.0;
pub const PAGE_HEIGHT: f32 = 792.0;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// One page of a sample PDF: text with a real text layer, or a scanned image.
pub enum PageSpec {
    Text(Vec<Text>),
    /// A JPEG drawn over the whole page, as a scanner would produce.
    Jpeg {
        data: Vec<u8>,
        width: u32,
        height: u32,
    },
}

/// A PDF with one Letter-size page per item of `pages`, with a real text layer.
pub fn pdf(pages: &[Vec<Text>]) -> Vec<u8> {
    let specs: Vec<PageSpec> = pages.iter().map(|p| PageSpec::Text(p.clone())).collect();
    pdf_pages(&specs)
}

/// A PDF of text and scanned pages in any mix, on Letter-size pages.
pub fn pdf_pages(pages: &[PageSpec]) -> Vec<u8> {
    pdf_pages_sized(pages, PAGE_WIDTH, PAGE_HEIGHT)
}

/// A PDF of text and scanned pages on pages of `width`×`height` points.
pub fn pdf_pages_sized(pages: &[PageSpec], page_width: f32, page_height: f32) -> Vec<u8> {
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 3 font, then (page, contents, image) triples.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 3 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    for (i, page) in pages.iter().enumerate() {
        let (contents_id, image_id) = (5 + 3 * i, 6 + 3 * i);
        let mut content = String::new();
        let image_obj: Vec<u8> = match page {
            PageSpec::Text(items) => {
                for t in items {
                    let _ = writeln!(
                        content,
                        "BT /F1 {} Tf {} {} Td ({}) Tj ET",
                        t.size,
                        t.x,
                        page_height - t.y - t.size,
                        escape(&t.text)
                    );
                }
                b"<< >>".to_vec()
            }
            PageSpec::Jpeg {
                data,
                width,
                height,
            } => {
                let _ = writeln!(content, "q {page_width} 0 0 {page_height} 0 0 cm /Im1 Do Q");
                let mut obj = format!(
                    "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray \
                     /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
                    data.len()
                )
                .into_bytes();
                obj.extend_from_slice(data);
                obj.extend_from_slice(b"\nendstream");
                obj
            }
        };
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_width} {page_height}] \
                 /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 {image_id} 0 R >> >> /Contents {contents_id} 0 R >>"
            )
            .into_bytes(),
        );
        objects.push(
            format!(
                "<< /Length {} >>\nstream\n{content}endstream",
                content.len()
            )
            .into_bytes(),
        );
        objects.push(image_obj);
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = writeln!(out, "{} 0 obj", i + 1);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(out, "{off:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out
}

/// A scanner's imperfections: a small rotation and speckle noise (deterministic for a seed).
pub fn degrade(img: &GrayImage, degrees: f32, speckle: f64, seed: u64) -> GrayImage {
    use rand::{Rng, SeedableRng};
    let mut out = if degrees == 0.0 {
        img.clone()
    } else {
        tilt(img, degrees)
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for p in out.pixels_mut() {
        if rng.gen_bool(speckle) {
            p[0] = if p[0] > 128 {
                rng.gen_range(0..90)
            } else {
                rng.gen_range(170..=255)
            };
        }
    }
    out
}

/// A page fed in askew: for the small angles of a scanner, a rotation about the
/// centre is two shears (rows slide sideways, columns up or down) on white paper.
fn tilt(img: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let s = degrees.to_radians().sin();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let sx = x as f32 + (y as f32 - cy) * s;
        let sy = y as f32 - (x as f32 - cx) * s;
        if sx < 0.0 || sy < 0.0 || sx >= w as f32 || sy >= h as f32 {
            image::Luma([255])
        } else {
            *img.get_pixel(sx as u32, sy as u32)
        }
    })
}

fn encode(img: &GrayImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding an in-memory image");
    out.into_inner()
}

pub fn png(img: &GrayImage) -> Vec<u8> {
    encode(img, image::ImageFormat::Png)
}

pub fn webp(img: &GrayImage) -> Vec<u8> {
    encode(img, image::ImageFormat::WebP)
}

pub fn jpeg(img: &GrayImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encoding an in-memory JPEG");
    out
}

/// A multi-page grayscale TIFF.
pub fn tiff(pages: &[GrayImage]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out).expect("TIFF encoder");
    for p in pages {
        enc.write_image::<tiff::encoder::colortype::Gray8>(p.width(), p.height(), p.as_raw())
            .expect("encoding a TIFF page");
    }
    out.into_inner()
}

/// An image-only PDF: each image becomes a JPEG page.
pub fn scanned_pdf(pages: &[GrayImage]) -> Vec<u8> {
    let specs: Vec<PageSpec> = pages
        .iter()
        .map(|p| PageSpec::Jpeg {
            data: jpeg(p, 85),
            width: p.width(),
            height: p.height(),
        })
        .collect();
    pdf_pages(&specs)
}

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
mod tests {
    use super::*;

    #[test]
    fn pdf_has_a_valid_xref() {
        let bytes = pdf(&[vec![text(10.0, 10.0, 12.0, "Hi (there)")]]);
        let s = String::from_utf8_lossy(&bytes);
        let start: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(bytes[start..].starts_with(b"xref"));
        assert!(s.contains("(Hi \\(there\\)) Tj"));
    }
}
