//! Foreign-key violations, each told by what it is — the child row, the foreign key (its
//! columns and parent, not its position in the CREATE statement) and the values that point at
//! nothing — so one the file had before is never taken for one a plan made.

use std::collections::BTreeMap;

use rusqlite::Connection;

use serde::{Deserialize, Serialize};
use crate::sql::ident;

/// One row `PRAGMA foreign_key_check` reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FkViolation {
    /// The child table.
    pub table: String,
    /// The child row (none for WITHOUT ROWID tables).
    pub rowid: Option<i64>,
    /// The parent table.
    pub parent: String,
    /// What it is: the foreign key's columns and the values in them that point at nothing, and
    /// its parent columns (`customer_id = 42 → customers(id)`), with the primary key of a
    /// WITHOUT ROWID row. None where it cannot be told (and in journals from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Which of the child's foreign keys, while the violation is read (never kept: SQLite
    /// numbers them by their place in the CREATE statement).
    #[serde(skip)]
    pub fkid: Option<i64>,
}

impl FkViolation {
    /// For people: `row 17 → customers (customer_id = 42 → customers(id))`.
    pub fn described(&self) -> String {
        let row = self.rowid.map_or_else(String::new, |r| format!("row {r} "));
        match &self.key {
            Some(k) => format!("{row}→ {} ({k})", self.parent),
            None => format!("{row}→ {}", self.parent),
        }
    }
}

/// One foreign key of a table, as `PRAGMA foreign_key_list` gives it.
struct Key {
    from: Vec<String>,
    parent: String,
    to: Vec<String>,
}

