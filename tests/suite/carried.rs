//! Old foreign-key violations are carried, not blocking: a shop's years-old orphan rows (its
//! application ran with foreign keys off) neither stop a plan's own `foreign_key_check` nor
//! count as the plan's doing — only a violation the plan makes fails it, named by its row.

use std::fs;

use crate::common::shop::{cutover, json, text};
use crate::common::state::{Rng, report, seed, sha};
use crate::common::{Journal, check, make_db};

const ORPHANS: &str = "PRAGMA foreign_keys = OFF;
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total INTEGER);
    INSERT INTO customers VALUES (1, 'Ann');
    INSERT INTO orders VALUES (1, 1, 100), (17, 42, 250);";

/// Runs `script` with `execute --script --yes --json` on a shop made of `shop`: the folder it
/// lives in, the database, its SHA-256 before, and what cutover printed.
fn run_script(shop: &str, script: &str) -> (tempfile::TempDir, std::path::PathBuf, String, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "pos.db", Journal::Rollback, shop);
    let before = sha(&db);
    let path = dir.path().join("change.sql");
    fs::write(&path, script).unwrap();
    let out = cutover(&["execute", "--script", &path.to_string_lossy(), "--yes", "--json"], &db);
    (dir, db, before, out)
}

#[test]
fn a_scripts_own_foreign_key_check_passes_over_an_orphan_that_was_there_before() {
    let (_dir, _, _, out) = run_script(ORPHANS, "UPDATE orders SET total = total - 10;\nPRAGMA foreign_key_check;\n");
    assert!(out.status.success(), "{}", text(&out));
    let fk = check(&json(&out), "foreign_keys");
    assert_eq!(fk["status"], "WARN", "{fk}");
    let finding = &fk["findings"][0];
    assert_eq!(finding["subject"], "orders");
    assert!(
        finding["detail"]
            .as_str()
            .unwrap()
            .contains("found before, still there: row 17 → customers (customer_id = 42 → customers(id))"),
        "{fk}"
    );
}

#[test]
fn a_violation_the_plan_makes_still_fails_it_named_by_its_row() {
    let (_dir, db, before, out) =
        run_script(ORPHANS, "DELETE FROM customers WHERE id = 1;\nPRAGMA foreign_key_check;\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("orders row 1 → customers"), "the new one is named: {said}");
    assert!(!said.contains("row 17"), "the old one is not the plan's: {said}");
    assert_eq!(sha(&db), before, "rolled back: nothing changed");
}

/// A shop of `tables` in a foreign-key chain (each row points at one of the table before, or at
/// a row long gone), each with a natural key the isolation fix rebuilds, some with a manager
/// column pointing into their own table, one child with a composite foreign key.
fn random_shop(rng: &mut Rng) -> String {
    let tables = 2 + rng.below(3) as usize;
    let mut sql = String::from(
        "PRAGMA foreign_keys = OFF;\nCREATE TABLE kinds (a INTEGER, b INTEGER, label TEXT, UNIQUE (a, b));\n",
    );
    sql.push_str("INSERT INTO kinds VALUES (1, 1, 'x'), (1, 2, 'y');\n");
    for t in 0..tables {
        let parent = if t == 0 { String::new() } else { format!(", parent_id INTEGER REFERENCES t{}(id)", t - 1) };
        let manager =
            if rng.below(2) == 0 { format!(", manager_id INTEGER REFERENCES t{t}(id)") } else { String::new() };
        let kind =
            if t == tables - 1 { ", ka INTEGER, kb INTEGER, FOREIGN KEY (ka, kb) REFERENCES kinds(a, b)" } else { "" };
        sql.push_str(&format!(
            "CREATE TABLE t{t} (id INTEGER PRIMARY KEY, code TEXT UNIQUE{parent}{manager}{kind});\n"
        ));
        for row in 1..=(3 + rng.below(5)) {
            let mut cols = format!("{row}, 'c{t}-{row}'");
            if t > 0 {
                // One row in four points at a parent that is not there.
                let p = if rng.below(4) == 0 { 100 + rng.below(50) } else { 1 + rng.below(3) };
                cols.push_str(&format!(", {p}"));
            }
            if !manager.is_empty() {
                let m = if rng.below(5) == 0 { 500 + rng.below(9) } else { 1 };
                cols.push_str(&format!(", {m}"));
            }
            if !kind.is_empty() {
                cols.push_str(if rng.below(3) == 0 { ", 9, 9" } else { ", 1, 2" });
            }
            sql.push_str(&format!("INSERT INTO t{t} VALUES ({cols});\n"));
        }
    }
    sql
}

#[test]
fn the_isolation_fix_leaves_exactly_the_violations_it_found() {
    let seed = seed();
    let mut rng = Rng(seed);
    let cases = std::env::var("CUTOVER_CARRIED_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(12);
    for case in 0..cases {
        let dir = tempfile::tempdir().unwrap();
        let shop = random_shop(&mut rng);
        let db = make_db(dir.path(), "pos.db", Journal::Rollback, &shop);
        let violations = |db: &std::path::Path| -> Vec<(String, i64, String)> {
            let conn = rusqlite::Connection::open(db).unwrap();
            let mut stmt = conn.prepare("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check").unwrap();
            let mut v: Vec<_> =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
            v.sort();
            v
        };
        let before = violations(&db);
        let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
        assert!(out.status.success(), "seed {seed} case {case}: {}\n{shop}", text(&out));
        let fix = cutover(&["isolate", "--fix", "--yes", "--json"], &db);
        assert!(fix.status.success(), "seed {seed} case {case}: {}\n{shop}", text(&fix));
        assert_ne!(json(&fix)["nothing_to_do"], true, "seed {seed} case {case}: the natural keys were rebuilt");
        assert_eq!(
            violations(&db),
            before,
            "seed {seed} case {case}: the violations are exactly those found before\n{shop}"
        );
    }
    report(&format!(
        "carried: {cases} random shops (seed {seed}) kept exactly their violations through the isolation fix"
    ));
}

#[test]
fn a_violation_the_plan_makes_is_not_hidden_behind_an_old_one_of_the_same_row() {
    let shop = "PRAGMA foreign_keys = OFF;
         CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                              billing_id INTEGER REFERENCES customers(id));
         INSERT INTO customers VALUES (1, 'Ann');
         INSERT INTO orders VALUES (17, 42, 1);";
    // Mends the old orphan and makes a new one, on the same row, to the same parent table.
    let script =
        "INSERT INTO customers VALUES (42, 'Bo');\nDELETE FROM customers WHERE id = 1;\nPRAGMA foreign_key_check;\n";
    refused_naming(shop, script, "orders row 17 → customers");
}

/// Runs `script` on a shop made of `shop`, which must be refused (exit 1, nothing changed)
/// naming `new`, a violation the script made.
fn refused_naming(shop: &str, script: &str, new: &str) {
    let (_dir, db, before, out) = run_script(shop, script);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(new), "names {new}: {}", text(&out));
    assert_eq!(sha(&db), before);
}

