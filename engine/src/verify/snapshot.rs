//! The state a verification compares against: per table the exact rows and a content digest
//! over its columns, the schema, and the foreign-key violations that already existed.
//!
//! Digests run on two read-only connections at once, one table at a time each, so both cores
//! read the file.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::{open, sql};

/// One table's rows and content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    /// Table name.
    pub name: String,
    /// Exact rows.
    pub rows: u64,
    /// SHA-256 over every value of `columns`, row by row in key order; `None` for virtual tables.
    pub digest: Option<String>,
    /// The columns digested, in order.
    pub columns: Vec<String>,
    /// The key the rows were read in, for a WITHOUT ROWID table (its primary key then): the
    /// state after a change is read in the same order, even when the change rewrote that key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<String>,
}

/// One object of `sqlite_schema`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaObject {
    /// `table`, `index`, `view` or `trigger`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The table it belongs to.
    pub table: String,
    /// Its CREATE statement (empty for automatic indexes).
    pub sql: String,
}

pub use super::violations::FkViolation;


/// A database's state at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every table but virtual ones' data, in schema order.
    pub tables: Vec<TableState>,
    /// Every schema object.
    pub schema: Vec<SchemaObject>,
    /// Foreign-key violations present at that moment.
    pub fk_violations: Vec<FkViolation>,
    /// Tables whose triggers did not compile at that moment: (table, SQLite's message).
    #[serde(default)]
    pub broken_triggers: Vec<(String, String)>,
    /// Tables whose foreign keys SQLite could not check (a parent key that is not unique):
    /// (table, SQLite's message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fk_unchecked: Vec<(String, String)>,
}

