//! `cutover isolate`: after the tenant migration, every unique key, foreign key, view and
//! trigger that still ignores the tenant column, on the demo shop and on hostile schemas —
//! read-only, with natural keys proposed and surrogate keys not.

use std::path::Path;

use crate::common::shop::{cutover, json, text};
use crate::common::state::sha;
use crate::common::{Journal, make_db};

fn findings(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["findings"].as_array().unwrap_or_else(|| panic!("no findings: {v}")).clone()
}

fn unique<'a>(f: &'a [serde_json::Value], table: &str) -> Vec<&'a serde_json::Value> {
    f.iter().filter(|x| x["kind"] == "unique_key" && x["table"] == table).collect()
}

fn migrated(dir: &Path, sql: &str) -> std::path::PathBuf {
    let db = make_db(dir, "pos.db", Journal::Wal, sql);
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    db
}

#[test]
fn the_demo_shop_s_natural_keys_are_found_and_proposed_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "shop.db", Journal::Rollback, cutover::engine::DEMO_SQL);
    let out = cutover(&["isolate", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "before the migration there is nothing to isolate: {}", text(&out));
    assert!(text(&out).contains("has tenant_id yet"), "{}", text(&out));
    let out = cutover(&["execute", "--tenant", "harbor-auto", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let before = sha(&db);

    let out = cutover(&["isolate", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "findings remain: {}", text(&out));
    let v = json(&out);
    let f = findings(&v);
    for (table, column) in [
        ("products", "sku"),
        ("customers", "email"),
        ("users", "username"),
        ("gift_cards", "card_number"),
        ("customer_vehicles", "vin"),
        ("work_orders", "number"),
        ("stores", "code"),
    ] {
        let keys = unique(&f, table);
        let key = keys.iter().find(|k| k["columns"] == serde_json::json!([column]));
        let key = key.unwrap_or_else(|| panic!("{table}.{column} is not listed: {keys:?}"));
        assert_eq!(key["proposed"], true, "{key}");
        assert_eq!(key["written"], format!("UNIQUE (\"{column}\")"), "{key}");
        assert_eq!(key["fix"], format!("UNIQUE (\"tenant_id\", \"{column}\")"), "{key}");
    }
    let fk = f.iter().find(|x| x["kind"] == "foreign_key" && x["table"] == "sale_items" && x["parent"] == "sales");
    assert!(fk.is_some_and(|x| x["proposed"] == false), "foreign keys are reported for a person: {f:?}");
    let view = f.iter().find(|x| x["kind"] == "view").unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(view["view"], "v_daily_sales");
    let trigger = f.iter().find(|x| x["kind"] == "trigger").unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(trigger["trigger"], "trg_sale_items_stock");
    assert!(trigger["tables"].as_array().unwrap().iter().any(|t| t == "inventory_levels"), "{trigger}");
    assert!(!f.iter().any(|x| x["table"] == "tenants"), "the registry is shared, not a tenant table");
    assert_eq!(sha(&db), before, "isolate is read-only");
    let report = dir.path().join("shop.db.cutover/reports/isolation.md");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("UNIQUE (\"sku\")") && md.contains("v_daily_sales"), "{md}");
}

#[test]
fn hostile_schemas_keys_views_and_triggers_are_judged_by_what_they_touch() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(
        dir.path(),
        r#"CREATE TABLE tenants (id TEXT PRIMARY KEY);
        CREATE TABLE "café ☕" (id INTEGER PRIMARY KEY, "co""de" TEXT UNIQUE);
        CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID;
        CREATE TABLE pairs (a TEXT, b INT, PRIMARY KEY (a, b)) WITHOUT ROWID;
        CREATE TABLE strict_t (id INTEGER PRIMARY KEY, n INTEGER) STRICT;
        CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);
        CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT);
        CREATE VIEW blind AS SELECT name FROM parent;
        CREATE VIEW everything AS SELECT * FROM parent;
        CREATE TRIGGER logs_blind AFTER INSERT ON child BEGIN INSERT INTO log (what) VALUES ('child'); END;
        CREATE TRIGGER logs_tenant AFTER INSERT ON parent BEGIN INSERT INTO log (what, "tenant_id") VALUES ('p', NEW."tenant_id"); END;"#,
    );
    // Scoped already: an index the shop made per tenant is not a finding.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE UNIQUE INDEX per_tenant ON log (tenant_id, what)").unwrap();
    drop(conn);
    let out = cutover(&["isolate", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let f = findings(&json(&out));
    let cafe = unique(&f, "café ☕");
    assert_eq!(cafe.len(), 1, "{f:?}");
    assert_eq!(cafe[0]["proposed"], true, "a text key is natural");
    assert_eq!(cafe[0]["fix"], r#"UNIQUE ("tenant_id", "co""de")"#);
    let kv = unique(&f, "kv");
    assert_eq!(kv.len(), 1, "{f:?}");
    assert_eq!(
        (kv[0]["natural"].clone(), kv[0]["proposed"].clone()),
        (false.into(), false.into()),
        "a surrogate integer key"
    );
    assert_eq!(unique(&f, "pairs")[0]["proposed"], true, "a composite key is natural");
    assert!(unique(&f, "strict_t").is_empty() && unique(&f, "parent").is_empty(), "INTEGER PRIMARY KEY is the rowid");
    assert!(unique(&f, "log").is_empty(), "the per-tenant index is not a finding: {f:?}");
    assert!(f.iter().any(|x| x["kind"] == "foreign_key" && x["table"] == "child" && x["parent"] == "parent"));
    let views: Vec<&serde_json::Value> = f.iter().filter(|x| x["kind"] == "view").collect();
    assert_eq!(views.len(), 1, "only the view that hides the tenant: {views:?}");
    assert_eq!(views[0]["view"], "blind");
    let triggers: Vec<&serde_json::Value> = f.iter().filter(|x| x["kind"] == "trigger").collect();
    assert_eq!(triggers.len(), 1, "only the trigger that drops the tenant: {triggers:?}");
    assert_eq!(triggers[0]["trigger"], "logs_blind");
}

#[test]
fn a_schema_scoped_per_tenant_has_nothing_to_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme', sku TEXT, UNIQUE (tenant_id, sku));
         CREATE INDEX items_tenant ON items (tenant_id);",
    );
    let out = cutover(&["isolate"], &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("reads as ignoring tenant_id"), "{}", text(&out));
}

