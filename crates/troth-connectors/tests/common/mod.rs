//! Shared fixtures: the shop schema (customers → orders → order_items → events,
//! plus profiles) on any of the three dialects, its data map, and seeding.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use sqlx::{AnyPool, AssertSqlSafe};
use troth_connectors::{DataMap, DatabaseMap, Dialect, SubjectKeys};

pub const MAP: &str = r#"
[databases.shop]

[databases.shop.tables.customers]
key = "id"
identity = { email = "email", external_id = "ref" }
columns.email = { category = "email", erase = "hash" }
columns.name = { category = "name", erase = "mask" }
columns.phone = { category = "phone", erase = "set-null" }
columns.ref = { category = "customer-id", erase = "random" }

[databases.shop.tables.profiles]
key = "id"
identity = { email = "email" }
columns.email = { category = "email", erase = "keep" }
columns.bio = { category = "profile", erase = "mask", mask = "-" }
columns.nickname = { category = "name", erase = "set-null" }

[databases.shop.tables.orders]
key = "id"
relations = [{ column = "customer_id", references = "customers" }]
columns.address = { category = "postal-address", erase = "delete-row" }

[databases.shop.tables.order_items]
key = "id"
relations = [{ column = "order_id", references = "orders", to = "id" }]
erase = "delete-row"
columns.sku = { category = "purchases", erase = "keep" }

[databases.shop.tables.events]
key = "id"
relations = [{ column = "item_id", references = "order_items" }]
erase = "delete-row"
columns.payload = { category = "activity", erase = "keep" }
"#;

pub fn shop_map() -> DatabaseMap {
    DataMap::parse_toml(MAP, "shop.toml")
        .unwrap()
        .databases
        .remove(0)
}

pub fn alice() -> SubjectKeys {
    SubjectKeys::new().with("email", "alice@example.com")
}

pub async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .unwrap()
}

pub async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap();
}

pub async fn count(pool: &AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn text(pool: &AnyPool, sql: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn create_schema(pool: &AnyPool, d: Dialect) {
    let t = if d == Dialect::MySql {
        "VARCHAR(255)"
    } else {
        "TEXT"
    };
    let engine = if d == Dialect::MySql {
        " ENGINE=InnoDB"
    } else {
        ""
    };
    for sql in [
        format!(
            "CREATE TABLE customers (id BIGINT PRIMARY KEY, email {t}, name {t}, phone {t}, ref {t}){engine}"
        ),
        format!(
            "CREATE TABLE profiles (id BIGINT PRIMARY KEY, email {t}, bio {t}, nickname {t}){engine}"
        ),
        format!(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL REFERENCES customers(id), address {t}, FOREIGN KEY (customer_id) REFERENCES customers(id)){engine}"
        ),
        format!(
            "CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, sku {t}, FOREIGN KEY (order_id) REFERENCES orders(id)){engine}"
        ),
        format!(
            "CREATE TABLE events (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, payload {t}, FOREIGN KEY (item_id) REFERENCES order_items(id)){engine}"
        ),
        "CREATE INDEX customers_email ON customers (email)".to_owned(),
        "CREATE INDEX customers_ref ON customers (ref)".to_owned(),
        "CREATE INDEX profiles_email ON profiles (email)".to_owned(),
        "CREATE INDEX orders_customer ON orders (customer_id)".to_owned(),
        "CREATE INDEX items_order ON order_items (order_id)".to_owned(),
        "CREATE INDEX events_item ON events (item_id)".to_owned(),
    ] {
        exec(pool, &sql).await;
    }
}

/// Multi-row insert of text/integer literals we generate ourselves (no user data).
async fn insert(pool: &AnyPool, table: &str, cols: &str, rows: &[String]) {
    for chunk in rows.chunks(500) {
        exec(
            pool,
            &format!("INSERT INTO {table} ({cols}) VALUES {}", chunk.join(", ")),
        )
        .await;
    }
}

/// Customer `c` (id c) with `orders` orders × `items` items × `events` events.
/// Returns the number of rows written for the customer.
pub async fn seed_customer(
    pool: &AnyPool,
    c: i64,
    email: &str,
    orders: i64,
    items: i64,
    events: i64,
) -> usize {
    insert(
        pool,
        "customers",
        "id, email, name, phone, ref",
        &[format!(
            "({c}, '{email}', 'Name {c}', '+4670000{c:04}', 'R-{c}')"
        )],
    )
    .await;
    insert(
        pool,
        "profiles",
        "id, email, bio, nickname",
        &[format!("({c}, '{email}', 'bio {c}', 'nick{c}')")],
    )
    .await;
    let (mut o, mut it, mut ev) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..orders {
        let oid = c * 1_000_000 + i;
        o.push(format!("({oid}, {c}, 'Street {i}')"));
        for j in 0..items {
            let iid = oid * 100 + j;
            it.push(format!("({iid}, {oid}, 'sku-{j}')"));
            for k in 0..events {
                let eid = iid * 100 + k;
                ev.push(format!("({eid}, {iid}, 'event {k}')"));
            }
        }
    }
    insert(pool, "orders", "id, customer_id, address", &o).await;
    insert(pool, "order_items", "id, order_id, sku", &it).await;
    insert(pool, "events", "id, item_id, payload", &ev).await;
    2 + o.len() + it.len() + ev.len()
}
