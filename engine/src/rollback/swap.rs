//! The swap itself: the backup copied beside the database, the database given a second name
//! and its side files moved beside that, and the way back if anything goes wrong.

use crate::shown::shown;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::backup_ref::BackupRef;
use crate::error::{Error, Result};
use crate::hashing::rehash;
use crate::hold::Hold;
use crate::inuse::{self, Holder};
use crate::progress::Progress;
use crate::refusal::Refusal;
use crate::{durable, hashing, paths, platform};

/// The names a swap works on.
pub(super) struct Swap<'a> {
    /// The database.
    pub db: &'a Path,
    /// Its folder.
    pub dir: &'a Path,
    /// The second name the current database gets.
    pub migrated: &'a Path,
    /// What the current database hashed to when it was compared.
    pub current_sha256: &'a str,
}

/// Why a swap stopped, and where that left the names.
pub(super) enum Stopped {
    /// The names are as they were before the swap began, but for `left`: the database's
    /// second name, which the system would not remove while a program held the file.
    Undone {
        /// What stopped it.
        error: Error,
        /// The second name still on the live database.
        left: Option<PathBuf>,
    },
    /// Stopped before the database got its second name: nothing to undo.
    Before(Error),
    /// The backup is in place; what failed came after it.
    After(Error),
}

impl Stopped {
    fn before(error: Error) -> Box<Stopped> {
        Box::new(Stopped::Before(error))
    }

    fn after(error: Error) -> Box<Stopped> {
        Box::new(Stopped::After(error))
    }
}

/// The swap while the database is still held (a file may be renamed while open): no one can
/// write to it; a process that opened the old file before or during the swap makes it undo.
pub(super) fn swap_held(
    mut hold: Hold,
    partial: tempfile::NamedTempFile,
    s: &Swap<'_>,
    progress: &mut dyn FnMut(Progress),
) -> std::result::Result<(), Box<Stopped>> {
    let old = [(file_id(s.db).map_err(Stopped::before)?, s.migrated.to_path_buf())];
    hold.keep_wal(true).map_err(Stopped::before)?;
    let undone = |hold: &mut Hold, error: Error, left: Option<PathBuf>| {
        // The names are back as they were: the WAL may go with the connection again.
        let _ = hold.keep_wal(false);
        Err(Box::new(Stopped::Undone { error, left }))
    };
    let aside = match set_aside(s.db, s.migrated, s.dir) {
        Ok(a) => a,
        Err(stopped) => {
            let _ = hold.keep_wal(false);
            return Err(stopped);
        }
    };
    if let Some(err) = opened_meanwhile(s.db, &old) {
        let left = aside.undo(s.db, s.dir);
        return undone(&mut hold, err, left);
    }
    progress(Progress::Step("putting the backup in place".into()));
    // Fenced from its first moment under the database's name until the swap stands or is
    // undone: a program that opens it in between can write nothing a swap back would hide.
    let restored = partial.into_temp_path();
    let fence = match platform::Fence::open(&restored) {
        Ok(f) => f,
        Err(e) => {
            let left = aside.undo(s.db, s.dir);
            return undone(&mut hold, Error::io("fencing the restored copy", e), left);
        }
    };
    match durable::name_replacing(restored, s.db, s.dir) {
        Ok(()) => {}
        Err(durable::NamingError::Rename(_, e)) => {
            let left = aside.undo(s.db, s.dir);
            let error = Error::io(format!("renaming the restored copy to {}", shown(s.db)), e);
            return undone(&mut hold, error, left);
        }
        Err(durable::NamingError::Flush(e)) => {
            let what = format!("flushing {} (fsync) after putting the backup in place", shown(s.dir));
            return Err(Stopped::after(Error::io(what, e)));
        }
    }
    // Someone who opened the old file before the swap would write to it once we let go.
    if let Some(err) = opened_meanwhile(s.db, &old) {
        aside.undo_swap(s.db, s.dir);
        drop(fence);
        return undone(&mut hold, err, None);
    }
    drop(fence);
    hold.release().map_err(Stopped::after)?;
    // The replaced file's WAL came along empty and stayed because the swap stood: nobody has
    // that file open (checked just now), so an empty one is only clutter.
    for suffix in ["-wal", "-shm"] {
        let side = paths::side_file(s.migrated, suffix);
        if fs::metadata(&side).is_ok_and(|m| m.len() == 0) {
            let _ = fs::remove_file(&side);
        }
    }
    Ok(())
}

