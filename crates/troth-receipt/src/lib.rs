//! Consent receipts: one signed document per consent ledger event.
//!
//! [`build`] turns a consent event and the policy version it was given under into a
//! [`ConsentReceipt`] with the Kantara Consent Receipt v1.1 members (the JSON form
//! ISO/IEC TS 27560 builds on) plus troth's own in a `troth` object. [`sign`] makes
//! it a compact JWS (EdDSA / Ed25519) and [`verify`] checks one offline with the
//! controller's published public key, as `troth receipt verify FILE --key JWK` does.
//!
//! Re-issuing gives identical bytes: the receipt id is derived from the tenant and
//! event ids ([`receipt_id`]), nothing reads a clock, and Ed25519 signatures are
//! deterministic. So the server can issue a receipt when the event is stored and
//! again on every `GET` without keeping it.
//!
//! The subject appears only as its pseudonymous id; no personal information is ever
//! written into a receipt.
//!
//! ```
//! use troth_core::{ConsentFact, EventId, Fact, LedgerEvent, SubjectId, TenantId};
//! use troth_crypto::{ReceiptSigner, SigningKeyPair};
//! use troth_receipt::PolicyRef;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../packs/s002-template");
//! let pack = troth_policy::load_pack(dir.as_ref())?;
//! let policy = PolicyRef::of(&pack.policy)?;
//! let event = LedgerEvent {
//!     id: EventId::from_parts(1_711_929_600_000, 7),
//!     tenant: TenantId::from_u128(1),
//!     subject: SubjectId::from_u128(42),
//!     at: "2024-04-01T00:00:00Z".parse()?,
//!     fact: Fact::Consent(ConsentFact::given("marketing".parse()?, policy.version_hash)),
//! };
//! let receipt = troth_receipt::build(&policy, &event)?;
//!
//! let signer = ReceiptSigner::new(SigningKeyPair::generate()?);
//! let jws = troth_receipt::sign(&receipt, &signer)?;
//! let checked = troth_receipt::verify(&jws, &signer.public_key())?;
//! assert_eq!(checked.consent_receipt_id, receipt.consent_receipt_id);
//! assert_eq!(jws, troth_receipt::sign(&receipt, &signer)?); // re-issue
//! # Ok(())
//! # }
//! ```

mod error;
mod model;

use jiff::Timestamp;
use troth_core::{Actor, EventId, Fact, LedgerEvent, PolicyHash, Scope, TenantId};
use troth_crypto::{PublicKey, ReceiptSigner};
use troth_policy::ids::CategoryId;
use troth_policy::{
    Category, Contact, ContactKind, Lang, LawProfileId, LegalBasis, Policy, Purpose, Recipient,
    RecipientKind, Sensitivity, Text,
};

pub use error::ReceiptError;
pub use model::{
    ConsentReceipt, KANTARA_VERSION, PiiController, PostalAddress, ReceiptActor, ReceiptPurpose,
    ReceiptService, TrothFields,
};

/// The policy version a consent was given under, as the receipt describes it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRef<'a> {
    /// The manifest of that version.
    pub policy: &'a Policy,
    /// Its content hash; the consent event must name the same.
    pub version_hash: PolicyHash,
    /// Its human version label (`1.0`).
    pub version_label: &'a str,
    /// Where its text is published.
    pub url: Option<&'a str>,
    /// When it was published.
    pub published: Timestamp,
    /// The language of names and descriptions. Keep it fixed per tenant: a re-issued
    /// receipt is byte-identical only if it is.
    pub lang: Lang,
}

impl<'a> PolicyRef<'a> {
    /// The version as the manifest states it: its content hash, label and URL, published
    /// at midnight UTC of its publication date, in English. The server, which knows
    /// the exact publication time, fills the fields itself.
    pub fn of(policy: &'a Policy) -> Result<Self, ReceiptError> {
        let midnight = policy
            .policy
            .published
            .to_datetime(jiff::civil::Time::midnight());
        let published = jiff::tz::Offset::UTC
            .to_timestamp(midnight)
            .map_err(ReceiptError::PublishedOutOfRange)?;
        Ok(Self {
            policy,
            version_hash: PolicyHash::of(policy),
            version_label: &policy.policy.version,
            url: policy.policy.url.as_deref(),
            published,
            lang: Lang::En,
        })
    }

