//! Notices to everyone a tenant holds data about: a new policy version (seed 001
//! R14, seed 004 R25) and a transfer of the controller (seed 002 R10, seed 003 R22).
//!
//! [`fan_out`] pages through the tenant's subjects ([`PAGE`] at a time, never all in
//! memory) and queues, per person, an email (the address is decrypted only at
//! delivery, see [`crate::outbox`]) and a push through the tenant's webhook, on the
//! channels the pack declares; then one announcement for the home page when the pack
//! names it, or when someone could not be told individually. Every message id is
//! derived from the event and the person (`policy:<hash>:<subject>:email`, …) and the
//! outbox stores an id once, so a fan-out cut short (the process died after the
//! publication committed) is finished by running it again — `POST
//! /v1/policies/{version}/notices`, or the transfer again — and nobody is told twice.
//! Payloads hold no personal information: the version, its dates, the change
//! criteria, a link to the privacy center's diff and the text in both languages.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;
use troth_policy::{Criterion, Lang, NoticeChannel, Policy};
use troth_store::{
    AnyStore, NewOutboxMessage, OutboxChannel, OutboxStore, StoreError, SubjectId, TenantId,
};

use crate::outbox;

/// Subjects read, and their messages queued, per page (one transaction each).
pub const PAGE: u32 = 500;

/// One event to tell everyone about.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    /// Kind of the per-person messages (`policy.notice`, `controller.notice`).
    pub kind: &'static str,
    /// Kind of the home-page announcement.
    pub announcement_kind: &'static str,
    /// Prefix of every message id; names the event (`policy:<hash>`).
    pub id_base: String,
    /// The channels the pack declares for this event.
    pub channels: &'a [NoticeChannel],
    /// The PI-free payload; `subject` (the pseudonymous id, or null on the
    /// announcement) is added per message.
    pub payload: serde_json::Value,
}

/// What a fan-out queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FanOut {
    /// People told (subjects not erased).
    pub subjects: u64,
    /// Of those, told by email.
    pub by_email: u64,
    /// Of those, told by push through the tenant's webhook.
    pub by_push: u64,
    /// Of those, reachable by no individual channel (the announcement tells them).
    pub unreachable: u64,
    /// Whether a home-page announcement was queued.
    pub announcement: bool,
    /// Messages newly queued by this run (0 when an earlier run queued them all).
    pub queued: u64,
}

fn announces(c: NoticeChannel) -> bool {
    // A pop-up is shown by the app from the announcement, like the home page.
    matches!(
        c,
        NoticeChannel::HomePage | NoticeChannel::Announcement | NoticeChannel::PopUp
    )
}

/// Queues `notice` to every subject of `tenant` (see the module documentation).
pub async fn fan_out(
    store: &AnyStore,
    tenant: &TenantId,
    notice: &Notice<'_>,
    actor: &str,
) -> Result<FanOut, StoreError> {
    let channels: BTreeSet<NoticeChannel> = notice.channels.iter().copied().collect();
    let targets = store.notify_targets(tenant).await?;
    let push = outbox::targets_for(&targets, notice.kind, None);
    let by_email = channels.contains(&NoticeChannel::Email);
    let by_push = channels.contains(&NoticeChannel::Push) && !push.is_empty();
    let with = |subject: Option<&str>| {
        let mut p = notice.payload.clone();
        p["subject"] = subject.into();
        p
    };
    let mut out = FanOut::default();
    let mut after: Option<SubjectId> = None;
    loop {
        let page = store.notice_subjects(tenant, after.as_ref(), PAGE).await?;
        let mut messages = Vec::with_capacity(page.len());
        for (s, has_email) in &page {
            let sid = s.as_str();
            let mut told = false;
            if by_email && *has_email {
                messages.push(NewOutboxMessage {
                    message_id: format!("{}:{sid}:email", notice.id_base),
                    kind: notice.kind.to_owned(),
                    channel: OutboxChannel::SubjectEmail,
                    target: sid.to_owned(),
                    payload_json: with(Some(sid)).to_string(),
                    unrouted_reason: None,
                });
                out.by_email += 1;
                told = true;
            }
            if by_push {
                messages.extend(outbox::route(
                    &push,
                    &format!("{}:{sid}", notice.id_base),
                    notice.kind,
                    &with(Some(sid)),
                    String::new,
                ));
                out.by_push += 1;
                told = true;
            }
            if !told {
                out.unreachable += 1;
            }
        }
        out.subjects += page.len() as u64;
        if !messages.is_empty() {
            out.queued += store.enqueue(tenant, &messages, actor).await?;
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE as usize => after = Some(last.clone()),
            _ => break,
        }
    }
    if channels.iter().copied().any(announces) || out.unreachable > 0 {
        let kind = notice.announcement_kind;
        let messages = outbox::route(
            &outbox::targets_for(&targets, kind, None),
            &format!("{}:announcement", notice.id_base),
            kind,
            &with(None),
            || format!("no notify target subscribes to {kind}"),
        );
        out.queued += store.enqueue(tenant, &messages, actor).await?;
        out.announcement = true;
    }
    Ok(out)
}

