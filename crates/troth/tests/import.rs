//! `troth policy import` as a user runs it: draft a pack from a seed, then
//! `troth policy check` lists exactly the TODOs the draft left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{root, troth};

fn seed(prefix: &str) -> PathBuf {
    let dir = [
        std::env::var_os("TROTH_SEEDS").map(PathBuf::from),
        Some(root().join("../shared/seeds")),
        Some(PathBuf::from("/work/shared/seeds")),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.is_dir())
    .expect("seeds not found: set TROTH_SEEDS to shared/seeds");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .unwrap()
}

#[test]
fn import_drafts_a_pack_that_check_reports_by_todo() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("s002-draft");
    let pack_s = pack.to_str().unwrap();
    let src = seed("002");
    let out = troth(&["policy", "import", src.to_str().unwrap(), "-o", pack_s]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("TODO markers to fill"), "{stdout}");
    let toml = std::fs::read_to_string(pack.join("policy.toml")).unwrap();
    assert!(toml.contains("id = \"s002-draft\""));
    assert!(toml.contains("# from: \""));
    assert!(toml.contains("deadline = { days = 30"));

    // The draft is structurally complete: check reports validator problems (each
    // a TODO), never a TOML or missing-field error that would hide the others.
    let check = troth(&["policy", "check", "--json", pack_s]);
    assert_eq!(check.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&check.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    let toml_lines: Vec<&str> = toml.lines().collect();
    for d in &lines {
        let code = d["code"].as_str().unwrap();
        assert!(
            !matches!(code, "toml-syntax" | "missing-field" | "wrong-type"),
            "{d}"
        );
        let line = d["position"]["line"].as_u64().unwrap() as usize;
        assert!(toml_lines[line - 1].contains("TODO"), "{d}");
    }

    // A second import does not overwrite the person's edits without --force.
    let again = troth(&["policy", "import", src.to_str().unwrap(), "-o", pack_s]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = troth(&[
        "policy",
        "import",
        src.to_str().unwrap(),
        "-o",
        pack_s,
        "--force",
    ]);
    assert_eq!(forced.status.code(), Some(0));
}
