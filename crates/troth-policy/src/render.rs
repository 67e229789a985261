//! Rendering a policy as the text people read.
//!
//! The manifest is first turned into a *view*: every field resolved to the chosen
//! language, every code to its display words. One Markdown template per language lays
//! the view out in the section order of the seed policies; HTML is that Markdown turned
//! into a page, with any raw HTML in field values shown as text, never interpreted.

use std::sync::OnceLock;

use serde::Serialize;

use crate::labels::{enum_label, label, label_or_value};
use crate::model::*;
use crate::retention::{Period, PeriodUnit, Retention};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown.
    Markdown,
    /// A standalone HTML page.
    Html,
}

/// Why rendering failed (a template bug, never bad input: input is validated first).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the policy: {0}")]
pub struct RenderError(#[from] minijinja::Error);

const EN: &str = include_str!("../templates/policy.en.md.j2");
const ZH: &str = include_str!("../templates/policy.zh-CN.md.j2");
const PAGE: &str = include_str!("../templates/page.html.j2");

fn md_env() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        // Every interpolated field value is escaped for Markdown; macro output is
        // already Markdown and is marked safe by the engine.
        env.set_formatter(|out, _state, value| {
            let written = match value.as_str() {
                Some(s) if !value.is_safe() => out.write_str(&escape_md(s)),
                _ => write!(out, "{value}"),
            };
            written.map_err(|_| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write output")
            })
        });
        // Templates are compile-time constants covered by the snapshot tests; a syntax
        // error shows up there, and `render` reports it as a RenderError.
        let _ = env.add_template("en", EN);
        let _ = env.add_template("zh-CN", ZH);
        env
    })
}

fn html_env() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        let _ = env.add_template("page", PAGE);
        env
    })
}

/// Escapes characters that Markdown would treat as markup in field values.
fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Renders `policy` in `lang` as `format`.
pub fn render(policy: &Policy, lang: Lang, format: Format) -> Result<String, RenderError> {
    let view = View::new(policy, lang);
    let md = md_env()
        .get_template(lang.tag())?
        .render(minijinja::value::Serde(&view))?;
    match format {
        Format::Markdown => Ok(md),
        Format::Html => {
            let opts = pulldown_cmark::Options::ENABLE_TABLES;
            let events = pulldown_cmark::Parser::new_ext(&md, opts).map(|e| match e {
                // Field values are text; never let them become markup.
                pulldown_cmark::Event::Html(s) | pulldown_cmark::Event::InlineHtml(s) => {
                    pulldown_cmark::Event::Text(s)
                }
                other => other,
            });
            let mut body = String::new();
            pulldown_cmark::html::push_html(&mut body, events);
            Ok(html_env()
                .get_template("page")?
                .render(minijinja::context! {
                    lang => lang.tag(),
                    title => policy.policy.title.get(lang),
                    body => body,
                })?)
        }
    }
}

#[derive(Serialize)]
struct View {
    title: String,
    version: String,
    published: String,
    effective: String,
    url: Option<String>,
    scope: Option<String>,
    controller: ControllerV,
    categories: Vec<CategoryV>,
    forbidden: Vec<String>,
    basic: Vec<PurposeV>,
    additional: Vec<PurposeV>,
    sdks: Vec<SdkV>,
    trackers: Vec<TrackerV>,
    recipient_groups: Vec<RecipientGroupV>,
    transfers: Vec<TransferV>,
    disclosure_bases: Vec<String>,
    exemptions: Vec<String>,
    rights: RightsV,
    refusal_reasons: Vec<String>,
    hold_reasons: Vec<String>,
    minors: MinorsV,
    changes: ChangesV,
    storage: StorageV,
    security: SecurityV,
    cessation: Option<CessationV>,
    assessments: Vec<AssessmentV>,
    services: Vec<ServiceV>,
}

#[derive(Serialize)]
struct ContactV {
    kind: String,
    value: String,
    note: Option<String>,
}

#[derive(Serialize)]
struct ControllerV {
    name: String,
    address: Option<String>,
    parent: Option<String>,
    contacts: Vec<ContactV>,
    officer: Option<OfficerV>,
    complaints: Vec<ContactV>,
}

