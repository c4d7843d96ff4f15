//! Results transitions: verify again, roll back with a y/N, and — when the shop wrote to the
//! database since the execute — undo in place offered first, or a restore after a typed
//! confirmation naming what it discards.

use crate::engine::{Changes, shown};
use crate::tui::app::{App, Effect, Modal, Step};
use crate::tui::dialogs::WayBack;
use crate::tui::input::Input;
use crate::tui::mode::Focus;
use crate::tui::worker::{Job, Refused};

/// What the technician types to restore a backup over changes made since the execute.
pub const DISCARD_WORD: &str = "discard";

impl App {
    /// `r`: asks the engine which backup a rollback would restore; the y/N shows that one.
    pub(crate) fn ask_rollback(&mut self) -> Vec<Effect> {
        match (&self.results.rollback_target, &self.job) {
            (Some(_), None) if self.results.rolled_back.is_none() => {
                self.view.modal = None;
                self.begin(Job::RollbackTarget { db: self.db.clone() })
            }
            _ => {
                self.view.notice = Some("there is no backup to roll back to".into());
                Vec::new()
            }
        }
    }

    pub(crate) fn start_rollback(&mut self, discard_changes: bool) -> Vec<Effect> {
        self.move_to(Step::Verify);
        self.begin(Job::Rollback { db: self.db.clone(), discard_changes })
    }

    /// A rollback refused because the shop wrote since the execute: the ways back, undo in
    /// place first (when the engine could plan it), restoring the backup second.
    pub(crate) fn offer_way_back(&mut self, refused: Refused) {
        let Refused { changes, message, undo } = refused;
        if let Some(c) = &changes {
            tracing::warn!(changes = %c.summary(), "a rollback would discard these");
        }
        let way = WayBack {
            // Room for the choices stays on an 80×24 screen, however long the list.
            changed: changes.as_ref().map_or_else(|| vec![message.clone()], |c| c.lines(5)),
            discards: changes.as_ref().map_or_else(|| "what was written since".into(), Changes::counted),
            no_undo: undo.as_ref().err().cloned(),
        };
        self.results.undo = undo.ok();
        self.results.refused = Some((changes, message));
        self.view.modal = Some(Modal::WayBack(way));
    }

    /// `u`: what the undo in place drops, and a y/N before it changes the database.
    pub(crate) fn ask_undo(&mut self) {
        let Some(spec) = self.results.undo.as_ref().and_then(|p| p.plan.undo()) else {
            self.view.notice = Some("there is no undo in place for this change".into());
            return;
        };
        let columns = spec.tables.iter().filter(|t| t.add_column).count();
        let indexes = spec.tables.iter().filter(|t| t.index.is_some()).count();
        let drops = format!("drops {} from {columns} tables and {indexes} indexes", spec.column);
        self.view.modal = Some(Modal::ConfirmUndo { drops });
    }

    /// The undo in place the engine planned, through backup, rehearsal, execute, verify.
    pub(crate) fn start_undo(&mut self) -> Vec<Effect> {
        let Some(planned) = self.results.undo.take() else {
            self.view.notice = Some("there is no undo in place for this change".into());
            return Vec::new();
        };
        self.view.modal = None;
        self.move_to(Step::Verify);
        self.begin(Job::Undo { db: self.db.clone(), planned: Box::new(planned) })
    }

    /// `d`: what restoring the backup discards, and the word that restores anyway.
    pub(crate) fn offer_discard(&mut self) {
        let Some((changes, message)) = &self.results.refused else { return };
        let mut lines: Vec<String> = match changes {
            Some(c) => {
                let mut l = vec![format!("{} changed since the execute:", shown(&self.db))];
                // Room for the word to type stays on an 80×24 screen, however long the list.
                l.extend(c.lines(8).into_iter().map(|line| format!("  {line}")));
                l
            }
            None => vec![message.clone()],
        };
        lines.push("Nothing was changed. Restoring the backup throws these away (the current".into());
        lines.push("file is kept aside). Better: keep the shop's work and call for help.".into());
        self.choices.confirm = Input::default();
        self.view.focus = Focus::Confirm;
        self.view.modal = Some(Modal::TypeToDiscard { lines, expected: DISCARD_WORD.into() });
    }

    pub(crate) fn confirm_discard(&mut self) -> Vec<Effect> {
        if self.choices.confirm.text != DISCARD_WORD {
            self.view.notice =
                Some(format!("that does not match: type {DISCARD_WORD} to restore anyway, Esc to keep it"));
            return Vec::new();
        }
        self.view.focus = Focus::Screen;
        self.view.modal = None;
        self.results.undo = None;
        self.start_rollback(true)
    }

    pub(crate) fn resume_verify(&mut self) -> Vec<Effect> {
        self.view.modal = None;
        if self.results.resume.is_none() {
            return Vec::new();
        }
        self.move_to(Step::Verify);
        self.begin(Job::Verify { db: self.db.clone() })
    }
}
