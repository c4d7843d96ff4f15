//! The wizard's state machine. Every transition happens in [`App::update`]; moving forward
//! needs the data the next step depends on, so an illegal step (execute before a passed dry
//! run, rollback with no backup) is refused here, in one place.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use crate::engine::apply::Cancel;
use crate::engine::audit::{AuditReport, Decision, TableAudit};
use crate::engine::backup::BackupReport;
use crate::engine::dryrun::{BackupRef, DryRunReport};
use crate::engine::execute::{ExecuteReport, Rehearsal};
use crate::engine::journal::Standing;
use crate::engine::plan::Plan;
use crate::engine::preflight::PreflightReport;
use crate::engine::rollback::RollbackReport;
use crate::engine::verify::Verification;
use crate::engine::{Progress, paths};
use crate::tui::event::Event;
use crate::tui::input::Input;
use crate::tui::keys::{self, Action};
use crate::tui::theme::Theme;
use crate::tui::worker::{Job, JobKind};

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

/// Where typed keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Keys move and act.
    Screen,
    /// Keys type into the audit filter.
    Filter,
    /// Keys type the tenant value.
    Tenant,
    /// Keys type the confirmation before execute.
    Confirm,
}

/// What is shown over the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// The key list.
    Help,
    /// Something went wrong: what happened and what to do next.
    Error { title: String, message: String, next: String },
    /// A message after something finished.
    Info { title: String, lines: Vec<String> },
    /// y/N before restoring the backup.
    ConfirmRollback { backup: BackupRef },
    /// The database changed since the execute: what a restore would throw away, and the word to
    /// type to restore anyway (the second confirmation).
    TypeToDiscard { lines: Vec<String>, expected: String },
    /// y/N: the technician vouches that the application is stopped, for processes cutover
    /// cannot look into.
    ConfirmStopped { unseen: String },
    /// y/N before quitting with work unfinished.
    ConfirmQuit { reason: String },
    /// y/N before stopping running work.
    ConfirmStop,
    /// Type the tenant value (or the file name) to execute.
    TypeToExecute { expected: String },
    /// An earlier run of this database to pick up.
    Resume { text: Vec<String> },
}

impl Modal {
    /// Whether it waits for y or n.
    pub fn asks_yes_no(&self) -> bool {
        matches!(
            self,
            Modal::ConfirmRollback { .. }
                | Modal::ConfirmQuit { .. }
                | Modal::ConfirmStop
                | Modal::ConfirmStopped { .. }
        )
    }

