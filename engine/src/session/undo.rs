//! Undo in place: the last execute's inverse, run through the whole pipeline like any plan — a
//! backup of the file as it is now, a rehearsal on a copy with every check, the execute with
//! proof by identical outcome, the verification — so it is journalled, reported and can itself
//! be rolled back like any execute.

use rusqlite::Connection;

use super::{Planned, Session};
use crate::error::{Error, Result};
use crate::preflight::PreflightReport;
use crate::plan::undo::{self, UndoSpec};
use crate::progress::Progress;
use crate::refusal::Refusal;
use crate::shown::shown;
use crate::{open, sql, status};

impl Session {
    /// The inverse of the execute the database carries, checked against the file: refused when
    /// there is none (a script, an undo, no execute) or when dropping the column would lose
    /// rows of another tenant. Changes nothing.
    pub fn plan_undo(&self, progress: &mut dyn FnMut(Progress)) -> Result<Planned> {
        self.check_app()?;
        status::ensure_settled(self.db(), progress)?;
        let standing = self.standing()?;
        let Some(x) = standing.live_execute().filter(|x| x.committed) else {
            return Err(Error::NothingToRollBack(format!(
                "the journal records no execute of {} that is still in the database: there is nothing to undo",
                shown(self.db())
            )));
        };
        let Some(rehearsal) = standing.rehearsal_for(x) else {
            return Err(Error::NoUndo(format!(
                "the journal holds no rehearsal of the plan {} ran, so its inverse cannot be built and checked: restore the backup instead (`cutover rollback`)",
                shown(self.db())
            )));
        };
        if let Some(why) = undo::no_inverse(&rehearsal.plan) {
            return Err(Error::NoUndo(format!("{why} (`cutover rollback`)")));
        }
        let plan = undo::inverse(&rehearsal.plan, &rehearsal.before)
            .ok_or_else(|| Error::NoUndo("the last plan has no inverse: restore the backup instead".into()))?;
        if let Some(spec) = plan.undo() {
            progress(Progress::Step("checking that every row still carries the plan's tenant".into()));
            let conn = open::inspect(self.db())?;
            let gone = missing(&conn, spec).map_err(|e| Error::sqlite("reading the columns", e))?;
            if !gone.is_empty() {
                return Err(Error::NoUndo(format!(
                    "the column the cutover added is no longer on {} of {}, so the file is not what the execute left (was it restored by hand?): there is nothing to undo there — `cutover verify` says where it stands",
                    gone.join(", "),
                    shown(self.db())
                )));
            }
            let tables = other_tenants(&conn, spec).map_err(|e| Error::sqlite("counting rows of other tenants", e))?;
            if !tables.is_empty() {
                return Err(Error::NotReady(Refusal::UndoLosesTenants { tenant: spec.tenant.clone(), tables }));
            }
            if let Some(records) = &plan.records
                && let Some(why) = crate::ledger::plan::later_than(&conn, records).map_err(|e| Error::sqlite("reading the ledger", e))?
            {
                return Err(Error::NoUndo(why));
            }
        }
        Ok(Planned { plan, audit: None })
    }

    /// What `rollback --undo` starts with, as [`Session::plan_to_execute`] for a plan: the
    /// file checked, then the inverse planned. [`Session::run`] takes it from there.
    pub fn undo_to_execute(&self, progress: &mut dyn FnMut(Progress)) -> Result<(PreflightReport, Planned)> {
        let pre = self.preflight(progress)?;
        let planned = self.plan_undo(progress)?;
        Ok((pre, planned))
    }
}

/// The tables the undo would drop the column from that no longer have it.
fn missing(conn: &Connection, spec: &UndoSpec) -> rusqlite::Result<Vec<String>> {
    let mut gone = Vec::new();
    for (table, column) in spec.dropped() {
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM pragma_table_xinfo(?1, 'main') WHERE lower(name) = lower(?2)",
            [&table, &column],
            |r| r.get(0),
        )?;
        if n == 0 {
            gone.push(sql::ident(&table));
        }
    }
    Ok(gone)
}

/// Tables with rows whose tenant column holds anything but the plan's value. The column is
/// qualified by its table, so SQLite never reads a missing one as the string "tenant_id".
fn other_tenants(conn: &Connection, spec: &UndoSpec) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut found = Vec::new();
    for (table, column) in spec.dropped() {
        let t = sql::ident(&table);
        let q = format!(
            "SELECT count(*) FROM main.{t} WHERE {t}.{} IS NOT {}",
            sql::ident(&column),
            sql::literal(&spec.tenant)
        );
        let n: i64 = conn.query_row(&q, [], |r| r.get(0))?;
        if n > 0 {
            found.push((table, n as u64));
        }
    }
    Ok(found)
}
