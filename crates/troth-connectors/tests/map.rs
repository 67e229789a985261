//! Data map parsing and checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use troth_connectors::map::UrlSource;
use troth_connectors::{DataMap, Strategy};

#[test]
fn shop_map_parses_parents_first() {
    let map = DataMap::parse_toml(common::MAP, "shop.toml").unwrap();
    let db = map.database("shop").unwrap();
    let order: Vec<&str> = db.tables.iter().map(|t| t.name.as_str()).collect();
    let p = |n: &str| order.iter().position(|t| *t == n).unwrap();
    assert!(
        p("customers") < p("orders")
            && p("orders") < p("order_items")
            && p("order_items") < p("events")
    );
    let customers = db.table("customers").unwrap();
    assert_eq!(customers.column("email").unwrap().erase, Strategy::Hash);
    assert_eq!(
        customers.column("name").unwrap().erase,
        Strategy::Mask("[erased]".into())
    );
    assert!(!customers.delete_rows);
    assert!(
        db.table("orders").unwrap().delete_rows,
        "a delete-row column deletes the row"
    );
    assert_eq!(
        db.table("orders").unwrap().relations[0].to,
        "id",
        "defaults to the parent's key"
    );
}

#[test]
fn yaml_is_the_same_map() {
    let yaml = r#"
databases:
  crm:
    url_env: CRM_URL
    tables:
      people:
        key: id
        identity: { email: mail }
        columns:
          mail: { category: email, erase: set-null }
      notes:
        key: id
        relations: [{ column: person_id, references: people }]
        erase: delete-row
        columns:
          body: { category: notes, erase: keep }
endpoints:
  billing:
    url: https://billing.example.com/troth
    secret_env: BILLING_SECRET
"#;
    let map = DataMap::parse_yaml(yaml, "crm.yaml").unwrap();
    let db = map.database("crm").unwrap();
    assert_eq!(db.url, Some(UrlSource::Env("CRM_URL".into())));
    assert_eq!(db.tables[0].name, "people");
    assert_eq!(db.tables[1].relations[0].to, "id");
    let e = map.endpoint("billing").unwrap();
    assert_eq!(e.secret_env, "BILLING_SECRET");
    assert_eq!(e.timeout_ms, 10_000);
}

#[test]
fn every_problem_names_file_place_and_reason() {
    let bad = r#"
[databases.shop]
url = "oracle://x"

[databases.shop.tables.customers]
key = "id"
identity = { email = "email" }
columns.email = { category = "email", erase = "shred" }
columns.name = { erase = "mask" }

[databases.shop.tables.orders]
key = "id"
relations = [{ column = "customer_id", references = "clients" }]
columns.note = { category = "Notes", erase = "keep" }

[databases.shop.tables.lonely]
key = "id"

[databases.loop.tables.a]
key = "id"
identity = { email = "email" }
relations = [{ column = "b_id", references = "b" }]

[databases.loop.tables.b]
key = "id"
relations = [{ column = "a_id", references = "a" }]

[databases.evil.tables."x; DROP TABLE y"]
key = "id"
identity = { email = "e\"mail" }
"#;
    let errs = DataMap::parse_toml(bad, "bad.toml").unwrap_err();
    let text: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
    let has = |needle: &str| {
        assert!(
            text.iter().any(|t| t.contains(needle)),
            "missing `{needle}` in:\n{}",
            text.join("\n")
        );
    };
    assert!(text.iter().all(|t| t.starts_with("bad.toml: ")), "{text:?}");
    has("databases.shop.url: unsupported URL scheme");
    has("databases.shop.tables.customers.columns.email: unknown erase strategy `shred`");
    has("databases.shop.tables.customers.columns.name: column without `category`");
    has("databases.shop.tables.orders.relations[0]: relation to unknown table `clients`");
    has("databases.shop.tables.orders.columns.note: bad category id");
    has("databases.shop.tables.lonely: unreachable");
    has("databases.loop: cycle in relations: a -> b -> a");
    has("table name `x; DROP TABLE y` is not a plain SQL identifier");
    has("identity column `e\"mail` is not a plain SQL identifier");
    // And the whole error lists them all.
    assert!(errs.to_string().starts_with("invalid data map: bad.toml: "));
}

#[test]
fn syntax_and_unknown_keys_are_errors_with_the_file() {
    let e = DataMap::parse_toml("[databases.x\n", "a.toml").unwrap_err();
    assert!(e.to_string().contains("a.toml: "), "{e}");
    let e = DataMap::parse_toml("[databases.x]\nurll = \"sqlite:x\"\n", "b.toml").unwrap_err();
    assert!(
        e.to_string().contains("b.toml: ") && e.to_string().contains("urll"),
        "{e}"
    );
    let e = DataMap::parse_toml("", "c.toml").unwrap_err();
    assert!(
        e.to_string()
            .contains("neither `databases` nor `endpoints`"),
        "{e}"
    );
}

#[test]
fn self_reference_is_a_cycle() {
    let m = r#"
[databases.d.tables.people]
key = "id"
identity = { email = "email" }
relations = [{ column = "manager_id", references = "people" }]
"#;
    let e = DataMap::parse_toml(m, "self.toml").unwrap_err();
    assert!(
        e.to_string()
            .contains("cycle in relations: people -> people"),
        "{e}"
    );
}

#[test]
fn categories_are_checked_against_the_policy() {
    let map = DataMap::parse_toml(common::MAP, "shop.toml").unwrap();
    let known: BTreeSet<_> = [
        "email",
        "name",
        "phone",
        "customer-id",
        "profile",
        "postal-address",
        "purchases",
    ]
    .into_iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let problems = map.unknown_categories(&known, "shop.toml");
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].to_string(),
        "shop.toml: databases.shop.tables.events.columns.payload: category `activity` is not in the policy"
    );
}

#[test]
fn load_reads_files_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shop.toml");
    std::fs::write(&p, common::MAP).unwrap();
    assert_eq!(DataMap::load(&p).unwrap().databases.len(), 1);
    let e = DataMap::load(&dir.path().join("missing.yaml")).unwrap_err();
    assert!(e.to_string().contains("missing.yaml: cannot read"), "{e}");
}