impl Snapshot {
    /// The state of one table.
    pub fn table(&self, name: &str) -> Option<&TableState> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Captures the snapshot of the database at `db`, digesting with `workers` connections.
/// `without` names (table, column) pairs left out of the digest: the columns a plan drops,
/// so the state after it can be compared with this one.
pub fn capture(
    db: &Path,
    workers: usize,
    without: &[(String, String)],
    progress: &mut dyn FnMut(Progress),
) -> Result<Snapshot> {
    capture_from(db, Source::Live, workers, without, progress)
}

/// [`capture`] of a file no one may change while it is read (a proven backup), opened with
/// [`open::immutable`]: no lock is taken and nothing is created beside it. `None` when the
/// path cannot be opened that way.
pub fn capture_immutable(
    db: &Path,
    workers: usize,
    without: &[(String, String)],
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<Snapshot>> {
    if open::immutable(db)?.is_none() {
        return Ok(None);
    }
    capture_from(db, Source::Immutable, workers, without, progress).map(Some)
}

/// How a snapshot's connections open the file.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A database in use: [`open::inspect`].
    Live,
    /// A file that cannot change: [`open::immutable`].
    Immutable,
}

fn connect(db: &Path, source: Source) -> Result<Connection> {
    match source {
        Source::Live => open::inspect(db),
        Source::Immutable => open::immutable(db)?.ok_or_else(|| {
            Error::io(format!("opening {}", crate::shown::shown(db)), std::io::Error::other("the path is not a URI"))
        }),
    }
}

fn capture_from(
    db: &Path,
    source: Source,
    workers: usize,
    without: &[(String, String)],
    progress: &mut dyn FnMut(Progress),
) -> Result<Snapshot> {
    let conn = connect(db, source)?;
    let schema = schema(&conn).map_err(|e| Error::sqlite("reading the schema", e))?;
    let (fk_violations, fk_unchecked) =
        super::violations::read_all(&conn).map_err(|e| Error::sqlite("running foreign_key_check", e))?;
    let broken_triggers = broken_triggers(&conn, &schema);
    let names: Vec<String> = schema.iter().filter(|o| o.kind == "table").map(|o| o.name.clone()).collect();
    let virtuals: Vec<&str> = schema
        .iter()
        .filter(|o| o.kind == "table" && o.sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL"))
        .map(|o| o.name.as_str())
        .collect();
    let jobs: Vec<(String, bool)> = names.iter().map(|n| (n.clone(), virtuals.contains(&n.as_str()))).collect();
    let mut kept: Vec<(String, Vec<String>)> = Vec::new();
    for (table, column) in without {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_xinfo(?1, 'main') ORDER BY cid")
            .map_err(|e| Error::sqlite("reading the columns", e))?;
        let all: Vec<String> = stmt
            .query_map(params![table], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(|e| Error::sqlite(format!("reading the columns of {}", sql::ident(table)), e))?;
        kept.push((table.clone(), all.into_iter().filter(|c| !c.eq_ignore_ascii_case(column)).collect()));
    }
    drop(conn);
    let columns = |name: &str| kept.iter().find(|(t, _)| t == name).map(|(_, c)| (c.clone(), Vec::new()));
    let tables = digest_from(db, source, &jobs, Some(&columns), workers, progress)?;
    Ok(Snapshot { tables, schema, fk_violations, broken_triggers, fk_unchecked })
}

/// Which columns to digest for a table, and in which key order (empty: its own key): the
/// "before" ones when checking after a change.
pub type ColumnsOf<'a> = &'a dyn Fn(&str) -> Option<(Vec<String>, Vec<String>)>;

/// Digests the given tables (name, is virtual); `columns` fixes which columns per table (the
/// "before" columns, when checking after a migration), otherwise every column is used.
pub fn digest_all(
    db: &Path,
    jobs: &[(String, bool)],
    columns: Option<ColumnsOf<'_>>,
    workers: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<TableState>> {
    digest_from(db, Source::Live, jobs, columns, workers, progress)
}

fn digest_from(
    db: &Path,
    source: Source,
    jobs: &[(String, bool)],
    columns: Option<ColumnsOf<'_>>,
    workers: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<TableState>> {
    let fixed: Vec<Option<(Vec<String>, Vec<String>)>> = jobs.iter().map(|(n, _)| columns.and_then(|f| f(n))).collect();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Result<TableState>)>();
    let workers = workers.clamp(1, jobs.len().max(1));
    thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, fixed) = (&next, &fixed);
            scope.spawn(move || {
                let conn = match connect(db, source) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send((usize::MAX, Err(e)));
                        return;
                    }
                };
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((name, is_virtual)) = jobs.get(i) else { return };
                    let state = table_state(&conn, name, *is_virtual, fixed[i].as_ref())
                        .map_err(|e| Error::sqlite(format!("digesting table {}", sql::ident(name)), e));
                    let stop = state.is_err();
                    // A closed channel means the reader gave up on an error: stop too.
                    if tx.send((i, state)).is_err() || stop {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut out: Vec<Option<TableState>> = vec![None; jobs.len()];
        for (done, (i, state)) in rx.into_iter().enumerate() {
            let state = state?;
            progress(Progress::Table { name: state.name.clone(), index: done + 1, total: jobs.len() });
            out[i] = Some(state);
        }
        Ok(out.into_iter().flatten().collect())
    })
}

fn table_state(
    conn: &Connection,
    name: &str,
    is_virtual: bool,
    fixed: Option<&(Vec<String>, Vec<String>)>,
) -> rusqlite::Result<TableState> {
    if is_virtual {
        let rows: i64 =
            conn.query_row(&format!("SELECT count(*) FROM main.{}", sql::ident(name)), [], |r| r.get(0)).unwrap_or(0);
        let rows = rows.max(0) as u64;
        return Ok(TableState { name: name.into(), rows, digest: None, columns: Vec::new(), order: Vec::new() });
    }
    let columns: Vec<String> = match fixed {
        Some((c, _)) => c.clone(),
        None => {
            let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1, 'main') ORDER BY cid")?;
            stmt.query_map(params![name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        }
    };
    let key = match fixed {
        Some((_, order)) if !order.is_empty() => order.clone(),
        _ => primary_key_order(conn, name)?,
    };
    let order = if key.is_empty() {
        rowid_order(&columns)
    } else {
        key.iter().map(|c| sql::ident(c)).collect::<Vec<_>>().join(", ")
    };
    let select = if columns.is_empty() {
        "1".to_string()
    } else {
        columns.iter().map(|c| sql::ident(c)).collect::<Vec<_>>().join(", ")
    };
    let mut stmt = conn.prepare(&format!("SELECT {select} FROM main.{} ORDER BY {order}", sql::ident(name)))?;
    let n = stmt.column_count();
    let mut sha = Sha256::new();
    let mut rows = 0u64;
    let mut cursor = stmt.query([])?;
    while let Some(row) = cursor.next()? {
        rows += 1;
        for i in 0..n {
            feed(&mut sha, row.get_ref(i)?);
        }
    }
    let digest = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(TableState { name: name.into(), rows, digest: Some(digest), columns, order: key })
}

/// Feeds one value with its type, so `1`, `'1'` and `1.0` digest differently.
pub(crate) fn feed(sha: &mut Sha256, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => sha.update([0u8]),
        ValueRef::Integer(i) => {
            sha.update([1u8]);
            sha.update(i.to_be_bytes());
        }
        ValueRef::Real(f) => {
            sha.update([2u8]);
            sha.update(f.to_bits().to_be_bytes());
        }
        ValueRef::Text(t) => {
            sha.update([3u8]);
            sha.update((t.len() as u64).to_be_bytes());
            sha.update(t);
        }
        ValueRef::Blob(b) => {
            sha.update([4u8]);
            sha.update((b.len() as u64).to_be_bytes());
            sha.update(b);
        }
    }
}

/// The primary key of a WITHOUT ROWID table, in key order: the stable order its rows are read
/// in. Empty for a rowid table.
fn primary_key_order(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let without_rowid: bool = conn
        .query_row("SELECT wr FROM pragma_table_list(?1) WHERE schema = 'main'", params![table], |r| r.get(0))
        .unwrap_or(false);
    if !without_rowid {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE pk > 0 ORDER BY pk")?;
    stmt.query_map(params![table], |r| r.get(0))?.collect()
}

/// A rowid table's stable order: the row id. An explicit order keeps the planner from walking
/// a (new) covering index instead of the table.
fn rowid_order(columns: &[String]) -> String {
    let taken = |alias: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(alias));
    match ["rowid", "_rowid_", "oid"].into_iter().find(|a| !taken(a)) {
        Some(alias) => alias.to_string(),
        // Every alias is a real column name: order by all columns instead.
        None => columns.iter().map(|c| sql::ident(c)).collect::<Vec<_>>().join(", "),
    }
}

/// Every object in `sqlite_schema`, in order.
pub fn schema(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut stmt =
        conn.prepare("SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_schema ORDER BY rowid")?;
    let rows = stmt
        .query_map([], |r| Ok(SchemaObject { kind: r.get(0)?, name: r.get(1)?, table: r.get(2)?, sql: r.get(3)? }))?;
    rows.collect()
}

/// One SHA-256 for a schema, whatever the order of its rows: the plan's visible change, which
/// the shop's trading does not alter. SQLite's statistics tables (`ANALYZE`) are left out.
pub fn schema_digest(objects: &[SchemaObject]) -> String {
    let mut rows: Vec<String> = objects
        .iter()
        .filter(|o| !o.name.starts_with("sqlite_stat"))
        .map(|o| format!("{}\u{0}{}\u{0}{}\u{0}{}", o.kind, o.name, o.table, o.sql))
        .collect();
    rows.sort();
    crate::hashing::sha256_hex(rows.join("\n").as_bytes())
}

/// Every foreign-key violation, sorted.
pub fn fk_violations(conn: &Connection) -> rusqlite::Result<Vec<FkViolation>> {
    super::violations::read(conn)
}

/// Each table with triggers whose INSERT, UPDATE or DELETE no longer compiles: (table, message).
pub fn broken_triggers(conn: &Connection, schema: &[SchemaObject]) -> Vec<(String, String)> {
    let mut tables: Vec<&str> = schema.iter().filter(|o| o.kind == "trigger").map(|o| o.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    tables
        .into_iter()
        .filter_map(|t| {
            // A view takes only the statements its INSTEAD OF triggers are for.
            let view = schema.iter().any(|o| o.kind == "view" && o.name == t);
            let events: Vec<&str> = if view {
                let on_it = schema.iter().filter(|o| o.kind == "trigger" && o.table == t);
                let words: Vec<String> = on_it.flat_map(|o| trigger_events(&o.sql)).collect();
                ["INSERT", "DELETE", "UPDATE"].into_iter().filter(|e| words.iter().any(|w| w == e)).collect()
            } else {
                vec!["INSERT", "DELETE", "UPDATE"]
            };
            trigger_error(conn, t, &events).map(|e| (t.to_string(), e))
        })
        .collect()
}

/// The events a trigger fires on: the INSERT, UPDATE or DELETE among the words before its ON.
fn trigger_events(sql: &str) -> Vec<String> {
    let spans = crate::plan::lexer::spans(sql);
    let head = spans.iter().position(|s| s.is("ON")).map_or(&spans[..], |at| &spans[..at]);
    head.iter()
        .filter(|s| s.is("INSERT") || s.is("UPDATE") || s.is("DELETE"))
        .filter_map(|s| s.name().map(str::to_ascii_uppercase))
        .collect()
}

fn trigger_error(conn: &Connection, table: &str, events: &[&str]) -> Option<String> {
    let t = sql::ident(table);
    let first: Option<String> = conn
        .query_row(
            "SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE hidden = 0 ORDER BY cid LIMIT 1",
            params![table],
            |r| r.get(0),
        )
        .ok();
    let mut statements = Vec::new();
    if events.contains(&"INSERT") {
        statements.push(format!("INSERT INTO main.{t} DEFAULT VALUES"));
    }
    if events.contains(&"DELETE") {
        statements.push(format!("DELETE FROM main.{t}"));
    }
    if let (Some(c), true) = (first, events.contains(&"UPDATE")) {
        let c = sql::ident(&c);
        statements.push(format!("UPDATE main.{t} SET {c} = {c}"));
    }
    statements.iter().find_map(|s| conn.prepare(s).err().map(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(sql: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        (dir, path)
    }

    #[test]
    fn digest_sees_a_changed_value_and_a_changed_type() {
        let (_d, path) = db("CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'x'), (2, 'y');");
        let first = capture(&path, 2, &[], &mut |_| {}).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("UPDATE t SET b = 'z' WHERE a = 2").unwrap();
        let second = capture(&path, 1, &[], &mut |_| {}).unwrap();
        assert_ne!(first.tables[0].digest, second.tables[0].digest);
        conn.execute_batch("UPDATE t SET b = 'y' WHERE a = 2").unwrap();
        assert_eq!(capture(&path, 1, &[], &mut |_| {}).unwrap().tables[0].digest, first.tables[0].digest);
        conn.execute_batch("UPDATE t SET a = '1' WHERE a = 1").unwrap();
        assert_ne!(capture(&path, 1, &[], &mut |_| {}).unwrap().tables[0].digest, first.tables[0].digest);
        assert_eq!(first.tables[0].rows, 2);
    }

    #[test]
    fn adding_a_column_keeps_the_digest_over_the_old_columns() {
        let (_d, path) = db("CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'x');");
        let before = capture(&path, 1, &[], &mut |_| {}).unwrap();
        Connection::open(&path).unwrap().execute_batch("ALTER TABLE t ADD COLUMN c NOT NULL DEFAULT 'q'").unwrap();
        let cols = |n: &str| before.table(n).map(|t| (t.columns.clone(), t.order.clone()));
        let after = digest_all(&path, &[("t".into(), false)], Some(&cols), 1, &mut |_| {}).unwrap();
        assert_eq!(after[0].digest, before.tables[0].digest);
    }

    #[test]
    fn a_rewritten_primary_key_is_read_in_the_order_of_before() {
        let (_d, path) =
            db("CREATE TABLE p(a TEXT PRIMARY KEY, t TEXT) WITHOUT ROWID; INSERT INTO p VALUES ('a', 'z'), ('b', 'y');");
        let before = capture(&path, 1, &[], &mut |_| {}).unwrap();
        assert_eq!(before.tables[0].order, ["a"]);
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE n(a TEXT, t TEXT, PRIMARY KEY (t, a)) WITHOUT ROWID; INSERT INTO n SELECT a, t FROM p;
                 DROP TABLE p; ALTER TABLE n RENAME TO p;",
            )
            .unwrap();
        let own = capture(&path, 1, &[], &mut |_| {}).unwrap();
        assert_ne!(own.tables[0].digest, before.tables[0].digest, "its own key reads ('b', 'y') first");
        let cols = |n: &str| before.table(n).map(|t| (t.columns.clone(), t.order.clone()));
        let after = digest_all(&path, &[("p".into(), false)], Some(&cols), 1, &mut |_| {}).unwrap();
        assert_eq!(after[0].digest, before.tables[0].digest);
    }
}
