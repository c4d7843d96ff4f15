//! Isolation audit: once the tenant column is in place, what still ignores it.
//!
//! Three kinds of findings:
//! - a PRIMARY KEY, UNIQUE constraint or unique index without the tenant column, where one
//!   shop's value blocks every other shop;
//! - a foreign key whose parent key leaves the tenant column out, so a row of one shop can
//!   point at another shop's row;
//! - a view or trigger that reads or writes tenant tables without ever touching the tenant
//!   column, so it mixes every shop's rows.
//!
//! Each finding has why it matters and a proposed fix. Natural keys are proposed for
//! per-tenant scoping: text columns, and every unique constraint that is not just an integer
//! primary key. Surrogate integer keys are not. Views and triggers are reported, never
//! rebuilt. Read-only: SQLite's own pragmas describe the tables, and SQLite's authorizer says
//! what each view and trigger reads and writes.

mod keys;
pub mod probe;
mod readers;
pub mod second_tenant;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit::{self, AuditOptions, AuditReport, TableKind};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::refusal::Refusal;

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Concern {
    /// A PRIMARY KEY, UNIQUE constraint or unique index without the tenant column.
    UniqueKey {
        /// The table.
        table: String,
        /// The index that enforces it.
        index: String,
        /// Its columns.
        columns: Vec<String>,
        /// A natural key (proposed for per-tenant scoping), not a surrogate integer key.
        natural: bool,
    },
    /// A foreign key whose parent key leaves the tenant column out.
    ForeignKey {
        /// The child table.
        table: String,
        /// The child's columns.
        columns: Vec<String>,
        /// The parent table.
        parent: String,
        /// The parent's key columns (as declared; empty means its primary key).
        parent_columns: Vec<String>,
    },
    /// A view reading tenant tables without their tenant column.
    View {
        /// The view.
        view: String,
        /// The tenant tables it reads.
        tables: Vec<String>,
    },
    /// A trigger reading or writing tenant tables without their tenant column.
    Trigger {
        /// The trigger.
        trigger: String,
        /// The table it fires on.
        on: String,
        /// The tenant tables it reads or writes.
        tables: Vec<String>,
    },
}

/// One thing that still ignores the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IsolationFinding {
    /// What it is about.
    #[serde(flatten)]
    pub concern: Concern,
    /// The constraint or object as written: `UNIQUE (sku)`, `view sales_report`.
    pub written: String,
    /// Why it matters once a second shop's rows arrive.
    pub why: String,
    /// The fix cutover proposes.
    pub fix: String,
    /// Proposed for the rebuild (natural keys); the rest is reported for a person to decide.
    pub proposed: bool,
}

/// The isolation audit of one database.
#[derive(Debug, Clone, Serialize)]
pub struct IsolationReport {
    /// The database.
    #[serde(with = "crate::ospath")]
    pub database: PathBuf,
    /// The tenant column.
    pub column: String,
    /// The tables that have it.
    pub tenant_tables: Vec<String>,
    /// What still ignores it.
    pub findings: Vec<IsolationFinding>,
    /// What a second tenant met on a scratch copy.
    pub second_tenant: Option<second_tenant::SecondTenant>,
    /// The tenant registry, when the database has one.
    pub registry: Option<crate::audit::Registry>,
}

impl IsolationReport {
    /// Findings proposed for per-tenant scoping.
    pub fn proposed(&self) -> impl Iterator<Item = &IsolationFinding> {
        self.findings.iter().filter(|f| f.proposed)
    }

    /// Whether anything is left that needs a fix or a person's look (a surrogate key alone
    /// needs neither).
    /// A second tenant that did not fit, or was mixed with the first, is not clean either,
    /// whatever the schema reads like.
    pub fn clean(&self) -> bool {
        self.findings.iter().all(|f| matches!(f.concern, Concern::UniqueKey { natural: false, .. }))
            && self.second_tenant.as_ref().is_none_or(|s| s.fits())
    }

    /// One line: how many of each kind.
    pub fn summary(&self) -> String {
        let count = |f: &dyn Fn(&Concern) -> bool| self.findings.iter().filter(|x| f(&x.concern)).count();
        let natural = count(&|c| matches!(c, Concern::UniqueKey { natural: true, .. }));
        let surrogate = count(&|c| matches!(c, Concern::UniqueKey { natural: false, .. }));
        let fks = count(&|c| matches!(c, Concern::ForeignKey { .. }));
        let views = count(&|c| matches!(c, Concern::View { .. }));
        let triggers = count(&|c| matches!(c, Concern::Trigger { .. }));
        let parts: Vec<String> = [
            (natural, "natural key", " (proposed for per-tenant scoping)"),
            (fks, "foreign key", ""),
            (views, "view", ""),
            (triggers, "trigger", ""),
        ]
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, what, note)| format!("{n} {what}{}{note}", plural(*n)))
        .collect();
        let mut s = if parts.is_empty() {
            format!(
                "no unique key, foreign key, view or trigger of the {} tenant tables reads as ignoring {}",
                self.tenant_tables.len(),
                self.column
            )
        } else {
            let one = natural + fks + views + triggers == 1;
            format!("{} {} {}", parts.join(", "), if one { "ignores" } else { "ignore" }, self.column)
        };
        if surrogate > 0 {
            s.push_str(&format!("; {surrogate} surrogate integer key{} listed, none proposed", plural(surrogate)));
        }
        if let Some(t) = &self.second_tenant {
            let verdict = match (t.tried, t.fits()) {
                (0, _) => "proves nothing",
                (_, true) => "fits everywhere",
                (_, false) => "does not fit everywhere",
            };
            s.push_str(&format!("; a second tenant tried on a copy {verdict}: {}", t.short()));
        }
        s
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Audits `db` for what ignores the tenant column `column`. Refused when no table has it yet.
pub fn run(db: &Path, column: &str, progress: &mut dyn FnMut(Progress)) -> Result<IsolationReport> {
    let options = AuditOptions { column: column.to_string(), tenant: None, exclude: Vec::new() };
    let audit = audit::run(db, &options, progress)?;
    let tenant_tables: Vec<String> = tenant_tables(&audit);
    if tenant_tables.is_empty() {
        return Err(Error::NotReady(Refusal::NoTenantColumn { path: db.to_path_buf(), column: column.to_string() }));
    }
    progress(Progress::Step("reading what each view and trigger touches".into()));
    let mut conn = crate::open::inspect(db)?;
    let indexes: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM main.sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(|e| Error::sqlite("reading the indexes", e))?;
    let index_sql = |name: &str| indexes.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone());
    let mut findings = keys::findings(&audit, &tenant_tables, &index_sql);
    findings.extend(readers::findings(&mut conn, &audit, &tenant_tables).map_err(|e| Error::sqlite("reading the views and triggers", e))?);
    drop(conn);
    progress(Progress::Step("trying a second tenant on a scratch copy".into()));
    let second_tenant = Some(probe::rehearse(db, &audit.column, &tenant_tables)?);
    let registry = audit.registry.clone();
    Ok(IsolationReport { database: db.to_path_buf(), column: audit.column.clone(), tenant_tables, findings, second_tenant, registry })
}

/// The ordinary tables that have the tenant column.
fn tenant_tables(audit: &AuditReport) -> Vec<String> {
    audit
        .tables
        .iter()
        .filter(|t| matches!(t.kind, TableKind::Ordinary | TableKind::WithoutRowid | TableKind::Strict))
        .filter(|t| t.tenant_column.is_some())
        .map(|t| t.name.clone())
        .collect()
}
