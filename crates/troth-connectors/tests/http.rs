//! The HTTP connector against a local axum endpoint that checks signatures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use troth_connectors::http::{CallBody, REPLAY_WINDOW_SECS, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use troth_connectors::{
    AnyConnector, Connector, ConnectorError, HttpConnector, SignatureError, SubjectKeys,
    access_all, erase_all, sign, verify_signature,
};

const SECRET: &[u8] = b"shared-secret-0123456789abcdef";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A company endpoint: verifies the signature, rejects replayed request ids,
/// answers access with one table and erasure idempotently.
async fn endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let erased = Arc::new(Mutex::new(false));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/troth",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = s.clone();
            let erased = erased.clone();
            async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                if verify_signature(SECRET, &h(TIMESTAMP_HEADER), &h(SIGNATURE_HEADER), &body, now()).is_err() {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                let call: CallBody = serde_json::from_slice(&body).unwrap();
                {
                    let mut seen = seen.lock().unwrap();
                    if seen.contains(&call.request_id) {
                        return (StatusCode::CONFLICT, String::new());
                    }
                    seen.push(call.request_id.clone());
                }
                if call.subject.values("email") != ["alice@example.com"] {
                    return (StatusCode::OK, r#"{"tables":[]}"#.to_owned());
                }
                match call.action.as_str() {
                    "access" => (
                        StatusCode::OK,
                        r#"{"tables":[{"table":"tickets","columns":[{"name":"subject","category":"support"}],"rows":[["refund"],["login"]]}]}"#.to_owned(),
                    ),
                    "erase" => {
                        let first = !std::mem::replace(&mut *erased.lock().unwrap(), true);
                        let n = if first { 2 } else { 0 };
                        (StatusCode::OK, format!(r#"{{"tables":[{{"table":"tickets","deleted":{n},"updated":0}}]}}"#))
                    }
                    _ => (StatusCode::BAD_REQUEST, String::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/troth"), seen)
}

fn alice() -> SubjectKeys {
    SubjectKeys::new().with("email", "alice@example.com")
}

#[tokio::test]
async fn signed_access_and_idempotent_erase() {
    let (url, seen) = endpoint().await;
    let c = HttpConnector::new("crm", url, SECRET, Duration::from_secs(5)).unwrap();
    let a = c.access(&alice()).await.unwrap();
    assert_eq!(a.connector, "crm");
    assert_eq!(a.row_count(), 2);
    assert_eq!(a.tables[0].columns[0].category, "support");
    let e = c.erase(&alice()).await.unwrap();
    assert_eq!(e.rows_changed(), 2);
    assert_eq!(c.erase(&alice()).await.unwrap().rows_changed(), 0);
    // Every call had its own request id.
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn wrong_secret_is_rejected_and_reported_by_status() {
    let (url, _) = endpoint().await;
    let c = HttpConnector::new(
        "crm",
        url,
        b"not-the-secret".to_vec(),
        Duration::from_secs(5),
    )
    .unwrap();
    match c.access(&alice()).await {
        Err(ConnectorError::HttpStatus { connector, status }) => {
            assert_eq!((connector.as_str(), status), ("crm", 401));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_answers_and_unreachable_endpoints_name_no_values() {
    let app = axum::Router::new().route(
        "/",
        post(|| async { r#"{"tables": [{"table": "x", "rows": "alice@example.com"}]}"# }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let c = HttpConnector::new(
        "crm",
        format!("http://{addr}/"),
        SECRET,
        Duration::from_secs(5),
    )
    .unwrap();
    let err = c.access(&alice()).await.unwrap_err().to_string();
    assert!(err.starts_with("connector `crm`: bad response"), "{err}");
    assert!(!err.contains("alice"), "{err}");

    let dead =
        HttpConnector::new("crm", "http://127.0.0.1:9/", SECRET, Duration::from_secs(2)).unwrap();
    let err = dead.erase(&alice()).await.unwrap_err().to_string();
    assert!(
        err.starts_with("connector `crm`: HTTP call failed"),
        "{err}"
    );
}

#[tokio::test]
async fn many_connectors_run_together() {
    let (url, _) = endpoint().await;
    let list = vec![
        AnyConnector::Http(
            HttpConnector::new("a", url.clone(), SECRET, Duration::from_secs(5)).unwrap(),
        ),
        AnyConnector::Http(
            HttpConnector::new("b", url, b"wrong".to_vec(), Duration::from_secs(5)).unwrap(),
        ),
    ];
    let got = access_all(&list, &alice()).await;
    assert_eq!(got[0].as_ref().unwrap().row_count(), 2);
    assert!(
        got[1].is_err(),
        "one connector failing leaves the others' results"
    );
    let erased = erase_all(&list, &alice()).await;
    assert_eq!(erased[0].as_ref().unwrap().connector, "a");
}

#[test]
fn signature_checks() {
    let body = br#"{"action":"erase"}"#;
    let t = 1_800_000_000;
    let sig = sign(SECRET, t, body);
    assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
    assert_eq!(
        verify_signature(SECRET, &t.to_string(), &sig, body, t + 10),
        Ok(())
    );
    assert_eq!(
        verify_signature(
            SECRET,
            &t.to_string(),
            &sig,
            body,
            t + REPLAY_WINDOW_SECS + 1
        ),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        verify_signature(SECRET, &t.to_string(), &sig, b"{}", t),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(b"other", &t.to_string(), &sig, body, t),
        Err(SignatureError::Mismatch)
    );
    // The timestamp is signed: moving it invalidates the signature.
    assert_eq!(
        verify_signature(SECRET, &(t + 1).to_string(), &sig, body, t),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(SECRET, "soon", &sig, body, t),
        Err(SignatureError::BadTimestamp)
    );
    assert_eq!(
        verify_signature(SECRET, &t.to_string(), "v1=zz", body, t),
        Err(SignatureError::BadHeader)
    );
}

#[test]
fn subject_keys_debug_hides_values() {
    let k = SubjectKeys::new()
        .with("email", "alice@example.com")
        .with("phone", "+46700000000");
    let d = format!("{k:?}");
    assert!(!d.contains("alice") && !d.contains("+46"), "{d}");
}
