//! Scripts in the shapes people and generators write them for SQLite: the 12-step table rebuild
//! of SQLite's documentation (foreign keys switched off around the transaction,
//! `legacy_alter_table`, a `foreign_key_check` inside), Django's `sqlmigrate` and Alembic's
//! offline (`--sql`) mode. Each shape is written here by hand, as those tools print it.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::common::shop::{cutover, json, text};
use crate::common::state::{integrity, sha};
use crate::common::{Journal, make_db};

const SHOP: &str = "
CREATE TABLE shop_customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE shop_item (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, price INTEGER NOT NULL CHECK (price >= 0));
CREATE TABLE shop_sale (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES shop_item(id),
                        customer_id INTEGER REFERENCES shop_customer(id) ON DELETE CASCADE, qty INTEGER);
CREATE INDEX shop_sale_item ON shop_sale(item_id);
CREATE VIEW sales_by_item AS SELECT i.sku, sum(s.qty) AS qty FROM shop_sale s JOIN shop_item i ON i.id = s.item_id GROUP BY i.sku;
CREATE TRIGGER shop_item_no_free BEFORE UPDATE OF price ON shop_item WHEN NEW.price = 0 BEGIN SELECT RAISE(ABORT, 'free'); END;
INSERT INTO shop_customer VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO shop_item VALUES (1, 'BRK-1', 4999), (2, 'OIL-5', 2599), (3, 'WIP-9', 1299);
INSERT INTO shop_sale VALUES (1, 1, 1, 2), (2, 2, 2, 1), (3, 1, NULL, 4);
";

fn shop(dir: &Path, journal: Journal) -> PathBuf {
    make_db(dir, "pos.db", journal, SHOP)
}

/// The shop as a Django or Alembic project has it: no view of its own over the tables the
/// generators rebuild.
fn shop_without_view(dir: &Path, journal: Journal) -> PathBuf {
    make_db(dir, "pos.db", journal, &SHOP.replace("CREATE VIEW sales_by_item", "CREATE VIEW unused_v AS SELECT 1; --"))
}

fn script(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, sql).unwrap();
    path
}

fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

/// SQLite's "Making Other Kinds Of Table Schema Changes": rebuild `shop_item` with a UNIQUE sku
/// and a NOT NULL tenant, keeping its rows, its trigger and the view that reads it.
const TWELVE_STEP: &str = "PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
PRAGMA legacy_alter_table=ON;
CREATE TABLE new_shop_item (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  price INTEGER NOT NULL CHECK (price >= 0),
  tenant_id TEXT NOT NULL DEFAULT 'acme',
  UNIQUE (tenant_id, sku)
);
INSERT INTO new_shop_item (id, sku, price) SELECT id, sku, price FROM shop_item;
DROP TABLE shop_item;
ALTER TABLE new_shop_item RENAME TO shop_item;
CREATE TRIGGER shop_item_no_free BEFORE UPDATE OF price ON shop_item WHEN NEW.price = 0 BEGIN SELECT RAISE(ABORT, 'free'); END;
SELECT count(*) FROM shop_item; -- expect: 3
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys=ON;
";

#[test]
fn the_documented_twelve_step_rebuild_dry_runs_and_executes() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let db = shop(dir.path(), journal);
        let s = script(dir.path(), "rebuild.sql", TWELVE_STEP);
        let before = sha(&db);
        let statements = |v: &serde_json::Value| v["statements"].as_array().unwrap().clone();
        let out = cutover(&["dry-run", "--script", s.to_str().unwrap(), "--json"], &db);
        assert_eq!(out.status.code(), Some(0), "{journal:?}: {}", text(&out));
        let v = json(&out);
        let warnings = v["warnings"].to_string();
        assert!(
            warnings.contains("left out PRAGMA foreign_keys=OFF (line 1) and PRAGMA foreign_keys=ON (line 18)"),
            "{v}"
        );
        assert!(warnings.contains("foreign_key_check (line 16) runs inside the transaction"), "{v}");
        assert_eq!(sha(&db), before, "a dry run never changes the database");
        assert!(!warnings.contains("CREATE TRIGGER"), "creating a trigger destroys nothing: {warnings}");
        let drop = statements(&v).into_iter().find(|s| s["sql"] == "DROP TABLE shop_item;").unwrap();
        assert_eq!(drop["changes"], 0, "a DROP changes no rows of its own: {drop}");

        let out = cutover(&["execute", "--yes", "--script", s.to_str().unwrap(), "--json"], &db);
        assert_eq!(out.status.code(), Some(0), "{journal:?}: {}", text(&out));
        let v = json(&out);
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(integrity(&db), "ok");
        assert_eq!(
            rows(&db, "SELECT sku || ':' || price || ':' || tenant_id FROM shop_item ORDER BY id"),
            ["BRK-1:4999:acme", "OIL-5:2599:acme", "WIP-9:1299:acme"]
        );
        // The view that read the old table reads the new one.
        assert_eq!(rows(&db, "SELECT sku || '=' || qty FROM sales_by_item ORDER BY sku"), ["BRK-1=6", "OIL-5=1"]);
        let unique: Vec<String> = rows(&db, "SELECT sql FROM sqlite_schema WHERE name = 'shop_item'");
        assert!(unique[0].contains("UNIQUE (tenant_id, sku)"), "{unique:?}");
    }
}

