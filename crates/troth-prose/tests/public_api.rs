//! Public API tests: loading, splitting, classification, audit and rendering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proptest::prelude::*;
use troth_prose::audit::{Kind, Law, Status, audit, rule_ids};
use troth_prose::{Classifier, Document, Error, Format, Language, Practice};

const ZH: &str = "一、我们如何共享您的个人信息\n我们不会与第三方共享您的个人信息，但以下情况除外：\n(1) 获得您的单独同意；\n二、如何联系我们\n您可以发送邮件至 privacy@example.com 与我们联系，我们将在15个工作日内回复。";

#[test]
fn document_positions_and_sections() {
    let doc = Document::from_text(ZH, Format::Text).unwrap();
    assert_eq!(doc.language(), Language::Chinese);
    let s = doc.sentences();
    assert!(s[0].is_heading);
    assert_eq!(
        s[1].section,
        vec!["一、我们如何共享您的个人信息".to_string()]
    );
    assert_eq!(s[1].line, 2);
    for x in s {
        assert_eq!(&doc.text()[x.start..x.end], x.text);
    }
    assert_eq!(
        Document::from_text("  \n<p></p>", Format::Html).unwrap_err(),
        Error::Empty
    );
}

#[test]
fn markdown_and_html_headings() {
    let md = Document::from_text(
        "# Privacy\n\n## Sharing\n\nWe share data with partners. We sell nothing.",
        Format::Markdown,
    )
    .unwrap();
    let last = md.sentences().last().unwrap();
    assert_eq!(
        last.section,
        vec!["Privacy".to_string(), "Sharing".to_string()]
    );
    let html = Document::from_text("<h2>Children</h2><p>We do not knowingly collect data from children under 14 &amp; minors.</p><script>x()</script>", Format::Html).unwrap();
    assert_eq!(
        html.sentences()[1].text,
        "We do not knowingly collect data from children under 14 & minors."
    );
    assert_eq!(Format::detect("<html><body>x</body></html>"), Format::Html);
}

#[test]
fn classify_lines_one_result_per_line_with_evidence() {
    let c = Classifier::new();
    let lines = [
        "我们会收集您的手机号码用于注册。",
        "",
        "如您对本政策有任何疑问，请发送邮件至 privacy@example.com。",
        "We will notify you of material changes to this Privacy Policy.",
    ];
    let out = c.classify_lines(&lines);
    assert_eq!(out.len(), lines.len());
    assert!(out[0].has(Practice::Collection));
    assert!(out[1].labels.is_empty());
    assert!(out[2].has(Practice::Contact));
    assert!(out[3].has(Practice::PolicyChange));
    let hit = out[2]
        .labels
        .iter()
        .find(|l| l.practice == Practice::Contact)
        .unwrap();
    assert!(hit.evidence.iter().any(|e| e.rule.starts_with("contact.")));
    assert_eq!(Practice::Sharing.id(), "sharing");
    assert_eq!(
        Practice::parse("共享、委托、转让、公开（披露）"),
        Ok(Practice::Sharing)
    );
}

#[test]
fn audit_statuses_and_renderings() {
    let doc = Document::from_text(ZH, Format::Text).unwrap();
    let r = audit(&doc, Law::Pipl);
    assert_eq!(
        r.finding("pipl.controller_contact").unwrap().status,
        Status::Present
    );
    assert_eq!(
        r.finding("pipl.response_deadline").unwrap().status,
        Status::Present
    );
    assert_eq!(
        r.finding("pipl.retention_period").unwrap().status,
        Status::Missing
    );
    assert!(r.findings.iter().any(|f| f.kind == Kind::RiskFlag));
    assert_eq!(r.findings.len(), rule_ids(Law::Pipl).len());
    let json = r.render_json().unwrap();
    let back: troth_prose::audit::AuditReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    assert!(r.render_text().contains("MISSING"));
    assert!(!r.render_html().contains("<script"));
    assert_eq!("gdpr".parse::<Law>(), Ok(Law::Gdpr));
    assert!("hipaa".parse::<Law>().is_err());
}

#[test]
fn risk_flags() {
    let doc = Document::from_text(
        "We record the IMEI and MAC address of your phone.\nThe above information is anonymously collected.\nBy using our services, you agree to this policy.",
        Format::Text,
    )
    .unwrap();
    let r = audit(&doc, Law::Pipl);
    assert_eq!(
        r.finding("risk.anonymous_device_ids").unwrap().status,
        Status::Flagged
    );
    assert_eq!(
        r.finding("risk.bundled_consent").unwrap().status,
        Status::Flagged
    );
}

proptest! {
    #[test]
    fn splitting_never_panics_and_positions_are_ordered(s in "\\PC{0,400}", fmt in 0u8..3) {
        let format = [Format::Text, Format::Markdown, Format::Html][fmt as usize];
        if let Ok(doc) = Document::from_text(&s, format) {
            let mut last = 0usize;
            for (i, x) in doc.sentences().iter().enumerate() {
                prop_assert_eq!(x.index, i);
                prop_assert!(x.start <= x.end && x.end <= doc.text().len());
                prop_assert!(x.start >= last);
                prop_assert_eq!(&doc.text()[x.start..x.end], x.text.as_str());
                last = x.end;
            }
        }
    }

    #[test]
    fn mixed_punctuation_splits(s in "[a-zA-Z 。.;；!?！？\n一二三收集共享(（)）:：0-9]{0,300}") {
        let doc = Document::from_lines(&s.lines().collect::<Vec<_>>());
        let _ = Classifier::rules_only().classify_document(&doc);
        if let Ok(doc) = Document::from_text(&s, Format::Text) {
            for x in doc.sentences() {
                prop_assert!(!x.text.contains('\n'));
            }
        }
    }
}
