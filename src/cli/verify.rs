//! `cutover verify`: check a migrated database again, against what its journal recorded.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::execute;
use cutover::engine::status::{self, Settled};
use cutover::engine::verify::Identical;
use cutover::engine::{Error, hashing, preflight, reports};

use crate::cli::emit;
use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::progress::StderrProgress;

/// Verifies the database after the newest execute recorded in its journal.
pub fn run(db: &Path, json: bool) -> Result<ExitCode> {
    preflight::check_file(db)?;
    let (standing, settled) = status::reconcile(db)?;
    if settled == Some(Settled::Unchanged) {
        return Err(Error::NotReady(format!(
            "the last execute on {} was interrupted before its commit: SQLite rolled it back and the database equals its backup — nothing to verify",
            db.display()
        ))
        .into());
    }
    let Some(exec) = standing.execute.filter(|x| x.committed.is_some() || settled == Some(Settled::Unknown)) else {
        return Err(Error::NotReady(format!(
            "nothing to verify: the journal records no committed execute for {}",
            db.display()
        ))
        .into());
    };
    if standing.rolled_back {
        return Err(Error::NotReady(format!(
            "{} was rolled back after its execute; there is no migration to verify",
            db.display()
        ))
        .into());
    }
    let Some(dry) = standing.dry_run.filter(|d| d.plan.sha256 == exec.plan_sha256) else {
        return Err(
            Error::NotReady("the journal has no passed dry run of the executed plan to compare with".into()).into()
        );
    };
    let mut progress = StderrProgress::new();
    let started = std::time::Instant::now();
    let actual = hashing::hash_file(db).map_err(|e| Error::io(format!("hashing {}", db.display()), e))?;
    let matched = actual.sha256 == dry.result_sha256;
    let identical = Identical { rehearsal_sha256: dry.result_sha256.clone(), actual_sha256: actual.sha256.clone() };
    let verification =
        execute::verify_production(db, &dry.plan, &dry.before, &[], identical, &mut |p| progress.show(p));
    progress.finish();
    let verification = verification?;
    let mut markdown = format!("# Verification of {}\n\n", db.display());
    for c in &verification.checks {
        markdown.push_str(&format!("- **{}** {}: {}\n", c.status.label(), c.name, c.detail));
    }
    let written = vec![reports::write(db, "verification.md", &markdown)?];
    let summary = if verification.ok {
        format!("{} verified: {}", db.display(), verification.summary())
    } else {
        format!(
            "{} verification FAILED: {} — `cutover rollback {} --yes` restores the backup",
            db.display(),
            verification.summary(),
            db.display()
        )
    };
    let outcome = Outcome {
        ok: verification.ok,
        phase: "verify",
        database: db.to_path_buf(),
        plan_sha256: Some(exec.plan_sha256),
        backup: Some(cutover::engine::dryrun::BackupRef { path: exec.backup_path, sha256: exec.backup_sha256 }),
        timings_s: PhaseTimings { verify: Some(started.elapsed().as_secs_f64()), ..PhaseTimings::default() },
        result_sha256: Some(actual.sha256),
        identical: Some(matched),
        reports: written,
        summary,
        ..Outcome::default()
    }
    .with_checks(&verification);
    emit(outcome, json)
}
