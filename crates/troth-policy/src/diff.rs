//! Content hash and diff between two policy versions, with each change classified by
//! the significant-change criteria of seed 004 (section I) and seed 001 (chapter 7).
//!
//! Both work on a *canonical form*: the manifest as JSON, with lists of things that
//! have ids turned into maps keyed by id (so reordering is not a change), lists of
//! plain values treated as sets, and the version label and dates left out (they say
//! when, not what). The hash is BLAKE3 over that form, so two manifests have the same
//! hash exactly when the diff between them is empty.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::Policy;

/// Why a change may be significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Purpose, type or use of PI changed (seed 004 I.1, seed 001 7.1.1).
    PurposeTypeUse,
    /// Ownership or organisational structure changed (seed 004 I.2).
    OwnershipStructure,
    /// Main recipients of sharing, transfer or disclosure changed (seed 004 I.3).
    SharingRecipients,
    /// Rights or how to exercise them changed (seed 004 I.4, seed 001 7.1.2).
    RightsExercise,
    /// Responsible department, contact or complaint channel changed (seed 004 I.5,
    /// seed 001 7.1.3).
    ContactComplaint,
    /// An impact assessment found high risk (seed 004 I.6).
    HighRiskAssessment,
    /// Other changes affecting security or privacy rights (seed 001 7.1.4).
    OtherSecurityPrivacy,
}

impl Criterion {
    /// Every criterion.
    pub const ALL: [Criterion; 7] = [
        Criterion::PurposeTypeUse,
        Criterion::OwnershipStructure,
        Criterion::SharingRecipients,
        Criterion::RightsExercise,
        Criterion::ContactComplaint,
        Criterion::HighRiskAssessment,
        Criterion::OtherSecurityPrivacy,
    ];

    /// The criterion as a clause for people ("our ownership … changes"), as the
    /// rendered policy words it.
    pub fn describe(self, lang: crate::Lang) -> String {
        crate::labels::label(lang, &format!("criterion.{}", self.as_str()))
    }

    /// The snake_case name used in manifests and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::PurposeTypeUse => "purpose_type_use",
            Criterion::OwnershipStructure => "ownership_structure",
            Criterion::SharingRecipients => "sharing_recipients",
            Criterion::RightsExercise => "rights_exercise",
            Criterion::ContactComplaint => "contact_complaint",
            Criterion::HighRiskAssessment => "high_risk_assessment",
            Criterion::OtherSecurityPrivacy => "other_security_privacy",
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Present only in the new version.
    Added,
    /// Present only in the old version.
    Removed,
    /// Present in both with different values.
    Changed,
}

/// One difference between two versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The manifest section (`purposes`, `rights`).
    pub section: String,
    /// Path in the canonical form (`purposes.ads.categories`).
    pub path: String,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The old value, if any.
    pub before: Option<Value>,
    /// The new value, if any.
    pub after: Option<Value>,
    /// The significance criteria the change meets; empty for an editorial change.
    pub criteria: BTreeSet<Criterion>,
    /// Whether the change takes a right or safeguard away from people.
    pub reduces_rights: bool,
}

/// Every change between two versions and what it means for consent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// Hash of the old version's content.
    pub old_hash: String,
    /// Hash of the new version's content.
    pub new_hash: String,
    /// The changes, in canonical path order.
    pub changes: Vec<Change>,
    /// Union of the criteria met.
    pub criteria: BTreeSet<Criterion>,
    /// Whether any change is significant.
    pub significant: bool,
    /// Whether any change reduces people's rights.
    pub rights_reduced: bool,
    /// Whether people must explicitly accept the new version before consent-based
    /// processing continues: the new policy renews by explicit accept, or reduces
    /// rights while promising not to do so without consent.
    pub needs_explicit_consent: bool,
}

/// Lists whose elements carry an `id` and are keyed by it in the canonical form.
const KEYED_BY_ID: &[&str] = &[
    "categories",
    "purposes",
    "recipients",
    "transfers",
    "sdks",
    "trackers",
    "exemptions",
    "disclosure_bases",
    "refusal_reasons",
    "hold_reasons",
    "assessments",
    "services",
];

/// The canonical JSON form of a policy (see the module docs).
pub fn canonical(policy: &Policy) -> Value {
    let mut v = serde_json::to_value(policy).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("policy").and_then(Value::as_object_mut) {
        meta.remove("version");
        meta.remove("published");
        meta.remove("effective");
    }
    canonicalise(&mut v, &mut Vec::new());
    v
}

fn canonicalise(v: &mut Value, path: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                path.push(k.clone());
                canonicalise(child, path);
                path.pop();
            }
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                path.push("*".to_owned());
                canonicalise(child, path);
                path.pop();
            }
            if is_item_list(path) {
                let mut map = Map::new();
                for item in items.drain(..) {
                    let id = item
                        .get("id")
                        .or_else(|| item.get("kind"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    map.insert(id, item);
                }
                *v = Value::Object(map);
            } else {
                // Plain lists (references, channels, statements) are sets: order
                // carries no meaning in a policy.
                items.sort_by_cached_key(canonical_string);
                items.dedup();
            }
        }
        _ => {}
    }
}

