//! The receipt as a JSON document.
//!
//! Top-level and `services[].purposes[]` members are the Kantara Consent Receipt v1.1
//! members (the JSON form ISO/IEC TS 27560 builds on), spelt as Kantara spells them.
//! What the standard has no member for sits in one `troth` object, so a generic
//! receipt reader sees a plain Kantara receipt and ignores the rest.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use troth_core::{
    ConsentStatus, EventId, EvidenceHash, Method, PolicyHash, Scope, Signals, SubjectId, TenantId,
};
use troth_policy::ids::PurposeId;

/// The Kantara specification version receipts conform to.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

/// A consent receipt for one consent ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentReceipt {
    /// Specification version, always [`KANTARA_VERSION`].
    pub version: String,
    /// Jurisdiction of the law profile: `CN` (PIPL), `EU` (GDPR), `US-CA` (CCPA).
    pub jurisdiction: String,
    /// When the event happened, in whole seconds since the Unix epoch (Kantara's
    /// form; the exact time is [`TrothFields::event_time`]).
    pub consent_timestamp: i64,
    /// How the consent was captured: `banner`, `form`, `api`, `guardian` or
    /// `developer_attestation`.
    pub collection_method: Method,
    /// The receipt's id, a UUID derived from the tenant and event ids
    /// ([`crate::receipt_id`]), so a re-issued receipt keeps its id.
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    /// The controller's Ed25519 public key (the JWK `x` member, base64url). Set by
    /// [`crate::sign`]; absent on an unsigned receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// BCP 47 tag of the language of names and descriptions.
    pub language: String,
    /// The subject's pseudonymous id; never an email address, phone number or name.
    pub pii_principal_id: SubjectId,
    /// The controller, from the manifest's controller and PI protection officer.
    pub pii_controllers: Vec<PiiController>,
    /// Where the policy text the person saw is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_url: Option<String>,
    /// The service and the one purpose this receipt is about.
    pub services: Vec<ReceiptService>,
    /// Whether any category covered is sensitive personal information.
    pub sensitive: bool,
    /// Names of the sensitive categories covered.
    pub spi_cat: Vec<String>,
    /// What troth records that the standard has no member for.
    pub troth: TrothFields,
}

/// A personal-information controller (Kantara `piiControllers[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiController {
    /// Registered legal name.
    pub pii_controller: String,
    /// Who to contact: the PI protection officer or department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Registered address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
    /// Email of the protection officer, else of the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone of the protection officer, else of the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The controller's web contact page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_controller_url: Option<String>,
}

/// A postal address (Kantara uses schema.org `PostalAddress` members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    /// The address as one line, as the manifest states it.
    pub street_address: String,
}

/// A service and its purposes (Kantara `services[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptService {
    /// The service: a sub-policy's name, else the products the policy covers.
    pub service: String,
    /// The purposes; a troth receipt has exactly one.
    pub purposes: Vec<ReceiptPurpose>,
}

/// One purpose (Kantara `services[].purposes[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPurpose {
    /// The purpose's name.
    pub purpose: String,
    /// troth's classification: `basic` or `additional`, then the purpose's tags
    /// (`marketing`, `profiling`...). Kantara leaves the vocabulary open.
    pub purpose_category: Vec<String>,
    /// `EXPLICIT` for the purpose itself, `SEPARATE` for a separate consent within it
    /// (sensitive category, recipient, destination, public disclosure; PIPL Art.23,
    /// 25, 29, 39).
    pub consent_type: String,
    /// Names of the categories this consent covers.
    pub pii_category: Vec<String>,
    /// Whether the purpose is a basic function (GB/T 35273 §5.3).
    pub primary_purpose: bool,
    /// The retention phrase (`180 days`, `until account-cancelled`).
    pub termination: String,
    /// Whether the data go to a third party under this consent.
    pub third_party_disclosure: bool,
    /// Names of the third parties, separated by `; `.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_name: Option<String>,
}

/// troth's own receipt members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrothFields {
    /// Given, withdrawn, refused or expired.
    pub status: ConsentStatus,
    /// The purpose itself or a separate scope within it, with the ledger's ids.
    pub scope: Scope,
    /// The purpose's id.
    pub purpose_id: PurposeId,
    /// The policy version's label (`1.0`).
    pub policy_version: String,
    /// The policy version's content hash.
    pub policy_hash: PolicyHash,
    /// When that version was published.
    pub policy_published: Timestamp,
    /// The tenant whose ledger holds the event.
    pub tenant_id: TenantId,
    /// The ledger event.
    pub event_id: EventId,
    /// The event's exact time.
    pub event_time: Timestamp,
    /// Browser signals present at capture.
    pub signals: Signals,
    /// When a given consent lapses on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Who acted.
    pub actor: ReceiptActor,
    /// Hash of the evidence kept for the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_hash: Option<EvidenceHash>,
}

/// Who gave (or withdrew) the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ReceiptActor {
    /// The subject themselves.
    Subject,
    /// The subject's guardian.
    Guardian {
        /// The guardian's pseudonymous subject id.
        #[serde(rename = "guardianId")]
        guardian: SubjectId,
    },
    /// An SDK developer attesting that its end user consented.
    Developer {
        /// The developer's tenant id.
        #[serde(rename = "developerTenantId")]
        tenant: TenantId,
    },
}
