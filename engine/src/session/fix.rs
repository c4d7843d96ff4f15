//! The isolation fix as a run: the keys chosen from the isolation audit become a rebuild plan,
//! which [`Session::run`] takes through the backup, the rehearsal on a copy, the execute and the
//! verification like any plan.

use super::{Planned, Session};
use crate::error::{Error, Result};
use crate::refusal::{BadArgument, Refusal};
use crate::isolate::{self, Concern, IsolationReport};
use crate::plan::rebuild::{self, KeyChoice, RebuildRequest};
use crate::preflight::PreflightReport;
use crate::progress::Progress;
use crate::plan::Plan;
use crate::{open, reports, status};
use std::path::PathBuf;

/// Which unique keys an isolation fix scopes per tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FixRequest {
    /// The tenant column.
    pub column: String,
    /// Only these tables (empty: every table with a chosen key).
    pub only: Vec<String>,
    /// Not these tables.
    pub skip: Vec<String>,
    /// The keys chosen by hand (the wizard's toggles); `None`: every proposed one.
    pub keys: Option<Vec<KeyChoice>>,
    /// Also give each rebuilt table a foreign key to the tenant registry.
    pub registry_fk: bool,
}

impl FixRequest {
    /// Every proposed key of the tenant column `column`.
    pub fn new(column: impl Into<String>) -> FixRequest {
        FixRequest { column: column.into(), ..FixRequest::default() }
    }
}

impl Session {
    /// The isolation audit and the rebuild of the keys `request` chooses from it. Changes
    /// nothing; refused when a chosen key cannot be rebuilt safely.
    pub fn plan_fix(&self, request: &FixRequest, progress: &mut dyn FnMut(Progress)) -> Result<(IsolationReport, Planned)> {
        let report = isolate::run(self.db(), &request.column, progress)?;
        let keys = chosen(&report, request)?;
        progress(Progress::Step("writing the rebuild of each chosen key".into()));
        let conn = open::inspect(self.db())?;
        let registry = match (&report.registry, request.registry_fk) {
            (Some(r), true) => Some((r.table.clone(), r.column.clone())),
            (None, true) => return Err(Error::NotReady(Refusal::NoRegistry { path: self.db().to_path_buf() })),
            (_, false) => None,
        };
        let req = RebuildRequest { column: &report.column, keys: &keys, before: report.second_tenant.clone(), registry };
        let plan = rebuild::generate(&conn, req)?;
        Ok((report, Planned { plan, audit: None }))
    }

    /// What `isolate --fix` starts with, as [`Session::plan_to_execute`]: the last execute's
    /// outcome settled, the file checked, then the rebuild planned.
    pub fn fix_to_execute(
        &self,
        request: &FixRequest,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(PreflightReport, IsolationReport, Planned)> {
        status::ensure_settled(self.db(), progress)?;
        let pre = self.preflight(progress)?;
        let (report, planned) = self.plan_fix(request, progress)?;
        Ok((pre, report, planned))
    }
}

impl Session {
    /// Whether an ordinary table of the database already has the tenant column `column`: the
    /// isolation audit and fix have something to work on. False when the file cannot be read.
    pub fn tenant_column_in_place(&self, column: &str) -> bool {
        let Ok(conn) = open::inspect(self.db()) else { return false };
        let q = "SELECT count(*) FROM pragma_table_list AS t, pragma_table_xinfo(t.name, 'main') AS c \
                 WHERE t.schema = 'main' AND t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 AND lower(c.name) = lower(?1)";
        conn.query_row(q, [column], |r| r.get::<_, i64>(0)).is_ok_and(|n| n > 0)
    }

    /// After an isolation fix, the audit and second tenant again on the file as it is now,
    /// written with the findings of before and the keys rewritten into `isolation.md`.
    pub fn report_fix(
        &self,
        before: &IsolationReport,
        plan: &Plan,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(IsolationReport, PathBuf)> {
        let after = isolate::run(self.db(), &before.column, progress)?;
        let spec = plan.rebuild().ok_or_else(|| Error::NoUndo("the plan is not an isolation fix".into()))?;
        let written = reports::write_fix(self.db(), before, spec, plan.short_hash(), &after)?;
        Ok((after, written))
    }
}

/// The keys of `report` that `request` chooses; a table named in --only or --skip must be one
/// of the database's tables.
fn chosen(report: &IsolationReport, request: &FixRequest) -> Result<Vec<KeyChoice>> {
    for name in request.only.iter().chain(&request.skip) {
        let known = report.tenant_tables.iter().any(|t| t.eq_ignore_ascii_case(name));
        if !known {
            return Err(Error::UnknownTable { name: name.clone() });
        }
    }
    let named = |list: &[String], t: &str| list.iter().any(|n| n.eq_ignore_ascii_case(t));
    if let Some(both) = request.only.iter().find(|t| named(&request.skip, t)) {
        return Err(Error::InvalidArgument(BadArgument::OnlyAndSkip { table: both.clone() }));
    }
    let keys: Vec<KeyChoice> = match &request.keys {
        Some(keys) => keys.clone(),
        None => report
            .proposed()
            .filter_map(|f| match &f.concern {
                Concern::UniqueKey { table, index, .. } => Some(KeyChoice { table: table.clone(), index: index.clone() }),
                _ => None,
            })
            .collect(),
    };
    let keys: Vec<KeyChoice> = keys
        .into_iter()
        .filter(|k| request.only.is_empty() || named(&request.only, &k.table))
        .filter(|k| !named(&request.skip, &k.table))
        .collect();
    // A table asked for by name whose natural key is held back says why, rather than
    // "nothing to fix".
    for table in request.only.iter().filter(|t| !keys.iter().any(|k| k.table.eq_ignore_ascii_case(t))) {
        let held = report.findings.iter().find(|f| {
            !f.proposed
                && matches!(&f.concern, Concern::UniqueKey { table: t, natural: true, .. } if t.eq_ignore_ascii_case(table))
        });
        if let Some(f) = held {
            return Err(Error::NotReady(Refusal::CannotRescope {
                table: table.clone(),
                why: format!("its key {} is held back: {}", f.written, f.fix),
            }));
        }
    }
    Ok(keys)
}
