//! Receipts built from real packs, through the public API only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use troth_core::{
    Actor, ConsentFact, ConsentStatus, CountryCode, EventId, Fact, LedgerEvent, Method, PolicyHash,
    Scope, Signals, SubjectId, TenantId,
};
use troth_crypto::{CryptoError, ReceiptSigner, SigningKeyPair};
use troth_policy::{GuardianEvidence, Lang, Policy};
use troth_receipt::{ConsentReceipt, PolicyRef, ReceiptActor, ReceiptError};

const TENANT: TenantId = TenantId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const SUBJECT: SubjectId = SubjectId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0042);

fn pack(name: &str) -> Policy {
    let dir = format!("{}/../../packs/{name}", env!("CARGO_MANIFEST_DIR"));
    troth_policy::load_pack(dir.as_ref()).unwrap().policy
}

fn signer(seed: u8) -> ReceiptSigner {
    ReceiptSigner::new(SigningKeyPair::from_seed(&[seed; 32]))
}

fn event(n: u128, fact: ConsentFact) -> LedgerEvent {
    LedgerEvent {
        id: EventId::from_parts(1_711_929_600_000, n),
        tenant: TENANT,
        subject: SUBJECT,
        at: "2024-04-01T00:00:00.250Z".parse().unwrap(),
        fact: Fact::Consent(fact),
    }
}

fn given(policy: &PolicyRef<'_>, purpose: &str, scope: Scope) -> LedgerEvent {
    event(
        1,
        ConsentFact::given(purpose.parse().unwrap(), policy.version_hash).with_scope(scope),
    )
}

fn only_purpose(r: &ConsentReceipt) -> &troth_receipt::ReceiptPurpose {
    assert_eq!(r.services.len(), 1);
    assert_eq!(r.services[0].purposes.len(), 1);
    &r.services[0].purposes[0]
}

#[test]
fn s002_receipt_signs_and_verifies_with_the_public_key() {
    let policy = pack("s002-template");
    let pref = PolicyRef::of(&policy).unwrap();
    let receipt = troth_receipt::build(&pref, &given(&pref, "marketing", Scope::Purpose)).unwrap();
    let s = signer(1);
    let jws = troth_receipt::sign(&receipt, &s).unwrap();

    let back = troth_receipt::verify(&jws, &s.public_key()).unwrap();
    assert_eq!(
        back.public_key.as_deref(),
        Some(s.public_key().to_jwk().x.as_str())
    );
    assert_eq!(
        ConsentReceipt {
            public_key: None,
            ..back.clone()
        },
        receipt
    );
    // The generic verifier the CLI uses reads the same document.
    let raw = troth_crypto::verify_receipt(&jws, &s.public_key()).unwrap();
    assert_eq!(raw, serde_json::to_value(&back).unwrap());

    assert_eq!(receipt.version, "KI-CR-v1.1.0");
    assert_eq!(receipt.jurisdiction, "CN");
    assert_eq!(receipt.consent_timestamp, 1_711_929_600);
    assert_eq!(
        receipt.policy_url.as_deref(),
        Some("https://www.template.example/privacy")
    );
    let c = &receipt.pii_controllers[0];
    assert_eq!(c.pii_controller, "Template Example Technology Co., Ltd.");
    assert_eq!(
        c.email.as_deref(),
        Some("dpo@template.example"),
        "officer first"
    );
    assert_eq!(
        c.contact.as_deref(),
        Some("Personal Information Protection Department")
    );
    let p = only_purpose(&receipt);
    assert_eq!(p.consent_type, "EXPLICIT");
    assert!(!p.primary_purpose);
    assert_eq!(p.purpose_category[0], "additional");
    assert!(p.purpose_category.iter().any(|c| c == "marketing"));
    assert!(!receipt.sensitive && receipt.spi_cat.is_empty());
}

