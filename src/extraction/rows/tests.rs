use serde_json::json;

use crate::extraction::document::Document;
use crate::extraction::rules::tests::page;
use crate::extraction::rules::{extract, Extracted};
use crate::spec::{parse_fields, Compiled, Options};

/// Two pages of one table whose header repeats: a wrapped description, a
/// subtotal under the rows, a footer.
fn statement() -> Document {
    let header = |y| {
        [
            ("Description", 40.0, y),
            ("Qty", 300.0, y),
            ("Amount", 420.0, y),
        ]
    };
    let mut p1 = vec![("Invoice 7", 40.0, 20.0)];
    p1.extend(header(100.0));
    p1.extend([
        ("Blue widget", 40.0, 120.0),
        ("2", 306.0, 120.0),
        ("10.00", 420.0, 120.0),
        ("Red gadget, large", 40.0, 135.0),
        ("1", 306.0, 135.0),
        ("1,250.50", 420.0, 135.0),
        ("with spare parts", 40.0, 150.0),
        ("Subtotal", 300.0, 180.0),
        ("1,260.50", 420.0, 180.0),
        ("Page 1", 40.0, 760.0),
    ]);
    let mut p2 = header(60.0).to_vec();
    p2.extend([
        ("Green thing", 40.0, 80.0),
        ("3", 306.0, 80.0),
        ("4.50", 420.0, 80.0),
        ("Total", 300.0, 120.0),
        ("1,265.00", 420.0, 120.0),
    ]);
    Document {
        pages: vec![page(1, &p1), page(2, &p2)],
    }
}

fn run(doc: &Document, fields: serde_json::Value) -> Extracted {
    let (_, fields) = parse_fields(&fields).unwrap();
    extract(doc, &Compiled::of_fields(fields), &Options::default())
}

fn rows() -> serde_json::Value {
    json!([
        {"description": "Blue widget", "qty": 2, "amount": 10.0},
        {"description": "Red gadget, large with spare parts", "qty": 1, "amount": 1250.5},
        {"description": "Green thing", "qty": 3, "amount": 4.5},
    ])
}

