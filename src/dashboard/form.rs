//! A submitted dashboard form, URL-encoded or multipart (with at most one
//! file), read under the same limits as the API's bodies.

use std::future::Future;
use std::pin::Pin;

use actix_multipart::Multipart;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;

use super::error::DashError;
use crate::api::{read_limited, AppError, Gate};

/// A file chosen in a form; empty when the input was left empty.
pub struct FormFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub struct Form {
    pairs: Vec<(String, String)>,
    pub file: Option<FormFile>,
}

impl Form {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed value, or `""`.
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().trim().to_string()
    }

    /// Every value sent under `key` (checkboxes, multiple selects).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `(rest, value)` of every key starting with `prefix`, in form order.
    pub fn names_with_prefix(&self, prefix: &str) -> Vec<(String, &str)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.as_str())))
            .collect()
    }

    /// `(rest, value)` of every key starting with `prefix`, borrowed, in form order.
    pub fn pairs_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.pairs
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }

    /// A form of text inputs, as a browser would send them.
    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            file: None,
        }
    }

    pub fn checked(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A non-empty file of the form, if one was chosen.
    pub fn file(&self) -> Option<&FormFile> {
        self.file.as_ref().filter(|f| !f.bytes.is_empty())
    }
}

fn bad(m: impl Into<String>) -> DashError {
    DashError::App(AppError::BadRequest(m.into()))
}

/// Everything but the file fits in this.
const TEXT_LIMIT: u64 = 1024 * 1024;

async fn multipart(mut parts: Multipart, file_limit: u64) -> Result<Form, DashError> {
    let mut form = Form {
        pairs: Vec::new(),
        file: None,
    };
    let mut text_bytes = 0u64;
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|e| bad(format!("malformed form: {e}")))?;
        let name = part.name().unwrap_or_default().to_string();
        let filename = part
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let is_file = filename.is_some();
        let mut data = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| bad(format!("malformed form: {e}")))?;
            let over = if is_file {
                (data.len() + chunk.len()) as u64 > file_limit
            } else {
                text_bytes += chunk.len() as u64;
                text_bytes > TEXT_LIMIT
            };
            if over {
                return Err(DashError::App(AppError::PayloadTooLarge(format!(
                    "{name} is too large for this form (at most {file_limit} bytes)"
                ))));
            }
            data.extend_from_slice(&chunk);
        }
        match filename {
            Some(f) if form.file.is_none() => {
                form.file = Some(FormFile {
                    name: f,
                    bytes: data,
                })
            }
            Some(_) => return Err(bad("one file at a time")),
            None => {
                let text =
                    String::from_utf8(data).map_err(|_| bad(format!("{name} must be text")))?;
                form.pairs.push((name, text));
            }
        }
    }
    Ok(form)
}

impl FromRequest for Form {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        // Only the template editor takes a file (Try it's sample); elsewhere a file is refused unread.
        let limit = match req.app_data::<web::Data<Gate>>() {
            Some(g) if req.path().starts_with("/dashboard/templates") => g.limits.max_upload_bytes,
            _ => 0,
        };
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let headers = req.headers().clone();
        let payload = payload.take();
        Box::pin(async move {
            if content_type.starts_with("multipart/form-data") {
                return multipart(Multipart::new(&headers, payload), limit).await;
            }
            let body = read_limited(payload, TEXT_LIMIT).await?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| bad(format!("malformed form: {e}")))?;
            Ok(Form { pairs, file: None })
        })
    }
}
