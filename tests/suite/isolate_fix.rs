//! `cutover isolate --fix`: the proposed keys rebuilt to lead with the tenant column through
//! backup, dry run, execute and verification — every row, value, row id and AUTOINCREMENT
//! counter kept, nothing cascaded, dependents made again unchanged — and rolled back to the
//! original bytes. Judged from outside the engine, by reading the files with rusqlite.

use std::path::Path;

use rusqlite::Connection;

use crate::common::shop::{cutover, json, text};
use crate::common::state::{content, integrity, plain_tables, rowids, schema, sha};
use crate::common::{Journal, make_db};

fn query(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
        .unwrap()
        .map(|v| format!("{:?}", v.unwrap()))
        .collect()
}

fn check<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let checks = v["checks"].as_array().unwrap_or_else(|| panic!("no checks: {v}"));
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name} check: {v}"))
}

#[test]
fn the_demo_shop_s_natural_keys_are_rebuilt_per_tenant_and_rollback_gives_the_bytes_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "shop.db", Journal::Wal, cutover::engine::DEMO_SQL);
    let out = cutover(&["execute", "--tenant", "harbor-auto", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let tables = plain_tables(&db);
    let (before_sha, before_content, before_ids, before_schema) =
        (sha(&db), content(&db, &tables), rowids(&db), schema(&db));

    // Before the fix, a second tenant is refused by every natural key.
    let v = json(&cutover(&["isolate", "--json"], &db));
    let blocked: Vec<String> = v["second_tenant"]["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["by"].as_str().unwrap().to_string())
        .collect();
    for key in [
        "products.sku",
        "customers.email",
        "users.username",
        "gift_cards.card_number",
        "customer_vehicles.vin",
        "work_orders.number",
        "stores.code",
    ] {
        assert!(blocked.iter().any(|b| b.ends_with(&format!("failed: {key}"))), "{key} does not block: {blocked:?}");
    }
    assert_eq!(sha(&db), before_sha, "the second tenant was tried on a copy");

    let out = cutover(&["isolate", "--fix", "--json"], &db);
    assert_eq!(out.status.code(), Some(2), "--fix without --yes is refused: {}", text(&out));
    assert_eq!(sha(&db), before_sha);

    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["phase"], "fix", "{v}");
    assert_eq!(v["identical"], true, "{v}");
    let second = check(&v, "second_tenant");
    assert_eq!(second["status"], "WARN", "only the view without a tenant column is left: {second}");
    assert!(second["detail"].as_str().unwrap().contains("139/139 fit"), "{second}");
    let after = json(&cutover(&["isolate", "--json"], &db));
    assert_eq!(after["second_tenant"]["blocked"], serde_json::json!([]), "{after}");
    let leaks = after["second_tenant"]["leaks"].as_array().unwrap();
    assert!(leaks.len() == 1 && leaks[0]["object"] == "view \"v_daily_sales\"", "{leaks:?}");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(content(&db, &tables), before_content, "every value of every table is kept");
    assert_eq!(rowids(&db), before_ids, "every row id is kept");
    let after = schema(&db);
    for (table, key) in [
        ("products", "UNIQUE (\"tenant_id\", \"sku\")"),
        ("customers", "UNIQUE (\"tenant_id\", \"email\")"),
        ("users", "UNIQUE (\"tenant_id\", \"username\")"),
        ("gift_cards", "UNIQUE (\"tenant_id\", \"card_number\")"),
        ("customer_vehicles", "UNIQUE (\"tenant_id\", \"vin\")"),
        ("work_orders", "UNIQUE (\"tenant_id\", \"number\")"),
        ("stores", "UNIQUE (\"tenant_id\", \"code\")"),
        ("inventory_levels", "PRIMARY KEY (\"tenant_id\", product_id, store_id)"),
    ] {
        let sql = &after[&("table".to_string(), table.to_string())];
        assert!(sql.contains(key), "{table}: {sql}");
    }
    // Everything that is not a rebuilt table or its automatic index is byte for byte the same.
    let rebuilt: Vec<&str> = ["stores", "users", "products", "customers", "gift_cards", "work_orders"].to_vec();
    for ((kind, name), sql) in &before_schema {
        let own = kind == "table" && rebuilt.contains(&name.as_str()) || name.starts_with("sqlite_autoindex");
        if !own && !name.starts_with("sqlite_stat") && kind != "table" {
            assert_eq!(after.get(&(kind.clone(), name.clone())), Some(sql), "{kind} {name} was made again as it was");
        }
    }

    // A second shop's SKU now fits beside the first shop's.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO products (sku, name, category_id, vendor_id, cost_cents, price_cents, created_at, tenant_id)
         SELECT sku, name, category_id, vendor_id, cost_cents, price_cents, created_at, 'second-shop' FROM products LIMIT 1",
    )
    .unwrap();
    drop(conn);
    let out = cutover(&["rollback", "--discard-changes", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha(&db), before_sha, "the rollback gives the original bytes back");
}

const HOSTILE: &str = r#"
CREATE TABLE tenants (id TEXT PRIMARY KEY);
INSERT INTO tenants VALUES ('acme');
CREATE TABLE "café ☕" (id INTEGER PRIMARY KEY, "co""de" TEXT NOT NULL UNIQUE ON CONFLICT ABORT, note TEXT DEFAULT 'a, b' CHECK (note <> 'UNIQUE'));
CREATE TABLE pairs (a TEXT COLLATE NOCASE, b INT, n INT, PRIMARY KEY (a, b DESC)) WITHOUT ROWID;
CREATE TABLE strict_t (id INTEGER PRIMARY KEY, code TEXT NOT NULL, qty INTEGER NOT NULL, twice INTEGER GENERATED ALWAYS AS (qty * 2) VIRTUAL, stored INTEGER AS (qty + 1) STORED, UNIQUE (code)) STRICT;
CREATE TABLE cats (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent_id INTEGER REFERENCES cats(id) ON DELETE CASCADE);
CREATE TABLE items (id INTEGER PRIMARY KEY, cat_id INTEGER REFERENCES cats(id) ON DELETE CASCADE, label TEXT);
CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT UNIQUE);
CREATE TABLE plain (label TEXT UNIQUE, v INT);
CREATE TABLE emails (id INTEGER PRIMARY KEY, address TEXT, active INT);
CREATE UNIQUE INDEX emails_active ON emails (lower(address)) WHERE active = 1;
CREATE INDEX cats_parent ON cats (parent_id);
CREATE VIEW cat_names AS SELECT c.name, p.name AS parent FROM cats c LEFT JOIN cats p ON p.id = c.parent_id;
CREATE VIEW over_view AS SELECT name FROM cat_names;
CREATE TRIGGER counters_log AFTER INSERT ON items BEGIN INSERT INTO counters (code) VALUES ('item ' || NEW.id); END;
INSERT INTO "café ☕" ("co""de", note) VALUES ('x1', 'first'), ('x2', NULL);
INSERT INTO pairs VALUES ('A', 1, 10), ('a', 2, 20), ('b', 1, 30);
INSERT INTO strict_t (code, qty) VALUES ('s1', 3), ('s2', 4);
INSERT INTO cats VALUES (1, 'root', NULL), (2, 'child', 1), (3, 'leaf', 2);
INSERT INTO items VALUES (1, 3, 'bolt'), (2, 2, 'nut');
INSERT INTO counters (code) VALUES ('c1'), ('c2'), ('c3');
DELETE FROM counters WHERE id = 3;
INSERT INTO plain VALUES ('p1', 1), ('p2', 2), ('p3', 3);
DELETE FROM plain WHERE label = 'p2';
INSERT INTO plain VALUES ('p4', 4);
INSERT INTO emails (address, active) VALUES ('A@x', 1), ('a@x', 0);
"#;

