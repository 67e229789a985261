//! A JSON body extractor whose failures are problem+json with the field path.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ProblemKind};

/// Like `axum::Json`, but a bad body answers 400 naming the offending field, a
/// missing content type 415, and an oversized body 413 — never a plain-text error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m == "application/json" || m.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "the body must be sent with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ProblemKind::PayloadTooLarge,
                    "the request body is larger than the server accepts",
                )
                .hint("send smaller batches")
            } else {
                ApiError::new(
                    ProblemKind::BadRequest,
                    "the request body could not be read",
                )
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, reporting the path of the first field that does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde_json's messages quote the offending *type* or *field name*, never a
        // value we'd have to keep out of logs, except `invalid value: string "…"`;
        // strip quoted values to be safe.
        let msg = redact_values(&inner.to_string());
        let mut err = ApiError::new(ProblemKind::BadRequest, msg)
            .hint("check the field against the API documentation at /docs");
        if path != "." {
            err = err.field(path);
        }
        err
    })
}

/// Removes quoted string values from a serde message (`string "alice@x.com"`).
fn redact_values(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("string \"") {
        out.push_str(&rest[..i]);
        out.push_str("a string");
        let after = &rest[i + "string \"".len()..];
        rest = match after.find('"') {
            Some(j) => &after[j + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        purpose: String,
        categories: Vec<String>,
        age: Option<u8>,
    }

    #[test]
    fn names_the_field_that_does_not_fit() {
        let e = parse_json::<Body>(br#"{"purpose":"x","categories":["a", 3]}"#).unwrap_err();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["field"], "categories[1]");
        assert_eq!(v["status"], 400);
    }

    #[test]
    fn values_never_echo_back() {
        let e = parse_json::<Body>(br#"{"purpose":"x","categories":[],"age":"alice@example.com"}"#)
            .unwrap_err();
        let text = serde_json::to_string(&e).unwrap();
        assert!(!text.contains("alice@example.com"), "{text}");
        assert!(text.contains("\"field\":\"age\""), "{text}");
    }

    #[test]
    fn broken_json_is_400_not_500() {
        let e = parse_json::<Body>(b"{\"purpose\": ").unwrap_err();
        assert_eq!(e.kind(), ProblemKind::BadRequest);
    }
}
