//! Developer certification: properties of the resident ID and credit code checks
//! (every generated valid number passes, every one-character change fails) and of
//! the workflow (nothing is certified without a passing check or an operator's
//! approval after a copy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use troth_core::certification::{USCC_ALPHABET, credit_code_check_char, resident_id_check_char};
use troth_core::*;

/// A valid resident ID: a region code, a real birth date from 1900 on, a sequence
/// number and the computed check character.
fn resident_id() -> impl Strategy<Value = String> {
    // Birth dates from 1900-01-01 over about 130 years.
    (100_000u32..=999_999, 0i32..47_000, 0u32..1000).prop_map(|(region, days, seq)| {
        let day = jiff::civil::date(1900, 1, 1)
            .checked_add(jiff::Span::new().days(days))
            .unwrap();
        let body = format!("{region}{}{seq:03}", day.strftime("%Y%m%d"));
        format!("{body}{}", resident_id_check_char(&body).unwrap())
    })
}

/// A valid credit code: 17 characters of the alphabet and the computed check.
fn credit_code() -> impl Strategy<Value = String> {
    prop::collection::vec(0usize..31, 17).prop_map(|ix| {
        let body: String = ix.iter().map(|&i| char::from(USCC_ALPHABET[i])).collect();
        format!("{body}{}", credit_code_check_char(&body).unwrap())
    })
}

/// Replaces the character at `pos` by another printable ASCII character.
fn change(s: &str, pos: usize, to: char) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    if chars[pos] == to || chars[pos].eq_ignore_ascii_case(&to) {
        return None;
    }
    chars[pos] = to;
    Some(chars.into_iter().collect())
}

fn command() -> impl Strategy<Value = CertificationCommand> {
    let reason = prop_oneof![Just("check_failed"), Just("document_unreadable")]
        .prop_map(|r| ReasonCode::parse(r).unwrap());
    prop_oneof![
        Just(CertificationCommand::StartCheck),
        Just(CertificationCommand::CheckPassed),
        reason
            .clone()
            .prop_map(|reason| CertificationCommand::CheckFailed { reason }),
        Just(CertificationCommand::AddCopy),
        Just(CertificationCommand::Approve),
        reason.prop_map(|reason| CertificationCommand::Reject { reason }),
        prop_oneof![
            Just(CertificationKind::Person),
            Just(CertificationKind::Company)
        ]
        .prop_map(|kind| CertificationCommand::Resubmit { kind }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_valid_resident_id_passes(id in resident_id()) {
        let parsed = ResidentId::parse(&id).unwrap();
        prop_assert_eq!(parsed.as_str(), id.as_str());
    }

    #[test]
    fn any_one_character_change_to_a_resident_id_fails(
        id in resident_id(),
        pos in 0usize..18,
        to in prop::char::range('0', 'Z'),
    ) {
        let Some(bad) = change(&id, pos, to) else { return Ok(()) };
        let e = ResidentId::parse(&bad).unwrap_err();
        // The error never repeats the number.
        prop_assert!(!e.to_string().contains(&bad));
    }

    #[test]
    fn every_valid_credit_code_passes(code in credit_code()) {
        let parsed = CreditCode::parse(&code).unwrap();
        prop_assert_eq!(parsed.as_str(), code.as_str());
    }

    #[test]
    fn any_one_character_change_to_a_credit_code_fails(
        code in credit_code(),
        pos in 0usize..18,
        to in prop::char::range('0', 'Z'),
    ) {
        let Some(bad) = change(&code, pos, to) else { return Ok(()) };
        let e = CreditCode::parse(&bad).unwrap_err();
        prop_assert!(!e.to_string().contains(&bad));
    }

    #[test]
    fn nothing_is_certified_without_a_passing_check_or_an_approval_after_a_copy(
        cmds in prop::collection::vec(command(), 0..16),
    ) {
        let mut c = Certification::submitted(CertificationKind::Person);
        let mut checked = false;
        for cmd in &cmds {
            if let Ok((next, t)) = c.apply(cmd) {
                prop_assert_eq!(t.from, c.state);
                prop_assert_eq!(t.to, next.state);
                if cmd == &CertificationCommand::StartCheck {
                    checked = true;
                }
                if next.state == CertificationState::Certified
                    && c.state != CertificationState::Certified
                {
                    match cmd {
                        CertificationCommand::CheckPassed => {
                            prop_assert!(checked, "a check ran");
                            prop_assert_eq!(next.certified_by, Some(CertifiedBy::Check));
                        }
                        CertificationCommand::Approve => {
                            prop_assert!(c.copy_received, "the operator saw a copy");
                            prop_assert_eq!(next.certified_by, Some(CertifiedBy::Operator));
                        }
                        other => prop_assert!(false, "certified by {:?}", other),
                    }
                }
                if matches!(cmd, CertificationCommand::Resubmit { .. }) {
                    checked = false;
                }
                c = next;
            }
            prop_assert_eq!(
                c.state == CertificationState::Certified,
                c.certified_by.is_some()
            );
        }
    }
}

#[test]
fn certified_is_final() {
    let c = Certification {
        kind: CertificationKind::Company,
        state: CertificationState::Certified,
        copy_received: false,
        certified_by: Some(CertifiedBy::Check),
        reason: None,
    };
    for cmd in [
        CertificationCommand::StartCheck,
        CertificationCommand::AddCopy,
        CertificationCommand::Approve,
        CertificationCommand::Resubmit {
            kind: CertificationKind::Person,
        },
    ] {
        assert!(matches!(
            c.apply(&cmd),
            Err(CertificationError::NotAllowed { .. })
        ));
    }
}
