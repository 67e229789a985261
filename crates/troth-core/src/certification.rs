//! Developer real-name certification: the number checks and the workflow's state
//! machine.
//!
//! A natural person certifies with a name and a PRC resident identity card number,
//! a company with its name and unified social credit code (USCC). Both numbers carry
//! a check character, verified here before anything is stored or sent: a resident
//! ID by ISO 7064 MOD 11-2 (GB 11643), a USCC by GB 32100's weighted sum mod 31.
//! Errors say what is wrong (length, which character, the birth date, the checksum)
//! and never repeat the number.
//!
//! A certification moves `submitted → checking → certified | manual_review` (straight
//! to `manual_review` when no check can be made), and
//! from `manual_review` to `certified` or `rejected` by an operator who has seen a
//! copy of the ID card or business licence; a rejected certification may be
//! resubmitted. Every command returns the [`CertificationTransition`] for the audit
//! log, or a typed [`CertificationError`] and no change.
//!
//! Pure: nothing is read or stored here.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who is certified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificationKind {
    /// A natural-person developer: legal name and resident ID number.
    Person,
    /// A legal-person developer: company name and unified social credit code.
    Company,
}

impl CertificationKind {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Company => "company",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(Self::Person),
            "company" => Some(Self::Company),
            _ => None,
        }
    }
}

/// Where a certification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificationState {
    /// The values are stored and valid; no check has started.
    Submitted,
    /// The third-party check is under way.
    Checking,
    /// Certified, by a passing check or an operator's approval.
    Certified,
    /// The check failed or could not be made: waiting for a copy of the document and
    /// an operator's decision.
    ManualReview,
    /// An operator rejected it; the developer may submit again.
    Rejected,
}

