//! `POST /process-job`: JSON with base64 (or a data: URL) and multipart both
//! become the same [`Upload`], with sizes checked while reading.

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::auth::Account;
use super::body::{declared_length, read_limited};
use super::schemas::{ErrorBody, ProcessJobForm, ProcessJobJson};
use super::{AppError, AppResult};
use crate::jobs::{Accepted, Jobs, Upload};

/// Submit a document (PDF, image or ZIP of them) for extraction.
///
/// As JSON, `actual_image` is base64 (or a `data:` URL); as multipart, it is a
/// file part. `static_values` is an object (in multipart, its JSON text) copied
/// into every result. An `Idempotency-Key` is honoured for 24 hours: the same
/// key with the same body answers the same job, with another body `422`.
#[utoipa::path(post, path = "/v1/process-job", tag = "jobs", security(("x-auth" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters")),
    request_body(content(
        (ProcessJobJson = "application/json"),
        (ProcessJobForm = "multipart/form-data"),
    )),
    responses(
        (status = 202, description = "Accepted; follow it with job-status or wait for the webhook", body = Accepted),
        (status = 400, description = "Malformed body, missing member, bad base64 or an empty document", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Unknown template", body = ErrorBody),
        (status = 413, description = "Over the upload limit", body = ErrorBody),
        (status = 415, description = "Not a PDF, image or ZIP", body = ErrorBody),
        (status = 422, description = "An Idempotency-Key reused with another body", body = ErrorBody),
    ))]
pub async fn process_job(
    req: HttpRequest,
    payload: web::Payload,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let idempotency_key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| AppError::BadRequest("Idempotency-Key must be visible ASCII".into()))?
                .trim();
            if k.is_empty() || k.len() > 255 {
                return Err(AppError::BadRequest(
                    "Idempotency-Key must be 1 to 255 characters".into(),
                ));
            }
            Some(k.to_string())
        }
    };
    let limit = jobs.max_upload();
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let multipart = content_type.starts_with("multipart/form-data");
    // Room besides the document for the other members, and for base64's 4/3.
    let body_limit = if multipart {
        limit + OTHER_FIELDS_LIMIT
    } else {
        (limit / 3 + 1) * 4 + OTHER_FIELDS_LIMIT
    };
    if declared_length(&req).is_some_and(|n| n > body_limit) {
        return Err(AppError::PayloadTooLarge(format!(
            "the request body is over the limit of {body_limit} bytes (documents up to {limit} bytes)"
        )));
    }
    let mut upload = if multipart {
        from_multipart(Multipart::new(req.headers(), payload), limit, body_limit).await?
    } else {
        let body = read_limited(payload, body_limit).await?;
        from_json(&body, limit)?
    };
    upload.idempotency_key = idempotency_key;
    Ok(HttpResponse::Accepted().json(jobs.submit(&account.0, upload).await?))
}

/// Room for everything but the document: template id, file name, static values.
const OTHER_FIELDS_LIMIT: u64 = 1024 * 1024;

fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

fn parse_static_values(v: Option<&Value>) -> AppResult<Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            _ => Err(bad("static_values must be a JSON object")),
        },
        Some(_) => Err(bad("static_values must be a JSON object")),
    }
}

/// The JSON form. The document is borrowed from the body rather than copied;
/// the other members stay raw until their size is checked, so none of them can
/// turn a large body into a much larger tree of values.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUpload<'a> {
    #[serde(default, borrow)]
    template_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    actual_image: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    file_name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    static_values: Option<&'a RawValue>,
}

/// A member other than the document, parsed into its type once it is known to be small.
fn small_member<T: DeserializeOwned>(name: &str, raw: Option<&RawValue>) -> AppResult<Option<T>> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.get().len() as u64 > OTHER_FIELDS_LIMIT {
        return Err(AppError::PayloadTooLarge(format!(
            "{name} is over the limit of {OTHER_FIELDS_LIMIT} bytes"
        )));
    }
    serde_json::from_str(raw.get()).map_err(|e| bad(format!("{name}: {e}")))
}

fn from_json(body: &[u8], limit: u64) -> AppResult<Upload> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let req: JsonUpload = crate::json_input::object(de).map_err(|e| {
        bad(format!(
            "the body must be a JSON object with template_id, actual_image (a base64 string), file_name and static_values: {e}"
        ))
    })?;
    let template_id = small_member::<String>("template_id", req.template_id)?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("template_id is required"))?;
    let file_name = small_member::<String>("file_name", req.file_name)?;
    let static_values =
        parse_static_values(small_member::<Value>("static_values", req.static_values)?.as_ref())?;
    let image = req
        .actual_image
        .ok_or_else(|| bad("actual_image is required: the document as base64 or a data: URL"))?;
    let bytes = decode_base64(&image, limit)?;
    Ok(Upload {
        template_id,
        bytes,
        file_name,
        static_values,
        idempotency_key: None,
    })
}