#[derive(Serialize)]
struct OfficerV {
    name: String,
    contacts: Vec<ContactV>,
}

#[derive(Serialize)]
struct CategoryV {
    name: String,
    examples: Option<String>,
    sensitivity: String,
    sensitive: bool,
    source: String,
    device_identifier: bool,
    stored: bool,
}

#[derive(Serialize)]
struct PurposeV {
    name: String,
    description: String,
    basis: String,
    consent: bool,
    exemption: Option<String>,
    categories: Vec<String>,
    sensitive: Vec<String>,
    optional: Vec<String>,
    one_of: Vec<String>,
    deidentify_on_collection: bool,
    retention: String,
    stored: bool,
    on_expiry: String,
    tags: Vec<String>,
    permission: Option<String>,
    requires_attestation: bool,
}

#[derive(Serialize)]
struct SdkV {
    name: String,
    provider: String,
    purposes: Vec<String>,
    categories: Vec<String>,
    policy_url: Option<String>,
}

#[derive(Serialize)]
struct TrackerV {
    kind: String,
    name: String,
    purposes: Vec<String>,
    categories: Vec<String>,
    third_party: bool,
    lifetime_days: u32,
    how_to_refuse: Option<String>,
}

#[derive(Serialize)]
struct RecipientGroupV {
    kind: String,
    recipients: Vec<RecipientV>,
}

#[derive(Serialize)]
struct RecipientV {
    name: String,
    description: Option<String>,
    country: String,
    contact: Option<String>,
    categories: Vec<String>,
    purposes: Vec<String>,
    may_change_purpose: bool,
    requires_explicit_consent: bool,
}

#[derive(Serialize)]
struct TransferV {
    destination: String,
    recipient: String,
    purposes: Vec<String>,
    categories: Vec<String>,
    mechanism: String,
    contact: Option<String>,
    security_measures: Option<String>,
    risks: Option<String>,
}

#[derive(Serialize)]
struct RightsV {
    deadline: String,
    verification: String,
    free_requests: Option<FreeRequests>,
    deletion_cases: Vec<String>,
    offered: Vec<RightV>,
}

#[derive(Serialize)]
struct RightV {
    name: String,
    channels: Vec<ContactV>,
    deadline: Option<String>,
    note: Option<String>,
}

#[derive(Serialize)]
struct MinorsV {
    child_age: u8,
    minor_age: u8,
    child_rule: String,
    minor_rule: String,
    evidence: String,
    delete_if_collected_without_consent: bool,
    same_age: bool,
}

#[derive(Serialize)]
struct ChangesV {
    notice_days: u32,
    channels: Vec<String>,
    significant: Vec<String>,
    renewal: String,
    rights_reduction_needs_consent: bool,
    controller_transfer: Option<ControllerTransferV>,
}

#[derive(Serialize)]
struct ControllerTransferV {
    channels: Vec<String>,
    new_holder_bound: bool,
}

#[derive(Serialize)]
struct StorageV {
    residency: String,
    location: Option<String>,
    retention_statement: String,
}

#[derive(Serialize)]
struct SecurityV {
    measures: Vec<String>,
    certifications: Vec<String>,
    breach_channels: Vec<String>,
    announcement_threshold: Option<u64>,
    report_to_regulator: bool,
    report_k: u32,
}

#[derive(Serialize)]
struct CessationV {
    stop_collection: bool,
    channels: Vec<String>,
    action: String,
    within_days: u32,
}

#[derive(Serialize)]
struct AssessmentV {
    date: String,
    scope: String,
    risk: String,
}

#[derive(Serialize)]
struct ServiceV {
    name: String,
    policy_url: Option<String>,
    purposes: Vec<PurposeV>,
}

struct Ctx<'a> {
    p: &'a Policy,
    lang: Lang,
}

