//! The whole pipeline on real files: execute then check every planned table independently,
//! roll back to the exact original bytes, scripts that fail or fight the transaction, another
//! process holding the database, and verification catching a broken result.

use std::fs;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use crate::common::{Hold, Holder};
use crate::common::{Journal, hostile_db, make_db, snapshot};
use assert_cmd::Command;
use predicates::prelude::*;
use rusqlite::Connection;
use serde_json::Value;

fn cutover() -> Command {
    let mut cmd = Command::cargo_bin("cutover").unwrap();
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

fn run_json(args: &[&str], db: &Path, code: i32) -> Value {
    let out = cutover().args(args).arg(db).arg("--json").assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks: {v}"))
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v}"))
}

/// Every row of every table, as text, in key order.
fn dump(
    db: &Path,
    tables: &[String],
    columns_of: impl Fn(&Connection, &str) -> Vec<String>,
) -> Vec<(String, Vec<String>)> {
    let conn = Connection::open(db).unwrap();
    tables
        .iter()
        .map(|t| {
            let cols = columns_of(&conn, t);
            let select = cols
                .iter()
                .map(|c| format!("quote(\"{}\")", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let q = format!("SELECT {select} FROM \"{}\" ORDER BY 1", t.replace('"', "\"\""));
            let mut stmt = conn.prepare(&q).unwrap();
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect();
            (t.clone(), rows)
        })
        .collect()
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)").unwrap();
    stmt.query_map([table], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn side_files(db: &Path) -> Vec<PathBuf> {
    ["-wal", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter(|p| p.exists() && fs::metadata(p).unwrap().len() > 0)
        .collect()
}

const PLANNED: [&str; 11] = [
    "we\"ird",
    "order details",
    "select",
    "café ☕",
    "semi;colon -- dash",
    "kv",
    "strict_t",
    "gen",
    "seq",
    "empty_t",
    "child",
];

fn execute_then_rollback(journal: Journal) {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), journal);
    let original = fs::read(&db).unwrap();
    let tables: Vec<String> = PLANNED.iter().map(|s| s.to_string()).collect();
    let before = dump(&db, &tables, columns);

    let v = run_json(&["execute", "--tenant", "acme", "--yes"], &db, 0);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["identical"], true, "{journal:?}: production must reach the rehearsal's bytes");
    assert_eq!(check(&v, "identical_outcome")["status"], "PASS");
    for key in ["backup", "dry_run", "execute", "verify"] {
        assert!(v["timings_s"][key].as_f64().is_some(), "timings_s.{key} missing: {v}");
    }
    let backup = PathBuf::from(v["backup"]["path"].as_str().unwrap());
    assert_eq!(fs::read(&backup).unwrap(), original, "the backup is the original");

    // Check every planned table independently of cutover's own verification.
    let conn = Connection::open(&db).unwrap();
    for t in PLANNED {
        let (decl, notnull, default): (String, bool, String) = conn
            .query_row(
                r#"SELECT type, "notnull", dflt_value FROM pragma_table_info(?1) WHERE name = 'tenant_id'"#,
                [t],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap_or_else(|e| panic!("{journal:?} {t}: no tenant_id column: {e}"));
        assert!(notnull, "{t}");
        assert_eq!(default, "'acme'", "{t}");
        assert_eq!(decl, if t == "strict_t" { "TEXT" } else { "VARCHAR(255)" }, "{t}");
        let other: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM \"{}\" WHERE tenant_id IS NOT 'acme'", t.replace('"', "\"\"")),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(other, 0, "{t}");
        let indexed: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_index_list(?1) l JOIN pragma_index_info(l.name) i WHERE i.name = 'tenant_id' AND i.seqno = 0",
                [t],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexed, 1, "{t}: index on tenant_id");
    }
    let has_col_noidx: i64 =
        conn.query_row("SELECT count(*) FROM pragma_index_list('has_col_noidx')", [], |r| r.get(0)).unwrap();
    assert_eq!(has_col_noidx, 1, "a matching column without an index gets the index");
    let untouched: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('tenants') WHERE name = 'tenant_id'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(untouched, 0, "the registry is left alone");
    drop(conn);
    let original_columns =
        |conn: &Connection, t: &str| columns(conn, t).into_iter().filter(|c| c != "tenant_id").collect();
    assert_eq!(dump(&db, &tables, original_columns), before, "{journal:?}: every original value is unchanged");

    let r = run_json(&["rollback", "--yes"], &db, 0);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(fs::read(&db).unwrap(), original, "{journal:?}: rollback restores the exact original bytes");
    assert!(side_files(&db).is_empty(), "{journal:?}: no -wal/-journal beside the restored file");
    let migrated: Vec<String> = snapshot(dir.path()).into_keys().filter(|n| n.contains(".migrated-")).collect();
    assert_eq!(migrated.len(), 1, "the migrated database is kept aside: {migrated:?}");
    // The restored database opens and is the original.
    let conn = Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('kv') WHERE name = 'tenant_id'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn execute_and_rollback_rollback_journal() {
    execute_then_rollback(Journal::Rollback);
}

#[test]
fn execute_and_rollback_wal() {
    execute_then_rollback(Journal::Wal);
}

#[test]
fn a_tenant_value_with_quotes_and_unicode_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let tenant = "O'Brien \"Ltd\" — café ☕\\n";
    let v = run_json(&["execute", "--tenant", tenant, "--yes"], &db, 0);
    assert_eq!(v["ok"], true, "{v}");
    assert!(
        v["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("not in the tenant registry"))
    );
    let conn = Connection::open(&db).unwrap();
    let got: String = conn.query_row("SELECT DISTINCT tenant_id FROM \"café ☕\"", [], |r| r.get(0)).unwrap();
    assert_eq!(got, tenant);
}

#[test]
fn a_script_failing_on_its_second_statement_changes_nothing_and_names_it() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let db = hostile_db(dir.path(), journal);
        let script = dir.path().join("change.sql");
        fs::write(
            &script,
            "UPDATE kv SET v = 'changed' WHERE k = 'k1';\nINSERT INTO no_such_table VALUES (1);\nDELETE FROM kv;\n",
        )
        .unwrap();
        let before = fs::read(&db).unwrap();
        let out = cutover()
            .args(["execute", "--yes", "--script"])
            .arg(&script)
            .arg(&db)
            .assert()
            .code(1)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains("statement 2 (line 2)"), "{err}");
        assert!(err.contains("INSERT INTO no_such_table"), "{err}");
        assert!(err.contains("no such table"), "{err}");
        assert!(err.contains("nothing changed"), "{err}");
        assert!(err.contains("DESTROYS DATA: line 3"), "destructive statements are flagged first: {err}");
        assert_eq!(fs::read(&db).unwrap(), before, "{journal:?}: the database must be byte-identical");
        assert!(side_files(&db).is_empty());
    }
}

