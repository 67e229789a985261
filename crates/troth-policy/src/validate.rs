//! Semantic checks over a parsed manifest: references, law-profile bounds, and the
//! promises a policy must state concretely. Returns every problem, not just the first.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{FieldPath, Problem};
use crate::ids::check_id;
use crate::model::*;

/// Runs every check and returns all problems found, in manifest order.
pub fn validate(p: &Policy) -> Vec<Problem> {
    let mut v = Checker {
        p,
        problems: Vec::new(),
    };
    v.run();
    v.problems
}

struct Checker<'a> {
    p: &'a Policy,
    problems: Vec<Problem>,
}

fn root(k: &str) -> FieldPath {
    FieldPath::root().key(k)
}

/// Words that mark a text as an unfinished template rather than a promise.
const PLACEHOLDERS: &[&str] = &["XXXX", "xxxx", "TODO", "TBD", "[insert", "……"];

impl Checker<'_> {
    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    fn run(&mut self) {
        let p = self.p;
        if p.schema != 1 {
            self.push(
                Problem::new(
                    "unknown-schema",
                    root("schema"),
                    format!("manifest schema `{}` is not supported", p.schema),
                )
                .expected("`1`")
                .help("set `schema = 1` at the top of policy.toml"),
            );
        }
        self.check_meta();
        self.check_controller();
        self.check_ids();
        self.check_categories();
        self.check_purposes(&p.purposes, &root("purposes"));
        for (i, s) in p.services.iter().enumerate() {
            self.check_text(&s.name, &root("services").index(i).key("name"));
            let path = root("services").index(i).key("purposes");
            self.check_purposes(&s.purposes, &path);
            self.unique(
                s.purposes.iter().map(|x| x.id.as_str()),
                &path,
                "duplicate-id",
            );
        }
        self.check_recipients();
        self.check_transfers();
        self.check_sdks_and_trackers();
        self.check_rights();
        self.check_minors();
        self.check_changes();
        self.check_storage_and_security();
        for (list, name) in [
            (&p.exemptions, "exemptions"),
            (&p.disclosure_bases, "disclosure_bases"),
        ] {
            for (i, e) in list.iter().enumerate() {
                self.check_text(&e.text, &root(name).index(i).key("text"));
            }
        }
        for (i, r) in p.refusal_reasons.iter().enumerate() {
            self.check_text(&r.text, &root("refusal_reasons").index(i).key("text"));
        }
        for (i, r) in p.hold_reasons.iter().enumerate() {
            self.check_text(&r.text, &root("hold_reasons").index(i).key("text"));
        }
    }

    fn check_text(&mut self, t: &Text, path: &FieldPath) {
        for (lang, s) in [("en", &t.en), ("zh-CN", &t.zh)] {
            let lpath = path.key(lang);
            if s.trim().is_empty() {
                self.push(
                    Problem::new("empty-text", lpath, format!("the {lang} text is empty"))
                        .help("every statement is published in English and Chinese; write both"),
                );
            } else if let Some(ph) = PLACEHOLDERS.iter().find(|ph| s.contains(*ph)) {
                self.push(
                    Problem::new(
                        "placeholder",
                        lpath,
                        format!("the {lang} text still contains the placeholder `{ph}`"),
                    )
                    .help("replace the placeholder with the concrete value the policy promises"),
                );
            }
        }
    }

    fn check_country(&mut self, c: &str, path: FieldPath) {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            self.push(
                Problem::new(
                    "bad-country",
                    path,
                    format!("`{c}` is not an ISO 3166 country code"),
                )
                .expected("two capital letters, such as `CN` or `SG`"),
            );
        }
    }

    fn check_contacts(&mut self, contacts: &[Contact], path: &FieldPath) {
        for (i, c) in contacts.iter().enumerate() {
            let cpath = path.index(i).key("value");
            let v = c.value.trim();
            let bad = match c.kind {
                ContactKind::Email => {
                    let mut parts = v.split('@');
                    !matches!((parts.next(), parts.next(), parts.next()),
                        (Some(l), Some(d), None) if !l.is_empty() && d.contains('.'))
                }
                ContactKind::Phone => {
                    v.chars().filter(|c| c.is_ascii_digit()).count() < 5
                        || v.chars()
                            .any(|c| !(c.is_ascii_digit() || " +-()".contains(c)))
                }
                ContactKind::Web => !(v.starts_with("https://") || v.starts_with("http://")),
                ContactKind::Post | ContactKind::InApp | ContactKind::PrivacyCenter => v.is_empty(),
            };
            if bad || PLACEHOLDERS.iter().any(|ph| v.contains(ph)) {
                self.push(
                    Problem::new(
                        "bad-contact",
                        cpath,
                        format!("`{v}` is not a usable {:?} contact", c.kind).to_lowercase(),
                    )
                    .help("give the real address, number or URL people can use"),
                );
            }
            if let Some(n) = &c.note {
                self.check_text(n, &path.index(i).key("note"));
            }
        }
    }

    fn check_meta(&mut self) {
        let m = &self.p.policy;
        self.check_text(&m.title, &root("policy").key("title"));
        if let Some(s) = &m.scope {
            self.check_text(s, &root("policy").key("scope"));
        }
        if m.version.trim().is_empty() {
            self.push(Problem::new(
                "empty-text",
                root("policy").key("version"),
                "the version label is empty",
            ));
        }
        let notice = i64::from(self.p.changes.notice_days);
        let earliest = m
            .published
            .checked_add(jiff::Span::new().days(notice))
            .unwrap_or(m.published);
        if m.effective < earliest {
            self.push(
                Problem::new(
                    "effective-too-early",
                    root("policy").key("effective"),
                    format!(
                        "the policy takes effect on {} but was published on {}, less than the {notice} days' notice it promises",
                        m.effective, m.published
                    ),
                )
                .expected(format!("a date on or after {earliest}"))
                .help("move `effective` later, or change `changes.notice_days`"),
            );
        }
    }

    fn check_controller(&mut self) {
        let c = &self.p.controller;
        let path = root("controller");
        self.check_text(&c.legal_name, &path.key("legal_name"));
        if let Some(a) = &c.address {
            self.check_text(a, &path.key("address"));
        }
        if c.contacts.is_empty() {
            self.push(
                Problem::new(
                    "missing-contact",
                    path.key("contacts"),
                    "the controller gives no contact channel",
                )
                .help("PIPL Art.17 requires the handler's contact method; add at least one `[[controller.contacts]]`"),
            );
        }
        self.check_contacts(&c.contacts, &path.key("contacts"));
        self.check_contacts(&c.complaint_channels, &path.key("complaint_channels"));
        if let Some(o) = &c.protection_officer {
            self.check_text(&o.name, &path.key("protection_officer").key("name"));
            let opath = path.key("protection_officer").key("contacts");
            if o.contacts.is_empty() {
                self.push(Problem::new(
                    "missing-contact",
                    opath.clone(),
                    "the PI protection officer has no contact channel",
                ));
            }
            self.check_contacts(&o.contacts, &opath);
        }
    }

    fn unique<'s>(
        &mut self,
        ids: impl Iterator<Item = &'s str>,
        list: &FieldPath,
        code: &'static str,
    ) {
        let mut seen = BTreeMap::new();
        for (i, id) in ids.enumerate() {
            if let Err(e) = check_id(id) {
                self.push(
                    Problem::new(
                        "bad-id",
                        list.index(i).key("id"),
                        format!("bad id `{id}`: {e}"),
                    )
                    .expected("lowercase letters, digits, `-`, `_` or `.`, starting with a letter"),
                );
            }
            if let Some(first) = seen.insert(id, i) {
                self.push(
                    Problem::new(
                        code,
                        list.index(i).key("id"),
                        format!("id `{id}` is declared twice (first at {list}[{first}])"),
                    )
                    .help("ids must be unique within their list; rename one of them"),
                );
            }
        }
    }

    fn check_ids(&mut self) {
        let p = self.p;
        self.unique(
            p.categories.iter().map(|x| x.id.as_str()),
            &root("categories"),
            "duplicate-id",
        );
        self.unique(
            p.purposes.iter().map(|x| x.id.as_str()),
            &root("purposes"),
            "duplicate-id",
        );
        self.unique(
            p.recipients.iter().map(|x| x.id.as_str()),
            &root("recipients"),
            "duplicate-id",
        );
        self.unique(
            p.transfers.iter().map(|x| x.id.as_str()),
            &root("transfers"),
            "duplicate-id",
        );
        self.unique(
            p.sdks.iter().map(|x| x.id.as_str()),
            &root("sdks"),
            "duplicate-id",
        );
        self.unique(
            p.trackers.iter().map(|x| x.id.as_str()),
            &root("trackers"),
            "duplicate-id",
        );
        self.unique(
            p.exemptions.iter().map(|x| x.id.as_str()),
            &root("exemptions"),
            "duplicate-id",
        );
        self.unique(
            p.disclosure_bases.iter().map(|x| x.id.as_str()),
            &root("disclosure_bases"),
            "duplicate-id",
        );
        self.unique(
            p.refusal_reasons.iter().map(|x| x.id.as_str()),
            &root("refusal_reasons"),
            "duplicate-id",
        );
        self.unique(
            p.hold_reasons.iter().map(|x| x.id.as_str()),
            &root("hold_reasons"),
            "duplicate-id",
        );
        self.unique(
            p.services.iter().map(|x| x.id.as_str()),
            &root("services"),
            "duplicate-id",
        );
        self.unique(
            p.assessments.iter().map(|x| x.id.as_str()),
            &root("assessments"),
            "duplicate-id",
        );
    }

    fn check_categories(&mut self) {
        for (i, c) in self.p.categories.iter().enumerate() {
            let path = root("categories").index(i);
            self.check_text(&c.name, &path.key("name"));
            if let Some(e) = &c.examples {
                self.check_text(e, &path.key("examples"));
            }
        }
    }

    /// Checks a list of category references; returns nothing, records problems.
    fn category_refs(&mut self, ids: &[crate::ids::CategoryId], path: &FieldPath, owner: &str) {
        for (i, id) in ids.iter().enumerate() {
            match self.p.category(id.as_str()) {
                None => {
                    let known: Vec<&str> =
                        self.p.categories.iter().map(|c| c.id.as_str()).collect();
                    self.push(
                        Problem::new(
                            "unknown-category",
                            path.index(i),
                            format!("{owner} refers to category `{id}`, which is not declared"),
                        )
                        .expected(format!("one of: {}", known.join(", ")))
                        .help("declare it under `[[categories]]` or fix the spelling"),
                    );
                }
                Some(c) if c.sensitivity == Sensitivity::Forbidden => {
                    self.push(
                        Problem::new(
                            "forbidden-category",
                            path.index(i),
                            format!(
                                "{owner} uses category `{id}`, which the policy promises never to collect"
                            ),
                        )
                        .help("remove it here; forbidden categories may be declared but never used"),
                    );
                }
                Some(_) => {}
            }
        }
    }

    fn purpose_refs(&mut self, ids: &[crate::ids::PurposeId], path: &FieldPath, owner: &str) {
        for (i, id) in ids.iter().enumerate() {
            if self.p.purpose(id.as_str()).is_none()
                && !self
                    .p
                    .services
                    .iter()
                    .any(|s| s.purposes.iter().any(|x| x.id == *id))
            {
                let known: Vec<&str> = self.p.purposes.iter().map(|c| c.id.as_str()).collect();
                self.push(
                    Problem::new(
                        "unknown-purpose",
                        path.index(i),
                        format!("{owner} refers to purpose `{id}`, which is not declared"),
                    )
                    .expected(format!("one of: {}", known.join(", ")))
                    .help("declare it under `[[purposes]]` or fix the spelling"),
                );
            }
        }
    }

    fn check_purposes(&mut self, purposes: &[Purpose], list: &FieldPath) {
        let law = self.p.law.profile.profile();
        for (i, pu) in purposes.iter().enumerate() {
            let path = list.index(i);
            let owner = format!("purpose `{}`", pu.id);
            self.check_text(&pu.name, &path.key("name"));
            self.check_text(&pu.description, &path.key("description"));
            self.category_refs(&pu.categories, &path.key("categories"), &owner);
            self.category_refs(
                &pu.optional_categories,
                &path.key("optional_categories"),
                &owner,
            );
            for (j, set) in pu.one_of.iter().enumerate() {
                self.category_refs(set, &path.key("one_of").index(j), &owner);
                if set.is_empty() {
                    self.push(
                        Problem::new(
                            "empty-alternative",
                            path.key("one_of").index(j),
                            format!("{owner} lists an empty alternative"),
                        )
                        .help("each alternative is a non-empty set of category ids"),
                    );
                }
            }
            for (j, c) in pu.optional_categories.iter().enumerate() {
                if pu.categories.contains(c) {
                    self.push(
                        Problem::new(
                            "optional-and-required",
                            path.key("optional_categories").index(j),
                            format!("category `{c}` is both required and optional for {owner}"),
                        )
                        .help("list it in `categories` or in `optional_categories`, not both"),
                    );
                }
            }
            if pu.all_categories().next().is_none() {
                self.push(
                    Problem::new(
                        "no-categories",
                        path.key("categories"),
                        format!("{owner} uses no data category"),
                    )
                    .help("list the categories the purpose processes"),
                );
            }
            if !law.bases.contains(&pu.basis) {
                self.push(
                    Problem::new(
                        "basis-not-in-law",
                        path.key("basis"),
                        format!(
                            "legal basis `{}` is not recognised by the `{}` profile",
                            serde_json::to_value(pu.basis)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                            law.id.as_str()
                        ),
                    )
                    .help("PIPL has no legitimate interest: use consent, or another Art.13 basis"),
                );
            }
            if let Some(e) = &pu.exemption {
                if !self.p.exemptions.iter().any(|x| x.id == *e) {
                    self.push(
                        Problem::new(
                            "unknown-exemption",
                            path.key("exemption"),
                            format!("{owner} relies on exemption `{e}`, which is not listed"),
                        )
                        .help("add it under `[[exemptions]]`"),
                    );
                }
                if pu.basis == LegalBasis::Consent {
                    self.push(
                        Problem::new(
                            "exemption-with-consent",
                            path.key("exemption"),
                            format!("{owner} is consent-based and also names an exemption"),
                        )
                        .help("an exemption is for purposes that need no consent; remove one"),
                    );
                }
            }
            if pu.basis != LegalBasis::Consent {
                for (j, c) in pu.all_categories().enumerate() {
                    let sensitive = self
                        .p
                        .category(c.as_str())
                        .is_some_and(|c| c.sensitivity == Sensitivity::Sensitive);
                    if sensitive && law.separate_consent {
                        let (n_req, n_opt) = (pu.categories.len(), pu.optional_categories.len());
                        let field = if j < n_req {
                            path.key("categories").index(j)
                        } else if j < n_req + n_opt {
                            path.key("optional_categories").index(j - n_req)
                        } else {
                            path.key("one_of")
                        };
                        self.push(
                            Problem::new(
                                "sensitive-without-consent",
                                field,
                                format!("sensitive category `{c}` is used by {owner}, whose basis is not consent"),
                            )
                            .expected("`basis = \"consent\"` for purposes using sensitive PI")
                            .help("sensitive PI needs separate consent (PIPL Art.29); change the basis or move the category"),
                        );
                    }
                }
            }
        }
    }

    fn check_recipients(&mut self) {
        let residency = &self.p.storage.residency;
        for (i, r) in self.p.recipients.iter().enumerate() {
            let path = root("recipients").index(i);
            let owner = format!("recipient `{}`", r.id);
            self.check_text(&r.name, &path.key("name"));
            if let Some(d) = &r.description {
                self.check_text(d, &path.key("description"));
            }
            self.check_country(&r.country, path.key("country"));
            self.category_refs(&r.categories, &path.key("categories"), &owner);
            self.purpose_refs(&r.purposes, &path.key("purposes"), &owner);
            // A recipient may only receive what at least one of its purposes uses.
            self.categories_within_purposes(&r.categories, &r.purposes, &path, &owner);
            if r.country != *residency && !self.p.transfers.iter().any(|t| t.recipient == r.id) {
                self.push(
                    Problem::new(
                        "recipient-abroad-without-transfer",
                        path.key("country"),
                        format!(
                            "{owner} is in `{}` but data is stored in `{residency}` and no transfer to it is declared",
                            r.country
                        ),
                    )
                    .help("declare a `[[transfers]]` entry for this recipient (PIPL Art.38–39)"),
                );
            }
        }
    }

    fn check_transfers(&mut self) {
        let residency = self.p.storage.residency.clone();
        let law = self.p.law.profile;
        for (i, t) in self.p.transfers.iter().enumerate() {
            let path = root("transfers").index(i);
            let owner = format!("transfer `{}`", t.id);
            self.check_country(&t.destination, path.key("destination"));
            if t.destination == residency {
                self.push(
                    Problem::new(
                        "transfer-not-cross-border",
                        path.key("destination"),
                        format!(
                            "{owner} goes to `{}`, where data is already stored",
                            t.destination
                        ),
                    )
                    .help("a transfer entry is for data leaving the residency country; remove it"),
                );
            }
            let recipient = self.p.recipient(t.recipient.as_str());
            match recipient {
                None => self.push(
                    Problem::new(
                        "unknown-recipient",
                        path.key("recipient"),
                        format!(
                            "{owner} names recipient `{}`, which is not declared",
                            t.recipient
                        ),
                    )
                    .help("declare it under `[[recipients]]`"),
                ),
                Some(r) => {
                    if r.country != t.destination {
                        self.push(
                            Problem::new(
                                "transfer-country-mismatch",
                                path.key("destination"),
                                format!(
                                    "{owner} goes to `{}` but recipient `{}` is in `{}`",
                                    t.destination, r.id, r.country
                                ),
                            )
                            .help("make the destination and the recipient's country agree"),
                        );
                    }
                    for (j, c) in t.categories.iter().enumerate() {
                        if !r.categories.contains(c) {
                            self.push(
                                Problem::new(
                                    "transfer-beyond-recipient",
                                    path.key("categories").index(j),
                                    format!("{owner} sends `{c}`, which recipient `{}` may not receive", r.id),
                                )
                                .help("add the category to the recipient, or remove it from the transfer"),
                            );
                        }
                    }
                }
            }
            self.category_refs(&t.categories, &path.key("categories"), &owner);
            self.purpose_refs(&t.purposes, &path.key("purposes"), &owner);
            self.categories_within_purposes(&t.categories, &t.purposes, &path, &owner);
            // PIPL Art.39 and seed 003 2.1: purpose, recipient, security measures, risks.
            if t.purposes.is_empty() {
                self.push(self.missing_transfer_field(&path, "purposes", &owner));
            }
            if t.categories.is_empty() {
                self.push(self.missing_transfer_field(&path, "categories", &owner));
            }
            match &t.security_measures {
                None => self.push(self.missing_transfer_field(&path, "security_measures", &owner)),
                Some(s) => self.check_text(s, &path.key("security_measures")),
            }
            match &t.risks {
                None => self.push(self.missing_transfer_field(&path, "risks", &owner)),
                Some(s) => self.check_text(s, &path.key("risks")),
            }
            if law == crate::law::LawProfileId::Pipl
                && t.recipient_contact
                    .as_deref()
                    .is_none_or(|c| c.trim().is_empty())
            {
                self.push(self.missing_transfer_field(&path, "recipient_contact", &owner));
            }
        }
    }

    /// Every category in `categories` must be used by one of `purposes`: data may not
    /// flow for a purpose that does not need it.
    fn categories_within_purposes(
        &mut self,
        categories: &[crate::ids::CategoryId],
        purposes: &[crate::ids::PurposeId],
        path: &FieldPath,
        owner: &str,
    ) {
        if purposes.is_empty() {
            return;
        }
        for (j, c) in categories.iter().enumerate() {
            let used = purposes
                .iter()
                .any(|pid| self.p.purpose(pid.as_str()).is_some_and(|pu| pu.uses(c)));
            if !used {
                self.push(
                    Problem::new(
                        "category-outside-purposes",
                        path.key("categories").index(j),
                        format!("{owner} covers `{c}`, which none of its purposes uses"),
                    )
                    .help("add the category to one of its purposes, or remove it here"),
                );
            }
        }
    }

    fn missing_transfer_field(&self, path: &FieldPath, field: &str, owner: &str) -> Problem {
        Problem::new(
            "transfer-incomplete",
            path.key(field),
            format!("{owner} does not state `{field}`"),
        )
        .expected("purposes, categories, recipient_contact, security_measures and risks")
        .help("a cross-border transfer must tell people the purpose, recipient, security measures and risks (PIPL Art.39)")
    }

    fn check_sdks_and_trackers(&mut self) {
        for (i, s) in self.p.sdks.iter().enumerate() {
            let path = root("sdks").index(i);
            let owner = format!("SDK `{}`", s.id);
            self.check_text(&s.provider, &path.key("provider"));
            self.category_refs(&s.categories, &path.key("categories"), &owner);
            self.purpose_refs(&s.purposes, &path.key("purposes"), &owner);
        }
        for (i, t) in self.p.trackers.iter().enumerate() {
            let path = root("trackers").index(i);
            let owner = format!("tracker `{}`", t.id);
            self.category_refs(&t.categories, &path.key("categories"), &owner);
            self.purpose_refs(&t.purposes, &path.key("purposes"), &owner);
            self.categories_within_purposes(&t.categories, &t.purposes, &path, &owner);
            if let Some(h) = &t.how_to_refuse {
                self.check_text(h, &path.key("how_to_refuse"));
            }
        }
    }

    fn check_deadline(&mut self, d: &Deadline, path: FieldPath) {
        let law = self.p.law.profile.profile();
        // Working days are at most 7/5 calendar days, rounded up; public holidays can
        // stretch that, which the law's outer bound already allows for.
        let calendar = match d.unit {
            DayUnit::Calendar => d.days,
            DayUnit::Working => (d.days * 7).div_ceil(5),
        };
        if d.days == 0 || calendar > law.max_reply_days {
            self.push(
                Problem::new(
                    "deadline-out-of-range",
                    path.key("days"),
                    format!(
                        "a reply deadline of {} {} days is outside what the `{}` profile allows",
                        d.days,
                        match d.unit {
                            DayUnit::Calendar => "calendar",
                            DayUnit::Working => "working",
                        },
                        law.id.as_str()
                    ),
                )
                .expected(format!(
                    "between 1 and {} calendar days",
                    law.max_reply_days
                ))
                .help("shorten the deadline; the law profile sets the longest allowed"),
            );
        }
    }

    fn check_rights(&mut self) {
        let r = &self.p.rights;
        let path = root("rights");
        self.check_deadline(&r.deadline, path.key("deadline"));
        if let Some(f) = r.free_requests
            && (f.count == 0 || f.per_days == 0)
        {
            self.push(
                Problem::new(
                    "bad-free-requests",
                    path.key("free_requests"),
                    "free requests need a positive count and period",
                )
                .help("at least one request per period must be free"),
            );
        }
        for (i, t) in r.deletion_cases.iter().enumerate() {
            self.check_text(t, &path.key("deletion_cases").index(i));
        }
        let mut seen = BTreeSet::new();
        for (i, right) in r.offered.iter().enumerate() {
            let rpath = path.key("offered").index(i);
            if !seen.insert(right.kind) {
                self.push(
                    Problem::new(
                        "duplicate-right",
                        rpath.key("kind"),
                        "this right is listed twice",
                    )
                    .help("list each right once, with all its channels"),
                );
            }
            if right.channels.is_empty() {
                self.push(
                    Problem::new(
                        "right-without-channel",
                        rpath.key("channels"),
                        "a right is offered without any channel to exercise it",
                    )
                    .help(
                        "PIPL Art.50 requires a convenient way to exercise rights; add a channel",
                    ),
                );
            }
            self.check_contacts(&right.channels, &rpath.key("channels"));
            if let Some(d) = &right.deadline {
                self.check_deadline(d, rpath.key("deadline"));
            }
            if let Some(n) = &right.note {
                self.check_text(n, &rpath.key("note"));
            }
        }
        if r.offered.is_empty() {
            self.push(
                Problem::new(
                    "no-rights",
                    path.key("offered"),
                    "the policy offers no rights",
                )
                .help("list the rights people have (PIPL Art.44–50) under `[[rights.offered]]`"),
            );
        }
    }

    fn check_minors(&mut self) {
        let m = &self.p.minors;
        let law = self.p.law.profile.profile();
        let path = root("minors");
        if m.child_age > m.minor_age {
            self.push(
                Problem::new(
                    "child-age-above-minor-age",
                    path.key("child_age"),
                    format!(
                        "child age {} is above minor age {}",
                        m.child_age, m.minor_age
                    ),
                )
                .expected(format!("at most {}", m.minor_age))
                .help("children are the younger band: child_age ≤ minor_age"),
            );
        }
        if m.child_age < law.child_age {
            self.push(
                Problem::new(
                    "child-age-below-law",
                    path.key("child_age"),
                    format!(
                        "child age {} is below the `{}` profile's {}",
                        m.child_age,
                        law.id.as_str(),
                        law.child_age
                    ),
                )
                .expected(format!("at least {}", law.child_age))
                .help("the law decides who is a child; a policy may only protect more people"),
            );
        }
        if law.separate_consent
            && matches!(
                m.child_rule,
                GuardianRule::None | GuardianRule::GuardianAuthorisation
            )
        {
            self.push(
                Problem::new(
                    "child-rule-too-weak",
                    path.key("child_rule"),
                    "children's data needs the guardian's consent",
                )
                .expected("`guardian_consent` or `blocked`")
                .help(
                    "PIPL Art.31: processing PI of a child under 14 needs the guardian's consent",
                ),
            );
        }
    }

    fn check_changes(&mut self) {
        let c = &self.p.changes;
        let path = root("changes");
        if c.notice_channels.is_empty() {
            self.push(
                Problem::new(
                    "no-notice-channel",
                    path.key("notice_channels"),
                    "the policy does not say how people are told of changes",
                )
                .help("list at least one channel, such as `home_page` or `email`"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, k) in c.significant.iter().enumerate() {
            if !seen.insert(*k) {
                self.push(Problem::new(
                    "duplicate-criterion",
                    path.key("significant").index(i),
                    "this criterion is listed twice",
                ));
            }
        }
    }

    fn check_storage_and_security(&mut self) {
        let s = &self.p.storage;
        self.check_country(&s.residency, root("storage").key("residency"));
        if let Some(l) = &s.location {
            self.check_text(l, &root("storage").key("location"));
        }
        self.check_text(
            &s.retention_statement,
            &root("storage").key("retention_statement"),
        );
        let sec = &self.p.security;
        for (i, m) in sec.measures.iter().enumerate() {
            self.check_text(m, &root("security").key("measures").index(i));
        }
        if sec.measures.is_empty() {
            self.push(
                Problem::new(
                    "no-security-measures",
                    root("security").key("measures"),
                    "no security measure is stated",
                )
                .help("state the measures taken (PIPL Art.51)"),
            );
        }
        if sec.breach_channels.is_empty() {
            self.push(
                Problem::new(
                    "no-breach-channel",
                    root("security").key("breach_channels"),
                    "the policy does not say how people are told of a breach",
                )
                .help("PIPL Art.57 requires notifying individuals; list channels such as `email` or `push`"),
            );
        }
        if sec.report_k < 2 {
            self.push(
                Problem::new(
                    "report-k-too-small",
                    root("security").key("report_k"),
                    format!(
                        "k = {} lets a report row describe a single person",
                        sec.report_k
                    ),
                )
                .expected("at least 2 (10 by default)"),
            );
        }
        for (i, a) in self.p.assessments.iter().enumerate() {
            self.check_text(&a.scope, &root("assessments").index(i).key("scope"));
        }
        if let Some(c) = &self.p.changes.controller_transfer
            && c.notice_channels.is_empty()
        {
            self.push(
                Problem::new(
                    "no-notice-channel",
                    root("changes")
                        .key("controller_transfer")
                        .key("notice_channels"),
                    "the policy does not say how people are told of a new controller",
                )
                .help("list at least one channel, such as `email` or `announcement`"),
            );
        }
        if let Some(c) = &self.p.cessation
            && c.within_days == 0
        {
            self.push(
                Problem::new(
                    "bad-cessation-deadline",
                    root("cessation").key("within_days"),
                    "the policy does not say within how many days data is deleted after cessation",
                )
                .help("state the days within which data is deleted or anonymised"),
            );
        }
        if let Some(c) = &self.p.cessation
            && c.notice_channels.is_empty()
        {
            self.push(
                Problem::new(
                    "no-notice-channel",
                    root("cessation").key("notice_channels"),
                    "the policy does not say how people are told if the service stops",
                )
                .help("list at least one channel, such as `announcement` or `email`"),
            );
        }
    }
}
