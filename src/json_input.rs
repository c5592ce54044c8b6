//! Reading client JSON into typed requests. serde lets a JSON array stand for
//! a struct (its fields by position), so `"options": []` would pass as the
//! default options; request types read their structs through [`object`] and
//! friends, which take JSON objects only. [`parse`] names the member at fault.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Why a request body was not read: it is not JSON at all, or JSON of the
/// wrong shape (the message names the member at fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    #[error("{0}")]
    Invalid(String),
}

/// A struct that must be written as a JSON object.
pub fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_map(ObjectVisitor(PhantomData))
}

/// An optional struct: absent or `null` is `None`, anything else must be an object.
pub fn optional_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_option(OptionVisitor(PhantomData))
}

/// A list of structs, each written as a JSON object.
pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(ListVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ObjectVisitor<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_map(self)
    }
}

struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        object(d).map(Some)
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // The body limit bounds the list; a hint from the client is not trusted for capacity.
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(ObjectVisitor(PhantomData))? {
            out.push(item);
        }
        Ok(out)
    }
}

/// Parses a request body: malformed JSON is `400`, JSON of the wrong shape is
/// `422` naming the member (`fields[2].zone: missing field \`x\``).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InputError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<Object<T>, _> = serde_path_to_error::deserialize(&mut *de);
    let value = parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return InputError::Malformed(inner.to_string());
        }
        let message = without_position(&inner.to_string());
        InputError::Invalid(if path == "." {
            message
        } else {
            format!("{path}: {message}")
        })
    })?;
    de.end().map_err(|e| InputError::Malformed(e.to_string()))?;
    Ok(value.0)
}

/// A whole body, which must be an object too.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(Object)
    }
}

/// Reads a member already parsed as JSON (a destination's `config`, whose
/// type depends on a sibling) into its request type, naming it as `prefix.path`.
pub fn parse_member<T: DeserializeOwned>(
    prefix: &str,
    value: &serde_json::Value,
) -> Result<T, InputError> {
    let parsed: Result<Object<T>, _> = serde_path_to_error::deserialize(value);
    parsed.map(|o| o.0).map_err(|e| {
        let path = e.path().to_string();
        let message = without_position(&e.into_inner().to_string());
        InputError::Invalid(if path == "." {
            format!("{prefix}: {message}")
        } else {
            format!("{prefix}.{path}: {message}")
        })
    })
}

/// serde_json's message without its `at line 1 column 9` suffix: the path says where.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        a: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default, deserialize_with = "optional_object")]
        inner: Option<Inner>,
        #[serde(default, deserialize_with = "objects")]
        list: Vec<Inner>,
    }

    fn outer(s: &str) -> Result<Outer, String> {
        parse::<Outer>(s.as_bytes()).map_err(|e| match e {
            InputError::Malformed(_) => format!("bad_request: {e}"),
            InputError::Invalid(_) => format!("validation_failed: {e}"),
        })
    }

    #[test]
    fn arrays_do_not_stand_for_structs() {
        assert!(outer(r#"{"inner": []}"#)
            .unwrap_err()
            .contains("inner: invalid type: sequence, expected an object"));
        assert!(outer(r#"{"list": [[1]]}"#)
            .unwrap_err()
            .starts_with("validation_failed: list[0]:"));
        assert_eq!(outer(r#"{"inner": null}"#).unwrap().inner, None);
        assert_eq!(
            outer(r#"{"list": [{"a": 2}]}"#).unwrap().list,
            [Inner { a: Some(2) }]
        );
        assert_eq!(
            outer(r#"{"inner": {"a": 1}}"#).unwrap().inner,
            Some(Inner { a: Some(1) })
        );
    }

    #[test]
    fn errors_name_the_member_and_syntax_is_a_bad_request() {
        let e = outer(r#"{"list": [{"a": "x"}]}"#).unwrap_err();
        assert_eq!(
            e,
            "validation_failed: list[0].a: invalid type: string \"x\", expected u32"
        );
        let e = outer(r#"{"lst": []}"#).unwrap_err();
        assert!(
            e.starts_with("validation_failed: lst: unknown field `lst`"),
            "{e}"
        );
        assert!(outer(r#"{"inner": "#)
            .unwrap_err()
            .starts_with("bad_request"));
        assert!(outer("[null, []]")
            .unwrap_err()
            .contains("expected an object"));
        assert!(outer(r#"{} {}"#).unwrap_err().starts_with("bad_request"));
    }
}
