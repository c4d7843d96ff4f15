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
use crate::{hashing, open};

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
}

impl Session {
    /// Where the database stands, from its journal and the file (read-only; see
    /// [`report::report`]).
    pub fn status(&self) -> Result<StatusReport> {
        report::report(self.db())
    }

    /// The execute of the plan `request` builds, when the database already carries it: the
    /// journal's execute in force committed and was verified, the request builds that very plan
    /// from the backup it started from, the file is not that backup put back by other means,
    /// and its schema is still the one that execute left (a tenant plan must also find nothing
    /// left to do on the file as it is now; a script that changes no schema, the result's very
    /// bytes). A script whose change cannot be told in or out of the file is refused rather
    /// than run twice.
    pub fn already_done(&self, request: &PlanRequest) -> Result<Option<AlreadyDone>> {
        let status = self.status()?;
        let in_force = matches!(status.state, State::MigratedAndVerified | State::ChangedSinceExecute)
            && status.verified == Some(true);
        let standing = self.standing()?;
        let Some(x) = standing.live_execute().filter(|x| x.committed && in_force) else { return Ok(None) };
        let backup = x.backup.located(self.db());
        let Some(plan) = plan_from(self, request, &backup)? else { return Ok(None) };
        if plan.sha256 != x.plan_sha256 {
            return Ok(None);
        }
        let now = match &status.current_sha256 {
            Some(sha) => Some(sha.clone()),
            None if status.changed_since_execute == Some(true) => None,
            None => hashing::hash_file(self.db()).ok().map(|h| h.sha256),
        };
        if now.as_deref() == Some(backup.sha256.as_str()) {
            return Ok(None);
        }
        // The schema says whether the change is still in the file, whatever the shop wrote.
        let script = matches!(request, PlanRequest::Script(_));
        let result_schema = x.schema_sha256.clone();
        let before_schema = standing.rehearsal_for(x).map(|d| schema_digest(&d.before.schema));
        let now_schema = crate::status::schema_of(self.db());
        let changes_schema = match (&before_schema, &result_schema) {
            (Some(b), Some(r)) => Some(b != r),
            _ => None,
        };
        let may_be_in_force = || Error::NotReady(Refusal::ScriptMayBeInForce { path: self.db().to_path_buf() });
        if result_schema.is_none() || now_schema != result_schema {
            // Not in the file; a script may only run again where the file is provably back
            // to the schema of before (a restore by other means, traded on since).
            if script && !(changes_schema == Some(true) && now_schema == before_schema) {
                return Err(may_be_in_force());
            }
            return Ok(None);
        }
        match request {
            PlanRequest::Tenant(_) if !self.plan(request, &mut |_| {})?.is_empty() => return Ok(None),
            // A script that changes no schema is only told done by the result's very bytes.
            _ if script && changes_schema != Some(true) && status.changed_since_execute != Some(false) => {
                return Err(may_be_in_force());
            }
            _ => {}
        }
        Ok(Some(AlreadyDone {
            plan_sha256: x.plan_sha256.clone(),
            backup,
            result_sha256: x.result_sha256.clone(),
            changed_since_execute: status.changed_since_execute,
        }))
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
