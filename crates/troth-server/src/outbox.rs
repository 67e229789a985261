//! Delivering the outbox: a worker claims due messages with a lease, sends each as
//! a signed webhook or an email, and records the outcome — delivered, retried later
//! with exponential backoff, or dead-lettered after the configured attempts. A
//! second loop raises deadline alarms (50 %, 80 %, overdue) for open rights requests
//! as outbox messages, once per level.
//!
//! # Webhooks
//!
//! troth POSTs `{"id", "kind", "tenant", "created", "data"}` as JSON with these
//! headers (the signature scheme is the HTTP connector's, see
//! `troth_connectors::http`):
//!
//! * `troth-message-id`: the message id, the same on every retry — receivers drop
//!   ids they have seen;
//! * `troth-event`: the kind (`deletion.notice`, `request.alarm`, `policy.notice`, …);
//! * `troth-timestamp`: Unix seconds at sending;
//! * `troth-signature`: `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>`, keyed
//!   with the target's secret (the `whsec_…` text's UTF-8 bytes). Receivers reject
//!   timestamps more than five minutes from their clock.
//!
//! Any 2xx answer is the receiver's acknowledgement and is recorded (with its
//! status) in the outbox and the audit log. The secret is derived from the server's
//! key, the tenant, the target id and its generation, so it is never stored; saving
//! the target again issues a new one.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use troth_core::Alarm;
use troth_crypto::TenantId;
use troth_store::{
    DeliveryOutcome, NewOutboxMessage, NotifyTarget, OutboxChannel, OutboxMessage, OutboxStore,
    RightsStore, Store,
};

use crate::api::state::AppState;
use crate::config::OutboxConfig;

/// Message kind of a deletion notice to a recipient.
pub const DELETION_NOTICE: &str = "deletion.notice";
/// Message kind of a rights-request deadline alarm.
pub const REQUEST_ALARM: &str = "request.alarm";
/// Message kind of a breach notice about one affected person (to the tenant's push
/// webhook, or by email to the person).
pub const INCIDENT_NOTICE: &str = "incident.notice";
/// Message kind of a breach announcement (above the pack's threshold).
pub const INCIDENT_ANNOUNCEMENT: &str = "incident.announcement";
/// Subscription of the tenant's SMS gateway: identity-verification codes by text
/// message. Only a webhook target that names this kind explicitly receives them.
pub const VERIFICATION_SMS: &str = "verification.sms";
/// Message kind of a cessation notice about one affected person (to the tenant's
/// push webhook, or by email to the person).
pub const CESSATION_NOTICE: &str = "cessation.notice";
/// Message kind of a cessation announcement (too many people, or some cannot be
/// told individually).
pub const CESSATION_ANNOUNCEMENT: &str = "cessation.announcement";
/// Subscription of a third party that receives people's copies of their data
/// (portability, PIPL Art.45): the bundle is POSTed to it at once, never stored in
/// the outbox.
pub const COPY_TRANSFER: &str = "copy.transfer";
/// Message kind of a policy-change notice to one person (to the tenant's push
/// webhook, or by email to the person), queued when a version is published.
pub const POLICY_NOTICE: &str = "policy.notice";
/// Message kind of a policy-change notice for the home page (and for people who
/// cannot be told individually).
pub const POLICY_ANNOUNCEMENT: &str = "policy.announcement";
/// Message kind of a transfer-of-controller notice to one person.
pub const CONTROLLER_NOTICE: &str = "controller.notice";
/// Message kind of a transfer-of-controller notice for the home page.
pub const CONTROLLER_ANNOUNCEMENT: &str = "controller.announcement";
/// Subscription of a third-party identity check for developer certification: the
/// person's or company's values are POSTed to it at once (never stored in the
/// outbox) and its answer, `{"result": "pass"}` or `{"result": "fail"}`, decides.
pub const CERTIFICATION_CHECK: &str = "certification.check";
/// The kinds a notify target may subscribe to.
pub const KINDS: [&str; 13] = [
    DELETION_NOTICE,
    REQUEST_ALARM,
    INCIDENT_NOTICE,
    INCIDENT_ANNOUNCEMENT,
    VERIFICATION_SMS,
    CESSATION_NOTICE,
    CESSATION_ANNOUNCEMENT,
    COPY_TRANSFER,
    POLICY_NOTICE,
    POLICY_ANNOUNCEMENT,
    CONTROLLER_NOTICE,
    CONTROLLER_ANNOUNCEMENT,
    CERTIFICATION_CHECK,
];

