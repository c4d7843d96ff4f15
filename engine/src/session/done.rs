//! Whether a database already carries the result of the plan a request builds, so running it
//! again (a fleet rollout re-run) changes nothing and says "already done" — and whether a
//! script's statements already ran here, under any text, so running them again is refused.
//! Both are read from what the file holds now ([`Present`]), the journal giving the history.

use serde::Serialize;

use super::Session;
use super::request::{PlanRequest, tenant_plan};
use crate::backup_ref::BackupRef;
use crate::error::{Error, Result};
use crate::journal::lineage::{Executed, Lineage};
use crate::open;
use crate::plan::{Plan, PlanSource, fingerprint};
use crate::refusal::Refusal;
use crate::status::present::{Applied, Found, Present};
use crate::status::report::{self, StatusReport};
use crate::verify::snapshot::schema_digest;

/// An execute of this very plan the database carries: committed, not rolled back, verified.
#[derive(Debug, Clone, Serialize)]
pub struct AlreadyDone {
    /// The plan's SHA-256 as that execute ran it.
    pub plan_sha256: String,
    /// The backup that execute can be rolled back to.
    pub backup: BackupRef,
    /// The database's SHA-256 right after that commit, as recorded.
    pub result_sha256: Option<String>,
    /// Whether the database was written to since (`None`: cannot be told without changing it).
    pub changed_since_execute: Option<bool>,
    /// An execute cut off earlier was settled from the file first (and recorded).
    pub settled: bool,
    /// When that execute ran (RFC 3339, local time).
    pub executed_at: String,
    /// The request's text differs from what that execute ran only in whitespace and comments.
    pub same_statements_other_text: bool,
    /// That execute was never verified: it was verified now, before anything said done.
    #[serde(skip)]
    pub verified_now: Option<Box<super::Verified>>,
}

impl AlreadyDone {
    /// Whether it is done and holds: verified before, or verified now and passed.
    pub fn ok(&self) -> bool {
        self.verified_now.as_ref().is_none_or(|v| v.report.ok())
    }
}

impl Session {
    /// Where the database stands, from its journal and the file (read-only; see
    /// [`report::report`]).
    pub fn status(&self) -> Result<StatusReport> {
        report::report(self.db())
    }

    /// The execute of the plan `request` builds, when the database already carries it. An
    /// execute the journal saw start but not end is settled from the file first. Then:
    /// - a script: the file is byte for byte what an execute of the same statements left
    ///   (whatever their text's whitespace and comments). Where their change is in the file
    ///   beneath later ones, or may be, the script is refused (unless `--again`);
    /// - a tenant plan: the execute in force in the file built that very plan, the file's
    ///   schema is still the one it left, and nothing is left to do on the file.
    ///
    /// An execute never verified is verified first; its verdict is part of the answer.
    pub fn already_done(
        &self,
        request: &PlanRequest,
        progress: &mut dyn FnMut(crate::progress::Progress),
    ) -> Result<Option<AlreadyDone>> {
        // The same refusals as every command first (missing, not SQLite, …).
        crate::preflight::check_file(self.db())?;
        // Only a run cut off mid-way is settled (which may recover the file and records the
        // outcome); anything else is looked at as it is.
        let first = self.standing()?;
        if !first.lineage.any_committed() {
            return Ok(None);
        }
        let open = first.rollback_started.is_some()
            || first.execute.as_ref().is_some_and(|x| !x.committed && !x.rolled_back && !first.rolled_back);
        if open {
            crate::status::ensure_settled(self.db(), progress)?;
        }
        let lineage = if open { self.standing()?.lineage } else { first.lineage };
        let found = match request {
            PlanRequest::Script(path) => self.script_done(&Plan::from_script(path)?, &lineage)?,
            PlanRequest::Tenant(choice) => self.tenant_done(choice, &lineage)?,
            PlanRequest::Isolate(_) | PlanRequest::Migrations => None,
        };
        let Some((x, present, same_text)) = found else { return Ok(None) };
        let executed = &lineage.executes[x];
        let mut done = AlreadyDone {
            plan_sha256: executed.record.plan_sha256.clone(),
            backup: executed.record.backup.located(self.db()),
            result_sha256: executed.record.result_sha256.clone(),
            changed_since_execute: Some(!present.is_result_of(&lineage, x)),
            settled: open,
            executed_at: executed.at.clone(),
            same_statements_other_text: !same_text,
            verified_now: None,
        };
        if executed.verified.is_none() {
            let live = self.standing()?.live_execute().is_some_and(|l| l.plan_sha256 == executed.record.plan_sha256);
            if !live {
                // `verify` checks the execute the journal holds in force; another is not told.
                return Ok(None);
            }
            // Cut off after its commit, or its verification never recorded: nothing says done
            // before the file is verified.
            done.verified_now = Some(Box::new(self.verify(progress)?));
        }
        Ok(Some(done))
    }

