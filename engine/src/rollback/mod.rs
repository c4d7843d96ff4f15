//! Rollback: put the backup back, atomically, keeping the replaced database aside so the
//! rollback itself can be undone — and never throw away what the shop wrote since the execute
//! without saying so and being told to.
//!
//! The current database is held exclusively from the moment it is compared with what the
//! execute left until after the restored file is in place, so no write can slip in between;
//! a process that opened the old file meanwhile makes the rollback undo itself.

use crate::shown::shown;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::backup_ref::BackupRef;
use crate::changes::{self, Changes};
use crate::dryrun;
use crate::error::{Error, Result};
use crate::hold::Hold;
use crate::inuse;
use crate::journal::{self, Event};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::recovery::{self, Recovery};
use crate::{paths, platform, preflight};

mod missing;
pub mod request;
mod swap;

use missing::{finish_already_restored, restore_missing};
pub use request::from_journal;
use swap::{Stopped, Swap, free_name, prepare_copy, swap_held, swap_released};

/// A finished rollback.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// The database restored.
    #[serde(with = "crate::ospath")]
    pub database: PathBuf,
    /// The backup it was restored from.
    #[serde(with = "crate::ospath")]
    pub backup_path: PathBuf,
    /// The backup's recorded SHA-256.
    pub backup_sha256: String,
    /// The restored file's SHA-256, read back from the disk just before it was renamed into
    /// place (the rename does not change its bytes).
    pub restored_sha256: String,
    /// `MATCH` (a report is only returned when they match).
    pub verdict: &'static str,
    /// Where the replaced database (and its side files) were kept.
    #[serde(with = "crate::ospath::option")]
    pub migrated_path: Option<PathBuf>,
    /// What the technician chose to discard.
    pub discarded: Option<Changes>,
    /// What the discarded changes were made since: `the execute` or `the backup`.
    pub since: &'static str,
    /// Anything else worth saying (the file already equalled the backup, …).
    pub note: Option<String>,
    /// The database had not shut down cleanly and was recovered first, a copy kept as found.
    pub recovered: Option<Recovery>,
    /// The database already equalled the backup (an earlier rollback finished, its record did
    /// not): nothing was put in place this time.
    pub already_restored: bool,
    /// Seconds it took.
    pub seconds: f64,
    /// The execute the restored file holds, when it holds one (the backup put back is the file
    /// an earlier execute left): in force again. Told by the backup's bytes against every
    /// recorded state, never by what the journal said when it was made.
    pub in_force_again: Option<InForceAgain>,
}

/// An execute a rollback put back in force.
#[derive(Debug, Clone, Serialize)]
pub struct InForceAgain {
    /// Its plan.
    pub plan_sha256: String,
    /// Its plan has an inverse `rollback --undo` can run.
    pub undoable: bool,
    /// Told by the backup's schema, not proven by its bytes: other programs wrote to the file
    /// between that execute and the backup.
    pub presumed: bool,
}

impl RollbackReport {
    /// Fills in what the journal, the rollback now in it, says the restored file holds.
    pub fn with_in_force(mut self, db: &Path) -> RollbackReport {
        let Ok(entries) = journal::read(db) else { return self };
        let s = journal::standing(&entries);
        self.in_force_again = s.live_execute().filter(|x| x.committed).map(|x| InForceAgain {
            plan_sha256: x.plan_sha256.clone(),
            undoable: s.undoable(x),
            presumed: s.lineage.by_sha(&self.backup_sha256).is_none_or(|i| !s.lineage.states[i].certain),
        });
        self
    }
}

impl RollbackReport {
    /// The backup that was restored.
    pub fn backup(&self) -> BackupRef {
        BackupRef::new(self.backup_path.clone(), self.backup_sha256.clone())
    }
}

/// What the database must still be for a rollback to lose nothing.
#[derive(Debug, Clone)]
pub enum Expected {
    /// What the recorded execute left: its SHA-256 when one was taken, and the plan, to
    /// rebuild that state from the backup and compare row by row when the bytes differ.
    ExecuteResult {
        /// The file's SHA-256 right after the commit.
        sha256: Option<String>,
        /// The plan that ran.
        plan: Option<Box<Plan>>,
    },
    /// No execute to undo (a rollback forced after another, or after a bare backup): whatever
    /// differs from the backup is what a restore would discard.
    Backup,
}

