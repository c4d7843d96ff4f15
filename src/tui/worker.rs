//! The worker: each job runs on its own thread with its own connections, streaming progress
//! and then its result as [`JobMessage`]s. Every job is one call of the engine's session, so
//! the wizard decides nothing the command line does not.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::engine::BackupRef;
use crate::engine::BackupReport;
use crate::engine::Cancel;
use crate::engine::DryRunOptions;
use crate::engine::PreflightReport;
use crate::engine::RollbackAsked;
use crate::engine::RollbackReport;
use crate::engine::{AppSide, AppView};
use crate::engine::{AuditOptions, AuditReport, DEFAULT_COLUMN, IsolationReport};
use crate::engine::{Changes, Executed, HoldSlot, PlanRequest, Planned, Rehearsed, Resume, Run, Session, Verified};
use crate::engine::{Error, Progress, confirm_stopped};

/// A piece of work for the worker.
#[derive(Debug, Clone)]
pub enum Job {
    /// Check the file and read the journal; `confirmed_stopped` carries the technician's word
    /// that the application is stopped, for processes cutover cannot look into.
    Preflight { db: PathBuf, confirmed_stopped: bool },
    /// Make and prove the backup a run starts with (refused first when the run could not
    /// finish: the database in use, no restore possible, too little disk), keeping the
    /// database held in `hold` for the steps up to the execute.
    Backup { db: PathBuf, hold: HoldSlot },
    /// Audit every table (through the hold, while the run keeps one).
    Audit { db: PathBuf, hold: HoldSlot },
    /// What still ignores the tenant column, and what a second tenant meets on a copy.
    Isolate { db: PathBuf },
    /// Build the plan the technician asked for (through the hold, while the run keeps one).
    Plan { db: PathBuf, request: PlanRequest, hold: HoldSlot, side: Box<AppSide> },
    /// Rehearse on a copy (of the backup: production stays held).
    DryRun { db: PathBuf, backup: BackupRef, planned: Box<Planned>, hold: HoldSlot, side: Box<AppSide> },
    /// Run on production, with the hold when it was kept; after an isolation fix, `isolation`
    /// is the audit of before, for the report of before and after.
    Execute {
        db: PathBuf,
        planned: Box<Planned>,
        rehearsed: Box<Rehearsed>,
        isolation: Option<Box<IsolationReport>>,
        hold: HoldSlot,
    },
    /// Verify again from the journal (resume).
    Verify { db: PathBuf },
    /// Ask the engine which backup a rollback would restore, to show before the y/N.
    RollbackTarget { db: PathBuf },
    /// Restore the backup of the last execute; `discard_changes` once the technician has
    /// confirmed that what the shop wrote since may be thrown away. Refused because the shop
    /// wrote since, it comes back with the undo in place planned (or why there is none).
    Rollback { db: PathBuf, discard_changes: bool },
    /// Undo the last execute in place: its inverse through backup, rehearsal, execute and
    /// verification.
    Undo { db: PathBuf, planned: Box<Planned> },
}

/// Which job, for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Preflight.
    Preflight,
    /// Backup.
    Backup,
    /// Audit.
    Audit,
    /// Isolation audit.
    Isolate,
    /// Plan.
    Plan,
    /// Dry run.
    DryRun,
    /// Execute.
    Execute,
    /// Verify.
    Verify,
    /// Looking up what a rollback restores.
    RollbackTarget,
    /// Rollback.
    Rollback,
    /// Undo in place.
    Undo,
}

impl JobKind {
    /// What the job is doing, for the progress line.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Preflight => "checking the database",
            JobKind::Backup => "backing up",
            JobKind::Audit => "auditing every table",
            JobKind::Isolate => "auditing isolation, trying a second tenant",
            JobKind::Plan => "building the plan",
            JobKind::DryRun => "rehearsing on a copy",
            JobKind::Execute => "executing on the database",
            JobKind::Verify => "verifying",
            JobKind::RollbackTarget => "looking up the backup to restore",
            JobKind::Rollback => "rolling back",
            JobKind::Undo => "undoing in place",
        }
    }
}

