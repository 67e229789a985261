//! The OpenAPI document for `/v1`, generated from the handlers' annotations, and the
//! routes that serve it (`/openapi.json`) and its human page (`/docs`).

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{calendar, certification, cessations, holds, reports, retention};

use crate::api::{
    audit, consents, decisions, disclosures, exports, fulfil, incidents, keys, outbox, policies,
    requests, subjects, vault,
};

/// Adds the bearer-key security scheme.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The `/v1` API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "troth API",
        description = "Consent, decisions, the PI vault, disclosures and the audit log for one tenant. \
                       Every request carries `Authorization: Bearer troth_…`; the key decides the tenant \
                       and the role. Writes accept an `Idempotency-Key` header. Errors are RFC 9457 \
                       problem+json."
    ),
    modifiers(&BearerKeys),
    paths(
        keys::tenant, keys::create, keys::list, keys::revoke,
        policies::publish, policies::list, policies::get, policies::render, policies::diff,
        policies::notices, crate::api::transfers::record,
        subjects::create, subjects::set_age, subjects::get, subjects::lookup, subjects::erase,
        consents::record, consents::current, consents::history, consents::receipt, consents::receipt_key,
        consents::targeting, consents::accept_version,
        decisions::single, decisions::batch,
        vault::put, vault::get, vault::delete,
        disclosures::record, disclosures::list,
        certification::submit, certification::get, certification::copy, certification::review,
        requests::submit, requests::get, requests::list, requests::transition,
        requests::send_code, requests::confirm_code,
        exports::create, exports::download,
        incidents::create, incidents::list, incidents::get, incidents::assess,
        incidents::notify, incidents::close, incidents::notice_text, incidents::report,
        outbox::list, outbox::get, outbox::retry,
        outbox::put_target, outbox::list_targets, outbox::delete_target,
        retention::sweep,
        cessations::start, cessations::list, cessations::get,
        holds::place, holds::list, holds::get, holds::lift,
        calendar::get, calendar::put,
        reports::aggregate, reports::generate_pia, reports::generate_ropa, reports::list_pia,
        reports::list_ropa,
        reports::get,
        audit::list, audit::verify
    ),
    components(schemas(
        keys::TenantInfo, keys::NewKeyRequest, keys::KeyInfo, keys::CreatedKey,
        policies::VersionInfo, policies::Upload, crate::notices::FanOut,
        crate::transfer::NewTransfer, crate::transfer::Transfer,
        subjects::Identity, subjects::AgeInput, subjects::AgeUpdate, subjects::NewSubject, subjects::SubjectInfo,
        subjects::Lookup, subjects::Found, subjects::Erased,
        consents::ConsentInput, consents::Recorded,
        consents::TargetingInput, consents::AcceptInput, consents::AcceptMethod, consents::Appended,
        decisions::Question, decisions::Answer, decisions::Batch, decisions::BatchAnswer,
        vault::PutValue, vault::VaultValue,
        disclosures::NewDisclosure, disclosures::DisclosureInfo,
        certification::KindInput, certification::Submission, certification::CopyInput,
        certification::Verdict, certification::Review, certification::CertificationView,
        requests::NewRequest, requests::RequestView, requests::Move, requests::CodeSent,
        requests::CodeInput, exports::ExportCreated, fulfil::Asks, fulfil::CorrectionInput,
        fulfil::CorrectionRef,
        incidents::Bilingual, incidents::NewIncident, incidents::IncidentView, incidents::Notice,
        outbox::MessageView, outbox::TargetBody, outbox::TargetView,
        retention::SweepRequest, retention::SweepResult, retention::DueView, retention::HeldView,
        holds::NewHoldBody, holds::HoldView,
        crate::cessation::StartCessation, crate::cessation::CessationReport,
        crate::cessation::NoticeProgress, crate::cessation::RecordProgress,
        calendar::DayInput, calendar::CalendarYearInput, calendar::DayView, calendar::CalendarView,
        reports::AggregateReport, reports::DocumentView,
        audit::Verification
    )),
    tags(
        (name = "keys", description = "The tenant and its API keys (admin)"),
        (name = "policies", description = "Policy versions: publish, read, render, compare"),
        (name = "subjects", description = "Data subjects, identities by blind index, erasure"),
        (name = "consent", description = "Consent events, state, history and signed receipts"),
        (name = "decisions", description = "May these data be used for this purpose now?"),
        (name = "vault", description = "Encrypted personal information, purpose-checked"),
        (name = "disclosures", description = "Sharing, transfers and public disclosures"),
        (name = "certification", description = "Developer real-name certification: checked numbers, third-party check, manual review"),
        (name = "requests", description = "Data-subject rights requests with legal deadlines"),
        (name = "incidents", description = "Breaches: affected people, notices, regulator report"),
        (name = "outbox", description = "Notifications: notify targets, delivery, dead letters"),
        (name = "retention", description = "Retention sweeps: due records deleted or anonymized"),
        (name = "holds", description = "Legal holds that keep data past retention and erasure"),
        (name = "cessations", description = "Cessation of operations: collection stops, people are told, data goes"),
        (name = "calendar", description = "Public holidays and make-up working days for deadlines"),
        (name = "reports", description = "Aggregate statistics (k-anonymous), PIA and RoPA"),
        (name = "audit", description = "The hash-chained audit log")
    )
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

/// `/openapi.json` and `/docs`.
pub fn routes() -> Router {
    let doc = document();
    let page = crate::docs::page(&doc);
    let json = doc.to_string();
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let page = page.clone();
                async move { Html(page) }
            }),
        )
}
