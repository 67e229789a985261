//! Aggregate reports with k-anonymity suppression, and the content of the personal
//! information impact assessment (PIA, PIPL Art.55–56) and the record of processing
//! activities (RoPA, GDPR Art.30) drawn from a pack.
//!
//! # Suppression
//! A report is a list of [`Distribution`]s: counts of people (or requests) per label,
//! with an optional total. [`suppress`] hides every count from 1 to k−1 ("primary"
//! suppression). A hidden cell could still be recovered by subtracting the shown cells
//! from a shown total, so where the total is shown more cells are hidden
//! ("complementary" suppression, the smallest shown ones first) until the hidden cells
//! are at least two and add up to at least k: then the total minus the shown cells
//! tells only that a group of at least k is split somehow between two or more labels.
//! A total from 1 to k−1 is itself hidden (and then every non-zero cell is too). Zero
//! counts are shown: they describe nobody. We chose complementary suppression over
//! rounding because rounded counts no longer add up and readers of these reports
//! (regulators, the public) check sums.
//!
//! Pure: the counts are passed in.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use troth_policy::{LegalBasis, Policy, PurposeTag, RecipientKind, Sensitivity, Text};

/// Counts per label, before suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// What is counted (`consent_state:analytics`).
    pub name: String,
    /// `(label, count)` in display order.
    pub cells: Vec<(String, u64)>,
    /// The total, when the report shows one (the cells then add up to it).
    pub total: Option<u64>,
}

/// One cell after suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The label.
    pub label: String,
    /// The count, or `None` when suppressed.
    pub count: Option<u64>,
}

/// A distribution after suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressedDistribution {
    /// What is counted.
    pub name: String,
    /// The cells, in the input's order.
    pub cells: Vec<Cell>,
    /// Whether the report has a total for this distribution.
    pub has_total: bool,
    /// The total, `None` when absent or suppressed.
    pub total: Option<u64>,
}

/// Hides every count that could single out fewer than `k` people (see the module
/// documentation). `k` below 2 is read as 2: a count of one always identifies.
pub fn suppress(d: &Distribution, k: u32) -> SuppressedDistribution {
    let k = u64::from(k.max(2));
    let small = |v: u64| v > 0 && v < k;
    let mut hidden: Vec<bool> = d.cells.iter().map(|(_, v)| small(*v)).collect();
    let mut total = d.total;
    if let Some(t) = d.total {
        if small(t) {
            // Every non-zero cell is below the total, hence below k: all hidden.
            total = None;
            for (h, (_, v)) in hidden.iter_mut().zip(&d.cells) {
                *h |= *v > 0;
            }
        } else {
            loop {
                let (n, sum) = hidden
                    .iter()
                    .zip(&d.cells)
                    .filter(|(h, _)| **h)
                    .fold((0usize, 0u64), |(n, s), (_, (_, v))| (n + 1, s + v));
                if n == 0 || (n >= 2 && sum >= k) {
                    break;
                }
                // Hide the smallest shown non-zero cell; if none is left, every
                // non-zero cell is hidden and their sum is the total (>= k), so only
                // a lone hidden cell can remain: it then equals the total, which
                // cannot be (it would be >= k and not hidden). Hide the total too.
                let next = hidden
                    .iter()
                    .zip(&d.cells)
                    .enumerate()
                    .filter(|(_, (h, (_, v)))| !**h && *v > 0)
                    .min_by_key(|(_, (_, (_, v)))| *v)
                    .map(|(i, _)| i);
                match next {
                    Some(i) => hidden[i] = true,
                    None => {
                        total = None;
                        break;
                    }
                }
            }
        }
    }
    SuppressedDistribution {
        name: d.name.clone(),
        cells: d
            .cells
            .iter()
            .zip(&hidden)
            .map(|((label, v), h)| Cell {
                label: label.clone(),
                count: (!h).then_some(*v),
            })
            .collect(),
        has_total: d.total.is_some(),
        total,
    }
}

// ---------------------------------------------------------------------------
// PIA and RoPA

/// A PIPL Art.55 case that requires an impact assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiaCase {
    /// Art.55(1): processing sensitive personal information.
    SensitiveData,
    /// Art.55(2): automated decision-making.
    AutomatedDecision,
    /// Art.55(3): entrusting processing to others.
    EntrustedProcessing,
    /// Art.55(3): providing personal information to other handlers.
    Sharing,
    /// Art.55(3): publicly disclosing personal information.
    PublicDisclosure,
    /// Art.55(4): providing personal information abroad.
    CrossBorder,
}

