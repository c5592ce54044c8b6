//! The corpus's layouts with the templates that read them; the receipt, the
//! serif invoice, the purchase order and the delivery note are drawn here,
//! the bills in [`super::bills`]. Each is drawn from random values.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::{amount, bills, date, iso, money, pick, Drawn, Layout, Sheet, MONTHS};
use crate::pdf::Font;

pub(super) fn all() -> Vec<Layout> {
    vec![
        Layout {
            name: "receipt",
            template: json!({"fields": [
                {"name": "shop", "type": "string", "zone": {"page": 1, "x": 0.0, "y": 0.0, "width": 1.0, "height": RECEIPT_HEAD}},
                {"name": "receipt_no", "type": "string", "regex": "Receipt\\s+(\\d{4}-\\d{2})"},
                {"name": "date", "type": "date", "regex": "(\\d{2}\\.\\d{2}\\.\\d{4})", "date_formats": ["%d.%m.%Y"]},
                {"name": "total", "type": "number", "anchor": "TOTAL", "direction": "right", "required": true}
            ]}),
            make: receipt,
        },
        Layout {
            name: "serif_invoice",
            template: json!({"fields": [
                {"name": "vendor", "type": "string", "zone": {"page": 1, "x": 0.05, "y": 0.055, "width": 0.5, "height": 0.04}},
                {"name": "invoice_number", "type": "string", "regex": "Invoice No\\.:\\s*([A-Z]{2}-\\d{5})"},
                {"name": "invoice_date", "type": "date", "anchor": "Date", "direction": "right", "date_formats": ["%B %d, %Y"]},
                {"name": "discount", "type": "number", "regex": "Discount[^\\n]*?(\\([0-9.,]+\\))"},
                {"name": "amount_due", "type": "number", "anchor": "Amount due", "direction": "below", "required": true},
                {"name": "items", "type": "lines", "table": {
                    "columns": {"description": "Description", "qty": "Qty", "unit_price": "Unit price", "amount": "Amount"},
                    "end": "^Subtotal\\b",
                    "types": {"qty": "integer", "unit_price": "number", "amount": "number"}}}
            ]}),
            make: serif_invoice,
        },
        Layout {
            name: "purchase_order",
            template: json!({"fields": [
                {"name": "po_number", "type": "string", "anchor": "PO Number", "direction": "right"},
                {"name": "order_date", "type": "date", "anchor": "Order date", "direction": "right"},
                {"name": "total_quantity", "type": "integer", "regex": "Total quantity\\s+([\\d,]+)"},
                {"name": "order_total", "type": "number", "anchor": "Order total", "direction": "right", "required": true},
                {"name": "items", "type": "lines", "table": {
                    "columns": {"item": "Item", "description": "Description", "qty": "Qty", "unit_price": "Unit price", "line_total": "Line total"},
                    "end": "^Total quantity",
                    "types": {"qty": "integer", "unit_price": "number", "line_total": "number"}}}
            ]}),
            make: purchase_order,
        },
        Layout {
            name: "utility_bill",
            template: json!({"fields": [
                {"name": "account_number", "type": "string", "regex": "Account number\\s+([\\d-]+)"},
                {"name": "bill_date", "type": "date", "anchor": "Bill date", "direction": "right", "date_formats": ["%d %b %Y"]},
                {"name": "consumption", "type": "number", "regex": "Consumption\\s+([\\d.,]+)\\s*kWh"},
                {"name": "amount", "type": "number", "anchor": "Amount to pay", "direction": "right", "required": true}
            ], "options": {"decimal_separator": ","}}),
            make: bills::utility_bill,
        },
        Layout {
            name: "statement",
            template: json!({"fields": [
                {"name": "account", "type": "string", "regex": "Account\\s+(\\d{2}-\\d{4}-\\d{7})"},
                {"name": "statement_date", "type": "date", "anchor": "Statement date", "direction": "right", "date_formats": ["%m/%d/%Y"]},
                {"name": "opening_balance", "type": "number", "anchor": "Opening balance", "direction": "right"},
                {"name": "closing_balance", "type": "number", "regex": "Closing balance\\s+(-?[\\d,]+\\.\\d{2})", "required": true},
                {"name": "transactions", "type": "lines", "table": {
                    "columns": {"date": "Date", "description": "Description", "amount": "Amount", "balance": "Balance"},
                    "end": "^(Closing balance|Page \\d+ of)",
                    "types": {"amount": "number", "balance": "number"}}}
            ]}),
            make: bills::statement,
        },
        Layout {
            name: "delivery_note",
            template: json!({"fields": [
                {"name": "note_number", "type": "string", "regex": "Note No\\.:\\s*([A-Z]{2}-\\d{4})"},
                {"name": "delivery_date", "type": "date", "anchor": "Delivery date", "direction": "right", "date_formats": ["%d/%m/%Y"]},
                {"name": "reference", "type": "string", "anchor": "Your reference", "direction": "right"},
                {"name": "parcels", "type": "integer", "anchor": "Parcels", "direction": "right"},
                {"name": "weight", "type": "number", "regex": "Total weight\\s+([\\d.]+)\\s*kg"},
                {"name": "items", "type": "lines", "table": {
                    "columns": {"pos": "Pos", "article": "Article", "description": "Description", "qty": "Qty"},
                    "end": "^Parcels",
                    "types": {"pos": "integer", "qty": "integer"}}}
            ]}),
            make: delivery_note,
        },
    ]
}