    /// The execute whose result a script's statements already are in the file, or a refusal
    /// when they may be in it otherwise.
    fn script_done(&self, plan: &Plan, lineage: &Lineage) -> Result<Option<(usize, Present, bool)>> {
        if self.again {
            return Ok(None);
        }
        let (fp, like) = (fingerprint::of(&plan.statements), fingerprint::like(&plan.statements));
        if !ran_before(lineage, &fp, &like) {
            return Ok(None);
        }
        if crate::status::hot_journal(self.db()) {
            let why = "a write the shop's application did not finish lies beside it (a hot journal), so what the file holds is not told before SQLite recovers it";
            return Err(Error::NotReady(Refusal::ScriptMayBeInForce { path: self.db().to_path_buf(), why }));
        }
        let present = Present::read(self.db(), lineage)?;
        match present.applied(lineage, &fp, &like) {
            Applied::Never | Applied::NotInFile => Ok(None),
            Applied::IsResult(x) if lineage.executes[x].verified != Some(false) => {
                let same_text = lineage.executes[x].record.plan_sha256 == plan.sha256;
                Ok(Some((x, present, same_text)))
            }
            applied => Err(self.applied_refusal(lineage, applied, plan)),
        }
    }

    /// Refuses to run a script whose statements already ran on the file now under the
    /// session's database (`sha256` when its bytes are known: it equals the run's backup),
    /// unless the technician asked to apply them again.
    pub(super) fn refuse_repeat(&self, plan: &Plan, sha256: Option<&str>) -> Result<()> {
        if self.again || !matches!(plan.source, PlanSource::Script { .. }) {
            return Ok(());
        }
        let lineage = self.standing()?.lineage;
        let (fp, like) = (fingerprint::of(&plan.statements), fingerprint::like(&plan.statements));
        if !ran_before(&lineage, &fp, &like) {
            return Ok(());
        }
        let present = match sha256 {
            Some(sha) => Present::at(sha, &lineage),
            None => Present::read(self.db(), &lineage)?,
        };
        match present.applied(&lineage, &fp, &like) {
            Applied::Never | Applied::NotInFile => Ok(()),
            applied => Err(self.applied_refusal(&lineage, applied, plan)),
        }
    }

    /// [`Session::refuse_repeat`] for a plan just built: the file as it is now, read through
    /// the hold when this session keeps one (then it is still the newest backup's bytes).
    pub(super) fn repeat_notice(&self, plan: &Plan) -> Option<String> {
        match self.repeat_check(plan) {
            Ok(()) => None,
            Err(Error::NotReady(Refusal::ScriptAlreadyApplied { execute, how, .. })) => Some(format!(
                "already applied here by {execute}, and {how}: execute refuses to apply it twice (`--again` applies it on purpose)"
            )),
            Err(e) => Some(e.to_string()),
        }
    }

    fn repeat_check(&self, plan: &Plan) -> Result<()> {
        if self.read_held(|_| Ok(())).is_some() {
            let held = self.standing()?.backup.map(|b| b.sha256);
            return self.refuse_repeat(plan, held.as_deref());
        }
        self.refuse_repeat(plan, None)
    }

