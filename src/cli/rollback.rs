//! `cutover rollback`: restore the database from the backup of its last execute — refused
//! while the shop's new work would be lost, unless the technician says to discard it.

use cutover::engine::shown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::RollbackAsked;
use cutover::engine::Session;

use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::progress::StderrProgress;
use crate::cli::{UsageError, emit};

/// What the command line asked of the rollback.
pub struct Asked {
    /// A backup named with --backup.
    pub backup: Option<PathBuf>,
    /// --undo: the last execute's inverse, in place.
    pub undo: bool,
    /// --discard-changes.
    pub discard_changes: bool,
    /// --force.
    pub force: bool,
    /// --yes.
    pub yes: bool,
    /// With --undo: the application's migrations folder and its own check.
    pub app: cutover::engine::AppSide,
}

/// Restores `db` from the backup of its last execute (or the one named, when forced).
pub fn run(db: &Path, asked: Asked, json: bool) -> Result<ExitCode> {
    if asked.undo {
        if !asked.yes {
            return Err(UsageError(
                "rollback --undo changes the database in place: add --yes to confirm (run `cutover rollback --undo` with --yes after reading what it drops: `cutover status`)".into(),
            )
            .into());
        }
        return crate::cli::run::undo(db, asked.app, json);
    }
    if !asked.yes {
        return Err(UsageError("rollback replaces the database with its backup: add --yes to confirm".into()).into());
    }
    let asked = RollbackAsked {
        backup: asked.backup.as_deref(),
        force: asked.force,
        discard_changes: asked.discard_changes,
        again: false,
    };
    // A restore is not stopped half way: Ctrl-C waits for it to finish, and says so.
    let _ = crate::cli::interrupt::cancel();
    let session = Session::new(db);
    let report = StderrProgress::new().during(|p| session.rollback(asked, p))?;
    let kept = report
        .migrated_path
        .as_ref()
        .map(|p| format!("; the database it replaced is kept as {}", shown(p)))
        .unwrap_or_default();
    let mut summary = if report.already_restored {
        format!(
            "{} already equals the backup (its SHA-256 matches — {}): nothing needed restoring",
            shown(db),
            report.verdict
        )
    } else {
        format!(
            "{} restored: its SHA-256 {} the backup's — {}{kept}",
            shown(db),
            if report.restored_sha256 == report.backup_sha256 { "equals" } else { "DIFFERS FROM" },
            report.verdict
        )
    };
    if let Some(c) = &report.discarded {
        summary.push_str(&format!(
            "\nAs you asked, these changes made since {} were discarded (they stay in the kept file): {}",
            report.since,
            c.summary()
        ));
    }
    if let Some(n) = report.note.as_ref().filter(|_| !report.already_restored) {
        summary.push_str(&format!("\n{n}"));
    }
    // The backup put back may be the file an earlier execute left: that one is in force again.
    if let Some(x) = &report.in_force_again {
        let undo = if x.undoable { ", `cutover rollback --undo --yes` undoes it in place" } else { "" };
        let told = if x.presumed {
            ", as far as its schema tells (other programs wrote to it before that backup)"
        } else {
            ""
        };
        summary.push_str(&format!(
            "\nThe execute before it (plan {}) is in {} again{told}: `cutover verify` checks it{undo}, `cutover rollback --force --yes` restores its backup",
            &x.plan_sha256[..12.min(x.plan_sha256.len())],
            shown(db)
        ));
    }
    if let Some(n) = crate::cli::interrupt::too_late("a restore is never stopped half way, and this one finished") {
        summary.push_str(&format!("\n{n}"));
    }
    let outcome = Outcome {
        ok: true,
        phase: "rollback",
        database: db.to_path_buf(),
        backup: Some(report.backup()),
        result_sha256: Some(report.restored_sha256.clone()),
        timings_s: PhaseTimings { rollback: Some(report.seconds), ..PhaseTimings::default() },
        discarded: report.discarded.clone(),
        summary,
        ..Outcome::default()
    };
    // Restored: a failure to print the result must not read as "nothing changed".
    emit(outcome, json).map_err(|e| {
        cutover::engine::Error::AfterRestore {
            path: db.to_path_buf(),
            what: "printing the result".into(),
            cause: format!("{e:#}"),
        }
        .into()
    })
}
