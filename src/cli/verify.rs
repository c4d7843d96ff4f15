//! `cutover verify`: check a migrated database again, against what its journal recorded.

use cutover::engine::paths::shown;
use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::{reports, reverify};

use crate::cli::emit;
use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::progress::StderrProgress;

/// Verifies the database after the newest execute recorded in its journal.
pub fn run(db: &Path, json: bool) -> Result<ExitCode> {
    let mut progress = StderrProgress::new();
    let started = std::time::Instant::now();
    let done = reverify::run(db, &mut |p| progress.show(p));
    progress.finish();
    let done = done?;
    let verification = &done.verification;
    let mut markdown = format!("# Verification of {}\n\n{}\n\n", shown(db), done.summary());
    for c in &verification.checks {
        markdown.push_str(&format!("- **{}** {}: {}\n", c.status.label(), c.name, c.detail));
    }
    let written = vec![reports::write(db, "verification.md", &markdown)?];
    let outcome = Outcome {
        ok: verification.ok,
        phase: "verify",
        database: db.to_path_buf(),
        plan_sha256: Some(done.plan_sha256.clone()),
        backup: Some(done.backup.clone()),
        timings_s: PhaseTimings { verify: Some(started.elapsed().as_secs_f64()), ..PhaseTimings::default() },
        result_sha256: done.actual_sha256.clone(),
        identical: Some(done.identical),
        changes: done.changes.clone().filter(|c| !c.is_empty()),
        reports: written,
        summary: done.summary(),
        ..Outcome::default()
    }
    .with_checks(verification);
    emit(outcome, json)
}