/// Decodes plain or data: URL base64, refusing an oversized document before decoding it.
pub fn decode_base64(raw: &str, limit: u64) -> AppResult<Vec<u8>> {
    let data = match raw.trim_start().strip_prefix("data:") {
        Some(rest) => {
            let (meta, data) = rest
                .split_once(',')
                .ok_or_else(|| bad("actual_image is a data: URL without a comma"))?;
            if !meta.ends_with(";base64") {
                return Err(bad("actual_image data: URLs must be base64-encoded"));
            }
            data
        }
        None => raw,
    };
    // Line-wrapped base64 is unwrapped first; the common unwrapped form is not copied.
    let compact: std::borrow::Cow<str> = if data.bytes().any(|b| b.is_ascii_whitespace()) {
        data.chars().filter(|c| !c.is_ascii_whitespace()).collect()
    } else {
        data.into()
    };
    // An empty document is refused once the template is known (`submit_job`), so
    // that an unknown template is reported first whatever the document.
    if compact.is_empty() {
        return Ok(Vec::new());
    }
    if (compact.len() as u64 / 4) * 3 > limit + 3 {
        return Err(AppError::PayloadTooLarge(format!(
            "the document is over the limit of {limit} bytes"
        )));
    }
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(compact.as_bytes()).ok())
        .ok_or_else(|| bad("actual_image is not valid base64"))
}

async fn from_multipart(mut form: Multipart, limit: u64, body_limit: u64) -> AppResult<Upload> {
    let mut read: u64 = 0;
    let mut template_id = None;
    let mut bytes: Option<Vec<u8>> = None;
    let mut file_name = None;
    let mut static_values = Map::new();
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| bad(format!("malformed multipart body: {e}")))?;
        let name = part.name().unwrap_or_default().to_string();
        let filename = part
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let cap = if name == "actual_image" {
            limit
        } else {
            OTHER_FIELDS_LIMIT
        };
        let mut data = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| bad(format!("malformed multipart body: {e}")))?;
            read += chunk.len() as u64;
            if read > body_limit {
                return Err(AppError::PayloadTooLarge(format!(
                    "the request body is over the limit of {body_limit} bytes"
                )));
            }
            if (data.len() + chunk.len()) as u64 > cap {
                return Err(AppError::PayloadTooLarge(format!(
                    "{name} is over the limit of {cap} bytes"
                )));
            }
            data.extend_from_slice(&chunk);
        }
        let text = || {
            String::from_utf8(data.clone()).map_err(|_| bad(format!("{name} must be UTF-8 text")))
        };
        match name.as_str() {
            "template_id" => template_id = Some(text()?.trim().to_string()),
            "file_name" => file_name = Some(text()?),
            "static_values" => static_values = parse_static_values(Some(&Value::String(text()?)))?,
            "actual_image" => {
                file_name = file_name.or(filename);
                bytes = Some(data);
            }
            other => {
                return Err(bad(format!(
                    "unknown part {other:?}: the parts are template_id, actual_image, file_name and static_values"
                )))
            }
        }
    }
    let template_id = template_id
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("template_id is required"))?;
    // An empty file is refused by `submit_job`, once the template is known.
    let bytes =
        bytes.ok_or_else(|| bad("actual_image is required: the document as a file part"))?;
    Ok(Upload {
        template_id,
        bytes,
        file_name,
        static_values,
        idempotency_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_forms() {
        assert_eq!(decode_base64("aGk=", 100).unwrap(), b"hi");
        assert_eq!(decode_base64("aGk", 100).unwrap(), b"hi");
        assert_eq!(
            decode_base64("data:application/pdf;base64,aGk=", 100).unwrap(),
            b"hi"
        );
        assert_eq!(decode_base64("aG\nk=", 100).unwrap(), b"hi");
        assert_eq!(decode_base64(" \n", 100).unwrap(), b"");
        assert!(matches!(
            decode_base64("!!!", 100),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            decode_base64("data:text/plain,hi", 100),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            decode_base64(&"A".repeat(400), 100),
            Err(AppError::PayloadTooLarge(_))
        ));
    }
}
