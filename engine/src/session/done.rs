//! Whether a database already carries the result of the plan a request builds, so running it
//! again (a fleet rollout re-run) changes nothing and says "already done".

use serde::Serialize;

use super::request::{PlanRequest, tenant_plan};
use super::Session;
use crate::backup_ref::BackupRef;
use crate::error::{Error, Result};
use crate::refusal::Refusal;
use crate::verify::snapshot::schema_digest;
use crate::plan::Plan;
use crate::status::report::{self, State, StatusReport};
use crate::open;

/// An execute of this very plan the database carries: committed, verified, not rolled back.
#[derive(Debug, Clone, Serialize)]
pub struct AlreadyDone {
    /// The plan's SHA-256 (the request builds the same plan from the backup's bytes).
    pub plan_sha256: String,
    /// The backup that execute can be rolled back to.
    pub backup: BackupRef,
    /// The database's SHA-256 right after that commit, as recorded.
    pub result_sha256: Option<String>,
    /// Whether the database was written to since (`None`: cannot be told without changing it).
    pub changed_since_execute: Option<bool>,
    /// An execute cut off earlier was settled from the file first (and recorded).
    pub settled: bool,
}

impl Session {
    /// Where the database stands, from its journal and the file (read-only; see
    /// [`report::report`]).
    pub fn status(&self) -> Result<StatusReport> {
        report::report(self.db())
    }

    /// The execute of the plan `request` builds, when the database already carries it. An
    /// execute the journal saw start but not end is settled from the file first. Then the
    /// journal's execute in force must have committed, the request must build that very plan
    /// from the backup it started from, and:
    /// - a tenant plan: that execute was verified, the file's schema is still the one it left
    ///   (read without changing anything) and nothing is left to do on the file;
    /// - a script, whose effect on rows cannot be told once the file moved on: verified, and
    ///   the file is still the result's very bytes. A file that is the backup's bytes runs it
    ///   again; any other is refused rather than risk applying the script twice.
    pub fn already_done(
        &self,
        request: &PlanRequest,
        progress: &mut dyn FnMut(crate::progress::Progress),
    ) -> Result<Option<AlreadyDone>> {
        // Only a run cut off mid-way is settled (which may recover the file and records the
        // outcome); anything else is looked at as it is.
        let first = self.standing()?;
        let open = first.rollback_started.is_some()
            || first.execute.as_ref().is_some_and(|x| !x.committed && !x.rolled_back && !first.rolled_back);
        if open {
            crate::status::ensure_settled(self.db(), progress)?;
        }
        let standing = if open { self.standing()? } else { first };
        let Some(x) = standing.live_execute().filter(|x| x.committed) else { return Ok(None) };
        let backup = x.backup.located(self.db());
        let Some(plan) = plan_from(self, request, &backup)? else { return Ok(None) };
        if plan.sha256 != x.plan_sha256 {
            return Ok(None);
        }
        let script = matches!(request, PlanRequest::Script(_));
        let hot = !open && crate::status::hot_journal(self.db());
        if hot && script {
            let why = "a write the shop's application did not finish lies beside it (a hot journal), so what the file holds is not told before SQLite recovers it";
            return Err(Error::NotReady(Refusal::ScriptMayBeInForce { path: self.db().to_path_buf(), why }));
        }
        if hot {
            // The normal path recovers it, keeping a copy as found, and says so.
            return Ok(None);
        }
        let status = self.status()?;
        let verified = standing.verified == Some(true);
        let done = AlreadyDone {
            plan_sha256: x.plan_sha256.clone(),
            backup: backup.clone(),
            result_sha256: x.result_sha256.clone(),
            changed_since_execute: status.changed_since_execute,
            settled: open,
        };
        if script {
            if verified && status.changed_since_execute == Some(false) {
                return Ok(Some(done));
            }
            if status.current_sha256.as_deref() == Some(backup.sha256.as_str()) {
                return Ok(None);
            }
            let why = if !verified {
                "it was never verified"
            } else {
                "the database has changed since, so whether the script's change is still in it cannot be told"
            };
            return Err(Error::NotReady(Refusal::ScriptMayBeInForce { path: self.db().to_path_buf(), why }));
        }
        // A tenant plan is its own test: what is not done is planned again from the file.
        let in_force = matches!(status.state, State::MigratedAndVerified | State::ChangedSinceExecute);
        if !verified || !in_force || x.schema_sha256.is_none() {
            return Ok(None);
        }
        let Some(view) = crate::status::read_view(self.db()) else { return Ok(None) };
        let schema = crate::verify::snapshot::schema(&view).ok().map(|o| schema_digest(&o));
        if schema != x.schema_sha256 {
            return Ok(None);
        }
        let PlanRequest::Tenant(choice) = request else { return Ok(None) };
        if !tenant_plan(&view, self.db(), choice, &mut |_| {})?.is_empty() {
            return Ok(None);
        }
        Ok(Some(done))
    }
}

/// The plan `request` builds from the bytes of `backup` (read immutable: nothing is locked or
/// created beside it); `None` when it cannot be told (the backup is gone, an isolation fix).
fn plan_from(session: &Session, request: &PlanRequest, backup: &BackupRef) -> Result<Option<Plan>> {
    match request {
        PlanRequest::Script(path) => Ok(Some(Plan::from_script(path)?)),
        PlanRequest::Isolate(_) => Ok(None),
        PlanRequest::Tenant(choice) => {
            if !backup.path.is_file() {
                return Ok(None);
            }
            let Some(conn) = open::immutable(&backup.path)? else { return Ok(None) };
            Ok(Some(tenant_plan(&conn, session.db(), choice, &mut |_| {})?.plan))
        }
    }
}