/// The swap where an open file cannot be renamed (Windows): SQLite's handles close, a guard
/// that lets others read but never write takes their place while the database is re-hashed and
/// set aside, and goes just before the rename. The rename itself fails while anyone holds the
/// database; afterwards the old file must still hash as it was compared, or a write landed in
/// that moment and the swap is undone.
pub(super) fn swap_released(
    hold: Hold,
    partial: tempfile::NamedTempFile,
    s: &Swap<'_>,
    progress: &mut dyn FnMut(Progress),
) -> std::result::Result<(), Box<Stopped>> {
    hold.release().map_err(Stopped::before)?;
    let held = |db: &Path| Error::OpenedDuringRollback {
        path: db.to_path_buf(),
        holders: inuse::scan(db).map(|f| f.holders).unwrap_or_default(),
        second_name: None,
    };
    let mut guard = match platform::WriteGuard::open(s.db) {
        Ok(g) => g,
        Err(e) if platform::is_held_error(&e) => return Err(Stopped::before(held(s.db))),
        Err(e) => return Err(Stopped::before(Error::io(format!("opening {}", shown(s.db)), e))),
    };
    let reading = |e| Stopped::before(Error::io(format!("reading {}", shown(s.db)), e));
    let size = guard.size().map_err(reading)?;
    let now = hashing::hash_reader(&mut guard, size, &mut |_, _| {}).map_err(reading)?;
    if now.sha256 != s.current_sha256 {
        return Err(Stopped::before(Error::NotReady(Refusal::WrittenBeforeSwap { path: s.db.to_path_buf() })));
    }
    let aside = set_aside(s.db, s.migrated, s.dir)?;
    let restored = partial.into_temp_path();
    let fence = match platform::Fence::open(&restored) {
        Ok(f) => f,
        Err(e) => {
            let left = aside.undo(s.db, s.dir);
            return Err(Box::new(Stopped::Undone { error: Error::io("fencing the restored copy", e), left }));
        }
    };
    drop(guard);
    progress(Progress::Step("putting the backup in place".into()));
    match durable::name_replacing(restored, s.db, s.dir) {
        Ok(()) => {}
        Err(durable::NamingError::Rename(_, e)) => {
            let left = aside.undo(s.db, s.dir);
            let error = if platform::is_held_error(&e) || e.kind() == std::io::ErrorKind::PermissionDenied {
                held(s.db)
            } else {
                Error::io(format!("renaming the restored copy to {}", shown(s.db)), e)
            };
            return Err(Box::new(Stopped::Undone { error, left }));
        }
        Err(durable::NamingError::Flush(e)) => {
            let what = format!("flushing {} after putting the backup in place", shown(s.dir));
            return Err(Stopped::after(Error::io(what, e)));
        }
    }
    let kept = hashing::hash_file(s.migrated)
        .map_err(|e| Stopped::after(Error::io(format!("hashing {}", shown(s.migrated)), e)))?;
    // Here a file held open cannot be replaced by a rename, so the fence goes just before a
    // swap back (the restored copy's writers are kept out until then).
    if kept.sha256 != s.current_sha256 {
        drop(fence);
        aside.undo_swap(s.db, s.dir);
        let error = Error::NotReady(Refusal::WrittenDuringSwap { path: s.db.to_path_buf() });
        return Err(Box::new(Stopped::Undone { error, left: None }));
    }
    // A program that opened the old file in that moment, letting others rename it, would go on
    // writing to the copy kept aside: put it back where that program expects it.
    if inuse::scan(s.migrated).is_ok_and(|found| found.in_use()) {
        drop(fence);
        aside.undo_swap(s.db, s.dir);
        return Err(Box::new(Stopped::Undone { error: held(s.db), left: None }));
    }
    drop(fence);
    Ok(())
}

fn file_id(path: &Path) -> Result<platform::FileId> {
    platform::identity(path).map(|i| i.id).map_err(|e| Error::io(format!("reading {}", shown(path)), e))
}