impl CertificationState {
    /// Every state.
    pub const ALL: [CertificationState; 5] = [
        Self::Submitted,
        Self::Checking,
        Self::Certified,
        Self::ManualReview,
        Self::Rejected,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Checking => "checking",
            Self::Certified => "certified",
            Self::ManualReview => "manual_review",
            Self::Rejected => "rejected",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for CertificationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a certification was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertifiedBy {
    /// The third-party check passed.
    Check,
    /// An operator approved it after seeing a copy of the document.
    Operator,
}

/// A short, PI-free code saying why a certification went to manual review or was
/// rejected (`check_failed`, `document_unreadable`, …): 1 to 64 characters of
/// `a-z`, `0-9`, `_` and `-`, starting with a letter. Free text is not accepted, so
/// nobody writes a name or a number into the audit log by accident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReasonCode(String);

impl ReasonCode {
    /// Checks a code.
    pub fn parse(s: &str) -> Result<Self, ReasonCodeError> {
        let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        let ok = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(plain);
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ReasonCodeError)
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReasonCode {
    type Error = ReasonCodeError;
    fn try_from(s: String) -> Result<Self, ReasonCodeError> {
        Self::parse(&s)
    }
}

impl From<ReasonCode> for String {
    fn from(r: ReasonCode) -> String {
        r.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A reason code that is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a reason code is 1 to 64 characters of a-z, 0-9, `_` and `-`, starting with a letter")]
pub struct ReasonCodeError;

// ---------------------------------------------------------------------------------
// Number checks

/// What is wrong with an ID number or credit code. Never holds the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not the right number of characters.
    #[error("must be {expected} characters long, not {found}")]
    Length {
        /// Characters required.
        expected: usize,
        /// Characters given.
        found: usize,
    },
    /// A character that may not stand at that place.
    #[error("character {position} must be {expected}")]
    Character {
        /// 1-based position.
        position: usize,
        /// What may stand there.
        expected: &'static str,
    },
    /// The birth date (characters 7 to 14 of a resident ID) is not a calendar date.
    #[error("characters 7 to 14 must be a birth date (YYYYMMDD) from 1900 on")]
    BirthDate,
    /// The check character does not match the others.
    #[error("the check character (the last one) does not match the others: the number is mistyped")]
    Checksum,
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The 31 characters of a unified social credit code (no I, O, S, V, Z).
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The 18 characters of `s` after trimming and upper-casing ASCII, or the length
/// error. Counted in characters, so a multi-byte character is one position.
fn eighteen(s: &str) -> Result<Vec<char>, NumberError> {
    let chars: Vec<char> = s.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
    if chars.len() != 18 {
        return Err(NumberError::Length {
            expected: 18,
            found: chars.len(),
        });
    }
    Ok(chars)
}

/// The check character of a resident ID whose first 17 characters are `digits`
/// (ISO 7064 MOD 11-2), or `None` if they are not 17 ASCII digits.
pub fn resident_id_check_char(digits: &str) -> Option<char> {
    let d: Vec<u32> = digits
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()?;
    if d.len() != 17 || !digits.is_ascii() {
        return None;
    }
    let sum: u32 = d.iter().zip(ID_WEIGHTS).map(|(d, w)| d * w).sum();
    ID_CHECK.get((sum % 11) as usize).map(|&b| char::from(b))
}

/// The check character of a credit code whose first 17 characters are `body`
/// (weighted sum mod 31), or `None` if one of them is not in [`USCC_ALPHABET`].
pub fn credit_code_check_char(body: &str) -> Option<char> {
    let v: Vec<u32> = body.chars().map(uscc_value).collect::<Option<_>>()?;
    if v.len() != 17 {
        return None;
    }
    let sum: u32 = v.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    USCC_ALPHABET
        .get(((31 - sum % 31) % 31) as usize)
        .map(|&b| char::from(b))
}

fn uscc_value(c: char) -> Option<u32> {
    let b = u8::try_from(c).ok()?;
    USCC_ALPHABET
        .iter()
        .position(|&a| a == b)
        .and_then(|p| u32::try_from(p).ok())
}

/// A PRC resident identity card number (18 characters) whose check character and
/// birth date are valid; kept upper-case (`x` is read as `X`). `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentId(String);

impl ResidentId {
    /// Checks a number: 18 characters, 17 digits then a digit or `X`, characters 7
    /// to 14 a birth date from 1900 on, and the MOD 11-2 check character. The
    /// region code (characters 1 to 6) is not checked against a list.
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        let chars = eighteen(s)?;
        for (i, c) in chars.iter().take(17).enumerate() {
            if !c.is_ascii_digit() {
                return Err(NumberError::Character {
                    position: i + 1,
                    expected: "a digit",
                });
            }
        }
        if !(chars[17].is_ascii_digit() || chars[17] == 'X') {
            return Err(NumberError::Character {
                position: 18,
                expected: "a digit or `X`",
            });
        }
        let text: String = chars.iter().collect();
        let num = |r: std::ops::Range<usize>| text[r].parse::<i16>().ok();
        let (y, m, d) = (num(6..10), num(10..12), num(12..14));
        let date_ok = match (y, m, d) {
            (Some(y), Some(m), Some(d)) => {
                y >= 1900
                    && i8::try_from(m)
                        .ok()
                        .zip(i8::try_from(d).ok())
                        .is_some_and(|(m, d)| jiff::civil::Date::new(y, m, d).is_ok())
            }
            _ => false,
        };
        if !date_ok {
            return Err(NumberError::BirthDate);
        }
        if resident_id_check_char(&text[..17]) != Some(chars[17]) {
            return Err(NumberError::Checksum);
        }
        Ok(Self(text))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResidentId(<redacted>)")
    }
}

/// A unified social credit code (18 characters over [`USCC_ALPHABET`]) whose check
/// character is valid; kept upper-case. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    /// Checks a code: 18 characters of the alphabet and the mod-31 check character.
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        let chars = eighteen(s)?;
        if let Some(i) = chars.iter().position(|&c| uscc_value(c).is_none()) {
            return Err(NumberError::Character {
                position: i + 1,
                expected: "a digit or a capital letter other than I, O, S, V and Z",
            });
        }
        let text: String = chars.iter().collect();
        if credit_code_check_char(&text[..17]) != Some(chars[17]) {
            return Err(NumberError::Checksum);
        }
        Ok(Self(text))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CreditCode(<redacted>)")
    }
}

// ---------------------------------------------------------------------------------
// The workflow

/// What may happen to a certification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificationCommand {
    /// The values are sent to the third-party check.
    StartCheck,
    /// The check answered that the values match.
    CheckPassed,
    /// The check failed, timed out or could not be made; `reason` says which.
    CheckFailed {
        /// Why (`check_failed`, `check_unavailable`, `no_check_target`, …).
        reason: ReasonCode,
    },
    /// The developer handed in a copy of the ID card or business licence.
    AddCopy,
    /// An operator approved it, having seen the copy.
    Approve,
    /// An operator rejected it.
    Reject {
        /// Why.
        reason: ReasonCode,
    },
    /// The developer submits new values after a rejection.
    Resubmit {
        /// Person or company (may differ from the rejected submission).
        kind: CertificationKind,
    },
}

impl CertificationCommand {
    /// The command's name in errors.
    pub fn name(&self) -> &'static str {
        match self {
            Self::StartCheck => "start_check",
            Self::CheckPassed => "check_passed",
            Self::CheckFailed { .. } => "check_failed",
            Self::AddCopy => "add_copy",
            Self::Approve => "approve",
            Self::Reject { .. } => "reject",
            Self::Resubmit { .. } => "resubmit",
        }
    }
}

