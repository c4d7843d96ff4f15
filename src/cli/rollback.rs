//! `cutover rollback`: restore the database from its recorded backup.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::dryrun::BackupRef;
use cutover::engine::{journal, rollback};

use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::progress::StderrProgress;
use crate::cli::{UsageError, emit};

/// Restores `db` from `backup`, or from the backup of the newest execute (or the newest backup).
pub fn run(db: &Path, backup: Option<PathBuf>, yes: bool, json: bool) -> Result<ExitCode> {
    if !yes {
        return Err(UsageError("rollback replaces the database with its backup: add --yes to confirm".into()).into());
    }
    let entries = journal::read(db)?;
    let (path, sha256) = match backup {
        Some(path) => match journal::recorded_backup(&entries, &path) {
            Some(sha) => (path, sha),
            None => {
                return Err(UsageError(format!(
                    "{} is not a backup cutover recorded for {} — only recorded, hash-proven backups are restored",
                    path.display(),
                    db.display()
                ))
                .into());
            }
        },
        None => {
            let standing = journal::standing(&entries);
            match (standing.execute, standing.backup) {
                (Some(x), _) => (x.backup_path, x.backup_sha256),
                (None, Some(b)) => b,
                (None, None) => {
                    return Err(UsageError(format!(
                        "the journal records no backup of {} — nothing to roll back to",
                        db.display()
                    ))
                    .into());
                }
            }
        }
    };
    let mut progress = StderrProgress::new();
    let report = rollback::run(db, &path, &sha256, &mut |p| progress.show(p));
    progress.finish();
    let report = report?;
    let kept = report
        .migrated_path
        .as_ref()
        .map(|p| format!("; the migrated database is kept as {}", p.display()))
        .unwrap_or_default();
    let outcome = Outcome {
        ok: true,
        phase: "rollback",
        database: db.to_path_buf(),
        backup: Some(BackupRef { path: report.backup_path.clone(), sha256: report.backup_sha256.clone() }),
        result_sha256: Some(report.restored_sha256.clone()),
        timings_s: PhaseTimings { rollback: Some(report.seconds), ..PhaseTimings::default() },
        summary: format!(
            "{} restored: its SHA-256 {} the backup's — {}{kept}",
            db.display(),
            if report.restored_sha256 == report.backup_sha256 { "equals" } else { "DIFFERS FROM" },
            report.verdict
        ),
        ..Outcome::default()
    };
    emit(outcome, json)
}