pub(super) fn truth(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The receipt's head (the shop's name) as a fraction of its height.
const RECEIPT_HEAD: f64 = 0.06;

const ITEMS: [&str; 10] = [
    "MILK 2L",
    "BREAD WHOLEMEAL",
    "APPLES 1KG",
    "COFFEE BEANS",
    "OLIVE OIL",
    "EGGS 12",
    "TOMATOES",
    "CHEDDAR 400G",
    "ORANGE JUICE",
    "PASTA 500G",
];

/// An 80 mm till receipt: monospaced, prices right-aligned against the edge.
fn receipt(rng: &mut StdRng) -> Drawn {
    let shop = pick(
        rng,
        &[
            "CORNER MARKET",
            "FRESH FOODS",
            "CITY PHARMACY",
            "GREEN GROCER",
            "HILLTOP STORES",
        ],
    );
    let n = rng.gen_range(4..=8);
    let (width, height) = (227.0, 250.0 + 12.0 * n as f32);
    let right = width - 12.0;
    let mut s = Sheet::new(Font::Courier, 8.5);
    s.pen(Font::HelveticaBold, 12.0)
        .centre(width / 2.0, 4.0, shop);
    s.pen(Font::Courier, 8.0)
        .centre(width / 2.0, 24.0, "12 High Street, Leeds")
        .centre(width / 2.0, 34.0, "VAT No. GB 123 4567 89");
    let number = format!(
        "{:04}-{:02}",
        rng.gen_range(1000..9999),
        rng.gen_range(1..99)
    );
    let (y, m, d) = date(rng);
    s.pen(Font::Courier, 9.0)
        .at(12.0, 54.0, &format!("Receipt {number}"))
        .right(right, 54.0, &format!("Till {}", rng.gen_range(1..9)))
        .at(
            12.0,
            66.0,
            &format!(
                "{d:02}.{m:02}.{y} {:02}:{:02}",
                rng.gen_range(7..22),
                rng.gen_range(0..60)
            ),
        )
        .at(12.0, 80.0, "--------------------------------");
    let mut subtotal = 0;
    let mut row = 94.0;
    for _ in 0..n {
        let cents = rng.gen_range(45..2500);
        subtotal += cents;
        s.at(12.0, row, pick(rng, &ITEMS))
            .right(right, row, &money(cents, false));
        row += 12.0;
    }
    let vat = subtotal / 6;
    s.at(12.0, row, "--------------------------------")
        .at(12.0, row + 14.0, "SUBTOTAL")
        .right(right, row + 14.0, &money(subtotal, false))
        .at(12.0, row + 26.0, "VAT 20% incl.")
        .right(right, row + 26.0, &money(vat, false));
    s.pen(Font::Courier, 11.0)
        .at(12.0, row + 42.0, "TOTAL")
        .right(right, row + 42.0, &money(subtotal, false));
    s.pen(Font::Courier, 9.0)
        .at(12.0, row + 58.0, "CARD")
        .right(right, row + 58.0, &money(subtotal, false))
        .centre(width / 2.0, row + 84.0, "THANK YOU FOR SHOPPING");
    Drawn {
        width,
        height,
        pages: vec![s.done()],
        truth: truth(vec![
            ("shop", json!(shop)),
            ("receipt_no", json!(number)),
            ("date", iso((y, m, d))),
            ("total", amount(subtotal)),
        ]),
    }
}

