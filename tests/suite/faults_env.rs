//! The world around the database going wrong: a disk that is too small or fills up for real
//! (a tmpfs mounted by the test), and the shop's application still running while a writing
//! command is tried.
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::state;
use crate::common::{Hold, Holder, Journal, make_db, snapshot};

fn cutover(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

/// A tmpfs of `mib` MiB mounted at a fresh folder, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(std::env::var_os("CUTOVER_REQUIRE_MOUNT").is_none(), "mounting a tmpfs is required here");
            state::report("disk-full tests SKIPPED: mounting a tmpfs is not permitted on this machine");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}

/// A database of about `rows` × 1 KiB.
fn sized_db(dir: &Path, rows: u32) -> PathBuf {
    make_db(
        dir,
        "pos.db",
        Journal::Rollback,
        &format!(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
             CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO blobs (data) SELECT randomblob(1000) FROM n;"
        ),
    )
}

fn partials(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .into_keys()
        .filter(|n| n.contains("partial") || n.contains(".backup-") || n.contains("rehearsal"))
        .collect()
}

#[test]
fn a_disk_too_small_is_refused_up_front() {
    let Some(disk) = SmallDisk::mount(4) else { return };
    let db = sized_db(disk.path(), 2500); // about 2.6 MiB on a 4 MiB disk: no room for a copy
    let before = snapshot(disk.path());
    for args in [vec!["backup"], vec!["execute", "--tenant", "acme", "--yes"]] {
        let out = cutover(&args, &db);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not enough free disk"), "{args:?}");
        assert_eq!(snapshot(disk.path()), before, "{args:?}: nothing may be written");
    }
}

#[test]
fn both_faces_refuse_a_run_the_disk_cannot_hold_before_the_backup_with_the_preflights_estimate() {
    // Room for a backup (the copy and its margin) but not for the whole run (the backup, the
    // rehearsal copy and the index): the wizard and the command line refuse alike, before
    // writing anything. The wizard, which backs up before it plans, names the figure its first
    // screen showed; the command line plans first and names the plan's own figure.
    let Some(disk) = SmallDisk::mount(8) else { return };
    let db = sized_db(disk.path(), 2500);
    let before = snapshot(disk.path());
    let audit = cutover(&["audit", "--json"], &db);
    let facts: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let needed = facts["preflight"]["needed_disk"].as_u64().unwrap();
    assert_eq!(facts["preflight"]["enough_disk"], false, "{facts}");
    let shown = cutover::engine::error::human_bytes(needed);

    let out = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not enough free disk"), "{stderr}");
    assert_eq!(
        snapshot(disk.path()).into_keys().filter(|n| !n.contains(".cutover")).collect::<Vec<_>>(),
        before.keys().cloned().collect::<Vec<_>>(),
        "the command line wrote nothing"
    );

    let mut app = cutover::tui::app::App::new(db.clone(), None, cutover::tui::theme::Theme::new(false));
    crate::common::wizard::start(&mut app);
    crate::common::wizard::press(&mut app, ratatui::crossterm::event::KeyCode::Enter);
    crate::common::wizard::press(&mut app, ratatui::crossterm::event::KeyCode::Enter);
    assert!(app.prepared.backup.is_none(), "the wizard made no backup");
    let Some(cutover::tui::dialogs::Modal::Error { message, .. }) = &app.view.modal else {
        panic!("the wizard must refuse: {:?}", app.view.modal)
    };
    assert!(message.contains("not enough free disk") && message.contains(&format!("{shown} needed")), "{message}");
    assert_eq!(
        snapshot(disk.path()).into_keys().filter(|n| !n.contains(".cutover")).collect::<Vec<_>>(),
        before.into_keys().collect::<Vec<_>>(),
        "nothing but the records folder may be written"
    );

    let alone = cutover(&["backup"], &db);
    assert!(alone.status.success(), "a backup alone fits: {}", String::from_utf8_lossy(&alone.stderr));
}

#[test]
fn a_run_whose_index_the_disk_cannot_hold_is_refused_before_its_backup() {
    // Small rows and a long tenant value: the new index is far larger than a quarter of the
    // file. The estimate from the plan (rows × the tenant value) refuses before anything is
    // written; a dry run alone is refused before its copy.
    let Some(disk) = SmallDisk::mount(8) else { return };
    let tenant = "3f2b8c1e-9a4d-4e7b-b6a1-0c9d8e7f6a5b";
    let db = make_db(
        disk.path(),
        "pos.db",
        Journal::Rollback,
        &format!(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('{tenant}');
             CREATE TABLE t (a INTEGER);
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 120000)
             INSERT INTO t SELECT x % 100 FROM c;"
        ),
    );
    let before = snapshot(disk.path());
    for args in [vec!["execute", "--tenant", tenant, "--yes"], vec!["dry-run", "--tenant", tenant]] {
        let out = cutover(&args, &db);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("not enough free disk"), "{args:?}: {stderr}");
        let after: Vec<String> = snapshot(disk.path()).into_keys().filter(|n| !n.contains(".cutover")).collect();
        let was: Vec<String> = before.keys().cloned().collect();
        // The dry run makes its backup first (a backup fits), then refuses before its copy.
        let extra: Vec<&String> = after.iter().filter(|n| !was.contains(n)).collect();
        if args[0] == "execute" {
            assert!(extra.is_empty(), "execute wrote {extra:?} before refusing");
        } else {
            assert!(extra.iter().all(|n| n.contains(".backup-") && !n.contains("partial")), "{extra:?}");
        }
    }
    let out = cutover(&["--json", "execute", "--tenant", tenant, "--yes"], &db);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["refusal"], "disk_space", "{v}");
    assert!(v["needed"].as_u64().unwrap() > v["available"].as_u64().unwrap(), "{v}");
}

