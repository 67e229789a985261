//! Diff and content hash: editorial changes are minor, each significance criterion is
//! recognised, and reordering never counts as a change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use troth_policy::*;

fn fixture() -> Policy {
    let text = include_str!("fixtures/valid.toml");
    parse_policy("valid.toml", text).unwrap()
}

fn text(s: &str) -> Text {
    Text {
        en: s.to_owned(),
        zh: s.to_owned(),
    }
}

/// A change that the policy must treat as significant, and the criterion it meets.
type Mutation = (fn(&mut Policy, &str), Criterion, bool);

/// Each entry: the change, the criterion it must be classified under, and whether it
/// reduces people's rights.
fn significant_mutations() -> Vec<(&'static str, Mutation)> {
    vec![
        (
            "new purpose",
            (
                |p, s| {
                    let mut x = p.purposes[0].clone();
                    x.id = ids::PurposeId::new(format!("p-{s}")).unwrap();
                    p.purposes.push(x);
                },
                Criterion::PurposeTypeUse,
                false,
            ),
        ),
        (
            "new category on a purpose",
            (
                |p, s| {
                    let mut c = p.categories[0].clone();
                    c.id = ids::CategoryId::new(format!("c-{s}")).unwrap();
                    p.purposes[0].categories.push(c.id.clone());
                    p.categories.push(c);
                },
                Criterion::PurposeTypeUse,
                false,
            ),
        ),
        (
            "purpose description",
            (
                |p, s| p.purposes[1].description = text(s),
                Criterion::PurposeTypeUse,
                false,
            ),
        ),
        (
            "consent basis dropped",
            (
                |p, _| p.purposes[1].basis = LegalBasis::Contract,
                Criterion::PurposeTypeUse,
                true,
            ),
        ),
        (
            "controller renamed",
            (
                |p, s| p.controller.legal_name = text(s),
                Criterion::OwnershipStructure,
                false,
            ),
        ),
        (
            "parent company",
            (
                |p, s| p.controller.parent = Some(text(s)),
                Criterion::OwnershipStructure,
                false,
            ),
        ),
        (
            "new recipient",
            (
                |p, s| {
                    let mut r = p.recipients[0].clone();
                    r.id = ids::RecipientId::new(format!("r-{s}")).unwrap();
                    p.recipients.push(r);
                },
                Criterion::SharingRecipients,
                false,
            ),
        ),
        (
            "recipient may change purpose",
            (
                |p, _| p.recipients[0].may_change_purpose = true,
                Criterion::SharingRecipients,
                true,
            ),
        ),
        (
            "right removed",
            (
                |p, _| {
                    p.rights.offered.pop();
                },
                Criterion::RightsExercise,
                true,
            ),
        ),
        (
            "deadline lengthened",
            (
                |p, _| p.rights.deadline.days += 5,
                Criterion::RightsExercise,
                true,
            ),
        ),
        (
            "right channel changed",
            (
                |p, s| p.rights.offered[0].channels[0].value = format!("{s}@example.com"),
                Criterion::RightsExercise,
                false,
            ),
        ),
        (
            "contact changed",
            (
                |p, s| p.controller.contacts[0].value = format!("{s}@example.com"),
                Criterion::ContactComplaint,
                false,
            ),
        ),
        (
            "officer changed",
            (
                |p, s| {
                    if let Some(o) = p.controller.protection_officer.as_mut() {
                        o.name = text(s)
                    }
                },
                Criterion::ContactComplaint,
                false,
            ),
        ),
        (
            "complaint channel removed",
            (
                |p, _| p.controller.complaint_channels.clear(),
                Criterion::ContactComplaint,
                true,
            ),
        ),
        (
            "high-risk assessment",
            (
                |p, s| {
                    p.assessments.push(Assessment {
                        id: ids::AssessmentId::new(format!("a-{s}")).unwrap(),
                        date: jiff::civil::date(2025, 6, 1),
                        scope: text(s),
                        risk: RiskLevel::High,
                    })
                },
                Criterion::HighRiskAssessment,
                false,
            ),
        ),
        (
            "security measure removed",
            (
                |p, _| p.security.measures.clear(),
                Criterion::OtherSecurityPrivacy,
                true,
            ),
        ),
        (
            "child age lowered",
            (
                |p, _| p.minors.child_age -= 1,
                Criterion::OtherSecurityPrivacy,
                true,
            ),
        ),
        (
            "notice shortened",
            (
                |p, _| p.changes.notice_days -= 1,
                Criterion::OtherSecurityPrivacy,
                true,
            ),
        ),
    ]
}

