//! Rollback where the file lives makes a restore by renaming hard: a file mounted on its own
//! (refused up front, from either side of the mount), extended attributes kept, a process
//! namespace of its own (cannot say "not in use"), a rollback cut off around its swap, and a
//! volume without hard links. Each case ran wrong once.
// These need Linux: mounts, namespaces, FUSE, Python as the shop's application.
#![cfg(unix)]
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::shop::{EXECUTE, app_writes, cutover, executed, kept_files, root_or_skip, small_shop, text};
use crate::common::{Journal, snapshot, state};

/// A file bind-mounted on its own (as container volumes do), unmounted on drop.
struct BindMount(PathBuf);

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

#[test]
fn a_database_mounted_on_its_own_is_refused_before_the_execute() {
    if !root_or_skip("the bind-mount test") {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    let real = small_shop(host.path(), Journal::Wal);
    let container = tempfile::tempdir().unwrap();
    let db = container.path().join("pos.db");
    fs::write(&db, b"").unwrap();
    let ok = Command::new("mount").arg("--bind").arg(&real).arg(&db).output().is_ok_and(|o| o.status.success());
    if !ok {
        state::report("the bind-mount test SKIPPED: mount --bind is not permitted here");
        return;
    }
    let _mount = BindMount(db.clone());
    let before = (fs::read(&real).unwrap(), snapshot(container.path()));
    let out = cutover(&EXECUTE, &db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mounted on its own"), "{}", text(&out));
    assert_eq!((fs::read(&real).unwrap(), snapshot(container.path())), before, "nothing written");
}

#[test]
fn a_file_bind_mounted_elsewhere_is_refused_from_the_host_side_too() {
    if !root_or_skip("the host-side bind-mount test") {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    let real = small_shop(host.path(), Journal::Wal);
    let container = tempfile::tempdir().unwrap();
    let inside = container.path().join("pos.db");
    fs::write(&inside, b"").unwrap();
    let ok = Command::new("mount").arg("--bind").arg(&real).arg(&inside).output().is_ok_and(|o| o.status.success());
    if !ok {
        state::report("the host-side bind-mount test SKIPPED: mount --bind is not permitted here");
        return;
    }
    let _mount = BindMount(inside.clone());
    let before = snapshot(host.path());
    let out = cutover(&EXECUTE, &real);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("also mounted on its own"), "{}", text(&out));
    assert_eq!(snapshot(host.path()), before, "nothing written");
}

#[test]
fn the_restored_file_keeps_its_extended_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    // An access list or a security label lives in an extended attribute; a user one stands in.
    let set = Command::new("python3")
        .args(["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.cutover-test', b'pos-app:rw')"])
        .arg(&db)
        .output()
        .unwrap();
    if !set.status.success() {
        state::report("the extended-attribute test SKIPPED: this file system has no user attributes");
        return;
    }
    assert!(cutover(&EXECUTE, &db).status.success());
    assert!(cutover(&["rollback", "--yes"], &db).status.success());
    let got = Command::new("python3")
        .args(["-c", "import os, sys; print(os.getxattr(sys.argv[1], 'user.cutover-test').decode())"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "pos-app:rw", "{}", text(&got));
}

#[test]
fn inside_a_process_namespace_of_its_own_cutover_cannot_say_not_in_use() {
    if !root_or_skip("the pid-namespace test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = small_shop(dir.path(), Journal::Rollback);
    let before = snapshot(dir.path());
    let run = |extra: &[&str]| {
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(env!("CARGO_BIN_EXE_cutover"))
            .arg("backup")
            .args(extra)
            .arg(&db)
            .env_remove("CUTOVER_CONFIRM_STOPPED")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    if String::from_utf8_lossy(&out.stderr).contains("unshare failed") {
        state::report("the pid-namespace test SKIPPED: unshare is not permitted here");
        return;
    }
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("process namespace of its own"), "{}", text(&out));
    assert_eq!(snapshot(dir.path()), before, "nothing changed");
    assert!(run(&["--confirm-stopped"]).status.success());
}

/// Puts `db` in the state a rollback leaves when it is killed right after its swap: the
/// journal says it started, the migrated file has its second name, the backup is in place.
fn rollback_cut_off_after_its_swap(db: &Path, fallback_rename: bool) -> PathBuf {
    use cutover::engine::journal::{self, Event};
    let entries = journal::read(db).unwrap();
    let x = journal::standing(&entries).execute.unwrap();
    let migrated = PathBuf::from(format!("{}.migrated-20261201-000000", db.display()));
    journal::append(
        db,
        Event::RollbackStarted {
            backup_path: x.backup.path.clone(),
            sha256: x.backup.sha256.clone(),
            migrated_path: migrated.clone(),
        },
    )
    .unwrap();
    if fallback_rename {
        // A file system without hard links: the database is renamed aside; cut off here.
        fs::rename(db, &migrated).unwrap();
    } else {
        fs::hard_link(db, &migrated).unwrap();
        let restored = db.with_extension("restoring");
        fs::copy(&x.backup.path, &restored).unwrap();
        fs::rename(&restored, db).unwrap();
    }
    migrated
}

#[test]
fn a_rollback_cut_off_after_its_swap_is_told_as_rolled_back_even_after_a_sale() {
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let (db, original) = executed(dir.path(), journal);
        rollback_cut_off_after_its_swap(&db, false);
        assert_eq!(fs::read(&db).unwrap(), original);
        app_writes(&db, "INSERT INTO items (sku, name) VALUES ('J1', 'sold after the restore')");
        let out = cutover(&["verify"], &db);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("rolled back"), "{journal:?}: {}", text(&out));
        let after_sale = fs::read(&db).unwrap();
        let out = cutover(&["rollback", "--yes"], &db);
        assert_eq!(out.status.code(), Some(2), "{journal:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("already rolled back"), "{}", text(&out));
        assert_eq!(fs::read(&db).unwrap(), after_sale, "{journal:?}: the sale stays");
    }
}

#[test]
fn a_rollback_cut_off_after_moving_the_database_aside_puts_it_back_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, original) = executed(dir.path(), Journal::Rollback);
    let migrated_before = fs::read(&db).unwrap();
    let moved = rollback_cut_off_after_its_swap(&db, true);
    assert!(!db.exists());
    let out = cutover(&["verify"], &db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("cut off") && said.contains(&moved.display().to_string()), "{said}");
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original, "restored");
    let kept = kept_files(dir.path(), ".migrated-");
    assert!(
        kept.iter().any(|k| fs::read(dir.path().join(k)).is_ok_and(|b| b == migrated_before)),
        "the migrated database is kept: {kept:?}"
    );
}