impl PiaCase {
    /// The article and clause.
    pub fn article(self) -> &'static str {
        match self {
            PiaCase::SensitiveData => "PIPL Art.55(1)",
            PiaCase::AutomatedDecision => "PIPL Art.55(2)",
            PiaCase::EntrustedProcessing | PiaCase::Sharing | PiaCase::PublicDisclosure => {
                "PIPL Art.55(3)"
            }
            PiaCase::CrossBorder => "PIPL Art.55(4)",
        }
    }
}

/// One case that applies, with what in the pack makes it apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiaFinding {
    /// The case.
    pub case: PiaCase,
    /// Its article.
    pub article: String,
    /// Ids of the pack entries that trigger it (categories, purposes, recipients,
    /// transfers).
    pub triggered_by: Vec<String>,
    /// The purposes involved.
    pub purposes: Vec<String>,
    /// The categories involved.
    pub categories: Vec<String>,
    /// Art.56(1–3) content: legality and necessity (the legal bases relied on), the
    /// impact (categories, sensitive ones named) and the protective measures taken.
    pub bases: Vec<String>,
    /// Measures from the pack's security section plus case-specific ones.
    pub measures: Vec<Text>,
}

/// The impact assessment's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiaContent {
    /// The pack id and version label assessed.
    pub pack: String,
    /// Its version label.
    pub policy_version: String,
    /// The controller's legal name.
    pub controller: Text,
    /// Every Art.55 case that applies.
    pub findings: Vec<PiaFinding>,
    /// Earlier assessments recorded in the pack (id, date, risk).
    pub earlier: Vec<(String, String, String)>,
}

/// One processing activity of the RoPA: GDPR Art.30(1)(b–g) per purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RopaActivity {
    /// The purpose id.
    pub purpose: String,
    /// Art.30(1)(b): the purpose.
    pub name: Text,
    /// Its description.
    pub description: Text,
    /// The legal basis.
    pub basis: String,
    /// Art.30(1)(c): categories of personal data.
    pub categories: Vec<String>,
    /// Art.30(1)(c): categories of data subjects (from the age rules and the
    /// purpose's function).
    pub subjects: Vec<String>,
    /// Art.30(1)(d): categories of recipients.
    pub recipients: Vec<String>,
    /// Art.30(1)(e): transfers to third countries with their safeguards.
    pub transfers: Vec<String>,
    /// Art.30(1)(f): time limit for erasure.
    pub retention: String,
    /// What happens at the end of it.
    pub on_expiry: String,
}

/// The record of processing activities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RopaContent {
    /// The pack id.
    pub pack: String,
    /// Its version label.
    pub policy_version: String,
    /// Art.30(1)(a): the controller.
    pub controller: Text,
    /// Art.30(1)(a): its contacts.
    pub contacts: Vec<String>,
    /// Art.30(1)(a): the protection officer.
    pub protection_officer: Option<Text>,
    /// One entry per purpose.
    pub activities: Vec<RopaActivity>,
    /// Art.30(1)(g): technical and organisational security measures.
    pub security_measures: Vec<Text>,
}

