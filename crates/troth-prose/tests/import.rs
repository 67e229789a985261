//! `import::draft_policy` on the five seeds: the draft parses, the only problems
//! the pack validator reports are the `TODO`s, filling them mechanically makes
//! the pack valid, and the seed-002 draft covers the hand-written pack's
//! categories and deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;

use troth_prose::import::draft_policy;
use troth_prose::{Document, Format};

fn seeds() -> Vec<(String, String)> {
    let dir = [
        std::env::var_os("TROTH_SEEDS").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds")),
        Some(PathBuf::from("/work/shared/seeds")),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.is_dir())
    .expect("seeds not found: set TROTH_SEEDS to shared/seeds");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn draft(text: &str, id: &str) -> troth_prose::import::Draft {
    let doc = Document::from_text(text, Format::Text).unwrap();
    draft_policy(&doc, id)
}

/// Problems the validator raises for a value a person still has to fill.
const TODO_CODES: &[&str] = &[
    "placeholder",
    "bad-contact",
    "bad-country",
    "deadline-out-of-range",
    "no-notice-channel",
    "no-breach-channel",
    "no-security-measures",
    "no-categories",
    "no-rights",
    "child-rule-too-weak",
    "bad-cessation-deadline",
];

/// Replace every `TODO` with a plausible value, as a person would.
fn fill_todos(toml: &str) -> String {
    let mut out = String::new();
    let mut todo_categories = false;
    for line in toml.lines() {
        let mut l = line.to_string();
        if line.contains("TODO") && !line.trim_start().starts_with('#') {
            let key = line.split('=').next().unwrap_or("").trim();
            let value_part = line.split_once("  # TODO").map_or(line, |(v, _)| v);
            l = match key {
                "residency" | "country" => format!("{key} = \"CN\""),
                "deadline" => value_part.replace("days = 0", "days = 15"),
                "within_days" => "within_days = 30".into(),
                "notice_channels" | "breach_channels" => format!("{key} = [\"email\"]"),
                "measures" => "measures = [{ en = \"Encryption\", zh-CN = \"加密\" }]".into(),
                "offered" => String::new(),
                "categories" => {
                    todo_categories = true;
                    "categories = [\"filled-category\"]".to_string()
                }
                _ => value_part
                    .replace("TODO@example.invalid", "privacy@example.com")
                    .replace("TODO.example.invalid", "www.example.com")
                    .replace("TODO: 翻译", "已填写")
                    .replace("TODO", "Filled"),
            };
        }
        if line.starts_with("child_rule = \"none\"") {
            l = "child_rule = \"guardian_consent\"".into();
        }
        out.push_str(&l);
        out.push('\n');
    }
    if todo_categories {
        // A person would declare the category they name; an array-of-tables entry
        // may follow other tables in TOML.
        out.push_str("\n[[categories]]\nid = \"filled-category\"\nname = { en = \"Filled\", zh-CN = \"已填写\" }\nsensitivity = \"normal\"\nsource = \"user\"\n");
    }
    if toml.contains("offered = []") {
        out.push_str(
            "\n[[rights.offered]]\nkind = \"deletion\"\nchannels = [{ kind = \"email\", value = \"privacy@example.com\" }]\n",
        );
    }
    out
}

#[test]
fn seed_drafts_fail_only_on_todos_and_validate_once_filled() {
    for (name, text) in seeds() {
        let d = draft(&text, "imported");
        let toml = &d.toml;
        // Lines a person must edit: a value line carrying TODO (comment-only lines
        // explain; they are not markers).
        let todo_lines: std::collections::BTreeSet<usize> = toml
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("TODO") && !l.trim_start().starts_with('#'))
            .map(|(i, _)| i + 1)
            .collect();
        let diags = troth_policy::parse_policy("policy.toml", toml)
            .err()
            .unwrap_or_default();
        let mut reported = std::collections::BTreeSet::new();
        for diag in &diags {
            assert!(
                TODO_CODES.contains(&diag.code),
                "{name}: unexpected problem {} at {}: {}\n{toml}",
                diag.code,
                diag.path,
                diag.message
            );
            let line = diag.position.as_ref().map_or(0, |p| p.line);
            assert!(
                todo_lines.contains(&line),
                "{name}: problem {} at line {line} ({}) is not on a TODO line:\n{}",
                diag.code,
                diag.path,
                toml.lines().nth(line.saturating_sub(1)).unwrap_or("")
            );
            reported.insert(line);
        }
        // ... and every TODO is reported: check lists exactly what must be filled.
        let silent: Vec<&str> = todo_lines
            .difference(&reported)
            .map(|l| toml.lines().nth(l - 1).unwrap())
            .collect();
        assert!(
            silent.is_empty(),
            "{name}: TODOs the validator does not report: {silent:#?}"
        );
        assert_eq!(todo_lines.is_empty(), diags.is_empty(), "{name}");
        let filled = fill_todos(toml);
        assert!(!filled.contains("TODO@"), "{name}");
        if let Err(diags) = troth_policy::parse_policy("policy.toml", &filled) {
            let list: Vec<String> = diags
                .iter()
                .map(|d| format!("{} at {}: {}", d.code, d.path, d.message))
                .collect();
            panic!(
                "{name}: filled draft still invalid:\n{}\n{filled}",
                list.join("\n")
            );
        }
    }
}

#[test]
fn seed_002_covers_the_hand_written_pack() {
    let (_, text) = seeds()
        .into_iter()
        .find(|(n, _)| n.starts_with("002"))
        .unwrap();
    let d = draft(&text, "s002-import");
    let filled = fill_todos(&d.toml);
    let policy = troth_policy::parse_policy("policy.toml", &filled).unwrap();
    let ids: Vec<&str> = policy.categories.iter().map(|c| c.id.as_str()).collect();
    for want in [
        "name",
        "email",
        "username",
        "password",
        "phone",
        "job-title",
        "company",
        "education",
        "photos",
        "ip-address",
        "browser-network",
        "app-info",
        "device-id",
        "idfa",
        "imei",
        "mac",
        "cookie-id",
    ] {
        assert!(
            ids.contains(&want),
            "seed 002 draft lacks category {want}: {ids:?}"
        );
    }
    // The hand-written pack's 30-day reply deadline, read from the prose.
    assert_eq!(policy.rights.deadline.days, 30);
    assert!(d.toml.contains("# from: "));
    // Each drafted value quotes its sentence with a line number.
    assert!(
        d.toml
            .lines()
            .any(|l| l.starts_with("# from: \"") && l.contains("(line "))
    );
}
