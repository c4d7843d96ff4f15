//! The worker: each job runs on its own thread with its own connections, streaming progress
//! and then its result over the one channel the event loop reads.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::engine::apply::Cancel;
use crate::engine::audit::{self, AuditOptions, AuditReport, Decision};
use crate::engine::backup::{self, BackupOptions, BackupReport};
use crate::engine::dryrun::{self, BackupRef, DryRunOptions, DryRunReport};
use crate::engine::execute::{self, ExecuteReport, Rehearsal};
use crate::engine::journal;
use crate::engine::plan::Plan;
use crate::engine::plan::tenant::{self, TenantRequest};
use crate::engine::preflight::{self, PreflightReport};
use crate::engine::reverify::{self, Reverification};
use crate::engine::rollback::{self, RollbackReport};
use crate::engine::{Error, Progress, inuse, open, reports};
use crate::tui::event::Event;

/// What the technician chose on the audit and plan screens.
#[derive(Debug, Clone)]
pub struct PlanChoice {
    /// The tenant value.
    pub tenant: String,
    /// The column.
    pub column: String,
    /// Tables put out of the migration.
    pub excluded: Vec<String>,
    /// Tables put into it against the default (registry, bookkeeping).
    pub included: Vec<String>,
}

/// A piece of work for the worker.
#[derive(Debug, Clone)]
pub enum Job {
    /// Check the file and read the journal; `confirmed_stopped` carries the technician's word
    /// that the application is stopped, for processes cutover cannot look into.
    Preflight { db: PathBuf, confirmed_stopped: bool },
    /// Make and prove a backup.
    Backup { db: PathBuf },
    /// Audit every table.
    Audit { db: PathBuf },
    /// Build the tenant plan (re-auditing with the chosen tenant).
    Plan { db: PathBuf, choice: PlanChoice },
    /// Load a script as the plan.
    Script { path: PathBuf },
    /// Rehearse on a copy.
    DryRun { db: PathBuf, backup: BackupRef, plan: Box<Plan>, audit: Option<Box<AuditReport>> },
    /// Run on production.
    Execute { db: PathBuf, backup: BackupRef, plan: Box<Plan>, rehearsal: Box<Rehearsal>, dry: Box<DryRunReport> },
    /// Verify again from the journal (resume).
    Verify { db: PathBuf },
    /// Restore the backup of the last execute; `discard_changes` once the technician has
    /// confirmed that what the shop wrote since may be thrown away.
    Rollback { db: PathBuf, discard_changes: bool },
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
    /// Plan.
    Plan,
    /// Dry run.
    DryRun,
    /// Execute.
    Execute,
    /// Verify.
    Verify,
    /// Rollback.
    Rollback,
}

impl JobKind {
    /// What the job is doing, for the progress line.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Preflight => "checking the database",
            JobKind::Backup => "backing up",
            JobKind::Audit => "auditing every table",
            JobKind::Plan => "building the plan",
            JobKind::DryRun => "rehearsing on a copy",
            JobKind::Execute => "executing on the database",
            JobKind::Verify => "verifying",
            JobKind::Rollback => "rolling back",
        }
    }
}

impl Job {
    /// The job's kind.
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Preflight { .. } => JobKind::Preflight,
            Job::Backup { .. } => JobKind::Backup,
            Job::Audit { .. } => JobKind::Audit,
            Job::Plan { .. } | Job::Script { .. } => JobKind::Plan,
            Job::DryRun { .. } => JobKind::DryRun,
            Job::Execute { .. } => JobKind::Execute,
            Job::Verify { .. } => JobKind::Verify,
            Job::Rollback { .. } => JobKind::Rollback,
        }
    }
}

/// A finished job's result.
#[derive(Debug)]
pub enum Outcome {
    /// Preflight facts and, from the journal, an earlier run to resume.
    Preflight(Box<PreflightReport>, Option<Box<journal::Standing>>),
    /// A proven backup.
    Backup(Box<BackupReport>),
    /// The audit.
    Audit(Box<AuditReport>),
    /// The plan and the audit it came from (tenant plans).
    Plan(Box<Plan>, Option<Box<AuditReport>>),
    /// The rehearsal and the reports written.
    DryRun(Box<DryRunReport>, Vec<PathBuf>),
    /// The execute and the reports written.
    Execute(Box<ExecuteReport>, Vec<PathBuf>),
    /// A verification from the journal.
    Verify(Box<Reverification>),
    /// The rollback.
    Rollback(Box<RollbackReport>),
}

