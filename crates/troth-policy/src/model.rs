//! The policy manifest: what a `policy.toml` says, as Rust types.
//!
//! Every statement the rendered policy makes comes from a field here, and every rule the
//! engine enforces reads a field here. Field names are the TOML keys (`snake_case`);
//! unknown keys are rejected so a typo never silently drops a promise.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::retention::Retention;

/// Text in every language the policy is published in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// English.
    pub en: String,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    pub zh: String,
}

impl Text {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        }
    }
}

/// A language a policy is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Lang {
    /// English.
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "en" | "en-US" | "en-GB" => Ok(Lang::En),
            "zh-CN" | "zh" | "zh-Hans" | "zh-cn" => Ok(Lang::ZhCn),
            _ => Err(format!("unknown language `{s}`; use `en` or `zh-CN`")),
        }
    }
}

/// A whole policy manifest (`policy.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Manifest format version; only `1` exists.
    pub schema: u32,
    /// Identity and version of this policy document.
    pub policy: PolicyMeta,
    /// Who is responsible for the processing.
    pub controller: Controller,
    /// Which law profile the deadlines, ages and bases are checked against.
    pub law: LawSection,
    /// Kinds of personal information processed.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Why data is processed.
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    /// Who else receives data.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Transfers of data outside the residency country.
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    /// Third-party SDKs embedded in the product.
    #[serde(default)]
    pub sdks: Vec<Sdk>,
    /// Cookies, beacons, pixels and similar trackers.
    #[serde(default)]
    pub trackers: Vec<Tracker>,
    /// Cases in which processing needs no consent.
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
    /// The cases in which data may be disclosed at all (seed 000 III.5); empty means
    /// no restriction beyond the recipients list.
    #[serde(default)]
    pub disclosure_bases: Vec<Exemption>,
    /// Rights offered to data subjects.
    pub rights: RightsSection,
    /// Reasons a rights request may be refused.
    #[serde(default)]
    pub refusal_reasons: Vec<ListedReason<RefusalReasonId>>,
    /// Legal reasons data may be kept despite deletion or retention expiry.
    #[serde(default)]
    pub hold_reasons: Vec<ListedReason<HoldReasonId>>,
    /// Rules for children and minors.
    pub minors: Minors,
    /// How the policy changes and how people are told.
    pub changes: ChangePolicy,
    /// Where data is stored and for how long by default.
    pub storage: Storage,
    /// Security measures and breach handling.
    pub security: Security,
    /// What happens if the service stops operating.
    #[serde(default)]
    pub cessation: Option<Cessation>,
    /// Personal-information impact assessments carried out.
    #[serde(default)]
    pub assessments: Vec<Assessment>,
    /// Service-specific sub-policies overriding this one where they differ.
    #[serde(default)]
    pub services: Vec<Service>,
}

/// Identity, version and dates of a policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMeta {
    /// The pack id (`s002-template`).
    pub id: PackId,
    /// The policy's title.
    pub title: Text,
    /// Human version label (`1.0`, `2024-03`).
    pub version: String,
    /// The date the text is published (notice starts).
    #[serde(with = "toml_date")]
    pub published: jiff::civil::Date,
    /// The date it takes effect.
    #[serde(with = "toml_date")]
    pub effective: jiff::civil::Date,
    /// Where the published text lives.
    #[serde(default)]
    pub url: Option<String>,
    /// Products or apps the policy covers.
    #[serde(default)]
    pub scope: Option<Text>,
}

/// The personal-information handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Registered legal name.
    pub legal_name: Text,
    /// Registered address.
    #[serde(default)]
    pub address: Option<Text>,
    /// Parent company or group, part of the ownership structure.
    #[serde(default)]
    pub parent: Option<Text>,
    /// How to reach the controller.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// The person or department responsible for PI protection (PIPL Art.52).
    #[serde(default)]
    pub protection_officer: Option<ProtectionOfficer>,
    /// Channels for complaints and suggestions.
    #[serde(default)]
    pub complaint_channels: Vec<Contact>,
}

/// The PI protection officer or department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectionOfficer {
    /// Name or title of the person or department.
    pub name: Text,
    /// How to reach them.
    pub contacts: Vec<Contact>,
}

