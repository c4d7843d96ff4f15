//! What the second shop's rows did to everything else: every ordinary table is watched — the
//! other shops' rows of a tenant table, and every row of a table with no tenant column, which
//! every shop shares — by SQLite's update hook while each statement runs (to name the trigger)
//! and by a digest of every value before and after each phase (for what the hook cannot see:
//! WITHOUT ROWID tables). Each view is read before and after for what it shows the first shops.

use std::collections::{BTreeMap, HashSet};

use rusqlite::Connection;
use rusqlite::hooks::Action;
use rusqlite::types::Value;
use sha2::{Digest, Sha256};

use super::super::second_tenant::Leak;
use crate::plan::lexer;
use crate::sql;

/// Rows of a view read to tell whether the second shop changed what it shows the first.
const VIEW_ROWS: usize = 200_000;

/// One ordinary table, watched.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The table.
    pub name: String,
    /// It has the tenant column: only the other shops' rows are watched.
    pub tenant: bool,
    /// The name its row id answers to, if any.
    pub rowid: Option<&'static str>,
}

/// Every ordinary table of the database (SQLite's own left out), with whether it has `column`.
pub fn tables(conn: &Connection, column: &str) -> rusqlite::Result<Vec<Watched>> {
    let mut stmt = conn.prepare(
        "SELECT l.name, l.wr, (SELECT count(*) FROM pragma_table_xinfo(l.name, 'main') WHERE lower(name) = lower(?1)) \
         FROM pragma_table_list AS l WHERE l.schema = 'main' AND l.type IN ('table', 'shadow') \
         AND l.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY l.name",
    )?;
    let found: Vec<(String, bool, i64)> =
        stmt.query_map([column], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (name, without_rowid, has) in found {
        let mut cols = conn.prepare("SELECT name FROM pragma_table_xinfo(?1, 'main')")?;
        let names: Vec<String> = cols.query_map([&name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let taken = |a: &str| names.iter().any(|c| c.eq_ignore_ascii_case(a));
        let rowid = if without_rowid { None } else { ["_rowid_", "rowid", "oid"].into_iter().find(|a| !taken(a)) };
        out.push(Watched { name, tenant: has > 0, rowid });
    }
    Ok(out)
}

/// How many rows, and a digest of every value, of what is watched of each table.
pub fn digests(
    conn: &Connection,
    watched: &[Watched],
    column: &str,
    probe: &str,
) -> rusqlite::Result<BTreeMap<String, (i64, String)>> {
    let mut out = BTreeMap::new();
    for t in watched {
        let order = t.rowid.map(|r| format!(" ORDER BY {r}")).unwrap_or_default();
        let filter = if t.tenant { format!(" WHERE {}.{} IS NOT ?1", sql::ident(&t.name), sql::ident(column)) } else { String::new() };
        let q = format!("SELECT * FROM main.{}{filter}{order}", sql::ident(&t.name));
        let mut stmt = conn.prepare(&q)?;
        let n = stmt.column_count();
        let mut sha = Sha256::new();
        let mut rows = 0i64;
        let mut cursor = if t.tenant { stmt.query([probe])? } else { stmt.query([])? };
        while let Some(r) = cursor.next()? {
            rows += 1;
            for i in 0..n {
                crate::verify::snapshot::feed(&mut sha, r.get_ref(i)?);
            }
        }
        out.insert(t.name.clone(), (rows, sha.finalize().iter().map(|b| format!("{b:02x}")).collect()));
    }
    Ok(out)
}

/// The tables whose watched rows differ between two digests, as leaks of `doing`, except
/// those `named` already (by the hook, with their trigger).
pub fn compare(
    before: &BTreeMap<String, (i64, String)>,
    after: &BTreeMap<String, (i64, String)>,
    watched: &[Watched],
    doing: &str,
    named: &[Leak],
) -> Vec<Leak> {
    let mut out = Vec::new();
    for (table, (count, digest)) in before {
        let Some((rows, now)) = after.get(table) else { continue };
        if (rows, now) == (count, digest) || named.iter().any(|l| l.detail.contains(&sql::ident(table))) {
            continue;
        }
        let what = if rows == count { "changed".to_string() } else { format!("went from {count} to {rows} rows") };
        let whose = match watched.iter().find(|w| &w.name == table) {
            Some(w) if !w.tenant => format!("the rows of {}, which has no tenant column and every shop shares,", sql::ident(table)),
            _ => format!("the other shops' rows of {}", sql::ident(table)),
        };
        out.push(Leak {
            object: format!("table {}", sql::ident(table)),
            detail: format!("{whose} {what} when {doing} (a trigger, or a foreign key's ON DELETE/UPDATE action)"),
        });
    }
    out
}

/// Where the second shop is tried: the copy, what is watched of it, the column and the probe.
pub struct Scene<'a> {
    /// The scratch copy.
    pub conn: &'a Connection,
    /// Every ordinary table.
    pub watched: &'a [Watched],
    /// The tenant column.
    pub column: &'a str,
    /// The second shop's tenant value.
    pub probe: &'a str,
}

/// What one statement did, by SQLite's update hook, to rows that are not the second shop's:
/// `own` are the rows it was meant to touch; `on` the table it ran on and its event.
pub fn judge(
    scene: &Scene<'_>,
    events: Vec<(Action, String, i64)>,
    own: &dyn Fn(&str, i64) -> bool,
    (on, event): (&str, &str),
    doing: &str,
) -> rusqlite::Result<Vec<Leak>> {
    let Scene { conn, watched, column, probe } = *scene;
    let mut out: Vec<Leak> = Vec::new();
    for (action, touched, rowid) in events {
        if own(&touched, rowid) {
            continue;
        }
        let Some(t) = watched.iter().find(|w| w.name == touched) else { continue };
        let what = if !t.tenant {
            let verb = match action {
                Action::SQLITE_INSERT => "added a row to",
                Action::SQLITE_DELETE => "deleted a row of",
                _ => "changed a row of",
            };
            format!("{verb} {}, which has no tenant column and every shop shares", sql::ident(&t.name))
        } else if action == Action::SQLITE_DELETE && event == "INSERT" && touched == on {
            format!("replaced a row of {} of another shop (an ON CONFLICT REPLACE key)", sql::ident(&t.name))
        } else if action == Action::SQLITE_DELETE {
            format!("deleted a row of {} of another shop", sql::ident(&t.name))
        } else {
            let Some(key) = t.rowid else { continue };
            let q = format!("SELECT {} FROM main.{} WHERE {key} = ?1", sql::ident(column), sql::ident(&t.name));
            match conn.query_row(&q, [rowid], |r| r.get::<_, Value>(0)).ok() {
                Some(Value::Text(o)) if o == probe => continue,
                None => continue,
                Some(o) => format!(
                    "{} a row of {} owned by {}",
                    if action == Action::SQLITE_INSERT { "added" } else { "changed" },
                    sql::ident(&t.name),
                    shown_value(&o)
                ),
            }
        };
        let triggers = triggers_on(conn, on, event)?;
        let object = if triggers.is_empty() {
            format!("table {}", sql::ident(on))
        } else {
            triggers.iter().map(|n| format!("trigger {}", sql::ident(n))).collect::<Vec<_>>().join(", ")
        };
        let detail = format!("{doing} {what}");
        if !out.iter().any(|l| l.object == object && l.detail == detail) {
            out.push(Leak { object, detail });
        }
    }
    Ok(out)
}

/// The rows of each tenant table that are the second shop's, by row id.
pub fn probe_rows(conn: &Connection, watched: &[Watched], column: &str, probe: &str) -> rusqlite::Result<HashSet<(String, i64)>> {
    let mut out = HashSet::new();
    for t in watched.iter().filter(|w| w.tenant) {
        let Some(key) = t.rowid else { continue };
        let q = format!("SELECT {key} FROM main.{0} WHERE {0}.{1} = ?1", sql::ident(&t.name), sql::ident(column));
        let mut stmt = conn.prepare(&q)?;
        for id in stmt.query_map([probe], |r| r.get::<_, i64>(0))? {
            out.insert((t.name.clone(), id?));
        }
    }
    Ok(out)
}

/// The triggers on `table` that fire on `event` (INSERT, UPDATE or DELETE), read from the
/// words of each one's CREATE statement before its ON.
fn triggers_on(conn: &Connection, table: &str, event: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND lower(tbl_name) = lower(?1) ORDER BY rowid",
    )?;
    let all: Vec<(String, String)> = stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(all
        .into_iter()
        .filter(|(_, sql)| {
            let spans = lexer::spans(sql);
            let head = spans.iter().position(|s| s.is("ON")).map_or(&spans[..], |at| &spans[..at]);
            head.iter().any(|s| s.is(event))
        })
        .map(|(name, _)| name)
        .collect())
}

fn shown_value(v: &Value) -> String {
    match v {
        Value::Text(t) => sql::literal(t),
        Value::Null => "no shop (NULL)".into(),
        other => format!("{other:?}"),
    }
}

/// Every view and what it shows of the first shops (all of it when it has no tenant column).
pub fn view_states(conn: &Connection, column: &str, probe: &str) -> rusqlite::Result<Vec<(String, Option<String>)>> {
    let mut stmt = conn.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'view' ORDER BY rowid")?;
    let views: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    views.into_iter().map(|v| Ok((v.clone(), view_state(conn, &v, column, probe)?))).collect()
}

/// A digest of what `view` shows for every shop but the probe, in sorted order; `None` when it
/// does not compile or is too big to read here.
pub fn view_state(conn: &Connection, view: &str, column: &str, probe: &str) -> rusqlite::Result<Option<String>> {
    let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM main.{}", sql::ident(view))) else { return Ok(None) };
    let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let tenant = names.iter().position(|n| n.eq_ignore_ascii_case(column));
    let mut rows: Vec<String> = Vec::new();
    let mut cursor = stmt.query([])?;
    while let Some(r) = cursor.next()? {
        let values = (0..names.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
        if tenant.is_some_and(|t| values[t] == Value::Text(probe.to_string())) {
            continue;
        }
        rows.push(format!("{values:?}"));
        if rows.len() > VIEW_ROWS {
            return Ok(None);
        }
    }
    rows.sort();
    let mut sha = Sha256::new();
    for r in rows {
        sha.update(r.as_bytes());
        sha.update([0]);
    }
    Ok(Some(sha.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}
