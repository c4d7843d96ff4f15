//! One migration of one database, as both faces drive it: the engine owns the sequence and
//! every decision in it.
//!
//! What a plan request builds, which backup a rehearsal starts from, what must hold before
//! production is touched (nobody holding it, a restore possible, room on the disk for the
//! whole run), which reports are written, what a verification or a rollback starts from, and
//! what an earlier run left to pick up — each is decided here, once. The command line maps its
//! arguments onto these calls and prints what they return; the wizard runs each call on its
//! worker thread and shows the result. Neither face decides anything of its own.

mod app;
mod done;
mod fix;
mod held;
mod open;
mod request;
mod run;
mod undo;

use std::path::{Path, PathBuf};

pub use app::AppView;
pub use done::AlreadyDone;
pub use fix::FixRequest;
pub use held::HoldSlot;
pub use request::{PlanRequest, Planned, TenantChoice};
pub use run::Run;

use crate::apply::Cancel;
use crate::audit::{self, AuditOptions, AuditReport};
use crate::backup::{self, BackupOptions, BackupReport};
use crate::backup_ref::BackupRef;
use crate::dryrun::{self, DryRunOptions, DryRunReport};
use crate::error::{Error, Result};
use crate::execute::{self, ExecuteReport, Rehearsal};
use crate::isolate::IsolationReport;
use crate::journal::{self, Standing};
use crate::preflight::{self, PreflightReport};
use crate::progress::Progress;
use crate::reverify::{self, Reverification};
use crate::rollback::{self, RollbackReport, request::Asked};
use crate::{inuse, paths, reports, space, status};

/// The migration of one database: every operation a face needs, in the order a run takes them.
#[derive(Debug, Clone)]
pub struct Session {
    db: PathBuf,
    /// The journal mode (WAL or not) while this session holds the database for a run: reading
    /// the file's header then would open and close a descriptor of it, which on Unix drops
    /// every lock this process holds on it, the hold's included.
    held_wal: std::cell::Cell<Option<bool>>,
    /// Where a face that takes a run's steps one at a time keeps the hold between them.
    slot: Option<HoldSlot>,
    /// The technician asked for a script's statements to run although they ran here before.
    again: bool,
    /// The application's migrations folder, ledger and own check.
    app: crate::ledger::plan::App,
}

/// A rehearsal and what it left on disk.
#[derive(Debug, Clone)]
pub struct Rehearsed {
    /// The backup it started from.
    pub backup: BackupRef,
    /// Seconds spent making that backup, when this run made it.
    pub backup_seconds: Option<f64>,
    /// The dry run.
    pub dry: DryRunReport,
    /// The reports written.
    pub reports: Vec<PathBuf>,
}

/// An execute and the reports it wrote.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The execute.
    pub report: ExecuteReport,
    /// The reports written.
    pub reports: Vec<PathBuf>,
}

/// A verification from the journal and its report.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The verification.
    pub report: Reverification,
    /// The reports written.
    pub reports: Vec<PathBuf>,
}

/// An earlier run the journal says the database carries, to pick up.
#[derive(Debug, Clone)]
pub struct Resume {
    /// Where the journal leaves the database.
    pub standing: Standing,
    /// How that execute ended.
    pub state: ResumeState,
    /// The backup a rollback would restore, where it is now.
    pub backup: BackupRef,
}

/// How the execute a resume picks up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeState {
    /// Cut off, and the file proves neither outcome: verify before anything else.
    Interrupted,
    /// Migrated and verified.
    Verified,
    /// Migrated, and its verification failed.
    VerificationFailed,
    /// Migrated, not yet verified.
    Unverified,
}

impl Session {
    /// A session on `db`, the real file (the faces resolve what was typed once, first).
    pub fn new(db: impl Into<PathBuf>) -> Session {
        Session {
            db: db.into(),
            held_wal: std::cell::Cell::new(None),
            slot: None,
            again: false,
            app: crate::ledger::plan::App::default(),
        }
    }

    /// The same session, applying a script's statements even where they ran before (`--again`):
    /// the technician means to apply them a second time.
    pub fn applying_again(mut self, again: bool) -> Session {
        self.again = again;
        self
    }

    /// The same session, with the application's migrations folder, ledger and own check: a
    /// `--migrations` plan reads them, and every rehearsal checks that the app will start.
    pub fn with_app(mut self, app: crate::ledger::plan::App) -> Session {
        self.app = app;
        self
    }

    /// The application's side of the run.
    pub fn app(&self) -> &crate::ledger::plan::App {
        &self.app
    }

    /// The database.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// Checks the file: healthy (quick_check), who holds it, the disk a whole run needs, and
    /// whether a rollback could put a backup back. An unclean shutdown is recovered first,
    /// with a copy kept as found.
    pub fn preflight(&self, progress: &mut dyn FnMut(Progress)) -> Result<PreflightReport> {
        preflight::run_with(&self.db, progress)
    }

