//! Where a database stands after an interruption, and the one hash that may stand for it.
//!
//! An execute the journal saw start but not end is settled by looking at the file itself:
//! SQLite rolls an unfinished transaction back on the next open, and a finished one gives
//! exactly the rehearsal's bytes, so the file's SHA-256 says which happened. A rollback cut off
//! after its swap is recognised the same way, by the backup's hash.

mod content;
mod image;
pub mod present;
pub mod report;

use crate::shown::shown;
use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::journal::{self, Event, Standing};
use crate::progress::Progress;
use crate::recovery::{self, Recovery};
use crate::refusal::Refusal;
use crate::{hashing, inuse, open, paths, platform};

/// What an interrupted execute left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// The file equals the backup: the transaction never committed.
    Unchanged,
    /// The execute never committed — its journal shows it never reached its COMMIT — and the
    /// file has been written to since.
    NeverCommitted,
    /// The file equals the rehearsal's result: the transaction committed.
    Migrated,
    /// Cut off during its COMMIT, and the file holds the schema and rows the execute started
    /// from (checked table by table): SQLite rolled the transaction back from its hot journal.
    /// With how many pages differ from the backup, when all of them are free pages.
    DidNotCommit(Option<u64>),
    /// Neither can be told: cut off around its commit (or journalled by an older cutover that
    /// did not record its COMMIT), and the file is now neither the backup nor the result.
    Unknown,
}

/// Where a database stands, with what had to be done to find out.
#[derive(Debug, Clone)]
pub struct Reconciled {
    /// The journal folded.
    pub standing: Standing,
    /// How an interrupted execute was settled, when one was.
    pub settled: Option<Settled>,
    /// The database had not shut down cleanly and was recovered (a copy kept as found).
    pub recovered: Option<Recovery>,
}