/// A schema already scoped per tenant, to which each case adds one object that is not.
const SCOPED: &str = "
CREATE TABLE stores (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme', code TEXT NOT NULL,
                     UNIQUE (tenant_id, code), UNIQUE (tenant_id, id));
CREATE TABLE sales (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme', store_id INTEGER, total INTEGER,
                    UNIQUE (tenant_id, id), FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id));
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme', action TEXT);
CREATE TABLE codes (n INT PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme') WITHOUT ROWID;
";

#[test]
fn naming_the_column_is_not_using_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "pos.db", Journal::Rollback, SCOPED);
    let out = cutover(&["isolate"], &db);
    assert_eq!(out.status.code(), Some(0), "a surrogate key alone leaves nothing to do: {}", text(&out));
    assert!(text(&out).contains("1 surrogate integer key listed, none proposed"), "{}", text(&out));
    for (case, sql, kind) in [
        (
            "a join that matches only one side",
            "CREATE VIEW v AS SELECT s.tenant_id, st.code FROM sales s JOIN stores st ON st.id = s.store_id",
            "view",
        ),
        ("the name as an alias", "CREATE VIEW v AS SELECT 'acme' AS tenant_id, count(*) FROM sales", "view"),
        ("the name in a comment", "CREATE VIEW v AS SELECT count(*) FROM sales /* \"tenant_id\" */", "view"),
        ("a star inside a CTE", "CREATE VIEW v AS WITH x AS (SELECT * FROM stores) SELECT code FROM x", "view"),
        ("a star inside a subquery", "CREATE VIEW v AS SELECT code FROM (SELECT * FROM stores)", "view"),
        ("a view that does not compile", "CREATE VIEW v AS SELECT nothing_here FROM stores", "view"),
        (
            "NEW.tenant_id only in WHEN",
            "CREATE TRIGGER t AFTER INSERT ON sales WHEN NEW.tenant_id IS NOT NULL BEGIN INSERT INTO audit_log (action) VALUES ('sale'); END",
            "trigger",
        ),
        (
            "the name in a trigger comment",
            "CREATE TRIGGER t AFTER INSERT ON sales BEGIN -- \"tenant_id\"\n INSERT INTO audit_log (action) VALUES ('sale'); END",
            "trigger",
        ),
        (
            "an insert from a select",
            "CREATE TRIGGER t AFTER INSERT ON sales BEGIN INSERT INTO audit_log (action) SELECT 'first' WHERE NOT EXISTS (SELECT * FROM audit_log WHERE action = 'first'); END",
            "trigger",
        ),
        (
            "another column meets the parent's tenant",
            "CREATE TABLE c (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme', other TEXT, store_id INTEGER, FOREIGN KEY (other, store_id) REFERENCES stores (tenant_id, id))",
            "foreign_key",
        ),
        (
            "the columns swapped",
            "CREATE TABLE c (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'acme', store_id INTEGER, FOREIGN KEY (store_id, tenant_id) REFERENCES stores (tenant_id, id))",
            "foreign_key",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let schema = if case == "a view that does not compile" {
            // SQLite checks a view when it is created; one broken later still stands.
            format!(
                "{SCOPED} CREATE TABLE gone (nothing_here); CREATE VIEW v AS SELECT nothing_here FROM gone; ALTER TABLE gone RENAME TO stores_old; DROP TABLE stores_old;"
            )
        } else {
            format!("{SCOPED} {sql};")
        };
        let db = {
            let path = dir.path().join("pos.db");
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA legacy_alter_table = ON").unwrap();
            conn.execute_batch(&schema).unwrap_or_else(|e| panic!("{case}: {e}"));
            path
        };
        let out = cutover(&["isolate", "--json"], &db);
        assert_eq!(out.status.code(), Some(1), "{case}: {}", text(&out));
        let f = findings(&json(&out));
        assert!(f.iter().any(|x| x["kind"] == kind), "{case}: not reported: {f:?}");
    }
}

#[test]
fn isolate_leaves_a_wal_the_application_wrote_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path(), "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT UNIQUE);");
    // The application writes and closes without folding its WAL in (as a crash would leave it).
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).unwrap();
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO t (code) VALUES ('a');").unwrap();
    drop(conn);
    let wal = db.with_file_name("pos.db-wal");
    let side = (std::fs::read(&wal).unwrap(), sha(&db));
    assert!(!side.0.is_empty(), "the WAL holds the write");
    let out = cutover(&["isolate", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!((std::fs::read(&wal).unwrap(), sha(&db)), side, "the file and its WAL keep their bytes");
}
