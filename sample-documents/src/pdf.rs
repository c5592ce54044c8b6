//! A minimal PDF writer: text in the standard fonts at given positions, filled
//! and outlined rectangles, and pages that are one scanned JPEG.

use std::fmt::Write as _;
use std::io::Write as _;

/// One run of Helvetica text: position in points from the page's top-left, font size, text.
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

/// The standard fonts every PDF reader has, in the order of their resource names `/F1`…
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Helvetica,
    HelveticaBold,
    Times,
    TimesBold,
    Courier,
}

const FONTS: [(Font, &str); 5] = [
    (Font::Helvetica, "Helvetica"),
    (Font::HelveticaBold, "Helvetica-Bold"),
    (Font::Times, "Times-Roman"),
    (Font::TimesBold, "Times-Bold"),
    (Font::Courier, "Courier"),
];

/// Advance widths (1/1000 em) of ASCII 32..=126 in Helvetica and Times-Roman (their AFM files).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const TIMES: [u16; 95] = [
    250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278, 500, 500, 500,
    500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444, 921, 722, 667, 667, 722, 611,
    556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722,
    722, 611, 333, 278, 333, 469, 500, 333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500,
    278, 778, 500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
];

impl Font {
    fn resource(self) -> usize {
        FONTS.iter().position(|(f, _)| *f == self).unwrap_or(0) + 1
    }

    /// Width of `s` at `size` points. Bold faces are measured as their regular
    /// face: close enough to line up right-aligned figures.
    pub fn width(self, size: f32, s: &str) -> f32 {
        let table = match self {
            Font::Helvetica | Font::HelveticaBold => &HELVETICA,
            Font::Times | Font::TimesBold => &TIMES,
            Font::Courier => return 0.6 * size * s.chars().count() as f32,
        };
        let units: u32 = s
            .chars()
            .map(|c| match c as u32 {
                n @ 32..=126 => u32::from(table[(n - 32) as usize]),
                _ => 500,
            })
            .sum();
        units as f32 * size / 1000.0
    }
}

/// An RGB colour, each part 0 to 1.
pub type Rgb = [f32; 3];
pub const BLACK: Rgb = [0.0, 0.0, 0.0];
pub const WHITE: Rgb = [1.0, 1.0, 1.0];

/// Something drawn on a page; positions in points from the page's top-left.
#[derive(Clone, Debug)]
pub enum Mark {
    /// Text whose top is at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        font: Font,
        color: Rgb,
        text: String,
    },
    /// A rectangle, filled and/or outlined.
    Rect {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        fill: Option<Rgb>,
        stroke: Option<Rgb>,
    },
}

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

/// One page of a sample PDF: text with a real text layer, drawn marks, or a scanned image.
pub enum PageSpec {
    Text(Vec<Text>),
    Marks(Vec<Mark>),
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

fn draw(content: &mut String, mark: &Mark, page_height: f32) {
    match mark {
        Mark::Text {
            x,
            y,
            size,
            font,
            color: [r, g, b],
            text,
        } => {
            let _ = writeln!(
                content,
                "BT {r} {g} {b} rg /F{} {size} Tf {x} {} Td ({}) Tj ET",
                font.resource(),
                page_height - y - size,
                escape(text)
            );
        }
        Mark::Rect {
            x,
            y,
            width,
            height,
            fill,
            stroke,
        } => {
            let bottom = page_height - y - height;
            if let Some([r, g, b]) = fill {
                let _ = writeln!(
                    content,
                    "q {r} {g} {b} rg {x} {bottom} {width} {height} re f Q"
                );
            }
            if let Some([r, g, b]) = stroke {
                let _ = writeln!(
                    content,
                    "q {r} {g} {b} RG 0.8 w {x} {bottom} {width} {height} re S Q"
                );
            }
        }
    }
}

/// A PDF of text and scanned pages on pages of `width`×`height` points.
pub fn pdf_pages_sized(pages: &[PageSpec], page_width: f32, page_height: f32) -> Vec<u8> {
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, the fonts, then (page, contents, image) triples.
    let first_page = 3 + FONTS.len();
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n)
        .map(|i| format!("{} 0 R", first_page + 3 * i))
        .collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    let mut font_refs = String::new();
    for (i, (_, name)) in FONTS.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>"
            )
            .into_bytes(),
        );
        let _ = write!(font_refs, "/F{} {} 0 R ", i + 1, 3 + i);
    }
    for (i, page) in pages.iter().enumerate() {
        let (contents_id, image_id) = (first_page + 1 + 3 * i, first_page + 2 + 3 * i);
        let mut content = String::new();
        let image_obj: Vec<u8> = match page {
            PageSpec::Text(items) => {
                for t in items {
                    let mark = Mark::Text {
                        x: t.x,
                        y: t.y,
                        size: t.size,
                        font: Font::Helvetica,
                        color: BLACK,
                        text: t.text.clone(),
                    };
                    draw(&mut content, &mark, page_height);
                }
                b"<< >>".to_vec()
            }
            PageSpec::Marks(marks) => {
                for m in marks {
                    draw(&mut content, m, page_height);
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
                 /Resources << /Font << {font_refs}>> /XObject << /Im1 {image_id} 0 R >> >> /Contents {contents_id} 0 R >>"
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

    #[test]
    fn widths_come_from_the_font_metrics() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-3;
        assert!(close(Font::Helvetica.width(10.0, "12.50"), 25.02));
        assert!(close(Font::Courier.width(10.0, "12.50"), 30.0));
        assert!(close(Font::Times.width(10.0, "(1)"), 11.66));
    }
}