#[test]
fn hostile_schemas_are_rebuilt_with_every_row_counter_and_dependent_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "pos.db", Journal::Wal, HOSTILE);
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let tables = plain_tables(&db);
    let (before_sha, before_content, before_ids, before_schema) =
        (sha(&db), content(&db, &tables), rowids(&db), schema(&db));
    let seq = query(&db, "SELECT seq FROM sqlite_sequence WHERE name = 'counters'");

    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(integrity(&db), "ok");
    assert_eq!(content(&db, &tables), before_content, "every value kept");
    assert_eq!(rowids(&db), before_ids, "row ids kept, the ones of a table without INTEGER PRIMARY KEY too");
    assert_eq!(query(&db, "SELECT seq FROM sqlite_sequence WHERE name = 'counters'"), seq, "AUTOINCREMENT survives");
    assert_eq!(query(&db, "SELECT count(*) FROM items"), ["Integer(2)"], "dropping cats cascaded nothing");
    assert_eq!(query(&db, "SELECT count(*) FROM pragma_foreign_key_check"), ["Integer(0)"]);

    let after = schema(&db);
    let table = |n: &str| after[&("table".to_string(), n.to_string())].clone();
    assert_eq!(
        table("café ☕"),
        "CREATE TABLE \"café ☕\" (id INTEGER PRIMARY KEY, \"co\"\"de\" TEXT NOT NULL, note TEXT DEFAULT 'a, b' CHECK (note <> 'UNIQUE'), \"tenant_id\" VARCHAR(255) NOT NULL DEFAULT 'acme', UNIQUE (\"tenant_id\", \"co\"\"de\") ON CONFLICT ABORT)"
    );
    assert!(table("pairs").contains("PRIMARY KEY (\"tenant_id\", a, b DESC)) WITHOUT ROWID"), "{}", table("pairs"));
    assert!(table("strict_t").contains("UNIQUE (\"tenant_id\", code)) STRICT"), "{}", table("strict_t"));
    assert!(table("strict_t").contains("GENERATED ALWAYS AS (qty * 2) VIRTUAL"), "{}", table("strict_t"));
    assert!(table("counters").contains("AUTOINCREMENT"), "{}", table("counters"));
    assert!(
        after[&("index".to_string(), "emails_active".to_string())]
            .contains("ON emails (\"tenant_id\", lower(address)) WHERE active = 1"),
        "{after:?}"
    );
    for kind_name in
        [("view", "cat_names"), ("view", "over_view"), ("trigger", "counters_log"), ("index", "cats_parent")]
    {
        let key = (kind_name.0.to_string(), kind_name.1.to_string());
        assert_eq!(after.get(&key), before_schema.get(&key), "{kind_name:?} is made again exactly as it was");
    }
    let dry = check(&v, "identical_outcome");
    assert_eq!(dry["status"], "PASS", "{v}");

    // The counter goes on from where it was, not from the highest id left.
    let conn = Connection::open(&db).unwrap();
    conn.execute("INSERT INTO counters (code) VALUES ('c4')", []).unwrap();
    assert_eq!(seq, ["Integer(5)"], "three inserts, one deleted, and the trigger's two");
    assert_eq!(conn.last_insert_rowid(), 6);
    // And a second tenant's values fit beside the first's, in every rebuilt key.
    conn.execute_batch(
        "INSERT INTO \"café ☕\" (\"co\"\"de\", tenant_id) VALUES ('x1', 'other');
         INSERT INTO pairs (a, b, n, tenant_id) VALUES ('A', 1, 10, 'other');
         INSERT INTO strict_t (code, qty, tenant_id) VALUES ('s1', 3, 'other');
         INSERT INTO plain (label, v, tenant_id) VALUES ('p1', 1, 'other');
         INSERT INTO emails (address, active, tenant_id) VALUES ('A@x', 1, 'other');",
    )
    .unwrap();
    drop(conn);
    let out = cutover(&["rollback", "--discard-changes", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha(&db), before_sha, "rollback restores the bytes of before the rebuild");
}

