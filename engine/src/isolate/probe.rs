//! The second-tenant rehearsal: on a scratch copy (never the database itself), a few rows of
//! every tenant table are copied as a second shop — a probe tenant value no table holds —
//! and what SQLite says is recorded: which constraint blocked which insert, and which trigger
//! or view mixed the second shop's rows with the first's. INTEGER PRIMARY KEY columns take
//! new values, and foreign keys to them follow the copied parents. The copy is rolled back
//! and deleted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::hooks::Action;
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use sha2::{Digest, Sha256};

pub use super::second_tenant::{Blocked, Leak, SecondTenant};
use crate::audit::schema;
use crate::error::{Error, Result};
use crate::shown::shown;
use crate::{open, paths, sql};

/// Rows tried per table (more follow when a copied row needs its parents).
const SAMPLE: usize = 3;
/// How deep a row's parents are followed.
const DEPTH: usize = 8;
/// Rows of a view read to tell whether the second shop changed what it shows the first.
const VIEW_ROWS: usize = 200_000;

/// Tries a second tenant on a scratch copy of `db`, for the tenant tables `tables`.
pub fn rehearse(db: &Path, column: &str, tables: &[String]) -> Result<SecondTenant> {
    let dir = paths::parent_dir(db);
    let scratch = paths::Scratch::Probe
        .create(db, &dir)
        .map_err(|e| Error::writing(&dir, format!("creating a scratch copy in {}", shown(&dir)), e))?;
    {
        let source = open::inspect(db)?;
        let mut copy = Connection::open(scratch.path()).map_err(|e| Error::sqlite("opening the scratch copy", e))?;
        let backup = rusqlite::backup::Backup::new(&source, &mut copy).map_err(|e| Error::sqlite("copying to the scratch copy", e))?;
        backup
            .run_to_completion(1024, std::time::Duration::ZERO, None)
            .map_err(|e| Error::sqlite("copying to the scratch copy", e))?;
    }
    let mut conn = Connection::open(scratch.path()).map_err(|e| Error::sqlite("opening the scratch copy", e))?;
    let setup = "PRAGMA journal_mode = MEMORY; PRAGMA foreign_keys = ON; BEGIN;";
    conn.execute_batch(setup).map_err(|e| Error::sqlite("preparing the scratch copy", e))?;
    let found = Probe::new(&mut conn, column, tables).and_then(|mut p| p.run());
    let _ = conn.execute_batch("ROLLBACK");
    drop(conn);
    drop(scratch);
    found.map_err(|e| Error::sqlite("trying a second tenant on a scratch copy", e))
}

/// A tenant table as the probe copies it.
struct Table {
    name: String,
    /// Stored columns (generated ones compute themselves).
    columns: Vec<String>,
    /// The INTEGER PRIMARY KEY column, which takes a new value.
    alias: Option<usize>,
    /// (column position, parent table) of each single-column foreign key to a parent's
    /// INTEGER PRIMARY KEY: it follows the copied parent.
    parents: Vec<(usize, String)>,
    without_rowid: bool,
}

struct Probe<'c> {
    conn: &'c mut Connection,
    column: String,
    probe: String,
    tables: Vec<Table>,
    /// (table, old row id) → new row id.
    copied: HashMap<(String, i64), i64>,
    failed: HashSet<(String, i64)>,
    blocked: BTreeMap<(String, String), u64>,
    tried: u64,
    tried_in: BTreeMap<String, u64>,
    done: u64,
    borrowed: u64,
    leaks: Vec<Leak>,
    events: Arc<Mutex<Vec<(Action, String, i64)>>>,
}

