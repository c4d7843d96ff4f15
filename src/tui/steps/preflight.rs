//! Preflight transitions: re-check the file, and take the technician's word that the
//! application is stopped when some processes could not be looked into.

use crate::tui::app::{App, Effect, Modal, Step};
use crate::tui::worker::Job;

impl App {
    /// Runs the preflight (again).
    pub(crate) fn recheck(&mut self) -> Vec<Effect> {
        self.begin(Job::Preflight { db: self.db.clone(), confirmed_stopped: self.choices.confirmed_stopped })
    }

    /// Whether the first screen lets the technician go on: nobody holds the file, every
    /// process that could was looked into (or the technician vouched for them), and a rollback
    /// could put a backup back.
    pub fn preflight_clear(&self) -> bool {
        self.prepared.preflight.as_ref().is_some_and(|p| p.clear(self.choices.confirmed_stopped))
    }

    /// Whether the "the application is stopped" confirmation is what the screen waits for.
    pub fn awaits_stop_confirmation(&self) -> bool {
        self.view.step == Step::Preflight
            && !self.choices.confirmed_stopped
            && self.prepared.preflight.as_ref().is_some_and(|p| !p.in_use() && p.uncertain())
    }

    pub(crate) fn ask_confirm_stopped(&mut self) {
        if let Some(p) = self.prepared.preflight.as_ref().filter(|_| self.awaits_stop_confirmation()) {
            self.view.modal = Some(Modal::ConfirmStopped { unseen: p.unseen_text() });
        }
    }
}