fn date(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// The privacy center's page comparing two versions.
pub fn diff_link(tenant: &TenantId, from: &str, to: &str) -> String {
    format!("/t/{tenant}/policy/diff?from={from}&to={to}")
}

/// The payload of a policy-change notice: what changed between `old` and `new`
/// (hashes `old_hash`, `new_hash`), when it takes effect, where to read the diff,
/// and the text in both languages.
pub fn policy_payload(
    tenant: &TenantId,
    (old, old_hash): (&Policy, &str),
    (new, new_hash): (&Policy, &str),
    effective: Timestamp,
) -> serde_json::Value {
    let d = troth_policy::diff(old, new);
    let link = diff_link(tenant, old_hash, new_hash);
    let criteria: Vec<Criterion> = d.criteria.iter().copied().collect();
    let clauses = |lang: Lang, sep: &str| {
        criteria
            .iter()
            .map(|c| c.describe(lang))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let name = |lang: Lang| new.controller.legal_name.get(lang).to_owned();
    let (accept_en, accept_zh) = if d.needs_explicit_consent {
        (
            "Processing that relies on your consent stops until you accept the new version.",
            "基于您同意的处理活动将暂停，直至您接受新版本。",
        )
    } else {
        (
            "Your consents carry over; you can withdraw them at any time.",
            "您此前作出的同意继续有效，您可随时撤回。",
        )
    };
    let (what_en, what_zh) = if d.significant {
        (
            format!("This is a significant change: {}.", clauses(Lang::En, "; ")),
            format!("本次为重大变更：{}。", clauses(Lang::ZhCn, "；")),
        )
    } else {
        (String::new(), String::new())
    };
    serde_json::json!({
        "version": new.policy.version,
        "content_hash": new_hash,
        "previous_hash": old_hash,
        "effective": effective,
        "significant": d.significant,
        "criteria": criteria,
        "needs_explicit_consent": d.needs_explicit_consent,
        "diff_url": link,
        "subject_en": format!("{}: our privacy policy changes on {}", name(Lang::En), date(effective)),
        "subject_zh": format!("{}：隐私政策将于{}更新", name(Lang::ZhCn), date(effective)),
        "body_en": format!(
            "We have updated our privacy policy (version {v}). It takes effect on {e}. \
             {what_en}\n{accept_en}\nWhat changed: {link}\n",
            v = new.policy.version,
            e = date(effective),
        ),
        "body_zh": format!(
            "我们更新了隐私政策（版本{v}），将于{e}生效。{what_zh}\n{accept_zh}\n变更内容：{link}\n",
            v = new.policy.version,
            e = date(effective),
        ),
    })
}

/// The payload of a transfer-of-controller notice.
pub fn controller_payload(
    tenant: &TenantId,
    (old, old_hash): (&Policy, &str),
    (new, new_hash): (&Policy, &str),
    effective: Timestamp,
    new_holder_bound: bool,
    renewal_required: bool,
) -> serde_json::Value {
    let from = |lang: Lang| old.controller.legal_name.get(lang).to_owned();
    let to = |lang: Lang| new.controller.legal_name.get(lang).to_owned();
    let link = diff_link(tenant, old_hash, new_hash);
    let (bound_en, bound_zh) = if new_holder_bound {
        (
            "The new controller is bound by this privacy policy and keeps protecting your personal information as it promises.",
            "新的个人信息处理者将继续受本隐私政策约束，并按其承诺保护您的个人信息。",
        )
    } else {
        (
            "The new controller is not bound by the old policy.",
            "新的个人信息处理者不受原隐私政策约束。",
        )
    };
    let (renew_en, renew_zh) = if renewal_required {
        (
            "Processing that relies on your consent stops from that date until you consent again.",
            "自该日起，基于您同意的处理活动将暂停，直至您重新同意。",
        )
    } else {
        (
            "Your consents carry over to the new controller; you can withdraw them at any time.",
            "您此前作出的同意对新的处理者继续有效，您可随时撤回。",
        )
    };
    serde_json::json!({
        "version": new.policy.version,
        "content_hash": new_hash,
        "previous_hash": old_hash,
        "effective": effective,
        "previous_controller": from(Lang::En),
        "new_controller": to(Lang::En),
        "new_holder_bound": new_holder_bound,
        "renewal_required": renewal_required,
        "diff_url": link,
        "subject_en": format!("{} transfers your personal information to {}", from(Lang::En), to(Lang::En)),
        "subject_zh": format!("{}将您的个人信息转移至{}", from(Lang::ZhCn), to(Lang::ZhCn)),
        "body_en": format!(
            "On {e}, {f} transfers the personal information it holds about you to {t} \
             (merger, acquisition or transfer of assets). {bound_en}\n{renew_en}\n\
             The policy as it will read: {link}\n",
            e = date(effective),
            f = from(Lang::En),
            t = to(Lang::En),
        ),
        "body_zh": format!(
            "因合并、收购或资产转让，{f}将于{e}把其持有的您的个人信息转移至{t}。{bound_zh}\n{renew_zh}\n\
             变更后的隐私政策：{link}\n",
            e = date(effective),
            f = from(Lang::ZhCn),
            t = to(Lang::ZhCn),
        ),
    })
}