impl<'c> Probe<'c> {
    fn new(conn: &'c mut Connection, column: &str, names: &[String]) -> rusqlite::Result<Probe<'c>> {
        let mut tables = Vec::new();
        for name in names {
            let cols = schema::columns(conn, name)?;
            let stored: Vec<&schema::Column> = cols.iter().filter(|c| !c.generated && !c.hidden).collect();
            let without_rowid = schema::list_entry(conn, name)?.is_some_and(|e| e.without_rowid);
            let alias = if without_rowid { None } else { alias_of(conn, name, &cols)? };
            let alias = alias.and_then(|a| stored.iter().position(|c| c.name == a));
            let mut parents = Vec::new();
            for fk in schema::foreign_keys(conn, name)? {
                let [from] = fk.from.as_slice() else { continue };
                let Some(at) = stored.iter().position(|c| c.name.eq_ignore_ascii_case(from)) else { continue };
                let Some(parent) = names.iter().find(|n| n.eq_ignore_ascii_case(&fk.table)) else { continue };
                let parent_cols = schema::columns(conn, parent)?;
                let Some(parent_alias) = alias_of(conn, parent, &parent_cols)? else { continue };
                if fk.to.is_empty() || fk.to.iter().all(|t| t.eq_ignore_ascii_case(&parent_alias)) {
                    parents.push((at, parent.clone()));
                }
            }
            tables.push(Table { name: name.clone(), columns: stored.iter().map(|c| c.name.clone()).collect(), alias, parents, without_rowid });
        }
        let probe = free_probe(conn, column, names)?;
        Ok(Probe {
            conn,
            column: column.to_string(),
            probe,
            tables,
            copied: HashMap::new(),
            failed: HashSet::new(),
            blocked: BTreeMap::new(),
            tried: 0,
            tried_in: BTreeMap::new(),
            done: 0,
            borrowed: 0,
            leaks: Vec::new(),
            events: Arc::new(Mutex::new(Vec::new())),
        })
    }

    fn run(&mut self) -> rusqlite::Result<SecondTenant> {
        let views = view_states(self.conn, &self.column, &self.probe)?;
        let others_before = self.others()?;
        let events = self.events.clone();
        self.conn.update_hook(Some(move |action, _db: &str, table: &str, rowid| {
            if let Ok(mut e) = events.lock() {
                e.push((action, table.to_string(), rowid));
            }
        }))?;
        for t in 0..self.tables.len() {
            let name = self.tables[t].name.clone();
            let order = if self.tables[t].without_rowid { "" } else { " ORDER BY _rowid_" };
            // The first shops' rows only: a parent copied on demand is already the second shop's.
            let q = format!(
                "SELECT {} FROM main.{1} WHERE {1}.{2} IS NOT {3}{order} LIMIT {SAMPLE}",
                self.select(t),
                sql::ident(&name),
                sql::ident(&self.column),
                sql::literal(&self.probe)
            );
            let rows = self.read(&q, t)?;
            for (rowid, values) in rows {
                self.copy(t, rowid, values, 0)?;
            }
        }
        self.conn.update_hook(None::<fn(Action, &str, &str, i64)>)?;
        let others_after = self.others()?;
        for (table, (count, digest)) in &others_before {
            let Some((after, now)) = others_after.get(table) else { continue };
            let named = self.leaks.iter().any(|l| l.detail.contains(&sql::ident(table)));
            if (after, now) != (count, digest) && !named {
                let what = if after == count {
                    "changed".to_string()
                } else {
                    format!("went from {count} to {after} rows")
                };
                self.leaks.push(Leak {
                    object: format!("table {}", sql::ident(table)),
                    detail: format!(
                        "the rows of other shops in {} {what} while only the second shop's rows were added (a trigger?)",
                        sql::ident(table)
                    ),
                });
            }
        }
        for (view, state) in views {
            let now = view_state(self.conn, &view, &self.column, &self.probe)?;
            if let (Some(was), Some(now)) = (state, now)
                && was != now
            {
                self.leaks.push(Leak {
                    object: format!("view {}", sql::ident(&view)),
                    detail: "what it shows for the first shop changed when the second shop's rows arrived: it mixes the shops".into(),
                });
            }
        }
        Ok(SecondTenant {
            probe: self.probe.clone(),
            tables: self.tables.len(),
            tried: self.tried,
            copied: self.done,
            blocked: self.blocked.iter().map(|((table, by), rows)| Blocked { table: table.clone(), by: by.clone(), rows: *rows }).collect(),
            borrowed: self.borrowed,
            leaks: std::mem::take(&mut self.leaks),
            tried_in: self.tables.iter().map(|t| (t.name.clone(), self.tried_in.get(&t.name).copied().unwrap_or(0))).collect(),
        })
    }

    fn select(&self, t: usize) -> String {
        let rowid = if self.tables[t].without_rowid { "NULL" } else { "_rowid_" };
        let cols: Vec<String> = self.tables[t].columns.iter().map(|c| sql::ident(c)).collect();
        format!("{rowid}, {}", cols.join(", "))
    }

    fn read(&self, q: &str, t: usize) -> rusqlite::Result<Vec<(Option<i64>, Vec<Value>)>> {
        let n = self.tables[t].columns.len();
        let mut stmt = self.conn.prepare(q)?;
        let rows = stmt.query_map([], |r| {
            let values = (1..=n).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((r.get::<_, Option<i64>>(0)?, values))
        })?;
        rows.collect()
    }

    /// Copies one row as the second shop's, its parents first; the new row id, if copied.
    fn copy(&mut self, t: usize, rowid: Option<i64>, mut values: Vec<Value>, depth: usize) -> rusqlite::Result<Option<i64>> {
        let name = self.tables[t].name.clone();
        if let Some(old) = rowid {
            if let Some(new) = self.copied.get(&(name.clone(), old)) {
                return Ok(Some(*new));
            }
            if self.failed.contains(&(name.clone(), old)) || depth > DEPTH {
                return Ok(None);
            }
        }
        let mut borrowed = false;
        for (at, parent) in self.tables[t].parents.clone() {
            let Value::Integer(old) = values[at] else { continue };
            let Some(p) = self.tables.iter().position(|x| x.name == parent) else { continue };
            if p == t && Some(old) == rowid {
                continue;
            }
            let q = format!("SELECT {} FROM main.{} WHERE _rowid_ = {old}", self.select(p), sql::ident(&parent));
            let found = self.read(&q, p)?;
            let new = match found.into_iter().next() {
                Some((r, v)) => self.copy(p, r, v, depth + 1)?,
                None => None,
            };
            // A refused parent: the row keeps the first shop's parent, so its own keys are tried.
            match new {
                Some(new) => values[at] = Value::Integer(new),
                None => borrowed = true,
            }
        }
        if borrowed {
            self.borrowed += 1;
        }
        let table = &self.tables[t];
        let tenant = table.columns.iter().position(|c| c.eq_ignore_ascii_case(&self.column));
        if let Some(at) = tenant {
            values[at] = Value::Text(self.probe.clone());
        }
        if let Some(at) = table.alias {
            values[at] = Value::Null;
        }
        let cols: Vec<String> = table.columns.iter().map(|c| sql::ident(c)).collect();
        let marks = vec!["?"; cols.len()].join(", ");
        let q = format!("INSERT INTO main.{} ({}) VALUES ({marks})", sql::ident(&name), cols.join(", "));
        self.tried += 1;
        *self.tried_in.entry(name.clone()).or_default() += 1;
        if let Ok(mut e) = self.events.lock() {
            e.clear();
        }
        match self.conn.execute(&q, params_from_iter(values.iter())) {
            Ok(_) => {
                self.done += 1;
                let new = self.conn.last_insert_rowid();
                if let Some(old) = rowid {
                    self.copied.insert((name.clone(), old), new);
                }
                self.judge_side_effects(&name, new)?;
                Ok(Some(new))
            }
            Err(e) => {
                let by = e.to_string();
                *self.blocked.entry((name.clone(), by)).or_default() += 1;
                if let Some(old) = rowid {
                    self.failed.insert((name, old));
                }
                Ok(None)
            }
        }
    }

    /// What the insert's triggers did to rows that are not the second shop's.
    fn judge_side_effects(&mut self, table: &str, new: i64) -> rusqlite::Result<()> {
        let events = self.events.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default();
        for (action, touched, rowid) in events {
            if touched == table && rowid == new && action == Action::SQLITE_INSERT {
                continue;
            }
            let Some(t) = self.tables.iter().find(|x| x.name == touched) else { continue };
            let theirs = match action {
                Action::SQLITE_DELETE => Some("deleted".to_string()),
                _ => {
                    let q = format!(
                        "SELECT {} FROM main.{} WHERE _rowid_ = ?1",
                        sql::ident(&self.column),
                        sql::ident(&t.name)
                    );
                    let owner: Option<Value> = self.conn.query_row(&q, [rowid], |r| r.get(0)).ok();
                    match owner {
                        Some(Value::Text(o)) if o == self.probe => None,
                        Some(o) => Some(format!(
                            "{} a row of {} owned by {}",
                            if action == Action::SQLITE_INSERT { "added" } else { "changed" },
                            sql::ident(&t.name),
                            shown_value(&o)
                        )),
                        None => None,
                    }
                }
            };
            if let Some(what) = theirs {
                let what = if what == "deleted" { format!("deleted a row of {} of another shop", sql::ident(&t.name)) } else { what };
                let triggers = triggers_on(self.conn, table)?;
                let object = if triggers.is_empty() {
                    format!("table {}", sql::ident(table))
                } else {
                    triggers.iter().map(|n| format!("trigger {}", sql::ident(n))).collect::<Vec<_>>().join(", ")
                };
                let detail = format!("inserting the second shop's row into {} {what}", sql::ident(table));
                if !self.leaks.iter().any(|l| l.object == object && l.detail == detail) {
                    self.leaks.push(Leak { object, detail });
                }
            }
        }
        Ok(())
    }

    /// The rows of every tenant table that are not the second shop's: how many, and a digest
    /// of every value (a trigger may change a row without adding or removing one).
    fn others(&self) -> rusqlite::Result<BTreeMap<String, (i64, String)>> {
        let mut out = BTreeMap::new();
        for t in &self.tables {
            let order = if t.without_rowid { "" } else { " ORDER BY _rowid_" };
            let q = format!(
                "SELECT * FROM main.{0} WHERE {0}.{1} IS NOT ?1{order}",
                sql::ident(&t.name),
                sql::ident(&self.column)
            );
            let mut stmt = self.conn.prepare(&q)?;
            let n = stmt.column_count();
            let mut sha = Sha256::new();
            let mut rows = 0i64;
            let mut cursor = stmt.query([&self.probe])?;
            while let Some(r) = cursor.next()? {
                rows += 1;
                for i in 0..n {
                    crate::verify::snapshot::feed(&mut sha, r.get_ref(i)?);
                }
            }
            let digest = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
            out.insert(t.name.clone(), (rows, digest));
        }
        Ok(out)
    }
}

/// The column that is the table's row id (its INTEGER PRIMARY KEY), if it has one.
fn alias_of(conn: &Connection, table: &str, cols: &[schema::Column]) -> rusqlite::Result<Option<String>> {
    let pk: Vec<&schema::Column> = cols.iter().filter(|c| c.pk > 0).collect();
    let [only] = pk.as_slice() else { return Ok(None) };
    let indexed = schema::indexes(conn, table)?.iter().any(|i| i.origin == "pk");
    Ok((!indexed && only.decl_type.eq_ignore_ascii_case("INTEGER")).then(|| only.name.clone()))
}

/// A probe value no tenant table holds.
fn free_probe(conn: &Connection, column: &str, tables: &[String]) -> rusqlite::Result<String> {
    for k in 0.. {
        let probe = if k == 0 { "cutover-second-tenant".to_string() } else { format!("cutover-second-tenant-{k}") };
        let mut taken = false;
        for t in tables {
            let q = format!("SELECT count(*) FROM main.{0} WHERE {0}.{1} = ?1", sql::ident(t), sql::ident(column));
            taken |= conn.query_row(&q, [&probe], |r| r.get::<_, i64>(0))? > 0;
        }
        if !taken {
            return Ok(probe);
        }
    }
    Ok(String::new())
}

fn triggers_on(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 ORDER BY rowid")?;
    stmt.query_map([table], |r| r.get(0))?.collect()
}

fn shown_value(v: &Value) -> String {
    match v {
        Value::Text(t) => sql::literal(t),
        Value::Null => "no shop (NULL)".into(),
        other => format!("{other:?}"),
    }
}

/// Every view and what it shows of the first shops (all of it when it has no tenant column).
fn view_states(conn: &Connection, column: &str, probe: &str) -> rusqlite::Result<Vec<(String, Option<String>)>> {
    let mut stmt = conn.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'view' ORDER BY rowid")?;
    let views: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    views.into_iter().map(|v| Ok((v.clone(), view_state(conn, &v, column, probe)?))).collect()
}

/// A digest of what `view` shows for every shop but the probe, in sorted order; `None` when it
/// does not compile or is too big to read here.
fn view_state(conn: &Connection, view: &str, column: &str, probe: &str) -> rusqlite::Result<Option<String>> {
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