#[test]
fn a_foreign_key_check_that_finds_violations_fails_the_run_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), Journal::Wal);
    // The rebuild forgets the item that sales 1 and 3 point at.
    let broken = TWELVE_STEP
        .replace("SELECT id, sku, price FROM shop_item;", "SELECT id, sku, price FROM shop_item WHERE id <> 1;")
        .replace("SELECT count(*) FROM shop_item; -- expect: 3\n", "");
    let s = script(dir.path(), "broken.sql", &broken);
    let before = sha(&db);
    for phase in ["dry-run", "execute"] {
        let mut args = vec![phase, "--script", s.to_str().unwrap()];
        if phase == "execute" {
            args.push("--yes");
        }
        let out = cutover(&args, &db);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{phase}: {all}");
        assert!(all.contains("PRAGMA foreign_key_check"), "{phase}: names the statement: {all}");
        // Each named by its row and the value that points at nothing.
        let both = "found 2 violations: shop_sale row 1 → shop_item (item_id = 1 → shop_item(id)); \
                    shop_sale row 3 → shop_item (item_id = 1 → shop_item(id))";
        assert!(all.contains(both), "{all}");
        assert!(all.contains("nothing changed"), "{phase}: {all}");
        assert_eq!(sha(&db), before, "{phase}: the database is unchanged");
    }
}

/// `python manage.py sqlmigrate shop 0002` for SQLite: Django rebuilds the table to add a field,
/// inside one BEGIN … COMMIT, with `--` banners around each operation.
const DJANGO: &str = r#"BEGIN;
--
-- Add field tenant_id to item
--
CREATE TABLE "new__shop_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "sku" text NOT NULL, "price" integer NOT NULL CHECK ("price" >= 0), "tenant_id" varchar(255) DEFAULT 'acme' NOT NULL);
INSERT INTO "new__shop_item" ("id", "sku", "price", "tenant_id") SELECT "id", "sku", "price", 'acme' FROM "shop_item";
DROP TABLE "shop_item";
ALTER TABLE "new__shop_item" RENAME TO "shop_item";
CREATE INDEX "shop_item_tenant_id_9f3a1c2e" ON "shop_item" ("tenant_id");
--
-- Alter field name on customer
--
CREATE TABLE "new__shop_customer" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(120) NOT NULL);
INSERT INTO "new__shop_customer" ("id", "name") SELECT "id", "name" FROM "shop_customer";
DROP TABLE "shop_customer";
ALTER TABLE "new__shop_customer" RENAME TO "shop_customer";
COMMIT;
"#;

/// `alembic upgrade head --sql` for SQLite: no transaction of its own (SQLite's DDL is not
/// transactional to Alembic), the version table, a batch rebuild and the version stamp with
/// RETURNING.
const ALEMBIC: &str = "CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 3f9a2b7c1d4e

ALTER TABLE shop_customer ADD COLUMN tenant_id VARCHAR(255) DEFAULT 'acme' NOT NULL;

CREATE INDEX ix_shop_customer_tenant_id ON shop_customer (tenant_id);

CREATE TABLE _alembic_tmp_shop_sale (
    id INTEGER NOT NULL, 
    item_id INTEGER NOT NULL, 
    customer_id INTEGER, 
    qty INTEGER DEFAULT '1' NOT NULL, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES shop_item (id), 
    FOREIGN KEY(customer_id) REFERENCES shop_customer (id) ON DELETE CASCADE
);

INSERT INTO _alembic_tmp_shop_sale (id, item_id, customer_id, qty) SELECT shop_sale.id, shop_sale.item_id, shop_sale.customer_id, coalesce(shop_sale.qty, 1) 
FROM shop_sale;

DROP TABLE shop_sale;

ALTER TABLE _alembic_tmp_shop_sale RENAME TO shop_sale;

CREATE INDEX shop_sale_item ON shop_sale (item_id);

INSERT INTO alembic_version (version_num) VALUES ('3f9a2b7c1d4e') RETURNING version_num;

";

