//! How the wizard takes a finished job: the second half of the state machine.

use crate::engine::Error;
use crate::engine::dryrun::BackupRef;
use crate::engine::error::ExitKind;
use crate::engine::paths::shown;
use crate::engine::verify::Status;
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
            Outcome::Preflight(report, resume) => {
                let (in_use, uncertain, recovered) =
                    (report.in_use(), report.uncertain(), report.recovered.as_ref().map(|r| r.notice(&self.db)));
                self.preflight = Some(*report);
                if let Some(text) = recovered {
                    self.modal =
                        Some(Modal::Info { title: "Recovered after an unclean shutdown".into(), lines: vec![text] });
                }
                if let Some(standing) = resume {
                    self.offer_resume(*standing);
                } else if in_use {
                    self.notice =
                        Some("another process has the database open: stop the application, then Enter".into());
                } else if uncertain && !self.confirmed_stopped {
                    self.notice =
                        Some("some processes could not be checked: c confirms the application is stopped".into());
                }
            }
            Outcome::Backup(report) => {
                self.notice = Some(format!("backup proven: {}", report.verdict));
                self.backup = Some(*report);
            }
            Outcome::Audit(report) => {
                if self.tenant.text.is_empty()
                    && let Some(t) = &report.suggested_tenant
                {
                    self.tenant = Input::new(t.clone());
                }
                self.audit = Some(*report);
            }
            Outcome::Plan(plan, audit) => {
                if let Some(a) = audit {
                    self.audit = Some(*a);
                }
                if plan.statements.is_empty() {
                    self.notice = Some("nothing to do: every table already has the change or is left out".into());
                }
                self.plan = Some(*plan);
                self.dry_run = None;
            }
            Outcome::DryRun(report, written) => {
                self.reports = written;
                if !report.ok {
                    let failed = report.verification.names(Status::Fail).join(", ");
                    self.modal = Some(Modal::Error {
                        title: "Dry run FAILED".into(),
                        message: format!("The plan ran on the copy but these checks failed: {failed}. The database was not touched."),
                        next: "Read the failing checks below (↑↓), fix the plan or the data, and run the wizard again. Execute stays locked.".into(),
                    });
                }
                self.cursor = 0;
                self.dry_run = Some(*report);
            }
            Outcome::Execute(report, written) => {
                self.reports.extend(written);
                self.changed_since =
                    report.changed_since.as_ref().map(|c| format!("written to after the commit: {}", c.summary()));
                self.verification = Some(report.verification.clone());
                self.rollback_target = Some(report.backup.clone());
                self.execute = Some(*report);
                self.step = Step::Verify;
                self.cursor = 0;
                if stopping {
                    self.modal = Some(Modal::Info {
                        title: "The change had already committed".into(),
                        lines: vec!["The stop came too late: the transaction had committed and was verified.".into()],
                    });
                }
            }
            Outcome::Verify(v) => {
                self.changed_since = v.changed().then(|| v.summary());
                self.rollback_target = Some(v.backup.clone());
                self.verification = Some(v.verification);
                self.cursor = 0;
            }
            Outcome::Rollback(report) => {
                let mut lines = vec![
                    format!("backup   {}", report.backup_sha256),
                    format!("restored {}", report.restored_sha256),
                    format!("{} is exactly as it was before the migration.", shown(&self.db)),
                    "Restart the shop's application, then press q to quit.".into(),
                ];
                if let Some(kept) = &report.migrated_path {
                    lines.push(format!("The migrated database is kept as {}.", shown(kept)));
                }
                if let Some(c) = &report.discarded {
                    tracing::info!(changes = %c.summary(), "discarded by the rollback, as confirmed");
                    lines.push("Discarded, as you confirmed (kept in that file):".into());
                    lines.extend(c.lines(4).into_iter().map(|l| format!("  {l}")));
                }
                if let Some(note) = &report.note {
                    lines.push(note.clone());
                }
                self.modal = Some(Modal::Info { title: "Rolled back: MATCH".into(), lines });
                self.rolled_back = Some(*report);
            }
        }
        Vec::new()
    }

    fn fail(&mut self, kind: JobKind, e: &Error, stopping: bool) {
        tracing::warn!(?kind, error = %e, "shown to the technician");
        if kind == JobKind::Rollback && matches!(e, Error::WouldDiscard { .. }) {
            self.offer_discard(e);
            return;
        }
        if e.committed() {
            self.committed_unverified = true;
        }
        let (title, next) = match (kind, e, e.exit_kind()) {
            (_, e, _) if e.committed() => (
                "The change IS committed, but not verified".to_string(),
                "Do not run the migration again. Press Esc, then q, and run `cutover verify` on the database (or open the wizard again: it offers to verify).".to_string(),
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
            (JobKind::Rollback, _, _) => (
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
        self.modal = Some(Modal::Error { title, message: e.to_string(), next });
    }

    fn offer_resume(&mut self, standing: crate::engine::journal::Standing) {
        let Some(x) = &standing.execute else { return };
        let status = match (x.committed, standing.verified) {
            (false, _) => "an execute was interrupted and the file equals neither the backup nor the rehearsal's result: verify it before anything else".to_string(),
            (true, Some(true)) => "it was migrated and verified".to_string(),
            (true, Some(false)) => "it was migrated but its verification FAILED".to_string(),
            (true, None) => "it was migrated but not yet verified".to_string(),
        };
        self.rollback_target = Some(BackupRef { path: x.backup_path.clone(), sha256: x.backup_sha256.clone() });
        self.modal = Some(Modal::Resume {
            text: vec![
                format!("The journal of {} says {status}.", shown(&self.db)),
                format!("Backup: {}", shown(&x.backup_path)),
                "v  verify it now    r  roll back to the backup    s  start over".into(),
            ],
        });
        self.resume = Some(standing);
    }
}
