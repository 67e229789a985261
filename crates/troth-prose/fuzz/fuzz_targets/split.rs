//! Fuzz the loaders, normaliser and splitter: no panics, positions in bounds and ordered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use troth_prose::{Document, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for format in [Format::Text, Format::Markdown, Format::Html] {
        if let Ok(doc) = Document::from_text(s, format) {
            let mut last = 0;
            for x in doc.sentences() {
                assert!(x.start >= last && x.start <= x.end && x.end <= doc.text().len());
                assert_eq!(&doc.text()[x.start..x.end], x.text);
                last = x.end;
            }
        }
    }
    let _ = troth_prose::text::normalize(s);
});
