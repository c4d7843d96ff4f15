//! The groups of the wizard's state: where the technician is, what they chose, what the steps
//! before the execute produced, and what came of the execute.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use crate::engine::AppView;
use crate::engine::AuditReport;
use crate::engine::BackupRef;
use crate::engine::BackupReport;
use crate::engine::Cancel;
use crate::engine::Changes;
use crate::engine::DryRunReport;
use crate::engine::ExecuteReport;
use crate::engine::IsolationReport;
use crate::engine::Plan;
use crate::engine::PreflightReport;
use crate::engine::Progress;
use crate::engine::RollbackReport;
use crate::engine::Verification;
use crate::engine::{Executed, Planned, Rehearsed, Resume};
use crate::tui::dialogs::Modal;
use crate::tui::input::Input;
use crate::tui::mode::Focus;
use crate::tui::worker::JobKind;

/// The wizard's steps, in order; the stepper shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Is the file healthy and idle?
    Preflight,
    /// A proven backup.
    Backup,
    /// Every table and what happens to it.
    Audit,
    /// The exact SQL.
    Plan,
    /// Rehearsal on a copy.
    DryRun,
    /// The real thing.
    Execute,
    /// The dashboard.
    Verify,
}

impl Step {
    /// All steps in order.
    pub const ALL: [Step; 7] =
        [Step::Preflight, Step::Backup, Step::Audit, Step::Plan, Step::DryRun, Step::Execute, Step::Verify];

    /// The step's name in the stepper.
    pub fn label(self) -> &'static str {
        match self {
            Step::Preflight => "Preflight",
            Step::Backup => "Backup",
            Step::Audit => "Audit",
            Step::Plan => "Plan",
            Step::DryRun => "Dry run",
            Step::Execute => "Execute",
            Step::Verify => "Verify",
        }
    }

    pub(crate) fn previous(self) -> Step {
        let i = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Step::ALL[i.saturating_sub(1)]
    }
}

/// Where the technician is and what is shown.
#[derive(Debug)]
pub struct View {
    /// The current step.
    pub step: Step,
    /// Where typed keys go.
    pub focus: Focus,
    /// What is shown over the screen.
    pub modal: Option<Modal>,
    /// The selected row of the current list.
    pub cursor: usize,
    /// The verify screen shows the selected check's findings.
    pub drill: bool,
    /// A one-line message under the screen.
    pub notice: Option<String>,
}

impl Default for View {
    fn default() -> View {
        View { step: Step::Preflight, focus: Focus::Screen, modal: None, cursor: 0, drill: false, notice: None }
    }
}

/// What the technician chose and typed.
#[derive(Debug, Default)]
pub struct Choices {
    /// Tables the technician put out.
    pub excluded: BTreeSet<String>,
    /// Tables the technician put in against the default.
    pub included: BTreeSet<String>,
    /// The audit filter.
    pub filter: Input,
    /// The tenant value.
    pub tenant: Input,
    /// The typed confirmation.
    pub confirm: Input,
    /// The technician confirmed the application is stopped (for processes not looked into).
    pub confirmed_stopped: bool,
    /// This run is the isolation fix (keys rebuilt per tenant), not the tenant migration.
    pub isolation: bool,
    /// The keys (table, index) the technician chose to rebuild; `None`: the proposed ones.
    pub keys: Option<BTreeSet<(String, String)>>,
    /// The application's migrations folder, as typed.
    pub migrations: Input,
    /// The plan is the application's own pending migrations, not the tenant migration.
    pub app_plan: bool,
}

/// What the steps before the execute produced.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The preflight facts.
    pub preflight: Option<PreflightReport>,
    /// The backup made this session.
    pub backup: Option<BackupReport>,
    /// The audit.
    pub audit: Option<AuditReport>,
    /// The plan, with the audit it came from.
    pub planned: Option<Planned>,
    /// The rehearsal of that plan and its reports.
    pub rehearsed: Option<Rehearsed>,
    /// The isolation audit, in an isolation run.
    pub isolation: Option<IsolationReport>,
    /// The preflight found the tenant column already in place: the isolation fix is offered.
    pub tenant_in_place: bool,
    /// The application's migrations folder against its ledger, as the plan was made (or why
    /// it could not be read).
    pub app: Option<Result<AppView, String>>,
}

impl Prepared {
    /// The plan.
    pub fn plan(&self) -> Option<&Plan> {
        self.planned.as_ref().map(|p| &p.plan)
    }

    /// The rehearsal's report.
    pub fn dry_run(&self) -> Option<&DryRunReport> {
        self.rehearsed.as_ref().map(|r| &r.dry)
    }

    /// The backup made this session, as phases take it.
    pub fn backup_ref(&self) -> Option<BackupRef> {
        self.backup.as_ref().map(BackupRef::from)
    }
}

/// The execute, its verification and any rollback.
#[derive(Debug, Default)]
pub struct Results {
    /// The execute and its reports.
    pub executed: Option<Executed>,
    /// The newest verification of production.
    pub verification: Option<Verification>,
    /// What the shop wrote since the execute, when a later verification found changes.
    pub changed_since: Option<String>,
    /// The change committed but a step after it failed, so it is not verified.
    pub committed_unverified: bool,
    /// The backup a rollback restores.
    pub rollback_target: Option<BackupRef>,
    /// The finished rollback.
    pub rolled_back: Option<RollbackReport>,
    /// A restore the engine refused because the shop wrote since the execute: what it would
    /// discard and the refusal in words, kept for the typed second confirmation.
    pub refused: Option<(Option<Changes>, String)>,
    /// The undo in place offered next to that restore, planned and checked by the engine.
    pub undo: Option<Planned>,
    /// The execute shown is an undo in place.
    pub undone: bool,
    /// A run found in the journal.
    pub resume: Option<Resume>,
    /// Reports written.
    pub reports: Vec<PathBuf>,
}

impl Results {
    /// The execute's report.
    pub fn execute(&self) -> Option<&ExecuteReport> {
        self.executed.as_ref().map(|x| &x.report)
    }
}

/// The job in progress.
#[derive(Debug, Clone)]
pub struct Running {
    /// What it is.
    pub kind: JobKind,
    /// When it started.
    pub started: Instant,
    /// The newest progress.
    pub progress: Option<Progress>,
    /// The newest statement progress (stays while checks run).
    pub statement: Option<Progress>,
    /// Set to stop it safely.
    pub cancel: Cancel,
    /// A stop was asked for.
    pub stopping: bool,
}
