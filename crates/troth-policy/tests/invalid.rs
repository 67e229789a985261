//! Each manifest under `tests/invalid/` is the valid fixture with one or more mistakes.
//! The expectations below were checked by hand against the files: the error code, the
//! line and column the report points at, and the field path it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use troth_policy::{LoadError, load_pack};

/// (code, line, column, field path) of one expected diagnostic.
type Expect = (&'static str, usize, usize, &'static str);

/// (file, every diagnostic the file must produce, in order).
const EXPECTED: &[(&str, &[Expect])] = &[
    (
        "bad-contact",
        &[("bad-contact", 14, 39, "controller.contacts[0].value")],
    ),
    (
        "basis-not-in-law",
        &[("basis-not-in-law", 49, 9, "purposes[0].basis")],
    ),
    (
        "child-age-above-minor-age",
        &[("child-age-above-minor-age", 84, 13, "minors.child_age")],
    ),
    (
        "child-rule-too-weak",
        &[("child-rule-too-weak", 86, 14, "minors.child_rule")],
    ),
    (
        "deadline-out-of-range",
        &[("deadline-out-of-range", 72, 21, "rights.deadline.days")],
    ),
    (
        "duplicate-id",
        &[("duplicate-id", 39, 6, "categories[2].id")],
    ),
    (
        "effective-too-early",
        &[("effective-too-early", 8, 13, "policy.effective")],
    ),
    (
        "forbidden-category",
        &[("forbidden-category", 59, 35, "purposes[1].categories[1]")],
    ),
    (
        "placeholder",
        &[("placeholder", 12, 21, "controller.legal_name.en")],
    ),
    (
        "recipient-abroad-without-transfer",
        &[(
            "recipient-abroad-without-transfer",
            67,
            11,
            "recipients[0].country",
        )],
    ),
    (
        "sensitive-without-consent",
        &[(
            "sensitive-without-consent",
            50,
            24,
            "purposes[0].categories[1]",
        )],
    ),
    (
        "several-at-once",
        &[
            ("unknown-category", 50, 15, "purposes[0].categories[0]"),
            (
                "category-outside-purposes",
                68,
                15,
                "recipients[0].categories[0]",
            ),
            ("deadline-out-of-range", 72, 21, "rights.deadline.days"),
            ("child-age-above-minor-age", 84, 13, "minors.child_age"),
        ],
    ),
    ("toml-syntax", &[("toml-syntax", 9, 35, "(document)")]),
    (
        "transfer-incomplete",
        &[
            (
                "transfer-incomplete",
                71,
                1,
                "transfers[0].security_measures",
            ),
            ("transfer-incomplete", 71, 1, "transfers[0].risks"),
        ],
    ),
    (
        "transfer-category-unused",
        &[(
            "category-outside-purposes",
            76,
            15,
            "transfers[0].categories[0]",
        )],
    ),
    (
        "unknown-category",
        &[("unknown-category", 50, 24, "purposes[0].categories[1]")],
    ),
    (
        "unknown-field",
        &[("unknown-field", 58, 1, "purposes[1].prupose_tags")],
    ),
];

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/invalid"))
}

#[test]
fn every_invalid_manifest_reports_its_documented_errors() {
    for (name, expected) in EXPECTED {
        let path = dir().join(format!("{name}.toml"));
        let err = load_pack(&path).expect_err(name);
        let LoadError::Invalid { diagnostics, .. } = err else {
            panic!("{name}: expected validation errors, got {err}");
        };
        let got: Vec<(&str, usize, usize, String)> = diagnostics
            .iter()
            .map(|d| {
                let p = d.position.expect("every diagnostic is located");
                (d.code, p.line, p.column, d.path.to_string())
            })
            .collect();
        let want: Vec<(&str, usize, usize, String)> = expected
            .iter()
            .map(|(c, l, col, p)| (*c, *l, *col, (*p).to_owned()))
            .collect();
        assert_eq!(got, want, "{name}");
        for d in &diagnostics {
            assert!(d.file.ends_with(&format!("{name}.toml")));
            assert!(d.help.is_some(), "{name}: `{}` has no help line", d.code);
        }
    }
}

#[test]
fn every_file_in_the_folder_has_an_expectation() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        assert!(
            EXPECTED.iter().any(|(n, _)| *n == stem),
            "{stem}.toml has no expectation"
        );
    }
}

#[test]
fn the_report_shows_the_source_line_and_a_caret() {
    let err = load_pack(&dir().join("unknown-category.toml")).unwrap_err();
    let LoadError::Invalid { diagnostics, .. } = err else {
        panic!()
    };
    let text = diagnostics[0].render();
    assert!(text.contains("error[unknown-category]"), "{text}");
    assert!(text.contains("unknown-category.toml:50:24 (at `purposes[0].categories[1]`)"));
    assert!(
        text.contains("50 | categories = [\"email\", \"emial\"]"),
        "{text}"
    );
    assert!(text.contains("^^^^^^^"), "{text}");
    assert!(
        text.contains("= help: declare it under `[[categories]]`"),
        "{text}"
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let err = load_pack(&dir().join("does-not-exist.toml")).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
}
