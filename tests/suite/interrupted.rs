//! Runs stopped from outside: Ctrl-C on a headless run stops it at a safe point and says where
//! the database stands (exit 1), and the scratch files a `kill -9` leaves are removed by the
//! next run — saying so — unless a process still holds them.

// Signals and /proc: Linux.
#![cfg(unix)]

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rusqlite::Connection;
use sha2::Digest;

use crate::common::shop::{cutover, text};
use crate::common::state::{integrity, sha};
use crate::common::{Journal, make_db};

/// A shop big enough that its phases take a noticeable moment (a few hundred thousand rows).
fn big_shop(dir: &Path) -> PathBuf {
    let db = make_db(
        dir,
        "pos.db",
        Journal::Wal,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE sales (id INTEGER PRIMARY KEY, sku TEXT, note TEXT, qty INTEGER);
         CREATE TABLE lines (id INTEGER PRIMARY KEY, sale INTEGER, amount INTEGER);",
    );
    let mut conn = Connection::open(&db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut sale = tx.prepare("INSERT INTO sales (sku, note, qty) VALUES (?1, ?2, ?3)").unwrap();
        let mut line = tx.prepare("INSERT INTO lines (sale, amount) VALUES (?1, ?2)").unwrap();
        for i in 0..300_000i64 {
            sale.execute(rusqlite::params![format!("SKU-{:06}", i % 9973), "a note about the sale", i % 7]).unwrap();
            line.execute(rusqlite::params![i, i * 3 % 1000]).unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    db
}

/// Starts `cutover args db`, reading its progress on stderr.
fn start(args: &[&str], db: &Path) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg(db)
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    (child, err)
}

/// Reads progress lines until one contains `marker`; returns what was read.
fn wait_for(err: &mut BufReader<std::process::ChildStderr>, marker: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("the run ended before {marker:?}:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(marker) {
            return seen;
        }
    }
}

/// Waits for the run to end: its exit status, its stdout, and the rest of its stderr.
fn finish(
    mut child: Child,
    mut err: BufReader<std::process::ChildStderr>,
) -> (std::process::ExitStatus, String, String) {
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    (child.wait().unwrap(), out, rest)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig} failed");
}

/// The hidden scratch files beside the database.
fn scratch(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pos.db.") && !n.starts_with(".pos.db.cutover"))
        .collect();
    names.sort();
    names
}

#[test]
fn ctrl_c_during_the_rehearsal_stops_safely_and_says_the_database_was_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    let before = sha(&db);
    let (mut child, mut err) = start(&["execute", "--tenant", "acme", "--yes"], &db);
    wait_for(&mut err, "reading every table before the change");
    signal(&child, "-INT");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "stopped safely is exit 1:\n{rest}");
    assert!(rest.contains("stopping at the next safe point"), "Ctrl-C is acknowledged:\n{rest}");
    assert!(rest.contains("stopped by you during the rehearsal on a copy"), "{rest}");
    assert!(rest.contains("pos.db itself was not touched"), "{rest}");
    assert_eq!(sha(&db), before, "production untouched");
    assert_eq!(scratch(dir.path()), Vec::<String>::new(), "the rehearsal copy is gone");
}

#[test]
fn ctrl_c_on_production_rolls_the_transaction_back_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    let before = sha(&db);
    let (child, mut err) = start(&["execute", "--tenant", "acme", "--yes", "--json"], &db);
    // Held since the backup (or proven by reading the whole file), production is about to run
    // the plan: the stop lands before the first statement, or interrupts one.
    wait_for(&mut err, "still equals the backup");
    signal(&child, "-INT");
    let (status, out, rest) = finish(child, err);
    assert_eq!(status.code(), Some(1), "{out}\n{rest}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["refusal"], "cancelled", "{v}");
    assert!(v["error"].as_str().unwrap().contains("on production: its transaction was rolled back"), "{v}");
    assert_eq!(sha(&db), before, "nothing changed, as it says");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(scratch(dir.path()), Vec::<String>::new());
    // The journal agrees: nothing to roll back, and the next execute runs.
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn scratch_files_a_kill_nine_leaves_are_removed_by_the_next_run_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    let (mut child, mut err) = start(&["dry-run", "--tenant", "acme"], &db);
    wait_for(&mut err, "reading every table before the change");
    signal(&child, "-KILL");
    child.wait().unwrap();
    let left = scratch(dir.path());
    assert!(left.iter().any(|n| n.starts_with(".pos.db.rehearsal-")), "kill -9 leaves the rehearsal copy: {left:?}");
    // And a backup cut off half way, as a kill -9 during its copy leaves it.
    fs::write(dir.path().join(".pos.db.backup-x1Y2z3.partial"), b"SQLite format 3\0half").unwrap();
    // Files that only look alike are someone's own: a backup kept by hand, another
    // database's scratch file, a link.
    let keep = [".pos.db.backup-before-upgrade-KEEP", ".pos.db.backup-old.db.rehearsal-123456", ".pos.db.replay-link"];
    fs::copy(&db, dir.path().join(keep[0])).unwrap();
    fs::write(dir.path().join(keep[1]), b"other").unwrap();
    std::os::unix::fs::symlink("elsewhere", dir.path().join(keep[2])).unwrap();
    // One that a process still has open (another cutover at work) is left alone.
    let busy = dir.path().join(".pos.db.rehearsal-busy01");
    fs::write(&busy, b"in use").unwrap();
    let mut holder = Command::new("python3")
        .args(["-c", "import sys; f = open(sys.argv[1]); print('ready', flush=True); sys.stdin.read()"])
        .arg(&busy)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");

    let out = cutover(&["dry-run", "--tenant", "acme"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("removed") && all.contains("incomplete temporary file"), "it says so: {all}");
    let mut left: Vec<&str> = keep.to_vec();
    left.push(".pos.db.rehearsal-busy01");
    left.sort();
    assert_eq!(scratch(dir.path()), left, "only cutover's own, unheld scratch files are removed");
    drop(holder.stdin.take());
    holder.wait().unwrap();
}

#[test]
fn ctrl_c_after_the_commit_is_never_called_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    let (mut child, mut err) = start(&["execute", "--tenant", "acme", "--yes"], &db);
    wait_for(&mut err, "hashing the result");
    signal(&child, "-INT");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "committed and verified:\n{rest}");
    if rest.contains("stopping at the next safe point") {
        assert!(rest.contains("Ctrl-C came too late to stop it: the change had committed"), "{rest}");
    }
    assert!(!rest.contains("stopped by you"), "{rest}");
}