/// Why a text message was not handed to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// No webhook target subscribes to `verification.sms`.
    #[error("no SMS gateway is configured")]
    NoGateway,
    /// The gateway could not be reached or did not accept the message.
    #[error("the SMS gateway failed: {0}")]
    Gateway(String),
}

/// Why a direct call to a webhook target failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectError {
    /// No answer (connection refused, timed out, …).
    #[error("{0}")]
    Unreachable(&'static str),
    /// It answered with a status other than 2xx.
    #[error("answered {0}")]
    Answered(u16),
}

/// One call [`post_now`] makes.
pub struct DirectCall<'a> {
    /// Sent as `troth-message-id`, so a receiver can drop a retried call.
    pub id: &'a str,
    /// Sent as `troth-event`.
    pub kind: &'a str,
    /// The body's media type.
    pub content_type: &'a str,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait for the answer.
    pub timeout: Duration,
}

/// POSTs a call to a webhook target at once, signed like every webhook (for payloads
/// that must not be stored in the outbox: one-time codes, export bundles). Answers
/// the response status.
pub async fn post_now(
    state: &AppState,
    tenant: &TenantId,
    target: &NotifyTarget,
    call: DirectCall<'_>,
) -> Result<u16, DirectError> {
    let response = send_now(state, tenant, target, call).await?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err(DirectError::Answered(status))
    }
}

