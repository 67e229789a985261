//! Every promise row and how it is covered. Keep in table order.

use crate::{Entry, Status};

const fn t(row: &'static str, name: &'static str) -> Entry {
    Entry {
        row,
        status: Status::Test { name, note: None },
    }
}

const fn tn(row: &'static str, name: &'static str, note: &'static str) -> Entry {
    Entry {
        row,
        status: Status::Test {
            name,
            note: Some(note),
        },
    }
}

// Every row has its test now; kept for a row that is added without one.
#[allow(dead_code)]
const fn m(row: &'static str, reason: &'static str) -> Entry {
    Entry {
        row,
        status: Status::Missing { reason },
    }
}

/// The registry: one entry per row of every promise table.
pub const REGISTRY: &[Entry] = &[
    // S000 — UCOMMUNE
    tn(
        "S000 R01",
        "s000_r01_registration_fields_viewed_and_corrected_audited",
        "the subject's own key reads; the correction is written by the tenant's app key (subject keys cannot write the vault; correction requests are #7)",
    ),
    t("S000 R02", "s000_r02_log_categories_only_for_logging"),
    t(
        "S000 R03",
        "s000_r03_device_identifiers_only_for_declared_purposes",
    ),
    t("S000 R04", "s000_r04_location_only_for_location_purpose"),
    tn(
        "S000 R05",
        "s000_r05_refused_cookies_denied_only_where_needed",
        "the refusal is recorded as a banner consent event through /v1/consents; the banner itself is #9",
    ),
    t("S000 R06", "s000_r06_pi_encrypted_no_plaintext_in_database"),
    t(
        "S000 R07",
        "s000_r07_personalisation_consent_gated_withdrawal_stops_it",
    ),
    t(
        "S000 R08",
        "s000_r08_undeclared_recipient_denied_affiliate_logged",
    ),
    t(
        "S000 R09",
        "s000_r09_partners_get_only_declared_categories_and_purposes",
    ),
    t(
        "S000 R10",
        "s000_r10_public_statistics_only_counts_at_or_above_k",
    ),
    tn(
        "S000 R11",
        "s000_r11_every_disclosure_records_one_of_the_bases",
        "a disclosure on consent is the pack's `prior-authorisation` case and may omit the basis; every other one must name one of the six",
    ),
    tn(
        "S000 R12",
        "s000_r12_wrong_role_denied_and_audited",
        "a 401 has no tenant to audit and is left to the request log",
    ),
    t("S000 R13", "s000_r13_under_18_needs_guardian_consent"),
    tn(
        "S000 R14",
        "s000_r14_new_version_published_with_changes_highlighted",
        "the changes are shown by GET /v1/policies/{v}/diff; the privacy-center page is #9",
    ),
    // S001 — social services
    t("S001 R01", "s001_r01_only_the_declared_purposes"),
    t("S001 R02", "s001_r02_ads_consent_gated_gpc_dnt_withdrawal"),
    t("S001 R03", "s001_r03_cross_service_needs_its_own_consent"),
    t(
        "S001 R04",
        "s001_r04_sharing_only_to_declared_recipients_logged",
    ),
    t(
        "S001 R05",
        "s001_r05_transfer_needs_separate_consent_logged_with_destination",
    ),
    t(
        "S001 R06",
        "s001_r06_legal_hold_keeps_records_through_deletion_citing_basis",
    ),
    tn(
        "S001 R07",
        "s001_r07_shared_content_deletion_completes_audited",
        "the shared content is a vault record (user-content); completion crypto-shreds the subject, so all of their records go, not one post",
    ),
    t(
        "S001 R08",
        "s001_r08_sensitive_categories_need_separate_consent",
    ),
    tn(
        "S001 R09",
        "s001_r09_requests_stay_verifying_until_identity_proven",
        "identity is proven by the one-time email code (POST /v1/requests/{id}/verification, …/confirm); access and correction are carried out outside troth, so only deletion's execution is observable",
    ),
    t("S001 R10", "s001_r10_tls_with_hsts"),
    t(
        "S001 R11",
        "s001_r11_sweep_removes_expired_records_keeps_held_ones",
    ),
    t("S001 R12", "s001_r12_two_minor_bands"),
    t("S001 R13", "s001_r13_service_policy_overrides_main_policy"),
    t(
        "S001 R14",
        "s001_r14_future_version_notified_to_everyone_before_it_takes_effect",
    ),
    t(
        "S001 R15",
        "s001_r15_rights_reduction_needs_renewed_consent",
    ),
    t("S001 R16", "s001_r16_complaint_tracked_to_an_answer"),
    // S002 — template
    t(
        "S002 R01",
        "s002_r01_optional_fields_never_block_registration",
    ),
    tn(
        "S002 R02",
        "s002_r02_cancelled_account_shredded_and_all_decisions_stop",
        "cancellation is DELETE /v1/subjects/{id}; a cancel-account request type is #7",
    ),
    t(
        "S002 R03",
        "s002_r03_cross_border_only_with_separate_authorisation",
    ),
    t("S002 R04", "s002_r04_photo_access_needs_its_own_consent"),
    t(
        "S002 R05",
        "s002_r05_analytics_allows_exactly_the_sdk_categories",
    ),
    t("S002 R06", "s002_r06_new_purpose_needs_consent"),
    t(
        "S002 R07",
        "s002_r07_tracking_consent_gated_unsubscribe_withdraws",
    ),
    tn(
        "S002 R08",
        "s002_r08_dnt_and_gpc_deny_tracking",
        "shown on the forwarded headers of /v1/decisions; the banner is #9",
    ),
    t(
        "S002 R09",
        "s002_r09_affiliate_changing_purpose_needs_new_consent",
    ),
    t(
        "S002 R10",
        "s002_r10_controller_transfer_notifies_and_binds_or_reasks",
    ),
    t(
        "S002 R11",
        "s002_r11_public_disclosure_needs_separate_consent",
    ),
    tn(
        "S002 R12",
        "s002_r12_breach_notices_every_affected_person_and_reports_to_regulator",
        "troth delivers the email (decrypted only at delivery) and push (the tenant's incident.notice webhook) notices; letters and phone calls are the tenant's, from the text of GET /v1/incidents/{id}/notice",
    ),
    tn(
        "S002 R13",
        "s002_r13_access_due_in_30_days_overdue_alarm_export_produced",
        "the clock is moved past the due date by running the courier's alarm pass (troth_server::outbox::raise_alarms, what `troth serve` runs every alarm interval) at a later instant; the alarm is read in GET /v1/outbox and the DPO's inbox",
    ),
    tn(
        "S002 R14",
        "s002_r14_correction_request_updates_the_value_audited",
        "the person's new values come with the request (kept encrypted until then) and are written when an operator completes it; a record the person does not have is not created",
    ),
    tn(
        "S002 R15",
        "s002_r15_deletion_notifies_every_recipient_backups_unreadable",
        "the backup is a copy of the data database (the SQLite data file, or a pg_dump) taken before the deletion and restored beside the live key database",
    ),
    t(
        "S002 R16",
        "s002_r16_withdrawal_immediate_earlier_events_kept",
    ),
    tn(
        "S002 R17",
        "s002_r17_targeting_opt_out_denies_marketing",
        "the opt-out is POST /v1/subjects/{id}/targeting; an opt-out request type with deadlines is #7",
    ),
    tn(
        "S002 R18",
        "s002_r18_cancel_account",
        "cancellation is DELETE /v1/subjects/{id}; a cancel-account request type is #7",
    ),
    tn(
        "S002 R19",
        "s002_r19_copy_exported_and_pushed_to_a_named_third_party",
        "the third parties a person can name are the company's webhook notify targets subscribed to `copy.transfer` (\"where feasible\"); the zip is POSTed to it, signed, when the request completes",
    ),
    tn(
        "S002 R20",
        "s002_r20_explanation_returns_purposes_logic_and_inputs",
        "decisions are kept for explanation when the app asks with `record: true` (automated decisions that affect the person); decisions asked without it are not stored",
    ),
    tn(
        "S002 R21",
        "s002_r21_verification_free_limit_and_listed_refusals",
        "the fifth request is flagged `fee_may_apply` in the POST /v1/requests answer; charging the fee is outside troth",
    ),
    t(
        "S002 R22",
        "s002_r22_child_data_without_guardian_consent_swept",
    ),
    t(
        "S002 R23",
        "s002_r23_old_version_until_the_new_one_takes_effect",
    ),
    t(
        "S002 R24",
        "s002_r24_contact_rendered_complaint_due_in_30_days",
    ),
    // S003 — coach app
    t("S003 R01", "s003_r01_basic_never_blocked"),
    t("S003 R02", "s003_r02_browse_without_registering"),
    tn(
        "S003 R03",
        "s003_r03_phone_in_vault_verified_by_sms",
        "troth has no registration endpoint of its own (the app sends its sign-up code): the SMS one-time code is shown where troth sends one, on a rights request (POST /v1/requests/{id}/verification?channel=sms through the tenant's verification.sms gateway), proving the person holds the number on file",
    ),
    t(
        "S003 R04",
        "s003_r04_login_provider_gets_only_agreed_fields",
    ),
    tn(
        "S003 R05",
        "s003_r05_location_never_stored",
        "the vault refuses to store a `do_not_store` category, so reading it back (the only history there is) finds nothing",
    ),
    t("S003 R06", "s003_r06_location_withdrawal_denies_at_once"),
    t(
        "S003 R07",
        "s003_r07_device_info_and_logs_for_their_purposes",
    ),
    t(
        "S003 R08",
        "s003_r08_linked_device_info_erasable_with_the_subject",
    ),
    t(
        "S003 R09",
        "s003_r09_profiling_consent_gated_targeting_opt_out",
    ),
    t("S003 R10", "s003_r10_storage_permission_only_for_bookmarks"),
    t("S003 R11", "s003_r11_third_party_source_needs_attestation"),
    t("S003 R12", "s003_r12_decision_on_an_exemption_records_it"),
    t(
        "S003 R13",
        "s003_r13_cessation_denies_collection_notifies_and_sweeps",
    ),
    tn(
        "S003 R14",
        "s003_r14_cancelled_account_deleted",
        "cancellation is DELETE /v1/subjects/{id}; a cancel-account request type is #7",
    ),
    t("S003 R15", "s003_r15_cross_border_gate"),
    t("S003 R16", "s003_r16_user_deletion_removes_vault_records"),
    tn(
        "S003 R17",
        "s003_r17_role_based_access_audit_verified",
        "the audit log is verified through GET /v1/audit/verify, the same check as `troth audit verify`",
    ),
    tn(
        "S003 R18",
        "s003_r18_incident_push_to_each_or_one_announcement",
        "\"per-user notice impossible\" is the pack's announcement_threshold (10,000 people), lowered to 1 in a second version to test it with two people",
    ),
    t("S003 R19", "s003_r19_purpose_change_needs_consent"),
    t("S003 R20", "s003_r20_partner_sharing_gated_and_logged"),
    t("S003 R21", "s003_r21_public_disclosure_gate"),
    t(
        "S003 R22",
        "s003_r22_controller_transfer_informs_and_keeps_protection",
    ),
    t(
        "S003 R23",
        "s003_r23_consent_denied_until_new_version_accepted",
    ),
    t("S003 R24", "s003_r24_written_guardian_consent_below_18"),
    // S004 — MobTech
    tn(
        "S004 R01",
        "s004_r01_developer_registration_keeps_the_phone_in_the_vault",
        "a developer's account is a subject of MobTech's tenant (the developer is MobTech's data subject), found by its phone number's blind index; the platform's registration form calls the subject, consent and vault APIs",
    ),
    t(
        "S004 R02",
        "s004_r02_developer_certification_checked_then_manual_review",
    ),
    t("S004 R03", "s004_r03_sdk_needs_attestation"),
    t("S004 R04", "s004_r04_cross_sdk_use_denied"),
    t(
        "S004 R05",
        "s004_r05_separate_consent_per_sensitive_category",
    ),
    t("S004 R06", "s004_r06_forbidden_categories_rejected"),
    t(
        "S004 R07",
        "s004_r07_data_service_deidentified_reports_k_anonymous",
    ),
    t(
        "S004 R08",
        "s004_r08_affiliate_declared_logged_purpose_change_needs_consent",
    ),
    t(
        "S004 R09",
        "s004_r09_per_recipient_categories_finance_needs_explicit_consent",
    ),
    t(
        "S004 R10",
        "s004_r10_disclosure_by_law_records_its_exemption",
    ),
    t(
        "S004 R11",
        "s004_r11_incident_workflow_notice_and_regulator_report",
    ),
    t("S004 R12", "s004_r12_pia_and_ropa_from_pack_and_ledgers"),
    t(
        "S004 R13",
        "s004_r13_channels_rendered_requests_record_their_channel",
    ),
    tn(
        "S004 R14",
        "s004_r14_deletion_propagates_to_recipients",
        "a recipient without a notify target is told nothing: its notice is dead-lettered in the outbox, naming it, for an operator to route",
    ),
    t("S004 R15", "s004_r15_withdrawal_immediate"),
    tn(
        "S004 R16",
        "s004_r16_account_cancellation_deletes",
        "cancellation is DELETE /v1/subjects/{id}; a cancel-account request type is #7",
    ),
    tn(
        "S004 R17",
        "s004_r17_copy_exported_and_pushed_to_a_designated_third_party",
        "the designated third party is one of the company's webhook notify targets subscribed to `copy.transfer`; the zip is POSTed to it, signed, when the request completes",
    ),
    tn(
        "S004 R18",
        "s004_r18_opt_out_denies_marketing_allows_service_notices",
        "the opt-out is POST /v1/subjects/{id}/targeting; an opt-out request type with deadlines is #7",
    ),
    tn(
        "S004 R19",
        "s004_r19_deadline_15_days_after_verification",
        "verified by the one-time email code; due is the end of the 15th day after verification in the tenant's calendar",
    ),
    tn(
        "S004 R20",
        "s004_r20_end_user_routed_by_developer_or_verified_directly",
        "the app provider's route is a request submitted with `developer` (a developer tenant of the same deployment), recorded as submitted by it and verified by the operator with the provider; the direct route is the end user's own key and a one-time code",
    ),
    t("S004 R21", "s004_r21_refusal_cites_a_pack_reason"),
    t("S004 R22", "s004_r22_children_blocked_and_their_data_swept"),
    t("S004 R23", "s004_r23_cross_border_denied"),
    t(
        "S004 R24",
        "s004_r24_retention_per_purpose_holds_cite_one_of_four",
    ),
    t(
        "S004 R25",
        "s004_r25_significant_change_prominent_notice_and_email",
    ),
    tn(
        "S004 R26",
        "s004_r26_every_version_retrievable_by_number_and_date",
        "retrieved through GET /v1/policies and /v1/policies/{label}; the privacy-center page is #9",
    ),
    t(
        "S004 R27",
        "s004_r27_officer_and_contacts_rendered_complaint_accepted",
    ),
];
