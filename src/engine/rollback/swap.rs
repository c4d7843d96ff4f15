//! The swap itself: the backup copied beside the database, the database given a second name
//! and its side files moved beside that, and the way back if anything goes wrong.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::engine::backup::rehash;
use crate::engine::dryrun::BackupRef;
use crate::engine::error::{Error, Result};
use crate::engine::inuse::{self, Holder};
use crate::engine::progress::Progress;
use crate::engine::{durable, hashing, paths, platform};

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
        .map_err(|e| Error::NotReady(format!("the backup {} cannot be read: {e}", backup.path.display())))?;
    if found.sha256 != backup.sha256 {
        return Err(Error::NotReady(format!(
            "the backup {} does not match its recorded hash (recorded {}, found {}) — it is not restored",
            backup.path.display(),
            short(&backup.sha256),
            short(&found.sha256)
        )));
    }
    let io = |what: String| move |e: std::io::Error| Error::io(what, e);
    let mut partial = tempfile::Builder::new()
        .prefix(&paths::hidden_name(db, ".restore-"))
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| Error::writing(dir, format!("creating a file in {}", dir.display()), e))?;
    progress(Progress::Step("copying the backup beside the database".into()));
    let mut src = File::open(&backup.path).map_err(io(format!("opening {}", backup.path.display())))?;
    let copied = hashing::copy_hashing(&mut src, partial.as_file_mut(), found.bytes, &mut |done, total| {
        progress(Progress::Bytes { stage: "restoring", done, total })
    })
    .map_err(io("copying the backup".into()))?;
    partial.as_file().sync_all().map_err(io("flushing the restored copy (fsync)".into()))?;
    if copied.sha256 != backup.sha256 {
        return Err(Error::NotReady("the backup changed while it was being copied — nothing was restored".into()));
    }
    // The proof of the restore: the copy read back from the disk before it is put in place.
    // (After the rename the shop's application may write to it at once; that is its right.)
    progress(Progress::Step("re-reading the copy from disk".into()));
    let reread = rehash(partial.path(), progress)?;
    if reread.sha256 != backup.sha256 {
        return Err(Error::NotReady(format!(
            "the copy of the backup did not read back from the disk as written (SHA-256 {}) — the disk may be failing; nothing was restored",
            short(&reread.sha256)
        )));
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
    /// Puts things back as they were before the set-aside (before the swap). Best effort: the
    /// error being reported says what happened; nothing of the database is lost either way.
    pub(super) fn undo(&self, db: &Path, dir: &Path) {
        if self.linked {
            let _ = fs::remove_file(&self.migrated);
        } else {
            let _ = fs::rename(&self.migrated, db);
        }
        self.put_back_side_files(dir);
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
pub(super) fn set_aside(db: &Path, migrated: &Path, dir: &Path) -> Result<SetAside> {
    let linked = match fs::hard_link(db, migrated) {
        Ok(()) => true,
        Err(e) if no_hard_links(&e) => {
            fs::rename(db, migrated)
                .map_err(|e| Error::io(format!("keeping the database as {}", migrated.display()), e))?;
            false
        }
        Err(e) => return Err(Error::io(format!("keeping the database as {}", migrated.display()), e)),
    };
    let mut aside = SetAside { migrated: migrated.to_path_buf(), linked, moved: Vec::new() };
    for suffix in paths::SIDE_SUFFIXES {
        let side = paths::side_file(db, suffix);
        if side.exists() {
            let kept = paths::side_file(migrated, suffix);
            if let Err(e) = fs::rename(&side, &kept) {
                aside.undo(db, dir);
                return Err(Error::io(format!("moving {} aside", side.display()), e));
            }
            aside.moved.push((side, kept));
        }
    }
    if let Err(e) = durable::fsync_dir(dir) {
        aside.undo(db, dir);
        return Err(Error::io("flushing the database's folder (fsync)", e));
    }
    Ok(aside)
}

/// A process that opened the replaced file while this one held it: the rollback must be undone.
pub(super) fn opened_meanwhile(db: &Path, old: &[(platform::FileId, PathBuf)]) -> Option<Error> {
    let holders: Vec<Holder> = inuse::holders_of(old);
    (!holders.is_empty()).then(|| Error::OpenedDuringRollback { path: db.to_path_buf(), holders })
}

fn no_hard_links(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(e.kind(), K::Unsupported | K::PermissionDenied) || e.raw_os_error() == Some(95)
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