/// The most of an answer [`post_now_answer`] reads.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Like [`post_now`], for calls whose answer matters (a third-party check): answers
/// the 2xx response's body, read up to [`MAX_ANSWER`] bytes (a longer one is
/// [`DirectError::Unreachable`]).
pub async fn post_now_answer(
    state: &AppState,
    tenant: &TenantId,
    target: &NotifyTarget,
    call: DirectCall<'_>,
) -> Result<Vec<u8>, DirectError> {
    let mut response = send_now(state, tenant, target, call).await?;
    if !response.status().is_success() {
        return Err(DirectError::Answered(response.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| DirectError::Unreachable("the answer broke off"))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(DirectError::Unreachable("the answer is too long"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn send_now(
    state: &AppState,
    tenant: &TenantId,
    target: &NotifyTarget,
    call: DirectCall<'_>,
) -> Result<reqwest::Response, DirectError> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let DirectCall {
        id,
        kind,
        content_type,
        body,
        timeout,
    } = call;
    let client = match CLIENT.get() {
        Some(c) => c,
        None => {
            let c = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|_| DirectError::Unreachable("no HTTP client"))?;
            CLIENT.get_or_init(|| c)
        }
    };
    let secret = webhook_secret(state, tenant, &target.target_id, target.generation);
    let now = Timestamp::now().as_second();
    let signature = troth_connectors::http::sign(secret.as_bytes(), now, &body);
    client
        .post(&target.address)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header("troth-message-id", id)
        .header("troth-event", kind)
        .header(troth_connectors::http::TIMESTAMP_HEADER, now.to_string())
        .header(troth_connectors::http::SIGNATURE_HEADER, signature)
        .timeout(timeout)
        .body(body)
        .send()
        .await
        // The error kind only: reqwest's text can quote the URL.
        .map_err(|e| {
            DirectError::Unreachable(if e.is_timeout() {
                "timed out"
            } else {
                "unreachable"
            })
        })
}

/// Whether `t` takes direct calls of `kind` (SMS codes, copies, certification
/// checks): a webhook that names the kind. Unlike queued notices ([`targets_for`]),
/// a target with no event list does not: these calls carry personal data, which
/// goes only where it was asked for.
pub fn takes_direct(t: &NotifyTarget, kind: &str) -> bool {
    t.channel == OutboxChannel::Webhook && t.events.iter().any(|e| e == kind)
}

/// Sends a text message through the tenant's SMS gateway at once (not through the
/// outbox: the body holds a phone number and a one-time code, which must not be
/// stored). The call is signed like every webhook; `{"to", "text", "id"}` is the body.
pub async fn send_sms(
    state: &AppState,
    tenant: &TenantId,
    targets: &[NotifyTarget],
    to: &str,
    text: &str,
) -> Result<(), SmsError> {
    let gateway = targets
        .iter()
        .find(|t| takes_direct(t, VERIFICATION_SMS))
        .ok_or(SmsError::NoGateway)?;
    let id = uuid::Uuid::now_v7().simple().to_string();
    // The number as dialled: digits and a leading plus, whatever spacing it was
    // entered with.
    let to: String = to
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let body = serde_json::json!({ "id": id, "to": to, "text": text }).to_string();
    post_now(
        state,
        tenant,
        gateway,
        DirectCall {
            id: &id,
            kind: VERIFICATION_SMS,
            content_type: "application/json",
            body: body.into_bytes(),
            // The person waits on the page for it.
            timeout: Duration::from_secs(10),
        },
    )
    .await
    .map(|_| ())
    .map_err(|e| SmsError::Gateway(e.to_string()))
}

/// The secret a webhook target's calls are signed with (`whsec_` + 64 hex digits).
pub fn webhook_secret(
    state: &AppState,
    tenant: &TenantId,
    target: &str,
    generation: u64,
) -> String {
    let mut h = blake3::Hasher::new_keyed(&state.notify_key);
    for part in [tenant.as_str().as_bytes(), target.as_bytes()] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(&generation.to_be_bytes());
    format!("whsec_{}", h.finalize().to_hex())
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones: the base
/// delay doubled per failure, capped, with up to 20 % random jitter subtracted so
/// that messages failing together do not retry in lockstep.
pub fn backoff(attempts: u32, config: &OutboxConfig, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let base = config.backoff_ms.saturating_mul(1u64 << exp);
    let capped = base.min(config.max_backoff_secs.saturating_mul(1000));
    let jitter = jitter.clamp(0.0, 1.0);
    Duration::from_millis(capped - (capped as f64 * 0.2 * jitter) as u64)
}

/// Targets for a message kind (and, for deletion notices, a recipient). A target
/// with no event list receives every kind.
pub fn targets_for<'a>(
    targets: &'a [NotifyTarget],
    kind: &str,
    recipient: Option<&str>,
) -> Vec<&'a NotifyTarget> {
    targets
        .iter()
        .filter(|t| t.events.is_empty() || t.events.iter().any(|e| e == kind))
        .filter(|t| match recipient {
            Some(r) => t.recipient.as_deref() == Some(r),
            None => t.recipient.is_none(),
        })
        .collect()
}

/// One message per target, or one unrouted (dead) message naming the gap.
pub fn route(
    targets: &[&NotifyTarget],
    id_base: &str,
    kind: &str,
    payload: &serde_json::Value,
    unrouted: impl FnOnce() -> String,
) -> Vec<NewOutboxMessage> {
    let payload_json = payload.to_string();
    if targets.is_empty() {
        return vec![NewOutboxMessage {
            message_id: id_base.to_owned(),
            kind: kind.to_owned(),
            channel: OutboxChannel::Unrouted,
            target: String::new(),
            payload_json,
            unrouted_reason: Some(unrouted()),
        }];
    }
    targets
        .iter()
        .map(|t| NewOutboxMessage {
            message_id: format!("{id_base}:{}", t.target_id),
            kind: kind.to_owned(),
            channel: t.channel,
            target: t.target_id.clone(),
            payload_json: payload_json.clone(),
            unrouted_reason: None,
        })
        .collect()
}

/// Delivers outbox messages; one per server process.
pub struct Courier {
    state: Arc<AppState>,
    config: OutboxConfig,
    client: reqwest::Client,
    owner: String,
}

impl std::fmt::Debug for Courier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Courier")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// Why one delivery attempt failed (kept short: it is stored and listed).
struct Failure {
    error: String,
    response_status: Option<u16>,
    /// Retrying cannot help (the target is gone).
    permanent: bool,
}

impl Courier {
    /// A courier with its own HTTP client; `owner` names it in leases and the audit
    /// log (one per process).
    pub fn new(state: Arc<AppState>, config: OutboxConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.webhook_timeout_secs.max(1)))
            // A webhook answers; it does not send troth elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            state,
            config,
            client,
            // The process id lets an operator (and the replica test) tell which
            // replica holds a lease.
            owner: format!(
                "outbox-{}-{}",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ),
        })
    }

    /// Claims and delivers the messages due now; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, troth_store::StoreError> {
        let now = Timestamp::now();
        let lease = SignedDuration::from_secs(i64::try_from(self.config.lease_secs).unwrap_or(60));
        let lease_until = now.checked_add(lease).unwrap_or(now);
        let claimed = self
            .state
            .store
            .claim_due(now, &self.owner, lease_until, 32)
            .await?;
        let attempted = claimed.len();
        // Each tenant's targets once per batch, not once per message; `None` when
        // they could not be read (those messages are retried later).
        let mut targets: std::collections::HashMap<TenantId, Option<Vec<NotifyTarget>>> =
            std::collections::HashMap::new();
        for m in &claimed {
            if m.channel != OutboxChannel::SubjectEmail && !targets.contains_key(&m.tenant) {
                let read = self.state.store.notify_targets(&m.tenant).await.ok();
                targets.insert(m.tenant.clone(), read);
            }
        }
        let targets = &targets;
        let results = futures_util::future::join_all(claimed.into_iter().map(|m| async move {
            let known = targets.get(&m.tenant).and_then(Option::as_deref);
            let outcome = self.attempt(&m, known).await;
            (m, outcome)
        }))
        .await;
        for (m, outcome) in results {
            let at = Timestamp::now();
            let outcome = match outcome {
                Ok(status) => DeliveryOutcome::Delivered {
                    response_status: status,
                },
                Err(f) if f.permanent || m.attempts >= self.config.max_attempts => {
                    DeliveryOutcome::Dead {
                        error: f.error,
                        response_status: f.response_status,
                    }
                }
                Err(f) => {
                    let delay = backoff(m.attempts, &self.config, rand_unit());
                    let retry_at = at
                        .checked_add(SignedDuration::try_from(delay).unwrap_or_default())
                        .unwrap_or(at);
                    DeliveryOutcome::Failed {
                        error: f.error,
                        response_status: f.response_status,
                        retry_at,
                    }
                }
            };
            tracing::info!(
                // Not the message id: notice ids carry the subject's id.
                tenant = %m.tenant,
                kind = %m.kind,
                attempt = m.attempts,
                outcome = match &outcome {
                    DeliveryOutcome::Delivered { .. } => "delivered",
                    DeliveryOutcome::Failed { .. } => "retry",
                    DeliveryOutcome::Dead { .. } => "dead",
                },
                "outbox delivery"
            );
            self.state
                .store
                .finish_delivery(&m.tenant, &m.message_id, &self.owner, &outcome, at)
                .await?;
        }
        Ok(attempted)
    }

    async fn attempt(
        &self,
        m: &OutboxMessage,
        targets: Option<&[NotifyTarget]>,
    ) -> Result<Option<u16>, Failure> {
        if m.channel == OutboxChannel::SubjectEmail {
            return self.subject_email(m).await.map(|()| None);
        }
        let targets = targets.ok_or_else(|| Failure {
            error: "store unavailable".into(),
            response_status: None,
            permanent: false,
        })?;
        let Some(target) = targets.iter().find(|t| t.target_id == m.target) else {
            return Err(Failure {
                error: format!("notify target {:?} no longer exists", m.target),
                response_status: None,
                permanent: true,
            });
        };
        match m.channel {
            OutboxChannel::Webhook => self.webhook(m, target).await,
            OutboxChannel::Email => self.email(m, &target.address).await.map(|()| None),
            OutboxChannel::SubjectEmail | OutboxChannel::Unrouted => Err(Failure {
                error: "no notify target".into(),
                response_status: None,
                permanent: true,
            }),
        }
    }

    async fn webhook(&self, m: &OutboxMessage, t: &NotifyTarget) -> Result<Option<u16>, Failure> {
        let data: serde_json::Value =
            serde_json::from_str(&m.payload_json).map_err(|_| Failure {
                error: "stored payload is not JSON".into(),
                response_status: None,
                permanent: true,
            })?;
        let body = serde_json::json!({
            "id": m.message_id,
            "kind": m.kind,
            "tenant": m.tenant.as_str(),
            "created": m.created,
            "data": data,
        })
        .to_string();
        let secret = webhook_secret(&self.state, &m.tenant, &t.target_id, t.generation);
        let now = Timestamp::now().as_second();
        let signature = troth_connectors::http::sign(secret.as_bytes(), now, body.as_bytes());
        let response = self
            .client
            .post(&t.address)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("troth-message-id", &m.message_id)
            .header("troth-event", &m.kind)
            .header(troth_connectors::http::TIMESTAMP_HEADER, now.to_string())
            .header(troth_connectors::http::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| Failure {
                // The error kind only: reqwest's text can quote the URL.
                error: if e.is_timeout() {
                    "timed out".into()
                } else if e.is_connect() {
                    "connection failed".into()
                } else {
                    "request failed".into()
                },
                response_status: None,
                permanent: false,
            })?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            Ok(Some(status))
        } else {
            Err(Failure {
                error: format!("receiver answered {status}"),
                response_status: Some(status),
                permanent: false,
            })
        }
    }

    /// Mails a data subject: the address is decrypted from their identities now (a
    /// read audited with the notice's purpose), used once and dropped.
    async fn subject_email(&self, m: &OutboxMessage) -> Result<(), Failure> {
        let subject = troth_crypto::SubjectId::new(m.target.clone());
        let access = troth_store::Access::new("system:outbox", m.kind.clone());
        let identities = self
            .state
            .store
            .identities(&m.tenant, &subject, &access)
            .await
            .map_err(|e| Failure {
                // A shredded subject has no identities left to decrypt: nothing to send.
                permanent: e.is_key_destroyed()
                    || matches!(e, troth_store::StoreError::NotFound(_)),
                error: "the subject's address cannot be read".into(),
                response_status: None,
            })?;
        let Some((_, address)) = identities
            .iter()
            .find(|(k, _)| *k == troth_crypto::IdentifierKind::Email)
        else {
            return Err(Failure {
                error: "the subject has no email address".into(),
                response_status: None,
                permanent: true,
            });
        };
        self.email(m, address).await
    }

    async fn email(&self, m: &OutboxMessage, to: &str) -> Result<(), Failure> {
        let Some(mailer) = &self.state.mailer else {
            return Err(Failure {
                error: "no SMTP relay configured".into(),
                response_status: None,
                permanent: false,
            });
        };
        let (subject, body) = email_text(m);
        mailer
            .send_notice(to, &subject, &body)
            .await
            .map_err(|e| Failure {
                error: e.to_string(),
                response_status: None,
                permanent: false,
            })
    }

    /// Runs until the process ends: delivers due messages every `poll_ms`, and raises
    /// deadline alarms every `alarm_interval_secs`.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_millis(self.config.poll_ms.max(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let alarm_every = Duration::from_secs(self.config.alarm_interval_secs.max(1));
            let mut last_alarms: Option<tokio::time::Instant> = None;
            loop {
                tick.tick().await;
                if last_alarms.is_none_or(|t| t.elapsed() >= alarm_every) {
                    last_alarms = Some(tokio::time::Instant::now());
                    if let Err(e) = raise_alarms(&self.state, Timestamp::now()).await {
                        tracing::warn!(error = %e, "deadline alarms failed");
                    }
                }
                // Drain everything due before sleeping again.
                loop {
                    match self.deliver_due().await {
                        Ok(0) => break,
                        Ok(_) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "outbox delivery failed");
                            break;
                        }
                    }
                }
            }
        })
    }
}