impl Job {
    /// Whether the job can run while the database is held for the run: the others open the
    /// file by its name, so the hold is let go before they start.
    pub fn keeps_hold(&self) -> bool {
        matches!(
            self,
            Job::Backup { .. } | Job::Audit { .. } | Job::Plan { .. } | Job::DryRun { .. } | Job::Execute { .. }
        )
    }

    /// The job's kind.
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Preflight { .. } => JobKind::Preflight,
            Job::Backup { .. } => JobKind::Backup,
            Job::Audit { .. } => JobKind::Audit,
            Job::Isolate { .. } => JobKind::Isolate,
            Job::Plan { .. } => JobKind::Plan,
            Job::DryRun { .. } => JobKind::DryRun,
            Job::Execute { .. } => JobKind::Execute,
            Job::Verify { .. } => JobKind::Verify,
            Job::RollbackTarget { .. } => JobKind::RollbackTarget,
            Job::Rollback { .. } => JobKind::Rollback,
            Job::Undo { .. } => JobKind::Undo,
        }
    }
}

/// A finished job's result.
#[derive(Debug)]
pub enum Outcome {
    /// Preflight facts, from the journal an earlier run to resume, and whether the tenant
    /// column is already in place.
    Preflight(Box<PreflightReport>, Option<Box<Resume>>, bool),
    /// A proven backup.
    Backup(Box<BackupReport>),
    /// The audit.
    Audit(Box<AuditReport>),
    /// The isolation audit and its report.
    Isolation(Box<IsolationReport>, PathBuf),
    /// The plan and the audit it came from (tenant plans).
    Plan(Box<Planned>, Option<Result<AppView, String>>),
    /// The rehearsal and the reports written.
    DryRun(Box<Rehearsed>),
    /// The execute and the reports written.
    Execute(Box<Executed>),
    /// A verification from the journal.
    Verify(Box<Verified>),
    /// The backup a rollback would restore.
    RollbackTarget(Box<BackupRef>),
    /// The rollback, and the plan of an earlier execute it put back in force, if it did.
    Rollback(Box<RollbackReport>, Option<String>),
    /// A restore refused because the shop wrote since the execute, and the way that keeps it.
    WayBack(Box<Refused>),
    /// The undo in place, as far as it went.
    Undo(Box<Planned>, Box<Run>),
}

/// A restore refused because it would discard the shop's work.
#[derive(Debug)]
pub struct Refused {
    /// What it would discard, when that could be told.
    pub changes: Option<Changes>,
    /// The refusal, in words.
    pub message: String,
    /// The undo in place, checked against the file, or why there is none.
    pub undo: Result<Planned, String>,
}

/// What a running job tells the wizard: its progress, then its result.
#[derive(Debug)]
pub enum JobMessage {
    /// The running job reported progress.
    Progress(Progress),
    /// The running job finished.
    Done(JobKind, Result<Outcome, Error>),
}

/// Starts `job` on a new thread; its messages arrive on `tx`, wrapped in the receiver's type.
pub fn spawn<M: From<JobMessage> + Send + 'static>(job: Job, cancel: Cancel, tx: Sender<M>) {
    let kind = job.kind();
    std::thread::spawn(move || {
        tracing::info!(?kind, "job started");
        let mut last = Instant::now() - Duration::from_secs(1);
        let progress_tx = tx.clone();
        let mut progress = move |p: Progress| {
            // Steps always go through; counters at most 20 times a second.
            let is_step = matches!(
                p,
                Progress::Step(_) | Progress::Statement { .. } | Progress::Check { .. } | Progress::Notice(_)
            );
            if is_step || last.elapsed() >= Duration::from_millis(50) {
                last = Instant::now();
                let _ = progress_tx.send(JobMessage::Progress(p).into());
            }
        };
        let result = run_now(job, &cancel, &mut progress);
        match &result {
            Ok(_) => tracing::info!(?kind, "job finished"),
            Err(e) => tracing::warn!(?kind, error = %e, "job failed"),
        }
        let _ = tx.send(JobMessage::Done(kind, result).into());
    });
}

