//! The `troth` command as a user runs it: exit codes, messages, files written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn troth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_troth"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

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
