//! The troth decision rules for one pack, written as a Cedar policy set, plus a
//! deterministic generator of subject states and requests. Shared by the differential
//! test (`tests/cedar_differential.rs`) and the bench (`benches/decide.rs`).
//!
//! Cedar has no string concatenation or set comprehension, so the policy set is
//! generated from the pack: one `permit` per purpose carrying that purpose's checks,
//! and global `forbid`s for rules that hold for every purpose. Consent state reaches
//! Cedar as entity attributes: the keys of the consents that count now (`p`,
//! `p/category/c`, `p/recipient/r`, `p/destination/XX`, `p/public_disclosure`), the
//! purposes with a current developer attestation, the opt-out flag, account status and
//! age band. Supported: what S004 uses plus sensitive/sharing/public-disclosure/
//! cross-border consents and transfers. Not modelled (the generator refuses or never
//! generates them): guardian consent and authorisation rules, service sub-policies,
//! cessation, version-history renewal.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt::Write;

use cedar_policy::{Authorizer, Context, Entities, EntityUid, PolicySet, Request};
use serde_json::json;
use troth_core::*;
use troth_policy::{GuardianRule, LegalBasis, Policy, PurposeTag, RecipientKind, Sensitivity};

fn q(s: &str) -> String {
    format!("{s:?}")
}

pub struct CedarModel {
    pub source: String,
    pub policies: PolicySet,
    /// Purpose entities (static, from the pack).
    pub purpose_entities: Vec<serde_json::Value>,
    pub residency: Option<String>,
}

