//! Verify and execute never claim what is not so: a damaged WAL is not "verified", a write that
//! slips in before the lock is not "unchanged", an error after the commit does not read as
//! "nothing changed", and a process cutover cannot see into is never reported as "not in use".
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::shop::{
    app_writes_then_crashes, count, cutover, has_column, json, root_or_skip, small_shop, strace_or_skip, text,
};
use crate::common::{Journal, snapshot, state};

const EXECUTE: [&str; 4] = ["execute", "--tenant", "acme", "--yes"];

#[test]
fn verify_reads_what_the_wal_holds_before_it_says_match() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    assert!(cutover(&EXECUTE, &db).status.success());
    // The application damages the migration; it all stays in the -wal.
    app_writes_then_crashes(
        &db,
        "DROP INDEX idx_items_tenant_id; UPDATE items SET tenant_id = 'other'; DELETE FROM customers",
    );
    let out = cutover(&["verify", "--json"], &db);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(v["ok"], false, "{v}");
    assert_ne!(v["identical"], true, "the -wal is part of the database: {v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(!summary.contains(" verified"), "{summary}");
    let status =
        |name: &str| v["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).map(|c| c["status"].clone());
    assert_eq!(status("index_used"), Some("FAIL".into()), "{v}");
    assert_eq!(status("tenant_distribution"), Some("FAIL".into()), "{v}");
    assert!(summary.contains("customers: 2 rows removed"), "{summary}");
}

#[test]
fn the_wizard_verify_reads_the_wal_too() {
    use cutover::engine::apply::Cancel;
    use cutover::tui::worker::{Job, Outcome, run_now};

    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    assert!(cutover(&EXECUTE, &db).status.success());
    app_writes_then_crashes(&db, "DROP INDEX idx_items_tenant_id");
    match run_now(Job::Verify { db: db.clone() }, &Cancel::new(), &mut |_| {}) {
        Ok(Outcome::Verify(v)) => {
            let v = &v.report.verification;
            assert!(!v.ok, "a dropped index in the -wal must fail verification: {:?}", v.checks);
        }
        other => panic!("unexpected: {other:?}"),
    }
}

#[test]
fn execute_refuses_a_write_that_lands_between_its_checkpoint_and_its_lock() {
    if !strace_or_skip("the execute race test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    // An earlier migration (another column) is in place; the refused one must not hide it.
    let first = cutover(&["execute", "--tenant", "acme", "--column", "org_id", "--yes"], &db);
    assert!(first.status.success(), "{}", text(&first));
    // Each journal record is held 2 s after it is written, before its fsync returns. The
    // record that production's transaction is starting comes right after its checkpoint and
    // just before its lock: the application sells something in that window.
    let journal = dir.path().join("pos.db.cutover/journal.jsonl");
    let execute = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-P"])
        .arg(&journal)
        .args(["--trace=fsync", "--inject=fsync:delay_exit=2000000"])
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(EXECUTE)
        .arg("--json")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let started_before = fs::read_to_string(&journal).unwrap_or_default().matches("\"execute_started\"").count();
    while fs::read_to_string(&journal).unwrap_or_default().matches("\"execute_started\"").count() == started_before {
        assert!(std::time::Instant::now() < deadline, "execute never reached production");
        std::thread::sleep(Duration::from_millis(10));
    }
    let writer = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)\n\
             c.execute(\"INSERT INTO items (sku, name) VALUES ('LATE', 'sale after the backup')\")\nc.close()\n",
        )
        .arg(&db)
        .output()
        .unwrap();
    assert!(writer.status.success(), "{}", text(&writer));
    let out = execute.wait_with_output().unwrap();
    state::report(&format!("execute race: exit {:?}", out.status.code()));
    assert_eq!(count(&db, "items"), 4, "the sale is in the database");
    if out.status.success() {
        // Only acceptable if the sale landed before the backup, so the backup holds it, or after
        // the commit: the run holds the database from its backup to the end of the execute, so
        // the application waits. Then the result is the rehearsal's (made from the backup), and
        // verify finds the sale as a change made since the execute.
        let v = json(&out);
        let backup = v["backup"]["path"].as_str().unwrap();
        if count(Path::new(backup), "items") != 4 {
            assert_eq!(v["identical"], true, "execute ran on data its backup does not hold: {}", text(&out));
            let again = cutover(&["verify"], &db);
            assert!(text(&again).contains("items: 1 row added"), "the sale is not after the execute: {}", text(&again));
        }
    } else {
        assert!(!has_column(&db, "items", "tenant_id"), "{}", text(&out));
        let said = text(&out);
        assert!(said.contains("changed since the backup"), "{said}");
        // The first migration is still on record: verify finds it, with the sale as a change.
        let again = cutover(&["verify"], &db);
        assert!(again.status.success(), "{}", text(&again));
        assert!(text(&again).contains("items: 1 row added"), "{}", text(&again));
    }
}

#[test]
fn an_error_after_the_commit_says_the_change_is_committed() {
    if !strace_or_skip("the after-commit error test") {
        return;
    }
    // Journal writes: backup, dry run, execute started, execute committing (the 4th: the COMMIT
    // must then not happen), execute committed (the 5th: the change IS in).
    for (nth, committed) in [(4, false), (5, true)] {
        let dir = tempfile::tempdir().unwrap();
        let db = small_shop(dir.path(), Journal::Rollback);
        let journal = dir.path().join("pos.db.cutover/journal.jsonl");
        let out = Command::new("strace")
            .args(["-f", "-qq", "-o", "/dev/null", "-P"])
            .arg(&journal)
            .arg("--trace=write")
            .arg(format!("--inject=write:error=ENOSPC:when={nth}"))
            .arg(env!("CARGO_BIN_EXE_cutover"))
            .args(EXECUTE)
            .arg("--json")
            .arg(&db)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert_eq!(has_column(&db, "items", "tenant_id"), committed, "write {nth}: {}", text(&out));
        let v = json(&out);
        let error = v["error"].as_str().unwrap();
        if committed {
            assert_eq!(v["committed"], true, "{v}");
            assert!(error.contains("committed") && error.contains("cutover verify"), "{error}");
            assert!(!error.contains("nothing changed"), "{error}");
            let again = cutover(&["verify"], &db);
            assert!(again.status.success(), "{}", text(&again));
        } else {
            assert_ne!(v["committed"], true, "{v}");
            assert!(error.contains("nothing changed"), "{error}");
        }
    }
}

/// A process of another user holding the database idle (rollback-journal mode holds no lock).
struct OtherUsersApp(std::process::Child);

impl Drop for OtherUsersApp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_process_cutover_cannot_inspect_is_never_reported_as_not_in_use() {
    if !root_or_skip("the other-user test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    fs::set_permissions(&db, fs::Permissions::from_mode(0o666)).unwrap();
    // A Python another user may run (a per-user install under /root is not one).
    let Some(python) = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new("setpriv")
            .args(["--reuid=4242", "--regid=4242", "--clear-groups", p, "-c", "import sqlite3"])
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        state::report("the other-user test SKIPPED: no python3 that another user may run (apt-get install python3)");
        return;
    };
    let mut app = Command::new("setpriv")
        .args(["--reuid=4242", "--regid=4242", "--clear-groups", python, "-c"])
        .arg("import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute('SELECT count(*) FROM items').fetchall()\nprint('ready', flush=True)\nsys.stdin.read()\n")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(app.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let app = OtherUsersApp(app);
    let pid = app.0.id();
    let before = snapshot(dir.path());
    let as_technician = |args: &[&str]| crate::common::shop::cutover_as(4243, args, &db);
    for args in [vec!["backup"], EXECUTE.to_vec()] {
        let out = as_technician(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("cannot see") && said.contains(&format!("pid {pid}")), "{args:?}: {said}");
        assert!(said.contains("--confirm-stopped"), "{said}");
        assert_eq!(snapshot(dir.path()), before, "{args:?}: nothing changed");
    }
    // The audit, which writes nothing, says it too.
    let out = as_technician(&["audit"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("pid {pid}")), "{}", text(&out));
    // The technician confirms the application is stopped: the backup runs.
    let out = as_technician(&["backup", "--confirm-stopped"]);
    assert!(out.status.success(), "{}", text(&out));
    drop(app);
}

#[test]
fn a_trigger_the_change_would_break_keeps_execute_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::make_db(
        dir.path(),
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE sales (id INTEGER PRIMARY KEY, qty INT);
         CREATE TABLE sales_log (sale_id INT, qty INT);
         CREATE TRIGGER log_sale AFTER INSERT ON sales BEGIN INSERT INTO sales_log VALUES (NEW.id, NEW.qty); END;
         INSERT INTO sales (qty) VALUES (1);",
    );
    let original = fs::read(&db).unwrap();
    let out = cutover(&["execute", "--tenant", "acme", "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    let trig = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "triggers_compile").unwrap();
    assert_eq!(trig["status"], "FAIL", "{v}");
    assert!(trig["findings"].to_string().contains("2 values were supplied"), "{v}");
    assert_eq!(fs::read(&db).unwrap(), original, "the database was not changed");
}

#[test]
fn a_failure_to_print_after_the_commit_says_the_change_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(EXECUTE)
        .arg(&db)
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("IS committed") && said.contains("cutover verify"), "{said}");
    assert!(has_column(&db, "items", "tenant_id"));
}

#[test]
fn an_execute_cut_off_before_its_commit_is_told_as_unchanged_even_after_a_sale() {
    use cutover::engine::journal::{self, Event};
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    assert!(cutover(&["dry-run", "--tenant", "acme"], &db).status.success());
    // Killed after it journalled its start, before its commit: SQLite rolls that back.
    let standing = journal::standing(&journal::read(&db).unwrap());
    let cutover::engine::backup_ref::BackupRef { path: backup, sha256: sha } = standing.backup.clone().unwrap();
    let plan = standing.dry_runs.last().unwrap().plan.sha256.clone();
    journal::append(
        &db,
        Event::ExecuteStarted {
            plan_sha256: plan,
            backup_path: backup,
            backup_sha256: sha,
            marks_commit: true,
            fingerprint: None,
            again: false,
        },
    )
    .unwrap();
    crate::common::shop::app_writes(&db, "INSERT INTO items (sku, name) VALUES ('K1', 'sold after the crash')");
    let out = cutover(&["verify"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("interrupted before its commit") && !said.contains("no longer holds"), "{said}");
    let out = cutover(&["rollback", "--yes"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("changed nothing"), "{}", text(&out));
    assert_eq!(count(&db, "items"), 4);
}

/// A data-only script (no schema change to tell a commit by) rehearsed, then its execute
/// journalled as started — the state a kill -9 leaves — with `committing` when it got as far
/// as its COMMIT; then the shop sells something.
fn data_only_execute_cut_off(dir: &Path, committing: bool) -> std::path::PathBuf {
    cut_off(dir, "UPDATE items SET name = upper(name) WHERE id > 0;\n", committing, false)
}

/// Like [`data_only_execute_cut_off`] for any script; with `committed`, the COMMIT went through
/// before the kill (the script's change is in the file, the journal never heard of it).
fn cut_off(dir: &Path, sql: &str, committing: bool, committed: bool) -> std::path::PathBuf {
    use cutover::engine::journal::{self, Event};
    let db = small_shop(dir, Journal::Wal);
    let script = dir.join("prices.sql");
    fs::write(&script, sql).unwrap();
    let out = cutover(&["dry-run", "--script", script.to_str().unwrap()], &db);
    assert!(out.status.success(), "{}", text(&out));
    let standing = journal::standing(&journal::read(&db).unwrap());
    let cutover::engine::backup_ref::BackupRef { path: backup, sha256: sha } = standing.backup.clone().unwrap();
    let plan = standing.dry_runs.last().unwrap().plan.sha256.clone();
    journal::append(
        &db,
        Event::ExecuteStarted {
            plan_sha256: plan.clone(),
            backup_path: backup,
            backup_sha256: sha,
            marks_commit: true,
            fingerprint: None,
            again: false,
        },
    )
    .unwrap();
    if committing {
        journal::append(&db, Event::ExecuteCommitting { plan_sha256: plan }).unwrap();
    }
    if committed {
        rusqlite::Connection::open(&db).unwrap().execute_batch(&format!("BEGIN; {sql} COMMIT;")).unwrap();
    }
    crate::common::shop::app_writes(&db, "INSERT INTO items (sku, name) VALUES ('K1', 'sold after the crash')");
    db
}

#[test]
fn a_data_only_execute_cut_off_before_its_commit_is_never_called_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = data_only_execute_cut_off(dir.path(), false);
    let out = cutover(&["verify"], &db);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("interrupted before its commit") && said.contains("not in place"), "{said}");
    assert!(!said.contains("is in place") && !said.contains("verified:"), "{said}");
    // The journal now says it was rolled back: nothing is taken for the shop's work.
    let standing = cutover::engine::journal::standing(&cutover::engine::journal::read(&db).unwrap());
    assert!(standing.execute.is_some_and(|x| x.rolled_back && !x.committed));
}

#[test]
fn an_execute_cut_off_during_its_commit_is_said_to_be_unknown_never_verified() {
    let dir = tempfile::tempdir().unwrap();
    let db = data_only_execute_cut_off(dir.path(), true);
    let out = cutover(&["verify"], &db);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot tell whether the last execute"), "{said}");
    assert!(!said.contains("is in place") && !said.contains("verified:"), "{said}");
    let journal = fs::read_to_string(dir.path().join("pos.db.cutover").join("journal.jsonl")).unwrap_or_default();
    assert!(!journal.contains("\"verified\""), "recorded as verified:\n{journal}");
}

#[test]
fn a_script_cannot_give_up_the_lock_or_the_journal_however_it_is_spelled() {
    for pragma in [
        "PRAGMA locking_mode = NORMAL;",
        "PRAGMA \"locking_mode\" = NORMAL;",
        "PRAGMA \"journal_mode\" = OFF;",
        "PRAGMA [journal_mode] = MEMORY;",
        "PRAGMA main.'journal_mode' = DELETE;",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = small_shop(dir.path(), Journal::Rollback);
        let script = dir.path().join("s.sql");
        fs::write(&script, format!("{pragma}\nUPDATE items SET name = upper(name) WHERE id > 0;\n")).unwrap();
        let before = snapshot(dir.path());
        for args in [vec!["plan", "--script"], vec!["execute", "--yes", "--script"]] {
            let mut args = args.clone();
            args.push(script.to_str().unwrap());
            let out = cutover(&args, &db);
            let said = text(&out);
            assert_eq!(out.status.code(), Some(2), "{pragma} {args:?}: {said}");
            assert!(
                said.contains("line 1") && said.contains("refused: a migration must not change the"),
                "{pragma}: {said}"
            );
        }
        assert_eq!(snapshot(dir.path()), before, "{pragma}: something changed on disk");
    }
}

#[test]
fn a_commit_that_left_the_schema_as_it_was_is_never_taken_for_a_rollback() {
    // A scratch TEMP table and a DROP … IF EXISTS of nothing start like schema changes, yet
    // leave the schema as it was: the schema cannot tell whether the commit happened.
    let sql = "CREATE TEMP TABLE bump AS SELECT id FROM items;\nDROP TABLE IF EXISTS old_scratch;\nUPDATE items SET name = name || '!' WHERE id IN (SELECT id FROM bump);\n";
    let dir = tempfile::tempdir().unwrap();
    let db = cut_off(dir.path(), sql, true, true);
    let bangs = |db: &Path| {
        let conn = rusqlite::Connection::open(db).unwrap();
        let n = |pattern: &str| {
            conn.query_row("SELECT count(*) FROM items WHERE name LIKE ?1", [pattern], |r| r.get::<_, i64>(0)).unwrap()
        };
        (n("%!"), n("%!!"))
    };
    assert_eq!(bangs(&db), (3, 0), "the cut-off execute did commit");
    let out = cutover(&["verify"], &db);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot tell whether the last execute"), "{said}");
    assert!(!said.contains("interrupted before its commit") && !said.contains("rolled it back"), "{said}");
    // Nothing is recorded as rolled back, and the script is not run a second time.
    let journal = fs::read_to_string(dir.path().join("pos.db.cutover").join("journal.jsonl")).unwrap();
    assert!(!journal.contains("execute_rolled_back"), "{journal}");
    let again = cutover(&["execute", "--yes", "--script", dir.path().join("prices.sql").to_str().unwrap()], &db);
    let said = text(&again);
    assert_eq!(again.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot tell whether the last execute"), "{said}");
    assert_eq!(bangs(&db), (3, 0), "the script ran a second time");
}

#[test]
fn the_shop_redoing_or_undoing_the_plan_s_schema_never_decides_the_commit() {
    // The shop's own application may create (or drop) the very table the plan does: the schema
    // then says nothing about whether the execute committed.
    let sql = "CREATE TABLE IF NOT EXISTS loyalty (customer_id INTEGER PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0);\nUPDATE items SET name = name || '!' WHERE id > 0;\n";
    for committed in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let db = cut_off(dir.path(), sql, true, committed);
        let shop = if committed {
            "DROP TABLE loyalty"
        } else {
            "CREATE TABLE IF NOT EXISTS loyalty (customer_id INTEGER PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0)"
        };
        crate::common::shop::app_writes(&db, shop);
        for args in
            [vec!["verify"], vec!["execute", "--yes", "--script", dir.path().join("prices.sql").to_str().unwrap()]]
        {
            let out = cutover(&args, &db);
            let said = text(&out);
            assert_eq!(out.status.code(), Some(1), "committed {committed}, {args:?}: {said}");
            assert!(said.contains("cannot tell whether the last execute"), "committed {committed}, {args:?}: {said}");
        }
        let bangs: i64 = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM items WHERE name LIKE '%!'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(bangs, if committed { 3 } else { 0 }, "the script ran again");
        // Restoring the backup lists everything it would discard, the migration's rows included
        // when they are there, and a finished rollback is never re-told as SQLite's.
        let out = cutover(&["rollback", "--yes", "--json"], &db);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let changed = json(&out)["changes"].to_string();
        assert!(changed.contains("items"), "{changed}");
        let out = cutover(&["rollback", "--yes", "--discard-changes"], &db);
        assert!(out.status.success(), "{}", text(&out));
        let said = text(&cutover(&["verify"], &db));
        assert!(!said.contains("interrupted before its commit") && !said.contains("SQLite rolled it back"), "{said}");
        let journal = fs::read_to_string(dir.path().join("pos.db.cutover").join("journal.jsonl")).unwrap();
        assert!(!journal.contains("execute_rolled_back"), "{journal}");
    }
}
