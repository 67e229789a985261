//! `/v1/controller-transfers`: record a transfer of the controller (a merger,
//! acquisition or transfer of assets) and tell everyone; admins only
//! ([`Permission::TransferController`]). The work is [`crate::transfer::record`].

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;

use crate::api::caller::Caller;
use crate::api::state::AppState;
use crate::api::store_error;
use crate::auth::Permission;
use crate::error::{ApiError, ProblemKind};
use crate::extract::ApiJson;
use crate::transfer::{self, NewTransfer, Transfer, TransferError};

/// Records a transfer of the controller: the published version naming the new
/// controller, that controller's name and the version's effective date must agree.
/// Every person is told on the channels the old policy promised; the answer says
/// whether their consents carry over or need renewal from the effective date.
/// Recording it again queues only what is missing.
#[utoipa::path(post, path = "/v1/controller-transfers", tag = "policies", request_body = NewTransfer,
    responses((status = 200, body = Transfer), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn record(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<NewTransfer>,
) -> Result<axum::Json<Transfer>, ApiError> {
    caller.require(Permission::TransferController)?;
    transfer::record(&state, &caller.tenant, &body, &caller.actor())
        .await
        .map(axum::Json)
        .map_err(|e| match e {
            TransferError::NoTenant => ApiError::not_found("tenant"),
            TransferError::NoVersion(_) => ApiError::not_found("policy version").field("version"),
            TransferError::Mismatch(field, why) => {
                ApiError::new(ProblemKind::Unprocessable, why).field(field)
            }
            TransferError::Store(s) => store_error(s),
            TransferError::Runtime(e) => crate::api::runtime_error(e),
        })
}
