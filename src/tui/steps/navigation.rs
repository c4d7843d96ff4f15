//! Moving between steps: Enter goes on (or starts the step's work), Esc goes back (never quits).

use crate::tui::app::{App, Effect, Focus, Modal, Step};
use crate::tui::input::Input;
use crate::tui::worker::Job;

impl App {
    pub(crate) fn go_on(&mut self) -> Vec<Effect> {
        match self.focus {
            Focus::Filter => {
                self.focus = Focus::Screen;
                self.cursor = 0;
                return Vec::new();
            }
            Focus::Tenant => {
                self.focus = Focus::Screen;
                return self.replan();
            }
            Focus::Confirm if matches!(self.modal, Some(Modal::TypeToDiscard { .. })) => return self.confirm_discard(),
            Focus::Confirm => return self.confirm_execute(),
            Focus::Screen => {}
        }
        if self.job.is_some() || self.rolled_back.is_some() {
            return Vec::new();
        }
        match self.step {
            Step::Preflight => {
                if !self.preflight_clear() {
                    return self.recheck();
                }
                self.move_to(Step::Backup);
            }
            Step::Backup => {
                if self.backup.is_none() {
                    return self.begin(Job::Backup { db: self.db.clone() });
                }
                self.move_to(Step::Audit);
                if self.audit.is_none() {
                    return self.begin(Job::Audit { db: self.db.clone() });
                }
            }
            Step::Audit if self.audit.is_some() => {
                self.move_to(Step::Plan);
                if self.plan.is_none() {
                    return self.replan();
                }
            }
            Step::Plan if self.plan.as_ref().is_some_and(|p| !p.statements.is_empty()) => {
                self.move_to(Step::DryRun);
                if self.dry_run.is_none() {
                    return self.start_dry_run();
                }
            }
            Step::DryRun => match &self.dry_run {
                Some(d) if d.ok => {
                    self.move_to(Step::Execute);
                    self.ask_execute();
                }
                Some(_) => {}
                None => return self.start_dry_run(),
            },
            Step::Execute => {
                if self.execute.is_some() {
                    self.move_to(Step::Verify);
                } else {
                    self.ask_execute();
                }
            }
            Step::Verify => self.drill = !self.drill,
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn back(&mut self) {
        if self.modal.take().is_some() {
            if self.focus == Focus::Confirm {
                self.focus = Focus::Screen;
            }
            return;
        }
        match self.focus {
            Focus::Filter => {
                self.filter = Input::default();
                self.focus = Focus::Screen;
                return;
            }
            Focus::Tenant | Focus::Confirm => {
                self.focus = Focus::Screen;
                return;
            }
            Focus::Screen => {}
        }
        // Once production has changed, the earlier steps are history: stay on the results.
        if self.job.is_none() && self.execute.is_none() && self.verification.is_none() {
            let to = self.step.previous();
            self.move_to(to);
        }
    }
}
