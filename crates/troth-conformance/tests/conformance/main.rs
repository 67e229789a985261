//! Conformance: one test per promise row (`shared/promises/S00x-*.md`), each driving
//! an in-process `troth serve` through its public HTTP API against the seed's pack,
//! on SQLite (`sqlite::…`) and PostgreSQL (`postgres::…`). The registry in `src/`
//! maps rows to these tests; `registry::…` checks it and `docs/CONFORMANCE.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod registry;
mod s000;
mod s001;
mod s002;
mod s003;
mod s004;
mod support;

/// Declares the row tests: each runs once per backend, and `TESTS` names them all
/// so the registry can be checked against what exists.
macro_rules! rows {
    ($($m:ident :: $name:ident),* $(,)?) => {
        /// Every row test, by function name.
        pub const TESTS: &[&str] = &[$(stringify!($name)),*];
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$m::$name(crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$m::$name(crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}

rows! {
    s000::s000_r01_registration_fields_viewed_and_corrected_audited,
    s000::s000_r02_log_categories_only_for_logging,
    s000::s000_r03_device_identifiers_only_for_declared_purposes,
    s000::s000_r04_location_only_for_location_purpose,
    s000::s000_r05_refused_cookies_denied_only_where_needed,
    s000::s000_r06_pi_encrypted_no_plaintext_in_database,
    s000::s000_r07_personalisation_consent_gated_withdrawal_stops_it,
    s000::s000_r08_undeclared_recipient_denied_affiliate_logged,
    s000::s000_r09_partners_get_only_declared_categories_and_purposes,
    s000::s000_r10_public_statistics_only_counts_at_or_above_k,
    s000::s000_r11_every_disclosure_records_one_of_the_bases,
    s000::s000_r12_wrong_role_denied_and_audited,
    s000::s000_r13_under_18_needs_guardian_consent,
    s000::s000_r14_new_version_published_with_changes_highlighted,
    s001::s001_r01_only_the_declared_purposes,
    s001::s001_r02_ads_consent_gated_gpc_dnt_withdrawal,
    s001::s001_r03_cross_service_needs_its_own_consent,
    s001::s001_r04_sharing_only_to_declared_recipients_logged,
    s001::s001_r05_transfer_needs_separate_consent_logged_with_destination,
    s001::s001_r06_legal_hold_keeps_records_through_deletion_citing_basis,
    s001::s001_r07_shared_content_deletion_completes_audited,
    s001::s001_r08_sensitive_categories_need_separate_consent,
    s001::s001_r09_requests_stay_verifying_until_identity_proven,
    s001::s001_r10_tls_with_hsts,
    s001::s001_r11_sweep_removes_expired_records_keeps_held_ones,
    s001::s001_r12_two_minor_bands,
    s001::s001_r13_service_policy_overrides_main_policy,
    s001::s001_r14_future_version_notified_to_everyone_before_it_takes_effect,
    s001::s001_r15_rights_reduction_needs_renewed_consent,
    s001::s001_r16_complaint_tracked_to_an_answer,
    s002::s002_r01_optional_fields_never_block_registration,
    s002::s002_r02_cancelled_account_shredded_and_all_decisions_stop,
    s002::s002_r03_cross_border_only_with_separate_authorisation,
    s002::s002_r04_photo_access_needs_its_own_consent,
    s002::s002_r05_analytics_allows_exactly_the_sdk_categories,
    s002::s002_r06_new_purpose_needs_consent,
    s002::s002_r07_tracking_consent_gated_unsubscribe_withdraws,
    s002::s002_r08_dnt_and_gpc_deny_tracking,
    s002::s002_r09_affiliate_changing_purpose_needs_new_consent,
    s002::s002_r10_controller_transfer_notifies_and_binds_or_reasks,
    s002::s002_r11_public_disclosure_needs_separate_consent,
    s002::s002_r12_breach_notices_every_affected_person_and_reports_to_regulator,
    s002::s002_r13_access_due_in_30_days_overdue_alarm_export_produced,
    s002::s002_r14_correction_request_updates_the_value_audited,
    s002::s002_r15_deletion_notifies_every_recipient_backups_unreadable,
    s002::s002_r16_withdrawal_immediate_earlier_events_kept,
    s002::s002_r17_targeting_opt_out_denies_marketing,
    s002::s002_r18_cancel_account,
    s002::s002_r19_copy_exported_and_pushed_to_a_named_third_party,
    s002::s002_r20_explanation_returns_purposes_logic_and_inputs,
    s002::s002_r21_verification_free_limit_and_listed_refusals,
    s002::s002_r22_child_data_without_guardian_consent_swept,
    s002::s002_r23_old_version_until_the_new_one_takes_effect,
    s002::s002_r24_contact_rendered_complaint_due_in_30_days,
    s003::s003_r01_basic_never_blocked,
    s003::s003_r02_browse_without_registering,
    s003::s003_r03_phone_in_vault_verified_by_sms,
    s003::s003_r04_login_provider_gets_only_agreed_fields,
    s003::s003_r05_location_never_stored,
    s003::s003_r06_location_withdrawal_denies_at_once,
    s003::s003_r07_device_info_and_logs_for_their_purposes,
    s003::s003_r08_linked_device_info_erasable_with_the_subject,
    s003::s003_r09_profiling_consent_gated_targeting_opt_out,
    s003::s003_r10_storage_permission_only_for_bookmarks,
    s003::s003_r11_third_party_source_needs_attestation,
    s003::s003_r12_decision_on_an_exemption_records_it,
    s003::s003_r13_cessation_denies_collection_notifies_and_sweeps,
    s003::s003_r14_cancelled_account_deleted,
    s003::s003_r15_cross_border_gate,
    s003::s003_r16_user_deletion_removes_vault_records,
    s003::s003_r17_role_based_access_audit_verified,
    s003::s003_r18_incident_push_to_each_or_one_announcement,
    s003::s003_r19_purpose_change_needs_consent,
    s003::s003_r20_partner_sharing_gated_and_logged,
    s003::s003_r21_public_disclosure_gate,
    s003::s003_r22_controller_transfer_informs_and_keeps_protection,
    s003::s003_r23_consent_denied_until_new_version_accepted,
    s003::s003_r24_written_guardian_consent_below_18,
    s004::s004_r01_developer_registration_keeps_the_phone_in_the_vault,
    s004::s004_r02_developer_certification_checked_then_manual_review,
    s004::s004_r03_sdk_needs_attestation,
    s004::s004_r04_cross_sdk_use_denied,
    s004::s004_r05_separate_consent_per_sensitive_category,
    s004::s004_r06_forbidden_categories_rejected,
    s004::s004_r07_data_service_deidentified_reports_k_anonymous,
    s004::s004_r08_affiliate_declared_logged_purpose_change_needs_consent,
    s004::s004_r09_per_recipient_categories_finance_needs_explicit_consent,
    s004::s004_r10_disclosure_by_law_records_its_exemption,
    s004::s004_r11_incident_workflow_notice_and_regulator_report,
    s004::s004_r12_pia_and_ropa_from_pack_and_ledgers,
    s004::s004_r15_withdrawal_immediate,
    s004::s004_r16_account_cancellation_deletes,
    s004::s004_r17_copy_exported_and_pushed_to_a_designated_third_party,
    s004::s004_r18_opt_out_denies_marketing_allows_service_notices,
    s004::s004_r13_channels_rendered_requests_record_their_channel,
    s004::s004_r14_deletion_propagates_to_recipients,
    s004::s004_r19_deadline_15_days_after_verification,
    s004::s004_r20_end_user_routed_by_developer_or_verified_directly,
    s004::s004_r21_refusal_cites_a_pack_reason,
    s004::s004_r22_children_blocked_and_their_data_swept,
    s004::s004_r23_cross_border_denied,
    s004::s004_r24_retention_per_purpose_holds_cite_one_of_four,
    s004::s004_r25_significant_change_prominent_notice_and_email,
    s004::s004_r26_every_version_retrievable_by_number_and_date,
    s004::s004_r27_officer_and_contacts_rendered_complaint_accepted,
}
