//! What a refused or undone rollback leaves behind on Windows, run under Wine (which enforces
//! file share modes and the read-only attribute as Windows does): no read-only copy of the
//! shop's data that nothing can delete, and no second name left on the live database by a
//! rollback a program undid by opening the file without delete sharing.

#![cfg(windows)]
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Journal, make_db};

const EXECUTE: [&str; 4] = ["execute", "--tenant", "acme", "--yes"];
const FILE_SHARE_READ: u32 = 1;
const FILE_SHARE_WRITE: u32 = 2;

fn cutover(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> =
        fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    n.sort();
    n
}

/// A shop big enough that copying its backup takes a moment under Wine.
fn shop(dir: &Path, rows: u32) -> PathBuf {
    make_db(
        dir,
        "pos.db",
        Journal::Rollback,
        &format!(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
             CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT, photo BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO items (sku, name, photo) SELECT 'S' || i, 'item', zeroblob(65536) FROM n;"
        ),
    )
}

fn set_read_only(path: &Path, on: bool) {
    let mut p = fs::metadata(path).unwrap().permissions();
    p.set_readonly(on);
    fs::set_permissions(path, p).unwrap();
}

#[test]
fn refused_rollbacks_of_a_read_only_database_leave_no_copy_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), 8);
    let original = fs::read(&db).unwrap();
    assert!(cutover(&EXECUTE, &db).status.success());
    set_read_only(&db, true);
    let before = names(dir.path());
    for _ in 0..3 {
        let out = cutover(&["rollback", "--yes"], &db);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("attrib -r"), "{}", text(&out));
        assert_eq!(names(dir.path()), before, "a refused rollback left a file behind");
    }
    set_read_only(&db, false);
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
    assert!(names(dir.path()).iter().all(|n| !n.ends_with(".partial")), "{:?}", names(dir.path()));
}

#[test]
fn a_leftover_copy_marked_read_only_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), 2);
    assert!(cutover(&EXECUTE, &db).status.success());
    // What an earlier cutover left when it copied the database's read-only flag onto its copy.
    let leftover = dir.path().join(".pos.db.restore-x1y2z3.partial");
    fs::copy(&db, &leftover).unwrap();
    set_read_only(&leftover, true);
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!leftover.exists(), "the read-only leftover is still there: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed 1 incomplete temporary file"), "{}", text(&out));
}

/// When this test binary is started with CUTOVER_TEST_OPEN_DURING_RESTORE, it is a program of
/// the shop's that opens the database for reading, without delete sharing, as soon as a
/// rollback starts copying the backup beside it; says "opened" and waits for its stdin.
#[test]
fn open_during_restore_main() {
    let Some(db) = std::env::var_os("CUTOVER_TEST_OPEN_DURING_RESTORE") else { return };
    let db = PathBuf::from(db);
    let dir = db.parent().unwrap().to_path_buf();
    let started = Instant::now();
    while !names(&dir).iter().any(|n| n.starts_with(".pos.db.restore-")) {
        assert!(started.elapsed() < Duration::from_secs(60), "no restore began");
        std::thread::sleep(Duration::from_millis(2));
    }
    let file = fs::OpenOptions::new().read(true).share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE).open(&db).unwrap();
    println!("opened");
    std::io::stdout().flush().unwrap();
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
    drop(file);
}

/// That program, until dropped (its output is read to the end, so it can finish its report).
struct Opener(Child, BufReader<std::process::ChildStdout>);

impl Opener {
    fn start(db: &Path) -> Opener {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "windows_aftermath::open_during_restore_main", "--nocapture", "--test-threads", "1"])
            .env("CUTOVER_TEST_OPEN_DURING_RESTORE", db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Opener(child, out)
    }

    fn opened(&mut self) -> bool {
        let mut line = String::new();
        while self.1.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("opened") {
                return true;
            }
            line.clear();
        }
        false
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = std::io::Read::read_to_end(&mut self.1, &mut Vec::new());
        let _ = self.0.wait();
    }
}

#[test]
fn a_rollback_undone_by_a_program_leaves_no_second_name_past_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), 400);
    assert!(cutover(&EXECUTE, &db).status.success());
    let migrated = fs::read(&db).unwrap();
    let mut opener = Opener::start(&db);
    let out = cutover(&["rollback", "--yes", "--json"], &db);
    assert!(opener.opened(), "the program never opened the database");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["refusal"], "opened_during_rollback", "{v}");
    assert_eq!(fs::read(&db).unwrap(), migrated, "nothing changed");
    // The program, holding the file without delete sharing, kept Windows from removing the
    // database's second name: the message and status say so plainly, and what it is.
    let second: Vec<String> = names(dir.path()).into_iter().filter(|n| n.starts_with("pos.db.migrated-")).collect();
    assert_eq!(second.len(), 1, "{second:?}: {v}");
    assert!(v["error"].as_str().unwrap().contains("still a second name"), "{v}");
    assert!(v["second_name_left"].as_str().is_some_and(|p| p.ends_with(second[0].as_str())), "{v}");
    let s: serde_json::Value = serde_json::from_slice(&cutover(&["status", "--json"], &db).stdout).unwrap();
    assert!(s["attention"].as_str().unwrap_or("").contains("still a second name"), "{s}");
    assert!(!s["attention"].as_str().unwrap_or("").contains("running now"), "{s}");
    assert!(s["note"].as_str().unwrap_or("").contains("was undone and changed nothing"), "{s}");
    // The program lets go; the next run removes the second name, and the rollback goes through.
    drop(opener);
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let kept: Vec<PathBuf> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("pos.db.migrated-") && !n.ends_with("-journal"))
        .map(|n| dir.path().join(n))
        .collect();
    assert_eq!(kept.len(), 1, "one kept migrated file, the rollback's own: {kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), migrated);
    assert_ne!(fs::read(&db).unwrap(), migrated, "the backup is in place");
}