/// Runs a job on the calling thread; `spawn` runs this on a worker, tests call it directly.
pub fn run_now(job: Job, cancel: &Cancel, progress: &mut dyn FnMut(Progress)) -> Result<Outcome, Error> {
    match job {
        Job::Preflight { db, confirmed_stopped } => {
            if confirmed_stopped {
                confirm_stopped();
            }
            let session = Session::new(db);
            let report = session.preflight(progress)?;
            let resume = session.resumable(&report, progress);
            let in_place = session.tenant_column_in_place(DEFAULT_COLUMN);
            Ok(Outcome::Preflight(Box::new(report), resume.map(Box::new), in_place))
        }
        Job::Backup { db, hold } => {
            Ok(Outcome::Backup(Box::new(Session::new(db).with_hold(hold).back_up_for_run(None, progress)?)))
        }
        Job::Audit { db, hold } => {
            let session = Session::new(db).with_hold(hold);
            Ok(Outcome::Audit(Box::new(session.audit(&AuditOptions::default(), progress)?)))
        }
        Job::Isolate { db } => {
            let (report, written) = Session::new(db).isolate(DEFAULT_COLUMN, progress)?;
            Ok(Outcome::Isolation(Box::new(report), written))
        }
        Job::Plan { db, request, hold, side } => {
            let session = Session::new(db).with_hold(hold).with_app(*side);
            let planned = session.plan(&request, progress)?;
            let app = session.app_view().map(|v| v.map_err(|e| e.to_string()));
            Ok(Outcome::Plan(Box::new(planned), app))
        }
        Job::DryRun { db, backup, planned, hold, side } => {
            let session = Session::new(db).with_hold(hold).with_app(*side);
            let rehearsed = session.rehearse(&planned, &backup, &DryRunOptions::default(), cancel, progress)?;
            Ok(Outcome::DryRun(Box::new(rehearsed)))
        }
        Job::Execute { db, planned, rehearsed, isolation, hold } => {
            let session = Session::new(db).with_hold(hold);
            let mut executed = session.execute(&planned, &rehearsed, cancel, progress)?;
            // Committed: the report of after is a read; when it cannot be made, the log says why.
            if let Some(before) = isolation {
                match session.report_fix(&before, &planned.plan, progress) {
                    Ok((_, written)) => executed.reports.push(written),
                    Err(e) => tracing::warn!(error = %e, "the isolation report of after the fix could not be made"),
                }
            }
            Ok(Outcome::Execute(Box::new(executed)))
        }
        Job::Verify { db } => Ok(Outcome::Verify(Box::new(Session::new(db).verify(progress)?))),
        Job::RollbackTarget { db } => {
            let asked = RollbackAsked { again: true, ..Default::default() };
            Ok(Outcome::RollbackTarget(Box::new(Session::new(db).rollback_target(asked)?)))
        }
        Job::Rollback { db, discard_changes } => {
            // The y/N named the backup: the execute in force is what the technician takes back.
            let asked = RollbackAsked { discard_changes, again: true, ..Default::default() };
            let session = Session::new(db);
            match session.rollback(asked, progress) {
                Ok(report) => {
                    let again = report.in_force_again.as_ref().map(|x| x.plan_sha256.clone());
                    Ok(Outcome::Rollback(Box::new(report), again))
                }
                Err(Error::WouldDiscard { message, changes }) => {
                    let undo = session.plan_undo(progress).map_err(|e| e.to_string());
                    Ok(Outcome::WayBack(Box::new(Refused { changes, message, undo })))
                }
                Err(e) => Err(e),
            }
        }
        Job::Undo { db, planned } => {
            let run = Session::new(db).run(&planned, cancel, progress)?;
            Ok(Outcome::Undo(planned, Box::new(run)))
        }
    }
}
