//! Execute transitions: the typed confirmation, then the one gate to production.

use crate::engine::dryrun::BackupRef;
use crate::tui::app::{App, Effect, Focus, Modal};
use crate::tui::input::Input;
use crate::tui::worker::Job;

impl App {
    pub(crate) fn ask_execute(&mut self) {
        if self.rehearsal().is_some() && self.execute.is_none() {
            self.confirm = Input::default();
            self.focus = Focus::Confirm;
            self.modal = Some(Modal::TypeToExecute { expected: self.confirmation_text() });
        }
    }

    pub(crate) fn confirm_execute(&mut self) -> Vec<Effect> {
        let expected = self.confirmation_text();
        if self.confirm.text != expected {
            self.notice = Some(format!("that does not match: type {expected} exactly"));
            return Vec::new();
        }
        self.focus = Focus::Screen;
        self.modal = None;
        // The one gate to production: a passed rehearsal of this very plan and a backup.
        let (Some(rehearsal), Some(plan), Some(backup), Some(dry)) =
            (self.rehearsal(), &self.plan, &self.backup, &self.dry_run)
        else {
            self.notice = Some("execute needs a passed dry run of this plan".into());
            return Vec::new();
        };
        let backup = BackupRef { path: backup.path.clone(), sha256: backup.sha256.clone() };
        self.rollback_target = Some(backup.clone());
        let job = Job::Execute {
            db: self.db.clone(),
            backup,
            plan: Box::new(plan.clone()),
            rehearsal: Box::new(rehearsal),
            dry: Box::new(dry.clone()),
        };
        self.begin(job)
    }
}