/// A classic invoice in Times: header in two columns, a banded table, a
/// discount in parentheses across the page from its label, the amount due in a box.
fn serif_invoice(rng: &mut StdRng) -> Drawn {
    let vendor = pick(
        rng,
        &[
            "Hartley & Sons Ltd",
            "Whitmore Bros. Ltd",
            "Ashford Paper Co.",
            "Kingsley Tools Ltd",
        ],
    );
    let number = format!(
        "{}-{:05}",
        pick(rng, &["HS", "WB", "AP", "KT"]),
        rng.gen_range(10000..99999)
    );
    let (y, m, d) = date(rng);
    let mut s = Sheet::new(Font::Times, 11.0);
    s.pen(Font::TimesBold, 18.0).at(50.0, 44.0, vendor);
    s.pen(Font::Times, 10.0)
        .at(50.0, 70.0, "14 Mill Lane, Sheffield S1 2HE")
        .at(50.0, 83.0, "VAT Reg. GB 987 6543 21");
    s.pen(Font::TimesBold, 22.0).at(380.0, 44.0, "INVOICE");
    s.pen(Font::Times, 11.0)
        .at(380.0, 80.0, "Invoice No.:")
        .at(480.0, 80.0, &number)
        .at(380.0, 96.0, "Date:")
        .at(480.0, 96.0, &format!("{} {d}, {y}", MONTHS[m as usize - 1]));
    s.pen(Font::TimesBold, 11.0).at(50.0, 130.0, "Bill to");
    s.pen(Font::Times, 11.0)
        .at(50.0, 146.0, "Riverside Joinery")
        .at(50.0, 160.0, "3 Canal Street, Manchester");
    s.fill(50.0, 200.0, 512.0, 18.0, [0.78, 0.78, 0.78]);
    s.pen(Font::TimesBold, 11.0)
        .at(56.0, 204.0, "Description")
        .right(360.0, 204.0, "Qty")
        .right(460.0, 204.0, "Unit price")
        .right(556.0, 204.0, "Amount");
    s.pen(Font::Times, 11.0);
    let mut subtotal = 0;
    let mut items = Vec::new();
    let rows = rng.gen_range(3..=7);
    for i in 0..rows {
        let top = 224.0 + 20.0 * i as f32;
        if i % 2 == 1 {
            s.fill(50.0, top - 3.0, 512.0, 18.0, [0.9, 0.9, 0.9]);
        }
        let (qty, unit) = (rng.gen_range(1..20), rng.gen_range(250..25000));
        subtotal += qty * unit;
        let description = pick(
            rng,
            &[
                "Oak boards",
                "Brass hinges",
                "Wood glue",
                "Sanding discs",
                "Dowels",
            ],
        );
        items.push(json!({
            "description": description,
            "qty": qty,
            "unit_price": amount(unit),
            "amount": amount(qty * unit),
        }));
        s.at(56.0, top, description)
            .right(360.0, top, &qty.to_string())
            .right(460.0, top, &money(unit, false))
            .right(556.0, top, &money(qty * unit, false));
    }
    let discount = subtotal / 20;
    let vat = (subtotal - discount) / 5;
    let due = subtotal - discount + vat;
    let y0 = 244.0 + 20.0 * rows as f32;
    s.at(380.0, y0, "Subtotal")
        .right(556.0, y0, &money(subtotal, false))
        .at(380.0, y0 + 18.0, "Discount (5%)")
        .right(556.0, y0 + 18.0, &format!("({})", money(discount, false)))
        .at(380.0, y0 + 36.0, "VAT (20%)")
        .right(556.0, y0 + 36.0, &money(vat, false));
    s.pen(Font::TimesBold, 12.0)
        .at(380.0, y0 + 62.0, "Amount due");
    s.frame(376.0, y0 + 80.0, 180.0, 28.0);
    s.pen(Font::TimesBold, 14.0)
        .at(388.0, y0 + 87.0, &money(due, false));
    s.pen(Font::Times, 10.0).at(
        50.0,
        740.0,
        "Payment terms: 30 days net. Thank you for your business.",
    );
    Drawn {
        width: 612.0,
        height: 792.0,
        pages: vec![s.done()],
        truth: truth(vec![
            ("vendor", json!(vendor)),
            ("invoice_number", json!(number)),
            ("invoice_date", iso((y, m, d))),
            ("discount", amount(-discount)),
            ("amount_due", amount(due)),
            ("items", Value::Array(items)),
        ]),
    }
}

