//! Views and triggers that read or write tenant tables without their tenant column. What each
//! one touches is asked of SQLite itself: statements that expand the view or fire the trigger
//! are prepared (never run) under an authorizer that records every table and column they reach.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::{Concern, IsolationFinding};
use crate::audit::AuditReport;
use crate::plan::lexer;
use crate::sql;

/// One access SQLite reported: by which view or trigger, to which table, and which column.
#[derive(Debug, Clone)]
struct Access {
    by: Option<String>,
    table: String,
    column: Option<String>,
}

/// Every view and trigger that touches tenant tables without their tenant column.
pub fn findings(
    conn: &mut Connection,
    audit: &AuditReport,
    tenant_tables: &[String],
) -> rusqlite::Result<Vec<IsolationFinding>> {
    let column = audit.column.as_str();
    let is_tenant = |t: &str| tenant_tables.iter().any(|n| n.eq_ignore_ascii_case(t));
    let mut out = Vec::new();
    for v in &audit.views {
        let seen = accesses(conn, &[format!("SELECT * FROM main.{}", sql::ident(&v.name))]);
        let blind = blind_tables(&seen, None, column, &is_tenant, mentions(&v.sql, column));
        if !blind.is_empty() {
            out.push(IsolationFinding {
                concern: Concern::View { view: v.name.clone(), tables: blind.clone() },
                written: format!("view {}", sql::ident(&v.name)),
                why: format!("it reads {} without {column}, so it shows every shop's rows together", names(&blind)),
                fix: format!("filter or group it by {column} (by hand: views are reported, not rebuilt)"),
                proposed: false,
            });
        }
    }
    for trg in &audit.triggers {
        let firing = firing_statements(conn, &trg.table)?;
        let seen = accesses(conn, &firing);
        let blind = blind_tables(&seen, Some(&trg.name), column, &is_tenant, mentions(&trg.sql, column));
        if !blind.is_empty() {
            out.push(IsolationFinding {
                concern: Concern::Trigger { trigger: trg.name.clone(), on: trg.table.clone(), tables: blind.clone() },
                written: format!("trigger {} on {}", sql::ident(&trg.name), sql::ident(&trg.table)),
                why: format!(
                    "it reads or writes {} without {column}: its rows take the column's default tenant, or reach across shops",
                    names(&blind)
                ),
                fix: format!("carry NEW.{column} into what it writes and match on it (by hand: triggers are reported, not rebuilt)"),
                proposed: false,
            });
        }
    }
    Ok(out)
}

/// The tenant tables `seen` touched (by `by`, when given) whose tenant column was never
/// touched — none when the object's own text names the column.
fn blind_tables(
    seen: &[Access],
    by: Option<&str>,
    column: &str,
    is_tenant: &dyn Fn(&str) -> bool,
    named: bool,
) -> Vec<String> {
    if named {
        return Vec::new();
    }
    let mine = |a: &&Access| by.is_none_or(|b| a.by.as_deref() == Some(b));
    let touched: BTreeSet<&str> = seen.iter().filter(mine).map(|a| a.table.as_str()).filter(|t| is_tenant(t)).collect();
    touched
        .into_iter()
        .filter(|t| {
            !seen.iter().filter(mine).any(|a| {
                a.table.eq_ignore_ascii_case(t) && a.column.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(column))
            })
        })
        .map(str::to_string)
        .collect()
}

/// Statements that fire every trigger on `table`: an insert, an update of every ordinary
/// column, a delete. They are only prepared.
fn firing_statements(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE hidden = 0 ORDER BY cid")?;
    let columns: Vec<String> = stmt.query_map([table], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let t = sql::ident(table);
    let set = columns.iter().map(|c| format!("{0} = {0}", sql::ident(c))).collect::<Vec<_>>().join(", ");
    let mut out = vec![format!("INSERT INTO main.{t} DEFAULT VALUES"), format!("DELETE FROM main.{t}")];
    if !set.is_empty() {
        out.push(format!("UPDATE main.{t} SET {set}"));
    }
    Ok(out)
}

/// What preparing `statements` makes SQLite reach. A statement that does not prepare (an
/// update of a view with no INSTEAD OF trigger) reaches nothing.
fn accesses(conn: &mut Connection, statements: &[String]) -> Vec<Access> {
    let seen: Arc<Mutex<Vec<Access>>> = Arc::default();
    let into = Arc::clone(&seen);
    let record = move |ctx: AuthContext<'_>| {
        let by = ctx.accessor.map(str::to_string);
        let access = match ctx.action {
            AuthAction::Read { table_name, column_name } | AuthAction::Update { table_name, column_name } => {
                Some((table_name, Some(column_name)))
            }
            AuthAction::Insert { table_name } | AuthAction::Delete { table_name } => Some((table_name, None)),
            _ => None,
        };
        if let (Some((table, column)), Ok(mut s)) = (access, into.lock()) {
            s.push(Access { by, table: table.to_string(), column: column.map(str::to_string) });
        }
        Authorization::Allow
    };
    if conn.authorizer(Some(record)).is_err() {
        return Vec::new();
    }
    for s in statements {
        let _ = conn.prepare(s);
    }
    let _ = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    seen.lock().map(|s| s.clone()).unwrap_or_default()
}

/// Whether an object's SQL names the column, bare or quoted.
fn mentions(sql_text: &str, column: &str) -> bool {
    let upper = column.to_ascii_uppercase();
    if lexer::words(sql_text).iter().any(|w| w.text == upper) {
        return true;
    }
    let lower = sql_text.to_lowercase();
    let c = column.to_lowercase();
    [format!("\"{c}\""), format!("[{c}]"), format!("`{c}`")].iter().any(|q| lower.contains(q.as_str()))
}

fn names(tables: &[String]) -> String {
    tables.iter().map(|t| sql::ident(t)).collect::<Vec<_>>().join(", ")
}
