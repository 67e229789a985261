//! Feeds arbitrary bytes to the manifest parser and validator: it must report problems,
//! never panic, and every reported position must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match troth_policy::parse_policy("fuzz.toml", text) {
        Ok(policy) => {
            // A manifest that validates must also hash, diff and render.
            let _ = troth_policy::content_hash(&policy);
            assert!(troth_policy::diff(&policy, &policy).changes.is_empty());
            for lang in troth_policy::Lang::ALL {
                let _ = troth_policy::render(&policy, lang, troth_policy::Format::Html);
            }
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            let lines = text.lines().count().max(1);
            for d in diagnostics {
                if let Some(p) = d.position {
                    assert!(p.line >= 1 && p.line <= lines + 1);
                }
                let _ = d.render();
            }
        }
    }
});
