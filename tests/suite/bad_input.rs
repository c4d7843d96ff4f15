//! Every rejected input gets its exit code and a message a technician can act on, and the
//! files on disk are left exactly as they were.

use std::fs;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use crate::common::{Hold, Holder};
use crate::common::{Journal, hostile_db, make_db, snapshot};
use assert_cmd::Command;
use predicates::prelude::*;

fn cutover() -> Command {
    let mut cmd = Command::cargo_bin("cutover").unwrap();
    // Error reports never show a backtrace; capturing one only slows each run down.
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

/// A database whose first table's root page has a damaged header.
fn corrupt_db(dir: &Path) -> PathBuf {
    let db = make_db(
        dir,
        "corrupt.db",
        Journal::Rollback,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO t (v) SELECT printf('row %d', i) FROM n;",
    );
    let mut bytes = fs::read(&db).unwrap();
    let page_size = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    bytes[page_size] = 0x42; // page 2's b-tree page type: not a valid type
    fs::write(&db, bytes).unwrap();
    db
}

/// A database every read works on, whose damage only SQLite's quick_check finds: the header
/// counts free pages the file does not have.
fn damaged_freelist_db(dir: &Path) -> PathBuf {
    let db = make_db(
        dir,
        "freelist.db",
        Journal::Wal,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');",
    );
    let mut bytes = fs::read(&db).unwrap();
    bytes[36..40].copy_from_slice(&3u32.to_be_bytes());
    fs::write(&db, bytes).unwrap();
    db
}

#[test]
fn damage_only_quick_check_finds_is_refused_by_the_backups_own_check_leaving_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = damaged_freelist_db(dir.path());
    let before = snapshot(dir.path());
    for args in [
        &["backup"][..],
        &["execute", "--tenant", "acme", "--yes"],
        &["execute", "--tenant", "acme", "--yes", "--json"],
    ] {
        let out = cutover().arg(args[0]).arg(&db).args(&args[1..]).assert().code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is damaged") && stderr.contains("freelist"), "{args:?}: {stderr}");
        // No backup, no partial copy, no journal or records folder: the folder is as it was.
        assert_eq!(snapshot(dir.path()), before, "{args:?}: files changed");
    }
}

struct Case {
    name: &'static str,
    path: PathBuf,
    message: &'static str,
}

fn bad_inputs(dir: &Path) -> Vec<Case> {
    let empty = dir.join("empty.db");
    fs::write(&empty, b"").unwrap();
    let text = dir.join("notes.txt");
    fs::write(&text, "shopping list: brake pads, oil\n").unwrap();
    let folder = dir.join("a folder.db");
    fs::create_dir(&folder).unwrap();
    let good =
        make_db(dir, "whole.db", Journal::Rollback, "CREATE TABLE t(x); INSERT INTO t VALUES (zeroblob(20000));");
    let truncated = dir.join("truncated.db");
    let bytes = fs::read(&good).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2 + 100]).unwrap();
    fs::remove_file(&good).unwrap();
    let header_only = dir.join("header-only.db");
    fs::write(&header_only, &bytes[..40]).unwrap();
    vec![
        Case { name: "missing", path: dir.join("no such.db"), message: "no such file" },
        Case { name: "directory", path: folder, message: "is a folder" },
        Case { name: "empty", path: empty, message: "is empty (0 bytes)" },
        Case { name: "text", path: text, message: "not a SQLite database" },
        Case { name: "truncated", path: truncated, message: "is truncated" },
        Case { name: "header only", path: header_only, message: "is truncated" },
        Case { name: "corrupt", path: corrupt_db(dir), message: "is damaged" },
    ]
}

#[test]
fn every_bad_input_exits_2_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases = bad_inputs(dir.path());
    let before = snapshot(dir.path());
    let mut tried = 0;
    for case in &cases {
        for args in [vec!["audit"], vec!["audit", "--json"], vec!["backup"], vec!["backup", "--json"]] {
            let assert = cutover().args(&args).arg(&case.path).assert().code(2);
            let out = assert.get_output();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(case.message), "{} {args:?}: stderr was {stderr}", case.name);
            assert_eq!(stderr.lines().filter(|l| l.starts_with("cutover:")).count(), 1, "one message line");
            assert!(!stderr.contains("panicked") && !stderr.contains("Backtrace"), "{stderr}");
            if args.contains(&"--json") {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(v["ok"], false);
                assert_eq!(v["exit_code"], 2);
            }
            tried += 1;
        }
        assert_eq!(snapshot(dir.path()), before, "{}: files changed", case.name);
    }
    assert!(!dir.path().join("no such.db").exists(), "a missing database must never be created");
    println!("bad inputs tried: {tried}");
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn writing_commands_refuse_a_database_in_use_with_exit_3() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let db = hostile_db(dir.path(), journal);
        let holder = Holder::start(&db, Hold::Idle);
        let before = snapshot(dir.path());
        cutover().arg("backup").arg(&db).assert().code(3).stderr(predicate::str::contains(format!(
            "is open in pid {} (python3): stop the application first",
            holder.pid()
        )));
        assert_eq!(snapshot(dir.path()), before, "{journal:?}");
        // Reading is allowed; the report says who holds the file.
        cutover()
            .arg("audit")
            .arg(&db)
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("In use     YES, by pid {} (python3)", holder.pid())));
    }
}

