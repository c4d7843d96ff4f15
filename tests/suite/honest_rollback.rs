//! Rollback never claims what is not so: it never silently discards the shop's new work, it
//! restores the real file behind a symlink, it never replays a stale WAL, it holds the file
//! while it swaps it, it works from any folder, and it refuses up front where a restore by
//! rename cannot work. Each case ran wrong once; each runs in both journal modes.
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::shop::{EXECUTE, executed, kept_files};
use crate::common::shop::{
    app_writes, app_writes_then_crashes, count, cutover, cutover_in, has_column, json, small_shop, strace_or_skip, text,
};
use crate::common::{Journal, snapshot, state};

#[test]
fn a_sale_after_the_execute_is_never_discarded_silently() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let (db, original) = executed(dir.path(), journal);
        app_writes(&db, "INSERT INTO items (sku, name) VALUES ('D4', 'gasket'); DELETE FROM customers WHERE id = 2");
        let before = snapshot(dir.path());

        let out = cutover(&["rollback", "--yes", "--json"], &db);
        assert_eq!(out.status.code(), Some(1), "{journal:?}: {}", text(&out));
        let v = json(&out);
        let error = v["error"].as_str().unwrap();
        assert!(error.contains("changed since the execute"), "{journal:?}: {error}");
        assert!(error.contains("items: 1 row added"), "{journal:?}: {error}");
        assert!(error.contains("customers: 1 row removed"), "{journal:?}: {error}");
        assert!(error.contains("--discard-changes"), "{journal:?}: {error}");
        let items = v["changes"].as_array().unwrap().iter().find(|c| c["table"] == "items").unwrap();
        assert_eq!((items["added"].as_u64(), items["removed"].as_u64()), (Some(1), Some(0)), "{v}");
        assert_eq!(
            snapshot(dir.path()).into_iter().filter(|(n, _)| !n.ends_with(".log")).collect::<Vec<_>>(),
            before.into_iter().filter(|(n, _)| !n.ends_with(".log")).collect::<Vec<_>>(),
            "{journal:?}: a refused rollback changes nothing"
        );
        assert_eq!(count(&db, "items"), 4, "{journal:?}: the sale is still there");

        // The technician decides to discard them: the file is restored, and what was discarded
        // is said and kept.
        let out = cutover(&["rollback", "--yes", "--discard-changes"], &db);
        assert!(out.status.success(), "{journal:?}: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("discarded") && said.contains("items: 1 row added"), "{journal:?}: {said}");
        assert_eq!(fs::read(&db).unwrap(), original, "{journal:?}: restored to the original bytes");
        let kept = kept_files(dir.path(), ".migrated-");
        let kept_db = dir.path().join(kept.iter().find(|n| !n.ends_with("-wal") && !n.ends_with("-shm")).unwrap());
        assert_eq!(count(&kept_db, "items"), 4, "{journal:?}: the discarded sale is kept in {kept_db:?}");
    }
}

#[test]
fn a_second_rollback_and_a_rollback_without_an_execute_are_refused() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let (db, original) = executed(dir.path(), journal);
        assert!(cutover(&["rollback", "--yes"], &db).status.success());
        assert_eq!(fs::read(&db).unwrap(), original);
        // The shop trades on the restored database; a second rollback would file it as "the
        // migrated database" and discard the sale.
        app_writes(&db, "INSERT INTO items (sku, name) VALUES ('E5', 'shim')");
        let after_sale = fs::read(&db).unwrap();
        let out = cutover(&["rollback", "--yes"], &db);
        assert_eq!(out.status.code(), Some(2), "{journal:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("already rolled back"), "{}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), after_sale, "{journal:?}");
        // Forced, it still names what it would discard.
        let out = cutover(&["rollback", "--yes", "--force"], &db);
        assert_eq!(out.status.code(), Some(1), "{journal:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("items: 1 row added"), "{}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), after_sale, "{journal:?}");

        // A bare backup, no execute: nothing to roll back.
        let dir = tempfile::tempdir().unwrap();
        let db = small_shop(dir.path(), journal);
        assert!(cutover(&["backup"], &db).status.success());
        app_writes(&db, "INSERT INTO items (sku, name) VALUES ('F6', 'pin')");
        let after_sale = fs::read(&db).unwrap();
        let out = cutover(&["rollback", "--yes"], &db);
        assert_eq!(out.status.code(), Some(2), "{journal:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no execute"), "{}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), after_sale, "{journal:?}");
        assert_eq!(count(&db, "items"), 4);
    }
}

