//! The HTTP connector: a company endpoint that answers access and erasure calls.
//!
//! # Protocol
//!
//! troth POSTs JSON to the endpoint's URL:
//!
//! ```json
//! {"action": "access", "request_id": "9f…(32 hex)", "subject": {"email": ["a@example.com"]}}
//! ```
//!
//! `action` is `"access"` or `"erase"`; `subject` holds the subject's identity values
//! by kind. Two headers authenticate the call:
//!
//! * `troth-timestamp`: the Unix time of sending, in seconds;
//! * `troth-signature`: `v1=` + hex HMAC-SHA256, keyed with the shared secret, over
//!   the bytes `<timestamp>.<body>`.
//!
//! The endpoint recomputes the signature ([`verify_signature`] does it), compares in
//! constant time, and rejects calls whose timestamp is more than
//! [`REPLAY_WINDOW_SECS`] (5 minutes) away from its clock; within the window it
//! rejects a `request_id` it has already seen. Erasure must be idempotent anyway,
//! so a replayed erase changes nothing.
//!
//! A 2xx answer carries JSON: for access `{"tables": [{"table", "columns":
//! [{"name", "category"}], "rows": [[…]]}]}`, for erasure `{"tables": [{"table",
//! "deleted", "updated"}]}`. Anything else is an error naming the connector and the
//! status, never the body.

use crate::error::{ConnectorError, Result};
use crate::map::EndpointMap;
use crate::{AccessResult, Connector, ErasureResult, SubjectKeys, TableErasure, TableRows};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Header carrying the Unix time of sending.
pub const TIMESTAMP_HEADER: &str = "troth-timestamp";
/// Header carrying `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "troth-signature";
/// How far (seconds) a call's timestamp may be from the receiver's clock.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a signature does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The timestamp header is not an integer.
    #[error("bad timestamp header")]
    BadTimestamp,
    /// The timestamp is outside the replay window.
    #[error("timestamp outside the replay window")]
    Stale,
    /// The signature header is not `v1=<64 hex>`.
    #[error("bad signature header")]
    BadHeader,
    /// The signature does not match.
    #[error("signature mismatch")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<sha2::Sha256> {
    // HMAC takes keys of any length; an empty key is the only odd case and still works.
    let mut m = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => <Hmac<sha2::Sha256> as Mac>::new(&Default::default()),
    };
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `troth-signature` header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a received call: headers as sent, `now` the receiver's Unix time.
pub fn verify_signature(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now - ts).abs() > REPLAY_WINDOW_SECS {
        return Err(SignatureError::Stale);
    }
    let sig = signature_header
        .trim()
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() == 32)
        .ok_or(SignatureError::BadHeader)?;
    mac(secret, ts, body)
        .verify_slice(&sig)
        .map_err(|_| SignatureError::Mismatch)
}

/// The body troth sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallBody {
    /// `access` or `erase`.
    pub action: String,
    /// Random id of this call (32 hex digits), for replay detection.
    pub request_id: String,
    /// The subject's identity values by kind.
    pub subject: SubjectKeys,
}

/// The endpoint's answer to an access call.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessResponse {
    /// Rows per table.
    pub tables: Vec<TableRows>,
}

/// The endpoint's answer to an erase call.
#[derive(Debug, Serialize, Deserialize)]
pub struct EraseResponse {
    /// What was done per table.
    pub tables: Vec<TableErasure>,
}

/// A connector to one company endpoint.
pub struct HttpConnector {
    name: String,
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConnector")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl HttpConnector {
    /// A connector posting to `url`, signing with `secret`.
    pub fn new(
        name: impl Into<String>,
        url: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Self> {
        let name = name.into();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|_| ConnectorError::Http {
                connector: name.clone(),
                reason: "cannot build the HTTP client".to_owned(),
            })?;
        Ok(Self {
            name,
            url: url.into(),
            secret: secret.into(),
            client,
        })
    }

    /// A connector for a map endpoint, its secret read from `secret_env`.
    pub fn from_env(e: &EndpointMap) -> Result<Self> {
        let secret = std::env::var(&e.secret_env).map_err(|_| ConnectorError::MissingEnv {
            connector: e.name.clone(),
            variable: e.secret_env.clone(),
        })?;
        Self::new(
            e.name.clone(),
            e.url.clone(),
            secret.into_bytes(),
            Duration::from_millis(e.timeout_ms),
        )
    }

    async fn call(&self, action: &str, who: &SubjectKeys) -> Result<bytes_body::Body> {
        let body = serde_json::to_vec(&CallBody {
            action: action.to_owned(),
            request_id: hex::encode(rand::random::<[u8; 16]>()),
            subject: who.clone(),
        })
        .map_err(|_| self.http_err("cannot encode the request"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let resp = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, sign(&self.secret, now, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_err(&e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ConnectorError::HttpStatus {
                connector: self.name.clone(),
                status: status.as_u16(),
            });
        }
        let bytes = resp.bytes().await.map_err(|e| self.transport_err(&e))?;
        Ok(bytes_body::Body(bytes.to_vec()))
    }

    fn http_err(&self, reason: &str) -> ConnectorError {
        ConnectorError::Http {
            connector: self.name.clone(),
            reason: reason.to_owned(),
        }
    }

    fn transport_err(&self, e: &reqwest::Error) -> ConnectorError {
        let reason = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else if e.is_body() || e.is_decode() {
            "cannot read the answer"
        } else {
            "request failed"
        };
        self.http_err(reason)
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, body: &bytes_body::Body) -> Result<T> {
        serde_json::from_slice(&body.0).map_err(|e| ConnectorError::BadResponse {
            connector: self.name.clone(),
            line: e.line(),
            column: e.column(),
            reason: match e.classify() {
                serde_json::error::Category::Io => "io",
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Data => "JSON of the wrong shape",
                serde_json::error::Category::Eof => "truncated",
            },
        })
    }
}

mod bytes_body {
    /// A response body (kept private so it is never logged).
    pub struct Body(pub Vec<u8>);
}

impl Connector for HttpConnector {
    fn name(&self) -> &str {
        &self.name
    }

    async fn access(&self, who: &SubjectKeys) -> Result<AccessResult> {
        let body = self.call("access", who).await?;
        let r: AccessResponse = self.parse(&body)?;
        Ok(AccessResult {
            connector: self.name.clone(),
            tables: r.tables,
        })
    }

    async fn erase(&self, who: &SubjectKeys) -> Result<ErasureResult> {
        let body = self.call("erase", who).await?;
        let r: EraseResponse = self.parse(&body)?;
        Ok(ErasureResult {
            connector: self.name.clone(),
            tables: r.tables,
        })
    }
}