/// A program that mapped the database and closed its descriptor can still write its pages,
/// past SQLite's locks and, on a page already dirty, without the modified time changing: it
/// holds the file as surely as one with it open.
#[cfg(target_os = "linux")]
#[test]
fn a_program_with_the_file_mapped_and_its_descriptor_closed_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let script = "import ctypes, os, sys, time\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        libc.mmap.restype = ctypes.c_void_p\n\
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]\n\
        fd = os.open(sys.argv[1], os.O_RDWR)\n\
        at = libc.mmap(None, 4096, 3, 1, fd, 0)\n\
        assert at not in (None, ctypes.c_void_p(-1).value)\n\
        os.close(fd)\n\
        print('mapped', flush=True)\n\
        time.sleep(60)\n";
    let mut child = crate::common::python_until(script, &db, "mapped");
    let before = snapshot(dir.path());
    let out = cutover().args(["execute", "--tenant", "acme", "--yes"]).arg(&db).assert().code(3).get_output().clone();
    let _ = child.kill();
    let _ = child.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("pid {}", child.id())), "{stderr}");
    assert_eq!(snapshot(dir.path()), before, "refused with nothing changed");
}

#[test]
fn usage_mistakes_exit_2() {
    cutover().arg("audit").assert().code(2);
    cutover().args(["backup", "--no-such-flag", "x.db"]).assert().code(2);
    cutover()
        .args(["execute", "x.db", "--tenant", "acme", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    cutover().args(["execute", "x.db", "--yes"]).assert().code(2);
    cutover().args(["execute", "x.db", "--tenant", "a", "--script", "s.sql", "--yes"]).assert().code(2);
    cutover().args(["execute", "x.db", "--tenant", "a"]).assert().code(2).stderr(predicate::str::contains("--yes"));
    cutover().args(["rollback", "x.db"]).assert().code(2).stderr(predicate::str::contains("--yes"));
}

#[test]
fn every_command_rejects_every_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = bad_inputs(dir.path());
    let before = snapshot(dir.path());
    let commands: [&[&str]; 6] = [
        &["status"],
        &["plan", "--tenant", "acme"],
        &["dry-run", "--tenant", "acme"],
        &["execute", "--tenant", "acme", "--yes"],
        &["verify"],
        &["rollback", "--yes"],
    ];
    let mut tried = 0;
    for case in &cases {
        for args in commands {
            let out = cutover().args(args).arg(&case.path).assert().get_output().clone();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            // verify and rollback read the journal first; with no journal they say so (exit 1/2).
            // status refuses what is not a database file, and reads no page: damage inside a
            // well-formed file is quick_check's to find (audit, backup, the run's preflight).
            if args[0] == "status" && case.name == "corrupt" {
                assert_eq!(code, Some(0), "{} {args:?}: {stderr}", case.name);
            } else if args[0] == "verify" || args[0] == "rollback" {
                assert!(matches!(code, Some(1 | 2)), "{} {args:?}: {code:?} {stderr}", case.name);
            } else {
                assert_eq!(code, Some(2), "{} {args:?}: {stderr}", case.name);
                assert!(stderr.contains(case.message), "{} {args:?}: {stderr}", case.name);
            }
            assert!(!stderr.contains("panicked"), "{stderr}");
            tried += 1;
        }
        assert_eq!(snapshot(dir.path()), before, "{}: files changed", case.name);
    }
    crate::common::state::report(&format!("bad input: {tried} command/input pairs tried"));
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn a_read_only_database_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let immutable = std::process::Command::new("chattr").arg("+i").arg(&db).output().is_ok_and(|o| o.status.success());
    if !immutable {
        crate::common::state::report("read-only file test SKIPPED: chattr +i is not permitted here");
        return;
    }
    let before = fs::read(&db).unwrap();
    cutover().arg("audit").arg(&db).assert().success();
    for args in [vec!["backup"], vec!["execute", "--tenant", "acme", "--yes"]] {
        cutover().args(&args).arg(&db).assert().code(2).stderr(predicate::str::contains("cannot be written"));
    }
    std::process::Command::new("chattr").arg("-i").arg(&db).output().unwrap();
    assert_eq!(fs::read(&db).unwrap(), before);
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn a_read_only_folder_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let bind = |args: &[&str]| std::process::Command::new("mount").args(args).arg(dir.path()).arg(dir.path()).output();
    let mounted = bind(&["--bind"]).is_ok_and(|o| o.status.success())
        && std::process::Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
    if !mounted {
        crate::common::state::report("read-only folder test SKIPPED: bind mounts are not permitted here");
        return;
    }
    let before = snapshot(dir.path());
    cutover().arg("audit").arg(&db).assert().success();
    for args in [vec!["backup"], vec!["execute", "--tenant", "acme", "--yes"]] {
        cutover().args(&args).arg(&db).assert().code(2).stderr(predicate::str::contains("cannot be written"));
    }
    assert_eq!(snapshot(dir.path()), before);
    std::process::Command::new("umount").arg(dir.path()).output().unwrap();
}

#[test]
fn paths_with_spaces_and_unicode_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("Shop No 5 — Müller ☕");
    fs::create_dir(&folder).unwrap();
    let db = make_db(&folder, "pos data ü.db", Journal::Wal, crate::common::HOSTILE_SCHEMA);
    let original = fs::read(&db).unwrap();
    cutover().args(["execute", "--tenant", "acme", "--yes"]).arg(&db).assert().success();
    cutover().args(["verify"]).arg(&db).assert().success();
    cutover().args(["rollback", "--yes"]).arg(&db).assert().success();
    assert_eq!(fs::read(&db).unwrap(), original);
}

