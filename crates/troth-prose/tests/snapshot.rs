//! Snapshot of the PIPL text report for seed 000.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use troth_prose::audit::{Law, audit};
use troth_prose::{Document, Format};

#[test]
fn seed_000_text_report() {
    let path = common::corpus_dir()
        .parent()
        .unwrap()
        .join("seeds/000_9c67472587da5b63.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = Document::from_text(&text, Format::Text).unwrap();
    insta::assert_snapshot!(audit(&doc, Law::Pipl).render_text());
}