#[test]
fn a_disk_that_fills_up_mid_way_leaves_nothing_behind() {
    let Some(disk) = SmallDisk::mount(8) else { return };
    let home = tempfile::tempdir().unwrap();
    let db = sized_db(home.path(), 3000); // about 3 MiB; the backup goes to the small disk
    let original = state::sha(&db);
    let mut outcomes = (0, 0, 0);
    for round in 0..10u64 {
        // Another program fills the disk while the backup runs, starting a little later each
        // round: the backup is refused up front, or hits ENOSPC in the middle, or fits; either
        // way nothing half-written may stay.
        let filler = disk.path().join(format!("app-log-{round}"));
        let backup = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["backup", "--backup-dir"])
            .arg(disk.path())
            .arg(&db)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(round * 3));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&filler).unwrap();
            let block = vec![0u8; 64 << 10];
            while f.write_all(&block).is_ok() {}
        }
        let out = backup.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            outcomes.0 += 1;
        } else {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            if stderr.contains("No space left") {
                outcomes.1 += 1;
            } else {
                assert!(stderr.contains("not enough free disk"), "{stderr}");
                outcomes.2 += 1;
            }
        }
        for name in snapshot(disk.path()).into_keys() {
            assert!(!name.contains("partial"), "a partial backup was left: {name}");
            if name.contains(".backup-") {
                assert_eq!(state::sha(&disk.path().join(&name)), original, "a backup on disk must be whole");
            }
        }
        assert_eq!(state::sha(&db), original, "the database is untouched");
        std::fs::remove_file(&filler).unwrap();
        for name in snapshot(disk.path()).into_keys().filter(|n| n.contains(".backup-")) {
            std::fs::remove_file(disk.path().join(name)).unwrap();
        }
    }
    state::report(&format!(
        "disk filling up: {} backups fitted, {} hit ENOSPC mid-way and cleaned up, {} refused up front",
        outcomes.0, outcomes.1, outcomes.2
    ));
}

#[test]
fn every_writing_command_refuses_while_the_application_runs() {
    let mut tried = 0;
    for journal in [Journal::Rollback, Journal::Wal] {
        for hold in [Hold::Idle, Hold::Reading, Hold::Writing] {
            let dir = tempfile::tempdir().unwrap();
            let db = crate::common::hostile_db(dir.path(), journal);
            // A migrated twin, so rollback has something to roll back.
            let twin_dir = tempfile::tempdir().unwrap();
            let twin = twin_dir.path().join("hostile.db");
            std::fs::copy(&db, &twin).unwrap();
            assert!(cutover(&["execute", "--tenant", "acme", "--yes"], &twin).status.success());

            for (target, args) in [
                (&db, vec!["backup"]),
                (&db, vec!["dry-run", "--tenant", "acme"]),
                (&db, vec!["execute", "--tenant", "acme", "--yes"]),
                (&twin, vec!["rollback", "--yes"]),
            ] {
                let holder = Holder::start(target, hold);
                let folder = target.parent().unwrap();
                let before = snapshot(folder);
                let out = cutover(&args, target);
                let what = format!("{journal:?} {hold:?} {args:?}");
                assert_eq!(out.status.code(), Some(3), "{what}: {}", String::from_utf8_lossy(&out.stderr));
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(&format!("pid {} (python3)", holder.pid())), "{what}: {stderr}");
                let after = snapshot(folder);
                for (name, bytes) in &before {
                    // The application's own side files may change; the database and backups may not.
                    if !name.ends_with("-wal")
                        && !name.ends_with("-shm")
                        && !name.ends_with("-journal")
                        && !name.ends_with(".log")
                    {
                        assert_eq!(after.get(name), Some(bytes), "{what}: {name} changed");
                    }
                }
                assert!(partials(folder).len() <= before.keys().filter(|n| n.contains(".backup-")).count(), "{what}");
                tried += 1;
            }
        }
    }
    state::report(&format!("application running: {tried} refusals checked"));
}

#[test]
fn a_demo_that_does_not_fit_leaves_no_half_database() {
    let Some(disk) = SmallDisk::mount(2) else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["demo", "--dir"])
        .arg(disk.path())
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let left: Vec<String> = snapshot(disk.path()).into_keys().collect();
    if out.status.success() {
        // It fitted after all: then it is whole.
        assert_eq!(state::integrity(&disk.path().join("pos.db")), "ok");
    } else {
        assert!(!left.iter().any(|n| n == "pos.db"), "no half-built database under the real name: {left:?}");
        assert!(!left.iter().any(|n| n.contains("partial")), "{left:?}");
    }
}
