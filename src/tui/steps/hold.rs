//! The hold from the backup to the execute: the shop's application cannot use the database
//! meanwhile, so it is let go when the technician leaves, goes back to the preflight, starts a
//! step that opens the file itself, or presses nothing for [`App::hold_limit`].

use crate::tui::app::App;

impl App {
    /// Lets go of the database if the run holds it, saying so and why.
    pub(crate) fn let_go(&mut self, why: &str) {
        if self.hold.release() {
            tracing::info!(why, "the database is no longer held");
            self.view.notice = Some(format!("released the database ({why}): the shop's app can use it again"));
        }
    }

    /// Lets go once nothing has happened for the hold's limit, or at once when the file at the
    /// path is no longer the one held (replaced, or written past SQLite's locks).
    pub(crate) fn release_if_idle(&mut self) {
        if self.hold.let_go_if_stale() {
            self.view.notice = Some(
                "released the database: the file changed or was replaced since the backup; Execute will hash it".into(),
            );
            return;
        }
        if self.job.is_none() && self.last_activity.elapsed() >= self.hold_limit && self.hold.is_held() {
            let why = format!("nothing pressed for {}", self.hold_limit_text());
            self.let_go(&why);
        }
    }

    /// The line shown while the database is held and no job runs.
    pub fn hold_line(&self) -> Option<String> {
        (self.job.is_none() && self.hold.is_held()).then(|| {
            format!(
                "HELD: the shop's app cannot use the database until Execute; {} idle frees it",
                self.hold_limit_text()
            )
        })
    }

    /// The hold's idle limit in words: `10 min`, `30 s`.
    pub fn hold_limit_text(&self) -> String {
        match self.hold_limit.as_secs() {
            s if s >= 60 => format!("{} min", s / 60),
            s => format!("{s} s"),
        }
    }
}
