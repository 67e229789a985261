//! Audit findings vs hand-written expectations (tests/audit/*.json) over the five
//! seeds and the fourteen real policies. Fails if the corpus is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use troth_prose::audit::{Law, Status, audit};
use troth_prose::{Document, Format};

fn found(s: Status) -> bool {
    matches!(s, Status::Present | Status::Vague | Status::Flagged)
}

#[test]
fn audit_matches_expectations() {
    let corpus = common::corpus_dir();
    let shared = corpus.parent().unwrap().to_path_buf();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 19, "5 seeds + 14 policies");
    let (mut tp, mut fp, mut fn_, mut exact, mut total) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut mismatches = Vec::new();
    for f in &files {
        let spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let doc_path = shared.join(spec["document"].as_str().unwrap());
        let text = std::fs::read_to_string(&doc_path)
            .unwrap_or_else(|e| panic!("missing policy {}: {e}", doc_path.display()));
        let law: Law = spec["law"].as_str().unwrap().parse().unwrap();
        let doc = Document::from_text(&text, Format::Text).unwrap();
        let report = audit(&doc, law);
        for (rule, want) in spec["expect"].as_object().unwrap() {
            let got = report
                .finding(rule)
                .unwrap_or_else(|| panic!("unknown rule {rule}"))
                .status;
            let want = want.as_str().unwrap();
            total += 1;
            if got.id() == want {
                exact += 1;
            } else {
                mismatches.push(format!(
                    "{}: {rule} expected {want}, got {}",
                    f.file_name().unwrap().to_string_lossy(),
                    got.id()
                ));
            }
            let want_found = matches!(want, "present" | "vague" | "flagged");
            match (found(got), want_found) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    let accuracy = exact as f64 / total as f64;
    println!(
        "audit: {total} expectations, precision {precision:.3}, recall {recall:.3}, exact status {accuracy:.3}"
    );
    for m in &mismatches {
        println!("  {m}");
    }
    assert!(precision >= 0.90, "precision {precision:.3}");
    assert!(recall >= 0.90, "recall {recall:.3}");
    assert!(accuracy >= 0.80, "exact status agreement {accuracy:.3}");
}