const TWO_KEYS: &str = "PRAGMA foreign_keys = OFF;
    CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO customer VALUES (1, 'Ann'), (2, 'Bob');
    CREATE TABLE sale (id INTEGER PRIMARY KEY, buyer_id INT, seller_id INT, total INT,
        FOREIGN KEY (buyer_id) REFERENCES customer(id), FOREIGN KEY (seller_id) REFERENCES customer(id));
    INSERT INTO sale VALUES (1, 1, 2, 10), (2, 99, 2, 50);";

#[test]
fn a_new_violation_is_not_taken_for_an_old_one_when_the_keys_are_reordered() {
    // The old orphan (buyer 99) mended, a new one (seller 4040) made, the FOREIGN KEY clauses
    // swapped by a rebuild: SQLite's numbering of the keys follows their place.
    let script = "CREATE TABLE sale_new (id INTEGER PRIMARY KEY, buyer_id INT, seller_id INT, total INT,
        FOREIGN KEY (seller_id) REFERENCES customer(id), FOREIGN KEY (buyer_id) REFERENCES customer(id));
        INSERT INTO sale_new SELECT * FROM sale; DROP TABLE sale; ALTER TABLE sale_new RENAME TO sale;
        UPDATE sale SET buyer_id = 1, seller_id = 4040 WHERE id = 2;
        PRAGMA foreign_key_check;\n";
    refused_naming(TWO_KEYS, script, "seller_id = 4040");
}

#[test]
fn a_without_rowid_orphan_swapped_for_another_is_new() {
    let shop = "PRAGMA foreign_keys = OFF;
        CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customer VALUES (1, 'Ann');
        CREATE TABLE loyalty (card TEXT PRIMARY KEY, customer_id INTEGER REFERENCES customer(id), points INT) WITHOUT ROWID;
        INSERT INTO loyalty VALUES ('C1', 1, 10), ('C2', 99, 50);";
    let script = "DELETE FROM loyalty WHERE card = 'C2';\nINSERT INTO loyalty VALUES ('C9', 12345, 1000000);\nPRAGMA foreign_key_check;\n";
    refused_naming(shop, script, "customer_id = 12345");
}

#[test]
fn an_orphan_row_given_another_dangling_value_is_new() {
    let script =
        "DELETE FROM orders WHERE id = 17;\nINSERT INTO orders VALUES (17, 777, 999999);\nPRAGMA foreign_key_check;\n";
    refused_naming(ORPHANS, script, "customer_id = 777");
}

#[test]
fn a_new_foreign_key_column_does_not_make_an_old_orphan_new() {
    let (_dir, _, _, out) = run_script(
        ORPHANS,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY);\nALTER TABLE orders ADD COLUMN note_id INTEGER REFERENCES notes(id);\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(check(&json(&out), "foreign_keys")["status"], "WARN");
}

#[test]
fn an_old_orphan_does_not_keep_the_second_tenant_from_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE country (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO country VALUES (1, 'NZ');
         CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, country_id INTEGER REFERENCES country(id));
         INSERT INTO product VALUES (1, 'a', 1), (2, 'b', 77), (3, 'c', 1);",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--exclude", "country", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let fix = cutover(&["isolate", "--fix", "--yes"], &db);
    assert!(fix.status.success(), "{}", text(&fix));
    let out = cutover(&["isolate", "--json"], &db);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "the second shop fits once its keys are scoped: {v}");
    assert!(v["second_tenant"]["blocked"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn a_foreign_key_sqlite_cannot_check_is_said_not_to_be_checked_and_does_not_stop_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    // The parent column is not unique: SQLite's foreign_key_check gives up on the child table
    // ("foreign key mismatch"); the shop's application, with foreign keys off, never noticed.
    let db = make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE codes (code TEXT, label TEXT);
         CREATE TABLE uses (id INTEGER PRIMARY KEY, code TEXT REFERENCES codes(code));
         INSERT INTO codes VALUES ('a', 'x'); INSERT INTO uses VALUES (1, 'a');",
    );
    let out = cutover(&["execute", "--tenant", "acme", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out);
    let fk = check(&report, "foreign_keys");
    assert_eq!(fk["status"], "WARN", "never PASS for a table it could not check: {fk}");
    assert!(fk["detail"].as_str().unwrap().contains("not checked: uses"), "{fk}");
    let isolate = cutover(&["isolate", "--json"], &db);
    assert!(isolate.status.code().is_some_and(|c| c <= 1), "isolate reads it: {}", text(&isolate));
}