fn rand_unit() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_be_bytes(b)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

/// Subject line and plain-text body of a notice email (en and zh-CN). The payload
/// holds pseudonymous ids only.
fn email_text(m: &OutboxMessage) -> (String, String) {
    let data: serde_json::Value = serde_json::from_str(&m.payload_json).unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&data).unwrap_or_default();
    let (subject, intro) = match m.kind.as_str() {
        DELETION_NOTICE => (
            "Deletion notice / 删除通知".to_owned(),
            format!(
                "A person whose personal information {tenant} disclosed to you has had it deleted. \
                 Delete the data listed below that you received from us, and confirm.\n\
                 {tenant}向贵方提供的个人信息已应本人要求删除。请删除下列自我方收到的数据并予以确认。",
                tenant = m.tenant
            ),
        ),
        REQUEST_ALARM => (
            format!(
                "Rights request deadline: {} / 个人信息请求期限提醒",
                data.get("level")
                    .and_then(|v| v.as_str())
                    .unwrap_or("alarm")
            ),
            "A data-subject request is approaching or past its legal deadline.\n\
             一项个人信息主体请求即将或已经超过法定期限。"
                .to_owned(),
        ),
        INCIDENT_NOTICE
        | INCIDENT_ANNOUNCEMENT
        | CESSATION_NOTICE
        | CESSATION_ANNOUNCEMENT
        | POLICY_NOTICE
        | POLICY_ANNOUNCEMENT
        | CONTROLLER_NOTICE
        | CONTROLLER_ANNOUNCEMENT => {
            // The payload carries the notice already written in both languages.
            let text = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            return (
                format!("{} / {}", text("subject_en"), text("subject_zh")),
                format!(
                    "{}\n\n{}\n\nmessage id: {}\n",
                    text("body_en"),
                    text("body_zh"),
                    m.message_id
                ),
            );
        }
        other => (format!("troth notice: {other}"), String::new()),
    };
    (
        subject,
        format!("{intro}\n\nmessage id: {}\n\n{pretty}\n", m.message_id),
    )
}