/// A contact channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The kind of channel.
    pub kind: ContactKind,
    /// The address, number or URL.
    pub value: String,
    /// What it is for, if it needs saying.
    #[serde(default)]
    pub note: Option<Text>,
}

/// Kinds of contact channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// Email address.
    Email,
    /// Telephone number.
    Phone,
    /// Web page or form.
    Web,
    /// Postal address.
    Post,
    /// In-app feature (settings page, console).
    InApp,
    /// The troth privacy center for this tenant.
    PrivacyCenter,
}

/// The law profile section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawSection {
    /// The profile the manifest is checked against.
    pub profile: crate::law::LawProfileId,
    /// ISO 3166 country codes of the jurisdictions whose people the policy covers.
    #[serde(default)]
    pub jurisdictions: Vec<String>,
}

/// A kind of personal information.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable id.
    pub id: CategoryId,
    /// Display name.
    pub name: Text,
    /// Examples of values, as shown to people.
    #[serde(default)]
    pub examples: Option<Text>,
    /// Sensitivity under PIPL Art.28 / GB/T 35273 Appendix B.
    pub sensitivity: Sensitivity,
    /// Where the data comes from.
    pub source: Source,
    /// Device identifiers (IMEI, MAC, advertising ids) are flagged so the audit and the
    /// rendering never call them anonymous.
    #[serde(default)]
    pub device_identifier: bool,
    /// `false` for data used only at the moment and never stored (seed 003 location).
    #[serde(default = "yes")]
    pub stored: bool,
}

fn yes() -> bool {
    true
}

/// Sensitivity of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Ordinary personal information.
    Normal,
    /// Sensitive PI: needs separate consent and a stated necessity (PIPL Art.28–30).
    Sensitive,
    /// Never collected: any use is rejected (seed 004 A.2.4).
    Forbidden,
}

/// Where data in a category comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Provided by the person.
    User,
    /// Collected from the device automatically.
    Device,
    /// Received from a third party.
    ThirdParty,
    /// Derived or inferred by the controller.
    Derived,
}

/// A processing purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// Stable id.
    pub id: PurposeId,
    /// Display name.
    pub name: Text,
    /// What is done and why.
    pub description: Text,
    /// Basic (the service cannot work without it) or additional function.
    pub function: Function,
    /// The legal basis for processing.
    pub basis: LegalBasis,
    /// The exemption relied on when `basis` is not consent, from the `exemptions` list.
    #[serde(default)]
    pub exemption: Option<ExemptionId>,
    /// Categories the purpose needs.
    #[serde(default)]
    pub categories: Vec<CategoryId>,
    /// Categories the person may decline without losing the purpose (seed 002 R01).
    #[serde(default)]
    pub optional_categories: Vec<CategoryId>,
    /// Alternative sets of categories: the person provides one whole set (seed 004
    /// certification: name + ID number, or company name + credit code).
    #[serde(default)]
    pub one_of: Vec<Vec<CategoryId>>,
    /// Data is de-identified as soon as it is collected and only aggregate results are
    /// used (seed 004 data service, seed 000 statistics).
    #[serde(default)]
    pub deidentify_on_collection: bool,
    /// How long data collected for this purpose is kept.
    pub retention: Retention,
    /// What happens to data when retention ends.
    #[serde(default)]
    pub on_expiry: ExpiryAction,
    /// Traits that bring extra rules (tracking, marketing, cross-service use...).
    #[serde(default)]
    pub tags: BTreeSet<PurposeTag>,
    /// The device permission the purpose asks for, if any (`location`, `album`).
    #[serde(default)]
    pub permission: Option<String>,
    /// For SDK platforms: collection needs the developer's attestation that the end user
    /// consented (seed 004 section C).
    #[serde(default)]
    pub requires_attestation: bool,
}

/// Basic or additional function (GB/T 35273 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// The core service; refusing an additional function never blocks it.
    Basic,
    /// An extra feature the person may refuse.
    Additional,
}

/// Legal bases for processing (PIPL Art.13; GDPR Art.6 adds legitimate interest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The person's consent.
    Consent,
    /// Necessary for a contract with the person or for HR management.
    Contract,
    /// Necessary for a legal duty.
    LegalObligation,
    /// Needed to protect life, health or property in an emergency.
    VitalInterest,
    /// News reporting or supervision in the public interest.
    PublicInterest,
    /// Information the person made public themselves.
    PubliclyDisclosed,
    /// Other cases provided by law.
    OtherLaw,
    /// Legitimate interest (GDPR only; not a basis under PIPL).
    LegitimateInterest,
}

