//! The wizard's state machine. Every transition happens in [`App::update`] (keys) and
//! [`App::finish`] (a job's result); moving forward needs the data the next step depends on,
//! so an illegal step (execute before a passed dry run, rollback with no backup) is refused in
//! one place. What Enter does is one value, [`App::next`], which the key bar shows and
//! [`App::update`] performs.

mod next;
mod queries;
mod state;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use next::Next;
pub use state::{Choices, Prepared, Results, Running, Step, View};

use crate::engine::AppSide;
use crate::engine::Cancel;
use crate::engine::HoldSlot;
use crate::engine::Progress;
use crate::tui::event::Event;
use crate::tui::keys;
use crate::tui::mode::{Action, Focus, Mode};
use crate::tui::theme::Theme;
use crate::tui::worker::{Job, JobMessage};

pub use crate::tui::dialogs::Modal;

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
    /// Where the technician is and what is shown.
    pub view: View,
    /// What the technician chose and typed.
    pub choices: Choices,
    /// The job in progress.
    pub job: Option<Running>,
    /// What the steps up to the execute produced.
    pub prepared: Prepared,
    /// The execute, its verification and any rollback.
    pub results: Results,
    /// Leave at the next turn of the loop.
    pub quit: bool,
    /// The database, held from the backup to the execute while the technician goes on.
    pub hold: HoldSlot,
    /// How long the hold lasts with no key pressed and no job running.
    pub hold_limit: Duration,
    /// When a key was last pressed or a job last ended.
    pub last_activity: Instant,
    /// The application's migrations folder, ledger, `--record-as` and `--app-check`.
    pub side: AppSide,
}

/// How long the wizard keeps the database held while nothing happens: the shop's application
/// cannot use it meanwhile.
pub const HOLD_IDLE_LIMIT: Duration = Duration::from_secs(10 * 60);

impl App {
    /// A wizard for `db`, about to run its preflight.
    pub fn new(db: PathBuf, script: Option<PathBuf>, theme: Theme) -> App {
        App {
            db,
            script,
            theme,
            view: View::default(),
            choices: Choices::default(),
            job: None,
            prepared: Prepared::default(),
            results: Results::default(),
            quit: false,
            hold: HoldSlot::new(),
            hold_limit: HOLD_IDLE_LIMIT,
            last_activity: Instant::now(),
            side: AppSide::default(),
        }
    }

    /// The same wizard with the application's side (`--migrations`, `--ledger`, `--record-as`,
    /// `--app-check`): a folder given alone makes the plan the application's own migrations,
    /// as `cutover execute --migrations DIR` does.
    pub fn with_side(mut self, side: AppSide) -> App {
        self.choices.app_plan = side.migrations.is_some() && self.script.is_none() && side.record_as.is_none();
        if let Some(dir) = &side.migrations {
            self.choices.migrations.text = dir.display().to_string();
        }
        self.side = side;
        self
    }

    /// The effects to run when the wizard opens: the preflight.
    pub fn start(&mut self) -> Vec<Effect> {
        self.recheck()
    }

    /// What the keys see of the wizard now.
    pub fn mode(&self) -> Mode {
        let idle = self.job.is_none();
        let step = self.view.step;
        let settled = self.results.executed.is_some() || self.results.verification.is_some();
        Mode {
            focus: self.view.focus,
            dialog: self.view.modal.as_ref().map(Modal::kind),
            busy: !idle,
            next: self.next().map(Next::label),
            list: matches!(step, Step::Audit | Step::Plan | Step::DryRun | Step::Verify),
            can_step_back: idle && step != Step::Preflight && !settled,
            on_audit: step == Step::Audit && self.prepared.audit.is_some() && idle && !self.choices.isolation,
            on_plan: step == Step::Plan
                && self.script.is_none()
                && idle
                && !self.choices.isolation
                && !self.choices.app_plan,
            can_roll_back: step == Step::Verify
                && idle
                && self.results.rollback_target.is_some()
                && self.results.rolled_back.is_none(),
            vouching: self.awaits_stop_confirmation(),
            can_undo: idle && self.results.undo.is_some(),
            can_isolate: idle && self.offers_isolation(),
            on_isolation: step == Step::Audit && self.choices.isolation && self.prepared.isolation.is_some() && idle,
            can_choose_app: idle && matches!(step, Step::Audit | Step::Plan) && !self.choices.isolation,
            can_switch_app: idle
                && step == Step::Plan
                && self.script.is_none()
                && !self.choices.isolation
                && self.side.migrations.is_some(),
        }
    }