/// A rollback to run.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    /// The database, as typed (it is resolved to the real file).
    pub db: PathBuf,
    /// The backup to restore, with its recorded hash.
    pub backup: BackupRef,
    /// What the database should be now.
    pub expected: Expected,
    /// Restore even though the database changed since the execute (the technician said so).
    pub discard_changes: bool,
    /// The second name an earlier rollback gave the database before it was cut off.
    pub interrupted: Option<PathBuf>,
}

/// Restores the backup over the database, refusing while another process holds it and while
/// it holds changes made since the execute (unless `discard_changes`).
///
/// The backup is hashed; copied to a temp file beside the database, fsynced and read back; the
/// database is locked exclusively and compared with what the execute left; the database gets
/// a second name `<db>.migrated-<time>` (a hard link, so its name never points at nothing)
/// and its side files move beside it; the copy is renamed over the database and the folder
/// fsynced, and the lock released. The copy was read back from the disk before the rename: MATCH.
pub fn run(req: &RollbackRequest, progress: &mut dyn FnMut(Progress)) -> Result<RollbackReport> {
    let started = Instant::now();
    let db = paths::resolve(&req.db)?;
    // First what earlier runs left, a second name an undone rollback could not remove
    // included (it would count as another link below); nothing a process holds is touched.
    crate::leftovers::remove(&db, progress);
    let ours = req.interrupted.as_deref().filter(|p| platform::same_file(p, &db));
    if let Some(why) = preflight::restore_blocker(&db, ours) {
        return Err(Error::CannotRestore { path: db, why });
    }
    // Side files count even when the main file is missing.
    inuse::ensure_not_in_use(&db)?;
    if !db.exists()
        && let Some(link) = req.interrupted.as_deref().filter(|p| p.is_file())
    {
        put_back(link, &db)?;
    }
    if !db.exists() {
        return restore_missing(req, &db, started, progress);
    }
    preflight::check_file(&db)?;
    // A file the backup cannot be put over is refused before a copy of it is written.
    preflight::ensure_writable(&db)?;
    let recovered = recovery::settle(&db, progress)?;
    if let Some(link) = ours {
        // Our own second name from the cut-off rollback: the data is still under `db`. With it
        // gone that rollback is undone, whatever this one goes on to do: recorded so.
        fs::remove_file(link).map_err(|e| Error::io(format!("removing {}", shown(link)), e))?;
        let _ = crate::durable::fsync_dir(&paths::parent_dir(&db));
        journal::append(
            &db,
            Event::RollbackUndone {
                migrated_path: link.to_path_buf(),
                why: "it was cut off before it put the backup in place; its second name of the database was removed".into(),
                second_name_left: false,
            },
        )?;
    }

    let dir = paths::parent_dir(&db);
    let partial = prepare_copy(&req.backup, &db, &dir, progress)?;
    progress(Progress::Step("locking the database".into()));
    let mut hold = Hold::acquire(&db)?;
    let current = hold.hash_main()?;
    if current.sha256 == req.backup.sha256 {
        hold.release()?;
        return finish_already_restored(req, &db, recovered, started);
    }
    let changes = changes_since(req, &db, &hold, &current.sha256, progress)?;
    if let Some(c) = changes.as_ref().filter(|c| !c.is_empty())
        && !req.discard_changes
    {
        let mut message = changed_message(&db, c, &req.expected);
        if recovered.is_some() {
            message.push_str(" (its rows were left as they are; SQLite had first recovered it after an unclean shutdown, with a copy kept as found)");
        }
        return Err(Error::WouldDiscard { message, changes: Some(c.clone()) });
    }

    let kind = if matches!(req.expected, Expected::Backup) { "replaced" } else { "migrated" };
    let migrated = free_name(&db, kind);
    journal::append(
        &db,
        Event::RollbackStarted {
            backup_path: req.backup.path.clone(),
            sha256: req.backup.sha256.clone(),
            migrated_path: migrated.clone(),
        },
    )?;
    progress(Progress::Step("keeping the current database aside".into()));
    let swap = Swap { db: &db, dir: &dir, migrated: &migrated, current_sha256: &current.sha256 };
    // Where a file may be renamed while it is open, the hold stays until the swap is done;
    // elsewhere (Windows) SQLite's handles must go first, and a guard stands in for them.
    let swapped = if platform::RENAME_WHILE_OPEN {
        swap_held(hold, partial, &swap, progress)
    } else {
        swap_released(hold, partial, &swap, progress)
    };
    if let Err(stopped) = swapped {
        return Err(stopped_before_its_end(&db, &migrated, *stopped));
    }

    let discarded = changes.filter(|c| !c.is_empty());
    journal::append(
        &db,
        Event::RolledBack {
            backup_path: req.backup.path.clone(),
            sha256: req.backup.sha256.clone(),
            migrated_path: migrated.clone(),
            discarded: discarded.as_ref().map(Changes::summary),
        },
    )
    .map_err(|e| Error::AfterRestore {
        path: db.clone(),
        what: "recording it in the journal".into(),
        cause: e.to_string(),
    })?;
    Ok(RollbackReport {
        database: db,
        backup_path: req.backup.path.clone(),
        backup_sha256: req.backup.sha256.clone(),
        restored_sha256: req.backup.sha256.clone(),
        verdict: "MATCH",
        migrated_path: Some(migrated),
        discarded,
        since: since(&req.expected),
        note: None,
        recovered,
        already_restored: false,
        seconds: started.elapsed().as_secs_f64(),
        in_force_again: None,
    })
}