impl LegalBasis {
    /// Every basis, in declaration order.
    pub const ALL: [LegalBasis; 8] = [
        LegalBasis::Consent,
        LegalBasis::Contract,
        LegalBasis::LegalObligation,
        LegalBasis::VitalInterest,
        LegalBasis::PublicInterest,
        LegalBasis::PubliclyDisclosed,
        LegalBasis::OtherLaw,
        LegalBasis::LegitimateInterest,
    ];

    /// The basis's code, as packs and stored records spell it (`legal_obligation`).
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal_obligation",
            LegalBasis::VitalInterest => "vital_interest",
            LegalBasis::PublicInterest => "public_interest",
            LegalBasis::PubliclyDisclosed => "publicly_disclosed",
            LegalBasis::OtherLaw => "other_law",
            LegalBasis::LegitimateInterest => "legitimate_interest",
        }
    }
}

/// What happens to data at the end of its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryAction {
    /// Delete it.
    #[default]
    Delete,
    /// Anonymise it so it no longer identifies anyone.
    Anonymize,
}

/// Traits of a purpose that bring extra rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurposeTag {
    /// Tracking across sites or over time: GPC and DNT refuse it.
    Tracking,
    /// Advertising: GPC and DNT refuse it; an opt-out of targeting refuses it.
    Advertising,
    /// Commercial marketing messages and targeted push.
    Marketing,
    /// Sale of personal information (CCPA).
    Sale,
    /// Profiling or personalised display (PIPL Art.24).
    Profiling,
    /// Automated decision with significant effect (PIPL Art.24).
    AutomatedDecision,
    /// Uses data across the company's services (seed 001 1.10).
    CrossService,
    /// Publishes personal information (PIPL Art.25).
    PublicDisclosure,
    /// Service notices the person still gets after opting out of marketing.
    ServiceNotice,
    /// Browsing without an account (seed 003 R02).
    Anonymous,
}

/// A recipient of shared data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Stable id.
    pub id: RecipientId,
    /// Name, or a description of the type of partner where unnamed.
    pub name: Text,
    /// Relationship to the controller.
    pub kind: RecipientKind,
    /// What the recipient does with the data.
    #[serde(default)]
    pub description: Option<Text>,
    /// ISO 3166 country code where the recipient processes data.
    pub country: String,
    /// How to reach the recipient (PIPL Art.23 asks for it).
    #[serde(default)]
    pub contact: Option<String>,
    /// Categories it may receive.
    pub categories: Vec<CategoryId>,
    /// Purposes for which it may receive them.
    pub purposes: Vec<PurposeId>,
    /// Whether it may use the data for another purpose without new consent. `false`
    /// means a change of purpose needs the person's consent again.
    #[serde(default)]
    pub may_change_purpose: bool,
    /// Whether sharing needs the person's explicit, separate consent even where the
    /// purpose has another basis (seed 004 personal-finance analysis).
    #[serde(default)]
    pub requires_explicit_consent: bool,
}

/// Relationship between a recipient and the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    /// A company in the same group.
    Affiliate,
    /// Processes on the controller's behalf (entrusted processing, PIPL Art.21).
    Processor,
    /// An independent handler receiving data (PIPL Art.23).
    Partner,
    /// A third-party login provider.
    LoginProvider,
    /// Public authorities receiving data under law.
    Authority,
}

/// A transfer of personal information out of the country of storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Stable id.
    pub id: TransferId,
    /// ISO 3166 country code of the destination.
    pub destination: String,
    /// The overseas recipient.
    pub recipient: RecipientId,
    /// Purposes of the transfer.
    pub purposes: Vec<PurposeId>,
    /// Categories transferred.
    pub categories: Vec<CategoryId>,
    /// The legal mechanism (PIPL Art.38, GDPR Chapter V).
    pub mechanism: TransferMechanism,
    /// How the overseas recipient can be reached (PIPL Art.39).
    pub recipient_contact: Option<String>,
    /// Measures protecting the data.
    pub security_measures: Option<Text>,
    /// Risks the person should know about.
    pub risks: Option<Text>,
}

