//! What differs on Windows, run under Wine in CI: another process holding the database (a copy
//! of this test binary opens it with SQLite and waits, as the shop's service would; Wine
//! enforces share modes, so the refusal is real), and paths with backslashes, spaces,
//! non-ASCII letters and more than 260 characters. Wine's Restart Manager names no process, so
//! the holder is "another program" here; naming is tested against a fake list in the engine.

#![cfg(windows)]
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::{Journal, make_db, snapshot};

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
struct ShopApp(Child, BufReader<std::process::ChildStdout>);

impl ShopApp {
    fn start(db: &Path) -> ShopApp {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "windows::hold_main", "--nocapture", "--test-threads", "1"])
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
        ShopApp(child, out)
    }
}

impl Drop for ShopApp {
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
        let app = ShopApp::start(target);
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
    let app = ShopApp::start(&db);
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
    let said = text(&out);
    assert!(said.contains(r"Backup     shop data\pos.db.backup-"), "not named as typed:\n{said}");
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .current_dir(&sub)
        .args(["rollback", "pos.db", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
}

#[test]
fn a_name_with_a_trailing_dot_or_space_is_the_file_windows_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    for typed in ["pos.db.", "pos.db "] {
        let out = cutover(&["backup"], &dir.path().join(typed));
        assert!(out.status.success(), "{typed:?}: {}", text(&out));
    }
    let out = cutover(&EXECUTE, &dir.path().join("pos.db."));
    assert!(out.status.success(), "{}", text(&out));
    // One database, one set of records, whichever way it was typed.
    let out = cutover(&["verify"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let names: Vec<String> =
        fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with("pos.db..") && !n.starts_with("pos.db .")), "{names:?}");
    assert!(text(&out).contains("pos.db verified"), "{}", text(&out));
}

/// The 8.3 short name Windows gives `path` (the path itself where short names are off).
fn short_name(path: &Path) -> PathBuf {
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(std::iter::once(0)).collect();
    let mut buf = vec![0u16; 4096];
    // SAFETY: both buffers are valid for the lengths given; `wide` is NUL-terminated.
    let n = unsafe {
        windows_sys::Win32::Storage::FileSystem::GetShortPathNameW(wide.as_ptr(), buf.as_mut_ptr(), buf.len() as u32)
    };
    if n == 0 || n as usize >= buf.len() {
        return path.to_path_buf();
    }
    PathBuf::from(std::ffi::OsString::from_wide(&buf[..n as usize]))
}

#[test]
fn a_short_name_or_another_case_is_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "pointofsale.db",
        Journal::Rollback,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
         INSERT INTO items (sku, name) VALUES ('A1', 'bolt');",
    );
    let short = short_name(&db);
    let short_file = short.file_name().unwrap().to_string_lossy().into_owned();
    if short_file == "pointofsale.db" {
        eprintln!("skipped: this volume gives no 8.3 short names");
        return;
    }
    let out = cutover(&EXECUTE, &short);
    assert!(out.status.success(), "{}", text(&out));
    // Records, backups and side files are named after the stored name, found by any name.
    for name in ["pointofsale.db", "POINTOFSALE.DB"] {
        let out = cutover(&["verify"], &dir.path().join(name));
        assert!(out.status.success(), "{name}: {}", text(&out));
    }
    let names: Vec<String> =
        fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with(&short_file)), "named after the short name: {names:?}");
    let out = cutover(&["rollback", "--yes"], &dir.path().join("POINTOFSALE.DB"));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_demo_executes_with_match_and_rolls_back_to_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("D");
    let out = Command::new(env!("CARGO_BIN_EXE_cutover")).args(["demo", "--dir"]).arg(&d).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let db = d.join("pos.db");
    let original = fs::read(&db).unwrap();
    let out = cutover(&["execute", "--tenant", "harbor-auto", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["identical"], true, "MATCH with the rehearsal: {v}");
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original, "the original bytes are back");
}

#[test]
fn the_wizard_refuses_on_its_first_screen_while_another_program_holds_the_database() {
    use cutover::tui::app::{App, Step};
    use cutover::tui::theme::Theme;
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path());
    let app_process = ShopApp::start(&db);
    let mut app = App::new(db.clone(), None, Theme::new(false));
    crate::common::wizard::start(&mut app);
    let report = app.prepared.preflight.as_ref().expect("the first screen shows the preflight");
    assert!(report.in_use(), "{report:?}");
    assert_eq!(app.mode().next, Some("re-check"));
    assert_eq!(app.view.step, Step::Preflight);
    drop(app_process);
}

#[test]
fn a_database_past_the_lock_bytes_at_one_gibibyte_backs_up_executes_and_rolls_back() {
    // SQLite's lock bytes sit at 0x40000000; on Windows they cannot be read through another
    // handle while SQLite holds them, so cutover reads through SQLite's own. (Wine does not
    // enforce locks on reads, so here this proves the path works, not that a second handle
    // would fail; real Windows does.)
    // In memory when the machine under Wine has /dev/shm (Z: is its root): gigabytes of fsync
    // would otherwise be the whole cost of the test.
    let shm = Path::new(r"Z:\dev\shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm).unwrap() } else { tempfile::tempdir().unwrap() };
    let db = dir.path().join("big.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    // 64 KiB pages: Wine answers each read of SQLite's slowly, and this keeps them few.
    conn.execute_batch(
        "PRAGMA page_size = 65536;
         CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE scans (id INTEGER PRIMARY KEY, image BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1100)
         INSERT INTO scans (image) SELECT zeroblob(1048576) FROM n;",
    )
    .unwrap();
    drop(conn);
    assert!(fs::metadata(&db).unwrap().len() > 1 << 30);
    let sha = |p: &Path| cutover::engine::hashing::hash_file(p).unwrap().sha256;
    let original = sha(&db);
    let out = cutover(&["execute", "--tenant", "acme", "--yes", "--json"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha(&db), original);
}

#[test]
fn a_volume_without_hard_links_rolls_back_by_renaming() {
    // CI mounts an exFAT image (no hard links, like a FAT32 or exFAT USB stick) and names it
    // here; Wine answers a hard link there as Windows answers one on FAT.
    let Some(stick) = std::env::var_os("CUTOVER_WINE_EXFAT_DIR") else {
        crate::common::state::report("the exFAT test SKIPPED: CUTOVER_WINE_EXFAT_DIR names no exFAT folder");
        return;
    };
    let dir = tempfile::tempdir_in(&stick).unwrap();
    let db = shop(dir.path());
    let original = fs::read(&db).unwrap();
    assert!(cutover(&EXECUTE, &db).status.success());
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
}
