//! Access and erasure against real SQLite, PostgreSQL and MariaDB databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use troth_connectors::{Connector, Dialect, HashKey, SqlConnector, SubjectKeys};

async fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display())
}

async fn pg_url() -> String {
    let cluster = tokio::task::spawn_blocking(troth_store::testing::pg_cluster)
        .await
        .unwrap()
        .expect("PostgreSQL test cluster");
    let db = cluster.create_database("troth_conn").await.unwrap();
    cluster.url(&db)
}

async fn mysql_url() -> String {
    let server = tokio::task::spawn_blocking(troth_connectors::testing::mariadb)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("MariaDB test server: {e}"));
    let db = server.create_database("troth_conn").await.unwrap();
    server.url(&db)
}

/// The whole scenario on one database.
async fn scenario(url: &str) {
    let d = Dialect::from_url(url).unwrap();
    let pool = pool(url).await;
    create_schema(&pool, d).await;
    let alice_rows = seed_customer(&pool, 1, "alice@example.com", 2, 2, 2).await;
    seed_customer(&pool, 2, "bob@example.com", 1, 1, 1).await;
    assert_eq!(alice_rows, 2 + 2 + 4 + 8);

    let map = shop_map();
    let conn = SqlConnector::connect_to(&map, url, Some(HashKey::new(vec![7u8; 32])))
        .await
        .unwrap();

    // Access: every reachable row, grouped by table, with categories.
    let export = conn.access(&alice()).await.unwrap();
    assert_eq!(export.connector, "shop");
    assert_eq!(export.row_count(), alice_rows);
    let table = |n: &str| export.tables.iter().find(|t| t.table == n).unwrap();
    assert_eq!(table("events").rows.len(), 8);
    assert_eq!(table("order_items").rows.len(), 4);
    assert_eq!(table("orders").rows.len(), 2);
    let customers = table("customers");
    assert_eq!(customers.rows.len(), 1);
    let email_col = customers
        .columns
        .iter()
        .position(|c| c.name == "email")
        .unwrap();
    assert_eq!(customers.columns[email_col].category, "email");
    assert_eq!(customers.rows[0][email_col], "alice@example.com");
    assert!(
        table("events")
            .rows
            .iter()
            .all(|r| r[0].as_str().unwrap().starts_with("event "))
    );
    // Parents come before children in the export.
    let pos = |n: &str| export.tables.iter().position(|t| t.table == n).unwrap();
    assert!(pos("customers") < pos("orders") && pos("orders") < pos("order_items"));

    // Another identity kind finds the same rows; unknown identities find none.
    let by_ref = conn
        .access(&SubjectKeys::new().with("external_id", "R-1"))
        .await
        .unwrap();
    assert_eq!(
        by_ref.row_count(),
        alice_rows - 1,
        "profiles are found by email only"
    );
    let nobody = conn
        .access(&SubjectKeys::new().with("email", "nobody@example.com"))
        .await
        .unwrap();
    assert_eq!(nobody.row_count(), 0);

    // Erasure: children first, per-table counts.
    let r = conn.erase(&alice()).await.unwrap();
    let order: Vec<&str> = r.tables.iter().map(|t| t.table.as_str()).collect();
    let p = |n: &str| order.iter().position(|t| *t == n).unwrap();
    assert!(
        p("events") < p("order_items")
            && p("order_items") < p("orders")
            && p("orders") < p("customers")
    );
    let got = |n: &str| {
        r.tables
            .iter()
            .find(|t| t.table == n)
            .map(|t| (t.deleted, t.updated))
            .unwrap()
    };
    assert_eq!(got("events"), (8, 0));
    assert_eq!(got("order_items"), (4, 0));
    assert_eq!(got("orders"), (2, 0));
    assert_eq!(got("customers"), (0, 1));
    assert_eq!(got("profiles"), (0, 1));
    assert_eq!(r.rows_changed(), 16);

    // The stored values follow each column's strategy.
    let email = text(&pool, "SELECT email FROM customers WHERE id = 1")
        .await
        .unwrap();
    assert!(
        email.starts_with("hmac:") && email.len() == 5 + 64,
        "{email}"
    );
    assert_eq!(
        text(&pool, "SELECT name FROM customers WHERE id = 1")
            .await
            .as_deref(),
        Some("[erased]")
    );
    assert_eq!(
        text(&pool, "SELECT phone FROM customers WHERE id = 1").await,
        None
    );
    assert!(
        text(&pool, "SELECT ref FROM customers WHERE id = 1")
            .await
            .unwrap()
            .starts_with("rnd:")
    );
    assert_eq!(
        text(&pool, "SELECT bio FROM profiles WHERE id = 1")
            .await
            .as_deref(),
        Some("-")
    );
    assert_eq!(
        text(&pool, "SELECT nickname FROM profiles WHERE id = 1").await,
        None
    );
    assert_eq!(
        text(&pool, "SELECT email FROM profiles WHERE id = 1")
            .await
            .as_deref(),
        Some("alice@example.com"),
        "keep"
    );
    // Bob is untouched.
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM events").await, 1);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(
        text(&pool, "SELECT name FROM customers WHERE id = 2")
            .await
            .as_deref(),
        Some("Name 2")
    );
    assert_eq!(
        text(&pool, "SELECT bio FROM profiles WHERE id = 2")
            .await
            .as_deref(),
        Some("bio 2")
    );

    // Idempotent: the profile is still found by email, but nothing changes.
    let again = conn.erase(&alice()).await.unwrap();
    assert_eq!(again.rows_changed(), 0, "{again:?}");
    assert_eq!(
        text(&pool, "SELECT email FROM customers WHERE id = 1")
            .await
            .unwrap(),
        email
    );
    let after = conn.access(&alice()).await.unwrap();
    assert_eq!(after.row_count(), 1, "only the kept profile row");
    conn.close().await;
    pool.close().await;
}