/// Whether the list at `path` holds items with ids (keyed by id in the canonical
/// form), as opposed to a list of references or plain values.
fn is_item_list(path: &[String]) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        [k] => KEYED_BY_ID.contains(k),
        ["rights", "offered"] | ["services", "*", "purposes"] => true,
        _ => false,
    }
}

/// The content hash of a policy: BLAKE3 of its canonical form, hex encoded.
pub fn content_hash(policy: &Policy) -> String {
    let mut bytes = Vec::new();
    write_canonical(&canonical(policy), &mut bytes);
    blake3::hash(&bytes).to_hex().to_string()
}

/// Writes JSON with object keys in sorted order. `serde_json::Map` keeps insertion
/// order when any crate in the build enables its `preserve_order` feature, so the
/// hash cannot rely on the map's own order.
fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(k.clone()), out);
                out.push(b':');
                if let Some(child) = map.get(k) {
                    write_canonical(child, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

fn canonical_string(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Compares two versions.
pub fn diff(old: &Policy, new: &Policy) -> DiffReport {
    let (a, b) = (canonical(old), canonical(new));
    let mut raw = Vec::new();
    walk(&mut Vec::new(), Some(&a), Some(&b), &mut raw);
    let mut changes: Vec<Change> = raw
        .into_iter()
        .map(|(path, before, after)| classify(path, before, after))
        .collect();
    // A channel removed with nothing added in its place makes a right harder to
    // exercise; a channel replaced by another does not.
    let replaced: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .map(|c| c.path.clone())
        .collect();
    for c in &mut changes {
        let channel_list = c.path.ends_with(".channels")
            || c.path.ends_with(".contacts")
            || c.path.ends_with("complaint_channels");
        if channel_list && c.kind == ChangeKind::Removed && !replaced.contains(&c.path) {
            c.reduces_rights = true;
        }
    }
    let criteria: BTreeSet<Criterion> = changes.iter().flat_map(|c| c.criteria.clone()).collect();
    let significant = !criteria.is_empty();
    let rights_reduced = changes.iter().any(|c| c.reduces_rights);
    let needs_explicit_consent = (significant
        && new.changes.renewal == crate::model::Renewal::ExplicitAccept)
        || (rights_reduced && new.changes.rights_reduction_needs_consent);
    DiffReport {
        old_hash: content_hash(old),
        new_hash: content_hash(new),
        changes,
        criteria,
        significant,
        rights_reduced,
        needs_explicit_consent,
    }
}

type RawChange = (Vec<String>, Option<Value>, Option<Value>);

fn walk(path: &mut Vec<String>, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<RawChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                path.push(k.clone());
                walk(path, x.get(k), y.get(k), out);
                path.pop();
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for item in x.iter().filter(|i| !y.contains(i)) {
                out.push((path.clone(), Some(item.clone()), None));
            }
            for item in y.iter().filter(|i| !x.contains(i)) {
                out.push((path.clone(), None, Some(item.clone())));
            }
        }
        (Some(x), Some(y)) if x == y => {}
        (Some(Value::Null), None) | (None, Some(Value::Null)) | (None, None) => {}
        (x, y) => out.push((
            path.clone(),
            x.filter(|v| !v.is_null()).cloned(),
            y.filter(|v| !v.is_null()).cloned(),
        )),
    }
}

fn num(v: &Option<Value>) -> Option<f64> {
    v.as_ref().and_then(Value::as_f64)
}

fn text(v: &Option<Value>) -> Option<&str> {
    v.as_ref().and_then(Value::as_str)
}

/// Rank of a guardian rule, stricter is higher.
fn guardian_rank(s: Option<&str>) -> u8 {
    match s {
        Some("blocked") => 3,
        Some("guardian_consent") => 2,
        Some("guardian_authorisation") => 1,
        _ => 0,
    }
}

fn classify(path: Vec<String>, before: Option<Value>, after: Option<Value>) -> Change {
    use Criterion::*;
    let kind = match (&before, &after) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    };
    let section = path.first().cloned().unwrap_or_default();
    // The field changed inside a keyed item: `purposes.<id>.<field>`.
    let field = path.get(2).map(String::as_str);
    let last = path.last().map(String::as_str).unwrap_or("");
    let removed = kind == ChangeKind::Removed;
    let added = kind == ChangeKind::Added;
    let increased = num(&after) > num(&before);
    let decreased = num(&after) < num(&before);
    let mut criteria = BTreeSet::new();
    let mut reduces = false;
    match section.as_str() {
        // Title, URL and scope wording are editorial.
        "policy" | "schema" => {}
        "controller" => match path.get(1).map(String::as_str) {
            Some("legal_name" | "parent") => {
                criteria.insert(OwnershipStructure);
            }
            _ => {
                criteria.insert(ContactComplaint);
            }
        },
        "law" => {
            criteria.insert(OtherSecurityPrivacy);
        }
        "categories" => {
            if field != Some("name") {
                criteria.insert(PurposeTypeUse);
            }
            if field == Some("sensitivity") {
                let rank = |v: Option<&str>| match v {
                    Some("forbidden") => 2,
                    Some("sensitive") => 1,
                    _ => 0,
                };
                reduces = rank(text(&after)) < rank(text(&before));
            }
        }
        "purposes" | "services" | "trackers" => {
            if field != Some("name") {
                criteria.insert(PurposeTypeUse);
            }
            match field {
                Some("basis") => reduces = text(&before) == Some("consent"),
                Some("function") => reduces = text(&after) == Some("basic"),
                Some("retention") => reduces = true,
                Some("requires_attestation" | "deidentify_on_collection") => {
                    reduces = removed || after == Some(false.into())
                }
                _ => {}
            }
        }
        "recipients" | "transfers" | "sdks" => {
            criteria.insert(SharingRecipients);
            match field {
                Some("may_change_purpose") => reduces = after == Some(true.into()),
                Some("requires_explicit_consent") => reduces = after != Some(true.into()),
                _ => {}
            }
        }
        "disclosure_bases" | "exemptions" => {
            criteria.insert(if section == "exemptions" {
                PurposeTypeUse
            } else {
                SharingRecipients
            });
            // Each new case is one more way to process without asking.
            reduces = added && path.len() == 2;
        }
        "rights" => {
            criteria.insert(RightsExercise);
            reduces = match path.get(1).map(String::as_str) {
                Some("offered") => {
                    (removed && path.len() == 3)
                        || (last == "days" && increased)
                        || (last == "unit" && text(&after) == Some("working"))
                }
                Some("deadline") => {
                    (last == "days" && increased)
                        || (last == "unit" && text(&after) == Some("working"))
                }
                Some("free_requests") => {
                    removed || (decreased && last == "count") || (increased && last == "per_days")
                }
                Some("deletion_cases") => removed,
                Some("verification") => true,
                _ => false,
            };
        }
        "refusal_reasons" | "hold_reasons" => {
            criteria.insert(RightsExercise);
            reduces = added && path.len() == 2;
        }
        "minors" => {
            criteria.insert(OtherSecurityPrivacy);
            reduces = match last {
                "child_age" | "minor_age" => decreased,
                "child_rule" | "minor_rule" => {
                    guardian_rank(text(&after)) < guardian_rank(text(&before))
                }
                "guardian_evidence" => text(&after) == Some("recorded"),
                "delete_if_collected_without_consent" => after != Some(true.into()),
                _ => false,
            };
        }
        "changes" => {
            criteria.insert(OtherSecurityPrivacy);
            reduces = match last {
                "notice_days" => decreased,
                "renewal" => text(&after) == Some("notice"),
                "rights_reduction_needs_consent" | "new_holder_bound" => after != Some(true.into()),
                "notice_channels" | "significant" => removed,
                "controller_transfer" => removed,
                _ => false,
            };
        }
        "storage" => {
            criteria.insert(if last == "retention_statement" {
                PurposeTypeUse
            } else {
                SharingRecipients
            });
        }
        "security" | "cessation" => {
            criteria.insert(OtherSecurityPrivacy);
            reduces = match last {
                "measures" | "breach_channels" | "certifications" | "notice_channels" => removed,
                "report_k" => decreased,
                "report_to_regulator" | "stop_collection" => after != Some(true.into()),
                "announcement_threshold" => decreased,
                "within_days" => increased,
                _ => removed && path.len() == 1,
            };
        }
        "assessments" => {
            let risk_high = |v: &Option<Value>| {
                v.as_ref().is_some_and(|v| {
                    v.as_str() == Some("high")
                        || v.get("risk").and_then(Value::as_str) == Some("high")
                })
            };
            if risk_high(&after) && !risk_high(&before) {
                criteria.insert(HighRiskAssessment);
            }
        }
        // A section this classifier does not know yet is treated as significant: a
        // missed significant change costs people their say, a spurious one costs a notice.
        _ => {
            criteria.insert(OtherSecurityPrivacy);
        }
    }
    Change {
        section,
        path: path.join("."),
        kind,
        before,
        after,
        criteria,
        reduces_rights: reduces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_sorts_keys_whatever_the_map_order() {
        let mut a = Map::new();
        a.insert("b".into(), Value::from(1));
        a.insert("a".into(), Value::from(vec![Value::from("x")]));
        let mut b = Map::new();
        b.insert("a".into(), Value::from(vec![Value::from("x")]));
        b.insert("b".into(), Value::from(1));
        let (a, b) = (Value::Object(a), Value::Object(b));
        assert_eq!(canonical_string(&a), r#"{"a":["x"],"b":1}"#);
        assert_eq!(canonical_string(&a), canonical_string(&b));
    }
}
