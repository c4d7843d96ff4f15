//! What a refused, undone or cut-off run leaves on the disk and says afterwards: no copy of the
//! shop's data left behind by a refused rollback, no run called "running or cut off" that was
//! undone, and an execute cut off during its COMMIT told by what the file holds.
// These need Linux: another user, strace, Python as the shop's application.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::shop::{EXECUTE, count, cutover, has_column, json, root_or_skip, strace_or_skip, text};
use crate::common::{Journal, make_db, state};

/// The files beside the database, by name.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> =
        fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    n.sort();
    n
}

/// A program of the shop that has the database open, until killed (it reads nothing: the
/// rollback holds the file's lock meanwhile).
const HOLD: &str =
    "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1])\nprint('ready', flush=True)\ntime.sleep(60)\n";

/// `rollback --json` with every rename held back 3 s, and a program of the shop that opens
/// the old file during the first one, so the rollback undoes itself: both running.
fn rollback_a_program_undoes(db: &Path) -> (std::process::Child, std::process::Child) {
    let rollback = crate::common::shop::rollback_with_slow_renames(db, &["--json"]);
    std::thread::sleep(Duration::from_millis(1500));
    (rollback, crate::common::python_until(HOLD, db, "ready"))
}

/// A shop whose file has free pages, which a plan's new pages reuse without SQLite journalling
/// them: after a rolled-back commit its bytes differ from the backup there.
fn with_free_pages(dir: &Path) -> std::path::PathBuf {
    make_db(
        dir,
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT, price INTEGER);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
         INSERT INTO items (sku, name, price) SELECT 'S' || i, hex(randomblob(200)), 100 FROM n;
         CREATE TABLE scratch (x BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
         INSERT INTO scratch SELECT randomblob(3000) FROM n;
         DROP TABLE scratch;",
    )
}

/// The tenant execute killed at its commit's flush of the database file: its pages are
/// written, its hot journal is still there.
fn killed_at_the_commit(db: &Path) {
    let out = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-P"])
        .arg(db)
        .args(["--trace=fsync,fdatasync", "--inject=fsync,fdatasync:signal=SIGKILL:when=1"])
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(EXECUTE)
        .arg(db)
        .output()
        .unwrap();
    assert!(!out.status.success(), "killed: {}", text(&out));
}

