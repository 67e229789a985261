//! Law profiles: the statutory values a manifest is checked against
//! (`shared/promises/LAW.md`).

use serde::{Deserialize, Serialize};

use crate::model::LegalBasis;

/// The law profiles troth knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LawProfileId {
    /// China: PIPL and GB/T 35273-2020.
    Pipl,
    /// EU: GDPR.
    Gdpr,
    /// California: CCPA as amended by the CPRA.
    Ccpa,
}

/// Statutory values of one law.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LawProfile {
    /// Which law.
    pub id: LawProfileId,
    /// Longest reply deadline to a rights request the law allows, in calendar days.
    /// PIPL says "promptly"; GB/T 35273-2020 §8.7 gives 30 days, app rules 15 working
    /// days (about 21 calendar days) for some requests; we take 30 as the outer bound
    /// and keep it a profile value because LAW.md marks it "verify".
    pub max_reply_days: u32,
    /// Whether the law lets the controller extend the deadline, and by how many days.
    pub extension_days: Option<u32>,
    /// Age below which a person is a child needing a guardian.
    pub child_age: u8,
    /// Legal bases the law recognises.
    pub bases: &'static [LegalBasis],
    /// Whether sensitive data, sharing, publication and export need *separate* consent.
    pub separate_consent: bool,
    /// Whether a child's personal information is all sensitive (PIPL Art.28).
    pub child_data_sensitive: bool,
    /// Years an impact assessment report must be kept.
    pub assessment_keep_years: u32,
    /// Hours to notify the authority of a breach, where the law sets a limit.
    pub breach_authority_hours: Option<u32>,
}

const PIPL_BASES: &[LegalBasis] = &[
    LegalBasis::Consent,
    LegalBasis::Contract,
    LegalBasis::LegalObligation,
    LegalBasis::VitalInterest,
    LegalBasis::PublicInterest,
    LegalBasis::PubliclyDisclosed,
    LegalBasis::OtherLaw,
];

const GDPR_BASES: &[LegalBasis] = &[
    LegalBasis::Consent,
    LegalBasis::Contract,
    LegalBasis::LegalObligation,
    LegalBasis::VitalInterest,
    LegalBasis::PublicInterest,
    LegalBasis::LegitimateInterest,
];

// CCPA is notice-and-opt-out rather than basis-driven; every basis is accepted and the
// opt-out rules do the work.
const CCPA_BASES: &[LegalBasis] = &LegalBasis::ALL;

impl LawProfileId {
    /// The statutory values of this law.
    pub fn profile(self) -> LawProfile {
        match self {
            LawProfileId::Pipl => LawProfile {
                id: self,
                max_reply_days: 30,
                extension_days: None,
                child_age: 14,
                bases: PIPL_BASES,
                separate_consent: true,
                child_data_sensitive: true,
                assessment_keep_years: 3,
                breach_authority_hours: None,
            },
            LawProfileId::Gdpr => LawProfile {
                id: self,
                max_reply_days: 31,
                extension_days: Some(61),
                child_age: 16,
                bases: GDPR_BASES,
                separate_consent: false,
                child_data_sensitive: false,
                assessment_keep_years: 3,
                breach_authority_hours: Some(72),
            },
            LawProfileId::Ccpa => LawProfile {
                id: self,
                max_reply_days: 45,
                extension_days: Some(45),
                child_age: 13,
                bases: CCPA_BASES,
                separate_consent: false,
                child_data_sensitive: false,
                assessment_keep_years: 3,
                breach_authority_hours: None,
            },
        }
    }

    /// The profile's name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            LawProfileId::Pipl => "pipl",
            LawProfileId::Gdpr => "gdpr",
            LawProfileId::Ccpa => "ccpa",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipl_has_no_legitimate_interest() {
        let p = LawProfileId::Pipl.profile();
        assert!(!p.bases.contains(&LegalBasis::LegitimateInterest));
        assert_eq!(p.child_age, 14);
        assert!(p.separate_consent);
    }

    #[test]
    fn gdpr_and_ccpa_deadlines() {
        assert_eq!(
            LawProfileId::Gdpr.profile().breach_authority_hours,
            Some(72)
        );
        assert_eq!(LawProfileId::Ccpa.profile().max_reply_days, 45);
        assert_eq!(LawProfileId::Ccpa.profile().extension_days, Some(45));
    }
}