    /// The same version described in `lang`.
    pub fn with_lang(self, lang: Lang) -> Self {
        Self { lang, ..self }
    }
}

/// The receipt for one consent event given under `policy`.
///
/// Fails if the event is not a consent, names another policy version, or its purpose,
/// category or recipient is not declared in the policy.
pub fn build(policy: &PolicyRef<'_>, event: &LedgerEvent) -> Result<ConsentReceipt, ReceiptError> {
    let Fact::Consent(fact) = &event.fact else {
        return Err(ReceiptError::NotConsent { event: event.id });
    };
    if fact.version != policy.version_hash {
        return Err(ReceiptError::VersionMismatch {
            event: fact.version,
            policy: policy.version_hash,
        });
    }
    let (p, lang) = (policy.policy, policy.lang);
    let (service, purpose) =
        find_purpose(p, fact.purpose.as_str()).ok_or_else(|| ReceiptError::UndeclaredPurpose {
            purpose: fact.purpose.clone(),
        })?;
    let covered = Covered::of(p, purpose, &fact.scope)?;
    let spi_cat: Vec<String> = covered
        .categories
        .iter()
        .filter(|c| c.sensitivity == Sensitivity::Sensitive)
        .map(|c| c.name.get(lang).to_owned())
        .collect();
    let third_party_name = (!covered.third_parties.is_empty()).then(|| {
        let names: Vec<&str> = covered
            .third_parties
            .iter()
            .map(|r| r.name.get(lang))
            .collect();
        names.join("; ")
    });

    let purpose_category = std::iter::once(serde_code(&purpose.function))
        .chain(purpose.tags.iter().map(serde_code))
        .flatten()
        .collect();

    Ok(ConsentReceipt {
        version: KANTARA_VERSION.to_owned(),
        jurisdiction: jurisdiction(p.law.profile).to_owned(),
        consent_timestamp: event.at.as_second(),
        collection_method: fact.method,
        consent_receipt_id: receipt_id(event.tenant, event.id),
        public_key: None,
        language: lang.tag().to_owned(),
        pii_principal_id: event.subject,
        pii_controllers: vec![controller(p, lang)],
        policy_url: policy.url.map(str::to_owned),
        services: vec![ReceiptService {
            service: service.get(lang).to_owned(),
            purposes: vec![ReceiptPurpose {
                purpose: purpose.name.get(lang).to_owned(),
                purpose_category,
                consent_type: match fact.scope {
                    Scope::Purpose => "EXPLICIT",
                    _ => "SEPARATE",
                }
                .to_owned(),
                pii_category: covered
                    .categories
                    .iter()
                    .map(|c| c.name.get(lang).to_owned())
                    .collect(),
                primary_purpose: purpose.function == troth_policy::Function::Basic,
                termination: purpose.retention.to_string(),
                third_party_disclosure: covered.disclosure,
                third_party_name,
            }],
        }],
        sensitive: !spi_cat.is_empty(),
        spi_cat,
        troth: TrothFields {
            status: fact.status,
            scope: fact.scope.clone(),
            purpose_id: fact.purpose.clone(),
            policy_version: policy.version_label.to_owned(),
            policy_hash: policy.version_hash,
            policy_published: policy.published,
            tenant_id: event.tenant,
            event_id: event.id,
            event_time: event.at,
            signals: fact.signals,
            expires_at: fact.expires_at,
            actor: match fact.actor {
                Actor::Subject => ReceiptActor::Subject,
                Actor::Guardian { guardian, .. } => ReceiptActor::Guardian { guardian },
                Actor::Developer { tenant } => ReceiptActor::Developer { tenant },
            },
            evidence_hash: fact.evidence,
        },
    })
}