#[test]
fn snapshot_of_one_receipt() {
    let policy = pack("s002-template");
    // A fixed hash, so the snapshot does not change with every edit of the pack.
    let hash = PolicyHash::from_bytes([0xab; 32]);
    let pref = PolicyRef {
        policy: &policy,
        version_hash: hash,
        version_label: "1.0",
        url: Some("https://www.template.example/privacy/v1.0"),
        published: "2024-03-01T02:00:00Z".parse().unwrap(),
        lang: Lang::En,
    };
    let fact = ConsentFact::given("marketing".parse().unwrap(), hash)
        .with_method(Method::Banner)
        .with_signals(Signals {
            gpc: false,
            dnt: true,
        })
        .with_evidence(PolicyHash::from_bytes([0x11; 32]))
        .expiring("2025-04-01T00:00:00Z".parse().unwrap());
    let receipt = troth_receipt::build(&pref, &event(7, fact)).unwrap();
    let signed = troth_receipt::verify(
        &troth_receipt::sign(&receipt, &signer(1)).unwrap(),
        &signer(1).public_key(),
    )
    .unwrap();
    insta::assert_json_snapshot!(signed);
}

#[test]
fn zh_cn_receipt_uses_chinese_names() {
    let policy = pack("s002-template");
    let pref = PolicyRef::of(&policy).unwrap().with_lang(Lang::ZhCn);
    let r = troth_receipt::build(&pref, &given(&pref, "photo-access", Scope::Purpose)).unwrap();
    assert_eq!(r.language, "zh-CN");
    assert_eq!(r.pii_controllers[0].pii_controller, "模板示例科技有限公司");
    assert_eq!(only_purpose(&r).pii_category, ["相册及照片"]);
}

#[test]
fn sensitive_category_scope_sets_the_sensitive_members() {
    let policy = pack("s004-mobtech");
    let pref = PolicyRef::of(&policy).unwrap();
    let scope = Scope::Category("id-number".parse().unwrap());
    let r = troth_receipt::build(&pref, &given(&pref, "developer-certification", scope)).unwrap();
    assert!(r.sensitive);
    assert_eq!(r.spi_cat, ["Resident ID card number"]);
    let p = only_purpose(&r);
    assert_eq!(p.consent_type, "SEPARATE");
    assert_eq!(p.pii_category, ["Resident ID card number"]);
    assert!(p.primary_purpose && !p.third_party_disclosure);
    assert_eq!(
        serde_json::to_value(&r.troth.scope).unwrap(),
        serde_json::json!({"kind": "category", "id": "id-number"})
    );

    // Consent to the purpose itself does not cover its sensitive categories (they
    // need the separate consent above), so its receipt lists none.
    let r = troth_receipt::build(
        &pref,
        &given(&pref, "developer-certification", Scope::Purpose),
    )
    .unwrap();
    assert!(!r.sensitive && r.spi_cat.is_empty());
    let p = only_purpose(&r);
    assert!(!p.pii_category.iter().any(|c| c.contains("ID card number")));
    // The identity-verification processor gets data under the purpose consent.
    assert!(p.third_party_disclosure);
    assert_eq!(
        p.third_party_name.as_deref(),
        Some("Third-party identity verification service")
    );
}

#[test]
fn recipient_scope_sets_the_third_party_members() {
    let policy = pack("s004-mobtech");
    let pref = PolicyRef::of(&policy).unwrap();
    let scope = Scope::Recipient("data-consulting-partners".parse().unwrap());
    let r = troth_receipt::build(&pref, &given(&pref, "data-consulting", scope)).unwrap();
    let p = only_purpose(&r);
    assert_eq!(p.consent_type, "SEPARATE");
    assert!(p.third_party_disclosure);
    assert_eq!(
        p.third_party_name.as_deref(),
        Some("Data service consulting partners")
    );
    assert_eq!(p.pii_category.len(), 4);

    // The partner needs its own consent, so the purpose receipt does not name it.
    let r = troth_receipt::build(&pref, &given(&pref, "data-consulting", Scope::Purpose)).unwrap();
    let p = only_purpose(&r);
    assert!(!p.third_party_disclosure && p.third_party_name.is_none());
}

