//! JSON → XML for S3 data files with `data_format: "xml"`: objects become
//! elements, arrays repeat `<item>`, null is an empty element.

use serde_json::Value;

pub fn to_xml(root: &str, v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    element(&mut out, root, v);
    out.push('\n');
    out
}

fn element(out: &mut String, name: &str, v: &Value) {
    let tag = tag_name(name);
    match v {
        Value::Null => {
            out.push_str(&format!("<{tag}/>"));
            return;
        }
        _ => out.push_str(&format!("<{tag}>")),
    }
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| element(out, k, v)),
        Value::Array(items) => items.iter().for_each(|v| element(out, "item", v)),
        Value::String(s) => escape(out, s),
        other => out.push_str(&other.to_string()),
    }
    out.push_str(&format!("</{tag}>"));
}

/// Field names are the template's; anything not valid in an XML name becomes `_`.
fn tag_name(name: &str) -> String {
    let mut t: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !t.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        t.insert(0, '_');
    }
    t
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_arrays_and_text_are_escaped_elements() {
        let x = to_xml(
            "event",
            &json!({"type": "a", "data": {"total amount": "1 < 2 & 3", "w": [1, null], "1x": true}}),
        );
        assert!(x.contains("<event><type>a</type><data><total_amount>1 &lt; 2 &amp; 3</total_amount><w><item>1</item><item/></w><_1x>true</_1x></data></event>"), "{x}");
    }
}