/// Signs `receipt` as a compact JWS, after setting its `publicKey` to the signer's.
pub fn sign(receipt: &ConsentReceipt, signer: &ReceiptSigner) -> Result<String, ReceiptError> {
    let mut signed = receipt.clone();
    signed.public_key = Some(signer.public_key().to_jwk().x);
    signer.sign_json(&signed).map_err(ReceiptError::Sign)
}

/// Verifies a compact JWS receipt with the controller's public key and returns the
/// receipt it carries.
pub fn verify(jws: &str, key: &PublicKey) -> Result<ConsentReceipt, ReceiptError> {
    let receipt: ConsentReceipt =
        troth_crypto::verify_receipt_as(jws, key).map_err(ReceiptError::Verify)?;
    match &receipt.public_key {
        Some(x) if *x != key.to_jwk().x => Err(ReceiptError::KeyMismatch),
        _ => Ok(receipt),
    }
}

/// The receipt id for an event: a UUID (version 8, RFC 9562) from the BLAKE3 hash of
/// the tenant and event ids. Derived rather than random so a re-issued receipt keeps
/// its id; the tenant is hashed in because event ids are only minted per tenant.
pub fn receipt_id(tenant: TenantId, event: EventId) -> String {
    let mut h = blake3::Hasher::new_derive_key("troth 2024 consent receipt id v1");
    h.update(&tenant.to_bytes());
    h.update(&event.to_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize().as_bytes()[..16]);
    b[6] = (b[6] & 0x0F) | 0x80; // version 8: custom
    b[8] = (b[8] & 0x3F) | 0x80; // RFC 9562 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The jurisdiction a law profile stands for.
pub fn jurisdiction(profile: LawProfileId) -> &'static str {
    match profile {
        LawProfileId::Pipl => "CN",
        LawProfileId::Gdpr => "EU",
        LawProfileId::Ccpa => "US-CA",
    }
}

/// The purpose by id with the name of the service it belongs to: a main purpose, else
/// the first sub-policy declaring it (a consent event names no service).
fn find_purpose<'p>(p: &'p Policy, id: &str) -> Option<(&'p Text, &'p Purpose)> {
    if let Some(purpose) = p.purpose(id) {
        let service = p.policy.scope.as_ref().unwrap_or(&p.policy.title);
        return Some((service, purpose));
    }
    p.services.iter().find_map(|s| {
        s.purposes
            .iter()
            .find(|x| x.id.as_str() == id)
            .map(|x| (&s.name, x))
    })
}

/// What one consent covers: its categories and the third parties data go to.
struct Covered<'p> {
    categories: Vec<&'p Category>,
    third_parties: Vec<&'p Recipient>,
    disclosure: bool,
}

