//! Quitting and the y/N answers: what y does depends on the question that is open.

use crate::tui::app::{App, Effect, Modal};

impl App {
    pub(crate) fn ask_quit(&mut self) -> Vec<Effect> {
        if matches!(self.view.modal, Some(Modal::Info { .. } | Modal::Error { .. } | Modal::Help)) {
            self.view.modal = None;
        }
        if let Some(job) = &self.job {
            if !job.stopping {
                self.view.modal = Some(Modal::ConfirmStop);
            }
            return Vec::new();
        }
        if self.migrated_unverified() && !matches!(self.view.modal, Some(Modal::ConfirmQuit { .. })) {
            self.view.modal = Some(Modal::ConfirmQuit {
                reason: "the database was changed and its verification did not pass".into(),
            });
            return Vec::new();
        }
        self.let_go("leaving the wizard");
        self.quit = true;
        vec![Effect::Quit]
    }

    pub(crate) fn answer_yes(&mut self) -> Vec<Effect> {
        match self.view.modal.take() {
            Some(Modal::ConfirmRollback { .. }) => self.start_rollback(false),
            Some(Modal::ConfirmUndo { .. }) => self.start_undo(),
            Some(Modal::ConfirmStopped { .. }) => {
                self.choices.confirmed_stopped = true;
                self.recheck()
            }
            Some(Modal::ConfirmQuit { .. }) => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Some(Modal::ConfirmStop) => {
                if let Some(job) = self.job.as_mut() {
                    job.cancel.set();
                    job.stopping = true;
                    self.view.notice =
                        Some("stopping safely: waiting for the transaction to roll back or commit…".into());
                }
                Vec::new()
            }
            other => {
                self.view.modal = other;
                Vec::new()
            }
        }
    }
}
