//! What the technician asks for, as both faces take it: a plan request (the tenant migration
//! with its choices, or a script), and the plan it builds.

use std::path::{Path, PathBuf};

use crate::audit::{self, AuditOptions, AuditReport, Decision};
use crate::error::Result;
use crate::{ledger, open};
use crate::plan::Plan;
use crate::plan::tenant::{self, TenantRequest};
use crate::progress::Progress;

/// The migration to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanRequest {
    /// Add the tenant column (and its index) to every table that takes it.
    Tenant(TenantChoice),
    /// Run this `.sql` script.
    Script(PathBuf),
    /// Rebuild unique keys to lead with the tenant column (the isolation fix).
    Isolate(super::FixRequest),
    /// Run the application's pending migrations from its migrations folder (the session's
    /// [`crate::ledger::plan::App`] names the folder and the ledger).
    Migrations,
}

/// The choices of a tenant migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantChoice {
    /// Every existing row's tenant (the column's default).
    pub tenant: String,
    /// The column's name.
    pub column: String,
    /// The column's declared type on ordinary tables (STRICT tables get TEXT).
    pub column_type: String,
    /// Create an index on the column.
    pub index: bool,
    /// Tables left out.
    pub exclude: Vec<String>,
    /// Tables put in against the audit's default (the registry, bookkeeping).
    pub include: Vec<String>,
}

impl TenantChoice {
    /// The tenant migration with `tenant` and every other choice at its default.
    pub fn new(tenant: impl Into<String>) -> TenantChoice {
        TenantChoice {
            tenant: tenant.into(),
            column: audit::DEFAULT_COLUMN.into(),
            column_type: tenant::DEFAULT_TYPE.into(),
            index: true,
            exclude: Vec::new(),
            include: Vec::new(),
        }
    }
}

/// A plan and the audit it came from (tenant plans).
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The audit with the technician's choices applied; `None` for a script.
    pub audit: Option<AuditReport>,
}

impl Planned {
    /// Whether the plan has nothing to run (every table has the change or is left out).
    pub fn is_empty(&self) -> bool {
        self.plan.statements.is_empty()
    }

    /// Bytes the plan's new indexes take, as the audit estimates them from each table's rows
    /// and the tenant value; for a script, which may rewrite anything, the whole database.
    pub fn index_bytes(&self, db_bytes: u64) -> u64 {
        self.audit.as_ref().map_or(db_bytes, |a| a.summary.index_bytes_estimate)
    }
}

/// Builds the plan `request` asks for on `db`; a tenant plan reads the file through the hold
/// when the run keeps one (see [`super::Session::with_hold`]).
pub(super) fn build(
    session: &super::Session,
    request: &PlanRequest,
    progress: &mut dyn FnMut(Progress),
) -> Result<Planned> {
    let db = session.db();
    session.check_app()?;
    let choice = match request {
        PlanRequest::Script(path) => {
            let plan = Plan::from_script(path)?;
            let mut plan = with_app(session, plan)?;
            // Said before anything runs, in both faces: the execute refuses it (unless --again).
            if let Some(notice) = session.repeat_notice(&plan) {
                plan.notices.insert(0, notice);
            }
            return Ok(Planned { plan, audit: None });
        }
        PlanRequest::Migrations => {
            let app = session.app();
            let Some(dir) = &app.migrations else {
                return Err(crate::error::Error::Ledger(ledger::Problem::NoFolder));
            };
            let build = |conn: &rusqlite::Connection| ledger::plan::migrations(conn, app, dir);
            let plan = match session.read_held(build) {
                Some(plan) => plan?,
                None => {
                    crate::preflight::check_file(db)?;
                    build(&open::inspect(db)?)?
                }
            };
            return Ok(Planned { plan, audit: None });
        }
        PlanRequest::Isolate(fix) => {
            // The fix probes a copy made from the file by its name: the hold goes first.
            session.let_go();
            return Ok(super::Session::new(db).plan_fix(fix, progress)?.1);
        }
        PlanRequest::Tenant(choice) => choice,
    };
    let planned = match session.read_held(|conn| tenant_plan(conn, db, choice, progress)) {
        Some(planned) => planned,
        None => {
            crate::preflight::check_file(db)?;
            tenant_plan(&open::inspect(db)?, db, choice, progress)
        }
    }?;
    Ok(Planned { plan: with_app(session, planned.plan)?, audit: planned.audit })
}

/// `plan` recorded in the application's ledger as one of its migrations, when the session
/// asks for it (`--record-as`).
fn with_app(session: &super::Session, plan: Plan) -> Result<Plan> {
    let app = session.app();
    if app.record_as.is_none() {
        return Ok(plan);
    }
    let db = session.db();
    let record = |conn: &rusqlite::Connection| ledger::plan::record_as(conn, app, plan.clone());
    match session.read_held(record) {
        Some(plan) => plan,
        None => record(&open::inspect(db)?),
    }
}

/// The tenant plan `choice` asks for, read through `conn`.
pub(super) fn tenant_plan(
    conn: &rusqlite::Connection,
    db: &Path,
    choice: &TenantChoice,
    progress: &mut dyn FnMut(Progress),
) -> Result<Planned> {
    let options = AuditOptions {
        column: choice.column.clone(),
        tenant: Some(choice.tenant.clone()),
        exclude: choice.exclude.clone(),
    };
    let mut report = audit::run_on(conn, db, &options, progress)?;
    for t in report.tables.iter_mut().filter(|t| choice.include.contains(&t.name)) {
        if t.decision == Decision::Excluded {
            t.decision = Decision::Migrate;
            t.reason = "included by you".into();
        }
    }
    let request =
        TenantRequest { tenant: choice.tenant.clone(), column_type: choice.column_type.clone(), index: choice.index };
    let plan = tenant::generate(conn, &report, &request)?;
    Ok(Planned { plan, audit: Some(report) })
}