impl CedarModel {
    pub fn new(p: &Policy) -> Result<Self, String> {
        for (band, rule) in [
            ("child", p.minors.child_rule),
            ("minor", p.minors.minor_rule),
        ] {
            if matches!(
                rule,
                GuardianRule::GuardianConsent | GuardianRule::GuardianAuthorisation
            ) {
                return Err(format!("{band} rule {rule:?} is not modelled in Cedar"));
            }
        }
        let residency = (!p.storage.residency.is_empty()).then(|| p.storage.residency.clone());
        let sensitive: BTreeSet<&str> = p
            .categories
            .iter()
            .filter(|c| c.sensitivity == Sensitivity::Sensitive)
            .map(|c| c.id.as_str())
            .collect();
        let forbidden: Vec<&str> = p
            .categories
            .iter()
            .filter(|c| c.sensitivity == Sensitivity::Forbidden)
            .map(|c| c.id.as_str())
            .collect();
        let declared: Vec<&str> = p.categories.iter().map(|c| c.id.as_str()).collect();

        let mut src = String::new();
        let head = "forbid (principal, action == Action::\"process\", resource)";
        writeln!(
            src,
            "{head} when {{ context.anonymous == false && principal.account != \"active\" }};"
        )
        .unwrap();
        if !forbidden.is_empty() {
            writeln!(
                src,
                "{head} when {{ context.categories.containsAny(Pack::\"pack\".forbidden) }};"
            )
            .unwrap();
        }
        writeln!(
            src,
            "{head} unless {{ Pack::\"pack\".declared.containsAll(context.categories) }};"
        )
        .unwrap();
        writeln!(
            src,
            "{head} when {{ context.gpc && resource has signal && resource.signal }};"
        )
        .unwrap();
        writeln!(
            src,
            "{head} when {{ context.dnt && resource has signal && resource.signal }};"
        )
        .unwrap();
        writeln!(
            src,
            "{head} when {{ principal.opted_out && resource has targeting && resource.targeting }};"
        )
        .unwrap();
        for (band, rule) in [
            ("child", p.minors.child_rule),
            ("minor", p.minors.minor_rule),
        ] {
            if rule == GuardianRule::Blocked {
                writeln!(
                    src,
                    "{head} when {{ context.anonymous == false && principal.band == {} }};",
                    q(band)
                )
                .unwrap();
            }
        }

        // Sets live in entity attributes, built once, rather than as literals the
        // evaluator would rebuild on every request.
        let mut purpose_entities = vec![json!({
            "uid": {"type": "Pack", "id": "pack"},
            "attrs": {"declared": declared, "forbidden": forbidden},
            "parents": []
        })];
        for r in &p.recipients {
            let cats: Vec<&str> = r.categories.iter().map(|c| c.as_str()).collect();
            purpose_entities.push(json!({
                "uid": {"type": "Recipient", "id": r.id.as_str()},
                "attrs": {"categories": cats},
                "parents": []
            }));
        }
        for t in &p.transfers {
            let cats: Vec<&str> = t.categories.iter().map(|c| c.as_str()).collect();
            purpose_entities.push(json!({
                "uid": {"type": "Transfer", "id": t.id.as_str()},
                "attrs": {"categories": cats},
                "parents": []
            }));
        }
        for pur in &p.purposes {
            let id = pur.id.as_str();
            let tags = &pur.tags;
            let has = |t| tags.contains(&t);
            let signal =
                has(PurposeTag::Tracking) || has(PurposeTag::Advertising) || has(PurposeTag::Sale);
            let targeting = (has(PurposeTag::Marketing)
                || has(PurposeTag::Advertising)
                || has(PurposeTag::Profiling))
                && !has(PurposeTag::ServiceNotice);
            let consent = pur.basis == LegalBasis::Consent;
            let anon = has(PurposeTag::Anonymous);
            let allowed: Vec<&str> = pur.all_categories().map(|c| c.as_str()).collect();
            purpose_entities.push(json!({
                "uid": {"type": "Purpose", "id": id},
                "attrs": {"declared": true, "signal": signal, "targeting": targeting, "allowed": allowed},
                "parents": []
            }));
            let key = |suffix: &str| q(&format!("{id}{suffix}"));
            let mut c: Vec<String> = Vec::new();
            if !anon {
                c.push("context.anonymous == false".into());
            }
            c.push("resource.allowed.containsAll(context.categories)".into());
            if consent {
                let base = format!("principal.consents.contains({})", key(""));
                c.push(if anon {
                    format!("(context.anonymous || {base})")
                } else {
                    base
                });
            }
            if pur.requires_attestation {
                c.push(format!("principal.attested.contains({})", q(id)));
            }
            let sensitive_here: Vec<&str> = allowed
                .iter()
                .copied()
                .filter(|c| sensitive.contains(c))
                .collect();
            let sensitive_rule = |out: &mut Vec<String>| {
                for s in &sensitive_here {
                    out.push(format!(
                        "(!context.categories.contains({}) || principal.consents.contains({}))",
                        q(s),
                        key(&format!("/category/{s}"))
                    ));
                }
            };
            if consent {
                sensitive_rule(&mut c);
            }
            if has(PurposeTag::PublicDisclosure) && consent {
                c.push(format!(
                    "principal.consents.contains({})",
                    key("/public_disclosure")
                ));
            }
            // Transfers of this purpose: the first per (destination, recipient), as the
            // engine picks the first match.
            let transfer_check = |dest: &str, recipient: Option<&str>| -> String {
                let t = p.transfers.iter().find(|t| {
                    t.destination == dest
                        && recipient.is_none_or(|r| t.recipient.as_str() == r)
                        && t.purposes.iter().any(|x| x.as_str() == id)
                });
                match t {
                    None => "false".into(),
                    Some(t) => format!(
                        "(Transfer::{}.categories.containsAll(context.categories) && principal.consents.contains({}))",
                        q(t.id.as_str()),
                        key(&format!("/destination/{dest}"))
                    ),
                }
            };
            let destinations: BTreeSet<&str> =
                p.transfers.iter().map(|t| t.destination.as_str()).collect();
            let dest_expr = |recipient: Option<&str>| -> String {
                let Some(home) = &residency else {
                    return "true".into();
                };
                let mut alts = vec![format!("context.destination == {}", q(home))];
                for d in &destinations {
                    alts.push(format!(
                        "(context.destination == {} && {})",
                        q(d),
                        transfer_check(d, recipient)
                    ));
                }
                format!("({})", alts.join(" || "))
            };
            let mut branches = Vec::new();
            for r in &p.recipients {
                let rid = r.id.as_str();
                let mut b = vec![format!("context.recipient == {}", q(rid))];
                let scoped = format!(
                    "principal.consents.contains({})",
                    key(&format!("/recipient/{rid}"))
                );
                if !r.purposes.iter().any(|x| x.as_str() == id) && !r.may_change_purpose {
                    b.push(scoped.clone());
                }
                let partner = matches!(
                    r.kind,
                    RecipientKind::Partner | RecipientKind::LoginProvider
                );
                if r.requires_explicit_consent || (consent && partner) {
                    b.push(scoped.clone());
                }
                b.push(format!(
                    "Recipient::{}.categories.containsAll(context.categories)",
                    q(rid)
                ));
                if r.requires_explicit_consent && !consent {
                    sensitive_rule(&mut b);
                }
                let stat = match &residency {
                    Some(home) if *home != r.country => transfer_check(&r.country, Some(rid)),
                    _ => "true".into(),
                };
                b.push(format!(
                    "(if context.has_destination then {} else {stat})",
                    dest_expr(Some(rid))
                ));
                branches.push(format!("({})", b.join(" && ")));
            }
            let rec = if branches.is_empty() {
                "false".to_owned()
            } else {
                branches.join(" || ")
            };
            c.push(format!("(context.has_recipient == false || {rec})"));
            c.push(format!(
                "(context.has_recipient || context.has_destination == false || {})",
                dest_expr(None)
            ));
            writeln!(
                src,
                "permit (principal, action == Action::\"process\", resource == Purpose::{}) when {{\n  {}\n}};",
                q(id),
                c.join("\n  && ")
            )
            .unwrap();
        }
        let policies: PolicySet = src.parse().map_err(|e| format!("{e:?}"))?;
        Ok(Self {
            source: src,
            policies,
            purpose_entities,
            residency,
        })
    }

