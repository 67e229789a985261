//! Rendered policies are snapshot-tested for every pack in `packs/` and the fixture, in
//! both languages; review changes with `cargo insta review`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use troth_policy::{Format, Lang, Policy, load_pack, parse_policy, render};

fn packs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packs")
}

/// Every pack directory with a policy.toml, including versions nested inside a pack
/// (`packs/s004-mobtech/v2`).
fn all_packs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![packs_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.join("policy.toml").is_file() {
                    out.push(path.clone());
                }
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

fn snapshot_name(pack: &Path) -> String {
    pack.strip_prefix(packs_dir())
        .unwrap()
        .to_string_lossy()
        .replace('/', "-")
}

#[test]
fn the_five_seed_packs_are_present() {
    let names: Vec<String> = all_packs().iter().map(|p| snapshot_name(p)).collect();
    for seed in [
        "s000-ucommune",
        "s001-social-services",
        "s002-template",
        "s003-coach-app",
        "s004-mobtech",
        "s004-mobtech-v2",
    ] {
        assert!(
            names.iter().any(|n| n == seed),
            "missing pack {seed}: {names:?}"
        );
    }
}

#[test]
fn every_pack_renders_in_both_languages() {
    for pack in all_packs() {
        let policy = load_pack(&pack)
            .unwrap_or_else(|e| panic!("{}: {e}", pack.display()))
            .policy;
        let name = snapshot_name(&pack);
        for lang in Lang::ALL {
            let md = render(&policy, lang, Format::Markdown).unwrap();
            insta::assert_snapshot!(format!("{name}.{}.md", lang.tag()), md);
            let html = render(&policy, lang, Format::Html).unwrap();
            assert!(html.starts_with("<!doctype html>"));
            assert!(html.contains(&format!("<html lang=\"{}\">", lang.tag())));
        }
    }
}

fn fixture() -> Policy {
    parse_policy("valid.toml", include_str!("fixtures/valid.toml")).unwrap()
}

#[test]
fn fixture_renders_as_html() {
    let html = render(&fixture(), Lang::ZhCn, Format::Html).unwrap();
    insta::assert_snapshot!("fixture.zh-CN.html", html);
}

#[test]
fn every_statement_comes_from_a_field() {
    let mut p = fixture();
    let md = render(&p, Lang::En, Format::Markdown).unwrap();
    assert!(md.contains("within 15 days of receiving your request"));
    assert!(md.contains("privacy@example.com"));
    p.rights.deadline.days = 10;
    p.controller.contacts[0].value = "help@example.org".into();
    let md = render(&p, Lang::En, Format::Markdown).unwrap();
    assert!(md.contains("within 10 days of receiving your request"));
    assert!(md.contains("- Email: help@example.org"));
}

#[test]
fn markup_in_fields_is_shown_as_text() {
    let mut p = fixture();
    p.purposes[0].description.en = "<script>alert(1)</script> **bold** [link](https://x)".into();
    let html = render(&p, Lang::En, Format::Html).unwrap();
    assert!(
        !html.contains("<script>alert"),
        "raw HTML must not pass through"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<strong>bold</strong>"));
    assert!(!html.contains("href=\"https://x\""));
    let md = render(&p, Lang::En, Format::Markdown).unwrap();
    assert!(md.contains(r"\<script\>"));
}

#[test]
fn chinese_text_reads_as_chinese() {
    let md = render(&fixture(), Lang::ZhCn, Format::Markdown).unwrap();
    assert!(md.contains("## 五、您的权利"));
    assert!(md.contains("自收到您的请求之日起15日内"));
    assert!(md.contains("不满14周岁的儿童"));
    assert!(md.contains("存储于中华人民共和国境内"));
}
