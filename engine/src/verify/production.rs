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
use crate::verify::{self, Check, Identical, Scope, Verification, VerifyRequest};

/// What the rehearsal found that production's verification builds on.
#[derive(Debug, Clone, Copy)]
pub struct OnTheCopy<'a> {
    /// The state before the plan, taken on the copy.
    pub before: &'a Snapshot,
    /// The checks that warned on the copy.
    pub warned: &'a [Check],
}

/// Verifies production after a commit and records the outcome. `changed` lists what was
/// written since the execute, when something was: those tables' counts and digests can no
/// longer match the rehearsal and are reported as changed, not as a failed migration.
pub fn verify(
    db: &Path,
    plan: &Plan,
    copy: OnTheCopy<'_>,
    runs: &[StatementRun],
    identical: Identical,
    changed: Option<&Changes>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Verification> {
    let before = copy.before;
    let request = VerifyRequest { db, plan, before, runs, identical: Some(identical), scope: Scope::Cheap, changed };
    let mut verification = verify::run(&request, progress)?;
    if verification.scope == Scope::Cheap {
        // Production is the copy's bytes: what warned there holds here, and is shown here.
        for c in copy.warned {
            let detail = format!("on the rehearsal copy, which this file equals: {}", c.detail);
            verification.checks.push(Check { detail, ..c.clone() });
        }
    }
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