/// Proves the backup against its recorded hash and copies it to a synced temp file beside
/// the database, with the database's owner and permissions.
pub(super) fn prepare_copy(
    backup: &BackupRef,
    db: &Path,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<tempfile::NamedTempFile> {
    progress(Progress::Step("checking the backup against its recorded hash".into()));
    let found = rehash(&backup.path, progress)
        .map_err(|e| Error::NotReady(Refusal::RestoreUnreadable { path: backup.path.clone(), cause: e.to_string() }))?;
    if found.sha256 != backup.sha256 {
        return Err(Error::NotReady(Refusal::RestoreNotAsRecorded {
            path: backup.path.clone(),
            recorded: short(&backup.sha256).to_string(),
            found: short(&found.sha256).to_string(),
        }));
    }
    let io = |what: String| move |e: std::io::Error| Error::io(what, e);
    // The copy is written beside the database before anything is swapped: room first.
    crate::space::ensure(dir, crate::space::for_backup(found.bytes), false)?;
    let mut partial = paths::Scratch::Restore
        .create(db, dir)
        .map_err(|e| Error::writing(dir, format!("creating a file in {}", shown(dir)), e))?;
    progress(Progress::Step("copying the backup beside the database".into()));
    let mut src = File::open(&backup.path).map_err(io(format!("opening {}", shown(&backup.path))))?;
    let copied = hashing::copy_hashing(&mut src, partial.as_file_mut(), found.bytes, &mut |done, total| {
        progress(Progress::Bytes { stage: "restoring", done, total })
    })
    .map_err(io("copying the backup".into()))?;
    partial.as_file().sync_all().map_err(io("flushing the restored copy (fsync)".into()))?;
    if copied.sha256 != backup.sha256 {
        return Err(Error::NotReady(Refusal::BackupChangedWhileCopied));
    }
    // The proof of the restore: the copy read back from the disk before it is put in place.
    // (After the rename the shop's application may write to it at once; that is its right.)
    progress(Progress::Step("re-reading the copy from disk".into()));
    let reread = rehash(partial.path(), progress)?;
    if reread.sha256 != backup.sha256 {
        return Err(Error::NotReady(Refusal::CopyReadBackMismatch { sha256: short(&reread.sha256).to_string() }));
    }
    platform::keep_attributes(partial.path(), db);
    Ok(partial)
}

/// How the current database was set aside, so it can be put back.
pub(super) struct SetAside {
    migrated: PathBuf,
    /// A hard link was made (the database's name kept pointing at it); otherwise it was
    /// renamed (a file system without hard links).
    linked: bool,
    /// Side files moved: (where they were, where they are).
    moved: Vec<(PathBuf, PathBuf)>,
}

impl SetAside {
    /// Puts things back as they were before the set-aside (before the swap); nothing of the
    /// database is lost either way. Returns the second name when it could not be removed: on
    /// Windows a program that opened the file without delete sharing keeps every name of it
    /// in place, so the removal is tried again for a few seconds, in case it lets go.
    pub(super) fn undo(&self, db: &Path, dir: &Path) -> Option<PathBuf> {
        let mut left = None;
        if self.linked {
            let mut tries = 0;
            while let Err(e) = fs::remove_file(&self.migrated) {
                if e.kind() == std::io::ErrorKind::NotFound {
                    break;
                }
                tries += 1;
                if tries == 30 {
                    tracing::warn!(link = %self.migrated.display(), error = %e, "the second name could not be removed");
                    left = Some(self.migrated.clone());
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        } else {
            let _ = fs::rename(&self.migrated, db);
        }
        self.put_back_side_files(dir);
        left
    }

    /// Puts the replaced database back over the restored one (after the swap).
    pub(super) fn undo_swap(&self, db: &Path, dir: &Path) {
        let _ = fs::rename(&self.migrated, db);
        self.put_back_side_files(dir);
    }

    fn put_back_side_files(&self, dir: &Path) {
        for (was, is) in &self.moved {
            let _ = fs::rename(is, was);
        }
        let _ = durable::fsync_dir(dir);
    }
}

/// Gives the database its second name and moves its side files beside it. The WAL was folded
/// in under the lock, so the files moved hold nothing the database needs.
fn set_aside(db: &Path, migrated: &Path, dir: &Path) -> std::result::Result<SetAside, Box<Stopped>> {
    let keeping = |e| Box::new(Stopped::Undone { error: Error::io(format!("keeping the database as {}", shown(migrated)), e), left: None });
    let linked = match fs::hard_link(db, migrated) {
        Ok(()) => true,
        Err(e) if platform::no_hard_links(&e) => {
            fs::rename(db, migrated).map_err(keeping)?;
            false
        }
        Err(e) => return Err(keeping(e)),
    };
    let mut aside = SetAside { migrated: migrated.to_path_buf(), linked, moved: Vec::new() };
    for suffix in paths::SIDE_SUFFIXES {
        let side = paths::side_file(db, suffix);
        if side.exists() {
            let kept = paths::side_file(migrated, suffix);
            if let Err(e) = fs::rename(&side, &kept) {
                let left = aside.undo(db, dir);
                return Err(Box::new(Stopped::Undone { error: Error::io(format!("moving {} aside", shown(&side)), e), left }));
            }
            aside.moved.push((side, kept));
        }
    }
    if let Err(e) = durable::fsync_dir(dir) {
        let left = aside.undo(db, dir);
        return Err(Box::new(Stopped::Undone { error: Error::io("flushing the database's folder (fsync)", e), left }));
    }
    Ok(aside)
}

/// A process that opened the replaced file while this one held it: the rollback must be undone.
fn opened_meanwhile(db: &Path, old: &[(platform::FileId, PathBuf)]) -> Option<Error> {
    let holders: Vec<Holder> = inuse::holders_of(old);
    (!holders.is_empty()).then(|| Error::OpenedDuringRollback { path: db.to_path_buf(), holders, second_name: None })
}

/// `<db>.migrated-<time>`, never a name that exists.
pub(super) fn free_name(db: &Path, kind: &str) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let mut target = paths::side_file(db, &format!(".{kind}-{stamp}"));
    let mut n = 2;
    while fs::symlink_metadata(&target).is_ok() {
        target = paths::side_file(db, &format!(".{kind}-{stamp}-{n}"));
        n += 1;
    }
    target
}

fn short(hash: &str) -> &str {
    &hash[..16.min(hash.len())]
}