    /// The principal entity for a subject, from its folded state at `at`.
    pub fn subject_entity(
        uid: &str,
        state: &SubjectState,
        policy: &CompiledPolicy,
        at: jiff::Timestamp,
    ) -> serde_json::Value {
        let mut consents = Vec::new();
        let mut attested = Vec::new();
        for pc in state.purposes() {
            let id = pc.purpose.as_str();
            let counts = |r: &ConsentRecord| {
                r.is_given_at(at)
                    && policy
                        .validity()
                        .is_none_or(|v| v.counts(id, &r.version, state.accepted_versions()))
            };
            if pc.general.as_ref().is_some_and(counts) {
                consents.push(id.to_owned());
            }
            for (scope, r) in &pc.scoped {
                if !counts(r) {
                    continue;
                }
                consents.push(match scope {
                    Scope::Purpose => id.to_owned(),
                    Scope::Category(c) => format!("{id}/category/{c}"),
                    Scope::Recipient(r) => format!("{id}/recipient/{r}"),
                    Scope::Destination(d) => format!("{id}/destination/{d}"),
                    Scope::PublicDisclosure => format!("{id}/public_disclosure"),
                });
            }
            if pc.attestation_current() {
                attested.push(id.to_owned());
            }
        }
        let band = match state.age_band(policy.minors(), at) {
            AgeBand::Child => "child",
            AgeBand::Minor => "minor",
            AgeBand::Adult => "adult",
        };
        let account = match state.account() {
            AccountStatus::Active => "active",
            AccountStatus::Cancelled => "cancelled",
            AccountStatus::ChildBlocked => "child_blocked",
        };
        json!({
            "uid": {"type": "Subject", "id": uid},
            "attrs": {
                "account": account,
                "band": band,
                "opted_out": state.targeting_opted_out(),
                "consents": consents,
                "attested": attested,
            },
            "parents": []
        })
    }

    pub fn entities(&self, subjects: Vec<serde_json::Value>) -> Entities {
        let mut all = self.purpose_entities.clone();
        all.extend(subjects);
        all.push(json!({
            "uid": {"type": "Subject", "id": "anonymous"},
            "attrs": {"account": "active", "band": "adult", "opted_out": false, "consents": [], "attested": []},
            "parents": []
        }));
        Entities::from_json_value(serde_json::Value::Array(all), None).unwrap()
    }

    pub fn request(subject_uid: &str, r: &DecisionRequest) -> Request {
        let principal: EntityUid = if r.anonymous {
            r#"Subject::"anonymous""#.parse().unwrap()
        } else {
            format!("Subject::{}", q(subject_uid)).parse().unwrap()
        };
        let action: EntityUid = r#"Action::"process""#.parse().unwrap();
        let resource: EntityUid = format!("Purpose::{}", q(r.purpose.as_str()))
            .parse()
            .unwrap();
        let cats: Vec<&str> = r.categories.iter().map(|c| c.as_str()).collect();
        let ctx = json!({
            "categories": cats,
            "has_recipient": r.recipient.is_some(),
            "recipient": r.recipient.as_ref().map_or("", |x| x.as_str()),
            "has_destination": r.destination.is_some(),
            "destination": r.destination.map_or(String::new(), |d| d.to_string()),
            "gpc": r.signals.gpc,
            "dnt": r.signals.dnt,
            "anonymous": r.anonymous,
        });
        let context = Context::from_json_value(ctx, None).unwrap();
        Request::new(principal, action, resource, context, None).unwrap()
    }

    pub fn allows(&self, authorizer: &Authorizer, req: &Request, entities: &Entities) -> bool {
        authorizer
            .is_authorized(req, &self.policies, entities)
            .decision()
            == cedar_policy::Decision::Allow
    }
}

