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

pub use super::second_tenant::{Blocked, Leak, SecondTenant};
use crate::audit::schema;
use crate::error::{Error, Result};
use crate::shown::shown;
use crate::{open, paths, sql};

mod watch;

/// Rows tried per table (more follow when a copied row needs its parents).
const SAMPLE: usize = 3;
/// How deep a row's parents are followed.
const DEPTH: usize = 8;

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
    /// The name its row id answers to (`_rowid_`, `rowid` or `oid`: one no column took);
    /// `None` for a WITHOUT ROWID table, or one whose columns took all three.
    rowid: Option<&'static str>,
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
    watched: Vec<watch::Watched>,
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
            let taken = |a: &str| cols.iter().any(|c| c.name.eq_ignore_ascii_case(a));
            let rowid = if without_rowid { None } else { ["_rowid_", "rowid", "oid"].into_iter().find(|a| !taken(a)) };
            let columns = stored.iter().map(|c| c.name.clone()).collect();
            tables.push(Table { name: name.clone(), columns, alias, parents, rowid });
        }
        let probe = free_probe(conn, column, names)?;
        let watched = watch::tables(conn, column)?;
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
            watched,
        })
    }

    /// Inserts, then updates, then deletes the second shop's rows, judging after each what
    /// else changed.
    fn run(&mut self) -> rusqlite::Result<SecondTenant> {
        self.register()?;
        let views = watch::view_states(self.conn, &self.column, &self.probe)?;
        let start = self.digests()?;
        let events = self.events.clone();
        self.conn.update_hook(Some(move |action, _db: &str, table: &str, rowid| {
            if let Ok(mut e) = events.lock() {
                e.push((action, table.to_string(), rowid));
            }
        }))?;
        for t in 0..self.tables.len() {
            let name = self.tables[t].name.clone();
            let order = self.tables[t].rowid.map(|r| format!(" ORDER BY {r}")).unwrap_or_default();
            // A row that already points at no parent (the shop ran with foreign keys off) would
            // be refused for that, not for being another shop's: the sample passes over it.
            // (Not where SQLite cannot check the table's foreign keys at all.)
            let checkable = self
                .conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check(?1)", [&name], |r| r.get::<_, i64>(0))
                .is_ok();
            let sound = self.tables[t]
                .rowid
                .filter(|_| checkable)
                .map(|r| {
                    format!(
                        " AND {r} NOT IN (SELECT rowid FROM pragma_foreign_key_check({}) WHERE rowid IS NOT NULL)",
                        sql::literal(&name)
                    )
                })
                .unwrap_or_default();
            // The first shops' rows only: a parent copied on demand is already the second shop's.
            let q = format!(
                "SELECT {} FROM main.{1} WHERE {1}.{2} IS NOT {3}{sound}{order} LIMIT {SAMPLE}",
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
        let inserted = self.digests()?;
        self.compare(&start, &inserted, "the second shop's rows were inserted");
        for (view, state) in views {
            let now = watch::view_state(self.conn, &view, &self.column, &self.probe)?;
            if let (Some(was), Some(now)) = (state, now)
                && was != now
            {
                self.leaks.push(Leak {
                    object: format!("view {}", sql::ident(&view)),
                    detail: "what it shows for the first shop changed when the second shop's rows arrived: it mixes the shops".into(),
                });
            }
        }
        // Its own rows written again (every UPDATE trigger fires), then deleted (every DELETE
        // trigger and ON DELETE action), children first; foreign keys are checked at the end
        // of the transaction, which is rolled back.
        let mine = watch::probe_rows(self.conn, &self.watched, &self.column, &self.probe)?;
        for t in 0..self.tables.len() {
            let cols: Vec<String> = self.tables[t].columns.iter().map(|c| format!("{0} = {0}", sql::ident(c))).collect();
            let q = format!("UPDATE main.{} SET {} WHERE {}", sql::ident(&self.tables[t].name), cols.join(", "), self.mine(t));
            self.phase(t, &q, &mine, "updating")?;
        }
        let updated = self.digests()?;
        self.compare(&inserted, &updated, "the second shop's rows were updated");
        self.conn.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        for t in (0..self.tables.len()).rev() {
            let q = format!("DELETE FROM main.{} WHERE {}", sql::ident(&self.tables[t].name), self.mine(t));
            self.phase(t, &q, &mine, "deleting")?;
        }
        let deleted = self.digests()?;
        self.compare(&updated, &deleted, "the second shop's rows were deleted");
        self.conn.update_hook(None::<fn(Action, &str, &str, i64)>)?;
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

    /// Where a tenant column has a foreign key to a registry, the second shop is registered
    /// first, as a copy of a registered tenant's row with the probe value as its id.
    fn register(&mut self) -> rusqlite::Result<()> {
        let mut registries: Vec<(String, String)> = Vec::new();
        for t in &self.tables {
            for fk in schema::foreign_keys(self.conn, &t.name)? {
                let [from] = fk.from.as_slice() else { continue };
                if !from.eq_ignore_ascii_case(&self.column) || registries.iter().any(|(r, _)| r.eq_ignore_ascii_case(&fk.table)) {
                    continue;
                }
                // No column named: the registry's primary key.
                let to = match fk.to.as_slice() {
                    [to] => Some(to.clone()),
                    [] => schema::columns(self.conn, &fk.table)?.into_iter().find(|c| c.pk == 1).map(|c| c.name),
                    _ => None,
                };
                if let Some(to) = to {
                    registries.push((fk.table.clone(), to));
                }
            }
        }
        for (table, key) in registries {
            let cols: Vec<String> = schema::columns(self.conn, &table)?
                .into_iter()
                .filter(|c| !c.generated && !c.hidden)
                .map(|c| c.name)
                .collect();
            let values: Vec<String> = cols
                .iter()
                .map(|c| if c.eq_ignore_ascii_case(&key) { sql::literal(&self.probe) } else { sql::ident(c) })
                .collect();
            let list: Vec<String> = cols.iter().map(|c| sql::ident(c)).collect();
            let q = format!(
                "INSERT INTO main.{0} ({1}) SELECT {2} FROM main.{0} LIMIT 1",
                sql::ident(&table),
                list.join(", "),
                values.join(", ")
            );
            if let Err(e) = self.conn.execute(&q, []) {
                *self.blocked.entry((table, format!("registering the second shop: {e}"))).or_default() += 1;
            }
        }
        Ok(())
    }

    /// `WHERE` the second shop's rows of table `t`.
    fn mine(&self, t: usize) -> String {
        let name = sql::ident(&self.tables[t].name);
        format!("{name}.{} = {}", sql::ident(&self.column), sql::literal(&self.probe))
    }

    /// One statement over the second shop's rows of table `t`, judged by what else it touched.
    fn phase(&mut self, t: usize, q: &str, mine: &HashSet<(String, i64)>, doing: &str) -> rusqlite::Result<()> {
        let name = self.tables[t].name.clone();
        self.take_events();
        if let Err(e) = self.conn.execute(q, []) {
            *self.blocked.entry((name, format!("{doing} its rows: {e}"))).or_default() += 1;
            return Ok(());
        }
        let doing = format!("{doing} the second shop's rows of {}", sql::ident(&name));
        let events = self.take_events();
        let own = |table: &str, id: i64| mine.contains(&(table.to_string(), id));
        let event = if doing.starts_with("updating") { "UPDATE" } else { "DELETE" };
        let found = watch::judge(&self.scene(), events, &own, (&name, event), &doing)?;
        self.add_leaks(found);
        Ok(())
    }

    fn scene(&self) -> watch::Scene<'_> {
        watch::Scene { conn: self.conn, watched: &self.watched, column: &self.column, probe: &self.probe }
    }

    fn take_events(&self) -> Vec<(Action, String, i64)> {
        self.events.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default()
    }

    fn add_leaks(&mut self, found: Vec<Leak>) {
        for l in found {
            if !self.leaks.contains(&l) {
                self.leaks.push(l);
            }
        }
    }

    fn digests(&self) -> rusqlite::Result<BTreeMap<String, (i64, String)>> {
        watch::digests(self.conn, &self.watched, &self.column, &self.probe)
    }

    fn compare(&mut self, before: &BTreeMap<String, (i64, String)>, after: &BTreeMap<String, (i64, String)>, doing: &str) {
        let found = watch::compare(before, after, &self.watched, doing, &self.leaks);
        self.add_leaks(found);
    }

    fn select(&self, t: usize) -> String {
        let rowid = self.tables[t].rowid.unwrap_or("NULL");
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
            let Some(key) = self.tables[p].rowid else { continue };
            let q = format!("SELECT {} FROM main.{} WHERE {key} = {old}", self.select(p), sql::ident(&parent));
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
        self.take_events();
        match self.conn.execute(&q, params_from_iter(values.iter())) {
            // No error, and no row either: a conflict clause or a trigger dropped it unsaid.
            Ok(0) => {
                let by = "the insert was silently dropped (an ON CONFLICT IGNORE key, or a trigger's RAISE(IGNORE))";
                *self.blocked.entry((name.clone(), by.to_string())).or_default() += 1;
                if let Some(old) = rowid {
                    self.failed.insert((name, old));
                }
                self.take_events();
                Ok(None)
            }
            Ok(_) => {
                self.done += 1;
                let new = self.conn.last_insert_rowid();
                if let Some(old) = rowid {
                    self.copied.insert((name.clone(), old), new);
                }
                let events = self.take_events();
                let own = |table: &str, id: i64| table == name && id == new;
                let doing = format!("inserting the second shop's row into {}", sql::ident(&name));
                let found = watch::judge(&self.scene(), events, &own, (&name, "INSERT"), &doing)?;
                self.add_leaks(found);
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