/// Reads the journal and, when an execute (or a rollback) started but its end was never
/// recorded, settles it from the file and records the outcome. An unclean shutdown is
/// recovered first, with a copy kept as found. Refuses while another process holds the
/// database when there is something to settle.
pub fn reconcile(db: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Reconciled> {
    let standing = journal::standing(&journal::read(db)?);
    // An execute a finished rollback came after is settled: the rollback undid whatever it did.
    let open_execute = standing.execute.as_ref().filter(|x| !x.committed && !x.rolled_back && !standing.rolled_back);
    let open_rollback = standing.rollback_started.as_ref();
    if open_execute.is_none() && open_rollback.is_none() {
        let recovered = if recovery::pending(db).is_some() && !inuse::scan(db)?.in_use() {
            recovery::settle(db, progress)?
        } else {
            None
        };
        return Ok(Reconciled { standing, settled: None, recovered });
    }
    inuse::ensure_not_in_use(db)?;
    let recovered = recovery::settle(db, progress)?;
    let sha256 = settled_sha256(db)?.ok_or_else(|| Error::Locked { path: db.to_path_buf(), pid: None })?;
    if let Some(r) = open_rollback {
        // Before the swap the database and its second name are one file; after it, two. That
        // tells a finished swap apart even when the shop has written to the restored file.
        let migrated = paths::locate(db, &r.migrated_path);
        let swapped = migrated.is_file() && !platform::same_file(db, &migrated);
        if r.backup.sha256 == sha256 || swapped {
            journal::append(
                db,
                Event::RolledBack {
                    backup_path: r.backup.path.clone(),
                    sha256: r.backup.sha256.clone(),
                    migrated_path: r.migrated_path.clone(),
                    discarded: None,
                },
            )?;
        }
    }
    let mut settled = None;
    if let Some(exec) = open_execute {
        let rehearsal = standing.rehearsal_for(exec);
        let outcome = if sha256 == exec.backup.sha256 {
            Some((Settled::Unchanged, None))
        } else if rehearsal.is_some_and(|d| d.result_sha256 == sha256) {
            Some((Settled::Migrated, Some(sha256.clone())))
        } else if exec.marks_commit && !exec.committing {
            Some((Settled::NeverCommitted, None))
        } else {
            // Cut off around its COMMIT and the bytes tell nothing: the rows and schema may.
            // (The schema alone cannot: the shop's own application may create or drop the
            // very objects the plan does.)
            match rehearsal.and_then(|d| content::holds(db, &exec.backup.located(db), d, progress)) {
                Some(content::Holds::Before(free)) => Some((Settled::DidNotCommit(free), None)),
                Some(content::Holds::Result) => Some((Settled::Migrated, Some(sha256.clone()))),
                None => None,
            }
        };
        settled = Some(match outcome {
            Some((Settled::Unchanged, _)) => {
                journal::append(
                    db,
                    Event::ExecuteRolledBack {
                        plan_sha256: exec.plan_sha256.clone(),
                        error: "interrupted before its commit: SQLite rolled it back".into(),
                        file_sha256: None,
                    },
                )?;
                Settled::Unchanged
            }
            Some((Settled::DidNotCommit(free), _)) => {
                journal::append(
                    db,
                    Event::ExecuteRolledBack {
                        plan_sha256: exec.plan_sha256.clone(),
                        error: "cut off during its commit: SQLite rolled it back from its hot journal, and the file holds the schema and rows the execute started from (checked table by table)".into(),
                        file_sha256: Some(sha256.clone()),
                    },
                )?;
                Settled::DidNotCommit(free)
            }
            Some((Settled::NeverCommitted, _)) => {
                journal::append(
                    db,
                    Event::ExecuteRolledBack {
                        plan_sha256: exec.plan_sha256.clone(),
                        error: "interrupted before its commit: SQLite rolled it back (the database has been written to since)"
                            .into(),
                        file_sha256: None,
                    },
                )?;
                Settled::NeverCommitted
            }
            Some((Settled::Migrated, result)) => {
                journal::append(
                    db,
                    Event::ExecuteCommitted {
                        plan_sha256: exec.plan_sha256.clone(),
                        result_sha256: result,
                        schema_sha256: schema_of(db),
                    },
                )?;
                Settled::Migrated
            }
            _ => Settled::Unknown,
        });
    }
    Ok(Reconciled { standing: journal::standing(&journal::read(db)?), settled, recovered })
}

/// Refuses to run a new execute while the last one's outcome cannot be told: running its plan
/// again could apply the change twice.
pub fn ensure_settled(db: &Path, progress: &mut dyn FnMut(Progress)) -> Result<()> {
    let reconciled = reconcile(db, progress)?;
    if reconciled.settled == Some(Settled::Unknown) {
        let then = if reconciled.recovered.is_some() {
            "nothing was run (SQLite's own recovery of the unclean shutdown was the only change, a copy kept as found)"
        } else {
            "nothing was changed"
        };
        return Err(Error::NotReady(Refusal::CannotTell { path: db.to_path_buf(), then }));
    }
    Ok(())
}

/// Lets SQLite finish its own recovery (a hot journal is rolled back on the first read, a WAL
/// is folded into the file), then hashes the main file.
pub fn settle_and_hash(db: &Path) -> Result<String> {
    crate::wal::settle(db)?;
    Ok(hashing::hash_file(db).map_err(|e| Error::io(format!("hashing {}", shown(db)), e))?.sha256)
}

/// The SHA-256 that stands for the database as SQLite reads it: the main file's, once any WAL
/// is folded into it. `None` when the WAL cannot be folded in (another process is reading
/// it): then the main file alone is not the database, and no hash of it may grant a MATCH.
pub fn settled_sha256(db: &Path) -> Result<Option<String>> {
    let wal = paths::side_file(db, "-wal");
    let has_frames = |p: &Path| fs::metadata(p).is_ok_and(|m| m.len() > 0);
    if has_frames(&wal) {
        let conn = open::read_write(db)?;
        let folded = crate::wal::fold_in(&conn).ok();
        let _ = conn.close();
        if folded.is_none_or(|f| !f.complete) || has_frames(&wal) {
            return Ok(None);
        }
    }
    Ok(Some(hashing::hash_file(db).map_err(|e| Error::io(format!("hashing {}", shown(db)), e))?.sha256))
}

/// Whether a hot journal lies beside the database: a write cut off that SQLite rolls back when
/// the file is next opened for reading (a WAL database has none).
pub fn hot_journal(db: &Path) -> bool {
    let frames = fs::metadata(paths::side_file(db, "-wal")).is_ok_and(|m| m.len() > 0);
    !frames
        && fs::metadata(paths::side_file(db, "-journal")).is_ok_and(|m| m.len() > 0)
        && recovery::pending(db).is_some()
        && !write_in_progress(db)
}

/// Whether a program holds the database's lock bytes right now: a journal beside it is then a
/// write in progress, not one cut off. (Looked at while this process holds no connection to
/// the file: closing the descriptor the probe opens would drop that connection's locks.)
pub fn write_in_progress(db: &Path) -> bool {
    fs::File::open(db)
        .ok()
        .and_then(|f| platform::held_lock(&f, platform::LockedFile::Database).ok())
        .is_some_and(|holder| holder.is_some())
}

/// A connection that reads the database as SQLite sees it now and changes nothing beside it:
/// the file opened immutable when its WAL holds no frames and no hot journal lies beside it;
/// read-only through the application's `-shm` when the WAL has frames. `None` when only a
/// recovery could read it (a hot journal, or a WAL without its `-shm`).
pub fn read_view(db: &Path) -> Option<rusqlite::Connection> {
    let frames = fs::metadata(paths::side_file(db, "-wal")).is_ok_and(|m| m.len() > 0);
    if !frames {
        if recovery::pending(db).is_some() {
            return None;
        }
        return open::immutable(db).ok().flatten();
    }
    if !paths::side_file(db, "-shm").exists() {
        return None;
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(db, flags).ok()?;
    conn.busy_timeout(std::time::Duration::from_secs(2)).ok()?;
    Some(conn)
}

/// The digest of the database's schema as SQLite reads it now (see
/// [`crate::verify::snapshot::schema_digest`]), read through [`read_view`]; `None` when it
/// cannot be read without changing anything.
pub fn schema_of(db: &Path) -> Option<String> {
    let conn = read_view(db)?;
    let objects = crate::verify::snapshot::schema(&conn).ok()?;
    Some(crate::verify::snapshot::schema_digest(&objects))
}
