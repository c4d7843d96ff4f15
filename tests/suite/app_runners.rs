//! The application's own migrations, for every ledger kind cutover knows: the shop's database
//! is built by the runner itself (`tests/runners/app_runner.py`, written from each runner's
//! source, independently of the engine), cutover runs the new migrations with
//! `execute --migrations DIR`, and the runner then starts with nothing to apply: the rows
//! cutover wrote — versions, names, checksums — are rows the runner accepts.
// Python is the shop's application here.
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::shop::{cutover, json, text};
use crate::common::state::sha;

pub const INIT: &str = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE sales (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), amount INTEGER NOT NULL);
";
pub const SALES: &str = "INSERT INTO customers (id, name) VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO sales (customer_id, amount) VALUES (1, 4999), (2, 2599), (1, 1299);
";
pub const TENANT: &str = "ALTER TABLE customers ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'harbor';
ALTER TABLE sales ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'harbor';
CREATE INDEX customers_tenant ON customers(tenant_id);
";

/// The shop's application starting on `db`: its runner applies what is pending.
pub fn start(kind: &str, db: &Path, dir: &Path) -> Output {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runners/app_runner.py");
    Command::new("python3").arg(runner).args([kind, &db.to_string_lossy(), &dir.to_string_lossy()]).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The three migrations of one kind, in its file shapes: (file, text), the third the tenant one.
fn files(kind: &str) -> [(String, String); 3] {
    let goose = |sql: &str, down: &str| {
        format!("-- +goose Up\n-- +goose StatementBegin\n{sql}-- +goose StatementEnd\n\n-- +goose Down\n{down}\n")
    };
    let dbmate = |sql: &str, down: &str| format!("-- migrate:up\n{sql}\n-- migrate:down\n{down}\n");
    let prisma_tenant = "-- RedefineTables\nPRAGMA defer_foreign_keys=ON;\nPRAGMA foreign_keys=OFF;\n\
        CREATE TABLE \"new_sales\" (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), amount INTEGER NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'harbor');\n\
        INSERT INTO \"new_sales\" (id, customer_id, amount) SELECT id, customer_id, amount FROM \"sales\";\n\
        DROP TABLE \"sales\";\nALTER TABLE \"new_sales\" RENAME TO \"sales\";\n\
        PRAGMA foreign_keys=ON;\nPRAGMA defer_foreign_keys=OFF;\n\
        ALTER TABLE customers ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'harbor';\n";
    let f = |a: &str, b: String| (a.to_string(), b);
    match kind {
        "names" => [
            f("001_init.sql", INIT.into()),
            f("002_sales.sql", SALES.into()),
            f("009_add_tenant_id.sql", TENANT.into()),
        ],
        "sqlx" => [
            f("0001_init.sql", INIT.into()),
            f("0002_sales.sql", SALES.into()),
            f("0009_add_tenant_id.up.sql", TENANT.into()),
        ],
        "refinery" => [
            f("V1__init.sql", INIT.into()),
            f("V2__sales.sql", SALES.into()),
            f("V9__add_tenant_id.sql", TENANT.into()),
        ],
        "diesel" => [
            f("2024-01-01-000000_init/up.sql", INIT.into()),
            f("2024-02-01-000000_sales/up.sql", SALES.into()),
            f("2024-12-01-000000_add_tenant_id/up.sql", TENANT.into()),
        ],
        "goose" => [
            f("00001_init.sql", goose(INIT, "DROP TABLE sales;\nDROP TABLE customers;")),
            f("00002_sales.sql", goose(SALES, "DELETE FROM sales;")),
            f("00009_add_tenant_id.sql", goose(TENANT, "DROP TABLE sales;")),
        ],
        "dbmate" => [
            f("20240101000000_init.sql", dbmate(INIT, "DROP TABLE sales;")),
            f("20240201000000_sales.sql", dbmate(SALES, "DELETE FROM sales;")),
            f("20241201000000_add_tenant_id.sql", dbmate(TENANT, "DROP TABLE sales;")),
        ],
        "flyway" => [
            f("V1__Init.sql", INIT.into()),
            f("V1_1__Sales.sql", SALES.into()),
            f("V2__Add_tenant_id.sql", TENANT.into()),
        ],
        "prisma" => [
            f("20240101000000_init/migration.sql", INIT.into()),
            f("20240201000000_sales/migration.sql", SALES.into()),
            f("20241201000000_tenant/migration.sql", prisma_tenant.into()),
        ],
        other => panic!("no files for {other}"),
    }
}

/// A shop built by `kind`'s runner from the first two migrations, the third (the tenant
/// column) written to the folder afterwards, as a new release ships it: (db, folder).
pub fn built_by(kind: &str, root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join("migrations");
    let db = root.join("shop.db");
    let [one, two, three] = files(kind);
    write(&dir, &one.0, &one.1);
    write(&dir, &two.0, &two.1);
    let out = start(kind, &db, &dir);
    assert!(out.status.success() && text(&out).contains("applied 2"), "{kind}: {}", text(&out));
    write(&dir, &three.0, &three.1);
    (db, dir)
}

const KINDS: [&str; 8] = ["names", "sqlx", "refinery", "diesel", "goose", "dbmate", "flyway", "prisma"];

#[test]
fn every_runner_starts_with_nothing_to_apply_after_execute_with_its_migrations() {
    for kind in KINDS {
        let tmp = tempfile::tempdir().unwrap();
        let (db, dir) = built_by(kind, tmp.path());
        let audit = cutover(&["audit", "--json"], &db);
        let ledgers = &json(&audit)["ledgers"]["ledgers"];
        assert_eq!(ledgers[0]["kind"], kind, "{kind}: the audit names the ledger: {}", text(&audit));
        assert_eq!(ledgers[0]["entries"].as_array().unwrap().len(), 2, "{kind}");

        let dirs = dir.to_string_lossy().into_owned();
        let out = cutover(&["execute", "--migrations", &dirs, "--yes", "--json"], &db);
        let report = json(&out);
        assert!(out.status.success(), "{kind}: {}", text(&out));
        assert_eq!(report["ok"], true, "{kind}: {}", text(&out));
        let checks = report["checks"].as_array().unwrap();
        for name in ["ledger_recorded", "app_starts"] {
            let c = checks
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("{kind}: no {name}: {}", text(&out)));
            assert_eq!(c["status"], "PASS", "{kind}: {name}: {c}");
        }
        let ran = start(kind, &db, &dir);
        assert!(ran.status.success(), "{kind}: the app did not start after cutover: {}", text(&ran));
        assert!(text(&ran).contains("started: applied 0"), "{kind}: the app ran a migration again: {}", text(&ran));
        let conn = rusqlite::Connection::open(&db).unwrap();
        let tenants: i64 =
            conn.query_row("SELECT count(*) FROM sales WHERE tenant_id = 'harbor'", [], |r| r.get(0)).unwrap();
        assert_eq!(tenants, 3, "{kind}");
        if kind == "goose" || kind == "dbmate" {
            // Only the Up section ran: the Down section would have dropped the table.
            let n: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
            assert_eq!(n, 2, "{kind}");
        }
        drop(conn);

        let before = sha(&db);
        let again = cutover(&["execute", "--migrations", &dirs, "--yes", "--json"], &db);
        assert!(again.status.success(), "{kind}: {}", text(&again));
        assert_eq!(json(&again)["nothing_to_do"], true, "{kind}: {}", text(&again));
        assert!(text(&again).contains("Already done"), "{kind}: {}", text(&again));
        assert_eq!(sha(&db), before, "{kind}: nothing pending must change nothing");
    }
}