#[test]
fn destination_and_public_disclosure_scopes() {
    let policy = pack("s001-social-services");
    let pref = PolicyRef::of(&policy).unwrap();
    let scope = Scope::Destination(CountryCode::new("HK").unwrap());
    let r = troth_receipt::build(&pref, &given(&pref, "provide-services", scope)).unwrap();
    let p = only_purpose(&r);
    assert!(p.third_party_disclosure);
    assert_eq!(
        p.third_party_name.as_deref(),
        Some("Our affiliated company in Hong Kong")
    );
    assert_eq!(p.pii_category.len(), 2, "the transfer's categories");

    // Seed 002 serves people abroad itself: no declared transfer, no third party.
    let policy = pack("s002-template");
    let pref = PolicyRef::of(&policy).unwrap();
    let scope = Scope::Destination(CountryCode::new("US").unwrap());
    let r = troth_receipt::build(&pref, &given(&pref, "cross-border-service", scope)).unwrap();
    let p = only_purpose(&r);
    assert!(!p.third_party_disclosure);
    assert_eq!(p.pii_category.len(), 4);

    let r = troth_receipt::build(
        &pref,
        &given(&pref, "public-disclosure", Scope::PublicDisclosure),
    )
    .unwrap();
    let p = only_purpose(&r);
    assert_eq!(p.consent_type, "SEPARATE");
    assert!(p.third_party_disclosure);
}

#[test]
fn actors_methods_and_statuses_are_recorded() {
    let policy = pack("s004-mobtech");
    let pref = PolicyRef::of(&policy).unwrap();
    let developer = TenantId::from_u128(77);
    let fact = ConsentFact::new(
        ConsentStatus::Withdrawn,
        "sdk-ads".parse().unwrap(),
        pref.version_hash,
    )
    .with_method(Method::DeveloperAttestation)
    .with_actor(Actor::Developer { tenant: developer });
    let r = troth_receipt::build(&pref, &event(2, fact)).unwrap();
    assert_eq!(r.troth.status, ConsentStatus::Withdrawn);
    assert_eq!(r.troth.actor, ReceiptActor::Developer { tenant: developer });
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["collectionMethod"], "developer_attestation");
    assert_eq!(json["troth"]["status"], "withdrawn");
    assert_eq!(json["troth"]["actor"]["kind"], "developer");
    assert_eq!(
        json["troth"]["actor"]["developerTenantId"],
        developer.to_string()
    );

    let guardian = SubjectId::from_u128(5);
    let fact = ConsentFact::given("sdk-ads".parse().unwrap(), pref.version_hash)
        .with_method(Method::Guardian)
        .with_actor(Actor::Guardian {
            guardian,
            evidence: GuardianEvidence::Written,
            evidence_hash: None,
        });
    let r = troth_receipt::build(&pref, &event(3, fact)).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["troth"]["actor"]["kind"], "guardian");
    assert_eq!(json["troth"]["actor"]["guardianId"], guardian.to_string());
    assert_eq!(json["piiPrincipalId"], SUBJECT.to_string());
}

#[test]
fn non_consent_and_undeclared_ids_are_typed_errors() {
    let policy = pack("s002-template");
    let pref = PolicyRef::of(&policy).unwrap();
    let mut e = given(&pref, "marketing", Scope::Purpose);
    e.fact = Fact::TargetingOptOut { opted_out: true };
    assert!(matches!(
        troth_receipt::build(&pref, &e),
        Err(ReceiptError::NotConsent { event }) if event == e.id
    ));

    let e = given(&pref, "no-such-purpose", Scope::Purpose);
    let err = troth_receipt::build(&pref, &e).unwrap_err();
    assert!(
        matches!(&err, ReceiptError::UndeclaredPurpose { purpose } if purpose.as_str() == "no-such-purpose")
    );
    assert!(
        err.to_string()
            .starts_with("purpose `no-such-purpose` is not declared")
    );

    let scope = Scope::Category("no-such-category".parse().unwrap());
    assert!(matches!(
        troth_receipt::build(&pref, &given(&pref, "marketing", scope)),
        Err(ReceiptError::UndeclaredCategory { .. })
    ));
    let scope = Scope::Recipient("no-such-recipient".parse().unwrap());
    assert!(matches!(
        troth_receipt::build(&pref, &given(&pref, "marketing", scope)),
        Err(ReceiptError::UndeclaredRecipient { .. })
    ));

    // Consent given under another version cannot be described by this one.
    let other = PolicyHash::from_bytes([1; 32]);
    let e = event(1, ConsentFact::given("marketing".parse().unwrap(), other));
    assert!(matches!(
        troth_receipt::build(&pref, &e),
        Err(ReceiptError::VersionMismatch { event, .. }) if event == other
    ));
}

