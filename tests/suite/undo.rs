//! Undo in place (`cutover rollback --undo --yes`): the tenant plan's inverse through the whole
//! pipeline keeps what the shop wrote after the cutover, gives back the original schema object
//! for object, and can itself be rolled back to the exact bytes before it.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;

use crate::common::shop::{EXECUTE, cutover, json, small_shop, text};
use crate::common::state::{content, integrity, plain_tables, schema, sha};
use crate::common::{Journal, hostile_db, snapshot};

const UNDO: [&str; 3] = ["rollback", "--undo", "--yes"];

/// The shop's application writes and closes cleanly (a connection of its own; Python is not
/// there under Wine).
fn app_writes(db: &Path, sql: &str) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(&format!("BEGIN; {sql}; COMMIT;")).unwrap();
}

fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

fn checks(v: &serde_json::Value) -> BTreeMap<String, String> {
    v["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks: {v}"))
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn undo_keeps_the_sale_written_after_the_cutover_and_gives_back_the_original_schema() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let db = small_shop(dir.path(), journal);
        let original_schema = schema(&db);
        let original_columns = plain_tables(&db);
        let out = cutover(&EXECUTE, &db);
        assert!(out.status.success(), "{}", text(&out));
        // The shop trades after the cutover: a new item and a changed customer, the new rows
        // getting the tenant from the column's default.
        app_writes(
            &db,
            "INSERT INTO items (sku, name) VALUES ('D4', 'spring'); UPDATE customers SET name = 'Bobby' WHERE id = 2",
        );
        let expected = content(&db, &original_columns);
        let before_undo = sha(&db);

        let out = cutover(&[&UNDO[..], &["--json"]].concat(), &db);
        assert_eq!(out.status.code(), Some(0), "{journal:?}: {}", text(&out));
        let v = json(&out);
        assert_eq!(v["phase"], "undo", "{v}");
        assert_eq!(v["ok"], true, "{v}");
        let c = checks(&v);
        assert_eq!(c["identical_outcome"], "PASS", "{v}");
        assert_eq!(c["column_removed"], "PASS", "{v}");
        assert_eq!(c["expectations"], "PASS", "{v}");

        assert_eq!(
            schema(&db),
            original_schema,
            "{journal:?}: every table, index, view and trigger as before the cutover"
        );
        assert_eq!(plain_tables(&db), original_columns, "{journal:?}: column for column");
        assert_eq!(content(&db, &original_columns), expected, "{journal:?}: every value, the new ones too");
        assert_eq!(rows(&db, "SELECT sku FROM items ORDER BY id"), ["A1", "B2", "C3", "D4"]);
        assert_eq!(integrity(&db), "ok");

        // The undo is an execute like any other: its own backup, and a rollback of it puts the
        // bytes from before it back.
        let out = cutover(&["rollback", "--yes", "--json"], &db);
        assert_eq!(out.status.code(), Some(0), "{journal:?}: {}", text(&out));
        assert_eq!(sha(&db), before_undo, "{journal:?}: rolling back the undo restores the exact pre-undo bytes");
        // That puts the cutover back in the database, with the shop's new work. Asked again
        // right away, a rollback only says it is done; forced, a restore of the first backup
        // refuses to discard the shop's work, and the undo is offered again.
        let out = cutover(&["rollback", "--yes", "--json"], &db);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(sha(&db), before_undo);
        let out = cutover(&["rollback", "--force", "--yes", "--json"], &db);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert_eq!(json(&out)["refusal"], "would_discard", "{}", text(&out));
        let out = cutover(&UNDO, &db);
        assert_eq!(out.status.code(), Some(0), "{journal:?}: {}", text(&out));
        assert_eq!(schema(&db), original_schema);
    }
}

#[test]
fn undo_on_hostile_schemas_restores_every_create_statement_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let original_schema = schema(&db);
    let original_columns = plain_tables(&db);
    let original = content(&db, &original_columns);
    let out = cutover(&EXECUTE, &db);
    assert!(out.status.success(), "{}", text(&out));
    let out = cutover(&UNDO, &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(schema(&db), original_schema, "quoted, unicode, STRICT, WITHOUT ROWID and generated columns");
    assert_eq!(content(&db, &original_columns), original);
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn a_script_has_no_inverse_and_only_the_restore_is_offered() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    let script = dir.path().join("change.sql");
    std::fs::write(&script, "UPDATE items SET name = 'hex bolt' WHERE sku = 'A1';").unwrap();
    let out = cutover(&["execute", "--yes", "--script", script.to_str().unwrap()], &db);
    assert!(out.status.success(), "{}", text(&out));
    let before = snapshot(dir.path());
    let out = cutover(&[&UNDO[..], &["--json"]].concat(), &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "no_undo", "{v}");
    assert!(v["error"].as_str().unwrap().contains("a script has no inverse"), "{v}");
    assert!(v["error"].as_str().unwrap().contains("restoring the backup is the only way back"), "{v}");
    assert_eq!(snapshot(dir.path()), before, "nothing written");
}

