//! Backups are byte-for-byte, proven by hash, never overwritten, and refused while in use.

use std::fs;

#[cfg(unix)]
use crate::common::{Hold, Holder};
use crate::common::{Journal, hostile_db, make_db, snapshot};
#[cfg(unix)]
use cutover::engine::Error;
use cutover::engine::ExitKind;
use cutover::engine::backup::{self, BackupOptions};
use cutover::engine::hashing::sha256_hex;

fn backup_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = snapshot(dir).into_keys().filter(|n| n.contains(".backup-")).collect();
    names.sort();
    names
}

#[test]
fn backup_is_identical_and_both_hashes_match_in_both_journal_modes() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let db = hostile_db(dir.path(), journal);
        let r = backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap();
        let original = fs::read(&db).unwrap();
        let copy = fs::read(&r.path).unwrap();
        assert_eq!(copy, original, "{journal:?}: the backup must be the database's bytes");
        assert_eq!(r.sha256, sha256_hex(&original));
        assert_eq!(r.source_sha256, r.sha256);
        assert_eq!(r.verdict, "MATCH");
        assert_eq!(r.bytes, original.len() as u64);
        assert_eq!(r.checkpointed, matches!(journal, Journal::Wal));
        let name = r.path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("hostile.db.backup-20"), "{name}");
        assert_eq!(name.len(), "hostile.db.backup-YYYYMMDD-HHMMSS".len(), "{name}");
        let leftovers: Vec<String> = snapshot(dir.path()).into_keys().filter(|n| n.ends_with(".partial")).collect();
        assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    }
}

#[test]
fn wal_content_is_checkpointed_into_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(dir.path(), "w.db", Journal::Wal, "CREATE TABLE t(x);");
    // Leave committed rows only in the WAL, as an application that crashed would.
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).unwrap();
    writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    writer.execute_batch("INSERT INTO t VALUES (1), (2), (3);").unwrap();
    drop(writer);
    let wal = dir.path().join("w.db-wal");
    assert!(fs::metadata(&wal).unwrap().len() > 0, "the rows must be in the WAL for this test");
    // The backup is of the database, not of a main file missing its WAL frames.
    let r = backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap();
    assert!(!wal.exists() || fs::metadata(&wal).unwrap().len() == 0, "the WAL was checkpointed");
    let conn = rusqlite::Connection::open(&r.path).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 3);
}

#[test]
fn a_second_backup_in_the_same_second_never_overwrites_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let first = backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap();
    let first_bytes = fs::read(&first.path).unwrap();
    let mut paths = vec![first.path.clone()];
    for _ in 0..3 {
        paths.push(backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap().path);
    }
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 4, "every backup gets its own file");
    assert_eq!(backup_files(dir.path()).len(), 4);
    assert_eq!(fs::read(&first.path).unwrap(), first_bytes);
}

#[test]
fn backup_dir_is_honoured_and_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let r = backup::run(&db, &BackupOptions { dir: Some(elsewhere.path().to_path_buf()) }, &mut |_| {}).unwrap();
    assert_eq!(r.path.parent().unwrap(), elsewhere.path());
    assert!(backup_files(dir.path()).is_empty());

    let missing = dir.path().join("no-such-folder");
    let err = backup::run(&db, &BackupOptions { dir: Some(missing.clone()) }, &mut |_| {}).unwrap_err();
    assert_eq!(err.exit_kind(), ExitKind::BadInput, "{err}");
    assert!(!missing.exists());
}

/// A process this one is starting holds, until it runs its program, copies of every descriptor
/// of this process: it is this process, not another one holding the database. Once it runs its
/// program it is scanned like any other (the holders above are such programs). The copy is
/// held in that state for a second and a half, so this runs in a process of its own: its copy
/// must not hold the files of the tests running beside it here.
#[cfg(target_os = "linux")]
#[test]
fn a_copy_of_this_process_about_to_start_a_program_is_not_another_holder() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "backup::a_copy_about_to_start_a_program", "--ignored", "--test-threads", "1"])
        .env("CUTOVER_TEST_ALONE", "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("1 passed"), "{said}{}", String::from_utf8_lossy(&out.stderr));
}

/// Run alone by the test above.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "run alone by a_copy_of_this_process_about_to_start_a_program_is_not_another_holder"]
fn a_copy_about_to_start_a_program() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("CUTOVER_TEST_ALONE").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let ours = rusqlite::Connection::open(&db).unwrap();
    ours.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).unwrap();
    let mut starting = std::process::Command::new("true");
    // SAFETY: the hook only sleeps (nanosleep is async-signal-safe) before the program starts.
    unsafe {
        starting.pre_exec(|| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            Ok(())
        });
    }
    let spawner = std::thread::spawn(move || starting.spawn().unwrap().wait().unwrap());
    // Wait until the copy exists and holds the database through the descriptors it shares.
    let db_inode = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&db).unwrap().ino()
    };
    let me = std::process::id();
    let mut copy = None;
    for _ in 0..100 {
        copy = fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            let parent: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            let holds = fs::read_dir(e.path().join("fd")).ok()?.flatten().any(|fd| {
                use std::os::unix::fs::MetadataExt;
                fs::metadata(fd.path()).is_ok_and(|m| m.ino() == db_inode)
            });
            (parent == me && holds).then_some(pid)
        });
        if copy.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let copy = copy.expect("the copy about to start a program holds the database");
    let found = cutover::engine::inuse::scan(&db).unwrap();
    assert!(!found.holders.iter().any(|h| h.pid == copy), "{found:?}");
    assert!(found.holders.is_empty(), "nobody else holds it: {found:?}");
    drop(ours);
    spawner.join().unwrap();
}

