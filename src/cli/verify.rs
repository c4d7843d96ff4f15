//! `cutover verify`: check a migrated database again, against what its journal recorded.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::Session;

use crate::cli::emit;
use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::progress::StderrProgress;

/// Verifies the database after the newest execute recorded in its journal.
pub fn run(db: &Path, json: bool) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let verified = StderrProgress::new().during(|p| Session::new(db).verify(p))?;
    let done = &verified.report;
    let outcome = Outcome {
        ok: done.ok(),
        phase: "verify",
        database: db.to_path_buf(),
        plan_sha256: Some(done.plan_sha256.clone()),
        backup: Some(done.backup.clone()),
        timings_s: PhaseTimings { verify: Some(started.elapsed().as_secs_f64()), ..PhaseTimings::default() },
        result_sha256: done.actual_sha256.clone(),
        identical: Some(done.identical),
        changes: done.changes.clone().filter(|c| !c.is_empty()),
        reports: verified.reports.clone(),
        summary: done.summary(),
        ..Outcome::default()
    }
    .with_checks(&done.verification);
    emit(outcome, json)
}
