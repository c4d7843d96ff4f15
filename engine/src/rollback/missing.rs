//! The two rollbacks that swap nothing: the database already equals the backup (an earlier
//! rollback was cut off after its swap), or the database file is missing altogether.

use crate::shown::shown;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Expected, RollbackReport, RollbackRequest};
use crate::error::{Error, Result};
use crate::journal::{self, Event};
use crate::progress::Progress;
use crate::recovery::Recovery;
use crate::{durable, paths};

/// The file equals the backup already: an earlier rollback finished its swap but was cut off
/// before it said so. The journal is brought up to date; nothing else is done.
pub(super) fn finish_already_restored(
    req: &RollbackRequest,
    db: &Path,
    recovered: Option<Recovery>,
    started: Instant,
) -> Result<RollbackReport> {
    let migrated = req.interrupted.clone().filter(|p| p.exists());
    let note = format!("{} already equals the backup: nothing needed restoring", shown(db));
    let journalled = matches!(req.expected, Expected::ExecuteResult { .. });
    let kept = migrated.clone().unwrap_or_default();
    let end = Finished { journalled, kept, migrated, discarded: None, note, recovered, already: true };
    finished(req, db, end, started)
}

/// The database file is missing but the rollback was asked for: its leftover side files would
/// be replayed onto the restored file, and what the missing file held cannot be compared, so
/// this needs `discard_changes`; then the leftovers are kept aside and the backup restored
/// under a name nothing else may have taken meanwhile.
pub(super) fn restore_missing(
    req: &RollbackRequest,
    db: &Path,
    started: Instant,
    progress: &mut dyn FnMut(Progress),
) -> Result<RollbackReport> {
    let leftovers: Vec<PathBuf> =
        paths::SIDE_SUFFIXES.iter().map(|s| paths::side_file(db, s)).filter(|p| p.exists()).collect();
    if !req.discard_changes {
        let names: Vec<String> = leftovers.iter().map(|p| paths::file_name(p)).collect();
        let left = if names.is_empty() {
            String::new()
        } else {
            format!(" and {} {} left beside it", names.join(", "), if names.len() == 1 { "is" } else { "are" })
        };
        return Err(Error::WouldDiscard {
            message: format!(
                "{} is missing (moved or deleted?){left}: cutover cannot tell what restoring the backup would throw away, so nothing was changed — put the file back and run the rollback again, or restore the backup anyway with --discard-changes (leftover side files are kept aside, never replayed)",
                shown(db)
            ),
            changes: None,
        });
    }
    let dir = paths::parent_dir(db);
    let partial = super::prepare_copy(&req.backup, db, &dir, progress)?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let orphaned = paths::side_file(db, &format!(".orphaned-{stamp}"));
    journal::append(
        db,
        Event::RollbackStarted {
            backup_path: req.backup.path.clone(),
            sha256: req.backup.sha256.clone(),
            migrated_path: orphaned.clone(),
        },
    )?;
    for side in &leftovers {
        let suffix = paths::SIDE_SUFFIXES.iter().find(|s| side.as_os_str().to_string_lossy().ends_with(*s));
        let kept = paths::side_file(&orphaned, suffix.copied().unwrap_or("-side"));
        fs::rename(side, &kept).map_err(|e| Error::io(format!("moving {} aside", shown(side)), e))?;
    }
    durable::fsync_dir(&dir).map_err(|e| Error::io(format!("flushing {} (fsync)", shown(&dir)), e))?;
    partial.persist_noclobber(db).map_err(|e| {
        Error::io(format!("putting the backup in place as {} (did something create it meanwhile?)", shown(db)), e.error)
    })?;
    durable::fsync_dir(&dir).map_err(|e| Error::io(format!("flushing {} (fsync)", shown(&dir)), e))?;
    let discarded = format!("{} was missing; leftover side files kept as {}-*", shown(db), shown(&orphaned));
    let migrated = (!leftovers.is_empty()).then(|| orphaned.clone());
    let end = Finished {
        journalled: true,
        kept: orphaned,
        migrated,
        discarded: Some(discarded.clone()),
        note: discarded,
        recovered: None,
        already: false,
    };
    finished(req, db, end, started)
}

/// How a rollback that swapped nothing ended.
struct Finished {
    /// Whether the journal records it (a rollback of an execute's result).
    journalled: bool,
    /// Where the journal says the replaced file went (empty: nowhere).
    kept: PathBuf,
    /// Where the report says the replaced file went.
    migrated: Option<PathBuf>,
    /// What the journal records as discarded.
    discarded: Option<String>,
    note: String,
    recovered: Option<Recovery>,
    /// The file already equalled the backup: nothing was put in place.
    already: bool,
}

/// Records the rollback and reports the backup's bytes as what the database now holds.
fn finished(req: &RollbackRequest, db: &Path, end: Finished, started: Instant) -> Result<RollbackReport> {
    if end.journalled {
        journal::append(
            db,
            Event::RolledBack {
                backup_path: req.backup.path.clone(),
                sha256: req.backup.sha256.clone(),
                migrated_path: end.kept,
                discarded: end.discarded,
            },
        )?;
    }
    Ok(RollbackReport {
        database: db.to_path_buf(),
        backup_path: req.backup.path.clone(),
        backup_sha256: req.backup.sha256.clone(),
        restored_sha256: req.backup.sha256.clone(),
        verdict: "MATCH",
        migrated_path: end.migrated,
        discarded: None,
        since: super::since(&req.expected),
        note: Some(end.note),
        recovered: end.recovered,
        already_restored: end.already,
        seconds: started.elapsed().as_secs_f64(),
        in_force_again: None,
    })
}
