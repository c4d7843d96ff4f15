//! Execute: the plan on production, in one exclusive, durable transaction, allowed only with a
//! backup equal to the file and a passed dry run of the same plan from the same bytes.

use crate::shown::shown;
use std::fs;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::apply::{self, Cancel, StatementRun};
use crate::backup_ref::BackupRef;
use crate::changes::Changes;
use crate::dryrun;
use crate::hold::Hold;
use crate::error::{Error, Result, is_busy};
use crate::hashing;
use crate::journal::{self, Event};
use crate::plan::Plan;
use crate::platform::DbFile;
use crate::progress::Progress;
use crate::refusal::Refusal;
use crate::verify::snapshot::Snapshot;
use crate::verify::{Identical, Verification, production};
use crate::{inuse, open, paths, preflight, reverify, status};

/// What a passed dry run proves, as execute needs it.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    /// The plan's hash.
    pub plan_sha256: String,
    /// The bytes it started from.
    pub source_sha256: String,
    /// The copy's SHA-256 after its commit.
    pub result_sha256: String,
    /// The state before the plan.
    pub before: Snapshot,
    /// The checks that warned on the copy (they hold on production too when it matches).
    pub warned: Vec<crate::verify::Check>,
}

impl Rehearsal {
    /// What production's verification builds on.
    pub fn on_the_copy(&self) -> production::OnTheCopy<'_> {
        production::OnTheCopy { before: &self.before, warned: &self.warned }
    }
}

impl From<&dryrun::DryRunReport> for Rehearsal {
    fn from(d: &dryrun::DryRunReport) -> Self {
        Rehearsal {
            plan_sha256: d.plan_sha256.clone(),
            source_sha256: d.backup.sha256.clone(),
            result_sha256: d.result_sha256.clone(),
            before: d.before.clone(),
            warned: crate::verify::app::carried(&d.verification.checks),
        }
    }
}

impl From<journal::PassedDryRun> for Rehearsal {
    fn from(d: journal::PassedDryRun) -> Self {
        Rehearsal {
            plan_sha256: d.plan.sha256,
            source_sha256: d.source_sha256,
            result_sha256: d.result_sha256,
            before: d.before,
            warned: d.warned,
        }
    }
}

/// How an execute reaches production.
#[derive(Default)]
pub struct Production {
    /// The hold the run's backup kept, when it kept one: the file is then still the backup's
    /// bytes while the hold is untouched.
    pub held: Option<Hold>,
    /// The technician asked for statements applied before to be applied once more (journalled).
    pub again: bool,
}

/// Seconds per step of an execute.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExecuteTimings {
    /// Proving the file still equals the backup.
    pub check: f64,
    /// Running the plan and committing.
    pub apply: f64,
    /// Hashing the result.
    pub hash: f64,
    /// Verifying.
    pub verify: f64,
}

/// A committed execute and its verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecuteReport {
    /// The plan's hash.
    pub plan_sha256: String,
    /// The backup to roll back to.
    pub backup: BackupRef,
    /// The statements as they ran.
    pub statements: Vec<StatementRun>,
    /// Production's SHA-256 after the commit.
    pub result_sha256: String,
    /// Whether it equals the rehearsal's (proof by identical outcome).
    pub identical: bool,
    /// The checks on production.
    pub verification: Verification,
    /// What was written to the database after the commit, when its checks saw such writes.
    #[serde(default)]
    pub changed_since: Option<Changes>,
    /// Whether production was held exclusively from its backup to the commit and proven
    /// untouched, so it equalled the backup without being hashed again; otherwise it was hashed
    /// under the lock.
    #[serde(default)]
    pub held_since_backup: bool,
    /// Where the time went.
    pub timings_s: ExecuteTimings,
    /// Seconds in all.
    pub seconds: f64,
}