#[test]
fn a_script_with_its_own_commit_in_the_middle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let script = dir.path().join("bad.sql");
    fs::write(&script, "UPDATE kv SET v = 'a' WHERE k = 'k1';\nCOMMIT;\nUPDATE kv SET v = 'b' WHERE k = 'k2';\n")
        .unwrap();
    let before = snapshot(dir.path());
    cutover()
        .args(["execute", "--yes", "--script"])
        .arg(&script)
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("script line 2: COMMIT;").and(predicate::str::contains("refused")));
    assert_eq!(snapshot(dir.path()), before, "nothing written, not even a backup");
}

#[test]
fn a_wrapped_script_runs_with_a_notice_and_expectations_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let script = dir.path().join("ok.sql");
    fs::write(
        &script,
        "BEGIN;\r\nUPDATE kv SET v = 'x;y' WHERE k = 'k1';\r\nSELECT v FROM kv WHERE k = 'k1'; -- expect: x;y\r\nCOMMIT;\r\n",
    )
    .unwrap();
    let v = run_json(&["execute", "--yes", "--script", script.to_str().unwrap()], &db, 0);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(check(&v, "expectations")["status"], "PASS", "{v}");
    assert!(v["warnings"][0].as_str().unwrap().contains("replaced"), "{v}");

    let failing = dir.path().join("expect.sql");
    fs::write(&failing, "UPDATE kv SET v = 'z' WHERE k = 'k2';\nSELECT count(*) FROM kv;\n-- expect: 3\n").unwrap();
    let before = fs::read(&db).unwrap();
    let d = run_json(&["dry-run", "--script", failing.to_str().unwrap()], &db, 1);
    assert_eq!(d["ok"], false);
    let e = check(&d, "expectations");
    assert_eq!(e["status"], "FAIL");
    assert!(e["findings"][0]["detail"].as_str().unwrap().contains("expected 3, got 2"), "{e}");
    assert_eq!(fs::read(&db).unwrap(), before, "a dry run never changes the database");
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn execute_refuses_while_another_process_holds_the_database() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let db = hostile_db(dir.path(), journal);
        let holder = Holder::start(&db, Hold::Reading);
        let before = snapshot(dir.path());
        let v = run_json(&["execute", "--tenant", "acme", "--yes"], &db, 3);
        assert!(v["error"].as_str().unwrap().contains(&format!("pid {}", holder.pid())), "{v}");
        assert_eq!(snapshot(dir.path()), before, "{journal:?}: nothing changed");
        cutover().args(["rollback", "--yes"]).arg(&db).assert().code(2);
    }
}

