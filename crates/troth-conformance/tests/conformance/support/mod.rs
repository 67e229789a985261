//! An in-process `troth serve` (its real router, on SQLite or on the shared
//! PostgreSQL test cluster) with one tenant that has published a seed's pack, and a
//! small client that speaks only HTTP to it.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use troth_server::api::state::AppState;
use troth_server::{Config, bootstrap};
use troth_store::TenantId;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pack's manifest text (`packs/<dir>/policy.toml`).
pub fn pack(dir: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packs")
        .join(dir)
        .join("policy.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A later version of a pack's manifest: new label and (past) dates, then `edit`.
pub fn next_version(toml: &str, label: &str, edit: impl FnOnce(String) -> String) -> String {
    let mut out = String::new();
    let mut in_policy = false;
    for line in toml.lines() {
        if line.starts_with('[') {
            in_policy = line.trim() == "[policy]";
        }
        let l = if in_policy && line.starts_with("version = ") {
            format!("version = \"{label}\"")
        } else if in_policy && line.starts_with("published = ") {
            "published = 2025-01-01".to_owned()
        } else if in_policy && line.starts_with("effective = ") {
            "effective = 2025-01-08".to_owned()
        } else {
            line.to_owned()
        };
        out.push_str(&l);
        out.push('\n');
    }
    edit(out)
}

/// `toml` with the `[policy]` effective date set to `date` (for a version that takes
/// effect later).
pub fn effective_on(toml: &str, date: jiff::civil::Date) -> String {
    let mut in_policy = false;
    let mut out = String::new();
    for line in toml.lines() {
        if line.starts_with('[') {
            in_policy = line.trim() == "[policy]";
        }
        if in_policy && line.starts_with("effective = ") {
            out.push_str(&format!("effective = {date}"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `toml` with the controller's legal name replaced (a merger or acquisition).
pub fn with_controller(toml: &str, en: &str, zh: &str) -> String {
    let at = toml
        .find("\nlegal_name = ")
        .expect("the pack names its controller")
        + 1;
    let end = at + toml[at..].find('\n').unwrap();
    format!(
        "{}legal_name = {{ en = \"{en}\", zh-CN = \"{zh}\" }}{}",
        &toml[..at],
        &toml[end..]
    )
}

/// The outbox messages of `kind`.
pub fn of_kind(messages: &[Value], kind: &str) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m["kind"] == kind)
        .cloned()
        .collect()
}

pub struct Reply {
    pub status: StatusCode,
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
}

/// A running server, its tenant and that tenant's admin and app keys.
pub struct T {
    pub router: Router,
    /// The server's state: what `troth serve` hands its background workers.
    pub state: Arc<AppState>,
    pub config: Config,
    pub backend: Backend,
    /// The PostgreSQL data database's name.
    pub pg_data: Option<String>,
    pub admin: String,
    pub app: String,
    /// An operator key: works rights requests.
    pub operator: String,
    pub dir: tempfile::TempDir,
}

impl T {
    /// A server with a fresh tenant that published `packs/<pack>/policy.toml`.
    pub async fn start(backend: Backend, pack_dir: &str) -> Self {
        Self::start_with(backend, pack_dir, |_| {}).await
    }

    /// [`T::start`], with `edit` applied to the server's configuration first.
    pub async fn start_with(
        backend: Backend,
        pack_dir: &str,
        edit: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        // Deliveries are looked for often, so tests wait milliseconds, not seconds.
        config.outbox.poll_ms = 20;
        config.outbox.backoff_ms = 50;
        edit(&mut config);
        let mut pg_data = None;
        if let Backend::Postgres = backend {
            let cluster = tokio::task::spawn_blocking(troth_store::testing::pg_cluster)
                .await
                .unwrap()
                .unwrap();
            let data = cluster.create_database("troth_conf").await.unwrap();
            let keys = cluster.create_database("troth_confk").await.unwrap();
            config.database_url = Some(cluster.url(&data));
            config.keys_database_url = Some(cluster.url(&keys));
            pg_data = Some(data);
        }
        let state = bootstrap::open(&config).await.unwrap();
        let router = bootstrap::router(Arc::clone(&state), &config);
        let tenant = TenantId::new(uuid::Uuid::new_v4().to_string());
        let key = bootstrap::create_tenant(&state, &tenant, "Conformance Ltd")
            .await
            .unwrap();
        let mut t = Self {
            router,
            state,
            config,
            backend,
            pg_data,
            admin: key.token,
            app: String::new(),
            operator: String::new(),
            dir,
        };
        let r = t.publish(&pack(pack_dir)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(
            r.json()["in_force"],
            true,
            "the pack's effective date has passed"
        );
        t.app = t.key("app", None).await;
        t.operator = t.key("operator", None).await;
        t
    }

    /// POSTs `body` with the admin key.
    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, &self.admin, body, &[]).await
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
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, body }
    }

    /// GET with `token`.
    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), Body::empty(), &[])
            .await
    }

    /// GET with the app key.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(path, &self.app).await
    }

    /// A JSON request with `token` and extra headers.
    pub async fn send(
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

    /// POST JSON with the app key.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, &self.app, body, &[]).await
    }

    /// Publishes a manifest with the admin key.
    pub async fn publish(&self, toml: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/policies",
            Some(&self.admin),
            Body::from(toml.to_owned()),
            &[("content-type", "application/toml")],
        )
        .await
    }

    /// Makes a key with `role` (for `subject`, when a subject key).
    pub async fn key(&self, role: &str, subject: Option<&str>) -> String {
        let mut body = json!({ "role": role, "label": format!("{role} key") });
        if let Some(s) = subject {
            body["subject"] = Value::String(s.to_owned());
        }
        let r = self
            .send(Method::POST, "/v1/keys", &self.admin, body, &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["token"].as_str().unwrap().to_owned()
    }

    /// Creates a subject; returns its id.
    pub async fn subject(&self, body: Value) -> String {
        let r = self.post("/v1/subjects", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["subject_id"].as_str().unwrap().to_owned()
    }

    /// An adult subject with no identities.
    pub async fn adult(&self) -> String {
        self.subject(json!({ "age": { "band": "adult" } })).await
    }

    /// Records a consent event; it must be accepted.
    pub async fn consent(&self, body: Value) -> Value {
        let r = self.post("/v1/consents", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// The subject gives consent for the whole purpose.
    pub async fn give(&self, sub: &str, purpose: &str) {
        self.set(sub, "given", purpose).await;
    }

    /// Records `status` for the whole purpose.
    pub async fn set(&self, sub: &str, status: &str, purpose: &str) {
        self.consent(json!({ "subject": sub, "purpose": purpose, "status": status }))
            .await;
    }

    /// The subject gives a separate consent (`scope` as in the API).
    pub async fn give_scope(&self, sub: &str, purpose: &str, scope: Value) {
        self.consent(
            json!({ "subject": sub, "purpose": purpose, "status": "given", "scope": scope }),
        )
        .await;
    }

    /// A developer attests that its end user consented.
    pub async fn attest(&self, sub: &str, purpose: &str) {
        self.consent(json!({
            "subject": sub, "purpose": purpose, "status": "given",
            "method": "developer_attestation",
            "actor": { "kind": "developer", "tenant": "00000000-0000-0000-0000-000000000de7" },
        }))
        .await;
    }

    /// Asks a decision (extra headers: forwarded `Sec-GPC` / `DNT`).
    pub async fn decide_with(&self, q: Value, headers: &[(&str, &str)]) -> Value {
        let r = self
            .send(Method::POST, "/v1/decisions", &self.app, q, headers)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Asks a decision.
    pub async fn decide(&self, q: Value) -> Value {
        self.decide_with(q, &[]).await
    }

    /// Asks `purpose` with `categories` for `sub`.
    pub async fn ask(&self, sub: &str, purpose: &str, categories: &[&str]) -> Value {
        self.decide(json!({ "subject": sub, "purpose": purpose, "categories": categories }))
            .await
    }

    /// Records a disclosure; returns the reply (201 recorded, 422 refused).
    pub async fn disclose(&self, body: Value) -> Reply {
        self.post("/v1/disclosures", body).await
    }

    /// A subject's recorded disclosures.
    pub async fn disclosures(&self, sub: &str) -> Vec<Value> {
        let r = self.get(&format!("/v1/subjects/{sub}/disclosures")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json().as_array().unwrap().clone()
    }

    /// Records a targeting opt-out (`true`) or opt-in (`false`) with `token`.
    pub async fn targeting_as(&self, sub: &str, opted_out: bool, token: &str) -> Reply {
        self.send(
            Method::POST,
            &format!("/v1/subjects/{sub}/targeting"),
            token,
            json!({ "opted_out": opted_out }),
            &[],
        )
        .await
    }

    /// Records a targeting opt-out or opt-in with the app key; it must be accepted.
    pub async fn targeting(&self, sub: &str, opted_out: bool) {
        let r = self.targeting_as(sub, opted_out, &self.app).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }

    /// The audit log's actions, oldest first.
    pub async fn audit_actions(&self) -> Vec<Value> {
        let r = self.get_as("/v1/audit?limit=1000", &self.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["items"].as_array().unwrap().clone()
    }

    /// Submits a rights request with `token`; it must be accepted.
    pub async fn request_as(&self, token: &str, body: Value) -> Value {
        let r = self
            .send(Method::POST, "/v1/requests", token, body, &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// Submits a rights request with the app key; it must be accepted.
    pub async fn request(&self, body: Value) -> Value {
        self.request_as(&self.app, body).await
    }

    /// Applies a transition command to a request with the operator key.
    pub async fn transition(&self, id: &str, cmd: Value) -> Reply {
        self.send(
            Method::POST,
            &format!("/v1/requests/{id}/transitions"),
            &self.operator,
            cmd,
            &[],
        )
        .await
    }

    /// One request with its events (operator key); it must exist.
    pub async fn rights_request(&self, id: &str) -> Value {
        let r = self
            .get_as(&format!("/v1/requests/{id}"), &self.operator)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Request ids listed under `?status=` (operator key).
    pub async fn request_ids(&self, status: &str) -> Vec<String> {
        let r = self
            .get_as(&format!("/v1/requests?status={status}"), &self.operator)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["request_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The policy in force, rendered as Markdown (`lang` `en` or `zh-CN`).
    pub async fn rendered(&self, lang: &str) -> String {
        let r = self
            .get(&format!(
                "/v1/policies/current/render?format=markdown&lang={lang}"
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.text()
    }

    /// Raw bytes of the data database: the SQLite files, or a `pg_dump`.
    pub async fn raw_database(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let mut all = Vec::new();
                let mut stack = vec![self.config.data_dir.clone()];
                while let Some(d) = stack.pop() {
                    for e in std::fs::read_dir(&d).unwrap() {
                        let p = e.unwrap().path();
                        if p.is_dir() {
                            stack.push(p);
                        } else {
                            all.extend(std::fs::read(&p).unwrap());
                        }
                    }
                }
                all
            }
            Backend::Postgres => {
                let db = self.pg_data.clone().unwrap();
                tokio::task::spawn_blocking(move || {
                    troth_store::testing::pg_cluster()
                        .unwrap()
                        .pg_dump(&db)
                        .unwrap()
                })
                .await
                .unwrap()
            }
        }
    }
}

/// The reason codes of a decision.
pub fn codes(d: &Value) -> Vec<String> {
    d["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[track_caller]
pub fn allowed(d: &Value) {
    assert_eq!(d["allow"], true, "expected allow, got {:?}", codes(d));
}

#[track_caller]
pub fn denied(d: &Value, code: &str) {
    assert_eq!(d["allow"], false, "expected deny with {code}, got allow");
    assert!(
        codes(d).iter().any(|c| c == code),
        "expected {code}, got {:?}",
        codes(d)
    );
}

/// Whether the decision obliges the caller to record a disclosure of `kind`.
pub fn must_record(d: &Value, kind: &str) -> bool {
    d["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["obligation"] == "record_disclosure" && o["kind"] == kind)
}

/// A category scope.
pub fn cat(id: &str) -> Value {
    json!({ "kind": "category", "id": id })
}

/// A recipient scope.
pub fn rec(id: &str) -> Value {
    json!({ "kind": "recipient", "id": id })
}

/// A destination scope.
pub fn dest(cc: &str) -> Value {
    json!({ "kind": "destination", "id": cc })
}

/// Today's date in UTC (the server's calendar).
pub fn today() -> jiff::civil::Date {
    jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
}

/// A request's timestamp field (`received`, `due`, an event's `at`).
pub fn ts(v: &Value) -> jiff::Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {v}"))
        .parse()
        .unwrap()
}

/// Whole seconds from `a` to `b`.
pub fn secs(a: jiff::Timestamp, b: jiff::Timestamp) -> i64 {
    b.as_second() - a.as_second()
}

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// A minimal SMTP server on loopback that keeps every message it is given, so a
/// test reads the verification code a person would receive.
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    pub messages: Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = Arc::clone(&messages);
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
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

    /// Configures `c` to send mail through this sink.
    pub fn configure(&self, c: &mut Config) {
        c.smtp = Some(troth_server::config::SmtpConfig {
            url: format!("smtp://{}", self.addr),
            from: "Privacy team <privacy@tenant.example>".into(),
        });
    }

    /// The newest message, as sent.
    pub fn last(&self) -> String {
        self.messages
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a message was sent")
    }

    /// The six-digit code in the newest message.
    pub fn last_code(&self) -> String {
        let text = decoded(&self.last());
        let body = text.split_once("\n\n").map_or(text.as_str(), |(_, b)| b);
        let after = body.split(" is ").nth(1).expect("the code sentence");
        let code: String = after.chars().take(6).collect();
        assert!(code.chars().all(|c| c.is_ascii_digit()), "{text}");
        code
    }

    /// Every message so far, headers and decoded body.
    pub fn all(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| decoded(m))
            .collect()
    }
}

/// A captured message as its headers and its body as text (lettre sends non-ASCII
/// bodies base64-encoded, others quoted-printable).
pub fn decoded(msg: &str) -> String {
    use base64::Engine as _;
    let (head, body) = msg.split_once("\n\n").unwrap_or((msg, ""));
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

/// One webhook call: its headers and raw body.
pub type Call = (axum::http::HeaderMap, Vec<u8>);

/// A webhook receiver on loopback (a recipient's endpoint, an app's push gateway,
/// an SMS gateway, a checking service): answers 200 with the body set by
/// [`Receiver::answer_with`] (empty until then) and keeps every call with its
/// headers.
#[derive(Clone, Default)]
pub struct Receiver {
    calls: Arc<std::sync::Mutex<Vec<Call>>>,
    answer: Arc<std::sync::Mutex<Option<Value>>>,
    /// The URL to register as a notify target's `webhook`.
    pub url: String,
}

impl Receiver {
    pub async fn start() -> Self {
        let calls: Arc<std::sync::Mutex<Vec<Call>>> = Arc::default();
        let answer: Arc<std::sync::Mutex<Option<Value>>> = Arc::default();
        let kept = Arc::clone(&calls);
        let answering = Arc::clone(&answer);
        let app = Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let kept = Arc::clone(&kept);
                    let answering = Arc::clone(&answering);
                    async move {
                        kept.lock().unwrap().push((headers, body.to_vec()));
                        let reply = answering.lock().unwrap().as_ref().map(Value::to_string);
                        (StatusCode::OK, reply.unwrap_or_default())
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { calls, answer, url }
    }

    /// Answers every later call with `body` (JSON).
    pub fn answer_with(&self, body: Value) {
        *self.answer.lock().unwrap() = Some(body);
    }

    /// The JSON bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    /// Every call so far: headers and raw body.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Checks that every call carries a valid signature made with `secret`.
    #[track_caller]
    pub fn assert_signed(&self, secret: &str) {
        let header = |h: &axum::http::HeaderMap, n: &str| h[n].to_str().unwrap().to_owned();
        for (h, body) in self.calls() {
            troth_connectors::http::verify_signature(
                secret.as_bytes(),
                &header(&h, "troth-timestamp"),
                &header(&h, "troth-signature"),
                &body,
                jiff::Timestamp::now().as_second(),
            )
            .expect("signed with the target's secret");
        }
    }
}

/// A breach as an operator records it: both languages for every text.
pub fn incident(categories: &[&str]) -> Value {
    json!({
        "title": { "en": "Unauthorised access to a support database",
                   "zh-CN": "客服数据库遭未授权访问" },
        "description": { "en": "A support tool exposed contact details for six hours.",
                         "zh-CN": "一个客服工具在六小时内暴露了联系信息。" },
        "discovered_at": "2026-11-30T08:00:00Z",
        "occurred_at": "2026-11-30T01:00:00Z",
        "categories": categories,
        "cause": { "en": "A misconfigured access rule.", "zh-CN": "访问规则配置错误。" },
        "possible_harm": { "en": "Phishing messages.", "zh-CN": "可能收到钓鱼信息。" },
        "remedies": { "en": "The rule was fixed and access logs reviewed.",
                      "zh-CN": "已修正规则并审查访问日志。" },
        "advice": { "en": "Be wary of messages asking for passwords.",
                    "zh-CN": "请警惕索要密码的信息。" }
    })
}

/// A copy of the data database taken while the server runs: what a backup holds.
pub enum Backup {
    /// The SQLite data files (never the key database, which lives beside them).
    Sqlite(tempfile::TempDir),
    /// A `pg_dump` of the data database.
    Postgres(Vec<u8>),
}

impl T {
    /// Starts delivering the outbox as `troth serve` does (the courier: deliveries
    /// and deadline alarms).
    pub fn run_outbox(&self) {
        bootstrap::spawn_outbox(Arc::clone(&self.state), &self.config).unwrap();
    }

    /// Waits until the outbox has nothing pending (the courier must run).
    pub async fn settle_outbox(&self) {
        for _ in 0..500 {
            let r = self
                .get_as("/v1/outbox?status=pending", &self.operator)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            if r.json()["items"].as_array().unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("outbox messages still pending after 10 s");
    }

    /// Every outbox message (operator key), oldest first.
    pub async fn outbox(&self) -> Vec<Value> {
        let r = self.get_as("/v1/outbox?limit=1000", &self.operator).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["items"].as_array().unwrap().clone()
    }

    /// Saves notify target `id` (admin key); returns the answer (a webhook's secret
    /// is in it, once).
    pub async fn notify_target(&self, id: &str, body: Value) -> Value {
        let r = self
            .send(
                Method::PUT,
                &format!("/v1/notify-targets/{id}"),
                &self.admin,
                body,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Stores `value` as `category`/`record` of `sub` for `purpose` (app key),
    /// optionally expiring earlier than the pack says.
    pub async fn store(
        &self,
        sub: &str,
        category: &str,
        record: &str,
        purpose: &str,
        value: &str,
        expires_at: Option<&str>,
    ) {
        let mut body = json!({ "value": value, "purpose": purpose });
        if let Some(e) = expires_at {
            body["expires_at"] = json!(e);
        }
        let r = self
            .send(
                Method::PUT,
                &format!("/v1/subjects/{sub}/vault/{category}/{record}"),
                &self.app,
                body,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    }

    /// Reads `category`/`record` of `sub` for `purpose` through `router` (app key).
    pub async fn read_on(
        &self,
        router: &Router,
        sub: &str,
        category: &str,
        record: &str,
        purpose: &str,
    ) -> Reply {
        let path = format!("/v1/subjects/{sub}/vault/{category}/{record}?purpose={purpose}");
        let req = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {}", self.app))
            .body(Body::empty())
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, body }
    }

    /// Reads `category`/`record` of `sub` for `purpose` (app key).
    pub async fn read(&self, sub: &str, category: &str, record: &str, purpose: &str) -> Reply {
        self.read_on(&self.router, sub, category, record, purpose)
            .await
    }

    /// Places a hold (admin key); returns the hold.
    pub async fn hold(&self, body: Value) -> Value {
        let r = self
            .send(Method::POST, "/v1/holds", &self.admin, body, &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// Runs a retention sweep (admin key), or a dry run.
    pub async fn sweep(&self, dry_run: bool) -> Value {
        let r = self
            .send(
                Method::POST,
                "/v1/retention/sweeps",
                &self.admin,
                json!({ "dry_run": dry_run }),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Records, assesses and notifies an incident (operator key); returns its id and
    /// the notify answer.
    pub async fn breach(&self, body: Value) -> (String, Value) {
        let r = self
            .send(Method::POST, "/v1/incidents", &self.operator, body, &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["incident_id"].as_str().unwrap().to_owned();
        let mut last = Value::Null;
        for step in ["assess", "notify"] {
            let r = self
                .send(
                    Method::POST,
                    &format!("/v1/incidents/{id}/{step}"),
                    &self.operator,
                    json!({}),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text());
            last = r.json();
        }
        (id, last)
    }

    /// Takes a deletion request through verification by hand and completes it with
    /// `outcome` (operator key); returns the answer.
    pub async fn delete_by_request(&self, sub: &str, outcome: Value) -> Reply {
        let id = self
            .request(json!({ "subject": sub, "kind": "deletion" }))
            .await["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for cmd in ["start_verification", "verified"] {
            let r = self.transition(&id, json!({ "command": cmd })).await;
            assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
        }
        self.transition(&id, json!({ "command": "complete", "outcome": outcome }))
            .await
    }

    /// Copies the data database as a backup would, leaving the keys behind.
    pub async fn backup(&self) -> Backup {
        match self.backend {
            Backend::Sqlite => {
                let copy = tempfile::tempdir().unwrap();
                for e in std::fs::read_dir(&self.config.data_dir).unwrap() {
                    let p = e.unwrap().path();
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    if p.is_file() && name.starts_with("troth.db") && !name.ends_with("-shm") {
                        std::fs::copy(&p, copy.path().join(&name)).unwrap();
                    }
                }
                Backup::Sqlite(copy)
            }
            Backend::Postgres => Backup::Postgres(self.raw_database().await),
        }
    }

    /// A second server on `backup`'s data with this server's keys as they are now:
    /// what restoring the backup gives.
    pub async fn restore(&self, backup: &Backup) -> Router {
        let mut config = self.config.clone();
        match backup {
            Backup::Sqlite(copy) => {
                let dir = self
                    .dir
                    .path()
                    .join(format!("restored-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir).unwrap();
                for e in std::fs::read_dir(&self.config.data_dir).unwrap() {
                    let p = e.unwrap().path();
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    // Everything but the data database: master key, signing key, keys.
                    // No shared-memory index: SQLite rebuilds it from the log.
                    if p.is_file() && !name.starts_with("troth.db") && !name.ends_with("-shm") {
                        std::fs::copy(&p, dir.join(&name)).unwrap();
                    }
                }
                for e in std::fs::read_dir(copy.path()).unwrap() {
                    let p = e.unwrap().path();
                    std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
                }
                config.data_dir = dir;
            }
            Backup::Postgres(dump) => {
                let cluster = tokio::task::spawn_blocking(troth_store::testing::pg_cluster)
                    .await
                    .unwrap()
                    .unwrap();
                let db = cluster.restore(dump).await.unwrap();
                config.database_url = Some(cluster.url(&db));
            }
        }
        let state = bootstrap::open(&config).await.unwrap();
        bootstrap::router(state, &config)
    }
}

/// An audit entry's detail (stored as JSON text).
pub fn detail(entry: &Value) -> Value {
    serde_json::from_str(entry["detail"].as_str().unwrap()).unwrap()
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

impl T {
    /// Files a request (app key), takes it through verification by hand and
    /// completes it as fulfilled (operator key); returns its id and the completion's answer.
    pub async fn fulfil_request(&self, body: Value) -> (String, Reply) {
        let req = self.request(body).await;
        let id = req["request_id"].as_str().unwrap().to_owned();
        if req["status"] == "received" {
            for cmd in ["start_verification", "verified"] {
                let r = self.transition(&id, json!({ "command": cmd })).await;
                assert_eq!(r.status, StatusCode::OK, "{cmd}: {}", r.text());
            }
        }
        let done = self
            .transition(
                &id,
                json!({ "command": "complete", "outcome": { "kind": "fulfilled" } }),
            )
            .await;
        (id, done)
    }

    /// A copy of `sub`'s data sent to the third party the person names: registers a
    /// webhook target `portability` subscribed to `copy.transfer`, files the copy
    /// request naming it and completes it. Returns the third party's receiver, the
    /// target's signing secret and the completed request.
    pub async fn copy_to_third_party(&self, sub: &str) -> (Receiver, String, Value) {
        let third = Receiver::start().await;
        let secret = self
            .notify_target(
                "portability",
                json!({ "webhook": third.url, "events": ["copy.transfer"] }),
            )
            .await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        // A target that is not subscribed to copies cannot be named.
        self.notify_target(
            "alarms",
            json!({ "webhook": third.url, "events": ["request.alarm"] }),
        )
        .await;
        let wrong = self
            .send(
                Method::POST,
                "/v1/requests",
                &self.app,
                json!({ "subject": sub, "kind": "copy", "to_third_party": true,
                        "third_party": "alarms" }),
                &[],
            )
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            wrong.text()
        );
        assert_eq!(wrong.json()["field"], "third_party", "{}", wrong.text());
        let (id, done) = self
            .fulfil_request(json!({ "subject": sub, "kind": "copy", "channel": "web",
                "to_third_party": true, "third_party": "portability" }))
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
        (third, secret, self.rights_request(&id).await)
    }
}