    fn applied_refusal(&self, lineage: &Lineage, applied: Applied, plan: &Plan) -> Error {
        let (x, how) = match applied {
            Applied::IsResult(x) if lineage.executes[x].verified == Some(false) => {
                (x, "the file is still its result, whose verification FAILED: `cutover rollback` takes it back".into())
            }
            Applied::IsResult(x) if lineage.executes[x].verified.is_none() => (
                x,
                "the file is still byte for byte its result, which was never verified and is not the execute the journal names last: `cutover status` says what the file holds".into(),
            ),
            Applied::IsResult(x) => (x, "the file is still byte for byte its result: there is nothing to do".into()),
            Applied::Beneath { execute, presumed: false } => {
                (execute, "their change is still in the file, beneath what later executes changed".into())
            }
            Applied::Beneath { execute, .. } => (
                execute,
                "the file has been written to since, on top of their result, so their change is in it as far as its history shows".into(),
            ),
            Applied::CannotTell(x) => (
                x,
                "the file has changed since in ways cutover did not record, so whether their change is still in it cannot be told".into(),
            ),
            Applied::Alike(x) => (
                x,
                "these differ from them only in the case or the quoting of words: the same change if those words are names, another if one is a value (a double-quoted or bare word SQLite reads as a string), which cannot be told apart".into(),
            ),
            Applied::Never | Applied::NotInFile => (0, String::new()),
        };
        let alike = matches!(applied, Applied::Alike(_));
        let executed: &Executed = &lineage.executes[x];
        let script = match &plan.source {
            PlanSource::Script { path } => path.clone(),
            _ => std::path::PathBuf::new(),
        };
        Error::NotReady(Refusal::ScriptAlreadyApplied {
            path: self.db().to_path_buf(),
            script,
            execute: format!(
                "the execute of {} {} (plan {})",
                executed.at.get(..10).unwrap_or(&executed.at),
                executed.at.get(11..16).unwrap_or(""),
                executed.record.plan_sha256.get(..12).unwrap_or("")
            ),
            how,
            alike,
        })
    }

    /// The execute in force whose tenant plan the request builds again, when the file still
    /// has its schema and nothing is left to do.
    fn tenant_done(
        &self,
        choice: &super::TenantChoice,
        lineage: &Lineage,
    ) -> Result<Option<(usize, Present, bool)>> {
        if crate::status::hot_journal(self.db()) {
            // The normal path recovers it, keeping a copy as found, and says so.
            return Ok(None);
        }
        let present = Present::read(self.db(), lineage)?;
        let Some(&x) = present.carries(lineage).last() else { return Ok(None) };
        if !present.unsure(lineage).is_empty() {
            return Ok(None);
        }
        let executed = &lineage.executes[x];
        if executed.verified == Some(false) || executed.record.schema_sha256.is_none() {
            return Ok(None);
        }
        if let Found::Moved(like) = &present.found
            && (!like.last || !like.unsure.is_empty())
        {
            return Ok(None);
        }
        let backup = executed.record.backup.located(self.db());
        if !backup.path.is_file() {
            return Ok(None);
        }
        let Some(conn) = open::immutable(&backup.path)? else { return Ok(None) };
        let plan = tenant_plan(&conn, self.db(), choice, &mut |_| {})?.plan;
        if plan.sha256 != executed.record.plan_sha256 {
            return Ok(None);
        }
        let Some(view) = crate::status::read_view(self.db()) else { return Ok(None) };
        let schema = crate::verify::snapshot::schema(&view).ok().map(|o| schema_digest(&o));
        if schema != executed.record.schema_sha256 {
            return Ok(None);
        }
        if !tenant_plan(&view, self.db(), choice, &mut |_| {})?.is_empty() {
            return Ok(None);
        }
        Ok(Some((x, present, true)))
    }
}

/// Whether statements with this identity, or alike, ran here in an execute that may have
/// committed: only then is the file looked at.
fn ran_before(lineage: &Lineage, fp: &str, like: &str) -> bool {
    lineage.executes.iter().any(|e| {
        e.may_have_committed() && (e.fingerprint.as_deref() == Some(fp) || e.likeness.as_deref() == Some(like))
    })
}
