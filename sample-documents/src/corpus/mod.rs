//! The accuracy corpus: documents in six real-world layouts nobody tuned the
//! reader for (a till receipt, a serif invoice, a purchase order, a
//! decimal-comma utility bill, a multi-page bank statement, a delivery note),
//! each with its template and the values a person reads off the page.
//!
//! Every sample is deterministic for its layout and index, so a run can be
//! repeated; scans are made from the text PDF by rendering it and passing the
//! image through [`crate::scan`] with the sample's [`ScanStyle`].

mod bills;
mod layouts;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::pdf::{pdf_pages_sized, Font, Mark, PageSpec, Rgb, BLACK};
use crate::scan::{ScanFormat, ScanStyle};

/// A layout: its name, and the template (`fields` and `options`) that reads it.
pub struct Layout {
    pub name: &'static str,
    pub template: Value,
    make: fn(&mut StdRng) -> Drawn,
}

/// One document of a layout: its pages and what a person reads off them.
pub struct Sample {
    pub layout: &'static str,
    pub index: usize,
    pub width: f32,
    pub height: f32,
    pub pages: Vec<Vec<Mark>>,
    /// Field name → the value the template must yield.
    pub truth: Map<String, Value>,
}

/// What a layout function draws.
struct Drawn {
    width: f32,
    height: f32,
    pages: Vec<Vec<Mark>>,
    truth: Map<String, Value>,
}

impl Sample {
    /// The document as a PDF with a text layer.
    pub fn pdf(&self) -> Vec<u8> {
        let specs: Vec<PageSpec> = self.pages.iter().cloned().map(PageSpec::Marks).collect();
        pdf_pages_sized(&specs, self.width, self.height)
    }

    /// How this sample is scanned: 150 to 300 DPI, up to 1° askew, blur,
    /// noise, 10 to 60 dust specks, paper tone and JPEG quality 55 to 75, in one of the
    /// formats that can hold its pages.
    pub fn scan_style(&self) -> (ScanFormat, ScanStyle) {
        let seed = seed(self.layout, self.index) ^ 0x5ca9;
        let mut rng = StdRng::seed_from_u64(seed);
        let formats: Vec<ScanFormat> = ScanFormat::ALL
            .into_iter()
            .filter(|f| f.holds_pages(self.pages.len()))
            .collect();
        let format = formats[self.index % formats.len()];
        let style = ScanStyle {
            dpi: [150, 200, 240, 300][rng.gen_range(0..4)],
            tilt: rng.gen_range(-1.0f32..=1.0),
            blur: rng.gen_bool(0.5),
            noise: rng.gen_range(3.0f32..10.0),
            dust: rng.gen_range(10..60),
            paper: rng.gen_range(226..=250),
            quality: rng.gen_range(55..=75),
            seed,
        };
        (format, style)
    }
}

fn seed(layout: &str, index: usize) -> u64 {
    layout.bytes().fold(index as u64 * 7919 + 17, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    })
}

/// The six layouts.
pub fn layouts() -> Vec<Layout> {
    layouts::all()
}

/// Keywords (regexes) that set each layout apart, for `"template_id": "auto"`.
pub fn keywords(layout: &str) -> &'static [&'static str] {
    match layout {
        "receipt" => &["THANK YOU FOR SHOPPING"],
        "serif_invoice" => &["(?i)invoice no", "Bill to"],
        "purchase_order" => &["PURCHASE ORDER"],
        "utility_bill" => &["Electricity bill"],
        "statement" => &["Statement of account"],
        "delivery_note" => &["DELIVERY NOTE"],
        _ => &[],
    }
}

/// Document `index` of `layout`.
pub fn sample(layout: &Layout, index: usize) -> Sample {
    let mut rng = StdRng::seed_from_u64(seed(layout.name, index));
    let drawn = (layout.make)(&mut rng);
    Sample {
        layout: layout.name,
        index,
        width: drawn.width,
        height: drawn.height,
        pages: drawn.pages,
        truth: drawn.truth,
    }
}

/// Marks on one page, written the way a layout reads: a pen with a font.
struct Sheet {
    marks: Vec<Mark>,
    font: Font,
    size: f32,
    color: Rgb,
}

impl Sheet {
    fn new(font: Font, size: f32) -> Self {
        Self {
            marks: Vec::new(),
            font,
            size,
            color: BLACK,
        }
    }

    fn pen(&mut self, font: Font, size: f32) -> &mut Self {
        self.font = font;
        self.size = size;
        self
    }

    fn ink(&mut self, color: Rgb) -> &mut Self {
        self.color = color;
        self
    }

    /// Text starting at `x`.
    fn at(&mut self, x: f32, y: f32, s: &str) -> &mut Self {
        self.marks.push(Mark::Text {
            x,
            y,
            size: self.size,
            font: self.font,
            color: self.color,
            text: s.to_string(),
        });
        self
    }

    /// Text ending at `right`.
    fn right(&mut self, right: f32, y: f32, s: &str) -> &mut Self {
        let x = right - self.font.width(self.size, s);
        self.at(x, y, s)
    }

    /// Text centred on `centre`.
    fn centre(&mut self, centre: f32, y: f32, s: &str) -> &mut Self {
        let x = centre - self.font.width(self.size, s) / 2.0;
        self.at(x, y, s)
    }

    fn fill(&mut self, x: f32, y: f32, width: f32, height: f32, color: Rgb) -> &mut Self {
        self.marks.push(Mark::Rect {
            x,
            y,
            width,
            height,
            fill: Some(color),
            stroke: None,
        });
        self
    }

    fn frame(&mut self, x: f32, y: f32, width: f32, height: f32) -> &mut Self {
        self.marks.push(Mark::Rect {
            x,
            y,
            width,
            height,
            fill: None,
            stroke: Some(BLACK),
        });
        self
    }

    fn done(&mut self) -> Vec<Mark> {
        std::mem::take(&mut self.marks)
    }
}

/// An amount in cents as printed: `1,234.56`, or `1.234,56` with a decimal comma.
fn money(cents: i64, decimal_comma: bool) -> String {
    let (group, point) = if decimal_comma {
        ('.', ',')
    } else {
        (',', '.')
    };
    let units = (cents.abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{grouped}{point}{:02}", cents.abs() % 100)
}

/// The JSON number a template reads for an amount in cents.
fn amount(cents: i64) -> Value {
    Value::from(cents as f64 / 100.0)
}

/// A date in 2025 or 2026 as (year, month, day).
fn date(rng: &mut StdRng) -> (i32, u32, u32) {
    (
        rng.gen_range(2025..=2026),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28),
    )
}

fn iso((y, m, d): (i32, u32, u32)) -> Value {
    Value::from(format!("{y:04}-{m:02}-{d:02}"))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_in_both_conventions() {
        assert_eq!(money(123_456, false), "1,234.56");
        assert_eq!(money(123_456, true), "1.234,56");
        assert_eq!(money(-1_250, false), "-12.50");
        assert_eq!(money(100_000_000, false), "1,000,000.00");
    }

    #[test]
    fn every_layout_has_truth_for_every_field() {
        for layout in layouts() {
            let fields = layout.template["fields"].as_array().unwrap();
            for i in 0..3 {
                let s = sample(&layout, i);
                for f in fields {
                    let name = f["name"].as_str().unwrap();
                    assert!(s.truth.contains_key(name), "{} {name}", layout.name);
                }
                assert_eq!(s.truth.len(), fields.len(), "{}", layout.name);
                assert!(s.pdf().starts_with(b"%PDF"));
            }
        }
        assert!(layouts().len() >= 6);
    }
}