/// A purchase order: labels with values in a second column, a table of lines.
fn purchase_order(rng: &mut StdRng) -> Drawn {
    let number = format!(
        "PO-{}-{:04}",
        rng.gen_range(2025..=2026),
        rng.gen_range(1..9999)
    );
    let (y, m, d) = date(rng);
    let mut s = Sheet::new(Font::Helvetica, 10.0);
    s.pen(Font::HelveticaBold, 20.0)
        .at(50.0, 44.0, "PURCHASE ORDER");
    s.pen(Font::HelveticaBold, 12.0)
        .at(380.0, 44.0, "Northwind Traders");
    s.pen(Font::Helvetica, 10.0)
        .at(380.0, 62.0, "400 Market Square")
        .at(380.0, 75.0, "Bristol BS1 5TR")
        .at(50.0, 110.0, "PO Number")
        .at(170.0, 110.0, &number)
        .at(50.0, 128.0, "Order date")
        .at(170.0, 128.0, &format!("{y:04}-{m:02}-{d:02}"));
    s.pen(Font::HelveticaBold, 10.0).at(50.0, 160.0, "Supplier");
    s.pen(Font::Helvetica, 10.0)
        .at(50.0, 175.0, "Bergmann Components GmbH");
    s.pen(Font::HelveticaBold, 10.0)
        .at(50.0, 230.0, "Item")
        .at(110.0, 230.0, "Description")
        .right(400.0, 230.0, "Qty")
        .right(480.0, 230.0, "Unit price")
        .right(562.0, 230.0, "Line total");
    s.fill(50.0, 244.0, 512.0, 0.8, [0.0, 0.0, 0.0]);
    s.pen(Font::Helvetica, 10.0);
    let (mut qty_total, mut total) = (0i64, 0i64);
    let mut items = Vec::new();
    let rows = rng.gen_range(3..=8);
    for i in 0..rows {
        let top = 252.0 + 18.0 * i as f32;
        let (qty, unit) = (rng.gen_range(1..400), rng.gen_range(20..9000));
        qty_total += qty;
        total += qty * unit;
        let code = format!("A-{}", rng.gen_range(1000..9999));
        let description = pick(
            rng,
            &[
                "Hex bolt M8",
                "Washer 8mm",
                "Bearing 608",
                "Cable tie",
                "Hinge 40mm",
            ],
        );
        items.push(json!({
            "item": code,
            "description": description,
            "qty": qty,
            "unit_price": amount(unit),
            "line_total": amount(qty * unit),
        }));
        s.at(50.0, top, &code)
            .at(110.0, top, description)
            .right(400.0, top, &qty.to_string())
            .right(480.0, top, &money(unit, false))
            .right(562.0, top, &money(qty * unit, false));
    }
    let y0 = 272.0 + 18.0 * rows as f32;
    let grouped = money(qty_total * 100, false);
    let qty_text = grouped.trim_end_matches(".00");
    s.at(300.0, y0, "Total quantity").right(400.0, y0, qty_text);
    s.pen(Font::HelveticaBold, 11.0)
        .at(300.0, y0 + 22.0, "Order total")
        .right(562.0, y0 + 22.0, &format!("USD {}", money(total, false)));
    s.pen(Font::Helvetica, 9.0).at(
        50.0,
        730.0,
        "Please quote the PO number on every invoice and delivery note.",
    );
    Drawn {
        width: 612.0,
        height: 792.0,
        pages: vec![s.done()],
        truth: truth(vec![
            ("po_number", json!(number)),
            ("order_date", iso((y, m, d))),
            ("total_quantity", json!(qty_total)),
            ("order_total", amount(total)),
            ("items", Value::Array(items)),
        ]),
    }
}

