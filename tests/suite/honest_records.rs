//! The records and the first look never mislead: a torn journal line does not throw the
//! journal away, a name that is not UTF-8 is journalled exactly, a database SQLite can recover is
//! not called truncated, and an unclean shutdown is said out loud, with a copy kept as found.
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::shop::{count, cutover, has_column, json, small_shop, strace_or_skip, text};
use crate::common::{Journal, make_db, state};

const EXECUTE: [&str; 4] = ["execute", "--tenant", "acme", "--yes"];

fn journal_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".cutover");
    PathBuf::from(name).join("journal.jsonl")
}

#[test]
fn a_torn_last_journal_line_is_set_aside_not_fatal() {
    for cut_in_utf8 in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = small_shop(dir.path(), Journal::Rollback);
        let original = fs::read(&db).unwrap();
        assert!(cutover(&EXECUTE, &db).status.success());
        // A crash while appending: half a line, possibly cut inside a multi-byte character.
        let journal = journal_of(&db);
        let mut bytes = fs::read(&journal).unwrap();
        let torn: &[u8] = if cut_in_utf8 { b"{\"at\":\"2026\",\"note\":\"caf\xc3" } else { b"{\"at\":\"2026-12-01T" };
        bytes.extend_from_slice(torn);
        fs::write(&journal, &bytes).unwrap();

        let out = cutover(&["verify"], &db);
        assert!(out.status.success(), "a torn tail is ignored on read: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("torn"), "with a notice: {}", text(&out));
        let out = cutover(&["backup"], &db);
        assert!(out.status.success(), "{}", text(&out));
        let records = journal.parent().unwrap();
        let aside: Vec<_> = fs::read_dir(records)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("torn"))
            .collect();
        assert_eq!(aside.len(), 1, "the torn tail is kept aside");
        assert_eq!(fs::read(aside[0].path()).unwrap(), torn);
        let text_now = fs::read_to_string(&journal).unwrap();
        assert!(text_now.ends_with('\n'), "appended cleanly");
        for line in text_now.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("a damaged line ({e}): {line}"));
        }
        let out = cutover(&["rollback", "--yes", "--discard-changes"], &db);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), original);
    }
}

#[test]
fn a_database_name_that_is_not_utf8_is_journalled_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let template = small_shop(dir.path(), Journal::Wal);
    let db = dir.path().join(OsStr::from_bytes(b"caisse-\xff\xfe.db"));
    fs::rename(&template, &db).unwrap();
    let original = fs::read(&db).unwrap();
    let out = cutover(&EXECUTE, &db);
    assert!(out.status.success(), "{}", text(&out));
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
    // The journal holds the rollback, so verify does not claim the migration is in place.
    let out = cutover(&["verify"], &db);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rolled back"), "{}", text(&out));
}

/// Runs `script` in Python under strace and kills it at the `when`-th pwrite64 to `target`
/// (after the write before it completed): a write cut off in the middle, for real.
fn killed_at_pwrite(script: &str, db: &Path, target: &Path, when: usize) {
    let out = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-P"])
        .arg(target)
        .arg(format!("--inject=pwrite64:signal=SIGKILL:when={when}"))
        .args(["python3", "-c", script])
        .arg(db)
        .output()
        .unwrap();
    assert!(!out.status.success(), "python should have been killed: {}", text(&out));
}

const GROW: &str = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('PRAGMA wal_autocheckpoint = 0')\nc.execute(\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) INSERT INTO items (sku, name) SELECT 'S' || i, randomblob(3000) FROM n\")\nc.execute('PRAGMA wal_checkpoint(TRUNCATE)')\n";

fn sha_all(paths: &[PathBuf]) -> Vec<(PathBuf, String)> {
    paths.iter().filter(|p| p.exists()).map(|p| (p.clone(), state::sha(p))).collect()
}

fn side(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

/// The folder of copies kept as found, with each file's recorded SHA-256.
fn as_found(db: &Path) -> Vec<(String, String)> {
    let records = journal_of(db).parent().unwrap().to_path_buf();
    let dir = fs::read_dir(&records)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("as-found-"))
        .unwrap_or_else(|| panic!("no as-found folder in {records:?}"))
        .path();
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    sums.lines()
        .map(|l| {
            let (sha, name) = l.split_once("  ").unwrap();
            assert_eq!(state::sha(&dir.join(name)), sha, "{name} in {dir:?} matches its recorded hash");
            (name.to_string(), sha.to_string())
        })
        .collect()
}

#[test]
fn a_commit_cut_off_mid_write_is_recovered_not_called_truncated() {
    if !strace_or_skip("the hot-journal test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    // The commit writes page 1 (with the new page count) first; it dies before the rest.
    killed_at_pwrite(GROW, &db, &db, 2);
    let journal = side(&db, "-journal");
    assert!(journal.exists(), "a hot journal is left");
    let found = sha_all(&[db.clone(), journal.clone()]);

    let out = cutover(&["audit", "--json"], &db);
    assert!(out.status.success(), "a recoverable database is not truncated: {}", text(&out));
    let said = text(&out);
    assert!(said.contains("did not shut down cleanly"), "{said}");
    let v = json(&out);
    assert!(v["recovered"].is_object(), "the JSON says it recovered: {v}");
    let kept = as_found(&db);
    for (path, sha) in found {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(kept.contains(&(name.clone(), sha)), "{name} is kept exactly as found: {kept:?}");
    }
    assert!(!journal.exists(), "SQLite rolled the cut-off write back");
    assert_eq!(state::integrity(&db), "ok");
    assert_eq!(count(&db, "items"), 3, "the unfinished transaction is gone, every committed row is there");
}

#[test]
fn a_checkpoint_cut_off_mid_write_is_recovered_not_called_truncated() {
    if !strace_or_skip("the WAL recovery test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Wal);
    // The transaction commits to the -wal; the checkpoint then writes page 1 into the main
    // file and dies before the rest.
    killed_at_pwrite(GROW, &db, &db, 2);
    let wal = side(&db, "-wal");
    assert!(fs::metadata(&wal).unwrap().len() > 0, "the -wal holds the commit");
    let found = sha_all(&[db.clone(), wal.clone()]);
    let out = cutover(&["audit"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("did not shut down cleanly"), "{}", text(&out));
    let kept = as_found(&db);
    for (path, sha) in found {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(kept.contains(&(name.clone(), sha)), "{name} is kept exactly as found: {kept:?}");
    }
    assert_eq!(state::integrity(&db), "ok");
    assert_eq!(count(&db, "items"), 63, "the committed transaction survives");
}

#[test]
fn an_unclean_shutdown_is_said_and_kept_even_when_nothing_looks_wrong() {
    // The application died with committed work only in its -wal: nothing is damaged, but a
    // read-only command must still say it had to recover, and keep the files as found.
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "pos.db", Journal::Wal, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    crate::common::shop::app_writes_then_crashes(&db, "INSERT INTO t VALUES (2)");
    let out = cutover(&["audit"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("did not shut down cleanly"), "{}", text(&out));
    let kept: Vec<String> = as_found(&db).into_iter().map(|(name, _)| name).collect();
    assert!(kept.contains(&"pos.db".to_string()) && kept.contains(&"pos.db-wal".to_string()), "{kept:?}");
    assert_eq!(count(&db, "t"), 2);
    // The next command has nothing to recover and says nothing about it.
    let out = cutover(&["audit"], &db);
    assert!(!text(&out).contains("did not shut down cleanly"), "{}", text(&out));
    assert!(!has_column(&db, "t", "tenant_id"));
}
