//! Verification: every check of a migrated database, each PASS, WARN or FAIL with its detail.

pub mod checks;
pub mod production;
pub mod snapshot;
pub mod tenant;
pub mod triggers;

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::apply::StatementRun;
use crate::error::{Error, Result};
use crate::open;
use crate::plan::Plan;
use crate::progress::Progress;
use snapshot::Snapshot;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The check holds.
    Pass,
    /// Worth a look; not a failure.
    Warn,
    /// The check does not hold.
    Fail,
}

impl Status {
    /// The verdict as printed.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One finding about one table (or object) inside a check, for drill-down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The table or object.
    pub subject: String,
    /// Its verdict.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// One check of the verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Short machine name: `column_present`, `content_digest`, …
    pub name: String,
    /// The worst verdict of its findings.
    pub status: Status,
    /// One line a person reads.
    pub detail: String,
    /// Per table, where the check is per table.
    pub findings: Vec<Finding>,
}

impl Check {
    /// A check from its findings: the worst finding decides, `summary` says it in words.
    pub fn from_findings(
        name: &str,
        findings: Vec<Finding>,
        summary: impl FnOnce(Status, &[Finding]) -> String,
    ) -> Check {
        let status = findings.iter().map(|f| f.status).max().unwrap_or(Status::Pass);
        let detail = summary(status, &findings);
        // Keep drill-down lean: the passing findings of a big schema add nothing but bulk.
        Check { name: name.into(), status, detail, findings }
    }

    /// A check without per-table findings.
    pub fn single(name: &str, status: Status, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status, detail: detail.into(), findings: Vec::new() }
    }
}

/// How much to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every check.
    Full,
    /// After proof by identical outcome: the cheap checks only.
    Cheap,
}

/// The outcome of comparing production's resulting hash with the rehearsal's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identical {
    /// The rehearsal copy's SHA-256 after its commit.
    pub rehearsal_sha256: String,
    /// This database's SHA-256 after its commit.
    pub actual_sha256: String,
}

/// All the checks of one verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Full or cheap.
    pub scope: Scope,
    /// The checks in order.
    pub checks: Vec<Check>,
    /// No check failed.
    pub ok: bool,
    /// Seconds it took.
    pub seconds: f64,
}

impl Verification {
    /// The names of the checks with the given verdict.
    pub fn names(&self, status: Status) -> Vec<String> {
        self.checks.iter().filter(|c| c.status == status).map(|c| c.name.clone()).collect()
    }

    /// A one-line summary: "12 PASS, 1 WARN, 0 FAIL".
    pub fn summary(&self) -> String {
        let n = |s| self.checks.iter().filter(|c| c.status == s).count();
        format!("{} PASS, {} WARN, {} FAIL", n(Status::Pass), n(Status::Warn), n(Status::Fail))
    }
}

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
    let columns = |name: &str| before.table(name).map(|t| t.columns.clone());
    let after_schema = snapshot::schema(&conn).map_err(|e| Error::sqlite("verifying (reading the schema)", e))?;
    let jobs: Vec<(String, bool)> = after_schema
        .iter()
        .filter(|o| o.kind == "table")
        .map(|o| (o.name.clone(), o.sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL")))
        .collect();
    let (integrity, after_tables) = std::thread::scope(|scope| {
        let integrity = scope.spawn(|| -> Result<Check> {
            let c = open::inspect(req.db)?;
            Ok(guard("integrity_check", checks::integrity_check(&c)))
        });
        let tables = snapshot::digest_all(req.db, &jobs, Some(&columns), 1, &mut |_| {});
        let integrity = integrity
            .join()
            .unwrap_or_else(|_| Err(Error::NotReady(crate::refusal::Refusal::CheckStopped("integrity check"))));
        (integrity, tables)
    });
    let after_tables = after_tables?;

    if let Some(spec) = req.plan.tenant() {
        checks.push(guard("column_definition", tenant::column_definition(&conn, spec)));
        match tenant::distribution(&conn, spec) {
            Ok((no_nulls, distribution)) => checks.extend([no_nulls, distribution]),
            Err(e) => {
                let detail = format!("the check could not run: {e}");
                checks.push(Check::single("no_nulls", Status::Fail, detail.clone()));
                checks.push(Check::single("tenant_distribution", Status::Fail, detail));
            }
        }
        checks.push(guard("index_used", tenant::index_used(&conn, spec)));
    }
    let strict = req.plan.tenant().is_some();
    checks.push(checks::row_counts(before, &after_tables, strict, req.changed));
    checks.push(checks::content_digest(before, &after_tables, strict, req.changed));
    checks.push(guard("foreign_keys", checks::foreign_keys(&conn, before)));
    checks.push(integrity?);
    checks.push(guard("schema_diff", checks::schema_diff(&conn, before, &after_schema, req.plan)));
    checks.push(checks::views_compile(&conn, &after_schema));
    checks.push(triggers::check(&conn, &after_schema, before));
    Ok(finish(scope, checks, started))
}

/// A check that could not even run fails, with SQLite's message as its detail.
fn guard(name: &str, result: rusqlite::Result<Check>) -> Check {
    result.unwrap_or_else(|e| Check::single(name, Status::Fail, format!("the check could not run: {e}")))
}

fn finish(scope: Scope, checks: Vec<Check>, started: Instant) -> Verification {
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    Verification { scope, checks, ok, seconds: started.elapsed().as_secs_f64() }
}
