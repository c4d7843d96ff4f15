//! Execute transitions: the typed confirmation, then the one gate to production.

use crate::tui::app::{App, Effect, Modal};
use crate::tui::input::Input;
use crate::tui::mode::Focus;
use crate::tui::worker::Job;

impl App {
    pub(crate) fn ask_execute(&mut self) {
        if self.rehearsal().is_some() && self.results.executed.is_none() {
            self.choices.confirm = Input::default();
            self.view.focus = Focus::Confirm;
            self.view.modal = Some(Modal::TypeToExecute { expected: self.confirmation_text() });
        }
    }

    pub(crate) fn confirm_execute(&mut self) -> Vec<Effect> {
        let expected = self.confirmation_text();
        if self.choices.confirm.text != expected {
            self.view.notice = Some(format!("that does not match: type {expected} exactly"));
            return Vec::new();
        }
        self.view.focus = Focus::Screen;
        self.view.modal = None;
        // The one gate to production: a passed rehearsal of this very plan, from this
        // session's backup.
        let (Some(_), Some(planned), Some(rehearsed)) =
            (self.rehearsal(), &self.prepared.planned, &self.prepared.rehearsed)
        else {
            self.view.notice = Some("execute needs a passed dry run of this plan".into());
            return Vec::new();
        };
        if self.prepared.backup_ref().as_ref() != Some(&rehearsed.backup) {
            self.view.notice = Some("execute needs a passed dry run from this session's backup".into());
            return Vec::new();
        }
        self.results.rollback_target = Some(rehearsed.backup.clone());
        let job = Job::Execute {
            db: self.db.clone(),
            planned: Box::new(planned.clone()),
            rehearsed: Box::new(rehearsed.clone()),
            isolation: self.prepared.isolation.clone().map(Box::new),
            hold: self.hold.clone(),
        };
        self.begin(job)
    }
}