impl<'p> Covered<'p> {
    fn of(p: &'p Policy, purpose: &'p Purpose, scope: &Scope) -> Result<Self, ReceiptError> {
        let category = |id: &CategoryId| {
            p.category(id.as_str())
                .ok_or_else(|| ReceiptError::UndeclaredCategory {
                    category: id.clone(),
                })
        };
        let categories = |ids: &mut dyn Iterator<Item = &'p CategoryId>| {
            let mut out: Vec<&'p Category> = Vec::new();
            for id in ids {
                let c = category(id)?;
                if !out.iter().any(|x| x.id == c.id) {
                    out.push(c);
                }
            }
            Ok::<_, ReceiptError>(out)
        };
        // Mirrors the decision engine: under a consent basis, sensitive categories
        // and sharing with partners need their own separate consent, so consent to
        // the purpose itself does not cover them and its receipt does not list them.
        let by_consent = purpose.basis == LegalBasis::Consent;
        Ok(match scope {
            Scope::Purpose => {
                let categories = categories(&mut purpose.all_categories())?
                    .into_iter()
                    .filter(|c| !(by_consent && c.sensitivity == Sensitivity::Sensitive))
                    .collect();
                let third_parties: Vec<&Recipient> = p
                    .recipients
                    .iter()
                    .filter(|r| r.purposes.contains(&purpose.id))
                    .filter(|r| !needs_separate_consent(r, by_consent))
                    .collect();
                Self {
                    categories,
                    disclosure: !third_parties.is_empty(),
                    third_parties,
                }
            }
            Scope::Category(id) => Self {
                categories: vec![category(id)?],
                third_parties: Vec::new(),
                disclosure: false,
            },
            Scope::Recipient(id) => {
                let r =
                    p.recipient(id.as_str())
                        .ok_or_else(|| ReceiptError::UndeclaredRecipient {
                            recipient: id.clone(),
                        })?;
                // What the recipient receives for this purpose; all it may receive
                // when the consent extends it to a new purpose.
                let mut shared = r.categories.iter().filter(|c| purpose.uses(c)).peekable();
                let categories = if shared.peek().is_some() {
                    categories(&mut shared)?
                } else {
                    categories(&mut r.categories.iter())?
                };
                Self {
                    categories,
                    third_parties: vec![r],
                    disclosure: true,
                }
            }
            Scope::Destination(country) => {
                let transfers: Vec<_> = p
                    .transfers
                    .iter()
                    .filter(|t| t.destination.eq_ignore_ascii_case(country.as_str()))
                    .filter(|t| t.purposes.contains(&purpose.id))
                    .collect();
                let mut third_parties: Vec<&Recipient> = Vec::new();
                for t in &transfers {
                    let r = p.recipient(t.recipient.as_str()).ok_or_else(|| {
                        ReceiptError::UndeclaredRecipient {
                            recipient: t.recipient.clone(),
                        }
                    })?;
                    if !third_parties.iter().any(|x| x.id == r.id) {
                        third_parties.push(r);
                    }
                }
                // No declared transfer (the controller serving the person abroad, seed
                // 002): the purpose's own categories travel.
                let categories = if transfers.is_empty() {
                    categories(&mut purpose.all_categories())?
                } else {
                    categories(&mut transfers.iter().flat_map(|t| &t.categories))?
                };
                Self {
                    categories,
                    disclosure: !third_parties.is_empty(),
                    third_parties,
                }
            }
            Scope::PublicDisclosure => Self {
                categories: categories(&mut purpose.all_categories())?,
                third_parties: Vec::new(),
                disclosure: true,
            },
        })
    }
}

/// Whether sharing with `r` needs its own consent (as the decision engine decides).
fn needs_separate_consent(r: &Recipient, by_consent: bool) -> bool {
    let partner = matches!(
        r.kind,
        RecipientKind::Partner | RecipientKind::LoginProvider
    );
    r.requires_explicit_consent || (by_consent && partner)
}

/// The controller and its PI protection officer.
fn controller(p: &Policy, lang: Lang) -> PiiController {
    let c = &p.controller;
    let officer = c.protection_officer.as_ref();
    // The officer's channel first: it is the one PIPL Art.52 asks people to use.
    let first = |kind: ContactKind| {
        let officer_contacts = officer.map(|o| o.contacts.as_slice()).unwrap_or_default();
        officer_contacts
            .iter()
            .chain(&c.contacts)
            .find(|x: &&Contact| x.kind == kind)
            .map(|x| x.value.clone())
    };
    PiiController {
        pii_controller: c.legal_name.get(lang).to_owned(),
        contact: officer.map(|o| o.name.get(lang).to_owned()),
        address: c.address.as_ref().map(|a| PostalAddress {
            street_address: a.get(lang).to_owned(),
        }),
        email: first(ContactKind::Email),
        phone: first(ContactKind::Phone),
        pii_controller_url: first(ContactKind::Web),
    }
}

/// The manifest's code for a unit enum value (`marketing` for `PurposeTag::Marketing`),
/// taken from its serde form so the two never drift apart.
fn serde_code<T: serde::Serialize>(v: &T) -> Option<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}