#[test]
fn tampering_and_other_keys_fail() {
    let policy = pack("s004-mobtech");
    let pref = PolicyRef::of(&policy).unwrap();
    let receipt = troth_receipt::build(&pref, &given(&pref, "sdk-ads", Scope::Purpose)).unwrap();
    let s = signer(3);
    let jws = troth_receipt::sign(&receipt, &s).unwrap();
    let parts: Vec<&str> = jws.split('.').collect();

    // One byte of the payload changed: `given` becomes `giveN`, still a valid receipt.
    let mut payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
    let at = payload.windows(7).position(|w| w == b"\"given\"").unwrap();
    payload[at + 5] = b'N';
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(&payload),
        parts[2]
    );
    assert!(matches!(
        troth_receipt::verify(&forged, &s.public_key()),
        Err(ReceiptError::Verify(CryptoError::InvalidSignature))
    ));

    assert!(matches!(
        troth_receipt::verify(&jws, &signer(4).public_key()),
        Err(ReceiptError::Verify(_))
    ));

    // A payload that is signed but is not a receipt.
    let not_receipt = s
        .sign_json(&serde_json::json!({"status": "given"}))
        .unwrap();
    assert!(matches!(
        troth_receipt::verify(&not_receipt, &s.public_key()),
        Err(ReceiptError::Verify(CryptoError::Json))
    ));
}

#[test]
fn publickey_member_must_name_the_verifying_key() {
    let policy = pack("s002-template");
    let pref = PolicyRef::of(&policy).unwrap();
    let mut receipt =
        troth_receipt::build(&pref, &given(&pref, "marketing", Scope::Purpose)).unwrap();
    // Signed with key 1 by hand, claiming to be key 2.
    receipt.public_key = Some(signer(2).public_key().to_jwk().x);
    let jws = signer(1).sign_json(&receipt).unwrap();
    assert!(matches!(
        troth_receipt::verify(&jws, &signer(1).public_key()),
        Err(ReceiptError::KeyMismatch)
    ));
}

#[test]
fn reissue_is_byte_identical() {
    let policy = pack("s004-mobtech");
    let scope = Scope::Recipient("finance-analysis-partners".parse().unwrap());
    let issue = || {
        // Everything rebuilt from scratch, as a server answering a later GET would.
        let pref = PolicyRef::of(&policy).unwrap();
        let r =
            troth_receipt::build(&pref, &given(&pref, "finance-analysis", scope.clone())).unwrap();
        troth_receipt::sign(&r, &signer(9)).unwrap()
    };
    assert_eq!(issue(), issue());
}

#[test]
fn receipt_ids_are_derived_uuids() {
    let e = EventId::from_parts(1_711_929_600_000, 1);
    let id = troth_receipt::receipt_id(TENANT, e);
    assert_eq!(id, troth_receipt::receipt_id(TENANT, e));
    assert_ne!(id, troth_receipt::receipt_id(TenantId::from_u128(2), e));
    assert_ne!(
        id,
        troth_receipt::receipt_id(TENANT, EventId::from_parts(1_711_929_600_000, 2))
    );
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(groups[2].starts_with('8'), "version 8");
    assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
}