#[test]
fn verify_after_the_shop_traded_says_changed_never_run_rollback() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = executed(dir.path(), journal);
        app_writes(&db, "INSERT INTO items (sku, name) VALUES ('D4', 'gasket')");
        let out = cutover(&["verify"], &db);
        let said = text(&out);
        assert!(said.contains("changed since the execute"), "{journal:?}: {said}");
        assert!(said.contains("items: 1 row added"), "{journal:?}: {said}");
        assert!(
            !said.contains("rollback") || said.contains("discard"),
            "{journal:?}: never steer into the loss: {said}"
        );
        assert!(out.status.success(), "{journal:?}: the migration itself is intact: {said}");
    }
}

#[test]
fn verify_with_a_damaged_backup_never_calls_a_sale_a_broken_migration() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = executed(dir.path(), Journal::Wal);
    let backup = state::recorded_backups(&db).pop().unwrap().0;
    let mut bytes = fs::read(&backup).unwrap();
    bytes[5000] ^= 0xff;
    fs::write(&backup, bytes).unwrap();
    app_writes(&db, "INSERT INTO items (sku, name) VALUES ('D4', 'gasket')");
    let out = cutover(&["verify"], &db);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "not verified: {said}");
    assert!(said.contains("changed since the execute") && said.contains("cannot be told"), "{said}");
    assert!(!said.contains("no longer holds"), "a sale is not a broken migration: {said}");
    assert!(!said.contains("--discard-changes"), "never steer into a rollback that cannot run: {said}");
}

#[test]
fn a_symlinked_database_restores_the_real_file() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let app = root.path().join("app");
        fs::create_dir_all(&data).unwrap();
        fs::create_dir_all(&app).unwrap();
        let real = small_shop(&data, journal);
        let original = fs::read(&real).unwrap();
        let link = app.join("pos.db");
        std::os::unix::fs::symlink("../data/pos.db", &link).unwrap();

        let out = cutover(&EXECUTE, &link);
        assert!(out.status.success(), "{journal:?}: {}", text(&out));
        assert!(has_column(&real, "items", "tenant_id"));
        let out = cutover(&["rollback", "--yes"], &link);
        assert!(out.status.success(), "{journal:?}: {}", text(&out));
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "{journal:?}: the link stays a link");
        assert_eq!(fs::read(&real).unwrap(), original, "{journal:?}: the application's real file is restored");
        let kept = kept_files(&data, ".migrated-");
        let kept_db = data.join(kept.iter().find(|n| !n.contains("-wal") && !n.contains("-shm")).unwrap());
        assert!(!fs::symlink_metadata(&kept_db).unwrap().file_type().is_symlink(), "{journal:?}: kept as a file");
        assert!(has_column(&kept_db, "items", "tenant_id"), "{journal:?}: the kept file is the migrated one");
        assert!(kept_files(&app, ".migrated-").is_empty(), "{journal:?}: nothing is filed beside the link");
    }
}