/// A small deterministic PRNG (xorshift64*), so generated cases are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

pub const TENANT: TenantId = TenantId::from_u128(1);

/// Random ledger events for one subject against a pack.
pub fn subject_events(
    rng: &mut Rng,
    p: &Policy,
    hash: PolicyHash,
    subject: SubjectId,
    out: &mut Vec<LedgerEvent>,
) {
    let mut n = 0u64;
    let base: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    let mut push = |fact: Fact| {
        n += 1;
        out.push(LedgerEvent {
            id: EventId::from_parts(n, subject.as_u128()),
            tenant: TENANT,
            subject,
            at: base + jiff::SignedDuration::from_secs(n as i64),
            fact,
        });
    };
    let statuses = [
        ConsentStatus::Given,
        ConsentStatus::Given,
        ConsentStatus::Withdrawn,
        ConsentStatus::Refused,
    ];
    for pur in &p.purposes {
        if rng.chance(50) {
            continue;
        }
        let id = pur.id.clone();
        let status = *rng.pick(&statuses);
        let mut f = ConsentFact::new(status, id.clone(), hash);
        if pur.requires_attestation && rng.chance(70) {
            f = f
                .with_method(Method::DeveloperAttestation)
                .with_actor(Actor::Developer {
                    tenant: TenantId::from_u128(9),
                });
        }
        push(Fact::Consent(f));
        for c in pur.all_categories() {
            if rng.chance(50) {
                push(Fact::Consent(
                    ConsentFact::given(id.clone(), hash).with_scope(Scope::Category(c.clone())),
                ));
            }
        }
        for r in &p.recipients {
            if rng.chance(15) {
                push(Fact::Consent(
                    ConsentFact::given(id.clone(), hash).with_scope(Scope::Recipient(r.id.clone())),
                ));
            }
        }
        for t in &p.transfers {
            if rng.chance(20) {
                let d = CountryCode::new(&t.destination).unwrap();
                push(Fact::Consent(
                    ConsentFact::given(id.clone(), hash).with_scope(Scope::Destination(d)),
                ));
            }
        }
        if rng.chance(30) {
            push(Fact::Consent(
                ConsentFact::given(id.clone(), hash).with_scope(Scope::PublicDisclosure),
            ));
        }
    }
    if rng.chance(20) {
        push(Fact::TargetingOptOut { opted_out: true });
    }
    if rng.chance(5) {
        push(Fact::Account(AccountStatus::Cancelled));
    }
    if rng.chance(10) {
        push(Fact::Age(AgeInfo::BirthDate(jiff::civil::date(2015, 6, 1))));
    } else if rng.chance(10) {
        push(Fact::Age(AgeInfo::Declared(AgeBand::Minor)));
    }
}

/// A random request against a pack, at `at`.
pub fn request(rng: &mut Rng, p: &Policy, at: jiff::Timestamp) -> DecisionRequest {
    let purposes: Vec<&str> = p
        .purposes
        .iter()
        .map(|x| x.id.as_str())
        .chain(["resell"])
        .collect();
    let purpose = *rng.pick(&purposes);
    let own: Vec<&str> = p
        .purpose(purpose)
        .map(|x| {
            x.categories
                .iter()
                .chain(&x.optional_categories)
                .map(|c| c.as_str())
                .collect()
        })
        .unwrap_or_default();
    let all: Vec<&str> = p
        .categories
        .iter()
        .map(|c| c.id.as_str())
        .chain(["shoe-size"])
        .collect();
    let mut cats = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let c = if !own.is_empty() && rng.chance(85) {
            *rng.pick(&own)
        } else {
            *rng.pick(&all)
        };
        if !cats.contains(&c) {
            cats.push(c);
        }
    }
    let mut r = DecisionRequest::try_new(purpose, &cats, at).unwrap();
    if rng.chance(35) {
        let rs: Vec<&str> = p
            .recipients
            .iter()
            .map(|x| x.id.as_str())
            .chain(["stranger"])
            .collect();
        r = r.with_recipient(rng.pick(&rs).parse().unwrap());
    }
    if rng.chance(15) {
        let mut ds: Vec<String> = p.transfers.iter().map(|t| t.destination.clone()).collect();
        ds.push(p.storage.residency.clone());
        ds.push("US".into());
        r = r.with_destination(CountryCode::new(rng.pick(&ds).as_str()).unwrap());
    }
    r.signals = Signals {
        gpc: rng.chance(10),
        dnt: rng.chance(10),
    };
    if rng.chance(5) {
        r = r.anonymous();
    }
    r
}
