//! Verification: every check of a migrated database, each PASS, WARN or FAIL with its detail.

pub mod app;
pub mod app_check;
pub mod checks;
pub mod ledger;
pub mod outcome;
pub mod production;
pub mod rebuild;
pub mod snapshot;
pub mod tenant;
pub mod triggers;
pub mod undo;
pub mod violations;

use std::path::Path;
use std::time::Instant;


use crate::apply::StatementRun;
use crate::error::{Error, Result};
use crate::open;
use crate::plan::Plan;
use crate::progress::Progress;
use snapshot::Snapshot;

pub use outcome::{Check, Finding, Identical, Scope, Status, Verification};

/// What a verification needs to know.
pub struct VerifyRequest<'a> {
    /// The database to check (the rehearsal copy or production).
    pub db: &'a Path,
    /// The plan that ran.
    pub plan: &'a Plan,
    /// The state before the plan ran (taken on the rehearsal copy).
    pub before: &'a Snapshot,
    /// The statements as they ran, for `-- expect:` outcomes.
    pub runs: &'a [StatementRun],
    /// Production's hash against the rehearsal's, when checking production.
    pub identical: Option<Identical>,
    /// Full, or cheap after a MATCH.
    pub scope: Scope,
    /// What the shop wrote since the execute, when production changed after it.
    pub changed: Option<&'a crate::changes::Changes>,
}

/// Runs the verification.
pub fn run(req: &VerifyRequest<'_>, progress: &mut dyn FnMut(Progress)) -> Result<Verification> {
    let started = Instant::now();
    let mut checks = Vec::new();
    let matched = req.identical.as_ref().is_some_and(|i| i.rehearsal_sha256 == i.actual_sha256);
    if let Some(identical) = &req.identical {
        checks.push(checks::identical_outcome(identical));
    }
    let scope = if matched { req.scope } else { Scope::Full };
    let conn = open::inspect(req.db)?;
    if let Some(spec) = req.plan.tenant() {
        progress(Progress::Check { name: "column_present".into() });
        checks.push(guard("column_present", tenant::column_present(&conn, spec)));
    }
    if let Some(spec) = req.plan.undo() {
        progress(Progress::Check { name: "column_removed".into() });
        checks.push(guard("column_removed", undo::column_removed(&conn, spec)));
    }
    if !req.runs.iter().all(|r| r.expect.is_none()) {
        checks.push(checks::expectations(req.runs));
    }
    if scope == Scope::Cheap {
        progress(Progress::Check { name: "quick_check".into() });
        checks.push(guard("quick_check", checks::quick_check(&conn)));
        return Ok(finish(scope, checks, started));
    }

    // The two heavy reads run at once: integrity_check on one connection while the tables are
    // digested on another.
    progress(Progress::Check { name: "integrity_check, content_digest".into() });
    let before = req.before;
    let columns = |name: &str| before.table(name).map(|t| (t.columns.clone(), t.order.clone()));
    let after_schema = snapshot::schema(&conn).map_err(|e| Error::sqlite("verifying (reading the schema)", e))?;
    let jobs: Vec<(String, bool)> = after_schema
        .iter()
        .filter(|o| o.kind == "table")
        .map(|o| (o.name.clone(), o.sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL")))
        .collect();
    // integrity_check is the longest read: every other check runs on this connection, after
    // the digests, while it goes on.
    let (integrity, rest) = std::thread::scope(|scope| {
        let integrity = scope.spawn(|| -> Result<Check> {
            let c = open::inspect(req.db)?;
            Ok(guard("integrity_check", checks::integrity_check(&c)))
        });
        let rest = snapshot::digest_all(req.db, &jobs, Some(&columns), 1, &mut |_| {})
            .map(|after_tables| after_checks(req, &conn, &after_tables, &after_schema, progress));
        let integrity = integrity
            .join()
            .unwrap_or_else(|_| Err(Error::NotReady(crate::refusal::Refusal::CheckStopped("integrity check"))));
        (integrity, rest)
    });
    let (before_integrity, after_integrity) = rest?;
    checks.extend(before_integrity);
    checks.push(integrity?);
    checks.extend(after_integrity);
    Ok(finish(scope, checks, started))
}

/// The checks of a full verification besides integrity_check, in the order they are shown:
/// those shown before it and those shown after it.
fn after_checks(
    req: &VerifyRequest<'_>,
    conn: &rusqlite::Connection,
    after_tables: &[snapshot::TableState],
    after_schema: &[snapshot::SchemaObject],
    progress: &mut dyn FnMut(Progress),
) -> (Vec<Check>, Vec<Check>) {
    let before = req.before;
    let mut checks = Vec::new();
    if let Some(spec) = req.plan.tenant() {
        checks.push(guard("column_definition", tenant::column_definition(conn, spec)));
        match tenant::distribution(conn, spec) {
            Ok((no_nulls, distribution)) => checks.extend([no_nulls, distribution]),
            Err(e) => {
                let detail = format!("the check could not run: {e}");
                checks.push(Check::single("no_nulls", Status::Fail, detail.clone()));
                checks.push(Check::single("tenant_distribution", Status::Fail, detail));
            }
        }
        checks.push(guard("index_used", tenant::index_used(conn, spec)));
    }
    // Query-planner statistics (ANALYZE) of an index an undo drops go with it; a rebuild
    // gathers them again.
    let strict = |table: &str| {
        req.plan.keeps_every_value()
            && !((req.plan.undo().is_some() || req.plan.rebuild().is_some()) && table.starts_with("sqlite_stat"))
    };
    // The ledger gains (or loses) the rows the plan writes: counted so in every plan. Its
    // content is the plan's own only where cutover writes every change (a tenant plan recorded
    // as the app's migration, its undo); an app's migration or a script may change that table
    // too, and its content is read as any other change.
    let ledger = req.plan.records.as_ref().filter(|_| req.plan.keeps_every_value());
    let recorded = req.plan.records.as_ref();
    checks.push(checks::row_counts(before, after_tables, &strict, req.changed, recorded));
    checks.push(checks::content_digest(before, after_tables, &strict, req.changed, ledger));
    if let Some(records) = recorded {
        checks.push(guard("ledger_recorded", ledger::recorded(conn, records)));
    }
    checks.push(guard("foreign_keys", checks::foreign_keys(conn, before)));
    let mut after = Vec::new();
    match (req.plan.undo(), req.plan.rebuild()) {
        (Some(spec), _) => after.push(undo::schema_restored(before, after_schema, spec)),
        (None, Some(spec)) => {
            after.push(guard("constraints_rebuilt", rebuild::constraints_rebuilt(conn, before, after_schema, spec)));
            progress(Progress::Check { name: "second_tenant".into() });
            after.push(rebuild::second_tenant(req.db, conn, spec, after_schema));
            after.extend(rebuild::older_sqlite(spec));
        }
        (None, None) => after.push(guard("schema_diff", checks::schema_diff(conn, before, after_schema, req.plan))),
    }
    after.push(checks::views_compile(conn, after_schema));
    after.push(triggers::check(conn, after_schema, before));
    (checks, after)
}

/// A check that could not even run fails, with SQLite's message as its detail.
fn guard(name: &str, result: rusqlite::Result<Check>) -> Check {
    result.unwrap_or_else(|e| Check::single(name, Status::Fail, format!("the check could not run: {e}")))
}

fn finish(scope: Scope, checks: Vec<Check>, started: Instant) -> Verification {
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    Verification { scope, checks, ok, seconds: started.elapsed().as_secs_f64() }
}