/// Why a command was refused; the certification is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificationError {
    /// The command does not apply in this state.
    #[error("a certification that is `{state}` cannot `{command}`")]
    NotAllowed {
        /// The current state.
        state: CertificationState,
        /// The refused command.
        command: &'static str,
    },
    /// Approval needs a copy of the document to have been handed in.
    #[error(
        "no copy of the document has been handed in: an operator approves only after seeing one"
    )]
    CopyMissing,
}

/// A certification's workflow state (no personal information).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certification {
    /// Person or company.
    pub kind: CertificationKind,
    /// Where it stands.
    pub state: CertificationState,
    /// Whether a copy of the document was handed in for manual review.
    pub copy_received: bool,
    /// How it was certified, once it is.
    pub certified_by: Option<CertifiedBy>,
    /// Why it went to manual review or was rejected.
    pub reason: Option<ReasonCode>,
}

/// One accepted command, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificationTransition {
    /// The audit action (`certification.checking`, `certification.certified`, …).
    pub action: &'static str,
    /// The state before.
    pub from: CertificationState,
    /// The state after.
    pub to: CertificationState,
}

impl Certification {
    /// A new submission.
    pub fn submitted(kind: CertificationKind) -> Self {
        Self {
            kind,
            state: CertificationState::Submitted,
            copy_received: false,
            certified_by: None,
            reason: None,
        }
    }