fn id_word() -> impl Strategy<Value = String> {
    "[a-z]{1,12}"
}

proptest! {
    #[test]
    fn diff_of_a_policy_with_itself_is_empty(i in 0usize..18, w in id_word()) {
        let mut p = fixture();
        let (_, (m, _, _)) = &significant_mutations()[i];
        m(&mut p, &w);
        let r = diff(&p, &p.clone());
        prop_assert!(r.changes.is_empty());
        prop_assert!(!r.significant);
        prop_assert_eq!(r.old_hash, r.new_hash);
    }

    #[test]
    fn a_significant_change_is_never_minor(i in 0usize..18, w in id_word()) {
        let old = fixture();
        let mut new = old.clone();
        let (name, (m, criterion, reduces)) = &significant_mutations()[i];
        m(&mut new, &w);
        let r = diff(&old, &new);
        prop_assert!(r.significant, "{} was classified as minor", name);
        prop_assert!(r.criteria.contains(criterion), "{}: {:?}", name, r.criteria);
        prop_assert_eq!(r.rights_reduced, *reduces, "{}", name);
        prop_assert_ne!(content_hash(&old), content_hash(&new));
    }

    #[test]
    fn reordering_lists_is_not_a_change(seed in any::<u64>()) {
        let old = fixture();
        let mut new = old.clone();
        // A deterministic shuffle from the seed.
        let n = new.categories.len();
        new.categories.rotate_left((seed as usize) % n);
        new.purposes.reverse();
        new.changes.notice_channels.reverse();
        let r = diff(&old, &new);
        prop_assert!(r.changes.is_empty(), "{:?}", r.changes);
        prop_assert_eq!(content_hash(&old), content_hash(&new));
    }
}

#[test]
fn editorial_changes_are_minor() {
    let old = fixture();
    let mut new = old.clone();
    new.policy.title = text("A clearer title");
    new.policy.version = "1.1".into();
    new.policy.published = jiff::civil::date(2025, 3, 1);
    new.purposes[0].name = text("Sign-up");
    let r = diff(&old, &new);
    assert!(!r.significant, "{:?}", r.changes);
    assert_eq!(
        r.changes.len(),
        4,
        "title and name in two languages; version and dates are not content"
    );
    assert!(r.changes.iter().all(|c| c.criteria.is_empty()));
}

#[test]
fn explicit_accept_packs_need_explicit_consent_after_a_significant_change() {
    let old = fixture();
    let mut new = old.clone();
    new.purposes[1].tags.insert(PurposeTag::Advertising);
    let r = diff(&old, &new);
    assert!(r.significant);
    assert_eq!(new.changes.renewal, Renewal::ExplicitAccept);
    assert!(r.needs_explicit_consent);

    let mut notice_old = old.clone();
    notice_old.changes.renewal = Renewal::Notice;
    let mut notice_new = new.clone();
    notice_new.changes.renewal = Renewal::Notice;
    let r = diff(&notice_old, &notice_new);
    assert!(r.significant && !r.rights_reduced);
    assert!(!r.needs_explicit_consent);
}

#[test]
fn rights_reduction_needs_consent_when_the_policy_promises_it() {
    let mut old = fixture();
    old.changes.renewal = Renewal::Notice;
    old.changes.rights_reduction_needs_consent = true;
    let mut new = old.clone();
    new.rights.offered.pop();
    let r = diff(&old, &new);
    assert!(r.rights_reduced);
    assert!(r.needs_explicit_consent);
    let removed = r
        .changes
        .iter()
        .find(|c| c.path == "rights.offered.deletion")
        .expect("the removed right is listed by its kind");
    assert_eq!(removed.kind, ChangeKind::Removed);
}

#[test]
fn adding_a_reference_at_the_front_of_a_list_is_a_change() {
    // Regression: id lists inside items were once keyed like item lists, keeping only
    // the last element.
    let old = fixture();
    let mut new = old.clone();
    let mut c = new.categories[0].clone();
    c.id = ids::CategoryId::new("phone").unwrap();
    new.categories.push(c);
    new.purposes[0]
        .categories
        .insert(0, ids::CategoryId::new("phone").unwrap());
    let r = diff(&old, &new);
    let added: Vec<&str> = r
        .changes
        .iter()
        .filter(|c| c.path == "purposes.registration.categories")
        .map(|c| c.after.as_ref().unwrap().as_str().unwrap())
        .collect();
    assert_eq!(added, ["phone"]);
    assert!(r.criteria.contains(&Criterion::PurposeTypeUse));
    assert_ne!(content_hash(&old), content_hash(&new));
}
