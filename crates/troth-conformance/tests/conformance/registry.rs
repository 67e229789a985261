//! The row registry against the promise tables, the tests and the report.

use troth_conformance::{
    REGISTRY, Status, check_registry, load_seeds, promises_dir, report, report_path,
};

#[test]
fn registry_covers_every_row_exactly_once() {
    let seeds = load_seeds(&promises_dir()).unwrap_or_else(|e| panic!("{e}"));
    let rows: usize = seeds.iter().map(|s| s.rows.len()).sum();
    assert_eq!(seeds.len(), 5, "five promise tables");
    assert_eq!(rows, 105, "105 promise rows");
    let problems = check_registry(&seeds, REGISTRY);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(REGISTRY.len(), rows);
}

#[test]
fn registry_names_existing_tests_and_every_test_is_registered() {
    for e in REGISTRY {
        if let Status::Test { name, .. } = e.status {
            assert!(crate::TESTS.contains(&name), "{}: no test `{name}`", e.row);
        }
    }
    for t in crate::TESTS {
        let n = REGISTRY
            .iter()
            .filter(|e| matches!(e.status, Status::Test { name, .. } if name == *t))
            .count();
        assert_eq!(n, 1, "test `{t}` must be registered for exactly one row");
    }
}

#[test]
fn conformance_report_is_fresh() {
    let seeds = load_seeds(&promises_dir()).unwrap_or_else(|e| panic!("{e}"));
    let fresh = report(&seeds, REGISTRY);
    let path = report_path();
    if std::env::var_os("TROTH_UPDATE_CONFORMANCE").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == fresh,
        "docs/CONFORMANCE.md is stale: run `TROTH_UPDATE_CONFORMANCE=1 cargo nextest run -p troth-conformance` to regenerate"
    );
}