/// Legal mechanisms for cross-border transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMechanism {
    /// CAC security assessment.
    SecurityAssessment,
    /// PI protection certification.
    Certification,
    /// CAC standard contract.
    StandardContract,
    /// Below the 2024 thresholds: exempt from the three above.
    Exempt,
    /// GDPR adequacy decision.
    Adequacy,
    /// GDPR standard contractual clauses.
    StandardContractualClauses,
    /// GDPR binding corporate rules.
    BindingCorporateRules,
}

/// A third-party SDK.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sdk {
    /// Stable id.
    pub id: SdkId,
    /// Product name.
    pub name: String,
    /// The company providing it.
    pub provider: Text,
    /// Purposes it serves.
    pub purposes: Vec<PurposeId>,
    /// Categories it collects.
    pub categories: Vec<CategoryId>,
    /// Its own privacy policy.
    #[serde(default)]
    pub policy_url: Option<String>,
}

/// A cookie or similar tracker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracker {
    /// Stable id.
    pub id: TrackerId,
    /// What kind of technology it is.
    pub kind: TrackerKind,
    /// Name as set in the browser, or a description.
    pub name: String,
    /// Purposes it serves.
    pub purposes: Vec<PurposeId>,
    /// Categories it collects.
    #[serde(default)]
    pub categories: Vec<CategoryId>,
    /// Set by a third party rather than the site itself.
    #[serde(default)]
    pub third_party: bool,
    /// Lifetime in days; `0` for session only.
    pub lifetime_days: u32,
    /// How a person can refuse or clear it.
    #[serde(default)]
    pub how_to_refuse: Option<Text>,
}

/// Kinds of tracking technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerKind {
    /// HTTP cookie.
    Cookie,
    /// Web beacon (transparent image).
    WebBeacon,
    /// Pixel tag, often in email.
    Pixel,
    /// Browser local storage.
    LocalStorage,
    /// SDK-based device identifier.
    DeviceId,
}

/// A listed case: a consent exemption or a disclosure basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// Stable id.
    pub id: ExemptionId,
    /// The case as stated to people.
    pub text: Text,
}

/// A listed reason with an id, used for refusals and legal holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound(deserialize = "Id: serde::de::DeserializeOwned"))]
pub struct ListedReason<Id> {
    /// Stable id.
    pub id: Id,
    /// The reason as stated to people.
    pub text: Text,
}

/// Rights the policy offers and how requests are handled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsSection {
    /// Default reply deadline for every right.
    pub deadline: Deadline,
    /// How identity is checked before a request is carried out.
    pub verification: Verification,
    /// Requests free of charge per period; repeated requests beyond it may carry a fee.
    #[serde(default)]
    pub free_requests: Option<FreeRequests>,
    /// Cases in which the controller deletes data (seed 002 Five.3, seed 004 F.1.2).
    #[serde(default)]
    pub deletion_cases: Vec<Text>,
    /// The rights, one entry each.
    pub offered: Vec<Right>,
}

/// A right offered to data subjects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Right {
    /// Which right.
    pub kind: RightKind,
    /// Channels through which it can be exercised.
    pub channels: Vec<Contact>,
    /// A deadline other than the section default.
    #[serde(default)]
    pub deadline: Option<Deadline>,
    /// Anything people should know about exercising it.
    #[serde(default)]
    pub note: Option<Text>,
}

/// Kinds of data-subject right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightKind {
    /// See the data held (PIPL Art.45).
    Access,
    /// Get a copy, or have it transferred (PIPL Art.45).
    Copy,
    /// Correct or complete (PIPL Art.46).
    Correction,
    /// Delete (PIPL Art.47).
    Deletion,
    /// Withdraw consent (PIPL Art.15).
    WithdrawConsent,
    /// Cancel the account.
    CancelAccount,
    /// Explanation of processing rules or an automated decision (PIPL Art.24, 48).
    Explanation,
    /// Opt out of targeted push and advertising (PIPL Art.24).
    OptOutTargeting,
    /// Complain or suggest.
    Complaint,
    /// Restrict or refuse processing (PIPL Art.44).
    Restriction,
}