/// The manifest code of an enum value (`legal_obligation`): its `Debug` name in
/// snake case, which is how the manifest's serde attributes spell it.
fn code(v: impl std::fmt::Debug) -> String {
    let name = format!("{v:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn basis_code(b: LegalBasis) -> String {
    code(b)
}

fn sorted(set: BTreeSet<String>) -> Vec<String> {
    set.into_iter().collect()
}

/// The PIA content for a pack: every Art.55 case that applies, with Art.56's
/// content per case.
pub fn pia(policy: &Policy) -> PiaContent {
    let mut findings = Vec::new();
    let measures = policy.security.measures.clone();
    let mut push = |case: PiaCase,
                    triggered_by: BTreeSet<String>,
                    purposes: BTreeSet<String>,
                    categories: BTreeSet<String>| {
        if triggered_by.is_empty() {
            return;
        }
        let bases = policy
            .purposes
            .iter()
            .filter(|p| purposes.contains(p.id.as_str()))
            .map(|p| basis_code(p.basis))
            .collect::<BTreeSet<_>>();
        findings.push(PiaFinding {
            case,
            article: case.article().to_owned(),
            triggered_by: sorted(triggered_by),
            purposes: sorted(purposes),
            categories: sorted(categories),
            bases: sorted(bases),
            measures: measures.clone(),
        });
    };

    // Sensitive data: the sensitive categories and the purposes that use them.
    let sensitive: BTreeSet<String> = policy
        .categories
        .iter()
        .filter(|c| c.sensitivity == Sensitivity::Sensitive)
        .map(|c| c.id.as_str().to_owned())
        .collect();
    let using = |cats: &BTreeSet<String>| -> BTreeSet<String> {
        policy
            .purposes
            .iter()
            .filter(|p| p.all_categories().any(|c| cats.contains(c.as_str())))
            .map(|p| p.id.as_str().to_owned())
            .collect()
    };
    push(
        PiaCase::SensitiveData,
        sensitive.clone(),
        using(&sensitive),
        sensitive.clone(),
    );

    // Automated decisions (and profiling, which PIPL Art.24 treats alike).
    let tagged = |tags: &[PurposeTag]| -> (BTreeSet<String>, BTreeSet<String>) {
        let ps: Vec<_> = policy
            .purposes
            .iter()
            .filter(|p| tags.iter().any(|t| p.tags.contains(t)))
            .collect();
        (
            ps.iter().map(|p| p.id.as_str().to_owned()).collect(),
            ps.iter()
                .flat_map(|p| p.all_categories().map(|c| c.as_str().to_owned()))
                .collect(),
        )
    };
    let (ps, cs) = tagged(&[PurposeTag::AutomatedDecision, PurposeTag::Profiling]);
    push(PiaCase::AutomatedDecision, ps.clone(), ps, cs);

    // Entrusted processing and sharing: processors vs other handlers.
    for (case, entrusted) in [
        (PiaCase::EntrustedProcessing, true),
        (PiaCase::Sharing, false),
    ] {
        let rs: Vec<_> = policy
            .recipients
            .iter()
            .filter(|r| (r.kind == RecipientKind::Processor) == entrusted)
            .collect();
        push(
            case,
            rs.iter().map(|r| r.id.as_str().to_owned()).collect(),
            rs.iter()
                .flat_map(|r| r.purposes.iter().map(|p| p.as_str().to_owned()))
                .collect(),
            rs.iter()
                .flat_map(|r| r.categories.iter().map(|c| c.as_str().to_owned()))
                .collect(),
        );
    }

    let (ps, cs) = tagged(&[PurposeTag::PublicDisclosure]);
    push(PiaCase::PublicDisclosure, ps.clone(), ps, cs);

    push(
        PiaCase::CrossBorder,
        policy
            .transfers
            .iter()
            .map(|t| format!("{} ({})", t.id.as_str(), t.destination))
            .collect(),
        policy
            .transfers
            .iter()
            .flat_map(|t| t.purposes.iter().map(|p| p.as_str().to_owned()))
            .collect(),
        policy
            .transfers
            .iter()
            .flat_map(|t| t.categories.iter().map(|c| c.as_str().to_owned()))
            .collect(),
    );

    PiaContent {
        pack: policy.policy.id.as_str().to_owned(),
        policy_version: policy.policy.version.clone(),
        controller: policy.controller.legal_name.clone(),
        findings,
        earlier: policy
            .assessments
            .iter()
            .map(|a| (a.id.as_str().to_owned(), a.date.to_string(), code(a.risk)))
            .collect(),
    }
}

/// The RoPA content for a pack: one activity per purpose with the Art.30 fields.
pub fn ropa(policy: &Policy) -> RopaContent {
    let subjects = |p: &troth_policy::Purpose| -> Vec<String> {
        let mut v = vec!["users".to_owned()];
        if policy.minors.child_rule != troth_policy::GuardianRule::Blocked {
            v.push(format!("children under {}", policy.minors.child_age));
        }
        if p.tags.contains(&PurposeTag::Anonymous) {
            v.push("visitors without an account".to_owned());
        }
        v
    };
    let activities = policy
        .purposes
        .iter()
        .map(|p| RopaActivity {
            purpose: p.id.as_str().to_owned(),
            name: p.name.clone(),
            description: p.description.clone(),
            basis: basis_code(p.basis),
            categories: p.all_categories().map(|c| c.as_str().to_owned()).collect(),
            subjects: subjects(p),
            recipients: policy
                .recipients
                .iter()
                .filter(|r| r.purposes.iter().any(|x| x == &p.id))
                .map(|r| format!("{} ({}, {})", r.id.as_str(), code(r.kind), r.country))
                .collect(),
            transfers: policy
                .transfers
                .iter()
                .filter(|t| t.purposes.iter().any(|x| x == &p.id))
                .map(|t| {
                    format!(
                        "{} → {} ({})",
                        t.recipient.as_str(),
                        t.destination,
                        code(t.mechanism)
                    )
                })
                .collect(),
            retention: retention_phrase(p.retention),
            on_expiry: crate::retention::action_code(p.on_expiry).to_owned(),
        })
        .collect();
    RopaContent {
        pack: policy.policy.id.as_str().to_owned(),
        policy_version: policy.policy.version.clone(),
        controller: policy.controller.legal_name.clone(),
        contacts: policy
            .controller
            .contacts
            .iter()
            .map(|c| c.value.clone())
            .collect(),
        protection_officer: policy
            .controller
            .protection_officer
            .as_ref()
            .map(|o| o.name.clone()),
        activities,
        security_measures: policy.security.measures.clone(),
    }
}

/// The manifest phrase of a retention (`180 days`, `until account-cancelled`).
fn retention_phrase(r: troth_policy::Retention) -> String {
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dist(cells: &[u64], total: bool) -> Distribution {
        Distribution {
            name: "t".into(),
            cells: cells
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("c{i}"), *v))
                .collect(),
            total: total.then(|| cells.iter().sum()),
        }
    }

    #[test]
    fn a_lone_small_cell_gets_a_complement() {
        let out = suppress(&dist(&[3, 40, 50], true), 10);
        let shown: Vec<_> = out.cells.iter().map(|c| c.count).collect();
        assert_eq!(shown, vec![None, None, Some(50)]);
        assert_eq!(out.total, Some(93));
    }

    #[test]
    fn two_small_cells_summing_below_k_take_a_third() {
        let out = suppress(&dist(&[1, 2, 30, 40], true), 10);
        let shown: Vec<_> = out.cells.iter().map(|c| c.count).collect();
        assert_eq!(shown, vec![None, None, None, Some(40)]);
    }

    #[test]
    fn a_small_total_hides_everything_non_zero() {
        let out = suppress(&dist(&[0, 2, 3], true), 10);
        let shown: Vec<_> = out.cells.iter().map(|c| c.count).collect();
        assert_eq!(shown, vec![Some(0), None, None]);
        assert_eq!(out.total, None);
        assert!(out.has_total);
    }

    #[test]
    fn without_a_total_only_small_cells_go() {
        let out = suppress(&dist(&[3, 40, 50], false), 10);
        let shown: Vec<_> = out.cells.iter().map(|c| c.count).collect();
        assert_eq!(shown, vec![None, Some(40), Some(50)]);
    }

    #[test]
    fn s004_pia_names_its_cases() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../packs/s004-mobtech/policy.toml"
        ))
        .unwrap();
        let policy = troth_policy::parse_policy("policy.toml", &text).unwrap();
        let cases: Vec<_> = pia(&policy).findings.iter().map(|f| f.case).collect();
        assert!(cases.contains(&PiaCase::SensitiveData), "{cases:?}");
        assert!(cases.contains(&PiaCase::Sharing), "{cases:?}");
        let r = ropa(&policy);
        assert_eq!(r.activities.len(), policy.purposes.len());
        assert!(r.activities.iter().all(|a| !a.retention.is_empty()));
    }

    proptest! {
        /// No shown cell or total is between 1 and k−1; shown values are the input's;
        /// where a total is shown, the hidden cells are none, or at least two adding
        /// up to at least k, so subtraction recovers no single small cell.
        #[test]
        fn no_output_cell_below_k(cells in proptest::collection::vec(0u64..40, 0..8), total in any::<bool>(), k in 2u32..20) {
            let d = dist(&cells, total);
            let out = suppress(&d, k);
            let k = u64::from(k);
            prop_assert_eq!(out.cells.len(), cells.len());
            for (c, v) in out.cells.iter().zip(&cells) {
                if let Some(shown) = c.count {
                    prop_assert_eq!(shown, *v);
                    prop_assert!(shown == 0 || shown >= k, "cell {} shown below k", shown);
                }
            }
            if let Some(t) = out.total {
                prop_assert_eq!(Some(t), d.total);
                prop_assert!(t == 0 || t >= k);
                let hidden: Vec<u64> = out.cells.iter().zip(&cells)
                    .filter(|(c, _)| c.count.is_none()).map(|(_, v)| *v).collect();
                prop_assert!(hidden.is_empty() || (hidden.len() >= 2 && hidden.iter().sum::<u64>() >= k),
                    "recoverable by subtraction: hidden {:?}", hidden);
            }
        }
    }
}