impl Ctx<'_> {
    fn t(&self, t: &Text) -> String {
        t.get(self.lang).to_owned()
    }

    fn ot(&self, t: &Option<Text>) -> Option<String> {
        t.as_ref().map(|t| self.t(t))
    }

    fn category_names(&self, ids: &[crate::ids::CategoryId]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                self.p
                    .category(id.as_str())
                    .map_or_else(|| id.to_string(), |c| self.t(&c.name))
            })
            .collect()
    }

    fn purpose_names(&self, ids: &[crate::ids::PurposeId]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                self.p
                    .purpose(id.as_str())
                    .or_else(|| {
                        self.p
                            .services
                            .iter()
                            .flat_map(|s| &s.purposes)
                            .find(|x| x.id == *id)
                    })
                    .map_or_else(|| id.to_string(), |c| self.t(&c.name))
            })
            .collect()
    }

    fn contacts(&self, cs: &[Contact]) -> Vec<ContactV> {
        cs.iter()
            .map(|c| ContactV {
                kind: enum_label(self.lang, "contact", &c.kind),
                value: c.value.clone(),
                note: self.ot(&c.note),
            })
            .collect()
    }

    fn country(&self, code: &str) -> String {
        label_or_value(self.lang, "country", code)
    }

    fn period(&self, p: Period) -> String {
        match self.lang {
            Lang::En => p.to_string(),
            Lang::ZhCn => {
                let unit = match p.unit {
                    PeriodUnit::Days => "日",
                    PeriodUnit::Weeks => "周",
                    PeriodUnit::Months => "个月",
                    PeriodUnit::Years => "年",
                };
                format!("{}{unit}", p.amount)
            }
        }
    }

    fn retention(&self, r: &Retention) -> String {
        let zh = self.lang == Lang::ZhCn;
        match r {
            Retention::None if zh => "仅在使用时即时处理，不予保存".to_owned(),
            Retention::None => "used at the moment only and never stored".to_owned(),
            Retention::For(p) if zh => format!("自收集之日起保存{}", self.period(*p)),
            Retention::For(p) => format!("kept for {} from collection", self.period(*p)),
            Retention::Until { event, grace } => {
                let ev = label(self.lang, &format!("event.{}", event.keyword()));
                match (grace, zh) {
                    (None, true) => format!("保存至{ev}时"),
                    (None, false) => format!("kept until {ev}"),
                    (Some(g), true) => format!("保存至{ev}后{}", self.period(*g)),
                    (Some(g), false) => format!("kept until {} after {ev}", self.period(*g)),
                }
            }
        }
    }

    fn deadline(&self, d: &Deadline) -> String {
        let unit = enum_label(self.lang, "unit", &d.unit);
        let from = enum_label(self.lang, "from", &d.from);
        match self.lang {
            Lang::En => format!("within {} {unit} {from}", d.days),
            Lang::ZhCn => format!("{from}{}{unit}内", d.days),
        }
    }

    fn purpose(&self, pu: &Purpose) -> PurposeV {
        let sensitive = pu
            .categories
            .iter()
            .chain(&pu.optional_categories)
            .filter(|id| {
                self.p
                    .category(id.as_str())
                    .is_some_and(|c| c.sensitivity == Sensitivity::Sensitive)
            })
            .cloned()
            .collect::<Vec<_>>();
        PurposeV {
            name: self.t(&pu.name),
            description: self.t(&pu.description),
            basis: enum_label(self.lang, "basis", &pu.basis),
            consent: pu.basis == LegalBasis::Consent,
            exemption: pu.exemption.as_ref().and_then(|e| {
                self.p
                    .exemptions
                    .iter()
                    .find(|x| x.id == *e)
                    .map(|x| self.t(&x.text))
            }),
            categories: self.category_names(&pu.categories),
            sensitive: self.category_names(&sensitive),
            optional: self.category_names(&pu.optional_categories),
            one_of: pu
                .one_of
                .iter()
                .map(|set| {
                    let sep = if self.lang == Lang::ZhCn { "、" } else { ", " };
                    self.category_names(set).join(sep)
                })
                .collect(),
            deidentify_on_collection: pu.deidentify_on_collection,
            retention: self.retention(&pu.retention),
            stored: pu.retention != Retention::None,
            on_expiry: enum_label(self.lang, "expiry", &pu.on_expiry),
            tags: pu
                .tags
                .iter()
                .map(|t| enum_label(self.lang, "tag", t))
                .collect(),
            permission: pu
                .permission
                .as_deref()
                .map(|p| label_or_value(self.lang, "permission", p)),
            requires_attestation: pu.requires_attestation,
        }
    }

    fn notices(&self, cs: &[NoticeChannel]) -> Vec<String> {
        cs.iter()
            .map(|c| enum_label(self.lang, "notice", c))
            .collect()
    }
}