impl RightKind {
    /// Every right, in declaration order.
    pub const ALL: [RightKind; 10] = [
        RightKind::Access,
        RightKind::Copy,
        RightKind::Correction,
        RightKind::Deletion,
        RightKind::WithdrawConsent,
        RightKind::CancelAccount,
        RightKind::Explanation,
        RightKind::OptOutTargeting,
        RightKind::Complaint,
        RightKind::Restriction,
    ];
}

/// A reply deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// Number of days.
    pub days: u32,
    /// Calendar or working days.
    #[serde(default)]
    pub unit: DayUnit,
    /// The moment the count starts.
    #[serde(default)]
    pub from: DeadlineStart,
}

/// How deadline days are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    /// Every day counts.
    #[default]
    Calendar,
    /// Only working days count (per the tenant's holiday calendar).
    Working,
}

/// When a deadline starts counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStart {
    /// From receipt of the request.
    #[default]
    Receipt,
    /// From completed identity verification (seed 004).
    Verification,
}

/// How identity is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// A one-time code sent to a channel on file (email or SMS).
    OneTimeCode,
    /// Signed-in session of the account.
    Account,
    /// Manual check by an operator.
    Manual,
}

/// Free requests per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeRequests {
    /// How many requests of one kind are free.
    pub count: u32,
    /// In how many days.
    pub per_days: u32,
}

/// Rules for children and minors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Minors {
    /// Below this age a person is a child (PIPL: 14).
    pub child_age: u8,
    /// Below this age a person is a minor (CN: 18).
    pub minor_age: u8,
    /// What applies below `child_age`.
    pub child_rule: GuardianRule,
    /// What applies from `child_age` to below `minor_age`.
    pub minor_rule: GuardianRule,
    /// What evidence of guardian consent is kept.
    #[serde(default)]
    pub guardian_evidence: GuardianEvidence,
    /// Data collected from a child without guardian consent is deleted.
    #[serde(default)]
    pub delete_if_collected_without_consent: bool,
}

/// What a guardian must do for a young person's data to be processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardianRule {
    /// Nothing beyond the person's own consent.
    None,
    /// The guardian authorises; the young person may consent themselves.
    GuardianAuthorisation,
    /// The guardian explicitly consents on the young person's behalf.
    GuardianConsent,
    /// The service does not accept people in this band.
    Blocked,
}

/// Evidence required of guardian consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardianEvidence {
    /// A recorded consent event by the guardian.
    #[default]
    Recorded,
    /// Written consent: an uploaded or signed document whose hash is kept (seed 003).
    Written,
}

/// How the policy changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePolicy {
    /// Days between publication and effect.
    pub notice_days: u32,
    /// How people are told.
    pub notice_channels: Vec<NoticeChannel>,
    /// What the policy promises to treat as a significant change.
    pub significant: Vec<crate::diff::Criterion>,
    /// How consent is renewed after a significant change.
    pub renewal: Renewal,
    /// A change that reduces rights needs the person's explicit consent (seed 001 ch.7).
    #[serde(default)]
    pub rights_reduction_needs_consent: bool,
    /// What happens when the controller changes through a merger, acquisition or
    /// bankruptcy (seed 002 Three.2, seed 003 section 5).
    #[serde(default)]
    pub controller_transfer: Option<ControllerTransfer>,
}

/// The promise made for a change of controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerTransfer {
    /// How people are told about the new holder.
    pub notice_channels: Vec<NoticeChannel>,
    /// The new holder stays bound by this policy; when `false`, or when it wants to
    /// change the purpose, it must ask for consent again.
    pub new_holder_bound: bool,
}

/// Channels for telling people about changes and incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeChannel {
    /// A prominent notice on the home page or in the app.
    HomePage,
    /// Email.
    Email,
    /// SMS or phone call.
    Phone,
    /// Push notification.
    Push,
    /// Letter.
    Letter,
    /// Public announcement.
    Announcement,
    /// Pop-up in the app.
    PopUp,
}

/// How consent is renewed after a significant change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Renewal {
    /// Notice is enough; consent carries over.
    Notice,
    /// The person must explicitly accept (seed 003: click Agree).
    ExplicitAccept,
}