#[test]
fn a_table_is_cut_by_its_header_across_pages_with_wrapped_rows() {
    let got = run(
        &statement(),
        json!([{"name": "items", "type": "lines", "table": {
            "columns": {"description": "Description", "qty": "qty", "amount": "Amount"},
            "end": "^(Subtotal|Total)\\b",
            "types": {"qty": "integer", "amount": "number"}
        }}]),
    );
    assert_eq!(got.values["items"], rows());
    assert_eq!(got.confidences["items"], json!([1.0, 1.0, 1.0]));
    let boxes = got.boxes["items"].as_array().unwrap();
    assert_eq!(boxes.len(), 3);
    assert_eq!(boxes[1]["page"], 1);
    assert_eq!(boxes[2]["page"], 2);
    assert!(boxes[1]["height"].as_f64().unwrap() > 0.03, "{}", boxes[1]);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn the_lines_parser_reads_every_page_where_start_matches() {
    let line = r"^(?P<description>\S.*?)\s+(?P<qty>\d+)\s+(?P<amount>[\d,.]+)$";
    let got = run(
        &statement(),
        json!([{"name": "items", "type": "lines", "lines": {
            "start": "Description Qty Amount",
            "end": "Total",
            "first_line": line,
            "line": r"^(?P<description>[a-z].*)$",
            "skip_line": "^Subtotal",
            "types": {"qty": "integer", "amount": "number"}
        }}]),
    );
    assert_eq!(got.values["items"], rows());

    // Without first_line each matching line is a row, and a second rule set's
    // rows follow the first's.
    let got = run(
        &statement(),
        json!([{"name": "items", "type": "lines", "lines": [
            {"start": "Description Qty Amount", "end": "Subtotal|Total", "line": line},
            {"start": "with spare parts", "line": r"^(?P<description>Subtotal) (?P<amount>[\d,.]+)$"}
        ]}]),
    );
    let descriptions: Vec<&str> = got.values["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descriptions,
        [
            "Blue widget",
            "Red gadget, large",
            "Green thing",
            "Subtotal"
        ]
    );
    assert_eq!(got.values["items"][0]["qty"], "2");
    assert_eq!(got.values["items"][3]["qty"], json!(null));
}

#[test]
fn no_rows_is_an_empty_list_and_bad_cells_are_named() {
    let got = run(
        &statement(),
        json!([{"name": "items", "type": "lines", "required": true, "table": {
            "columns": {"a": "Nowhere", "b": "Amount"}
        }}]),
    );
    assert_eq!(got.values["items"], json!([]));
    assert!(got.needs_review);

    let got = run(
        &statement(),
        json!([{"name": "items", "type": "lines", "table": {
            "columns": {"description": "Description", "qty": "Qty", "amount": "Amount"},
            "end": "Subtotal|Total",
            "types": {"description": "number"}
        }}]),
    );
    assert_eq!(got.values["items"].as_array().unwrap().len(), 3);
    assert_eq!(got.values["items"][0]["description"], json!(null));
    assert!(
        got.warnings.contains(&"items[0].description".to_string()),
        "{:?}",
        got.warnings
    );
    assert!(!got.needs_review);
}

#[test]
fn lines_fields_are_checked_when_saved() {
    let err = |field: serde_json::Value| parse_fields(&json!([field])).unwrap_err().0;
    let cases = [
        (
            json!({"name": "i", "type": "lines"}),
            "needs one of lines or table",
        ),
        (
            json!({"name": "i", "type": "lines", "regex": "x", "lines": {"start": "a", "line": "(?P<b>x)"}}),
            "regex does not apply to type lines",
        ),
        (
            json!({"name": "i", "type": "lines", "lines": {"start": "a", "line": "x"}}),
            "needs columns",
        ),
        (
            json!({"name": "i", "type": "lines", "lines": {"start": "a", "line": "(?P<b>x)", "last_line": "y"}}),
            "needs first_line",
        ),
        (
            json!({"name": "i", "type": "lines", "lines": {"start": "a", "line": "(?P<b>x)", "types": {"c": "number"}}}),
            "lines.types.c: no column",
        ),
        (
            json!({"name": "i", "type": "lines", "table": {"columns": {"a": ""}}}),
            "table.columns.a",
        ),
        (
            json!({"name": "i", "type": "string", "table": {"columns": {"a": "A"}}}),
            "apply only to type lines",
        ),
    ];
    for (field, want) in cases {
        let got = err(field.clone());
        assert!(got.contains(want), "{field}: {got}");
    }
}

#[test]
fn a_block_without_its_end_goes_on_over_the_page() {
    // Page 2 neither repeats the header nor has the end until its last row.
    let doc = Document {
        pages: vec![
            page(
                1,
                &[
                    ("Pos Qty Description", 40.0, 100.0),
                    ("1 2 Hosting", 40.0, 120.0),
                    ("ACME Ltd, Bank 123", 40.0, 760.0),
                ],
            ),
            page(
                2,
                &[
                    ("Invoice 7, page 2", 40.0, 40.0),
                    ("2 1 Mail", 40.0, 120.0),
                    ("Total EUR 3", 40.0, 160.0),
                    ("3 9 Not a row", 40.0, 200.0),
                ],
            ),
        ],
    };
    let got = run(
        &doc,
        json!([{"name": "items", "type": "lines", "lines": {
            "start": "Pos Qty Description",
            "end": "Total EUR",
            "line": r"^(?P<pos>\d+) (?P<qty>\d+) (?P<description>.+)$",
            "types": {"pos": "integer", "qty": "integer"}
        }}]),
    );
    assert_eq!(
        got.values["items"],
        json!([
            {"pos": 1, "qty": 2, "description": "Hosting"},
            {"pos": 2, "qty": 1, "description": "Mail"},
        ])
    );
    // Without an end, a block stops at the end of its page.
    let got = run(
        &doc,
        json!([{"name": "items", "type": "lines", "lines": {
            "start": "Pos Qty Description",
            "line": r"^(?P<pos>\d+) (?P<qty>\d+) (?P<description>.+)$"
        }}]),
    );
    assert_eq!(
        got.values["items"],
        json!([{"pos": "1", "qty": "2", "description": "Hosting"}])
    );
}

#[test]
fn checks_compare_sums_and_expressions_and_name_what_failed() {
    let (options, compiled) = crate::spec::parse_template(&json!({
        "fields": [
            {"name": "items", "type": "lines", "table": {
                "columns": {"description": "Description", "qty": "Qty", "amount": "Amount"},
                "end": "^(Subtotal|Total)\\b", "types": {"qty": "integer", "amount": "number"}}},
            {"name": "subtotal", "type": "number", "regex": "Subtotal ([\\d,.]+)"},
            {"name": "total", "type": "number", "regex": "Total ([\\d,.]+)"}
        ],
        "checks": [
            {"name": "lines add up", "sum": "items.amount", "equals": "total"},
            {"sum": "items.amount", "equals": "subtotal", "tolerance": 0.01},
            {"field": "total", "equals": "subtotal + 2 * 2.25", "tolerance": 0.001}
        ]
    }))
    .unwrap();
    let got = extract(&statement(), &compiled, &options);
    assert_eq!(got.values["total"], json!(1265.0));
    assert_eq!(
        got.warnings,
        ["check \"items.amount = subtotal\" failed: 1265 against 1260.5"]
    );
    assert!(got.needs_review);
    // A cell that is null makes the sum null: the check fails.
    let mut values = got.values.clone();
    values["items"][0]["amount"] = json!(null);
    values["total"] = json!(1255.0);
    assert_eq!(
        compiled.checks[0].failure(&values).as_deref(),
        Some("check \"lines add up\" failed: null against 1255")
    );

    let err = |checks: serde_json::Value| {
        crate::spec::parse_template(&json!({
            "fields": [
                {"name": "items", "type": "lines", "table": {"columns": {"d": "D", "a": "A"}, "types": {"a": "number"}}},
                {"name": "total", "type": "number", "regex": "x"},
                {"name": "note", "type": "string", "regex": "x"},
                {"name": "listed", "type": "number", "regex": "x", "matches": "all"}
            ],
            "checks": checks
        }))
        .unwrap_err()
        .0
    };
    for (checks, want) in [
        (
            json!([{"sum": "items.d", "equals": "total"}]),
            "checks[0]: sum: column \"d\" is a string column",
        ),
        (
            json!([{"sum": "nothing.a", "equals": "total"}]),
            "no lines field \"nothing\"",
        ),
        (
            json!([{"field": "note", "equals": "total"}]),
            "field: \"note\" is a string field",
        ),
        (
            json!([{"field": "total", "equals": "total +"}]),
            "equals: the expression ends",
        ),
        (
            json!([{"field": "total", "equals": "total / 2"}]),
            "unexpected '/'",
        ),
        (json!([{"equals": "total"}]), "needs one of sum or field"),
        (
            json!([{"field": "listed", "equals": "total"}]),
            "may hold a list (matches all)",
        ),
    ] {
        let got = err(checks.clone());
        assert!(got.contains(want), "{checks}: {got}");
    }
}

/// A delivery note's table, its second row's quantity lost: on a text layer
/// the line continues the first row, as SPEC §2.2 says; on a scan it is a row
/// of its own whose empty cell a second look reads again.
#[test]
fn on_a_scan_a_line_missing_only_its_last_value_is_a_row() {
    let lines = [
        ("Pos", 40.0, 60.0),
        ("Article", 80.0, 60.0),
        ("Description", 180.0, 60.0),
        ("Qty", 400.0, 60.0),
        ("1", 40.0, 80.0),
        ("482913", 80.0, 80.0),
        ("Pallet of boards", 180.0, 80.0),
        ("12", 404.0, 80.0),
        ("planed oak", 180.0, 93.0),
        ("2", 40.0, 111.0),
        ("577120", 80.0, 111.0),
        ("Box of screws", 180.0, 111.0),
    ];
    let fields = json!([{"name": "items", "type": "lines", "table": {
        "columns": {"pos": "Pos", "article": "Article", "description": "Description", "qty": "Qty"},
        "types": {"pos": "integer", "qty": "integer"}}}]);
    let text = Document {
        pages: vec![page(1, &lines)],
    };
    let got = run(&text, fields.clone());
    assert_eq!(got.values["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        got.values["items"][0]["description"],
        "Pallet of boards planed oak Box of screws"
    );
    let scan = crate::extraction::document::Scan {
        source_dpi: 200,
        dpi: 200,
        turn: crate::extraction::document::Turn::None,
    };
    let scanned = Document {
        pages: vec![page(1, &lines).scanned(scan)],
    };
    let got = run(&scanned, fields);
    assert_eq!(
        got.values["items"],
        json!([
            {"pos": 1, "article": "482913", "description": "Pallet of boards planed oak", "qty": 12},
            {"pos": 2, "article": "577120", "description": "Box of screws", "qty": null},
        ])
    );
}
