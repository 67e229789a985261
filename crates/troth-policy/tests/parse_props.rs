//! The parser never panics: arbitrary edits of a valid manifest are either valid or
//! reported with positions inside the text. (The fuzz target in `fuzz/` explores the
//! same property with coverage guidance; this runs on every test run.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

const VALID: &str = include_str!("fixtures/valid.toml");

fn check(text: &str) {
    match troth_policy::parse_policy("edit.toml", text) {
        Ok(p) => {
            let _ = troth_policy::content_hash(&p);
            let _ = troth_policy::render(&p, troth_policy::Lang::ZhCn, troth_policy::Format::Html)
                .unwrap();
        }
        Err(ds) => {
            assert!(!ds.is_empty());
            let lines = text.lines().count().max(1);
            for d in ds {
                if let Some(p) = d.position {
                    assert!(p.line >= 1 && p.line <= lines + 1, "{d}");
                }
                let _ = d.render();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn deleting_a_span_never_panics(start in 0usize..VALID.len(), len in 0usize..200) {
        let mut s: Vec<char> = VALID.chars().collect();
        let start = start.min(s.len());
        let end = (start + len).min(s.len());
        s.drain(start..end);
        check(&s.into_iter().collect::<String>());
    }

    #[test]
    fn inserting_junk_never_panics(at in 0usize..VALID.len(), junk in "[\\[\\]{}=\"'#,.\\n a-z0-9\u{4e00}-\u{4e10}]{0,40}") {
        let mut s: Vec<char> = VALID.chars().collect();
        let at = at.min(s.len());
        for (i, c) in junk.chars().enumerate() {
            s.insert(at + i, c);
        }
        check(&s.into_iter().collect::<String>());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check(&text);
    }
}
