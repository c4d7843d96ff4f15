//! How the wizard takes a finished job: the second half of the state machine.

use crate::engine::Error;
use crate::engine::ExitKind;
use crate::engine::PlanSource;
use crate::engine::Refusal;
use crate::engine::Status;
use crate::engine::shown;
use crate::engine::{Resume, ResumeState, Run};
use crate::tui::app::{App, Effect, Modal, Step};
use crate::tui::input::Input;
use crate::tui::worker::{JobKind, Outcome};

impl App {
    /// Takes a job's result: stores what it produced and moves the wizard on.
    pub fn finish(&mut self, kind: JobKind, result: Result<Outcome, Error>) -> Vec<Effect> {
        let stopping = self.job.take().is_some_and(|j| j.stopping);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.fail(kind, &e, stopping);
                return Vec::new();
            }
        };
        match outcome {
            Outcome::Preflight(report, resume, in_place) => {
                self.prepared.tenant_in_place = in_place;
                let (in_use, uncertain, recovered) =
                    (report.in_use(), report.uncertain(), report.recovered.as_ref().map(|r| r.notice(&self.db)));
                self.prepared.preflight = Some(*report);
                if let Some(text) = recovered {
                    self.view.modal =
                        Some(Modal::Info { title: "Recovered after an unclean shutdown".into(), lines: vec![text] });
                }
                // An isolation run starts from a settled file: the offer is made only when not.
                let settled = |r: &Resume| !matches!(r.state, ResumeState::Interrupted);
                if let Some(resume) = resume.filter(|r| !(self.choices.isolation && settled(r))) {
                    self.offer_resume(*resume);
                } else if in_use {
                    self.view.notice =
                        Some("another process has the database open: stop the application, then Enter".into());
                } else if uncertain && !self.choices.confirmed_stopped {
                    self.view.notice =
                        Some("some processes could not be checked: c confirms the application is stopped".into());
                }
            }
            Outcome::Backup(report) => {
                self.view.notice = Some(format!("backup proven: {}", report.verdict));
                self.prepared.backup = Some(*report);
            }
            Outcome::Audit(report) => {
                if self.choices.tenant.text.is_empty()
                    && let Some(t) = &report.suggested_tenant
                {
                    self.choices.tenant = Input::new(t.clone());
                }
                self.prepared.audit = Some(*report);
            }
            Outcome::Isolation(report, written) => {
                self.results.reports.push(written);
                self.view.cursor = 0;
                self.prepared.isolation = Some(*report);
            }
            Outcome::Plan(planned, app) => {
                if let Some(a) = &planned.audit {
                    self.prepared.audit = Some(a.clone());
                }
                self.prepared.app = app;
                if let (true, PlanSource::Migrations(spec)) = (planned.is_empty(), &planned.plan.source) {
                    self.view.notice = Some(format!(
                        "Already done: all {} of the app's migrations are recorded in {} — nothing to run",
                        spec.recorded, spec.table
                    ));
                } else if planned.is_empty() {
                    self.view.notice = Some("nothing to do: every table already has the change or is left out".into());
                }
                self.prepared.planned = Some(*planned);
                self.prepared.rehearsed = None;
            }
            Outcome::DryRun(rehearsed) => {
                self.results.reports = rehearsed.reports.clone();
                if !rehearsed.dry.ok {
                    // Execute stays locked: the shop need not wait while the plan or data is fixed.
                    self.let_go("the dry run failed");
                    let failed = rehearsed.dry.verification.names(Status::Fail).join(", ");
                    self.view.modal = Some(Modal::Error {
                        title: "Dry run FAILED".into(),
                        message: format!("The plan ran on the copy but these checks failed: {failed}. The database was not touched."),
                        next: "Read the failing checks below (↑↓), fix the plan or the data, and run the wizard again. Execute stays locked.".into(),
                    });
                }
                self.view.cursor = 0;
                self.prepared.rehearsed = Some(*rehearsed);
            }
            Outcome::Execute(executed) => {
                self.results.reports.extend(executed.reports.iter().cloned());
                let report = &executed.report;
                self.results.changed_since =
                    report.changed_since.as_ref().map(|c| format!("written to after the commit: {}", c.summary()));
                self.results.verification = Some(report.verification.clone());
                self.results.rollback_target = Some(report.backup.clone());
                self.results.executed = Some(*executed);
                self.view.step = Step::Verify;
                self.view.cursor = 0;
                if stopping {
                    self.view.modal = Some(Modal::Info {
                        title: "The change had already committed".into(),
                        lines: vec!["The stop came too late: the transaction had committed and was verified.".into()],
                    });
                }
            }
            Outcome::Verify(verified) => {
                let v = verified.report;
                self.results.reports.extend(verified.reports);
                self.results.changed_since = v.changed().then(|| v.summary());
                self.results.rollback_target = Some(v.backup.clone());
                self.results.verification = Some(v.verification);
                self.view.cursor = 0;
            }
            Outcome::RollbackTarget(backup) => {
                self.results.rollback_target = Some((*backup).clone());
                self.view.modal = Some(Modal::ConfirmRollback { backup: *backup });
            }
            Outcome::Rollback(report, earlier) => {
                let what = if self.results.undone {
                    "undo"
                } else if self.choices.isolation {
                    "isolation fix"
                } else {
                    "migration"
                };
                let mut lines = vec![
                    format!("backup   {}", report.backup_sha256),
                    format!("restored {}", report.restored_sha256),
                    match (&earlier, report.already_restored) {
                        (_, true) => {
                            format!("{} already equals that backup: nothing needed restoring.", shown(&self.db))
                        }
                        (Some(_), false) => format!("{} is exactly as it was before the last {what}.", shown(&self.db)),
                        (None, false) => format!("{} is exactly as it was before the {what}.", shown(&self.db)),
                    },
                ];
                if let Some(plan) = &earlier {
                    let told = if report.in_force_again.as_ref().is_some_and(|x| x.presumed) {
                        ", as far as its schema tells"
                    } else {
                        ""
                    };
                    lines.push(format!(
                        "The execute before it (plan {}) is in the database again{told}.",
                        &plan[..12.min(plan.len())]
                    ));
                }
                lines.push("Restart the shop's application, then press q to quit.".into());
                if let Some(kept) = &report.migrated_path {
                    lines.push(format!("The replaced database is kept as {}.", shown(kept)));
                }
                if let Some(c) = &report.discarded {
                    tracing::info!(changes = %c.summary(), "discarded by the rollback, as confirmed");
                    lines.push("Discarded, as you confirmed (kept in that file):".into());
                    lines.extend(c.lines(4).into_iter().map(|l| format!("  {l}")));
                }
                if let Some(note) = report.note.as_ref().filter(|_| !report.already_restored) {
                    lines.push(note.clone());
                }
                let title = if report.already_restored { "Already restored: MATCH" } else { "Rolled back: MATCH" };
                self.view.modal = Some(Modal::Info { title: title.into(), lines });
                self.results.rolled_back = Some(*report);
            }
            Outcome::WayBack(refused) => self.offer_way_back(*refused),
            Outcome::Undo(_, run) => self.show_undo(*run),
        }
        Vec::new()
    }

    fn fail(&mut self, kind: JobKind, e: &Error, stopping: bool) {
        tracing::warn!(?kind, error = %e, "shown to the technician");
        if kind == JobKind::DryRun {
            self.let_go("the dry run failed");
        }
        if e.committed() {
            // The checks that ran before the failing step still stand: show them, and only an
            // unverified change makes q ask.
            if let Error::AfterCommit { verification: Some(v), .. } = e {
                self.results.verification = Some((**v).clone());
                self.view.step = crate::tui::app::Step::Verify;
                self.view.cursor = 0;
            }
            self.results.committed_unverified = !self.results.verification.as_ref().is_some_and(|v| v.ok);
        }
        // The shop wrote after the backup: that backup and its rehearsal are history, so the
        // Backup step makes a new one instead of showing the old MATCH.
        let written =
            matches!(e, Error::NotReady(Refusal::ChangedSinceBackup { .. } | Refusal::WalWrittenSinceBackup { .. }));
        if kind == JobKind::Execute && written {
            self.prepared.backup = None;
            self.prepared.rehearsed = None;
        }
        let (title, next) = match (kind, e, e.exit_kind()) {
            (JobKind::Execute, _, _) if written => (
                "Execute stopped: the shop wrote since the backup; nothing changed".to_string(),
                "Stop the shop's application. Then press Esc and go back (Esc) to Backup: Enter makes a new backup, and the dry run runs again on it.".to_string(),
            ),
            (_, Error::AfterCommit { verification: Some(v), .. }, _) if v.ok => (
                "The change IS committed and verified; a later step failed".to_string(),
                "Do not run the migration again. The checks below passed; the step named above did not (often the reports: run `cutover verify` on the database to write them).".to_string(),
            ),
            (_, e, _) if e.committed() => (
                "The change IS committed, but not verified".to_string(),
                "Do not run the migration again. Press Esc, then q, and run `cutover verify` on the database (or open the wizard again: it offers to verify).".to_string(),
            ),
            (_, Error::NotReady(r), _) if r.needs_a_look() => (
                "Stopped: the database needs a look".to_string(),
                "It may not be as it was. Do not start the shop's application; press q and have the database looked at (`cutover verify` says where it stands).".to_string(),
            ),
            (_, Error::Cancelled(_), _) => (
                "Stopped: nothing changed".to_string(),
                "The transaction was rolled back. Press q to quit or Enter to start the step again.".to_string(),
            ),
            (_, _, ExitKind::InUse) => (
                "The database is in use".to_string(),
                "Stop the shop's application (or the process named above), then press Enter to re-check.".to_string(),
            ),
            (JobKind::DryRun, _, _) => (
                "Dry run FAILED".to_string(),
                "The database was not touched. Fix the plan (Esc to go back) and run the dry run again; execute stays locked.".to_string(),
            ),
            (JobKind::Execute, _, _) => (
                "Execute stopped: nothing changed".to_string(),
                "The transaction was rolled back and the database is as it was. Read the message, fix the cause, and run the wizard again.".to_string(),
            ),
            (JobKind::Undo, _, _) => (
                "Undo in place stopped: nothing changed".to_string(),
                "The database is as it was, the shop's work in it. Read the message; press r to see the ways back again.".to_string(),
            ),
            (JobKind::Rollback | JobKind::RollbackTarget, _, _) => (
                "Rollback refused".to_string(),
                "The database was left as it is. Keep the backup file safe and call for help with the message above.".to_string(),
            ),
            (_, _, ExitKind::BadInput) => (
                "This file cannot be used".to_string(),
                "Check that you opened the right database file. Press q to quit.".to_string(),
            ),
            _ => ("Something went wrong".to_string(), "Nothing was changed by this step. Press Esc and try again, or q to quit.".to_string()),
        };
        let title =
            if stopping && !matches!(e, Error::Cancelled(_)) { format!("{title} (stop requested)") } else { title };
        self.view.modal = Some(Modal::Error { title, message: e.to_string(), next });
    }

    /// The undo in place, as far as it went: on the dashboard when it executed, with what it
    /// kept; as a failed rehearsal (production untouched) otherwise.
    fn show_undo(&mut self, run: Run) {
        let kept = self.results.refused.take().and_then(|(c, _)| c).map(|c| c.counted());
        let executed = match run {
            Run::Executed(rehearsed, executed) => (rehearsed, executed),
            Run::Rehearsed(rehearsed) => {
                let failed = rehearsed.dry.verification.names(Status::Fail).join(", ");
                self.results.reports = rehearsed.reports.clone();
                self.view.modal = Some(Modal::Error {
                    title: "Undo in place FAILED on the copy".into(),
                    message: format!(
                        "The undo ran on a copy but these checks failed: {failed}. The database was not touched."
                    ),
                    next: "The reports say why (dry-run.md). Restoring the backup is still possible: press r.".into(),
                });
                return;
            }
            Run::NothingToDo => {
                self.view.modal = Some(Modal::Info {
                    title: "Nothing to undo".into(),
                    lines: vec!["The plan added nothing.".into()],
                });
                return;
            }
        };
        let (rehearsed, executed) = executed;
        self.results.reports = rehearsed.reports.clone();
        self.results.reports.extend(executed.reports.iter().cloned());
        let report = &executed.report;
        let ok = report.verification.ok;
        let mut lines = vec![
            "The tenant column and its indexes are gone; the schema is the original's again.".into(),
            match kept {
                Some(k) => format!("Every row of the shop's tables is kept, with its {k} written since the cutover."),
                None => "Every row of the shop's tables is kept, with what it wrote since the cutover.".into(),
            },
            format!("Backup of the file before the undo: {}", shown(&report.backup.path)),
            "r takes the undo back to those exact bytes.".into(),
        ];
        if !ok {
            lines.insert(0, format!("But its verification FAILED: {}.", report.verification.summary()));
        }
        self.results.verification = Some(report.verification.clone());
        self.results.rollback_target = Some(report.backup.clone());
        self.results.changed_since = None;
        self.results.undone = true;
        self.results.executed = Some(*executed);
        self.view.step = Step::Verify;
        self.view.cursor = 0;
        let title = if ok { "Undone in place: verified" } else { "Undone in place: verification FAILED" };
        self.view.modal = Some(Modal::Info { title: title.into(), lines });
    }

    fn offer_resume(&mut self, resume: Resume) {
        let undone = resume.standing.live_execute().is_some_and(|x| resume.standing.is_undo(x));
        let status = match resume.state {
            ResumeState::Verified if undone => "the cutover was undone in place and verified",
            ResumeState::VerificationFailed if undone => "the cutover was undone in place but its verification FAILED",
            ResumeState::Unverified if undone => "the cutover was undone in place but not yet verified",
            ResumeState::Interrupted => {
                "an execute was interrupted and the file equals neither the backup nor the rehearsal's result: verify it before anything else"
            }
            ResumeState::Verified => "it was migrated and verified",
            ResumeState::VerificationFailed => "it was migrated but its verification FAILED",
            ResumeState::Unverified => "it was migrated but not yet verified",
        };
        self.results.rollback_target = Some(resume.backup.clone());
        self.results.undone = undone;
        self.view.modal = Some(Modal::Resume {
            text: vec![
                format!("The journal of {} says {status}.", shown(&self.db)),
                format!("Backup: {}", shown(&resume.backup.path)),
                "v  verify it now    r  roll back to the backup    s  start over".into(),
            ],
        });
        self.results.resume = Some(resume);
    }
}