/// Enqueues a `request.alarm` message for each open request whose alarm level
/// (50 %, 80 %, overdue) has no message yet. Message ids are
/// `alarm:<request>:<level>`, so each level is raised once however often this runs
/// and on however many replicas. Returns how many messages were new.
pub async fn raise_alarms(state: &AppState, now: Timestamp) -> Result<u64, AlarmError> {
    let open = state.store.open_requests_all(10_000).await?;
    let mut new = 0;
    let mut targets_by_tenant: std::collections::HashMap<TenantId, Vec<NotifyTarget>> =
        std::collections::HashMap::new();
    for record in open {
        let tenant = record.tenant.clone();
        let loaded = match crate::api::requests::load_record(state, &tenant, record).await {
            Ok(l) => l,
            Err(_) => {
                tracing::warn!(tenant = %tenant, "open request could not be replayed for alarms");
                continue;
            }
        };
        let level = loaded.request.alarm(now, &loaded.rules, &loaded.calendar);
        let code = match level {
            Alarm::None => continue,
            Alarm::Half => "half",
            Alarm::EightyPercent => "eighty_percent",
            Alarm::Overdue => "overdue",
        };
        if !targets_by_tenant.contains_key(&tenant) {
            let t = state.store.notify_targets(&tenant).await?;
            targets_by_tenant.insert(tenant.clone(), t);
        }
        let targets = targets_by_tenant
            .get(&tenant)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let request_id = loaded.record.request_id.clone();
        let payload = serde_json::json!({
            "request_id": request_id,
            "subject": loaded.record.subject.as_str(),
            "kind": loaded.details.kind.as_str(),
            "level": code,
            "due": loaded.due(),
            "status": loaded.request.state().status().as_str(),
        });
        let messages = route(
            &targets_for(targets, REQUEST_ALARM, None),
            &format!("alarm:{request_id}:{code}"),
            REQUEST_ALARM,
            &payload,
            || "no notify target subscribes to request.alarm".to_owned(),
        );
        new += state
            .store
            .enqueue(&tenant, &messages, "system:alarms")
            .await?;
    }
    Ok(new)
}

