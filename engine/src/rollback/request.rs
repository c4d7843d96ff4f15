//! What a rollback restores and what it expects to find, read from the journal: the backup of
//! the last execute and that execute's result, or — only when forced — a named (or the newest)
//! backup with nothing to undo. A second rollback, or one with no recorded execute, is refused.

use crate::shown::shown;
use std::path::Path;

use super::{Expected, RollbackRequest};
use crate::backup_ref::BackupRef;
use crate::error::{Error, Result};
use crate::journal::{self, Event};
use crate::paths;
use crate::refusal::BadArgument;

/// How the technician asked for the rollback.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    /// A backup named on the command line.
    pub backup: Option<&'a Path>,
    /// Restore although the journal records no execute to undo.
    pub force: bool,
    /// Restore although the database changed since the execute.
    pub discard_changes: bool,
    /// Take back the execute in force even right after a rollback (one that put an earlier
    /// execute back): the face named the backup and the technician confirmed it. Without it
    /// a rollback asked again right after one only says it is done.
    pub again: bool,
}

/// Builds the rollback of `db` from its journal.
pub fn from_journal(db: &Path, asked: Asked<'_>) -> Result<RollbackRequest> {
    // An execute cut off before its end is settled from the file first, so what it expects is
    // what the file can prove.
    if db.exists() {
        crate::status::reconcile(db, &mut |_| {})?;
    }
    let entries = journal::read(db)?;
    let standing = journal::standing(&entries);
    let typed = asked.backup.map(paths::resolve).transpose()?;
    if let (Some(given), Some(real)) = (asked.backup, typed.as_deref())
        && !real.exists()
    {
        return Err(Error::NotFound { path: given.to_path_buf() });
    }
    let named = match typed.as_deref() {
        Some(path) => match journal::recorded_backup(db, &entries, path) {
            Some(b) => Some(b),
            None => {
                return Err(Error::InvalidArgument(BadArgument::UnrecordedBackup {
                    backup: path.to_path_buf(),
                    db: db.to_path_buf(),
                }));
            }
        },
        None => None,
    };
    let interrupted = standing.rollback_started.as_ref().map(|r| paths::locate(db, &r.migrated_path));
    if !asked.force
        && !asked.again
        && named.is_none()
        && standing.just_rolled_back
        && let Some(restored) = still_restored(db, &entries)
    {
        // Asked again after it finished (perhaps its record did not reach the disk): there is
        // nothing to discard, and the rollback only says so — never goes a step further back,
        // even when an execute before it is in the database again (that takes --force).
        return Ok(RollbackRequest {
            db: db.to_path_buf(),
            backup: restored,
            expected: Expected::Backup,
            discard_changes: asked.discard_changes,
            interrupted,
        });
    }
    let pending = standing.live_execute();
    if let Some(x) = pending {
        let own = x.backup.located(db);
        let plan = standing.rehearsal_for(x).map(|d| Box::new(d.plan.clone()));
        let expected = match &named {
            // Another backup than the execute's own: everything that differs from it is what
            // the restore would throw away, the migration and any earlier work included.
            Some(b) if b.sha256 != own.sha256 => Expected::Backup,
            // An execute whose commit was never recorded: whether its change is in the file is
            // not known, so everything that differs from the backup is what a restore discards.
            _ if !x.committed => Expected::Backup,
            _ => Expected::ExecuteResult { sha256: x.result_sha256.clone(), plan },
        };
        return Ok(RollbackRequest {
            db: db.to_path_buf(),
            backup: named.unwrap_or(own),
            expected,
            discard_changes: asked.discard_changes,
            interrupted,
        });
    }
    let newest = standing.backup.as_ref().map(|b| b.located(db));
    let Some(backup) = named.or(newest) else {
        return Err(Error::NothingToRollBack(format!(
            "the journal records no backup of {} — nothing to roll back to",
            shown(db)
        )));
    };
    if !asked.force {
        let why = if standing.rolled_back {
            let when = last_rollback(&entries).unwrap_or_default();
            format!("{} was already rolled back{when}, and the journal records no execute since", shown(db))
        } else if standing.execute.as_ref().is_some_and(|x| x.rolled_back) {
            format!("the last execute of {} changed nothing (its transaction was rolled back)", shown(db))
        } else {
            format!("the journal records no execute of {}", shown(db))
        };
        return Err(Error::NothingToRollBack(format!(
            "{why}: there is nothing to roll back. To put a backup back anyway, add --force (what differs from the backup is listed first and is kept unless you add --discard-changes)"
        )));
    }
    Ok(RollbackRequest {
        db: db.to_path_buf(),
        backup,
        expected: Expected::Backup,
        discard_changes: asked.discard_changes,
        interrupted,
    })
}

/// The backup the last rollback restored, when the database still equals it.
fn still_restored(db: &Path, entries: &[journal::Entry]) -> Option<BackupRef> {
    let restored = entries.iter().rev().find_map(|e| match &e.event {
        Event::RolledBack { backup_path, sha256, .. } => {
            Some(BackupRef::new(backup_path.clone(), sha256.clone()).located(db))
        }
        _ => None,
    })?;
    let now = crate::status::settled_sha256(db).ok().flatten()?;
    (now == restored.sha256).then_some(restored)
}

fn last_rollback(entries: &[journal::Entry]) -> Option<String> {
    entries.iter().rev().find_map(|e| match &e.event {
        Event::RolledBack { .. } => Some(format!(" at {}", e.at.get(..19).unwrap_or(&e.at).replace('T', " "))),
        _ => None,
    })
}