#[test]
fn a_changed_recorded_migration_is_refused_as_the_runner_refuses_it() {
    for (kind, first) in [("sqlx", "0001_init.sql"), ("flyway", "V1__Init.sql"), ("refinery", "V1__init.sql")] {
        let tmp = tempfile::tempdir().unwrap();
        let (db, dir) = built_by(kind, tmp.path());
        fs::write(dir.join(first), format!("{INIT}-- edited after it was applied\n")).unwrap();
        let app = start(kind, &db, &dir);
        assert!(!app.status.success(), "{kind}: the runner itself refuses: {}", text(&app));
        let before = sha(&db);
        let out = cutover(&["execute", "--migrations", &dir.to_string_lossy(), "--yes", "--json"], &db);
        assert_eq!(out.status.code(), Some(1), "{kind}: {}", text(&out));
        assert_eq!(json(&out)["refusal"], "runner_refuses", "{kind}: {}", text(&out));
        assert!(text(&out).contains(first), "{kind}: names the file: {}", text(&out));
        assert_eq!(sha(&db), before, "{kind}: nothing changed");
    }
}

#[test]
fn a_migration_older_than_the_newest_applied_is_refused_where_the_runner_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dir) = built_by("flyway", tmp.path());
    let dirs = dir.to_string_lossy().into_owned();
    assert!(cutover(&["execute", "--migrations", &dirs, "--yes"], &db).status.success());
    fs::write(dir.join("V1_5__Late.sql"), "CREATE TABLE late (x);\n").unwrap();
    assert!(!start("flyway", &db, &dir).status.success(), "Flyway refuses it too");
    let before = sha(&db);
    let out = cutover(&["execute", "--migrations", &dirs, "--yes"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("V1_5__Late.sql") && text(&out).contains("out of order"), "{}", text(&out));
    assert_eq!(sha(&db), before);
}
