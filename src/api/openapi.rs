//! The OpenAPI 3.1 document at `/openapi.json`, generated from the handlers
//! and request types, and the reference page at `/docs` served from the binary.

use std::sync::LazyLock;

use serde_json::{json, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::schemas;
use crate::outbound::EventType;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "docpush",
        description = "Documents in, template fields out, results pushed to your webhooks, SQS queues and S3 buckets.\n\nEvery call but `/healthz` needs an API key in the `x-auth` header. Errors are `{\"error\", \"message\"}`; a `422` names the member at fault. Deliveries are described under `webhooks`: each is signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).",
        license(name = "Apache-2.0")
    ),
    modifiers(&AuthScheme),
    paths(
        super::uploads::process_job,
        super::jobs::job_status,
        super::jobs::job_results,
        super::jobs::list,
        super::jobs::page,
        super::jobs::edit_result,
        super::jobs::confirm_result,
        super::lifecycle::delete_job,
        super::lifecycle::delete_file,
        super::lifecycle::restore_job,
        super::lifecycle::restore_file,
        super::lifecycle::hold,
        super::lifecycle::release,
        super::lifecycle::lock,
        super::lifecycle::unlock,
        super::templates::create,
        super::templates::import,
        super::templates::list,
        super::templates::preview,
        super::templates::test_webhook,
        super::templates::get,
        super::templates::update,
        super::templates::delete,
        super::templates::rotate_secret,
        super::destinations::create,
        super::destinations::list,
        super::destinations::test_unsaved,
        super::destinations::get,
        super::destinations::update,
        super::destinations::delete,
        super::destinations::test,
        super::destinations::recover,
        super::destinations::rotate_secret,
        super::tasks::get,
        super::jobs::linked_result,
        super::deliveries::list,
        super::deliveries::attempts,
        super::deliveries::retry,
        super::account::get,
        super::account::update,
        super::account::ledger,
        super::account::audit_log,
        super::account::list_keys,
        super::account::create_key,
        super::account::revoke_key,
        super::healthz,
        super::metrics,
    ),
    components(schemas(schemas::EventEnvelope)),
    tags(
        (name = "jobs", description = "Submit documents and read their status and results"),
        (name = "review", description = "Fix or confirm the values of a document that needs review"),
        (name = "lifecycle", description = "The recycle bin, erasure, hold and review locks of jobs and documents"),
        (name = "templates", description = "The fields to extract, and the template's webhook"),
        (name = "destinations", description = "More places results go: webhooks, SQS queues, S3 buckets"),
        (name = "deliveries", description = "Every event sent, its attempts, dead letters and replay"),
        (name = "account", description = "Credits, the ledger of charges, and API keys"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct AuthScheme;

impl Modify for AuthScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "metrics-token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("DOCPUSH_METRICS_TOKEN"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x-auth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-auth",
                "An API key: `docpush account create` prints one, and the first start prints the development key.",
            ))),
        );
    }
}

/// Calls served on two paths: the unversioned ones that integrations from the
/// original service call, and their `/v1` twins.
const UNVERSIONED: [&str; 3] = ["/v1/process-job", "/v1/job-status", "/v1/job-results"];

/// The whole document as JSON.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    let paths = doc["paths"].as_object_mut().expect("paths");
    // What the derive cannot express: the header's length and alphabet.
    for p in paths["/v1/process-job"]["post"]["parameters"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if p["name"] == "Idempotency-Key" {
            p["schema"] =
                json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"});
        }
    }
    paths["/v1/process-job"]["post"]["requestBody"]["content"]["multipart/form-data"]["encoding"] =
        json!({"static_values": {"contentType": "application/json"}});
    for v1 in UNVERSIONED {
        let mut item = paths[v1].clone();
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                op["operationId"] = json!(format!("{id}_unversioned"));
            }
        }
        paths.insert(v1.trim_start_matches("/v1").to_string(), item);
    }
    // What the derive cannot express: an edit changes at least one value.
    let schemas = &mut doc["components"]["schemas"];
    schemas["EditRequest"]["properties"]["result"]["minProperties"] = json!(1);
    // `"all"` or a non-empty list, as the filter itself insists.
    if let Some(variants) = schemas["TemplateFilterDoc"]["oneOf"].as_array_mut() {
        for v in variants {
            if v["type"] == "array" {
                v["minItems"] = json!(1);
            } else {
                v["enum"] = json!(["all"]);
            }
        }
    }
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            add_refusals(path, op);
        }
    }
    doc["webhooks"] = webhooks();
    doc
}