/// What the database holds beyond what the execute left, read under the lock; `None` when
/// its bytes are exactly the execute's result.
fn changes_since(
    req: &RollbackRequest,
    db: &Path,
    hold: &Hold,
    current: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<Changes>> {
    match &req.expected {
        Expected::ExecuteResult { sha256: Some(result), .. } if result == current => Ok(None),
        Expected::ExecuteResult { plan: Some(plan), .. } => {
            let known = dryrun::replay(db, &req.backup, plan, progress)?;
            progress(Progress::Step("comparing every table with the state the execute left".into()));
            changes::between(hold.conn()?, known.path()).map(Some)
        }
        Expected::ExecuteResult { plan: None, .. } => {
            if req.discard_changes {
                return Ok(None);
            }
            Err(Error::WouldDiscard {
                message: format!(
                    "{} changed since the execute (its SHA-256 is no longer the result's), and the journal no longer holds the plan needed to tell which rows: rolling back would discard whatever was written since, so nothing was changed — restore anyway with --discard-changes (the current file is kept aside)",
                    shown(db)
                ),
                changes: None,
            })
        }
        Expected::Backup => {
            progress(Progress::Step("comparing every table with the backup".into()));
            changes::between(hold.conn()?, &req.backup.path).map(Some)
        }
    }
}

/// Records that a rollback which had started stopped before its end, so nothing says it is
/// running or was cut off, and says of a second name left on the live database.
fn stopped_before_its_end(db: &Path, migrated: &Path, stopped: Stopped) -> Error {
    let (error, left) = match stopped {
        Stopped::After(e) => return e,
        Stopped::Before(e) => (e, None),
        Stopped::Undone { error, left } => (error, left),
    };
    let event = Event::RollbackUndone {
        migrated_path: migrated.to_path_buf(),
        why: error.to_string(),
        second_name_left: left.is_some(),
    };
    if let Err(e) = journal::append(db, event) {
        tracing::warn!(error = %e, "the undone rollback could not be recorded");
    }
    match error {
        Error::OpenedDuringRollback { path, holders, .. } => {
            Error::OpenedDuringRollback { path, holders, second_name: left }
        }
        other => other,
    }
}

/// A rollback on a file system without hard links moved the database to its second name and
/// was cut off before the backup took its place: that file is the database, and it (with its
/// side files) goes back first.
fn put_back(link: &Path, db: &Path) -> Result<()> {
    let dir = paths::parent_dir(db);
    let io = |what: String| move |e| Error::io(what, e);
    platform::rename_new(link, db).map_err(io(format!("putting {} back as {}", shown(link), shown(db))))?;
    for suffix in paths::SIDE_SUFFIXES {
        let (kept, side) = (paths::side_file(link, suffix), paths::side_file(db, suffix));
        if kept.exists() && !side.exists() {
            platform::rename_new(&kept, &side).map_err(io(format!("putting {} back", shown(&kept))))?;
        }
    }
    crate::durable::fsync_dir(&dir).map_err(io(format!("flushing {} (fsync)", shown(&dir))))
}

fn since(expected: &Expected) -> &'static str {
    match expected {
        Expected::ExecuteResult { .. } => "the execute",
        Expected::Backup => "the backup",
    }
}

fn changed_message(db: &Path, c: &Changes, expected: &Expected) -> String {
    let (what, kept) = match expected {
        Expected::ExecuteResult { .. } => ("changed since the execute", "migrated"),
        Expected::Backup => ("differs from the backup", "replaced"),
    };
    format!(
        "{} {what}: {} — rolling back now would discard these changes, so nothing was changed. Keep the shop's work, or restore the backup anyway with --discard-changes (the current file is then kept as {}.{kept}-<time>)",
        shown(db),
        c.summary(),
        paths::file_name(db)
    )
}
