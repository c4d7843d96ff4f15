//! The headless runs: `cutover dry-run` and `cutover execute` as the engine sequences them
//! once the plan is known, so the command line only prints what they return.

use std::time::Instant;

use super::{Executed, PlanRequest, Planned, Rehearsed, Session};
use crate::apply::Cancel;
use crate::backup_ref::BackupRef;
use crate::dryrun::DryRunOptions;
use crate::error::{Error, Result};
use crate::shown::shown;
use crate::preflight::PreflightReport;
use crate::progress::Progress;
use crate::status;

/// How far a headless run went.
#[derive(Debug, Clone)]
pub enum Run {
    /// The plan is empty: every table has the change or is left out. Nothing was written.
    NothingToDo,
    /// The plan was rehearsed (a dry run, or an execute whose rehearsal failed: then
    /// production was not touched).
    Rehearsed(Box<Rehearsed>),
    /// The plan was rehearsed and executed on production.
    Executed(Box<Rehearsed>, Box<Executed>),
}

impl Session {
    /// Checks the file and builds the plan: what `plan` and `dry-run` start with.
    pub fn check_and_plan(
        &self,
        request: &PlanRequest,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(PreflightReport, Planned)> {
        let pre = self.preflight(progress)?;
        let planned = self.plan(request, progress)?;
        Ok((pre, planned))
    }

    /// What `execute` starts with: the last execute's outcome settled first (else its plan
    /// might run twice, or an interrupted one read as "nothing to do"), then the file checked
    /// and the plan built.
    pub fn plan_to_execute(
        &self,
        request: &PlanRequest,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(PreflightReport, Planned)> {
        status::ensure_settled(self.db(), progress)?;
        // The run's own backup runs quick_check, before anything else is written.
        let pre = crate::preflight::run_before_backup(self.db(), progress)?;
        let planned = self.plan(request, progress)?;
        // A script whose statements already ran here is refused before a backup is made; the
        // execute itself refuses it again (the wizard's way in).
        self.refuse_repeat(&planned.plan, None)?;
        Ok((pre, planned))
    }

    /// A dry run: the plan rehearsed on a copy of the newest backup when the database is still
    /// that backup, of a new one otherwise.
    pub fn dry_run(
        &self,
        planned: &Planned,
        options: &DryRunOptions,
        cancel: &Cancel,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Run> {
        if planned.is_empty() {
            return Ok(Run::NothingToDo);
        }
        let started = Instant::now();
        let backup = match self.reusable_backup()? {
            Some(b) => b,
            None => BackupRef::from(&self.back_up(&Default::default(), progress)?),
        };
        let backup_seconds = started.elapsed().as_secs_f64();
        let mut rehearsed = self.rehearse(planned, &backup, options, cancel, progress)?;
        rehearsed.backup_seconds = Some(backup_seconds);
        Ok(Run::Rehearsed(Box::new(rehearsed)))
    }

    /// The whole change: refused before anything is written unless the database is free, a
    /// rollback possible and the disk roomy enough; then a new backup, the rehearsal on a copy
    /// of it and — only when that passed — the execute on production.
    pub fn run(&self, planned: &Planned, cancel: &Cancel, progress: &mut dyn FnMut(Progress)) -> Result<Run> {
        let outcome = self.run_holding(planned, cancel, progress);
        // The hold went with the run, on every path.
        self.held_wal.set(None);
        outcome
    }

    fn run_holding(&self, planned: &Planned, cancel: &Cancel, progress: &mut dyn FnMut(Progress)) -> Result<Run> {
        if planned.is_empty() {
            return Ok(Run::NothingToDo);
        }
        // The database stays held from its backup to the end of the execute: nothing can write
        // to it meanwhile, so it still equals the backup without being hashed again.
        let (made, held) = self.back_up_holding(Some(planned), progress)?;
        let backup = BackupRef::from(&made);
        if cancel.is_set() {
            return Err(Error::Cancelled(format!(
                " after the backup, before the rehearsal: {} was not touched (the backup {} is kept)",
                shown(self.db()),
                shown(&backup.path)
            )));
        }
        let mut rehearsed = self.rehearse(planned, &backup, &DryRunOptions::default(), cancel, progress)?;
        rehearsed.backup_seconds = Some(made.seconds);
        if !rehearsed.dry.ok {
            return Ok(Run::Rehearsed(Box::new(rehearsed)));
        }
        if cancel.is_set() {
            return Err(Error::Cancelled(format!(
                " after the rehearsal passed, before the execute: {} was not touched",
                shown(self.db())
            )));
        }
        let executed = self.execute_holding(planned, &rehearsed, Some(held), cancel, progress)?;
        Ok(Run::Executed(Box::new(rehearsed), Box::new(executed)))
    }
}