    /// The earlier run to pick up, if the journal records an execute that still stands. It
    /// is only offered once the file itself was looked at idle (an interrupted execute is
    /// settled from the file), so never while it is in use or unchecked.
    pub fn resumable(&self, pre: &PreflightReport, progress: &mut dyn FnMut(Progress)) -> Option<Resume> {
        if pre.in_use() || (pre.uncertain() && !inuse::stopped_confirmed()) {
            return None;
        }
        let standing = status::reconcile(&self.db, progress).ok()?.standing;
        let x = standing.live_execute()?;
        let state = match (x.committed, standing.verified) {
            (false, _) => ResumeState::Interrupted,
            (true, Some(true)) => ResumeState::Verified,
            (true, Some(false)) => ResumeState::VerificationFailed,
            (true, None) => ResumeState::Unverified,
        };
        let backup = x.backup.located(&self.db);
        Some(Resume { standing, state, backup })
    }

    /// Where the journal leaves the database.
    pub fn standing(&self) -> Result<Standing> {
        Ok(journal::standing(&journal::read(&self.db)?))
    }

    /// Whether the file holds the change of an execute cutover recorded, read from the file
    /// (its bytes against every recorded state, or its schema where it was written to since).
    pub fn carries_execute(&self) -> bool {
        let Ok(standing) = self.standing() else { return false };
        status::present::Present::read(&self.db, &standing.lineage)
            .is_ok_and(|p| p.in_force(&standing.lineage).is_some_and(|x| x.record.committed))
    }

    /// What still ignores the tenant column once it is in place (unique keys, foreign keys,
    /// views, triggers), with a proposed fix for each, and writes `isolation.md`. Read-only.
    pub fn isolate(&self, column: &str, progress: &mut dyn FnMut(Progress)) -> Result<(IsolationReport, PathBuf)> {
        // What an interrupted probe left beside the file is cutover's own: cleared first.
        crate::leftovers::remove(&self.db, progress);
        let journal = paths::side_file(&self.db, "-journal");
        let hot = std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
        let report = crate::isolate::run(&self.db, column, progress)?;
        if hot && !journal.exists() {
            // SQLite's own recovery on opening the file: said, since it changed the file's bytes.
            progress(Progress::Notice(format!(
                "{} had a hot journal (a write the application did not finish): SQLite rolled it back when the file was opened, as the application would have — that recovery is the only change made to the file",
                crate::shown::shown(&self.db)
            )));
        }
        let written = reports::write_isolation(&self.db, &report)?;
        Ok((report, written))
    }

    /// Lists every table and what the tenant migration would do with it.
    pub fn audit(&self, options: &AuditOptions, progress: &mut dyn FnMut(Progress)) -> Result<AuditReport> {
        if let Some(report) = self.read_held(|conn| audit::run_on(conn, &self.db, options, progress)) {
            return report;
        }
        audit::run(&self.db, options, progress)
    }

    /// Builds the plan `request` asks for.
    pub fn plan(&self, request: &PlanRequest, progress: &mut dyn FnMut(Progress)) -> Result<Planned> {
        request::build(self, request, progress)
    }

    /// What must hold before a run that ends in changing production writes anything: nobody
    /// holds the database (or the technician vouched for what cannot be seen), a rollback
    /// could rename a backup into place, and the disk has room for the whole run (the backup,
    /// the rehearsal copy and what the plan adds; before there is a plan, the estimate the
    /// preflight shows).
    pub fn ready_to_change(&self, planned: Option<&Planned>) -> Result<()> {
        inuse::ensure_not_in_use(&self.db)?;
        if let Some(why) = preflight::restore_blocker(&self.db, None) {
            return Err(Error::CannotRestore { path: self.db.clone(), why });
        }
        let bytes = space::database_bytes(&self.db);
        space::ensure(&paths::parent_dir(&self.db), space::for_run(bytes, self.growth(planned, bytes)), false)
    }

    /// What a plan adds to the database while it runs (see [`space::growth`]).
    fn growth(&self, planned: Option<&Planned>, bytes: u64) -> u64 {
        let index = planned.map_or_else(|| space::unplanned_index_bytes(bytes), |p| p.index_bytes(bytes));
        let held = self.held_wal.get().or_else(|| self.slot_wal());
        space::growth(index, held.unwrap_or_else(|| space::wal_mode(&self.db)))
    }

    /// Makes and proves a backup (`cutover backup`: room for the copy is all it needs).
    pub fn back_up(&self, options: &BackupOptions, progress: &mut dyn FnMut(Progress)) -> Result<BackupReport> {
        backup::run(&self.db, options, progress)
    }