#[test]
fn undo_refuses_when_a_row_belongs_to_another_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    assert!(cutover(&EXECUTE, &db).status.success());
    // The application has started writing a second shop's rows: dropping the column would
    // lose which shop they belong to.
    app_writes(&db, "INSERT INTO items (sku, name, tenant_id) VALUES ('Z9', 'other shop', 'beta')");
    let before = snapshot(dir.path());
    let out = cutover(&[&UNDO[..], &["--json"]].concat(), &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "undo_loses_tenants", "{v}");
    assert!(v["error"].as_str().unwrap().contains("holds a tenant other than 'acme' for 1 row of items"), "{v}");
    assert_eq!(snapshot(dir.path()), before, "nothing written, not even a backup");
}

#[test]
fn a_view_on_the_tenant_column_stops_the_undo_at_its_rehearsal() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    assert!(cutover(&EXECUTE, &db).status.success());
    // The new application version already reads the column.
    app_writes(&db, "CREATE VIEW items_by_tenant AS SELECT tenant_id, count(*) AS n FROM items GROUP BY tenant_id");
    let before = sha(&db);
    let out = cutover(&UNDO, &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("DROP COLUMN") && all.contains("items_by_tenant"),
        "SQLite's reason, with the statement: {all}"
    );
    assert!(all.contains("nothing changed"), "{all}");
    assert_eq!(sha(&db), before, "production untouched");
}

#[test]
fn rolling_back_a_later_script_puts_the_cutover_back_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    let original_schema = schema(&db);
    assert!(cutover(&EXECUTE, &db).status.success());
    let migrated = sha(&db);
    let script = dir.path().join("extra.sql");
    std::fs::write(&script, "CREATE TABLE extra (x);").unwrap();
    assert!(cutover(&["execute", "--yes", "--script", script.to_str().unwrap()], &db).status.success());
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha(&db), migrated, "the script's backup is the migrated file");
    assert!(
        text(&out).contains("is in") && text(&out).contains("again"),
        "it says the cutover is in force: {}",
        text(&out)
    );
    // Asked again right away, the rollback only says it is done: it never goes a step further.
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success() && text(&out).contains("already equals the backup"), "{}", text(&out));
    assert_eq!(sha(&db), migrated);
    // The cutover is what verify checks and what the undo takes out.
    let out = cutover(&["verify", "--json"], &db);
    assert_eq!(json(&out)["ok"], true, "{}", text(&out));
    let out = cutover(&UNDO, &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(schema(&db), original_schema);
}

#[test]
fn an_undo_cut_off_before_its_commit_leaves_the_cutover_in_force_and_verify_says_so() {
    use cutover::engine::journal::{self, Event};
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    assert!(cutover(&EXECUTE, &db).status.success());
    // The undo's rehearsal passed and it started on production, then was killed before its
    // commit: SQLite rolled it back, and the shop wrote a sale afterwards.
    assert!(cutover(&["backup"], &db).status.success());
    let standing = journal::standing(&journal::read(&db).unwrap());
    let backup = standing.backup.clone().unwrap();
    journal::append(
        &db,
        Event::ExecuteStarted {
            plan_sha256: "an undo that never committed".into(),
            backup_path: backup.path,
            backup_sha256: backup.sha256,
            marks_commit: true,
            fingerprint: None,
            again: false,
        },
    )
    .unwrap();
    app_writes(&db, "INSERT INTO items (sku, name) VALUES ('K1', 'sold after the crash')");
    let out = cutover(&["verify", "--json"], &db);
    assert_eq!(out.status.code(), Some(0), "the cutover beneath is what is verified: {}", text(&out));
    let v = json(&out);
    assert!(v["summary"].as_str().unwrap().contains("the migration itself is in place"), "{v}");
}

#[test]
fn forcing_a_restore_of_a_later_backup_puts_its_execute_back_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    let original = sha(&db);
    assert!(cutover(&EXECUTE, &db).status.success());
    let migrated = sha(&db);
    assert!(cutover(&UNDO, &db).status.success());
    assert!(cutover(&["rollback", "--yes"], &db).status.success(), "back to the migration");
    assert!(cutover(&["rollback", "--force", "--yes"], &db).status.success(), "back to the original");
    assert_eq!(sha(&db), original);
    // Forced again, the newest backup is the undo's: the migrated file. Once it is back, the
    // migration is in force again, and every command says so.
    let out = cutover(&["rollback", "--force", "--discard-changes", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha(&db), migrated);
    let out = cutover(&["verify", "--json"], &db);
    assert_eq!(json(&out)["ok"], true, "{}", text(&out));
    let out = cutover(&UNDO, &db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_file_put_back_by_hand_is_not_taken_for_rows_of_another_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let original = std::fs::read(&db).unwrap();
    assert!(cutover(&EXECUTE, &db).status.success());
    // Someone copied the backup back by hand: no table has the column any more.
    std::fs::write(&db, &original).unwrap();
    let out = cutover(&[&UNDO[..], &["--json"]].concat(), &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "no_undo", "{v}");
    let error = v["error"].as_str().unwrap();
    assert!(error.contains("is no longer on") && !error.contains("tenant other than"), "{v}");
    assert_eq!(std::fs::read(&db).unwrap(), original);
}
