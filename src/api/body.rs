//! Request bodies read under a limit before anything is parsed: JSON bodies up
//! to `DOCPUSH_MAX_JSON_BYTES`, uploads up to their own limit.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use super::{AppError, AppResult, Gate};

/// A JSON request body, parsed into its request type once it is known to be within the limit.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<Gate>>()
            .map_or(1024 * 1024, |g| g.limits.max_json_bytes);
        let declared = declared_length(req);
        let payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let body = read_limited(payload, limit).await?;
            Ok(JsonBody(crate::json_input::parse(&body)?))
        })
    }
}

/// The `Content-Length` the client announced, if any.
pub fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn too_large(limit: u64) -> AppError {
    AppError::PayloadTooLarge(format!(
        "the request body is over the limit of {limit} bytes"
    ))
}

/// Reads a body, giving up as soon as it passes `limit` bytes.
pub async fn read_limited<S>(mut payload: S, limit: u64) -> AppResult<BytesMut>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| AppError::BadRequest(format!("reading the request body failed: {e}")))?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