    /// Whether it is the resume offer.
    pub fn is_resume(&self) -> bool {
        matches!(self, Modal::Resume { .. })
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

/// What the event loop must do after an update.
#[derive(Debug)]
pub enum Effect {
    /// Run this job on a worker thread.
    Start(Job, Cancel),
    /// Leave the wizard.
    Quit,
}

/// The whole wizard state. Rendering reads it; only `update` and `finish` change it.
#[derive(Debug)]
pub struct App {
    /// The database.
    pub db: PathBuf,
    /// A script to run instead of the tenant plan.
    pub script: Option<PathBuf>,
    /// Colours.
    pub theme: Theme,
    /// The current step.
    pub step: Step,
    /// Where typed keys go.
    pub focus: Focus,
    /// What is shown over the screen.
    pub modal: Option<Modal>,
    /// The job in progress.
    pub job: Option<Running>,
    /// The preflight facts.
    pub preflight: Option<PreflightReport>,
    /// The backup made this session.
    pub backup: Option<BackupReport>,
    /// The audit.
    pub audit: Option<AuditReport>,
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
    /// The plan.
    pub plan: Option<Plan>,
    /// The rehearsal.
    pub dry_run: Option<DryRunReport>,
    /// The execute.
    pub execute: Option<ExecuteReport>,
    /// The newest verification of production.
    pub verification: Option<Verification>,
    /// What the shop wrote since the execute, when a later verification found changes.
    pub changed_since: Option<String>,
    /// The technician confirmed the application is stopped (for processes not looked into).
    pub confirmed_stopped: bool,
    /// The change committed but a step after it failed, so it is not verified.
    pub committed_unverified: bool,
    /// The backup a rollback restores.
    pub rollback_target: Option<BackupRef>,
    /// The finished rollback.
    pub rolled_back: Option<RollbackReport>,
    /// A run found in the journal.
    pub resume: Option<Standing>,
    /// The selected row of the current list.
    pub cursor: usize,
    /// The verify screen shows the selected check's findings.
    pub drill: bool,
    /// A one-line message under the screen.
    pub notice: Option<String>,
    /// Reports written.
    pub reports: Vec<PathBuf>,
    /// Leave at the next turn of the loop.
    pub quit: bool,
}

impl App {
    /// A wizard for `db`, about to run its preflight.
    pub fn new(db: PathBuf, script: Option<PathBuf>, theme: Theme) -> App {
        App {
            db,
            script,
            theme,
            step: Step::Preflight,
            focus: Focus::Screen,
            modal: None,
            job: None,
            preflight: None,
            backup: None,
            audit: None,
            excluded: BTreeSet::new(),
            included: BTreeSet::new(),
            filter: Input::default(),
            tenant: Input::default(),
            confirm: Input::default(),
            plan: None,
            dry_run: None,
            execute: None,
            verification: None,
            changed_since: None,
            confirmed_stopped: false,
            committed_unverified: false,
            rollback_target: None,
            rolled_back: None,
            resume: None,
            cursor: 0,
            drill: false,
            notice: None,
            reports: Vec::new(),
            quit: false,
        }
    }

    /// The effects to run when the wizard opens: the preflight.
    pub fn start(&mut self) -> Vec<Effect> {
        self.recheck()
    }

    /// Reacts to one event.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => match keys::dispatch(self, key) {
                Some(action) => self.update(action),
                None => Vec::new(),
            },
            Event::Progress(Progress::Notice(text)) => {
                tracing::warn!(notice = %text, "shown to the technician");
                self.notice = Some(text);
                Vec::new()
            }
            Event::Progress(p) => {
                if let Some(job) = self.job.as_mut() {
                    if matches!(p, Progress::Statement { .. }) {
                        job.statement = Some(p.clone());
                    }
                    job.progress = Some(p);
                }
                Vec::new()
            }
            Event::Done(kind, result) => self.finish(kind, result),
            Event::Tick | Event::Resize => Vec::new(),
        }
    }

    /// Applies one action: the only place the wizard's state moves.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.notice = None;
        match action {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(self.list_len().saturating_sub(1)),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(10),
            Action::PageDown => self.cursor = (self.cursor + 10).min(self.list_len().saturating_sub(1)),
            Action::Continue => return self.go_on(),
            Action::Back => self.back(),
            Action::Help => self.modal = Some(Modal::Help),
            Action::Quit | Action::Interrupt => return self.ask_quit(),
            Action::Filter => self.focus = Focus::Filter,
            Action::Toggle => self.toggle_selected(),
            Action::EditTenant => self.focus = Focus::Tenant,
            Action::Rollback => self.ask_rollback(),
            Action::ConfirmStopped => self.ask_confirm_stopped(),
            Action::Verify => return self.resume_verify(),
            Action::StartOver => self.modal = None,
            Action::Yes => return self.answer_yes(),
            Action::No => self.modal = None,
            Action::Type(c) => self.typed(c),
            Action::Erase => match self.focus {
                Focus::Filter => self.filter.backspace(),
                Focus::Tenant => self.tenant.backspace(),
                Focus::Confirm => self.confirm.backspace(),
                Focus::Screen => {}
            },
        }
        Vec::new()
    }

    /// What Enter does on this step now, for the key bar; `None` when it does nothing.
    pub fn continue_label(&self) -> Option<&'static str> {
        if self.rolled_back.is_some() {
            return None;
        }
        match self.step {
            Step::Preflight => Some(if self.preflight_clear() { "back up" } else { "re-check" }),
            Step::Backup => Some(if self.backup.is_some() { "audit" } else { "make backup" }),
            Step::Audit => self.audit.as_ref().map(|_| "plan"),
            Step::Plan => self.plan.as_ref().filter(|p| !p.statements.is_empty()).map(|_| "dry run"),
            Step::DryRun => match &self.dry_run {
                Some(d) if d.ok => Some("execute"),
                Some(_) => None,
                None => self.plan.as_ref().map(|_| "start dry run"),
            },
            Step::Execute => match (&self.execute, self.rehearsal()) {
                (None, Some(_)) => Some("execute…"),
                (Some(_), _) => Some("verify"),
                _ => None,
            },
            Step::Verify => self.verification.as_ref().map(|_| "details"),
        }
    }

    /// The checks the dashboard lists: production's, then, when production's bytes equal the
    /// rehearsal's, the rehearsal's checks, which that MATCH proves for production too.
    pub fn dashboard_checks(&self) -> Vec<crate::engine::verify::Check> {
        let Some(v) = &self.verification else { return Vec::new() };
        let mut checks = v.checks.clone();
        let proven = self.execute.as_ref().is_some_and(|x| x.identical);
        if let (true, Some(d)) = (proven, &self.dry_run) {
            for c in &d.verification.checks {
                let mut c = c.clone();
                c.detail = format!("on copy: {}", c.detail);
                checks.push(c);
            }
        }
        checks
    }

    /// The tables as the audit list shows them, filtered.
    pub fn visible_tables(&self) -> Vec<&TableAudit> {
        let needle = self.filter.text.to_lowercase();
        self.audit
            .as_ref()
            .map(|a| a.tables.iter().filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle)).collect())
            .unwrap_or_default()
    }

    /// A table's decision after the technician's toggles, with its reason.
    pub fn effective(&self, t: &TableAudit) -> (Decision, String) {
        if self.excluded.contains(&t.name) {
            (Decision::Excluded, "excluded by you".into())
        } else if self.included.contains(&t.name) {
            (Decision::Migrate, "included by you".into())
        } else {
            (t.decision, t.reason.clone())
        }
    }

    /// The text the technician must type to execute.
    pub fn confirmation_text(&self) -> String {
        match self.plan.as_ref().and_then(|p| p.tenant()) {
            Some(spec) => spec.tenant.clone(),
            None => paths::file_name(&self.db),
        }
    }

    /// Whether the database now holds a committed change that was not rolled back: executed
    /// in this session (even if a step after the commit failed), or found so in the journal.
    pub fn migrated(&self) -> bool {
        let resumed = self.resume.as_ref().is_some_and(|s| s.execute.as_ref().is_some_and(|x| x.committed));
        self.rolled_back.is_none() && (self.execute.is_some() || self.committed_unverified || resumed)
    }

    /// Whether it is migrated without a passing verification in this session.
    pub fn migrated_unverified(&self) -> bool {
        self.migrated() && !self.verification.as_ref().is_some_and(|v| v.ok)
    }

    /// A passed rehearsal of the current plan, the one thing execute may start from.
    pub fn rehearsal(&self) -> Option<Rehearsal> {
        let plan = self.plan.as_ref()?;
        self.dry_run.as_ref().filter(|d| d.ok && d.plan_sha256 == plan.sha256).map(Rehearsal::from)
    }

    fn list_len(&self) -> usize {
        match self.step {
            Step::Audit => self.visible_tables().len(),
            Step::Plan => self.plan.as_ref().map_or(0, |p| p.statements.len()),
            Step::DryRun => self.dry_run.as_ref().map_or(0, |d| d.verification.checks.len()),
            Step::Verify => self.dashboard_checks().len(),
            _ => 0,
        }
    }

    pub(crate) fn move_to(&mut self, step: Step) {
        self.step = step;
        self.cursor = 0;
        self.drill = false;
    }

    pub(crate) fn begin(&mut self, job: Job) -> Vec<Effect> {
        let cancel = Cancel::new();
        self.job = Some(Running {
            kind: job.kind(),
            started: Instant::now(),
            progress: None,
            statement: None,
            cancel: cancel.clone(),
            stopping: false,
        });
        vec![Effect::Start(job, cancel)]
    }

    fn typed(&mut self, c: char) {
        match self.focus {
            Focus::Filter => {
                self.filter.push(c);
                self.cursor = 0;
            }
            Focus::Tenant => self.tenant.push(c),
            Focus::Confirm => self.confirm.push(c),
            Focus::Screen => {}
        }
    }
}