    /// Applies `cmd`: the certification after it and the transition, or why not.
    pub fn apply(
        &self,
        cmd: &CertificationCommand,
    ) -> Result<(Certification, CertificationTransition), CertificationError> {
        use CertificationCommand as C;
        use CertificationState as S;
        let mut next = self.clone();
        let action = match (self.state, cmd) {
            (S::Submitted, C::StartCheck) => {
                next.state = S::Checking;
                "certification.checking"
            }
            (S::Checking, C::CheckPassed) => {
                next.state = S::Certified;
                next.certified_by = Some(CertifiedBy::Check);
                next.reason = None;
                "certification.certified"
            }
            // From `submitted` when no check could be started at all (no checking
            // service, or the policy does not allow sending it the values).
            (S::Submitted | S::Checking, C::CheckFailed { reason }) => {
                next.state = S::ManualReview;
                next.reason = Some(reason.clone());
                "certification.manual_review"
            }
            (S::ManualReview, C::AddCopy) => {
                next.copy_received = true;
                "certification.copy_received"
            }
            (S::ManualReview, C::Approve) => {
                if !self.copy_received {
                    return Err(CertificationError::CopyMissing);
                }
                next.state = S::Certified;
                next.certified_by = Some(CertifiedBy::Operator);
                next.reason = None;
                "certification.certified"
            }
            (S::ManualReview, C::Reject { reason }) => {
                next.state = S::Rejected;
                next.reason = Some(reason.clone());
                "certification.rejected"
            }
            (S::Rejected, C::Resubmit { kind }) => {
                next = Self::submitted(*kind);
                "certification.resubmitted"
            }
            (state, cmd) => {
                return Err(CertificationError::NotAllowed {
                    state,
                    command: cmd.name(),
                });
            }
        };
        let t = CertificationTransition {
            action,
            from: self.state,
            to: next.state,
        };
        Ok((next, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_characters_follow_the_standards_worked_examples() {
        // GB 11643's example body and GB 32100's structure, computed by the rules.
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
        let id = format!("11010519491231002{}", 'X');
        assert!(ResidentId::parse(&id).is_ok());
        assert!(
            ResidentId::parse(&id.to_lowercase()).is_ok(),
            "x is read as X"
        );
        let body = "91350100M000100Y4";
        let code = format!("{body}{}", credit_code_check_char(body).unwrap());
        assert!(CreditCode::parse(&code).is_ok());
    }

    #[test]
    fn errors_name_the_fault_without_the_number() {
        let e = ResidentId::parse("1101051949123100").unwrap_err();
        assert_eq!(
            e,
            NumberError::Length {
                expected: 18,
                found: 16
            }
        );
        let e = ResidentId::parse("11010519491231A02X").unwrap_err();
        assert_eq!(e.to_string(), "character 15 must be a digit");
        assert_eq!(
            ResidentId::parse("110105194913310021").unwrap_err(),
            NumberError::BirthDate
        );
        let e = ResidentId::parse("110105194912310021").unwrap_err();
        assert_eq!(e, NumberError::Checksum);
        assert!(!e.to_string().contains("1101"));
        let e = CreditCode::parse("91350100M000100YI0").unwrap_err();
        assert_eq!(
            e,
            NumberError::Character {
                position: 17,
                expected: "a digit or a capital letter other than I, O, S, V and Z"
            }
        );
        assert_eq!(
            format!("{:?}", ResidentId::parse("11010519491231002X").unwrap()),
            "ResidentId(<redacted>)"
        );
    }

    #[test]
    fn reason_codes_are_plain() {
        assert!(ReasonCode::parse("document_unreadable").is_ok());
        assert!(ReasonCode::parse("Zhang San").is_err());
        assert!(ReasonCode::parse("").is_err());
        assert!(ReasonCode::parse("9lives").is_err());
    }

    #[test]
    fn manual_review_needs_a_copy_before_approval() {
        let c = Certification::submitted(CertificationKind::Person);
        let (c, _) = c.apply(&CertificationCommand::StartCheck).unwrap();
        let reason = ReasonCode::parse("check_failed").unwrap();
        let (c, t) = c
            .apply(&CertificationCommand::CheckFailed { reason })
            .unwrap();
        assert_eq!(t.to, CertificationState::ManualReview);
        assert_eq!(
            c.apply(&CertificationCommand::Approve).unwrap_err(),
            CertificationError::CopyMissing
        );
        let (c, _) = c.apply(&CertificationCommand::AddCopy).unwrap();
        let (c, t) = c.apply(&CertificationCommand::Approve).unwrap();
        assert_eq!(t.action, "certification.certified");
        assert_eq!(c.certified_by, Some(CertifiedBy::Operator));
    }
}