#[test]
fn django_and_alembic_migrations_run_as_they_print_them() {
    for (name, sql, check) in [
        ("django.sql", DJANGO, "SELECT id || ':' || sku || ':' || tenant_id FROM shop_item ORDER BY id"),
        ("alembic.sql", ALEMBIC, "SELECT id || ':' || qty FROM shop_sale ORDER BY id"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = shop_without_view(dir.path(), Journal::Wal);
        let s = script(dir.path(), name, sql);
        let out = cutover(&["dry-run", "--script", s.to_str().unwrap()], &db);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        let out = cutover(&["execute", "--yes", "--script", s.to_str().unwrap(), "--json"], &db);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        assert_eq!(json(&out)["ok"], true, "{name}");
        assert_eq!(integrity(&db), "ok");
        let got = rows(&db, check);
        let want: &[&str] = if name == "django.sql" {
            &["1:BRK-1:acme", "2:OIL-5:acme", "3:WIP-9:acme"]
        } else {
            &["1:2", "2:1", "3:4"]
        };
        assert_eq!(got, want, "{name}");
        // The sales still point at their customers and items.
        assert_eq!(rows(&db, "SELECT count(*) || '' FROM pragma_foreign_key_check"), ["0"], "{name}");
    }
    // Over a view of the shop's own, Django's rename fails as it would in the sqlite3 shell
    // (that is what `legacy_alter_table` is for): the rehearsal says so and nothing changes.
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), Journal::Wal);
    let s = script(dir.path(), "django.sql", DJANGO);
    let before = sha(&db);
    let out = cutover(&["execute", "--yes", "--script", s.to_str().unwrap()], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error in view sales_by_item"), "{}", text(&out));
    assert_eq!(sha(&db), before);
    let dir = tempfile::tempdir().unwrap();
    let db = shop_without_view(dir.path(), Journal::Rollback);
    let s = script(dir.path(), "alembic.sql", ALEMBIC);
    cutover(&["execute", "--yes", "--script", s.to_str().unwrap()], &db);
    assert_eq!(rows(&db, "SELECT version_num FROM alembic_version"), ["3f9a2b7c1d4e"]);
}

#[test]
fn a_standalone_verify_checks_the_scripts_expectations_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), Journal::Wal);
    let s = script(
        dir.path(),
        "price.sql",
        "UPDATE shop_item SET price = price + 100 WHERE sku = 'BRK-1';\nSELECT price FROM shop_item WHERE sku = 'BRK-1'; -- expect: 5099\n\
         INSERT INTO shop_item (sku, price) VALUES ('NEW-1', 1);\nSELECT count(*) FROM shop_item; -- expect: 4\n",
    );
    let out = cutover(&["execute", "--yes", "--script", s.to_str().unwrap()], &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let expectations = |out: &std::process::Output| {
        let v = json(out);
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "expectations")
            .cloned()
            .unwrap_or_else(|| panic!("{v}"))
    };
    let out = cutover(&["verify", "--json"], &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let e = expectations(&out);
    assert_eq!(e["status"], "PASS", "{e}");
    assert_eq!(e["findings"].as_array().unwrap().len(), 2, "{e}");
    // The shop sells on: the assertions are about the plan, so they are checked where it
    // ran (replayed from the backup), not against today's rows.
    let conn = Connection::open(&db).unwrap();
    conn.execute("INSERT INTO shop_item (sku, price) VALUES ('LATE-1', 5)", []).unwrap();
    drop(conn);
    let out = cutover(&["verify", "--json"], &db);
    assert_eq!(expectations(&out)["status"], "PASS", "{}", text(&out));
    // Without the backup they cannot be run again: verify says so instead of passing them.
    let backup = json(&out)["backup"]["path"].as_str().unwrap().to_string();
    fs::remove_file(&backup).unwrap();
    let out = cutover(&["verify", "--json"], &db);
    let e = expectations(&out);
    assert_eq!(e["status"], "WARN", "{e}");
    assert!(e["detail"].as_str().unwrap().contains("could not be checked again"), "{e}");
}

#[test]
fn what_warned_on_the_rehearsal_is_shown_with_the_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), Journal::Rollback);
    let s = script(dir.path(), "prune.sql", "DELETE FROM shop_sale WHERE id = 3;");
    let out = cutover(&["execute", "--yes", "--script", s.to_str().unwrap(), "--json"], &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    let rows = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "row_counts").cloned();
    let rows = rows.unwrap_or_else(|| panic!("the rehearsal's row count warning is shown: {v}"));
    assert_eq!(rows["status"], "WARN", "{rows}");
    assert!(rows["detail"].as_str().unwrap().contains("on the rehearsal copy, which this file equals"), "{rows}");
    assert!(!v["summary"].as_str().unwrap().contains("0 WARN"), "{}", v["summary"]);
    // And again from the journal.
    let out = cutover(&["verify", "--json"], &db);
    let v = json(&out);
    assert!(v["checks"].as_array().unwrap().iter().any(|c| c["name"] == "row_counts" && c["status"] == "WARN"), "{v}");
}