#[tokio::test]
async fn sqlite_access_and_erasure() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&sqlite_url(&dir).await).await;
}

#[tokio::test]
async fn postgres_access_and_erasure() {
    scenario(&pg_url().await).await;
}

#[tokio::test]
async fn mariadb_access_and_erasure() {
    scenario(&mysql_url().await).await;
}

#[tokio::test]
async fn many_related_rows_are_chunked() {
    // More parent keys than one statement may bind.
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir).await;
    let pool = pool(&url).await;
    create_schema(&pool, Dialect::Sqlite).await;
    let n = seed_customer(&pool, 1, "alice@example.com", 12_000, 1, 0).await;
    let conn = SqlConnector::connect_to(&shop_map(), &url, Some(HashKey::new(*b"k")))
        .await
        .unwrap();
    assert_eq!(conn.access(&alice()).await.unwrap().row_count(), n);
    let r = conn.erase(&alice()).await.unwrap();
    assert_eq!(r.rows_changed(), 12_000 * 2 + 2);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM order_items").await, 0);
}

#[tokio::test]
async fn hash_without_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqlConnector::connect_to(&shop_map(), &sqlite_url(&dir).await, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "connector `shop`: table `customers` hashes column `email` but no hash key was given"
    );
}

#[tokio::test]
async fn errors_name_the_table_not_the_value() {
    // The table the map names does not exist: the error names it and no value.
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir).await;
    let conn = SqlConnector::connect_to(&shop_map(), &url, Some(HashKey::new(*b"k")))
        .await
        .unwrap();
    let err = conn.access(&alice()).await.unwrap_err().to_string();
    assert!(
        err.contains("connector `shop`") && err.contains("table `customers`"),
        "{err}"
    );
    assert!(!err.contains("alice"), "{err}");
}

#[tokio::test]
async fn erasure_by_category_touches_only_those_columns() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir).await;
    let pool = pool(&url).await;
    create_schema(&pool, Dialect::Sqlite).await;
    seed_customer(&pool, 1, "alice@example.com", 2, 2, 2).await;
    let conn = SqlConnector::connect_to(&shop_map(), &url, Some(HashKey::new(*b"k")))
        .await
        .unwrap();
    let cats = |c: &[&str]| {
        c.iter()
            .map(|s| s.parse().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };

    let r = conn
        .erase_categories(&alice(), &cats(&["phone", "profile"]))
        .await
        .unwrap();
    assert_eq!(r.rows_changed(), 2, "{r:?}");
    assert_eq!(
        text(&pool, "SELECT phone FROM customers WHERE id = 1").await,
        None
    );
    assert_eq!(
        text(&pool, "SELECT name FROM customers WHERE id = 1")
            .await
            .as_deref(),
        Some("Name 1")
    );
    assert_eq!(
        text(&pool, "SELECT bio FROM profiles WHERE id = 1")
            .await
            .as_deref(),
        Some("-")
    );
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM events").await, 8);
    assert_eq!(
        conn.erase_categories(&alice(), &cats(&["phone", "profile"]))
            .await
            .unwrap()
            .rows_changed(),
        0
    );

    // Deleting orders needs their items and events gone too: select all three.
    let r = conn
        .erase_categories(
            &alice(),
            &cats(&["postal-address", "purchases", "activity"]),
        )
        .await
        .unwrap();
    assert_eq!(r.rows_changed(), 2 + 4 + 8, "{r:?}");
    assert_eq!(
        text(&pool, "SELECT email FROM customers WHERE id = 1")
            .await
            .as_deref(),
        Some("alice@example.com")
    );
}

#[tokio::test]
async fn connect_all_opens_the_maps_connectors() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir).await;
    let pool = pool(&url).await;
    create_schema(&pool, Dialect::Sqlite).await;
    seed_customer(&pool, 1, "alice@example.com", 1, 1, 1).await;
    let text_map = MAP.replace(
        "[databases.shop]\n",
        &format!("[databases.shop]\nurl = \"{url}\"\n"),
    );
    let map = troth_connectors::DataMap::parse_toml(&text_map, "shop.toml").unwrap();
    let all = troth_connectors::connect_all(&map, Some(&HashKey::new(*b"k")))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let got = troth_connectors::access_all(&all, &alice()).await;
    assert_eq!(got[0].as_ref().unwrap().row_count(), 5);

    let env_map = MAP.replace(
        "[databases.shop]\n",
        "[databases.shop]\nurl_env = \"TROTH_CONNECTORS_TEST_UNSET_VARIABLE\"\n",
    );
    let map = troth_connectors::DataMap::parse_toml(&env_map, "shop.toml").unwrap();
    let err = troth_connectors::connect_all(&map, Some(&HashKey::new(*b"k")))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "connector `shop`: environment variable `TROTH_CONNECTORS_TEST_UNSET_VARIABLE` is not set"
    );
}