#[test]
fn a_database_with_a_second_hard_link_is_refused_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    fs::hard_link(&db, dir.path().join("pos-copy.db")).unwrap();
    let before = snapshot(dir.path());
    let out = cutover(&EXECUTE, &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hard link"), "{}", text(&out));
    assert_eq!(snapshot(dir.path()), before);

    // A link made after the execute: the rollback is refused and says why.
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = executed(dir.path(), Journal::Rollback);
    fs::hard_link(&db, dir.path().join("pos-copy.db")).unwrap();
    let migrated = fs::read(&db).unwrap();
    let out = cutover(&["rollback", "--yes"], &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hard link"), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), migrated);
}

#[test]
fn a_stale_wal_is_never_replayed_onto_the_restored_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (db, original) = executed(dir.path(), Journal::Wal);
    // The application writes (its change only in the -wal) and dies; then someone moves the
    // main file aside, leaving the -wal and -shm behind.
    app_writes_then_crashes(&db, "INSERT INTO items (sku, name) VALUES ('G7', 'clip')");
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(fs::metadata(&wal).unwrap().len() > 0);
    fs::rename(&db, dir.path().join("moved-away.db")).unwrap();
    let before = snapshot(dir.path());

    let out = cutover(&["rollback", "--yes"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("missing") && said.contains("-wal"), "{said}");
    assert_eq!(
        snapshot(dir.path()).into_iter().filter(|(n, _)| !n.ends_with(".log")).collect::<Vec<_>>(),
        before.into_iter().filter(|(n, _)| !n.ends_with(".log")).collect::<Vec<_>>(),
        "nothing changed"
    );

    let out = cutover(&["rollback", "--yes", "--discard-changes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!wal.exists(), "the stale -wal was set aside");
    assert_eq!(fs::read(&db).unwrap(), original, "the restored file is the backup");
    assert_eq!(state::integrity(&db), "ok");
    assert!(!has_column(&db, "items", "tenant_id"), "no migrated page came back from the stale -wal");
    assert_eq!(count(&db, "items"), 3);
    assert!(!kept_files(dir.path(), "-wal").is_empty(), "the stale -wal is kept aside, not deleted");
}

#[test]
fn a_write_during_the_rollback_is_never_lost() {
    if !strace_or_skip("the rollback race test") {
        return;
    }
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = executed(dir.path(), journal);
        // Every rename of the rollback is held back 3 s; meanwhile the application starts and
        // writes a sale (waiting up to 30 s for a lock, as applications do).
        let rollback = crate::common::shop::rollback_with_slow_renames(&db, &[]);
        std::thread::sleep(Duration::from_millis(1500));
        let writer = Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n\
                 c.execute(\"INSERT INTO items (sku, name) VALUES ('RACE', 'sale during rollback')\")\nc.close()\nprint('committed')\n",
            )
            .arg(&db)
            .output()
            .unwrap();
        let rollback = rollback.wait_with_output().unwrap();
        let committed = String::from_utf8_lossy(&writer.stdout).contains("committed");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let present: i64 = conn.query_row("SELECT count(*) FROM items WHERE sku = 'RACE'", [], |r| r.get(0)).unwrap();
        state::report(&format!(
            "rollback race {journal:?}: rollback exit {:?}, sale committed {committed}, sale in the database {present}",
            rollback.status.code()
        ));
        if committed {
            assert_eq!(
                present,
                1,
                "{journal:?}: the application committed a sale that is not in the database: {}",
                text(&rollback)
            );
        }
        if rollback.status.success() {
            assert!(!committed || present == 1, "{journal:?}");
        } else {
            assert_eq!(rollback.status.code(), Some(3), "{journal:?}: {}", text(&rollback));
        }
    }
}

#[test]
fn rollback_works_from_any_folder() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let root = tempfile::tempdir().unwrap();
        let shop = root.path().join("shop");
        let elsewhere = root.path().join("elsewhere");
        fs::create_dir_all(&shop).unwrap();
        fs::create_dir_all(&elsewhere).unwrap();
        let db = small_shop(&shop, journal);
        let original = fs::read(&db).unwrap();
        let out = cutover_in(&shop, &["execute", "pos.db", "--tenant", "acme", "--yes", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let backup = json(&out)["backup"]["path"].as_str().unwrap().to_string();
        assert!(Path::new(&backup).is_absolute(), "{journal:?}: the backup is recorded by its full path: {backup}");

        let abs = db.to_str().unwrap();
        let out = cutover_in(&elsewhere, &["rollback", abs, "--backup", &backup, "--yes"]);
        assert!(out.status.success(), "{journal:?}: {}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), original);
        // Relative from yet another folder, naming the backup relatively too.
        let out = cutover_in(&shop, &EXECUTE.iter().copied().chain(["pos.db"]).collect::<Vec<_>>());
        assert!(out.status.success(), "{}", text(&out));
        let out = cutover_in(&elsewhere, &["rollback", "../shop/pos.db", "--yes"]);
        assert!(out.status.success(), "{journal:?}: {}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), original);
    }
}

#[test]
fn a_column_named_rowid_does_not_hide_a_new_row_from_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::make_db(
        dir.path(),
        "pos.db",
        Journal::Wal,
        "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
         CREATE TABLE tills (RowId TEXT, item TEXT, qty INT); INSERT INTO tills VALUES ('t1', 'bolt', 1);",
    );
    assert!(cutover(&EXECUTE, &db).status.success());
    // The same sale rung up twice: a row identical to one already there.
    app_writes(&db, "INSERT INTO tills (RowId, item, qty) VALUES ('t1', 'bolt', 1)");
    let out = cutover(&["rollback", "--yes"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tills: 1 row added"), "{}", text(&out));
    assert_eq!(count(&db, "tills"), 2);
}

#[test]
fn restoring_an_older_backup_names_everything_it_would_discard() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let out = cutover(&["backup", "--json"], &db);
    let older = json(&out)["path"].as_str().unwrap().to_string();
    app_writes(&db, "INSERT INTO items (sku, name) VALUES ('H8', 'sold before the execute')");
    assert!(cutover(&EXECUTE, &db).status.success());
    let before = fs::read(&db).unwrap();
    let out = cutover(&["rollback", "--backup", &older, "--yes", "--json"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert!(v["error"].as_str().unwrap().contains("items: 1 row added"), "{v}");
    assert_eq!(fs::read(&db).unwrap(), before, "nothing changed");
    assert_eq!(count(&db, "items"), 4);
}
