//! Views and triggers that read or write tenant tables without their tenant column. What each
//! one touches is asked of SQLite itself: statements that expand the view or fire the trigger
//! are prepared (never run) under an authorizer that records every table and column they reach.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::{Concern, IsolationFinding};
use crate::audit::AuditReport;
use crate::plan::lexer::{self, Token};
use crate::sql;

/// One access SQLite reported: by which view or trigger, to which table, and which column.
#[derive(Debug, Clone)]
struct Access {
    by: Option<String>,
    table: String,
    column: Option<String>,
    deletes: bool,
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
        let (seen, failed) = accesses(conn, &[format!("SELECT * FROM main.{}", sql::ident(&v.name))]);
        let mut blind = unread(&seen, None, column, &is_tenant);
        // A view that does not hand the tenant on mixes every shop's rows, whatever it reads.
        let hands_on = output_columns(conn, &v.name)?.iter().any(|c| c.eq_ignore_ascii_case(column));
        if !hands_on {
            blind = touched(&seen, None, &is_tenant);
        }
        let why = if let Some(e) = failed.first() {
            Some(format!("it does not compile here ({e}), so what it reads cannot be told; have it looked at"))
        } else if !blind.is_empty() && hands_on {
            Some(format!("it reads {} without matching on {column}, so it can join one shop's rows to another's", names(&blind)))
        } else if !blind.is_empty() {
            Some(format!("it reads {} and does not show {column}, so it mixes every shop's rows", names(&blind)))
        } else {
            None
        };
        if let Some(why) = why {
            out.push(IsolationFinding {
                concern: Concern::View { view: v.name.clone(), tables: blind },
                written: format!("view {}", sql::ident(&v.name)),
                why,
                fix: format!("show {column} and match on it (by hand: views are reported, not rebuilt)"),
                proposed: false,
            });
        }
    }
    for trg in &audit.triggers {
        let firing = firing_statements(conn, &trg.table)?;
        let (seen, _) = accesses(conn, &firing);
        let mut blind = unread(&seen, Some(&trg.name), column, &is_tenant);
        for target in inserts_without(&trg.sql, column) {
            if is_tenant(&target) && !blind.iter().any(|b| b.eq_ignore_ascii_case(&target)) {
                blind.push(target);
            }
        }
        blind.sort();
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

/// The tenant tables reached (by `by`, when given).
fn touched(seen: &[Access], by: Option<&str>, is_tenant: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mine = |a: &&Access| by.is_none_or(|b| a.by.as_deref() == Some(b));
    let set: BTreeSet<&str> = seen.iter().filter(mine).map(|a| a.table.as_str()).filter(|t| is_tenant(t)).collect();
    set.into_iter().map(str::to_string).collect()
}

/// The tenant tables read, updated or deleted from (by `by`) whose tenant column was never
/// read or set. Tables only inserted into are judged by the INSERT's own column list.
fn unread(seen: &[Access], by: Option<&str>, column: &str, is_tenant: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mine = |a: &&Access| by.is_none_or(|b| a.by.as_deref() == Some(b));
    let looked_at: BTreeSet<&str> = seen
        .iter()
        .filter(mine)
        .filter(|a| a.column.is_some() || a.deletes)
        .map(|a| a.table.as_str())
        .filter(|t| is_tenant(t))
        .collect();
    looked_at
        .into_iter()
        .filter(|t| {
            !seen.iter().filter(mine).any(|a| {
                a.table.eq_ignore_ascii_case(t) && a.column.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(column))
            })
        })
        .map(str::to_string)
        .collect()
}

/// The tables the statements of `sql` insert into with a column list that leaves `column`
/// out (those rows take its default). An INSERT without a column list names every column.
fn inserts_without(sql_text: &str, column: &str) -> Vec<String> {
    let tokens = lexer::tokens(sql_text);
    let word = |t: Option<&Token>, w: &str| matches!(t, Some(Token::Name(n)) if n.eq_ignore_ascii_case(w));
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !(word(tokens.get(i), "INSERT") || word(tokens.get(i), "REPLACE")) {
            i += 1;
            continue;
        }
        let Some(into) = (i..tokens.len()).find(|&k| word(tokens.get(k), "INTO")) else { break };
        let mut k = into + 1;
        let mut target = match tokens.get(k) {
            Some(Token::Name(n)) => n.clone(),
            _ => break,
        };
        if tokens.get(k + 1) == Some(&Token::Mark('.'))
            && let Some(Token::Name(n)) = tokens.get(k + 2)
        {
            target = n.clone();
            k += 2;
        }
        k += 1;
        if word(tokens.get(k), "AS") {
            k += 2;
        }
        if tokens.get(k) == Some(&Token::Mark('(')) {
            let end = (k..tokens.len()).find(|&e| tokens[e] == Token::Mark(')')).unwrap_or(tokens.len());
            let named = tokens[k..end].iter().any(|t| matches!(t, Token::Name(n) if n.eq_ignore_ascii_case(column)));
            if !named {
                out.push(target);
            }
            k = end;
        }
        i = k.max(i + 1);
    }
    out
}

/// The columns a view hands on.
fn output_columns(conn: &Connection, view: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1, 'main')")?;
    let names = stmt.query_map([view], |r| r.get(0))?.collect::<rusqlite::Result<_>>();
    Ok(names.unwrap_or_default())
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

/// What preparing `statements` makes SQLite reach, and SQLite's message for each that does not
/// prepare (an update of a view with no INSTEAD OF trigger reaches nothing).
fn accesses(conn: &mut Connection, statements: &[String]) -> (Vec<Access>, Vec<String>) {
    let seen: Arc<Mutex<Vec<Access>>> = Arc::default();
    let into = Arc::clone(&seen);
    let record = move |ctx: AuthContext<'_>| {
        let by = ctx.accessor.map(str::to_string);
        let access = match ctx.action {
            AuthAction::Read { table_name, column_name } | AuthAction::Update { table_name, column_name } => {
                Some((table_name, Some(column_name), false))
            }
            AuthAction::Insert { table_name } => Some((table_name, None, false)),
            AuthAction::Delete { table_name } => Some((table_name, None, true)),
            _ => None,
        };
        if let (Some((table, column, deletes)), Ok(mut s)) = (access, into.lock()) {
            s.push(Access { by, table: table.to_string(), column: column.map(str::to_string), deletes });
        }
        Authorization::Allow
    };
    if let Err(e) = conn.authorizer(Some(record)) {
        return (Vec::new(), vec![e.to_string()]);
    }
    let failed: Vec<String> = statements.iter().filter_map(|s| conn.prepare(s).err().map(|e| e.to_string())).collect();
    let _ = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    (seen.lock().map(|s| s.clone()).unwrap_or_default(), failed)
}

fn names(tables: &[String]) -> String {
    tables.iter().map(|t| sql::ident(t)).collect::<Vec<_>>().join(", ")
}
