//! What Enter does: one value computed from the state, which the key bar names and
//! [`App::go_on`] performs, so the screen and the keys cannot disagree.

use super::{App, Step};
use crate::tui::mode::Focus;
use crate::tui::worker::Job;

/// What Enter does on the screen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Run the preflight again (the file is in use, unchecked or cannot be restored).
    Recheck,
    /// Go on to the backup step.
    ToBackup,
    /// Make and prove the backup.
    MakeBackup,
    /// Go on to the audit (auditing first if not yet done).
    ToAudit,
    /// Go on to the plan (building it first if not yet done).
    ToPlan,
    /// Go on to the dry run (starting it if not yet done).
    ToDryRun,
    /// Start the dry run.
    StartDryRun,
    /// Go on to execute, asking for the typed confirmation.
    ToExecute,
    /// Ask for the typed confirmation to execute.
    AskExecute,
    /// Go on to the dashboard.
    ToVerify,
    /// Show or hide the selected check's findings.
    Details,
}

impl Next {
    /// The key bar's word for it.
    pub fn label(self) -> &'static str {
        match self {
            Next::Recheck => "re-check",
            Next::ToBackup => "back up",
            Next::MakeBackup => "make backup",
            Next::ToAudit => "audit",
            Next::ToPlan => "plan",
            Next::ToDryRun => "dry run",
            Next::StartDryRun => "start dry run",
            Next::ToExecute => "execute",
            Next::AskExecute => "execute…",
            Next::ToVerify => "verify",
            Next::Details => "details",
        }
    }
}

impl App {
    /// What Enter does on this step now; `None` when it does nothing (a job runs, the
    /// database was rolled back, or the step waits for something Enter cannot give).
    pub fn next(&self) -> Option<Next> {
        if self.job.is_some() || self.results.rolled_back.is_some() {
            return None;
        }
        let p = &self.prepared;
        match self.view.step {
            Step::Preflight => Some(if self.preflight_clear() { Next::ToBackup } else { Next::Recheck }),
            Step::Backup => Some(if p.backup.is_some() { Next::ToAudit } else { Next::MakeBackup }),
            // The rebuild of no key is no plan.
            Step::Audit if self.choices.isolation => {
                p.isolation.as_ref().filter(|r| r.findings.iter().any(|f| self.key_chosen(f))).map(|_| Next::ToPlan)
            }
            Step::Audit => p.audit.as_ref().map(|_| Next::ToPlan),
            Step::Plan => p.plan().filter(|plan| !plan.statements.is_empty()).map(|_| Next::ToDryRun),
            Step::DryRun => match p.dry_run() {
                Some(d) if d.ok => Some(Next::ToExecute),
                Some(_) => None,
                None => p.plan().map(|_| Next::StartDryRun),
            },
            Step::Execute => match (&self.results.executed, self.rehearsal()) {
                (Some(_), _) => Some(Next::ToVerify),
                (None, Some(_)) => Some(Next::AskExecute),
                (None, None) => None,
            },
            Step::Verify => self.results.verification.as_ref().map(|_| Next::Details),
        }
    }

    /// Enter: accepts what is typed, or does [`App::next`].
    pub(crate) fn go_on(&mut self) -> Vec<super::Effect> {
        match self.view.focus {
            Focus::Filter => {
                self.view.focus = Focus::Screen;
                self.view.cursor = 0;
                return Vec::new();
            }
            Focus::Tenant => {
                self.view.focus = Focus::Screen;
                return self.replan();
            }
            Focus::Migrations => {
                self.view.focus = Focus::Screen;
                let typed = self.choices.migrations.text.trim().to_string();
                self.side.migrations = (!typed.is_empty()).then(|| std::path::PathBuf::from(typed));
                if self.side.migrations.is_none() {
                    self.choices.app_plan = false;
                }
                // A plan already made is made again, with the folder set against the ledger.
                return if self.view.step == Step::Plan { self.replan() } else { Vec::new() };
            }
            Focus::Confirm if matches!(self.view.modal, Some(super::Modal::TypeToDiscard { .. })) => {
                return self.confirm_discard();
            }
            Focus::Confirm => return self.confirm_execute(),
            Focus::Screen => {}
        }
        let Some(next) = self.next() else { return Vec::new() };
        match next {
            Next::Recheck => return self.recheck(),
            Next::ToBackup => self.move_to(Step::Backup),
            Next::MakeBackup => {
                // The isolation audit probes a copy made from the file by its name: that run
                // does not keep the database held (its own slot goes with the job).
                let hold = if self.choices.isolation { Default::default() } else { self.hold.clone() };
                return self.begin(Job::Backup { db: self.db.clone(), hold });
            }
            Next::ToAudit => {
                self.move_to(Step::Audit);
                if self.choices.isolation && self.prepared.isolation.is_none() {
                    return self.begin(Job::Isolate { db: self.db.clone() });
                }
                if !self.choices.isolation && self.prepared.audit.is_none() {
                    return self.begin(Job::Audit { db: self.db.clone(), hold: self.hold.clone() });
                }
            }
            Next::ToPlan => {
                self.move_to(Step::Plan);
                if self.prepared.planned.is_none() {
                    return self.replan();
                }
            }
            Next::ToDryRun => {
                self.move_to(Step::DryRun);
                if self.prepared.rehearsed.is_none() {
                    return self.start_dry_run();
                }
            }
            Next::StartDryRun => return self.start_dry_run(),
            Next::ToExecute => {
                self.move_to(Step::Execute);
                self.ask_execute();
            }
            Next::AskExecute => self.ask_execute(),
            Next::ToVerify => self.move_to(Step::Verify),
            Next::Details => self.view.drill = !self.view.drill,
        }
        Vec::new()
    }
}