#[test]
fn two_executes_in_a_row_keep_both_backups() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let first = run_json(&["execute", "--tenant", "acme", "--yes"], &db, 0);
    let second = run_json(&["execute", "--tenant", "acme", "--column", "org_id", "--yes"], &db, 0);
    let (a, b) = (first["backup"]["path"].as_str().unwrap(), second["backup"]["path"].as_str().unwrap());
    assert_ne!(a, b);
    assert!(Path::new(a).is_file() && Path::new(b).is_file());
    assert_ne!(fs::read(a).unwrap(), fs::read(b).unwrap(), "the second backup holds the first migration");
    // A third execute of the same change has nothing to do.
    let third = run_json(&["execute", "--tenant", "acme", "--yes"], &db, 0);
    assert_eq!(third["nothing_to_do"], true, "{third}");
}

#[test]
fn plan_prints_quoted_sql_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let before = snapshot(dir.path());
    let out = cutover().args(["plan", "--tenant", "it's"]).arg(&db).assert().success().get_output().stdout.clone();
    let sql = String::from_utf8(out).unwrap();
    assert!(
        sql.contains(r#"ALTER TABLE "we""ird" ADD COLUMN "tenant_id" VARCHAR(255) NOT NULL DEFAULT 'it''s';"#),
        "{sql}"
    );
    assert!(
        sql.contains(r#"CREATE INDEX "idx_semi;colon -- dash_tenant_id" ON "semi;colon -- dash"("tenant_id");"#),
        "{sql}"
    );
    assert!(sql.contains(r#"ALTER TABLE "strict_t" ADD COLUMN "tenant_id" TEXT NOT NULL"#), "{sql}");
    let statements: String = sql.lines().filter(|l| !l.starts_with("--")).collect();
    assert!(!statements.contains("has_col_noidx"), "its default differs from this tenant: left for review, {sql}");
    assert!(
        sql.lines()
            .any(|l| l.starts_with("-- NOTE:") && l.contains("has_col_noidx") && l.contains("review it by hand")),
        "the plan says which table is left for review: {sql}"
    );
    assert!(!sql.contains(r#"ALTER TABLE "tenants""#), "{sql}");
    assert_eq!(snapshot(dir.path()), before);
    // The printed plan is valid SQL that SQLite runs as is.
    let copy = dir.path().join("copy.db");
    fs::copy(&db, &copy).unwrap();
    Connection::open(&copy).unwrap().execute_batch(&sql).unwrap();
}

/// Executes the tenant plan on a small database, changes the result with `tamper`, and
/// returns `cutover verify`'s JSON, which must exit with `code`.
fn verify_after_with(tamper: &str, code: i32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "shop.db",
        Journal::Rollback,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO items (name) VALUES ('bolt'), ('nut'), ('washer');
         CREATE TABLE orders (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id));
         INSERT INTO orders (item_id) VALUES (1), (2);
         CREATE VIEW v_items AS SELECT name FROM items;",
    );
    run_json(&["execute", "--tenant", "acme", "--yes"], &db, 0);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(tamper).unwrap();
    drop(conn);
    let v = run_json(&["verify"], &db, code);
    assert_eq!(check(&v, "identical_outcome")["status"], "WARN", "a changed file no longer matches the rehearsal");
    v
}

/// A change after the execute that breaks the migration: verification fails.
fn verify_after(tamper: &str) -> Value {
    let v = verify_after_with(tamper, 1);
    assert_eq!(v["ok"], false);
    v
}

#[test]
fn verify_catches_a_null_in_the_column() {
    let v = verify_after(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = replace(sql, 'NOT NULL DEFAULT', 'DEFAULT') WHERE name = 'items';
         PRAGMA writable_schema = OFF;",
    );
    assert_eq!(check(&v, "column_definition")["status"], "FAIL", "{v}");
}

#[test]
fn verify_catches_nulls_and_a_changed_value_and_a_dropped_index() {
    let v = verify_after(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = replace(sql, 'NOT NULL DEFAULT', 'DEFAULT') WHERE name = 'items';
         PRAGMA writable_schema = RESET;
         UPDATE items SET tenant_id = NULL WHERE id = 1;",
    );
    assert_eq!(check(&v, "no_nulls")["status"], "FAIL", "{v}");
    assert_eq!(check(&v, "tenant_distribution")["status"], "FAIL", "{v}");

    // Values the shop changed after the execute are its work, not damage: said, not failed.
    let v = verify_after_with("UPDATE items SET name = 'screw' WHERE id = 2;", 0);
    assert_eq!(check(&v, "content_digest")["status"], "WARN", "{v}");
    assert!(check(&v, "content_digest")["findings"].to_string().contains("changed since the execute"), "{v}");
    assert_eq!(check(&v, "row_counts")["status"], "PASS", "{v}");
    assert!(v["summary"].as_str().unwrap().contains("items: 1 row changed"), "{v}");

    let v = verify_after_with("DELETE FROM items WHERE id = 3;", 0);
    assert_eq!(check(&v, "row_counts")["status"], "WARN", "{v}");
    assert!(v["summary"].as_str().unwrap().contains("items: 1 row removed"), "{v}");

    let v = verify_after("DROP INDEX idx_items_tenant_id;");
    assert_eq!(check(&v, "index_used")["status"], "FAIL", "{v}");
    assert_eq!(check(&v, "schema_diff")["status"], "FAIL", "{v}");

    let v = verify_after("CREATE VIEW extra AS SELECT 1;");
    assert_eq!(check(&v, "schema_diff")["status"], "FAIL", "{v}");

    let v = verify_after(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = 'CREATE VIEW v_items AS SELECT nope FROM items' WHERE name = 'v_items';
         PRAGMA writable_schema = RESET;",
    );
    assert_eq!(check(&v, "views_compile")["status"], "FAIL", "{v}");

    let v = verify_after("PRAGMA foreign_keys = OFF; INSERT INTO orders (item_id) VALUES (99);");
    assert_eq!(check(&v, "foreign_keys")["status"], "FAIL", "{v}");

    let v = verify_after(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = replace(sql, '(\"tenant_id\")', '(\"name\")') WHERE name = 'idx_items_tenant_id';
         PRAGMA writable_schema = RESET;",
    );
    assert_eq!(check(&v, "integrity_check")["status"], "FAIL", "{v}");

    let v = verify_after(
        "PRAGMA foreign_keys = OFF; DROP VIEW v_items;
         CREATE TABLE items2 AS SELECT id, name FROM items; DROP TABLE items; ALTER TABLE items2 RENAME TO items;
         CREATE VIEW v_items AS SELECT name FROM items;",
    );
    assert_eq!(check(&v, "column_present")["status"], "FAIL", "{v}");
}

#[test]
fn execute_needs_a_dry_run_of_the_same_plan() {
    use cutover::engine::apply::Cancel;
    use cutover::engine::backup::{self, BackupOptions};
    use cutover::engine::backup_ref::BackupRef;
    use cutover::engine::execute::{self, Rehearsal};
    use cutover::engine::plan::Plan;

    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let made = backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap();
    let backup = BackupRef { path: made.path, sha256: made.sha256.clone() };
    let script = dir.path().join("s.sql");
    fs::write(&script, "UPDATE kv SET v = 'q' WHERE k = 'k1';").unwrap();
    let plan = Plan::from_script(&script).unwrap();
    let rehearsal = Rehearsal {
        plan_sha256: "another plan".into(),
        source_sha256: made.sha256,
        result_sha256: String::new(),
        before: cutover::engine::verify::snapshot::capture(&db, 1, &[], &mut |_| {}).unwrap(),
        warned: Vec::new(),
    };
    let before = fs::read(&db).unwrap();
    let err =
        execute::run(&db, &plan, &backup, &rehearsal, Default::default(), &Cancel::new(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("no passed dry run"), "{err}");
    assert_eq!(fs::read(&db).unwrap(), before);
}
