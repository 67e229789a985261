//! API errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every error has a stable `type` (`/problems/<slug>`, documented at that URL), a
//! title, a human detail, and where it is about one field, the field path and a hint.
//! Details never contain personal information: they name fields and ids, not values.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The kinds of problem the API reports, each with a stable slug and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The body is not valid JSON or does not match the schema.
    BadRequest,
    /// No or unknown credentials.
    Unauthenticated,
    /// Authenticated, but the role may not do this.
    Forbidden,
    /// No such resource (also used for other tenants' resources).
    NotFound,
    /// The method is not allowed on this path.
    MethodNotAllowed,
    /// The request conflicts with the current state (e.g. a version already exists).
    Conflict,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// A policy manifest failed validation; every problem is listed.
    InvalidPolicy,
    /// The request is well-formed but not allowed by the rules (e.g. a denied disclosure).
    Unprocessable,
    /// Too many requests for this key; retry after the given seconds.
    RateLimited,
    /// Something failed inside the server; the request id identifies it in the logs.
    Internal,
    /// A dependency (the database) is not ready.
    Unavailable,
}

impl ProblemKind {
    /// Every kind, for the problem-type documentation.
    pub const ALL: [ProblemKind; 13] = [
        ProblemKind::BadRequest,
        ProblemKind::Unauthenticated,
        ProblemKind::Forbidden,
        ProblemKind::NotFound,
        ProblemKind::MethodNotAllowed,
        ProblemKind::Conflict,
        ProblemKind::PayloadTooLarge,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::InvalidPolicy,
        ProblemKind::Unprocessable,
        ProblemKind::RateLimited,
        ProblemKind::Internal,
        ProblemKind::Unavailable,
    ];

    /// The slug used in the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "bad-request",
            ProblemKind::Unauthenticated => "unauthenticated",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::Conflict => "conflict",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::InvalidPolicy => "invalid-policy",
            ProblemKind::Unprocessable => "unprocessable",
            ProblemKind::RateLimited => "rate-limited",
            ProblemKind::Internal => "internal",
            ProblemKind::Unavailable => "unavailable",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadRequest => StatusCode::BAD_REQUEST,
            ProblemKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::InvalidPolicy | ProblemKind::Unprocessable => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short, fixed title.
    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "the request is malformed",
            ProblemKind::Unauthenticated => "credentials are missing or not recognised",
            ProblemKind::Forbidden => "this key's role may not do that",
            ProblemKind::NotFound => "no such resource",
            ProblemKind::MethodNotAllowed => "method not allowed here",
            ProblemKind::Conflict => "the request conflicts with the current state",
            ProblemKind::PayloadTooLarge => "the request body is too large",
            ProblemKind::UnsupportedMediaType => "the request body must be JSON",
            ProblemKind::InvalidPolicy => "the policy manifest is invalid",
            ProblemKind::Unprocessable => "the request is not allowed by the policy",
            ProblemKind::RateLimited => "too many requests",
            ProblemKind::Internal => "internal error",
            ProblemKind::Unavailable => "the service is not ready",
        }
    }

    /// What the problem means and what to do, for the documentation page.
    pub fn description(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => {
                "The body is not valid JSON or does not match the endpoint's schema. `field` names the first offending field; fix it and retry."
            }
            ProblemKind::Unauthenticated => {
                "Send `Authorization: Bearer <api key>`. Keys are shown once when created; create a new one if it was lost."
            }
            ProblemKind::Forbidden => {
                "The key is valid but its role lacks this permission. Use a key with the right role (admin, operator, app, auditor, subject)."
            }
            ProblemKind::NotFound => {
                "The resource does not exist for your tenant. Resources of other tenants are reported the same way, so their existence is never revealed."
            }
            ProblemKind::MethodNotAllowed => {
                "The path exists but not with this method; see the API documentation."
            }
            ProblemKind::Conflict => {
                "The resource already exists or changed since you read it (for example a policy version with the same label, or an idempotency key reused with a different body)."
            }
            ProblemKind::PayloadTooLarge => {
                "The body exceeds the server's limit (`body_limit_bytes`). Split the request, e.g. smaller batches."
            }
            ProblemKind::UnsupportedMediaType => "Send `Content-Type: application/json`.",
            ProblemKind::InvalidPolicy => {
                "The uploaded manifest did not validate. `errors` lists every problem with its line, column, field path and a hint."
            }
            ProblemKind::Unprocessable => {
                "The request is well-formed but the policy does not allow it, for example a disclosure the decision engine denies. `detail` gives the reasons."
            }
            ProblemKind::RateLimited => {
                "This key sent more requests than its limit. Wait the number of seconds in `Retry-After`."
            }
            ProblemKind::Internal => {
                "The server failed. Nothing was half-done: writes are transactional. Report the `request_id`."
            }
            ProblemKind::Unavailable => {
                "A dependency such as the database is not reachable yet. Retry later."
            }
        }
    }
}

/// One field-level problem inside a larger error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field path (`purposes[2].basis`, or a JSON pointer-like path for bodies).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// Line in the uploaded document, where it has lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column in the uploaded document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// An error answered as `application/problem+json`. Boxed so `Result<_, ApiError>`
/// stays small on the happy path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ApiError(Box<Problem>);

/// The problem document itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Problem {
    #[serde(skip)]
    kind: ProblemKind,
    #[serde(rename = "type")]
    type_uri: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl ApiError {
    /// A problem of `kind` with a detail sentence.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            kind,
            type_uri: format!("/problems/{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            field: None,
            hint: None,
            errors: Vec::new(),
            retry_after: None,
        }))
    }

    /// Names the field the problem is about.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.0.field = Some(f.into());
        self
    }

    /// Adds a hint saying what to do.
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.0.hint = Some(h.into());
        self
    }

    /// Lists field-level problems.
    pub fn errors(mut self, e: Vec<FieldError>) -> Self {
        self.0.errors = e;
        self
    }

    /// Sets `Retry-After` (for 429 and 503).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.0.retry_after = Some(secs);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ProblemKind {
        self.0.kind
    }

    /// The field the problem is about, if it names one (forms show it there).
    pub fn field_name(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// A 404 that says nothing about whether the thing exists elsewhere.
    pub fn not_found(what: &str) -> Self {
        Self::new(ProblemKind::NotFound, format!("no {what} with that id"))
    }

    /// A 500 whose detail is generic; the cause goes to the log (without PI) only.
    pub fn internal() -> Self {
        Self::new(
            ProblemKind::Internal,
            "the server could not complete the request; nothing was changed",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.kind.status();
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.0.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<Vec<troth_policy::Diagnostic>> for ApiError {
    fn from(ds: Vec<troth_policy::Diagnostic>) -> Self {
        let n = ds.len();
        let errors = ds
            .into_iter()
            .map(|d| FieldError {
                field: d.path.to_string(),
                message: d.message,
                line: d.position.map(|p| p.line),
                column: d.position.map(|p| p.column),
                hint: d.help,
            })
            .collect();
        ApiError::new(
            ProblemKind::InvalidPolicy,
            format!("the manifest has {n} problem(s)"),
        )
        .errors(errors)
        .hint("fix every listed problem and upload again; `troth policy check` shows the same list")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_slug() {
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
    }

    #[test]
    fn problem_json_shape() {
        let e = ApiError::new(ProblemKind::BadRequest, "expected a string")
            .field("purpose")
            .hint("send the purpose id");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "/problems/bad-request");
        assert_eq!(v["status"], 400);
        assert_eq!(v["field"], "purpose");
        assert!(v.get("errors").is_none());
    }
}