/// Starts `job` on a new thread; progress and the result arrive on `tx`.
pub fn spawn(job: Job, cancel: Cancel, tx: Sender<Event>) {
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
                let _ = progress_tx.send(Event::Progress(p));
            }
        };
        let result = run_now(job, &cancel, &mut progress);
        match &result {
            Ok(_) => tracing::info!(?kind, "job finished"),
            Err(e) => tracing::warn!(?kind, error = %e, "job failed"),
        }
        let _ = tx.send(Event::Done(kind, result));
    });
}

/// Runs a job on the calling thread; `spawn` runs this on a worker, tests call it directly.
pub fn run_now(job: Job, cancel: &Cancel, progress: &mut dyn FnMut(Progress)) -> Result<Outcome, Error> {
    match job {
        Job::Preflight { db, confirmed_stopped } => {
            if confirmed_stopped {
                inuse::confirm_stopped();
            }
            let report = preflight::run_with(&db, progress)?;
            // Where the journal leaves the database is only offered once the file itself was
            // looked at (an interrupted execute is settled from it), so not while it is in use.
            let standing = if report.in_use() || (report.uncertain() && !inuse::stopped_confirmed()) {
                None
            } else {
                crate::engine::status::reconcile(&db, progress).map(|r| r.standing).ok()
            };
            let resume = standing.filter(|s| s.execute.as_ref().is_some_and(|x| !x.rolled_back) && !s.rolled_back);
            Ok(Outcome::Preflight(Box::new(report), resume.map(Box::new)))
        }
        Job::Backup { db } => Ok(Outcome::Backup(Box::new(backup::run(&db, &BackupOptions::default(), progress)?))),
        Job::Audit { db } => Ok(Outcome::Audit(Box::new(audit::run(&db, &AuditOptions::default(), progress)?))),
        Job::Plan { db, choice } => {
            let options =
                AuditOptions { column: choice.column, tenant: Some(choice.tenant.clone()), exclude: choice.excluded };
            let mut report = audit::run(&db, &options, progress)?;
            for t in report.tables.iter_mut().filter(|t| choice.included.contains(&t.name)) {
                if t.decision == Decision::Excluded {
                    t.decision = Decision::Migrate;
                    t.reason = "included by you".into();
                }
            }
            let conn = open::inspect(&db)?;
            let request =
                TenantRequest { tenant: choice.tenant, column_type: tenant::DEFAULT_TYPE.into(), index: true };
            let plan = tenant::generate(&conn, &report, &request)?;
            Ok(Outcome::Plan(Box::new(plan), Some(Box::new(report))))
        }
        Job::Script { path } => Ok(Outcome::Plan(Box::new(Plan::from_script(&path)?), None)),
        Job::DryRun { db, backup, plan, audit } => {
            let dry = dryrun::run(&db, &backup, &plan, &DryRunOptions::default(), cancel, progress)?;
            let written = reports::write_rehearsal(&db, &plan, audit.as_deref(), &dry)?;
            Ok(Outcome::DryRun(Box::new(dry), written))
        }
        Job::Execute { db, backup, plan, rehearsal, dry } => {
            let done = execute::run(&db, &plan, &backup, &rehearsal, cancel, progress)?;
            let written = reports::write_execution(&db, &plan, &dry, &done)?;
            Ok(Outcome::Execute(Box::new(done), written))
        }
        Job::Verify { db } => Ok(Outcome::Verify(Box::new(reverify::run(&db, progress)?))),
        Job::Rollback { db, discard_changes } => {
            let asked = rollback::request::Asked { discard_changes, ..Default::default() };
            let request = rollback::from_journal(&db, asked)?;
            Ok(Outcome::Rollback(Box::new(rollback::run(&request, progress)?)))
        }
    }
}