/// Storage and default retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// ISO 3166 country code where data is stored.
    pub residency: String,
    /// Where, in words.
    #[serde(default)]
    pub location: Option<Text>,
    /// The general retention statement.
    pub retention_statement: Text,
}

/// Security measures and breach handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Measures, one statement each.
    pub measures: Vec<Text>,
    /// Certifications held (MLPS level 3, ISO 27001).
    #[serde(default)]
    pub certifications: Vec<String>,
    /// How people are told of a breach.
    pub breach_channels: Vec<NoticeChannel>,
    /// Above this many affected people a public announcement replaces individual notice.
    #[serde(default)]
    pub announcement_threshold: Option<u64>,
    /// Whether breaches are reported to regulators.
    #[serde(default = "yes")]
    pub report_to_regulator: bool,
    /// Smallest group size published in aggregate statistics.
    #[serde(default = "default_k")]
    pub report_k: u32,
}

fn default_k() -> u32 {
    10
}

/// What happens if the service stops operating (seed 003).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cessation {
    /// Collection stops at once.
    pub stop_collection: bool,
    /// How people are told.
    pub notice_channels: Vec<NoticeChannel>,
    /// Delete or anonymise what is held.
    pub action: ExpiryAction,
    /// Days after cessation by which deletion or anonymisation is complete. Missing
    /// reads as 0, which validation rejects, so every problem is listed at once.
    #[serde(default)]
    pub within_days: u32,
}

/// A PI impact assessment (PIPL Art.55–56).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Stable id.
    pub id: AssessmentId,
    /// Date completed.
    #[serde(with = "toml_date")]
    pub date: jiff::civil::Date,
    /// What it covered.
    pub scope: Text,
    /// The risk level it found.
    pub risk: RiskLevel,
}

/// Risk level found by an assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High: a significant change under seed 004 I.6.
    High,
}

/// A service with its own sub-policy (seed 001 ch.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable id.
    pub id: ServiceId,
    /// Display name.
    pub name: Text,
    /// Its own policy text, if published separately.
    #[serde(default)]
    pub policy_url: Option<String>,
    /// Purposes that replace main-policy purposes of the same id, or add new ones.
    #[serde(default)]
    pub purposes: Vec<Purpose>,
}

impl Purpose {
    /// Every category the purpose may process: required, optional and alternatives.
    pub fn all_categories(&self) -> impl Iterator<Item = &CategoryId> {
        self.categories
            .iter()
            .chain(&self.optional_categories)
            .chain(self.one_of.iter().flatten())
    }

    /// Whether the purpose may process category `c`.
    pub fn uses(&self, c: &CategoryId) -> bool {
        self.all_categories().any(|x| x == c)
    }
}

impl Policy {
    /// Looks up a category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id.as_str() == id)
    }

    /// Looks up a purpose by id.
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id.as_str() == id)
    }

    /// Looks up a recipient by id.
    pub fn recipient(&self, id: &str) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.id.as_str() == id)
    }

    /// The rights offered, by kind.
    pub fn right(&self, kind: RightKind) -> Option<&Right> {
        self.rights.offered.iter().find(|r| r.kind == kind)
    }

    /// The deadline that applies to a right: its own or the section default.
    pub fn deadline_for(&self, kind: RightKind) -> Deadline {
        self.right(kind)
            .and_then(|r| r.deadline)
            .unwrap_or(self.rights.deadline)
    }
}

/// TOML writes dates bare (`published = 2025-01-01`); this reads them as civil dates,
/// and writes them back as `YYYY-MM-DD` strings (for JSON and hashing).
mod toml_date {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &jiff::civil::Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::civil::Date, D::Error> {
        let dt = toml::value::Datetime::deserialize(d)?;
        match (dt.date, dt.time, dt.offset) {
            (Some(date), None, None) => jiff::civil::Date::new(
                i16::try_from(date.year).map_err(serde::de::Error::custom)?,
                i8::try_from(date.month).map_err(serde::de::Error::custom)?,
                i8::try_from(date.day).map_err(serde::de::Error::custom)?,
            )
            .map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(
                "expected a plain date such as 2025-01-31, without a time",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_basis_code_is_its_serialised_name() {
        for b in LegalBasis::ALL {
            assert_eq!(
                serde_json::to_value(b).expect("serialises"),
                serde_json::Value::from(b.as_str())
            );
        }
    }
}
