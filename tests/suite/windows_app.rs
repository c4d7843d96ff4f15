//! The application's migrations on Windows, under Wine: a name ledger built as EasySale's
//! runner builds it, its pending tenant migration caught on the rehearsal copy, its own
//! migrations run with their ledger row, and `--app-check` run by `cmd /C` with the copy's
//! path quoted as cmd takes it (a folder with spaces).

#![cfg(windows)]
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Journal, make_db};

fn cutover(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn check(out: &Output, name: &str) -> serde_json::Value {
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)));
    crate::common::check(&report, name)
}

/// The shop as EasySale's runner left it: 001 applied and recorded, 009 (the tenant column)
/// shipped in the folder and pending.
fn shop(dir: &Path) -> (PathBuf, PathBuf) {
    let migrations = dir.join("migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(migrations.join("001_init.sql"), "CREATE TABLE sales (id INTEGER PRIMARY KEY, amount INTEGER);\r\n")
        .unwrap();
    fs::write(
        migrations.join("009_add_tenant_id.sql"),
        "ALTER TABLE sales ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'harbor';\r\n",
    )
    .unwrap();
    let db = make_db(
        dir,
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name TEXT UNIQUE, applied_at TEXT);
         CREATE TABLE sales (id INTEGER PRIMARY KEY, amount INTEGER);
         INSERT INTO sales (amount) VALUES (4999), (2599);
         INSERT INTO _migrations (name, applied_at) VALUES ('migrations/001_init.sql', '2026-01-02 09:00:00');",
    );
    (db, migrations)
}

#[test]
fn the_apps_pending_tenant_migration_fails_the_rehearsal_and_its_own_run_records_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("shop folder");
    fs::create_dir(&root).unwrap();
    let (db, dir) = shop(&root);
    let before = fs::read(&db).unwrap();
    let dirs = dir.to_string_lossy().into_owned();
    let out = cutover(&["dry-run", "--tenant", "harbor", "--migrations", &dirs, "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let starts = check(&out, "app_starts");
    assert_eq!(starts["status"], "FAIL");
    assert!(starts["detail"].as_str().unwrap().contains("009_add_tenant_id.sql"), "{starts}");
    assert_eq!(fs::read(&db).unwrap(), before, "the database is byte-identical");

    let out = cutover(&["execute", "--migrations", &dirs, "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(check(&out, "app_starts")["status"], "PASS");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM _migrations ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["migrations/001_init.sql", "migrations/009_add_tenant_id.sql"]);
}

#[test]
fn the_app_check_runs_under_cmd_with_the_copys_path_quoted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("shop folder");
    fs::create_dir(&root).unwrap();
    let (db, _) = shop(&root);
    let before = fs::read(&db).unwrap();
    let failing =
        cutover(&["dry-run", "--tenant", "harbor", "--app-check", "echo checked {db}& exit 5", "--json"], &db);
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing));
    let c = check(&failing, "app_check");
    assert_eq!(c["status"], "FAIL");
    assert!(c["detail"].as_str().unwrap().contains("exited 5"), "{c}");
    let passing = cutover(
        &["execute", "--tenant", "harbor", "--app-check", "if exist {db} (exit 0) else (exit 4)", "--yes", "--json"],
        &db,
    );
    assert!(passing.status.success(), "{}", text(&passing));
    assert_eq!(check(&passing, "app_check")["status"], "PASS");
    assert_ne!(fs::read(&db).unwrap(), before);
    let left: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("app-check"))
        .collect();
    assert!(left.is_empty(), "the program's copy is removed");
}

#[test]
fn an_app_check_out_of_time_is_stopped_and_its_copy_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = shop(tmp.path());
    // cmd loops for ever (a step of 0) with the copy open as its input: it must be stopped
    // for the copy to go (Windows will not delete a file a program has open).
    let out = cutover(
        &[
            "dry-run",
            "--tenant",
            "harbor",
            "--app-check",
            "(for /L %i in (1,0,2) do @rem) < {db}",
            "--app-check-seconds",
            "3",
            "--json",
        ],
        &db,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = check(&out, "app_check");
    assert!(c["detail"].as_str().unwrap().contains("did not finish within 3 s"), "{c}");
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("app-check"))
        .collect();
    assert!(left.is_empty(), "the program's copy is removed: it was stopped");
}