    /// Reacts to one event.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        if matches!(event, Event::Key(_) | Event::Job(JobMessage::Done(..))) {
            self.last_activity = Instant::now();
        }
        let effects = self.react(event);
        self.release_if_idle();
        effects
    }

    fn react(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => match keys::dispatch(&self.mode(), key) {
                Some(action) => self.update(action),
                None => Vec::new(),
            },
            Event::Job(JobMessage::Progress(Progress::Notice(text))) => {
                tracing::warn!(notice = %text, "shown to the technician");
                self.view.notice = Some(text);
                Vec::new()
            }
            Event::Job(JobMessage::Progress(p)) => {
                if let Some(job) = self.job.as_mut() {
                    if matches!(p, Progress::Statement { .. }) {
                        job.statement = Some(p.clone());
                    }
                    job.progress = Some(p);
                }
                Vec::new()
            }
            Event::Job(JobMessage::Done(kind, result)) => self.finish(kind, result),
            Event::Tick | Event::Resize => Vec::new(),
        }
    }

    /// Applies one action: the only place the wizard's state moves on a key.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.view.notice = None;
        let last = self.list_len().saturating_sub(1);
        let cursor = &mut self.view.cursor;
        match action {
            Action::Up => *cursor = cursor.saturating_sub(1),
            Action::Down => *cursor = (*cursor + 1).min(last),
            Action::PageUp => *cursor = cursor.saturating_sub(10),
            Action::PageDown => *cursor = (*cursor + 10).min(last),
            Action::Continue => return self.go_on(),
            Action::Back => self.back(),
            Action::Help => self.view.modal = Some(Modal::Help),
            Action::Quit | Action::Interrupt => return self.ask_quit(),
            Action::Filter => self.view.focus = Focus::Filter,
            Action::Toggle => self.toggle_selected(),
            Action::EditTenant => self.view.focus = Focus::Tenant,
            Action::EditMigrations => self.view.focus = Focus::Migrations,
            Action::SwitchPlan => {
                self.choices.app_plan = !self.choices.app_plan;
                return self.replan();
            }
            Action::Rollback => return self.ask_rollback(),
            Action::ConfirmStopped => self.ask_confirm_stopped(),
            Action::Verify => return self.resume_verify(),
            Action::StartOver => self.view.modal = None,
            Action::Undo => self.ask_undo(),
            Action::Isolate => return self.start_isolation(),
            Action::Discard => self.offer_discard(),
            Action::Yes => return self.answer_yes(),
            Action::No => self.view.modal = None,
            Action::Type(c) => self.typed(c),
            Action::Erase => match self.view.focus {
                Focus::Filter => self.choices.filter.backspace(),
                Focus::Tenant => self.choices.tenant.backspace(),
                Focus::Migrations => self.choices.migrations.backspace(),
                Focus::Confirm => self.choices.confirm.backspace(),
                Focus::Screen => {}
            },
        }
        Vec::new()
    }

    pub(crate) fn move_to(&mut self, step: Step) {
        if step == Step::Preflight {
            self.let_go("back at the preflight");
        }
        self.view.step = step;
        self.view.cursor = 0;
        self.view.drill = false;
    }

    pub(crate) fn begin(&mut self, job: Job) -> Vec<Effect> {
        if !job.keeps_hold() {
            self.let_go("this step opens the file itself");
        }
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
        match self.view.focus {
            Focus::Filter => {
                self.choices.filter.push(c);
                self.view.cursor = 0;
            }
            Focus::Tenant => self.choices.tenant.push(c),
            Focus::Migrations => self.choices.migrations.push(c),
            Focus::Confirm => self.choices.confirm.push(c),
            Focus::Screen => {}
        }
    }
}

#[cfg(test)]
mod tests;
