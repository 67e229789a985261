//! The `troth` command as a user runs it: exit codes, messages, files written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use common::{root, troth};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PACKS: &[&str] = &[
    "packs/s000-ucommune",
    "packs/s001-social-services",
    "packs/s002-template",
    "packs/s003-coach-app",
    "packs/s004-mobtech",
    "packs/s004-mobtech/v2",
];

#[test]
fn every_seed_pack_checks_clean() {
    let out = troth(&[&["policy", "check"], PACKS].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("ok  ").count(), PACKS.len());
}

#[test]
fn an_invalid_pack_exits_1_with_located_errors() {
    let out = troth(&[
        "policy",
        "check",
        "crates/troth-policy/tests/invalid/several-at-once.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("several-at-once.toml:50:15"), "{err}");
    assert!(err.contains("several-at-once.toml:84:13"), "{err}");
    assert!(err.contains("4 problem(s)"), "{err}");
}

#[test]
fn json_output_lists_every_problem() {
    let out = troth(&[
        "policy",
        "check",
        "--json",
        "crates/troth-policy/tests/invalid/several-at-once.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["path"], "purposes[0].categories[0]");
    assert_eq!(lines[0]["position"]["line"], 50);
}

#[test]
fn a_missing_file_or_bad_usage_exits_2() {
    let out = troth(&["policy", "check", "packs/no-such-pack"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `packs/no-such-pack"),
        "{}",
        stderr(&out)
    );
    let out = troth(&["policy", "render", "packs/s002-template", "--lang", "fr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown language `fr`"));
}

#[test]
fn diff_flags_the_six_significant_criteria_of_seed_004() {
    let out = troth(&[
        "policy",
        "diff",
        "packs/s004-mobtech",
        "packs/s004-mobtech/v2",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let criteria: Vec<&str> = report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for c in [
        "purpose_type_use",
        "ownership_structure",
        "sharing_recipients",
        "rights_exercise",
        "contact_complaint",
        "high_risk_assessment",
    ] {
        assert!(criteria.contains(&c), "missing {c} in {criteria:?}");
    }
    assert_eq!(report["significant"], true);
    assert_eq!(report["rights_reduced"], true);

    let text = troth(&[
        "policy",
        "diff",
        "packs/s004-mobtech",
        "packs/s004-mobtech/v2",
    ]);
    let text = stdout(&text);
    assert!(text.contains("significant: yes"), "{text}");
    assert!(text.contains("rights reduced: yes"), "{text}");
}

#[test]
fn diff_of_a_pack_with_itself_has_no_changes() {
    let out = troth(&[
        "policy",
        "diff",
        "packs/s002-template",
        "packs/s002-template",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("no changes"));
}

#[test]
fn render_writes_the_requested_language_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.html");
    let out = troth(&[
        "policy",
        "render",
        "packs/s004-mobtech",
        "--format",
        "html",
        "--lang",
        "zh-CN",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("五、您的权利"));
    // S004 R13: the real channels are rendered.
    assert!(html.contains("400-685-2216"));
    assert!(html.contains("notice@mob.com"));
}

#[test]
fn hash_is_stable_and_content_based() {
    let a = stdout(&troth(&["policy", "hash", "packs/s002-template"]));
    let b = stdout(&troth(&[
        "policy",
        "hash",
        "packs/s002-template/policy.toml",
    ]));
    assert_eq!(a, b);
    assert_eq!(a.trim().len(), 64);
}

#[test]
fn demo_runs_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = troth(&["demo", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for f in [
        "policy.en.html",
        "policy.zh-CN.html",
        "policy.en.md",
        "policy.zh-CN.md",
    ] {
        assert!(dir.path().join("demo").join(f).is_file(), "{f}");
    }
    assert!(stdout(&out).contains("s002-template"));
}

fn seed(name: &str) -> String {
    root()
        .join("../shared/seeds")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn audit_of_seed_000_finds_what_it_lacks_and_fails() {
    let out = troth(&["policy", "audit", &seed("000_9c67472587da5b63.txt")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "missing disclosures fail the audit"
    );
    let text = stdout(&out);
    for rule in [
        "pipl.retention_period",
        "pipl.controller_contact",
        "risk.anonymous_device_ids",
    ] {
        assert!(text.contains(rule), "{rule} not in report:\n{text}");
    }
}

#[test]
fn audit_json_names_rules_and_evidence() {
    let out = troth(&[
        "policy",
        "audit",
        &seed("004_baedb03dab699395.txt"),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let deadline = findings
        .iter()
        .find(|f| f["rule"] == "pipl.response_deadline")
        .expect("the response deadline is checked");
    assert_eq!(deadline["status"], "present", "{deadline}");
    assert!(!deadline["evidence"].as_array().unwrap().is_empty());
}

#[test]
fn classify_one_sentence_per_line_keeps_line_count_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.txt");
    let lines = [
        "我们会收集您的手机号码用于注册账号。",
        "",
        "您可以通过设置页面删除您的个人信息或注销账户。",
        "We share your information with our affiliates.",
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = troth(&[
        "policy",
        "classify",
        input.to_str().unwrap(),
        "--one-sentence-per-line",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), lines.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["line"], i + 1);
        assert_eq!(row["text"], lines[i]);
    }
    let labels = |i: usize| -> Vec<String> {
        rows[i]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        labels(0).contains(&"数据收集".to_owned()),
        "{:?}",
        labels(0)
    );
    assert!(labels(1).is_empty());
    assert!(
        labels(2).contains(&"数据、权限管理".to_owned()),
        "{:?}",
        labels(2)
    );
    assert!(
        labels(3).contains(&"共享、委托、转让、公开（披露）".to_owned()),
        "{:?}",
        labels(3)
    );
}
