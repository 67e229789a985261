//! An in-process troth server on SQLite or on the shared PostgreSQL test cluster,
//! and a small client for it.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;
use troth_server::api::state::AppState;
use troth_server::{Config, bootstrap};
use troth_store::TenantId;

/// The s002 pack: the demo pack.
pub fn s002() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packs/s002-template/policy.toml"
    ))
    .unwrap()
}

pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Server {
    pub state: Arc<AppState>,
    pub router: Router,
    pub config: Config,
    pub dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Server {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        if let Backend::Postgres = backend {
            let cluster = tokio::task::spawn_blocking(troth_store::testing::pg_cluster)
                .await
                .unwrap()
                .unwrap();
            let data = cluster.create_database("troth_api").await.unwrap();
            let keys = cluster.create_database("troth_apik").await.unwrap();
            config.database_url = Some(cluster.url(&data));
            config.keys_database_url = Some(cluster.url(&keys));
        }
        tweak(&mut config);
        let state = bootstrap::open(&config).await.unwrap();
        let router = bootstrap::router(Arc::clone(&state), &config);
        Self {
            state,
            router,
            config,
            dir,
        }
    }

    /// Creates a tenant with the s002 pack published; returns its admin token.
    pub async fn tenant(&self, name: &str) -> (TenantId, String) {
        self.tenant_with_pack(name, "s002-template").await
    }

    /// Creates a tenant with `packs/<pack>` published; returns its admin token.
    pub async fn tenant_with_pack(&self, name: &str, pack: &str) -> (TenantId, String) {
        let text = std::fs::read_to_string(format!(
            "{}/../../packs/{pack}/policy.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let id = TenantId::new(uuid::Uuid::new_v4().to_string());
        let key = bootstrap::create_tenant(&self.state, &id, name)
            .await
            .unwrap();
        let r = self
            .call(
                Method::POST,
                "/v1/policies",
                Some(&key.token),
                Body::from(text),
                &[("content-type", "application/toml")],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        (id, key.token)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), Body::empty(), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), Body::empty(), &[])
            .await
    }

    pub async fn send(&self, method: Method, path: &str, token: &str, body: Value) -> Reply {
        self.send_with(method, path, token, body, &[]).await
    }

    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.call(method, path, Some(token), Body::from(body.to_string()), &h)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, token, body).await
    }

    /// Creates a subject; returns its id.
    pub async fn subject(&self, token: &str, body: Value) -> String {
        let r = self.post("/v1/subjects", token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["subject_id"].as_str().unwrap().to_owned()
    }

    /// Records a consent; returns the reply.
    pub async fn consent(&self, token: &str, body: Value) -> Reply {
        self.post("/v1/consents", token, body).await
    }

    /// Creates a key with `role`; returns its token.
    pub async fn key(&self, admin: &str, role: &str, subject: Option<&str>) -> String {
        let mut body = serde_json::json!({ "role": role, "label": format!("{role} key") });
        if let Some(s) = subject {
            body["subject"] = Value::String(s.to_owned());
        }
        let r = self.post("/v1/keys", admin, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["token"].as_str().unwrap().to_owned()
    }
}

/// Runs each named async test function on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// A minimal SMTP server on loopback that keeps every message it is given: enough
/// for lettre to deliver to, so tests read what a person would receive.
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    pub messages: Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = Arc::clone(&messages);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        match verb.as_str() {
                            "EHLO" | "HELO" => w.write_all(b"250 sink\r\n").await.unwrap(),
                            "DATA" => {
                                w.write_all(b"354 end with .\r\n").await.unwrap();
                                let mut msg = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    msg.push_str(&l);
                                    msg.push('\n');
                                }
                                store.lock().unwrap().push(msg);
                                w.write_all(b"250 queued\r\n").await.unwrap();
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => w.write_all(b"250 ok\r\n").await.unwrap(),
                        }
                    }
                });
            }
        });
        Self { addr, messages }
    }

    /// The six-digit code in the newest message (decoding base64 bodies).
    pub fn last_code(&self) -> String {
        let msg = self
            .messages
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a message was sent");
        let text = decoded(&msg);
        let body = text.split_once("\n\n").map_or(text.as_str(), |(_, b)| b);
        let after = body.split(" is ").nth(1).expect("the code sentence");
        after.chars().take(6).collect()
    }
}

/// A captured message as headers plus its body as text (lettre sends non-ASCII
/// bodies base64-encoded or quoted-printable).
pub fn decoded(msg: &str) -> String {
    use base64::Engine as _;
    let (head, body) = msg.split_once("\n\n").unwrap();
    let text = if head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        let joined: String = body.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap()
    } else {
        body.replace("=\n", "")
    };
    format!("{head}\n\n{text}")
}

/// A webhook receiver on loopback: answers `fail_first` calls with 503, then 200,
/// and keeps every call.
#[derive(Clone, Default)]
pub struct Receiver {
    calls: Arc<std::sync::Mutex<Vec<(HeaderMap, axum::body::Bytes)>>>,
    fail_first: Arc<std::sync::Mutex<usize>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> (Self, String) {
        let r = Self {
            calls: Arc::default(),
            fail_first: Arc::new(std::sync::Mutex::new(fail_first)),
        };
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    state.calls.lock().unwrap().push((headers, body));
                    let mut left = state.fail_first.lock().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    pub fn calls(&self) -> Vec<(HeaderMap, axum::body::Bytes)> {
        self.calls.lock().unwrap().clone()
    }
}

/// Unpacks a zip: (path, bytes) per file.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read as _;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_owned(), b)
        })
        .collect()
}
