//! What the second tenant must not be fooled by, and what isolate must not call clean: a row a
//! key or trigger drops without an error, a trigger or view that names the tenant column and
//! still mixes the shops, a tenant written into a partial index, a table with no rows to try,
//! and the layout older SQLite misreads. Found by the second review.

use std::path::Path;

use rusqlite::Connection;

use crate::common::shop::{cutover, json, text};
use crate::common::state::sha;
use crate::common::{Journal, make_db};

fn migrated(dir: &Path, sql: &str, after: &str) -> std::path::PathBuf {
    let db = make_db(dir, "pos.db", Journal::Rollback, sql);
    let out = cutover(&["execute", "--tenant", "shop1", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    if !after.is_empty() {
        Connection::open(&db).unwrap().execute_batch(after).unwrap();
    }
    db
}

fn check(v: &serde_json::Value, name: &str) -> serde_json::Value {
    v["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_row_dropped_without_an_error_is_not_a_row_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(
        dir.path(),
        "CREATE TABLE gift_cards (id INTEGER PRIMARY KEY, card_no TEXT NOT NULL UNIQUE ON CONFLICT IGNORE, balance INTEGER);
         CREATE TABLE card_tx (id INTEGER PRIMARY KEY, card_no TEXT REFERENCES gift_cards(card_no), amt INTEGER);
         CREATE TABLE gated (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
         INSERT INTO gift_cards (card_no, balance) VALUES ('111', 50), ('222', 60);
         INSERT INTO card_tx (card_no, amt) VALUES ('111', 5); INSERT INTO gated (code) VALUES ('g');",
        "CREATE TRIGGER gate BEFORE INSERT ON gated WHEN NEW.tenant_id <> 'shop1' BEGIN SELECT RAISE(IGNORE); END;",
    );
    let v = json(&cutover(&["isolate", "--json"], &db));
    assert_eq!(v["ok"], false, "{v}");
    let blocked = v["second_tenant"]["blocked"].as_array().unwrap();
    for table in ["gift_cards", "gated"] {
        let b = blocked.iter().find(|b| b["table"] == table).unwrap_or_else(|| panic!("{table}: {blocked:?}"));
        assert!(b["by"].as_str().unwrap().contains("silently dropped"), "{b}");
    }
    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let second = check(&json(&out), "second_tenant");
    assert_ne!(second["status"], "PASS", "a dropped row is never 'fits everywhere': {second}");
}

#[test]
fn what_the_second_tenant_finds_counts_even_when_the_schema_reads_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(
        dir.path(),
        "CREATE TABLE inventory (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, on_hand INTEGER NOT NULL);
         CREATE TABLE sale_lines (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL);
         INSERT INTO inventory (sku, on_hand) VALUES ('A', 10), ('B', 20);
         INSERT INTO sale_lines (sku, qty) VALUES ('A', 1), ('B', 2);",
        "CREATE TRIGGER stock AFTER INSERT ON sale_lines BEGIN
           UPDATE inventory SET on_hand = on_hand - NEW.qty WHERE sku = NEW.sku AND (tenant_id = NEW.tenant_id OR NEW.qty > 0); END;",
    );
    let before = sha(&db);
    let out = cutover(&["isolate"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("does not fit everywhere") && t.contains("trigger \"stock\""), "{t}");
    assert_eq!(json(&cutover(&["isolate", "--json"], &db))["ok"], false);
    assert_eq!(sha(&db), before);
}

#[test]
fn a_tenant_written_into_a_partial_index_is_held_back_and_an_empty_table_proves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(
        dir.path(),
        "CREATE TABLE coupons (id INTEGER PRIMARY KEY, code TEXT NOT NULL, active INTEGER NOT NULL);
         INSERT INTO coupons (code, active) VALUES ('SAVE5', 1), ('SAVE5', 0);
         CREATE TABLE codes (id INTEGER PRIMARY KEY, code TEXT UNIQUE);",
        "CREATE UNIQUE INDEX coupons_active ON coupons (code) WHERE active = 1 AND tenant_id = 'shop1';",
    );
    let v = json(&cutover(&["isolate", "--json"], &db));
    let coupon = v["findings"].as_array().unwrap().iter().find(|f| f["index"] == "coupons_active").cloned().unwrap();
    assert_eq!(coupon["proposed"], false, "{coupon}");
    assert!(coupon["why"].as_str().unwrap().contains("its WHERE names"), "{coupon}");
    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert!(v["plan_sha256"].is_string(), "{v}");
    let second = check(&v, "second_tenant");
    let empty = second["findings"].as_array().unwrap().iter().find(|f| f["subject"] == "codes");
    assert!(
        empty.is_some_and(|f| f["status"] == "WARN" && f["detail"].as_str().unwrap().contains("no rows")),
        "{second}"
    );
    let sql: String = Connection::open(&db)
        .unwrap()
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 'coupons_active'", [], |r| r.get(0))
        .unwrap();
    assert!(sql.ends_with("ON coupons (code) WHERE active = 1 AND tenant_id = 'shop1'"), "left as it was: {sql}");
}

#[test]
fn the_layout_older_sqlite_misreads_is_a_warning_and_a_fix_has_no_undo_to_offer() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(
        dir.path(),
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE skus (id INTEGER PRIMARY KEY, sku TEXT UNIQUE);
         INSERT INTO settings VALUES ('a', '1'); INSERT INTO skus (sku) VALUES ('x');",
        "",
    );
    let out = cutover(&["isolate", "--fix", "--only", "settings", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let older = check(&json(&out), "older_sqlite");
    assert_eq!(older["status"], "WARN", "{older}");
    assert!(older["detail"].as_str().unwrap().contains("\"settings\""), "{older}");
    let out = cutover(&["isolate", "--fix", "--only", "skus", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(check(&json(&out), "older_sqlite").is_null(), "a rowid table is read right by every SQLite");
    // Rolling the second fix back puts the first in force: it has no undo in place to offer.
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("is in") && !t.contains("--undo"), "{t}");
}