    /// The backup a run that goes on to execute starts with: refused, before anything is
    /// written, unless [`Session::ready_to_change`] holds (for `planned`, when the plan is
    /// already known).
    pub fn back_up_for_run(
        &self,
        planned: Option<&Planned>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<BackupReport> {
        if self.slot.is_some() {
            // A new backup starts a new hold; the old one would stand in its way.
            self.let_go();
            let (report, hold) = self.back_up_holding(planned, progress)?;
            self.held_wal.set(None);
            self.keep(hold)?;
            return Ok(report);
        }
        self.ready_to_change(planned)?;
        self.back_up(&BackupOptions::default(), progress)
    }

    /// [`Session::back_up_for_run`], keeping the database held exclusively for the execute
    /// that follows in the same run (the shop's application cannot read or write it meanwhile).
    pub(crate) fn back_up_holding(
        &self,
        planned: Option<&Planned>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(BackupReport, crate::hold::Hold)> {
        self.ready_to_change(planned)?;
        let (report, hold) = backup::run_holding(&self.db, &BackupOptions::default(), progress)?;
        self.held_wal.set(Some(hold.journal_mode().eq_ignore_ascii_case("wal")));
        Ok((report, hold))
    }

    /// The newest recorded backup, when the database is still byte for byte that backup: a
    /// rehearsal may start from it without making another.
    pub fn reusable_backup(&self) -> Result<Option<BackupRef>> {
        Ok(self.standing()?.backup.map(|b| b.located(&self.db)).filter(|b| b.still_equals(&self.db)))
    }

    /// Rehearses the plan on a scratch copy of `backup`, verifies the copy, and writes the
    /// rehearsal's reports. The database itself is never opened for writing.
    pub fn rehearse(
        &self,
        planned: &Planned,
        backup: &BackupRef,
        options: &DryRunOptions,
        cancel: &Cancel,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Rehearsed> {
        if cancel.is_set() {
            return Err(Error::Cancelled(format!(
                " before the rehearsal: {} was not touched",
                crate::shown::shown(&self.db)
            )));
        }
        let bytes = std::fs::metadata(&backup.path).map_or(0, |m| m.len());
        let room = space::for_rehearsal(bytes, self.growth(Some(planned), bytes));
        space::ensure(&paths::parent_dir(&self.db), room, false)?;
        let mut options = options.clone();
        options.app = options.app.or_else(|| Some(self.app.clone()));
        let dry = dryrun::run(&self.db, backup, &planned.plan, &options, cancel, progress).map_err(|e| match e {
            Error::Cancelled(_) => Error::Cancelled(format!(
                " during the rehearsal on a copy: {} itself was not touched",
                crate::shown::shown(&self.db)
            )),
            e => e,
        })?;
        let reports = reports::write_rehearsal(&self.db, &planned.plan, planned.audit.as_ref(), &dry)?;
        Ok(Rehearsed { backup: backup.clone(), backup_seconds: None, dry, reports })
    }

    /// Runs the rehearsed plan on production in one transaction, proves the outcome and
    /// writes the execution's reports. Refused unless the rehearsal passed for this plan.
    pub fn execute(
        &self,
        planned: &Planned,
        rehearsed: &Rehearsed,
        cancel: &Cancel,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Executed> {
        let hold = self.take_hold();
        if let Some(h) = &hold {
            // Taken from the slot: the space check must not read the held file's header.
            self.held_wal.set(Some(h.journal_mode().eq_ignore_ascii_case("wal")));
        }
        let executed = self.execute_holding(planned, rehearsed, hold, cancel, progress);
        self.held_wal.set(None);
        executed
    }

    /// [`Session::execute`] with the hold the run's backup kept, when it kept one.
    pub(crate) fn execute_holding(
        &self,
        planned: &Planned,
        rehearsed: &Rehearsed,
        held: Option<crate::hold::Hold>,
        cancel: &Cancel,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Executed> {
        let bytes = space::database_bytes(&self.db);
        space::ensure(&paths::parent_dir(&self.db), space::for_execute(bytes, self.growth(Some(planned), bytes)), false)?;
        // The file equals the backup (held since, or proven under the lock next): what its
        // bytes carry says whether a script's statements already ran here.
        self.refuse_repeat(&planned.plan, Some(&rehearsed.backup.sha256))?;
        let rehearsal = Rehearsal::from(&rehearsed.dry);
        let how = execute::Production { held, again: self.again };
        let report = execute::run(&self.db, &planned.plan, &rehearsed.backup, &rehearsal, how, cancel, progress)?;
        let reports = reports::write_execution(&self.db, &planned.plan, &rehearsed.dry, &report)?;
        Ok(Executed { report, reports })
    }

    /// Verifies production against what its journal recorded of the last execute, and writes
    /// `verification.md`.
    pub fn verify(&self, progress: &mut dyn FnMut(Progress)) -> Result<Verified> {
        crate::leftovers::remove(&self.db, progress);
        let report = reverify::run(&self.db, progress)?;
        let reports = vec![reports::write_verification(&self.db, &report)?];
        Ok(Verified { report, reports })
    }

    /// The backup a rollback would restore now, asked of the journal exactly as the rollback
    /// itself asks it (an interrupted execute settled first): what a face shows before it asks
    /// the technician to confirm.
    pub fn rollback_target(&self, asked: Asked<'_>) -> Result<BackupRef> {
        Ok(rollback::from_journal(&self.db, asked)?.backup)
    }

    /// Restores the backup the journal names for the last execute (or the one asked for,
    /// when forced) — refused while it would discard the shop's work, unless asked to.
    pub fn rollback(&self, asked: Asked<'_>, progress: &mut dyn FnMut(Progress)) -> Result<RollbackReport> {
        let request = rollback::from_journal(&self.db, asked)?;
        Ok(rollback::run(&request, progress)?.with_in_force(&self.db))
    }
}