#[test]
fn awkward_tenant_values_are_stored_exactly() {
    let mut tried = 0;
    for tenant in
        ["it's \"quoted\"", "back\\slash\\", "two\nlines\r\n", "emoji 🚗🔧", "   spaces   ", "'; DROP TABLE kv; --"]
    {
        let dir = tempfile::tempdir().unwrap();
        let db = hostile_db(dir.path(), Journal::Rollback);
        cutover().args(["execute", "--tenant", tenant, "--yes"]).arg(&db).assert().success();
        let conn = rusqlite::Connection::open(&db).unwrap();
        let got: Vec<String> = conn
            .prepare("SELECT DISTINCT tenant_id FROM kv")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, vec![tenant.to_string()], "{tenant:?}");
        let kv_rows: i64 = conn.query_row("SELECT count(*) FROM kv", [], |r| r.get(0)).unwrap();
        assert_eq!(kv_rows, 2);
        tried += 1;
    }
    crate::common::state::report(&format!("awkward tenant values: {tried} stored exactly"));
}

#[test]
fn a_huge_script_runs_and_invalid_sql_is_named_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let huge = dir.path().join("huge.sql");
    let mut text = String::from("CREATE TABLE import_log (id INTEGER PRIMARY KEY, note TEXT);\n");
    for i in 0..20_000 {
        text.push_str(&format!("INSERT INTO import_log (note) VALUES ('row {i}; with a semicolon -- and dashes');\n"));
    }
    text.push_str("SELECT count(*) FROM import_log; -- expect: 20000\n");
    fs::write(&huge, &text).unwrap();
    cutover().args(["dry-run", "--script"]).arg(&huge).arg(&db).assert().success();

    let invalid = dir.path().join("invalid.sql");
    fs::write(&invalid, "UPDATE kv SET v = 'x' WHERE k = 'k1';\n\nUPDAT kv SET v = 1;\n").unwrap();
    let before = fs::read(&db).unwrap();
    cutover()
        .args(["execute", "--yes", "--script"])
        .arg(&invalid)
        .arg(&db)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("statement 2 (line 3)").and(predicate::str::contains("syntax error")));
    assert_eq!(fs::read(&db).unwrap(), before);
    let not_text = dir.path().join("binary.sql");
    fs::write(&not_text, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    cutover().args(["plan", "--script"]).arg(&not_text).arg(&db).assert().code(2);
    cutover().args(["plan", "--script"]).arg(dir.path().join("missing.sql")).arg(&db).assert().code(2);
}

// A read-only bind mount is a Linux tool.
#[cfg(unix)]
#[test]
fn a_records_folder_that_cannot_be_written_leaves_no_stray_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let records = dir.path().join("hostile.db.cutover");
    fs::create_dir(&records).unwrap();
    let mount = |args: &[&str]| std::process::Command::new("mount").args(args).arg(&records).arg(&records).output();
    let mounted = mount(&["--bind"]).is_ok_and(|o| o.status.success())
        && std::process::Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(&records)
            .output()
            .is_ok_and(|o| o.status.success());
    if !mounted {
        crate::common::state::report("read-only records folder test SKIPPED: bind mounts are not permitted here");
        return;
    }
    let before = snapshot(dir.path());
    for args in [vec!["backup"], vec!["execute", "--tenant", "acme", "--yes"]] {
        cutover().args(&args).arg(&db).assert().code(2).stderr(predicate::str::contains("cannot be written"));
        assert_eq!(snapshot(dir.path()), before, "{args:?}: no copy of the database is left behind");
    }
    std::process::Command::new("umount").arg(&records).output().unwrap();
}