/// An exFAT volume (no hard links, as on the shop's USB sticks) in an image file, mounted with
/// FUSE at a fresh folder; unmounted on drop.
struct ExFat {
    dir: tempfile::TempDir,
    image: PathBuf,
    device: String,
}

impl ExFat {
    fn mount() -> Option<ExFat> {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("stick.img");
        let mnt = dir.path().join("stick");
        fs::create_dir(&mnt).unwrap();
        let run = |cmd: &mut Command| cmd.output().ok().filter(|o| o.status.success());
        run(Command::new("truncate").args(["-s", "64M"]).arg(&image))?;
        run(Command::new("mkfs.exfat").arg(&image))?;
        let out = run(Command::new("losetup").args(["-f", "--show"]).arg(&image))?;
        let device = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if run(Command::new("mount.exfat-fuse").arg(&device).arg(&mnt)).is_none() {
            let _ = Command::new("losetup").args(["-d", &device]).output();
            return None;
        }
        Some(ExFat { dir, image, device })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("stick")
    }
}

impl Drop for ExFat {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).output();
        let _ = Command::new("losetup").args(["-d", &self.device]).output();
        let _ = fs::remove_file(&self.image);
    }
}

#[test]
fn a_volume_without_hard_links_backs_up_executes_and_rolls_back() {
    if !root_or_skip("the exFAT test") {
        return;
    }
    let Some(stick) = ExFat::mount() else {
        assert!(std::env::var_os("CUTOVER_REQUIRE_EXFAT").is_none(), "an exFAT volume is required here");
        state::report("the exFAT test SKIPPED: no loop device, exfat-fuse or mkfs.exfat here");
        return;
    };
    let db = small_shop(&stick.path(), Journal::Rollback);
    let original = fs::read(&db).unwrap();
    assert!(fs::hard_link(&db, stick.path().join("probe")).is_err(), "exFAT has no hard links");
    let out = cutover(&EXECUTE, &db);
    assert!(out.status.success(), "{}", text(&out));
    let out = cutover(&["rollback", "--yes"], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&db).unwrap(), original);
    assert!(kept_files(&stick.path(), ".migrated-").iter().any(|n| !n.ends_with("-wal")), "the migrated file is kept");
}
