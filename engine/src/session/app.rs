//! The application's migrations as its runner sees the file now: what the Plan screen and
//! `cutover plan` show beside the plan.

use std::path::PathBuf;

use super::Session;
use crate::error::Result;
use crate::{ledger, open};

/// The folder set against the ledger, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppView {
    /// The application's migrations folder.
    pub dir: PathBuf,
    /// The ledger, in one line: "names ledger _migrations: 8 recorded, last …".
    pub ledger: String,
    /// How many of the folder's migrations it records.
    pub recorded: usize,
    /// The migrations the application would run at its next start, in its order.
    pub pending: Vec<String>,
}

impl Session {
    /// Refuses, before anything is written, an `--app-check` that does not name the copy it
    /// checks (`{db}`): it would open the database itself.
    pub(super) fn check_app(&self) -> Result<()> {
        if self.app.check.as_deref().is_some_and(|c| !c.contains("{db}")) {
            return Err(crate::error::Error::Ledger(ledger::Problem::CheckWithoutDb));
        }
        Ok(())
    }

    /// The application's migrations folder against its ledger as the file is now (read through
    /// the hold when this session keeps one); `None` without a folder.
    pub fn app_view(&self) -> Option<Result<AppView>> {
        let dir = self.app.migrations.clone()?;
        let read = |conn: &rusqlite::Connection| -> Result<AppView> {
            let (found, view) = ledger::plan::ledger_and_view(conn, &self.app, &dir)?;
            Ok(AppView {
                dir: dir.clone(),
                ledger: found.describe(),
                recorded: view.recorded.iter().filter(|r| **r).count(),
                pending: view.pending().map(|m| m.shown.clone()).collect(),
            })
        };
        Some(match self.read_held(read) {
            Some(v) => v,
            None => open::inspect(self.db()).and_then(|c| read(&c)),
        })
    }
}