fn keys(conn: &Connection, table: &str) -> rusqlite::Result<BTreeMap<i64, Key>> {
    let mut stmt = conn.prepare("SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq")?;
    let rows: Vec<(i64, String, String, Option<String>)> =
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut out: BTreeMap<i64, Key> = BTreeMap::new();
    for (id, parent, from, to) in rows {
        let k = out.entry(id).or_insert_with(|| Key { from: Vec::new(), parent: parent.clone(), to: Vec::new() });
        k.from.push(from);
        k.to.extend(to);
    }
    for k in out.values_mut().filter(|k| k.to.is_empty()) {
        // No columns named: the parent's primary key.
        let mut pk = conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?;
        k.to = pk.query_map([&k.parent], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    }
    Ok(out)
}

fn quoted(columns: &[String], alias: &str) -> String {
    columns.iter().map(|c| format!("quote({alias}.{})", ident(c))).collect::<Vec<_>>().join(" || ',' || ")
}

/// Every violation in the database, each with its identity where it can be told.
pub fn read(conn: &Connection) -> rusqlite::Result<Vec<FkViolation>> {
    Ok(read_all(conn)?.0)
}

/// A table SQLite cannot check the foreign keys of, with its message.
pub type Unchecked = (String, String);

/// [`read`], and the tables SQLite cannot check: a foreign key whose parent columns are not
/// unique ("foreign key mismatch") stops `foreign_key_check` for that table — the shop's
/// application, with foreign keys off, never noticed. Each with SQLite's message.
pub fn read_all(conn: &Connection) -> rusqlite::Result<(Vec<FkViolation>, Vec<Unchecked>)> {
    let mut names = conn.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'table' ORDER BY name")?;
    let names: Vec<String> = names.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut raw: Vec<Raw> = Vec::new();
    let mut unchecked = Vec::new();
    let mut stmt = conn.prepare("SELECT \"table\", rowid, parent, fkid FROM pragma_foreign_key_check(?1)")?;
    for name in names {
        let rows = stmt
            .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        match rows {
            Ok(rows) => raw.extend(rows),
            Err(e) if e.to_string().contains("foreign key mismatch") => unchecked.push((name, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    Ok((identified(conn, raw)?, unchecked))
}

/// One row of `foreign_key_check`: child table, row id, parent table, foreign key id.
type Raw = (String, Option<i64>, String, i64);

/// The violations `foreign_key_check` reported, each with its identity where it can be told.
fn identified(conn: &Connection, raw: Vec<Raw>) -> rusqlite::Result<Vec<FkViolation>> {
    let mut tables: BTreeMap<String, BTreeMap<i64, Key>> = BTreeMap::new();
    let mut unrowed: BTreeMap<(String, i64), usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (table, rowid, parent, fkid) in raw {
        if !tables.contains_key(&table) {
            tables.insert(table.clone(), keys(conn, &table)?);
        }
        let key = tables.get(&table).and_then(|k| k.get(&fkid));
        let identity = match (key, rowid) {
            (Some(k), Some(rowid)) => {
                let sql = format!("SELECT {} FROM main.{} AS c WHERE c.rowid = ?1", quoted(&k.from, "c"), ident(&table));
                let values: Option<String> = conn.query_row(&sql, [rowid], |r| r.get(0)).ok();
                values.map(|v| format!("{} = {v} → {}({})", k.from.join(", "), k.parent, k.to.join(", ")))
            }
            _ => {
                *unrowed.entry((table.clone(), fkid)).or_insert(0) += 1;
                None
            }
        };
        out.push(FkViolation { table, rowid, parent, key: identity, fkid: Some(fkid) });
    }
    // WITHOUT ROWID rows have no row id in foreign_key_check: found again by their primary key,
    // trusted only where as many are found as SQLite counted.
    for ((table, fkid), count) in unrowed {
        let Some(k) = tables.get(&table).and_then(|k| k.get(&fkid)) else { continue };
        let found = orphans_by_key(conn, &table, k).unwrap_or_default();
        if found.len() != count {
            continue;
        }
        let mut found = found.into_iter();
        for v in out.iter_mut().filter(|v| v.table == table && v.rowid.is_none() && v.fkid == Some(fkid)) {
            v.key = found.next();
        }
    }
    for v in &mut out {
        v.fkid = None;
    }
    out.sort();
    Ok(out)
}

/// The rows of a WITHOUT ROWID `table` whose foreign key `k` points at no parent row, each as
/// its identity.
fn orphans_by_key(conn: &Connection, table: &str, k: &Key) -> rusqlite::Result<Vec<String>> {
    let mut pk = conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?;
    let pk: Vec<String> = pk.query_map([table], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let not_null = k.from.iter().map(|c| format!("c.{} IS NOT NULL", ident(c))).collect::<Vec<_>>().join(" AND ");
    let joined = k.from.iter().zip(&k.to).map(|(f, t)| format!("p.{} = c.{}", ident(t), ident(f))).collect::<Vec<_>>().join(" AND ");
    let sql = format!(
        "SELECT {} || ' (row ' || {} || ')' FROM main.{} AS c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM main.{} AS p WHERE {joined}) ORDER BY 1",
        quoted(&k.from, "c"),
        quoted(&pk, "c"),
        ident(table),
        ident(&k.parent)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows.into_iter().map(|v| format!("{} = {v} → {}({})", k.from.join(", "), k.parent, k.to.join(", "))).collect())
}

/// The violations of `now` that were not in `before`, each old one answering for one now.
/// Identities are compared where both sides have one; a journal from before they were kept
/// is compared by row and parent.
pub fn new_since(before: &[FkViolation], now: &[FkViolation]) -> (Vec<FkViolation>, Vec<FkViolation>) {
    let mut exact: BTreeMap<(String, Option<i64>, String, String), usize> = BTreeMap::new();
    let mut loose: Vec<&FkViolation> = Vec::new();
    for b in before {
        match &b.key {
            Some(k) => *exact.entry((b.table.clone(), b.rowid, b.parent.clone(), k.clone())).or_insert(0) += 1,
            None => loose.push(b),
        }
    }
    let (mut new, mut old) = (Vec::new(), Vec::new());
    for v in now {
        let hit = v.key.as_ref().and_then(|k| exact.get_mut(&(v.table.clone(), v.rowid, v.parent.clone(), k.clone())));
        match hit {
            Some(n) if *n > 0 => {
                *n -= 1;
                old.push(v.clone());
            }
            _ => match loose.iter().position(|b| b.rowid.is_some() && b.table == v.table && b.rowid == v.rowid && b.parent == v.parent) {
                Some(i) => {
                    loose.swap_remove(i);
                    old.push(v.clone());
                }
                None => new.push(v.clone()),
            },
        }
    }
    (new, old)
}