impl View {
    fn new(p: &Policy, lang: Lang) -> Self {
        let c = Ctx { p, lang };
        let mut groups: Vec<RecipientGroupV> = Vec::new();
        let mut kinds: Vec<RecipientKind> = p.recipients.iter().map(|r| r.kind).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            groups.push(RecipientGroupV {
                kind: enum_label(lang, "recipient", &kind),
                recipients: p
                    .recipients
                    .iter()
                    .filter(|r| r.kind == kind)
                    .map(|r| RecipientV {
                        name: c.t(&r.name),
                        description: c.ot(&r.description),
                        country: c.country(&r.country),
                        contact: r.contact.clone(),
                        categories: c.category_names(&r.categories),
                        purposes: c.purpose_names(&r.purposes),
                        may_change_purpose: r.may_change_purpose,
                        requires_explicit_consent: r.requires_explicit_consent,
                    })
                    .collect(),
            });
        }
        View {
            title: c.t(&p.policy.title),
            version: p.policy.version.clone(),
            published: p.policy.published.to_string(),
            effective: p.policy.effective.to_string(),
            url: p.policy.url.clone(),
            scope: c.ot(&p.policy.scope),
            controller: ControllerV {
                name: c.t(&p.controller.legal_name),
                address: c.ot(&p.controller.address),
                parent: c.ot(&p.controller.parent),
                contacts: c.contacts(&p.controller.contacts),
                officer: p.controller.protection_officer.as_ref().map(|o| OfficerV {
                    name: c.t(&o.name),
                    contacts: c.contacts(&o.contacts),
                }),
                complaints: c.contacts(&p.controller.complaint_channels),
            },
            categories: p
                .categories
                .iter()
                .filter(|x| x.sensitivity != Sensitivity::Forbidden)
                .map(|x| CategoryV {
                    name: c.t(&x.name),
                    examples: c.ot(&x.examples),
                    sensitivity: enum_label(lang, "sensitivity", &x.sensitivity),
                    sensitive: x.sensitivity == Sensitivity::Sensitive,
                    source: enum_label(lang, "source", &x.source),
                    device_identifier: x.device_identifier,
                    stored: x.stored,
                })
                .collect(),
            forbidden: p
                .categories
                .iter()
                .filter(|x| x.sensitivity == Sensitivity::Forbidden)
                .map(|x| c.t(&x.name))
                .collect(),
            basic: p
                .purposes
                .iter()
                .filter(|x| x.function == Function::Basic)
                .map(|x| c.purpose(x))
                .collect(),
            additional: p
                .purposes
                .iter()
                .filter(|x| x.function == Function::Additional)
                .map(|x| c.purpose(x))
                .collect(),
            sdks: p
                .sdks
                .iter()
                .map(|s| SdkV {
                    name: s.name.clone(),
                    provider: c.t(&s.provider),
                    purposes: c.purpose_names(&s.purposes),
                    categories: c.category_names(&s.categories),
                    policy_url: s.policy_url.clone(),
                })
                .collect(),
            trackers: p
                .trackers
                .iter()
                .map(|t| TrackerV {
                    kind: enum_label(lang, "tracker", &t.kind),
                    name: t.name.clone(),
                    purposes: c.purpose_names(&t.purposes),
                    categories: c.category_names(&t.categories),
                    third_party: t.third_party,
                    lifetime_days: t.lifetime_days,
                    how_to_refuse: c.ot(&t.how_to_refuse),
                })
                .collect(),
            recipient_groups: groups,
            transfers: p
                .transfers
                .iter()
                .map(|t| TransferV {
                    destination: c.country(&t.destination),
                    recipient: p
                        .recipient(t.recipient.as_str())
                        .map_or_else(|| t.recipient.to_string(), |r| c.t(&r.name)),
                    purposes: c.purpose_names(&t.purposes),
                    categories: c.category_names(&t.categories),
                    mechanism: enum_label(lang, "mechanism", &t.mechanism),
                    contact: t.recipient_contact.clone(),
                    security_measures: c.ot(&t.security_measures),
                    risks: c.ot(&t.risks),
                })
                .collect(),
            disclosure_bases: p.disclosure_bases.iter().map(|e| c.t(&e.text)).collect(),
            exemptions: p.exemptions.iter().map(|e| c.t(&e.text)).collect(),
            rights: RightsV {
                deadline: c.deadline(&p.rights.deadline),
                verification: enum_label(lang, "verification", &p.rights.verification),
                free_requests: p.rights.free_requests,
                deletion_cases: p.rights.deletion_cases.iter().map(|t| c.t(t)).collect(),
                offered: p
                    .rights
                    .offered
                    .iter()
                    .map(|r| RightV {
                        name: enum_label(lang, "right", &r.kind),
                        channels: c.contacts(&r.channels),
                        deadline: r.deadline.as_ref().map(|d| c.deadline(d)),
                        note: c.ot(&r.note),
                    })
                    .collect(),
            },
            refusal_reasons: p.refusal_reasons.iter().map(|r| c.t(&r.text)).collect(),
            hold_reasons: p.hold_reasons.iter().map(|r| c.t(&r.text)).collect(),
            minors: MinorsV {
                child_age: p.minors.child_age,
                minor_age: p.minors.minor_age,
                child_rule: enum_label(lang, "guardian", &p.minors.child_rule),
                minor_rule: enum_label(lang, "guardian", &p.minors.minor_rule),
                evidence: enum_label(lang, "evidence", &p.minors.guardian_evidence),
                delete_if_collected_without_consent: p.minors.delete_if_collected_without_consent,
                same_age: p.minors.child_age == p.minors.minor_age,
            },
            changes: ChangesV {
                notice_days: p.changes.notice_days,
                channels: c.notices(&p.changes.notice_channels),
                significant: p
                    .changes
                    .significant
                    .iter()
                    .map(|k| enum_label(lang, "criterion", k))
                    .collect(),
                renewal: enum_label(lang, "renewal", &p.changes.renewal),
                rights_reduction_needs_consent: p.changes.rights_reduction_needs_consent,
                controller_transfer: p.changes.controller_transfer.as_ref().map(|t| {
                    ControllerTransferV {
                        channels: c.notices(&t.notice_channels),
                        new_holder_bound: t.new_holder_bound,
                    }
                }),
            },
            storage: StorageV {
                residency: c.country(&p.storage.residency),
                location: c.ot(&p.storage.location),
                retention_statement: c.t(&p.storage.retention_statement),
            },
            security: SecurityV {
                measures: p.security.measures.iter().map(|m| c.t(m)).collect(),
                certifications: p.security.certifications.clone(),
                breach_channels: c.notices(&p.security.breach_channels),
                announcement_threshold: p.security.announcement_threshold,
                report_to_regulator: p.security.report_to_regulator,
                report_k: p.security.report_k,
            },
            cessation: p.cessation.as_ref().map(|x| CessationV {
                stop_collection: x.stop_collection,
                channels: c.notices(&x.notice_channels),
                action: enum_label(lang, "expiry", &x.action),
                within_days: x.within_days,
            }),
            assessments: p
                .assessments
                .iter()
                .map(|a| AssessmentV {
                    date: a.date.to_string(),
                    scope: c.t(&a.scope),
                    risk: enum_label(lang, "risk", &a.risk),
                })
                .collect(),
            services: p
                .services
                .iter()
                .map(|s| ServiceV {
                    name: c.t(&s.name),
                    policy_url: s.policy_url.clone(),
                    purposes: s.purposes.iter().map(|x| c.purpose(x)).collect(),
                })
                .collect(),
        }
    }
}