/// A delivery note: the note number set well apart from its label.
fn delivery_note(rng: &mut StdRng) -> Drawn {
    let letters = ["AB", "CD", "EF", "GH", "KL"];
    let number = format!("{}-{:04}", pick(rng, &letters), rng.gen_range(1000..9999));
    let reference = format!("PO-{}", rng.gen_range(10000..99999));
    let (y, m, d) = date(rng);
    let parcels = rng.gen_range(1..40);
    let grams = rng.gen_range(5..9000) * 100;
    let mut s = Sheet::new(Font::Helvetica, 10.0);
    s.pen(Font::HelveticaBold, 20.0)
        .at(40.0, 40.0, "DELIVERY NOTE");
    s.pen(Font::Helvetica, 10.0)
        .at(
            40.0,
            70.0,
            "Bergmann Logistics GmbH, Hafenstrasse 9, Bremen",
        )
        .at(330.0, 40.0, "Note No.:")
        .at(470.0, 40.0, &number)
        .at(330.0, 56.0, "Delivery date:")
        .at(470.0, 56.0, &format!("{d:02}/{m:02}/{y}"))
        .at(330.0, 72.0, "Your reference")
        .at(470.0, 72.0, &reference);
    s.pen(Font::HelveticaBold, 10.0)
        .at(40.0, 110.0, "Deliver to");
    s.pen(Font::Helvetica, 10.0)
        .at(40.0, 125.0, "Riverside Joinery, 3 Canal Street, Manchester");
    s.fill(40.0, 160.0, 515.0, 18.0, [0.8, 0.8, 0.8]);
    s.pen(Font::HelveticaBold, 10.0)
        .at(46.0, 164.0, "Pos")
        .at(90.0, 164.0, "Article")
        .at(180.0, 164.0, "Description")
        .right(550.0, 164.0, "Qty");
    s.pen(Font::Helvetica, 10.0);
    let rows = rng.gen_range(2..=7);
    let mut items = Vec::new();
    let mut row = 186.0;
    for i in 0..rows {
        let article = rng.gen_range(100_000..999_999).to_string();
        let description = pick(
            rng,
            &[
                "Pallet of boards",
                "Box of screws",
                "Roll of felt",
                "Crate of tiles",
            ],
        );
        let qty = rng.gen_range(1..50);
        s.at(46.0, row, &(i + 1).to_string())
            .at(90.0, row, &article)
            .at(180.0, row, description)
            .right(550.0, row, &qty.to_string());
        // Some descriptions run onto a second line, under the first.
        let more = match description {
            "Pallet of boards" => Some("planed oak, kiln dried"),
            "Crate of tiles" => Some("handle with care"),
            _ => None,
        };
        let mut text = description.to_string();
        if let Some(more) = more {
            row += 13.0;
            s.at(180.0, row, more);
            text = format!("{text} {more}");
        }
        items.push(json!({"pos": i + 1, "article": article, "description": text, "qty": qty}));
        row += 18.0;
    }
    let y0 = row + 20.0;
    s.at(40.0, y0, "Parcels")
        .at(150.0, y0, &parcels.to_string())
        .at(40.0, y0 + 18.0, "Total weight")
        .at(
            150.0,
            y0 + 18.0,
            &format!("{}.{} kg", grams / 1000, (grams % 1000) / 100),
        )
        .at(40.0, y0 + 70.0, "Received by: ____________________");
    Drawn {
        width: 595.0,
        height: 842.0,
        pages: vec![s.done()],
        truth: truth(vec![
            ("note_number", json!(number)),
            ("delivery_date", iso((y, m, d))),
            ("reference", json!(reference)),
            ("parcels", json!(parcels)),
            ("weight", Value::from(f64::from(grams) / 1000.0)),
            ("items", Value::Array(items)),
        ]),
    }
}