#[test]
fn keys_other_tables_point_at_are_not_rebuilt_and_old_orphans_are_carried() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE codes (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
         CREATE TABLE uses (id INTEGER PRIMARY KEY, code TEXT REFERENCES codes(code));
         CREATE TABLE skus (id INTEGER PRIMARY KEY, sku TEXT UNIQUE);
         CREATE TABLE lines (id INTEGER PRIMARY KEY, sku_id INTEGER REFERENCES skus(id));
         INSERT INTO codes VALUES (1, 'a'); INSERT INTO uses VALUES (1, 'a');
         INSERT INTO skus VALUES (1, 'k'); INSERT INTO lines VALUES (1, 99), (2, 1);",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&cutover(&["isolate", "--json"], &db));
    let codes =
        v["findings"].as_array().unwrap().iter().find(|f| f["table"] == "codes" && f["kind"] == "unique_key").unwrap();
    assert_eq!(codes["proposed"], false, "a key a foreign key points at is not proposed: {codes}");
    assert!(codes["fix"].as_str().unwrap().contains("\"uses\""), "{codes}");
    let violations =
        |db: &Path| query(db, "SELECT \"table\" || ' ' || rowid || ' ' || parent FROM pragma_foreign_key_check");
    assert_eq!(violations(&db), ["Text(\"lines 1 skus\")"], "a sale line whose product is long gone");
    let before = sha(&db);

    // The old orphan is carried through the rebuild of skus, not a reason to refuse it.
    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    let fk = check(&v, "foreign_keys");
    assert_eq!(fk["status"], "WARN", "{fk}");
    assert!(fk["detail"].as_str().unwrap().contains("found before, still there"), "{fk}");
    assert_eq!(violations(&db), ["Text(\"lines 1 skus\")"], "still there, and still the only one");
    assert_eq!(query(&db, "SELECT sku_id FROM lines WHERE id = 1"), ["Integer(99)"]);
    let md = std::fs::read_to_string(dir.path().join("pos.db.cutover/reports/isolation.md")).unwrap();
    assert!(md.contains("found before, kept as they were") && md.contains("| `lines` | 1 | `skus` |"), "{md}");
    assert!(
        query(&db, "SELECT sql FROM sqlite_schema WHERE name = 'skus'")[0].contains("tenant_id"),
        "skus was rebuilt"
    );
    let back = cutover(&["rollback", "--yes"], &db);
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(sha(&db), before, "rollback gives the bytes back");
    let out = cutover(&["isolate", "--fix", "--only", "nowhere", "--yes"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_trigger_that_writes_for_the_first_shop_and_a_key_left_out_are_told_by_the_second_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT UNIQUE);
         CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT);
         CREATE TRIGGER logs_blind AFTER INSERT ON items BEGIN INSERT INTO log (what) VALUES ('item ' || NEW.sku); END;
         CREATE TABLE tags (id INTEGER PRIMARY KEY, tag TEXT UNIQUE);
         INSERT INTO items (sku, name) VALUES ('a', 'bolt'), ('b', 'nut');
         INSERT INTO tags (tag) VALUES ('sale');",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let before = sha(&db);
    let out = cutover(&["isolate", "--fix", "--only", "log", "--yes", "--json"], &db);
    assert_eq!(json(&out)["nothing_to_do"], true, "log has no natural key: {}", text(&out));
    assert_eq!(sha(&db), before);
    // The key of tags is left out: the second tenant is still refused there, and told so.
    let out = cutover(&["isolate", "--fix", "--skip", "tags", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    let second = check(&v, "second_tenant");
    assert_eq!(second["status"], "WARN", "{second}");
    let leak = second["findings"].as_array().unwrap().iter().find(|f| f["subject"] == "trigger \"logs_blind\"");
    assert!(
        leak.is_some_and(|f| f["detail"].as_str().unwrap().contains("owned by 'acme'")),
        "the trigger is named: {second}"
    );
    let left = second["findings"].as_array().unwrap().iter().find(|f| f["subject"] == "tags");
    assert!(
        left.is_some_and(|f| f["status"] == "WARN" && f["detail"].as_str().unwrap().contains("left as it is")),
        "{second}"
    );
    assert_eq!(query(&db, "SELECT count(*) FROM log"), ["Integer(2)"], "the trigger was tried on a copy only");
}

#[test]
fn a_shared_counter_and_a_delete_trigger_that_reach_another_shop_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Wal,
        "CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
         CREATE TABLE stock (id INTEGER PRIMARY KEY, sku TEXT, qty INT);
         INSERT INTO products VALUES (1, 's1', 'a'), (2, 's2', 'b'); INSERT INTO stock VALUES (1, 's1', 5);",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    // Made after the migration: a table every shop shares, and triggers that reach past the tenant.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE counters (name TEXT PRIMARY KEY, n INT); INSERT INTO counters VALUES ('products', 2);
             CREATE TRIGGER cnt AFTER INSERT ON products BEGIN UPDATE counters SET n = n + 1 WHERE name = 'products'; END;
             CREATE TRIGGER del AFTER DELETE ON products BEGIN DELETE FROM stock WHERE sku = OLD.sku; END;",
        )
        .unwrap();
    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    let second = check(&v, "second_tenant");
    let findings = second["findings"].as_array().unwrap();
    let about = |subject: &str| {
        findings.iter().find(|f| f["subject"] == subject).map(|f| f["detail"].as_str().unwrap().to_string())
    };
    let cnt = about("trigger \"cnt\"").unwrap_or_else(|| panic!("the counter trigger is named: {second}"));
    assert!(cnt.contains("\"counters\", which has no tenant column"), "{cnt}");
    let del = about("trigger \"del\"").unwrap_or_else(|| panic!("the delete trigger is named: {second}"));
    assert!(del.contains("deleted a row of \"stock\" of another shop"), "{del}");
    assert_eq!(query(&db, "SELECT n FROM counters"), ["Integer(2)"], "tried on a copy only");
}

