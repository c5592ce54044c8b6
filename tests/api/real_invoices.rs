//! invoice2data's own test corpus of real invoices, read through its own
//! templates imported with `POST /v1/templates/import`: the score per
//! document is printed, and what was refused must be refused by name.

use serde_json::Value;

use crate::helpers::spawn_app;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invoice2data");

/// Each document of the corpus and the invoice2data template that reads it.
const DOCUMENTS: [(&str, &str); 11] = [
    ("AmazonWebServices.pdf", "com.amazon.aws.yml"),
    ("AzureInterior.pdf", "com.AzureInterior.yml"),
    ("FlipkartInvoice.pdf", "com.flipkart.WSRetail.json"),
    ("NetpresseInvoice.pdf", "fr.publicationannoncelegale.yml"),
    ("QualityHosting.pdf", "de.qualityhosting.yml"),
    ("SammyMaystoneLinesTest.pdf", "com.sammymaystone.yml"),
    ("coolblue1.pdf", "nl.be.coolblue.yml"),
    ("coolblue2.pdf", "nl.be.coolblue.yml"),
    ("free_fiber.pdf", "fr.free.adsl-fiber.yml"),
    ("oyo.pdf", "com.oyo.invoice.yml"),
    ("saeco.pdf", "nl.saeco.philips.eluscious.yml"),
];

/// Renderings that do not show one of their template's keywords (the
/// rendering of Flipkart's invoice leaves out the logo with its name): no
/// template can be chosen for them, and they are not scored.
const WITHOUT_KEYWORDS: [(&str, &str); 1] = [("FlipkartInvoice.png", "flipkart")];

/// Line items, scored cell by cell through the imported `lines` parsers.
const LINE_ITEMS: [&str; 3] = ["lines", "line_items", "sums"];

fn same(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => {
            (a.as_f64().unwrap_or(f64::NAN) - b.as_f64().unwrap_or(f64::NAN)).abs() < 0.005
        }
        (Value::String(a), Value::String(b)) => a.trim() == b.trim(),
        // YAML's 530848134 and a template's "530848134" are the same value to a reader.
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            a.to_string() == b.trim()
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        _ => want == got,
    }
}