#[test]
fn a_hang_up_or_a_terminate_stops_like_ctrl_c_and_leaves_no_copy_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE codes (id INTEGER PRIMARY KEY, code TEXT UNIQUE); INSERT INTO codes (code) VALUES ('a');",
        )
        .unwrap();
    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let before = sha(&db);
    // The second tenant is tried on a scratch copy: a dropped session lets it finish and go.
    let (mut child, mut err) = start(&["isolate"], &db);
    wait_for(&mut err, "trying a second tenant on a scratch copy");
    signal(&child, "-HUP");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    child.wait().unwrap();
    assert_eq!(scratch(dir.path()), Vec::<String>::new(), "no probe copy is left:\n{rest}");
    assert_eq!(sha(&db), before);
    // And a terminate during the fix's rehearsal is a stop at the next safe point.
    let (mut child, mut err) = start(&["isolate", "--fix", "--yes"], &db);
    wait_for(&mut err, "reading every table before the change");
    signal(&child, "-TERM");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("stopped by you"), "{rest}");
    assert_eq!(sha(&db), before, "production untouched");
    assert_eq!(scratch(dir.path()), Vec::<String>::new(), "the rehearsal copy is gone");
    // A probe copy a kill -9 left is cutover's own: the next isolate removes it, saying so.
    fs::write(dir.path().join(".pos.db.probe-Ab12Cd"), b"left by a kill").unwrap();
    fs::write(dir.path().join(".pos.db.probe-Ab12Cd-journal"), b"left by a kill").unwrap();
    let out = cutover(&["isolate"], &db);
    assert!(text(&out).contains("removed 2 incomplete temporary files"), "{}", text(&out));
    assert_eq!(scratch(dir.path()), Vec::<String>::new());
}

#[test]
fn the_database_stays_held_from_its_backup_to_the_end_of_the_execute() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    let (child, mut err) = start(&["execute", "--tenant", "acme", "--yes", "--json"], &db);
    // Mid-rehearsal, on a copy: the shop's application can neither write nor read production,
    // so it cannot change it behind the backup's back (and execute need not hash it again).
    wait_for(&mut err, "reading every table before the change");
    let conn = Connection::open(&db).unwrap();
    conn.busy_timeout(std::time::Duration::ZERO).unwrap();
    let write = conn.execute("INSERT INTO sales (sku, note, qty) VALUES ('LATE', 'sale during the rehearsal', 1)", []);
    let read = conn.query_row("SELECT count(*) FROM sales", [], |r| r.get::<_, i64>(0));
    drop(conn);
    let (status, out, rest) = finish(child, err);
    assert!(status.success(), "{out}\n{rest}");
    let busy = |e: &rusqlite::Error| e.to_string().contains("locked");
    assert!(write.as_ref().is_err_and(busy), "a write got in during the run: {write:?}");
    assert!(read.as_ref().is_err_and(busy), "a read got in during the run: {read:?}");
    assert!(rest.contains("held since the backup: proving it untouched"), "{rest}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["identical"], true, "{v}");
}

#[test]
fn a_write_past_sqlites_locks_with_its_mtime_set_back_is_not_taken_for_an_untouched_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_shop(dir.path());
    let (child, mut err) = start(&["execute", "--tenant", "acme", "--yes", "--json"], &db);
    wait_for(&mut err, "reading every table before the change");
    // A program that ignores SQLite's locks rewrites one value in place and puts the file's
    // modified time back, so only its status-change time tells.
    let modified = fs::metadata(&db).unwrap().modified().unwrap();
    let mut bytes = fs::read(&db).unwrap();
    let at = bytes.windows(21).position(|w| w == b"a note about the sale").unwrap();
    bytes[at..at + 21].copy_from_slice(b"A NOTE ABOUT THE SALE");
    let file = fs::OpenOptions::new().write(true).open(&db).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &bytes[at..at + 21], at as u64).unwrap();
    file.sync_all().unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    let (status, out, rest) = finish(child, err);
    assert_eq!(status.code(), Some(1), "{out}\n{rest}");
    assert!(!rest.contains("proving it untouched"), "{rest}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["error"].as_str().unwrap().contains("changed since the backup"), "{v}");
    let poked: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sha(&db), poked, "refused with nothing changed: the file is the poked one, unmigrated");
}