#[test]
fn refused_rollbacks_of_a_read_only_database_leave_no_copy_behind() {
    if !root_or_skip("the read-only rollback test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let db = crate::common::shop::small_shop(dir.path(), Journal::Rollback);
    fs::set_permissions(&db, fs::Permissions::from_mode(0o666)).unwrap();
    let original = fs::read(&db).unwrap();
    // The technician is an ordinary user; the database is made read-only after the cutover.
    let as_user = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--confirm-stopped");
        crate::common::shop::cutover_as(4243, &args, &db)
    };
    let out = as_user(&EXECUTE);
    assert!(out.status.success(), "{}", text(&out));
    fs::set_permissions(&db, fs::Permissions::from_mode(0o444)).unwrap();
    let before = names(dir.path());
    let journal = fs::read(dir.path().join("pos.db.cutover/journal.jsonl")).unwrap();
    for _ in 0..3 {
        let out = as_user(&["rollback", "--yes"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("read-only") && said.contains("chmod u+w"), "{said}");
        assert_eq!(names(dir.path()), before, "a refused rollback left a file behind");
    }
    assert_eq!(fs::read(dir.path().join("pos.db.cutover/journal.jsonl")).unwrap(), journal, "nothing recorded");
    // Writable again: the rollback goes through and leaves no copy either.
    fs::set_permissions(&db, fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_user(&["rollback", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
    let partials: Vec<String> = names(dir.path()).into_iter().filter(|n| n.ends_with(".partial")).collect();
    assert!(partials.is_empty(), "{partials:?}");
}

#[test]
fn a_rollback_undone_by_a_program_opening_the_file_is_recorded_as_undone() {
    if !strace_or_skip("the undone rollback test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::common::shop::executed(dir.path(), Journal::Rollback);
    let migrated = fs::read(&db).unwrap();
    // Every rename of the rollback is held back 3 s; meanwhile the application opens the file.
    let (rollback, mut app) = rollback_a_program_undoes(&db);
    let out = rollback.wait_with_output().unwrap();
    let _ = app.kill();
    app.wait().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(json(&out)["refusal"], "opened_during_rollback", "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), migrated, "nothing changed");
    let second: Vec<String> = names(dir.path()).into_iter().filter(|n| n.starts_with("pos.db.migrated-")).collect();
    assert!(second.is_empty(), "the second name went with the undo: {second:?}");
    // status names what happened, never "running now, or cut off".
    let out = cutover(&["status", "--json"], &db);
    let v = json(&out);
    assert_eq!(v["state"], "migrated_and_verified", "{v}");
    assert!(v["note"].as_str().unwrap_or("").contains("was undone and changed nothing"), "{v}");
    assert!(v["attention"].is_null(), "{v}");
    // The next rollback goes through.
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn an_execute_cut_off_during_its_commit_is_told_not_committed_by_its_rows() {
    if !strace_or_skip("the cut-off commit test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = with_free_pages(dir.path());
    let rows = state::content(&db, &state::plain_tables(&db));
    killed_at_the_commit(&db);
    assert!(crate::common::shop::has_hot_journal(&db), "a hot journal is left");
    let journal = fs::read_to_string(dir.path().join("pos.db.cutover/journal.jsonl")).unwrap();
    assert!(journal.lines().last().unwrap().contains("execute_committing"), "{journal}");

    let out = cutover(&["verify", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["refusal"], "interrupted_did_not_commit", "{v}");
    let said = v["error"].as_str().unwrap();
    assert!(said.contains("did not commit") && said.contains("checked table by table"), "{said}");
    assert!(!said.contains("written to since"), "nothing wrote to it: {said}");
    // What it says is what the file holds.
    assert!(!has_column(&db, "items", "tenant_id"));
    assert_eq!(state::content(&db, &state::plain_tables(&db)), rows);
    assert_eq!(state::integrity(&db), "ok");
    assert_eq!(count(&db, "items"), 400);
    // The execute runs again from there.
    let out = cutover(&EXECUTE, &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(has_column(&db, "items", "tenant_id"));
}

#[test]
fn a_sale_in_the_instant_a_rollback_undoes_itself_is_refused_never_lost() {
    if !strace_or_skip("the undo-window test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::common::shop::executed(dir.path(), Journal::Rollback);
    let migrated = fs::read(&db).unwrap();
    let (rollback, mut app) = rollback_a_program_undoes(&db);
    // While the name is on the restored copy (the swap back is held back too), a till sells.
    let original = state::identity(&db);
    let started = std::time::Instant::now();
    while state::identity(&db) == original && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let till = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=10)\ntry:\n    c.execute(\"INSERT INTO items (sku, name) VALUES ('T1', 'sold in the instant')\")\n    c.commit()\n    print('committed')\nexcept sqlite3.Error as e:\n    print('refused:', e)\n")
        .arg(&db)
        .output()
        .unwrap();
    let out = rollback.wait_with_output().unwrap();
    let _ = app.kill();
    app.wait().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let said = String::from_utf8_lossy(&till.stdout).to_string();
    let kept: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM items WHERE sku = 'T1'", [], |r| r.get(0))
        .unwrap();
    // Either the sale is in the database, or the till was told it was not written.
    assert!(kept == 1 || said.contains("refused"), "the till was told {said:?} and the sale is not in the database");
    if kept == 0 {
        assert_eq!(fs::read(&db).unwrap(), migrated, "nothing else changed");
    }
}

#[test]
fn a_commit_cut_off_on_top_of_an_earlier_execute_leaves_that_one_proven_in_place() {
    if !strace_or_skip("the cut-off commit on top test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = with_free_pages(dir.path());
    let script = dir.path().join("raise.sql");
    fs::write(&script, "UPDATE items SET price = price + 10 WHERE price > 0;\n").unwrap();
    let out = cutover(&["execute", "--script", script.to_str().unwrap(), "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    killed_at_the_commit(&db);
    // The tenant execute did not commit; the script's change is proven still in the file.
    let out = cutover(&["verify", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("other means"), "{}", text(&out));
    let v = json(&cutover(&["status", "--json"], &db));
    assert_eq!(v["state"], "changed_since_execute", "{v}");
    assert_eq!(v["changed_since_by"], "cutover", "{v}");
    // Run again, the script is refused as in the file, never "cannot be told".
    let out = cutover(&["execute", "--script", script.to_str().unwrap(), "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!json(&out)["error"].as_str().unwrap().contains("cannot be told"), "{}", text(&out));
    let price: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT price FROM items WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(price, 110, "applied once");
}

#[test]
fn status_never_calls_a_write_in_progress_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::common::shop::executed(dir.path(), Journal::Rollback);
    // A till in the middle of a big write: its journal beside the file, its lock held.
    let mut till = crate::common::python_until(
        "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('PRAGMA cache_size = 1')\nc.execute('BEGIN IMMEDIATE')\nc.execute(\"INSERT INTO customers (name) SELECT hex(randomblob(400)) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) SELECT i FROM n)\")\nprint('ready', flush=True)\ntime.sleep(60)\n",
        &db,
        "ready",
    );
    let v = json(&cutover(&["status", "--json"], &db));
    let _ = till.kill();
    till.wait().unwrap();
    assert_eq!(v["current_sha256_covers"], "file_mid_write", "{v}");
    assert!(v["attention"].as_str().unwrap().contains("in progress"), "{v}");
    assert!(!v["attention"].as_str().unwrap().contains("cut off"), "{v}");
}

#[test]
fn a_rollback_cannot_be_accepted_where_it_could_not_put_the_backup_in_place() {
    if !root_or_skip("the sticky-folder test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let db = crate::common::shop::small_shop(dir.path(), Journal::Rollback);
    fs::set_permissions(&db, fs::Permissions::from_mode(0o666)).unwrap();
    // The shop's user owns the database; the technician is another ordinary user.
    std::os::unix::fs::chown(&db, Some(4242), Some(4242)).unwrap();
    let before = names(dir.path());
    let out =
        crate::common::shop::cutover_as(4243, &["execute", "--tenant", "acme", "--yes", "--confirm-stopped"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sticky bit"), "{}", text(&out));
    assert_eq!(names(dir.path()), before, "refused before anything was written");
}