/// Cells of expected rows matched by the rows read, row by row; a cell
/// invoice2data leaves empty is absent here.
fn cells(want: &Value, got: &Value) -> (usize, usize, Vec<String>) {
    let (want, got) = (want.as_array(), got.as_array());
    let (mut right, mut asked, mut wrong) = (0, 0, Vec::new());
    for (i, row) in want.into_iter().flatten().enumerate() {
        let other = got.and_then(|g| g.get(i));
        for (column, w) in row.as_object().into_iter().flatten() {
            let g = other.map_or(&Value::Null, |o| &o[column]);
            let empty = w.as_str() == Some("") && g.is_null();
            asked += 1;
            if empty
                || same(w, g)
                || same(
                    &Value::String(w.as_str().unwrap_or_default().replace('\n', " ")),
                    g,
                )
            {
                right += 1;
            } else {
                wrong.push(format!("[{i}].{column}: want {w}, got {g}"));
            }
        }
    }
    (right, asked, wrong)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{CORPUS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn invoice2data_corpus_through_its_imported_templates() {
    let app = spawn_app().await;
    let (mut right, mut asked) = (0, 0);
    let (mut cells_right, mut cells_asked) = (0, 0);
    // Every template first: each document then chooses its own by keywords.
    let mut imported: Vec<(&str, String)> = Vec::new();
    for (_, template) in DOCUMENTS {
        if imported.iter().any(|(t, _)| *t == template) {
            continue;
        }
        let resp = app
            .http
            .post(format!("{}/v1/templates/import", app.base))
            .header("x-auth", &app.key)
            .header("content-type", "application/yaml")
            .body(read(&format!("templates/{template}")))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{template}: {body}");
        imported.push((template, body["id"].as_str().unwrap().to_string()));
    }
    // Each PDF, then the PNG renderings the corpus has of some of them.
    let renderings = DOCUMENTS.iter().filter_map(|(doc, template)| {
        let png = doc.replace(".pdf", ".png");
        std::path::Path::new(&format!("{CORPUS}/compare/{png}"))
            .exists()
            .then_some((png, *template))
    });
    let documents: Vec<(String, &str)> = DOCUMENTS
        .iter()
        .map(|(d, t)| (d.to_string(), *t))
        .chain(renderings)
        .collect();
    for (doc, template) in &documents {
        let doc = doc.as_str();
        let (_, id) = imported.iter().find(|(t, _)| t == template).unwrap();
        if let Some((_, keyword)) = WITHOUT_KEYWORDS.iter().find(|(d, _)| *d == doc) {
            println!("{doc:<28} shows no keyword {keyword:?}: not scored");
            continue;
        }
        let result = app
            .extract_one("auto", &read(&format!("compare/{doc}")), doc)
            .await;
        assert_eq!(result["template_id"], id.as_str(), "{doc} chose {template}");
        let expected: Value = serde_json::from_slice(&read(&format!(
            "compare/{}",
            doc.replace(".pdf", ".json").replace(".png", ".json")
        )))
        .unwrap();
        let (mut doc_right, mut doc_asked, mut wrong) = (0, 0, Vec::new());
        for (name, want) in expected[0].as_object().unwrap() {
            if LINE_ITEMS.contains(&name.as_str()) {
                let (r, a, wrong) = cells(want, &result["result"][name]);
                println!("{doc:<28} {name}: {r}/{a} cells right; wrong: {wrong:?}");
                cells_right += r;
                cells_asked += a;
                continue;
            }
            doc_asked += 1;
            let got = &result["result"][name];
            if same(want, got) {
                doc_right += 1;
            } else {
                wrong.push(format!("{name}: want {want}, got {got}"));
            }
        }
        println!("{doc:<28} {doc_right}/{doc_asked} fields right; wrong: {wrong:?}");
        right += doc_right;
        asked += doc_asked;
    }
    println!(
        "invoice2data corpus: {right}/{asked} fields right on {} documents; line items: {cells_right}/{cells_asked} cells",
        documents.len()
    );
    assert!(asked > 0);
    assert_eq!(
        right, asked,
        "every field of an imported template is read right"
    );
    assert!(cells_asked > 0);
    assert_eq!(
        cells_right, cells_asked,
        "every line item cell of an imported template is read right"
    );
}

/// Saeco's invoice has a text layer, but its vendor block (IBAN, BIC,
/// telephone, company number) and the keywords that choose its template are
/// only in an image: they are read by OCR and join the page's text.
#[tokio::test]
async fn a_vendor_block_that_is_only_an_image_is_read_and_chooses_the_template() {
    let app = spawn_app().await;
    // The header fields of invoice2data's own template, as docpush writes them.
    let template = serde_json::json!({
        "name": "Saeco",
        "keywords": ["saeco", "Factuur", "NL8152[.]54[.]295[.]B01", "04080176"],
        "options": {"text": "layout", "decimal_separator": ",", "languages": ["nl"], "date_formats": ["%d-%m-%Y"]},
        "fields": [
            {"name": "amount", "type": "number", "regex": "Factuur\\s+totaal\\s+EUR\\s+(\\d{1,4}[,]\\d{2})"},
            {"name": "date", "type": "date", "regex": "(\\d{1,2}-\\d{1,2}-\\d{4})\\s+V"},
            {"name": "bic", "type": "string", "regex": "BiC[:]\\s+(\\w{8,11})"},
            {"name": "iban", "type": "string", "regex": "[A-Z]{2}\\d{2}?\\w{4}?\\d{4}?\\d{4}?\\d{0,2}"},
            {"name": "telephone", "type": "string", "regex": "\\d{3}\\s\\d{7}"},
            {"name": "partner_zip", "type": "string", "regex": "8401\\sBL"},
            {"name": "partner_city", "type": "string", "regex": "Gorredijk"},
            {"name": "narration", "type": "string", "regex": "(SCONL\\S+)", "matches": "unique"}
        ]
    });
    let resp = app.post_json("/v1/templates", &app.key, &template).await;
    assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let result = app
        .extract_one("auto", &read("compare/saeco.pdf"), "saeco.pdf")
        .await;
    assert_eq!(result["template_id"], id.as_str());
    let expected: Value = serde_json::from_slice(&read("compare/saeco.json")).unwrap();
    for name in [
        "amount",
        "date",
        "bic",
        "iban",
        "telephone",
        "partner_zip",
        "partner_city",
        "narration",
    ] {
        assert!(
            same(&expected[0][name], &result["result"][name]),
            "{name}: want {}, got {}",
            expected[0][name],
            result["result"][name]
        );
    }
}
