//! What the wizard leaves on the terminal after it closes: where the database stands, and
//! whether that is a state to act on (exit 1: migrated but not verified).

use crate::engine::Session;
use crate::engine::shell_quote;
use crate::engine::shown;
use crate::tui::app::App;

/// The last words, and whether the run ended in a state that needs action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    /// Lines to print.
    pub lines: Vec<String>,
    /// The database is migrated without a passing verification.
    pub unverified: bool,
}

impl App {
    /// Where this session leaves the database, in words.
    pub fn farewell(&self) -> Farewell {
        let db = shown(&self.db);
        let unverified = self.migrated_unverified();
        let mut lines = Vec::new();
        if let Some(r) = &self.results.rolled_back {
            lines.push(format!("{db} was rolled back: its SHA-256 matches the backup ({}).", r.verdict));
        } else if unverified {
            lines.push(format!(
                "{db} is migrated, but its verification did not pass or did not run: run `cutover verify {}` — do not run the migration again.",
                shell_quote(&self.db)
            ));
        } else if self.migrated() {
            lines.push(match &self.results.changed_since {
                Some(what) => format!("{db} is migrated; it changed since the execute: {what}"),
                None => format!("{db} is migrated and verified."),
            });
        } else if Session::new(&self.db).carries_execute() {
            lines.push(format!(
                "{db} was not changed in this session; an earlier execute is in it (see `cutover verify`)."
            ));
        } else {
            lines.push(format!("{db} was not changed."));
        }
        if let Some(dir) = self.results.reports.first().and_then(|p| p.parent()) {
            lines.push(format!("Reports: {}", dir.display()));
        }
        Farewell { lines, unverified }
    }
}
