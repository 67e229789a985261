//! Transfer of the controller: a merger, acquisition or transfer of assets moves the
//! personal information to a new controller (seed 002 R10, seed 003 R22).
//!
//! The operator first publishes the version of the policy that names the new
//! controller, with the transfer's date as its effective date, then records the
//! transfer naming that version, the new controller and the date ([`record`]: `POST
//! /v1/controller-transfers` for admins, or `troth controller transfer`). Recording
//! it is audited as `controller.transferred` and tells every person
//! (`controller.notice` per person on the channels the old policy promised in
//! `[changes.controller_transfer]`, and a `controller.announcement` for the home
//! page), saying whether their consents carry over. Whether they do is the engine's
//! rule, not this module's: consent validity follows the version history
//! (`troth_core::consent_breaks`), so from the effective date a consent given under
//! the old controller counts only where the old policy bound the new holder and the
//! change needs no explicit acceptance; else decisions answer
//! `consent_renewal_required` until the person consents again. Recording the same
//! transfer again finishes an interrupted fan-out and queues nothing twice (see
//! [`crate::notices`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_policy::Lang;
use troth_store::{Store, StoreError, TenantId};

use crate::api::state::{AppState, Published};
use crate::notices::{self, FanOut, Notice};
use crate::outbox::{CONTROLLER_ANNOUNCEMENT, CONTROLLER_NOTICE};

/// A transfer of the controller to record.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    /// The published version that names the new controller (content hash or label).
    pub version: String,
    /// The new controller's legal name as that version gives it (either language).
    pub new_controller: String,
    /// When the new controller takes over (`YYYY-MM-DD`): the version's effective date.
    pub effective: String,
}

/// A recorded transfer and the notices it queued.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Transfer {
    /// The version naming the new controller (label).
    pub version: String,
    /// Its content hash.
    pub content_hash: String,
    /// The controller before (English legal name).
    pub previous_controller: String,
    /// The new controller (English legal name).
    pub new_controller: String,
    /// When the new controller takes over.
    #[schema(value_type = String, format = DateTime)]
    pub effective: Timestamp,
    /// Whether the old policy binds the new holder (`[changes.controller_transfer]`;
    /// a policy without that section promised nothing else, and consent carries over).
    pub new_holder_bound: bool,
    /// Whether consents given before need renewal from `effective` (the engine's
    /// consent validity across the two versions).
    pub renewal_required: bool,
    /// The notices queued to every person.
    pub notices: FanOut,
}

/// Why a transfer could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The tenant does not exist.
    #[error("no such tenant")]
    NoTenant,
    /// No published version has that hash or label.
    #[error("no policy version `{0}`")]
    NoVersion(String),
    /// The request does not match the version (the field, and why).
    #[error("{1}")]
    Mismatch(&'static str, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tenant's policies could not be loaded.
    #[error("the tenant's policies could not be loaded: {0}")]
    Runtime(#[from] crate::api::state::RuntimeError),
}

/// The version `which` and the one published before it.
async fn versions(
    state: &AppState,
    tenant: &TenantId,
    which: &str,
) -> Result<(Published, Option<Published>), TransferError> {
    let rt = state
        .tenant(tenant)
        .await
        .map_err(TransferError::Runtime)?
        .ok_or(TransferError::NoTenant)?;
    let versions = rt.versions.read().await;
    let pos = versions
        .iter()
        .position(|p| p.record.content_hash == which || p.record.label == which)
        .ok_or_else(|| TransferError::NoVersion(which.to_owned()))?;
    let old = pos.checked_sub(1).and_then(|i| versions.get(i)).cloned();
    Ok((versions[pos].clone(), old))
}

/// Records a transfer of the controller in `tenant` and tells everyone (see the
/// module documentation).
pub async fn record(
    state: &AppState,
    tenant: &TenantId,
    req: &NewTransfer,
    actor: &str,
) -> Result<Transfer, TransferError> {
    let mismatch = |field, why: String| TransferError::Mismatch(field, why);
    let effective_date: jiff::civil::Date = req
        .effective
        .parse()
        .map_err(|_| mismatch("effective", "a date as YYYY-MM-DD".into()))?;
    let (new, old) = versions(state, tenant, &req.version).await?;
    let old = old.ok_or_else(|| {
        mismatch(
            "version",
            "this is the first version: publish the version that names the new controller first"
                .into(),
        )
    })?;
    let label = &new.record.label;
    let (before, after) = (&old.policy.controller, &new.policy.controller);
    if before.legal_name == after.legal_name {
        return Err(mismatch(
            "version",
            format!(
                "version `{label}` names the same controller as the version before it; \
                 publish one whose controller.legal_name is the new controller"
            ),
        ));
    }
    let named = req.new_controller.trim();
    if ![Lang::En, Lang::ZhCn]
        .iter()
        .any(|l| after.legal_name.get(*l) == named)
    {
        return Err(mismatch(
            "new_controller",
            format!(
                "version `{label}` names the controller `{}`",
                after.legal_name.get(Lang::En)
            ),
        ));
    }
    if new.policy.policy.effective != effective_date {
        return Err(mismatch(
            "effective",
            format!(
                "version `{label}` takes effect on {}",
                new.policy.policy.effective
            ),
        ));
    }
    // The promise people were given is the old policy's.
    let rules = old.policy.changes.controller_transfer.as_ref();
    let channels = rules.map_or(&old.policy.changes.notice_channels, |r| &r.notice_channels);
    let new_holder_bound = rules.is_none_or(|r| r.new_holder_bound);
    let renewal_required = troth_core::consent_breaks(&old.policy, &new.policy);
    let hash = new.record.content_hash.clone();
    state
        .store
        .append_audit(
            tenant,
            vec![troth_store::AuditEvent {
                time: Timestamp::now(),
                actor: actor.to_owned(),
                action: "controller.transferred".to_owned(),
                target: format!("policy:{hash}"),
                detail: serde_json::json!({
                    "version": label,
                    "previous_hash": old.record.content_hash,
                    "effective": new.record.effective,
                    "new_holder_bound": new_holder_bound,
                    "renewal_required": renewal_required,
                })
                .to_string(),
            }],
        )
        .await?;
    let payload = notices::controller_payload(
        tenant,
        (&old.policy, &old.record.content_hash),
        (&new.policy, &hash),
        new.record.effective,
        new_holder_bound,
        renewal_required,
    );
    let notice = Notice {
        kind: CONTROLLER_NOTICE,
        announcement_kind: CONTROLLER_ANNOUNCEMENT,
        id_base: format!("controller:{hash}"),
        channels,
        payload,
    };
    let f = notices::fan_out(&state.store, tenant, &notice, actor).await?;
    tracing::info!(tenant = %tenant, subjects = f.subjects, queued = f.queued, renewal_required, "controller transfer recorded");
    Ok(Transfer {
        version: label.clone(),
        content_hash: hash,
        previous_controller: before.legal_name.get(Lang::En).to_owned(),
        new_controller: after.legal_name.get(Lang::En).to_owned(),
        effective: new.record.effective,
        new_holder_bound,
        renewal_required,
        notices: f,
    })
}
