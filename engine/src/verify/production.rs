//! Verifying production after its commit, and recording the outcome in the journal: the same
//! for the execute that just committed and for a verification from the journal later.

use std::path::Path;

use crate::apply::StatementRun;
use crate::changes::Changes;
use crate::error::Result;
use crate::journal::{self, Event};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::verify::snapshot::Snapshot;
use crate::verify::{self, Identical, Scope, Verification, VerifyRequest};

/// Verifies production after a commit and records the outcome. `changed` lists what was
/// written since the execute, when something was: those tables' counts and digests can no
/// longer match the rehearsal and are reported as changed, not as a failed migration.
pub fn verify(
    db: &Path,
    plan: &Plan,
    before: &Snapshot,
    runs: &[StatementRun],
    identical: Identical,
    changed: Option<&Changes>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Verification> {
    let request = VerifyRequest { db, plan, before, runs, identical: Some(identical), scope: Scope::Cheap, changed };
    let verification = verify::run(&request, progress)?;
    journal::append(
        db,
        Event::Verified {
            plan_sha256: plan.sha256.clone(),
            ok: verification.ok,
            failed: verification.names(verify::Status::Fail),
        },
    )?;
    Ok(verification)
}