#[test]
fn a_key_held_back_by_name_is_refused_saying_why_and_only_with_skip_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
         CREATE TABLE notes (id INTEGER PRIMARY KEY, skey TEXT REFERENCES settings, body TEXT);
         CREATE TABLE r2 (rowid TEXT, oid TEXT, _rowid_ TEXT, name TEXT UNIQUE);
         CREATE TABLE twice (id INTEGER PRIMARY KEY, code TEXT UNIQUE, UNIQUE (code));
         CREATE VIEW v2 AS SELECT name FROM r2;
         CREATE TRIGGER v2_in INSTEAD OF INSERT ON v2 BEGIN INSERT INTO r2 (name) VALUES (NEW.name); END;
         INSERT INTO settings VALUES ('a', '1'); INSERT INTO notes VALUES (1, 'a', 'x');
         INSERT INTO r2 VALUES ('1', '2', '3', 'a'); INSERT INTO twice (code) VALUES ('c');",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let before = sha(&db);
    let out = cutover(&["isolate", "--fix", "--only", "settings", "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "cannot_rescope", "{v}");
    assert!(v["error"].as_str().unwrap().contains("\"notes\""), "{v}");
    let out = cutover(&["isolate", "--fix", "--only", "settings", "--skip", "SETTINGS", "--yes"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("contradict"), "{}", text(&out));
    assert_eq!(sha(&db), before);
    // Columns named rowid, oid and _rowid_: no name reaches the row ids, so a rebuild could not
    // keep them — refused, saying why, nothing changed.
    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(json(&out)["error"].as_str().unwrap().contains("row ids cannot be named"), "{}", text(&out));
    assert_eq!(sha(&db), before);
    // A key written twice, an INSTEAD OF trigger: fixed.
    let out = cutover(&["isolate", "--fix", "--skip", "r2", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(check(&v, "identical_outcome")["status"], "PASS", "{v}");
    let after = json(&cutover(&["isolate", "--json"], &db));
    let keys: Vec<&serde_json::Value> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unique_key" && f["proposed"] == true)
        .collect();
    assert!(
        keys.iter().all(|k| k["table"] == "r2") && keys.len() == 1,
        "every other proposed key was rebuilt: {keys:?}"
    );
    assert_eq!(query(&db, "SELECT rowid || oid || _rowid_ || name FROM r2"), ["Text(\"123a\")"]);
}

#[test]
fn the_registry_foreign_key_is_added_only_when_every_row_is_registered() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "shop.db", Journal::Rollback, cutover::engine::DEMO_SQL);
    let out = cutover(&["execute", "--tenant", "harbor-auto", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    // A row of a shop the registry does not know: the foreign key would be violated.
    Connection::open(&db).unwrap().execute("UPDATE vendors SET tenant_id = 'nobody' WHERE id = 1", []).unwrap();
    let before = sha(&db);
    let out = cutover(&["isolate", "--fix", "--registry-fk", "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "cannot_rescope", "{v}");
    assert!(v["error"].as_str().unwrap().contains("\"vendors\""), "{v}");
    assert_eq!(sha(&db), before, "nothing changed");
    Connection::open(&db).unwrap().execute("UPDATE vendors SET tenant_id = 'harbor-auto' WHERE id = 1", []).unwrap();
    let out = cutover(&["isolate", "--fix", "--registry-fk", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert!(v["summary"].as_str().unwrap().contains("foreign key to the tenant registry"), "{v}");
    let second = check(&v, "second_tenant");
    assert!(second["detail"].as_str().unwrap().contains("139/139 fit"), "registered, the second shop fits: {second}");
    let sql = &schema(&db)[&("table".to_string(), "products".to_string())];
    assert!(sql.ends_with("FOREIGN KEY (\"tenant_id\") REFERENCES \"tenants\"(\"id\"))"), "{sql}");
    assert_eq!(query(&db, "SELECT count(*) FROM pragma_foreign_key_check"), ["Integer(0)"]);
    assert_eq!(
        query(&db, "SELECT count(*) FROM tenants"),
        ["Integer(1)"],
        "the second shop was registered on a copy only"
    );

    let plain = make_db(
        dir.path(),
        "plain.db",
        Journal::Rollback,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT UNIQUE);",
    );
    assert!(cutover(&["execute", "--tenant", "acme", "--yes"], &plain).status.success());
    let out = cutover(&["isolate", "--fix", "--registry-fk", "--yes", "--json"], &plain);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "no_registry", "{}", text(&out));
}

#[test]
fn a_table_whose_row_ids_no_name_reaches_is_not_rebuilt_with_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE item (\"rowid\" TEXT, \"_rowid_\" TEXT, \"oid\" TEXT, sku TEXT UNIQUE);
         INSERT INTO item (sku) VALUES ('a'), ('b'), ('c'), ('d');
         DELETE FROM item WHERE sku IN ('a', 'b');",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let before = sha(&db);
    let out = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "cannot_rescope", "{v}");
    assert!(v["error"].as_str().unwrap().contains("row ids cannot be named"), "{v}");
    assert_eq!(sha(&db), before);
}