/// The answers any operation may give whatever it was sent: `429` to a
/// wrong key from an address that sent too many (and, for uploads, to an
/// account at its queue limit), `503` while the database or the blob store
/// is out of reach, and `507` to an upload the disk has no room for.
fn add_refusals(path: &str, op: &mut Value) {
    let wait = json!({"Retry-After": {
        "description": "Seconds to wait before sending the request again",
        "schema": {"type": "integer", "minimum": 1},
    }});
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    let upload = path.ends_with("/process-job");
    let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
    let responses = &mut op["responses"];
    if secured {
        let why = if upload {
            "Too many wrong keys from this address, or the account has its most documents queued (`DOCPUSH_MAX_QUEUED_DOCUMENTS`)"
        } else {
            "Too many wrong keys from this address (a valid key is never refused)"
        };
        responses["429"] = json!({"description": why, "headers": wait, "content": error});
    }
    if responses.get("503").is_none() {
        let why = if upload {
            "The database or the blob store cannot be reached, or the disk is under its free-space watermark"
        } else {
            "The database or the blob store cannot be reached for a moment"
        };
        responses["503"] = json!({"description": why, "headers": wait, "content": error});
    }
    if upload {
        responses["507"] = json!({
            "description": "The disk ran out of space while storing the document; nothing was kept",
            "content": error,
        });
    }
}

/// The methods the document lists for `path` (`{param}` matching one
/// segment), or `None` when it has no such path.
pub fn methods_of(path: &str) -> Option<Vec<String>> {
    static PATHS: LazyLock<Vec<(String, Vec<String>)>> = LazyLock::new(|| {
        let doc = document();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        paths
            .into_iter()
            .map(|(p, item)| {
                let methods = item.as_object().map_or_else(Vec::new, |ops| {
                    ops.keys().map(|m| m.to_ascii_uppercase()).collect()
                });
                (p, methods)
            })
            .collect()
    });
    let segments: Vec<&str> = path.split('/').collect();
    // As the router does, a literal segment wins over a parameter:
    // `/v1/destinations/test` is not `/v1/destinations/{id}`.
    PATHS
        .iter()
        .filter_map(|(template, methods)| {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            let params = parts.iter().filter(|t| t.starts_with('{')).count();
            matches.then_some((params, methods))
        })
        .min_by_key(|(params, _)| *params)
        .map(|(_, methods)| methods.clone())
}

/// One OpenAPI webhook per event type: what a receiver gets and should answer.
fn webhooks() -> Value {
    let mut out = serde_json::Map::new();
    for event in EventType::ALL {
        let name = event.as_str();
        out.insert(
            name.to_string(),
            json!({"post": {
                "summary": format!("{name} event"),
                "description": "Signed per Standard Webhooks: `webhook-signature` is `v1,` + base64 HMAC-SHA256 of `webhook-id.webhook-timestamp.body` keyed with the secret's decoded bytes (for an `E_AI_K_` key: the characters after the prefix). With the `extracta-legacy` signature, `x-webhook-signature` is also sent: base64 HMAC-SHA256 of the `result` member as compact JSON (whole numbers without a fraction, `null` when there is none), keyed with the secret without its `E_AI_K_` prefix. Any 2xx within the timeout is success; anything else is retried with backoff, `410` stops deliveries to that target.",
                "operationId": format!("on_{}", name.replace('.', "_")),
                "parameters": [
                    {"name": "webhook-id", "in": "header", "required": true, "schema": {"type": "string"}},
                    {"name": "webhook-timestamp", "in": "header", "required": true, "schema": {"type": "string"}},
                    {"name": "webhook-signature", "in": "header", "required": true, "schema": {"type": "string"}},
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventEnvelope"}}}},
                "responses": {"2XX": {"description": "Received"}, "410": {"description": "Stop sending to this target"}},
            }}),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_every_route_and_event() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/process-job",
            "/v1/process-job",
            "/v1/templates/{id}",
            "/v1/destinations/{id}/recover",
            "/v1/jobs/{job_id}/lock",
            "/v1/jobs/{job_id}/files/{file_id}/restore",
            "/healthz",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
        assert_eq!(
            doc["webhooks"].as_object().unwrap().len(),
            EventType::ALL.len()
        );
        assert!(doc["components"]["securitySchemes"]["x-auth"].is_object());
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|i| i.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(ids.len(), unique.len(), "operation ids are unique");
    }

    #[test]
    fn every_keyed_operation_documents_429_and_every_operation_503_with_retry_after() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let r = &op["responses"];
                assert!(
                    r["503"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                let keyed = op["security"].as_array().is_some_and(|s| !s.is_empty());
                assert_eq!(
                    keyed,
                    path != "/healthz" && !path.starts_with("/v1/result-links/")
                );
                if keyed {
                    assert!(
                        r["429"]["headers"]["Retry-After"].is_object()
                            && r["429"]["content"]["application/json"].is_object(),
                        "{method} {path}"
                    );
                }
            }
        }
        assert!(doc["paths"]["/process-job"]["post"]["responses"]["507"].is_object());
    }
}
