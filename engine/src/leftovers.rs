//! What interrupted or undone runs left beside the database, cleared before the next run looks
//! at it: the hidden, incomplete copies of a backup, a restore, a rehearsal or a replay (and
//! their side files), and a second name an undone rollback could not take away from the live
//! database while a program held it. Nothing a process still has open is removed, and what
//! cannot be removed is said, never passed over.

use std::fs;
use std::path::{Path, PathBuf};

use crate::journal::{self, Event};
use crate::progress::Progress;
use crate::shown::shown;
use crate::{durable, paths, platform};

/// Removes the leftovers of earlier runs beside `db`, saying what it removed and what it
/// could not.
pub fn remove(db: &Path, progress: &mut dyn FnMut(Progress)) {
    scratch(db, progress);
    second_names(db, progress);
}

/// The hidden, incomplete copies an interrupted run left (never one a process still has open,
/// such as another cutover at work). A read-only flag on one is cleared first: it must never
/// keep a copy of the shop's data on the disk for good.
fn scratch(db: &Path, progress: &mut dyn FnMut(Progress)) {
    let dir = paths::parent_dir(db);
    let Ok(entries) = fs::read_dir(&dir) else { return };
    let found: Vec<(platform::FileId, PathBuf)> = entries
        .flatten()
        .filter(|e| paths::is_scratch(db, &e.file_name()) && e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| platform::identity(&e.path()).ok().map(|i| (i.id, e.path())))
        .collect();
    if found.is_empty() {
        return;
    }
    let mut removed = 0;
    for target in &found {
        // Each file on its own: a process holding several is named once per scan. One that
        // another user's process could hold unseen is left, and said.
        let scan = platform::scan_processes(std::slice::from_ref(target), true);
        let path = &target.1;
        if !scan.holders.is_empty() {
            continue;
        }
        if !scan.unseen.is_empty() || scan.blind.is_some() {
            progress(Progress::Notice(format!(
                "left {}, an incomplete temporary file of a cutover run: processes that could have it open cannot be looked into (run cutover as root, or remove it by hand once no cutover runs)",
                shown(path)
            )));
            continue;
        }
        match remove_file(path) {
            Ok(()) => removed += 1,
            Err(e) => progress(Progress::Notice(format!(
                "could not remove {}, an incomplete temporary file an earlier cutover run left ({e}): remove it by hand",
                shown(path)
            ))),
        }
    }
    if removed > 0 {
        let _ = durable::fsync_dir(&dir);
        progress(Progress::Notice(format!(
            "removed {removed} incomplete temporary file{} an interrupted cutover run left in {}",
            if removed == 1 { "" } else { "s" },
            shown(&dir)
        )));
    }
}

/// Removes a file, clearing a read-only flag that would keep the system from it.
pub fn remove_file(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            platform::make_removable(path)?;
            fs::remove_file(path)
        }
        other => other,
    }
}

/// The second names undone rollbacks could not remove, where each still names the live
/// database (and only then: a file of its own under that name is a kept copy, left alone).
fn second_names(db: &Path, progress: &mut dyn FnMut(Progress)) {
    let Ok(entries) = journal::read(db) else { return };
    for e in &entries {
        let Event::RollbackUndone { migrated_path, second_name_left: true, .. } = &e.event else { continue };
        let link = paths::locate(db, migrated_path);
        if !link.is_file() || !platform::same_file(&link, db) {
            continue;
        }
        match fs::remove_file(&link) {
            Ok(()) => {
                let _ = durable::fsync_dir(&paths::parent_dir(db));
                progress(Progress::Notice(format!(
                    "removed {}, a second name of {} an undone rollback could not remove while a program held the file",
                    shown(&link),
                    shown(db)
                )));
            }
            Err(err) => progress(Progress::Notice(format!(
                "{} is still a second name of {} (an undone rollback could not remove it: {err}): it is not a kept copy — do not delete, move or copy it",
                shown(&link),
                shown(db)
            ))),
        }
    }
}