/// Why raising alarms failed.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] troth_store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let c = OutboxConfig::default();
        assert_eq!(backoff(1, &c, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(2, &c, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(5, &c, 0.0), Duration::from_secs(32));
        assert_eq!(backoff(30, &c, 0.0), Duration::from_secs(3600));
        // Jitter only shortens, by at most a fifth.
        assert_eq!(backoff(1, &c, 1.0), Duration::from_millis(1600));
        assert!(backoff(40, &c, 0.3) <= Duration::from_secs(3600));
    }

    fn target(id: &str, recipient: Option<&str>, events: &[&str]) -> NotifyTarget {
        NotifyTarget {
            tenant: TenantId::new("t"),
            target_id: id.into(),
            channel: OutboxChannel::Webhook,
            address: "https://example.com/hook".into(),
            recipient: recipient.map(str::to_owned),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            generation: 1,
            updated: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn routing_by_kind_and_recipient() {
        let ts = [
            target("ops", None, &[REQUEST_ALARM]),
            target("all", None, &[]),
            target("partner", Some("acme"), &[DELETION_NOTICE]),
        ];
        let ids = |v: Vec<&NotifyTarget>| v.iter().map(|t| t.target_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(targets_for(&ts, REQUEST_ALARM, None)), ["ops", "all"]);
        assert_eq!(
            ids(targets_for(&ts, DELETION_NOTICE, Some("acme"))),
            ["partner"]
        );
        assert!(targets_for(&ts, DELETION_NOTICE, Some("other")).is_empty());
        let m = route(
            &[],
            "deletion:r:other",
            DELETION_NOTICE,
            &serde_json::json!({}),
            || "no target for other".into(),
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].channel, OutboxChannel::Unrouted);
        assert_eq!(m[0].unrouted_reason.as_deref(), Some("no target for other"));
        let found = targets_for(&ts, DELETION_NOTICE, Some("acme"));
        let m = route(
            &found,
            "deletion:r:acme",
            DELETION_NOTICE,
            &serde_json::json!({}),
            String::new,
        );
        assert_eq!(m[0].message_id, "deletion:r:acme:partner");
        assert_eq!(m[0].channel, OutboxChannel::Webhook);
    }
}
