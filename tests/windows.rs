//! What differs on Windows, run under Wine in CI: another process holding the database (a copy
//! of this test binary opens it with SQLite and waits, as the shop's service would; Wine
//! enforces share modes, so the refusal is real), and paths with backslashes, spaces,
//! non-ASCII letters and more than 260 characters. Wine's Restart Manager names no process, so
//! the holder is "another program" here; naming is tested against a fake list in the engine.

#![cfg(windows)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{Journal, make_db, snapshot};

const EXECUTE: [&str; 4] = ["execute", "--tenant", "acme", "--yes"];

fn cutover(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn shop(dir: &Path) -> PathBuf {
    make_db(
        dir,
        "pos.db",
        Journal::Rollback,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
         INSERT INTO items (sku, name) VALUES ('A1', 'bolt'), ('B2', 'nut');",
    )
}

/// When this test binary is started with CUTOVER_TEST_HOLD, it is the shop's application:
/// it opens the database with SQLite, reads it, says "ready" and waits for its stdin to close.
#[test]
fn hold_main() {
    let Some(db) = std::env::var_os("CUTOVER_TEST_HOLD") else { return };
    let conn = rusqlite::Connection::open(&db).unwrap();
    let _: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
    drop(conn);
}

/// The shop's application holding `db` open until dropped (its output is kept open, so it
/// can finish its own report).
struct App(Child, BufReader<std::process::ChildStdout>);

impl App {
    fn start(db: &Path) -> App {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "hold_main", "--nocapture", "--test-threads", "1"])
            .env("CUTOVER_TEST_HOLD", db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the holder did not start");
            if line.trim_end().ends_with("ready") {
                break;
            }
        }
        App(child, out)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = std::io::Read::read_to_end(&mut self.1, &mut Vec::new());
        let _ = self.0.wait();
    }
}

#[test]
fn every_writing_command_refuses_while_another_program_holds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    // A migrated twin, so rollback has something to roll back.
    let twin_dir = tempfile::tempdir().unwrap();
    let twin = twin_dir.path().join("pos.db");
    fs::copy(&db, &twin).unwrap();
    assert!(cutover(&EXECUTE, &twin).status.success());
    for (target, args) in [
        (&db, vec!["backup"]),
        (&db, vec!["dry-run", "--tenant", "acme"]),
        (&db, EXECUTE.to_vec()),
        (&twin, vec!["rollback", "--yes"]),
    ] {
        let app = App::start(target);
        let folder = target.parent().unwrap();
        let before = snapshot(folder);
        let out = cutover(&args, target);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("is open in"), "{args:?}: {}", text(&out));
        let after = snapshot(folder);
        for (name, bytes) in &before {
            if !name.ends_with(".log") {
                assert_eq!(after.get(name), Some(bytes), "{args:?}: {name} changed");
            }
        }
        drop(app);
    }
    // The audit, which writes nothing, reports it.
    let app = App::start(&db);
    let out = cutover(&["audit"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("In use     YES"), "{}", text(&out));
    drop(app);
}

#[test]
fn execute_and_rollback_through_backslashes_spaces_and_long_paths() {
    let dir = tempfile::tempdir().unwrap();
    // More than 260 characters in all, through folders with spaces and non-ASCII letters.
    let mut deep = dir.path().join("Caisse Père Noël");
    while deep.as_os_str().len() < 280 {
        deep = deep.join("dossier très profond");
    }
    let verbatim = PathBuf::from(format!(r"\\?\{}", deep.display()));
    fs::create_dir_all(&verbatim).unwrap();
    let db = shop(&verbatim);
    let original = fs::read(&db).unwrap();
    let typed = db.display().to_string().replace('/', "\\");
    let out = Command::new(env!("CARGO_BIN_EXE_cutover")).args(EXECUTE).arg(&typed).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_cutover")).args(["rollback", "--yes"]).arg(&typed).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original, "restored to the original bytes");
}

#[test]
fn a_relative_path_with_backslashes_works_from_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("shop data");
    fs::create_dir_all(&sub).unwrap();
    let db = shop(&sub);
    let original = fs::read(&db).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .current_dir(dir.path())
        .args(EXECUTE)
        .arg(r"shop data\pos.db")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .current_dir(&sub)
        .args(["rollback", "pos.db", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
}