/// A process may hold the database in a thread of its own: one with a descriptor table of
/// its own (`unshare(CLONE_FILES)`), or one still running after the first thread has exited
/// (then `/proc/PID/fd` is empty). Both are holders.
#[cfg(target_os = "linux")]
#[test]
fn a_database_held_by_a_thread_of_another_process_is_in_use() {
    let holders = [
        // A thread with a descriptor table of its own.
        "import ctypes, sqlite3, sys, threading, time\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         def hold():\n\
         \x20   assert libc.unshare(0x400) == 0\n\
         \x20   c = sqlite3.connect(sys.argv[1]); c.execute('select count(*) from sqlite_schema').fetchone()\n\
         \x20   print('holding', flush=True); time.sleep(10)\n\
         threading.Thread(target=hold).start()\n",
        // The first thread gone, another still holding.
        "import ctypes, sqlite3, sys, threading, time\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         def hold():\n\
         \x20   c = sqlite3.connect(sys.argv[1]); c.execute('select count(*) from sqlite_schema').fetchone()\n\
         \x20   print('holding', flush=True); time.sleep(10); libc.syscall(231, 0)\n\
         threading.Thread(target=hold).start(); time.sleep(0.5); libc.syscall(60, 0)\n",
    ];
    for script in holders {
        let dir = tempfile::tempdir().unwrap();
        let db = hostile_db(dir.path(), Journal::Wal);
        let mut child = crate::common::python_until(script, &db, "holding");
        std::thread::sleep(std::time::Duration::from_millis(700));
        let found = cutover::engine::inuse::scan(&db).unwrap();
        let err = backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap_err();
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.holders.iter().any(|h| h.pid == child.id()), "{script}\n{found:?}");
        assert_eq!(err.exit_kind(), ExitKind::InUse, "{err}");
    }
}

/// A child of this process running this very program, that opened the database itself, is
/// another holder: only descriptors shared with this process through fork are not.
#[cfg(target_os = "linux")]
#[test]
fn a_child_running_this_program_that_opened_the_database_itself_is_a_holder() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Wal);
    let ours = rusqlite::Connection::open(&db).unwrap();
    ours.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "backup::hold_the_database_for_the_parent",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("CUTOVER_TEST_HOLD", &db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("holding"))), "the child holds the database");
    let found = cutover::engine::inuse::scan(&db).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(found.holders.iter().any(|h| h.pid == child.id()), "{found:?}");
}

/// Run by the test above in a child process: opens the database it is given and holds it.
#[test]
#[ignore = "run by a_child_running_this_program_that_opened_the_database_itself_is_a_holder"]
fn hold_the_database_for_the_parent() {
    let Some(db) = std::env::var_os("CUTOVER_TEST_HOLD") else { return };
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).unwrap();
    println!("holding");
    std::thread::sleep(std::time::Duration::from_secs(10));
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn backup_refuses_while_another_process_holds_the_database() {
    for journal in [Journal::Rollback, Journal::Wal] {
        for hold in [Hold::Idle, Hold::Reading, Hold::Writing] {
            let dir = tempfile::tempdir().unwrap();
            let db = hostile_db(dir.path(), journal);
            let holder = Holder::start(&db, hold);
            let before = fs::read(&db).unwrap();
            let err = backup::run(&db, &BackupOptions::default(), &mut |_| {}).unwrap_err();
            assert_eq!(err.exit_kind(), ExitKind::InUse, "{journal:?} {hold:?}: {err}");
            match &err {
                Error::InUse { holders, .. } => {
                    assert!(holders.iter().any(|h| h.pid == holder.pid()), "{journal:?} {hold:?}: {err}");
                    assert!(err.to_string().contains("stop the application first"));
                }
                other => panic!("{journal:?} {hold:?}: expected InUse, got {other}"),
            }
            assert_eq!(fs::read(&db).unwrap(), before, "{journal:?} {hold:?}: database changed");
            assert!(backup_files(dir.path()).is_empty(), "{journal:?} {hold:?}: a backup was left");
        }
    }
}

// Python stands in for the shop's application; chattr and mount are Linux tools.
#[cfg(unix)]
#[test]
fn lock_probe_names_a_process_in_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let holder = Holder::start(&db, Hold::Reading);
    let pid = cutover::engine::inuse::lock_probe(&db).unwrap();
    assert_eq!(pid, Some(holder.pid() as i32));
    drop(holder);
    assert_eq!(cutover::engine::inuse::lock_probe(&db).unwrap(), None);
}