/// Runs `plan` on production. Refuses unless `rehearsal` passed this plan starting from the
/// bytes of `backup`, a rollback could put the backup back, and — under the exclusive lock —
/// the WAL is empty and the file still hashes to the backup's SHA-256.
///
/// Once the transaction has committed, nothing turns the run into an error that reads as
/// "nothing changed": a later failure is [`Error::AfterCommit`], which says the change is in.
pub fn run(
    db: &Path,
    plan: &Plan,
    backup: &BackupRef,
    rehearsal: &Rehearsal,
    how: Production,
    cancel: &Cancel,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExecuteReport> {
    let Production { held, again } = how;
    let started = Instant::now();
    let db = &paths::resolve(db)?;
    if rehearsal.plan_sha256 != plan.sha256 {
        return Err(Error::NotReady(Refusal::NoPassedDryRun { plan: plan.short_hash().to_string() }));
    }
    if rehearsal.source_sha256 != backup.sha256 {
        return Err(Error::NotReady(Refusal::RehearsedOtherBytes));
    }
    if !backup.path.is_file() {
        return Err(Error::NotReady(Refusal::BackupGone { path: backup.path.clone() }));
    }
    // The hold the backup took stands for the proof only while nothing can have touched the file.
    let mut held = held.filter(|h| h.untouched());
    // The way back must still be there: the backup is read from the disk once more, while the
    // plan runs, and must hash as recorded, or nothing is committed.
    progress(Progress::Step("checking the backup against its recorded hash, alongside the plan".into()));
    let backup_check = {
        let path = backup.path.clone();
        std::thread::spawn(move || crate::hashing::rehash(&path, &mut |_| {}))
    };
    if let Some(why) = preflight::restore_blocker(db, None) {
        return Err(Error::CannotRestore { path: db.to_path_buf(), why });
    }
    match &held {
        // Windows enforces the hold's locks on every SQLite reader and writer, and its scan
        // would take the hold's own handles for another program's.
        Some(_) if !crate::platform::SCAN_PAST_OWN_HANDLES => {}
        // Opening the file to probe its locks would drop the hold's own: only the process scan.
        Some(_) => {
            let ids: Vec<_> = paths::with_side_files(db)
                .into_iter()
                .filter_map(|p| crate::platform::identity(&p).ok().map(|i| (i.id, p)))
                .collect();
            let holders = inuse::holders_of(&ids);
            if !holders.is_empty() {
                return Err(Error::InUse { path: db.to_path_buf(), holders });
            }
        }
        None => {
            inuse::ensure_not_in_use(db)?;
            crate::status::ensure_settled(db, progress)?;
        }
    }
    let mut timings = ExecuteTimings::default();

    // Opened before the connection and closed after it: closing a descriptor of the database
    // would drop SQLite's locks (see `inuse`). A hold brings both.
    let proven_by_hold = held.as_ref().and_then(Hold::evidence);
    let mut opened: Option<(rusqlite::Connection, DbFile)> = None;
    let (file, conn) = match held.as_mut() {
        Some(h) => h.parts_mut()?,
        None => {
            let file = DbFile::open(db).map_err(|e| Error::io(format!("opening {}", shown(db)), e))?;
            let conn = open::read_write(db)?;
            let (conn, file) = opened.insert((conn, file));
            (&*file, conn)
        }
    };
    let locked = |e: rusqlite::Error| {
        if is_busy(&e) {
            Error::Locked { path: db.to_path_buf(), pid: None }
        } else {
            Error::sqlite("preparing the database", e)
        }
    };
    dryrun::prepare_for_plan(conn)?;
    let folded = crate::wal::fold_in(conn).map_err(locked)?;
    if !folded.complete {
        return Err(Error::Locked { path: db.to_path_buf(), pid: None });
    }
    let wal = folded.is_wal();
    journal::append(
        db,
        Event::ExecuteStarted {
            plan_sha256: plan.sha256.clone(),
            backup_path: backup.path.clone(),
            backup_sha256: backup.sha256.clone(),
            marks_commit: true,
            fingerprint: Some(crate::plan::fingerprint::of(&plan.statements)),
            again,
        },
    )?;
    let mut check_secs = 0.0;
    let wal_path = paths::side_file(db, "-wal");
    let mut prove_unchanged = |conn: &rusqlite::Connection| -> Result<()> {
        let check_started = Instant::now();
        // Under the exclusive lock no one can add to the WAL; a write that reached it after the
        // checkpoint is part of what SQLite reads, and the main file's hash cannot see it.
        if wal && fs::metadata(&wal_path).is_ok_and(|m| m.len() > 0) {
            return Err(Error::NotReady(Refusal::WalWrittenSinceBackup { path: db.to_path_buf() }));
        }
        // Held since the backup copied it and untouched, asked again now that the transaction
        // holds the lock: the file is still those bytes. Touched after all: refused.
        if let Some(evidence) = &proven_by_hold {
            if !evidence.holds() {
                return Err(Error::NotReady(Refusal::ChangedSinceBackup { path: db.to_path_buf() }));
            }
        } else {
            let now = hash_under_lock(file, conn).map_err(|e| Error::io(format!("hashing {}", shown(db)), e))?;
            if now.sha256 != backup.sha256 {
                return Err(Error::NotReady(Refusal::ChangedSinceBackup { path: db.to_path_buf() }));
            }
        }
        check_secs = check_started.elapsed().as_secs_f64();
        Ok(())
    };
    progress(Progress::Step(if proven_by_hold.is_some() {
        "held since the backup: proving it untouched (so it still equals the backup) and running the plan on production"
            .into()
    } else {
        "locking and proving the database still equals the backup".into()
    }));
    let mut backup_check = Some(backup_check);
    let mut committing = || {
        let proven = backup_check.take().map(|t| t.join());
        match proven {
            Some(Ok(Ok(h))) if h.sha256 == backup.sha256 => {}
            Some(Ok(Err(e))) => return Err(e),
            _ => {
                return Err(Error::NotReady(Refusal::BackupChanged {
                    path: backup.path.clone(),
                    doing: "nothing was changed; make a new backup and dry run",
                }));
            }
        }
        journal::append(db, Event::ExecuteCommitting { plan_sha256: plan.sha256.clone() })
            .map_err(|e| Error::NotReady(Refusal::CommitNotRecorded { cause: e.to_string() }))
    };
    let applied = apply::apply(conn, plan, cancel, " on production", &mut prove_unchanged, &mut committing, progress);
    timings.check = check_secs;
    let runs = match applied {
        Ok(runs) => runs,
        Err(e) => {
            // The connection closes before the file (see above).
            drop(held);
            drop(opened);
            return Err(settle_failure(db, plan, backup, rehearsal, e));
        }
    };
    timings.apply = started.elapsed().as_secs_f64() - timings.check;
    // Committed: from here on every failure says so.
    let after = |what: &str| {
        let what = what.to_string();
        move |e: Error| Error::AfterCommit { path: db.to_path_buf(), what, cause: e.to_string(), verification: None }
    };
    // The result is hashed before the lock goes (exclusive locking mode keeps it after the
    // commit), so nothing the shop writes afterwards can pass for the execute's result.
    let hash_started = Instant::now();
    progress(Progress::Step("hashing the result".into()));
    let result = match dryrun::finish_after_commit(conn) {
        Ok(()) => Some(
            hash_under_lock(file, conn)
                .map_err(|e| Error::io(format!("hashing {}", shown(db)), e))
                .map_err(after("hashing the result"))?
                .sha256,
        ),
        // A WAL that cannot be folded in leaves no hash that stands for the database.
        Err(_) => None,
    };
    let schema_sha256 = crate::verify::snapshot::schema(conn).ok().map(|o| crate::verify::snapshot::schema_digest(&o));
    drop(held);
    drop(opened);
    timings.hash = hash_started.elapsed().as_secs_f64();
    let committed = Event::ExecuteCommitted { plan_sha256: plan.sha256.clone(), result_sha256: result.clone(), schema_sha256 };
    journal::append(db, committed).map_err(after("recording the commit in the journal"))?;

    let verify_started = Instant::now();
    let actual = result.clone().unwrap_or_else(|| "(the WAL could not be folded in)".into());
    let identical = Identical { rehearsal_sha256: rehearsal.result_sha256.clone(), actual_sha256: actual.clone() };
    let matched = identical.rehearsal_sha256 == identical.actual_sha256;
    progress(Progress::Step(if matched {
        "MATCH with the rehearsal: running the cheap checks".into()
    } else {
        "no match with the rehearsal: running every check on production".into()
    }));
    let mut verification = production::verify(db, plan, rehearsal.on_the_copy(), &runs, identical, None, progress)
        .map_err(after("the verification"))?;
    // Checks that fail on a file that is no longer the result may be the shop writing right
    // after the commit, not the migration: tell them apart before saying which.
    let mut changed_since = None;
    if !verification.ok
        && result.is_some()
        && status::settled_sha256(db).map_err(after("hashing the database again"))? != result
    {
        let (changes, _, _) = reverify::changes_since(db, backup, plan, progress);
        if let Some(c) = changes.filter(|c| !c.is_empty()) {
            let identical =
                Identical { rehearsal_sha256: rehearsal.result_sha256.clone(), actual_sha256: actual.clone() };
            verification = production::verify(db, plan, rehearsal.on_the_copy(), &runs, identical, Some(&c), progress)
                .map_err(after("the verification"))?;
            changed_since = Some(c);
        }
    }
    timings.verify = verify_started.elapsed().as_secs_f64();
    Ok(ExecuteReport {
        plan_sha256: plan.sha256.clone(),
        backup: backup.clone(),
        statements: runs,
        result_sha256: actual,
        identical: matched,
        verification,
        changed_since,
        held_since_backup: proven_by_hold.is_some(),
        timings_s: timings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// SHA-256 of the main file, read under the connection's locks.
fn hash_under_lock(file: &DbFile, conn: &rusqlite::Connection) -> std::io::Result<hashing::StreamHash> {
    let total = file.size()?;
    let mut reader = file.reader(conn)?;
    hashing::hash_reader(&mut reader, total, &mut |_, _| {})
}

/// After a failed run, looks at the file itself: an I/O error at commit time can leave a
/// commit that SQLite reported as failed but that is durable (or the reverse), so "nothing
/// changed" is only said when the file equals the backup again.
fn settle_failure(db: &Path, plan: &Plan, backup: &BackupRef, rehearsal: &Rehearsal, error: Error) -> Error {
    let record = |event| journal::append(db, event);
    if matches!(error, Error::NotReady(_) | Error::Locked { .. } | Error::InUse { .. }) {
        // Refused before any statement ran: nothing was written.
        let _ = record(Event::ExecuteRolledBack { plan_sha256: plan.sha256.clone(), error: error.to_string(), file_sha256: None });
        return error;
    }
    let settled = crate::status::settle_and_hash(db);
    match settled {
        Ok(sha) if sha == backup.sha256 => {
            let _ = record(Event::ExecuteRolledBack { plan_sha256: plan.sha256.clone(), error: error.to_string(), file_sha256: None });
            error
        }
        Ok(sha) if sha == rehearsal.result_sha256 => {
            let schema_sha256 = crate::status::schema_of(db);
            let _ = record(Event::ExecuteCommitted {
                plan_sha256: plan.sha256.clone(),
                result_sha256: Some(sha),
                schema_sha256,
            });
            Error::NotReady(Refusal::CommittedDespiteError { path: db.to_path_buf(), reported: error.to_string() })
        }
        _ => Error::NotReady(Refusal::NeitherBackupNorResult { path: db.to_path_buf(), reported: error.to_string() }),
    }
}
