//! `troth receipt verify`: a receipt signed by the controller verifies offline with
//! the published key; a changed byte or another key fails with exit code 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::troth;
use troth_crypto::{ReceiptSigner, SigningKeyPair};

#[test]
fn receipts_verify_offline_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKeyPair::generate().unwrap();
    let jwk = serde_json::to_string(&key.public_key().to_jwk()).unwrap();
    let receipt = serde_json::json!({
        "receipt_id": "r-1",
        "controller": "Template Example Technology Co., Ltd.",
        "policy_version": "1.0",
        "purposes": ["photo-access"],
        "consentTimestamp": 1_711_929_600,
    });
    let jws = ReceiptSigner::new(key).sign_json(&receipt).unwrap();
    let (receipt_file, key_file) = (dir.path().join("r.jws"), dir.path().join("key.jwk"));
    std::fs::write(&receipt_file, &jws).unwrap();
    std::fs::write(&key_file, &jwk).unwrap();
    let (r, k) = (receipt_file.to_str().unwrap(), key_file.to_str().unwrap());

    let ok = troth(&["receipt", "verify", r, "--key", k]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(printed["purposes"][0], "photo-access");

    // Change one character of the payload.
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    std::fs::write(&receipt_file, parts.join(".")).unwrap();
    let bad = troth(&["receipt", "verify", r, "--key", k]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid receipt"));

    // The right receipt with somebody else's key.
    std::fs::write(&receipt_file, &jws).unwrap();
    let other = SigningKeyPair::generate().unwrap();
    std::fs::write(
        &key_file,
        serde_json::to_string(&other.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let wrong = troth(&["receipt", "verify", r, "--key", k]);
    assert_eq!(wrong.status.code(), Some(1));

    let missing = troth(&["receipt", "verify", "no-such.jws", "--key", k]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A receipt as the server issues it (troth-receipt, from a consent event on a real
/// pack) verifies with the CLI; one changed payload byte fails with exit code 1.
#[test]
fn consent_receipts_from_troth_receipt_verify_with_the_cli() {
    use troth_core::{ConsentFact, EventId, Fact, LedgerEvent, Scope, SubjectId, TenantId};

    let pack = troth_policy::load_pack(&common::root().join("packs/s004-mobtech")).unwrap();
    let policy = troth_receipt::PolicyRef::of(&pack.policy).unwrap();
    let event = LedgerEvent {
        id: EventId::from_parts(1_711_929_600_000, 1),
        tenant: TenantId::from_u128(1),
        subject: SubjectId::from_u128(42),
        at: "2024-04-01T00:00:00Z".parse().unwrap(),
        fact: Fact::Consent(
            ConsentFact::given(
                "developer-certification".parse().unwrap(),
                policy.version_hash,
            )
            .with_scope(Scope::Category("id-number".parse().unwrap())),
        ),
    };
    let receipt = troth_receipt::build(&policy, &event).unwrap();
    let signer = ReceiptSigner::new(SigningKeyPair::from_seed(&[7; 32]));
    let jws = troth_receipt::sign(&receipt, &signer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (receipt_file, key_file) = (dir.path().join("r.jws"), dir.path().join("key.jwk"));
    std::fs::write(&receipt_file, &jws).unwrap();
    std::fs::write(
        &key_file,
        serde_json::to_string(&signer.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let (r, k) = (receipt_file.to_str().unwrap(), key_file.to_str().unwrap());

    let ok = troth(&["receipt", "verify", r, "--key", k]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(printed["consentReceiptID"], receipt.consent_receipt_id);
    assert_eq!(printed["sensitive"], true);
    assert_eq!(printed["troth"]["scope"]["id"], "id-number");

    // Change one byte of the payload (the first character after the header).
    let dot = jws.find('.').unwrap();
    let mut bytes = jws.into_bytes();
    bytes[dot + 1] = if bytes[dot + 1] == b'e' { b'f' } else { b'e' };
    std::fs::write(&receipt_file, &bytes).unwrap();
    let bad = troth(&["receipt", "verify", r, "--key", k]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid receipt"));
}
