//! What changed in a database since a known state: per table the rows added, removed and
//! changed, and the schema objects added, removed or altered. Rollback and verify use it to
//! say exactly what the shop wrote after the execute, before anything is thrown away.
//!
//! The known state is a file (the execute's result rebuilt from the backup, or the backup
//! itself), attached read-only to the connection that reads the current database. Rows are
//! matched by row id (the primary key of a WITHOUT ROWID table) and compared value by value,
//! type and bytes, so `1`, `'1'` and `1.0` differ and a NOCASE column cannot hide a change.

use std::path::Path;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

pub mod found;

pub use found::{Changes, TableChange};

use crate::error::{Error, Result};
use crate::sql;
use crate::verify::snapshot::feed;

/// The schema name the known state is attached under.
const REF: &str = "cutover_ref";

/// Compares the database `conn` reads (its `main` schema) with the file `known`, which is
/// opened read-only and never changed.
pub fn between(conn: &Connection, known: &Path) -> Result<Changes> {
    let failed = |e| Error::sqlite("comparing the database with the state after the execute", e);
    register(conn).map_err(failed)?;
    conn.execute(&format!("ATTACH DATABASE ?1 AS {REF}"), params![read_only_uri(known)]).map_err(failed)?;
    let outcome = compare(conn).map_err(failed);
    let _ = conn.execute_batch(&format!("DETACH DATABASE {REF}"));
    outcome
}

fn compare(conn: &Connection) -> rusqlite::Result<Changes> {
    let mut changes = Changes::default();
    let now = objects(conn, "main")?;
    let then = objects(conn, REF)?;
    for (kind, name, sql_now) in &now {
        match then.iter().find(|(k, n, _)| k == kind && n == name) {
            None => changes.schema.push(format!("{kind} {name} added")),
            Some((_, _, sql_then)) if sql_then != sql_now => {
                changes.schema.push(format!("{kind} {name} altered (its CREATE statement differs)"))
            }
            Some(_) => {}
        }
    }
    for (kind, name, _) in then.iter().filter(|(k, n, _)| !now.iter().any(|(k2, n2, _)| k2 == k && n2 == n)) {
        changes.schema.push(format!("{kind} {name} removed"));
    }
    for pragma in ["user_version", "application_id"] {
        let value = |schema: &str| conn.query_row(&format!("PRAGMA {schema}.{pragma}"), [], |r| r.get::<_, i64>(0));
        let (a, b) = (value("main")?, value(REF)?);
        if a != b {
            changes.schema.push(format!("{pragma} {b} → {a}"));
        }
    }

    let tables_now = data_tables(conn, "main")?;
    let tables_then = data_tables(conn, REF)?;
    for table in &tables_now {
        let change = if tables_then.contains(table) {
            compare_table(conn, table)?
        } else {
            let rows = rows(conn, "main", table)?;
            TableChange { table: table.clone(), added: rows, removed: 0, changed: 0, note: Some("new table".into()) }
        };
        if change.added + change.removed + change.changed > 0 || change.note.is_some() {
            changes.tables.push(change);
        }
    }
    for table in tables_then.iter().filter(|t| !tables_now.contains(t)) {
        let rows = rows(conn, REF, table)?;
        changes.tables.push(TableChange {
            table: table.clone(),
            added: 0,
            removed: rows,
            changed: 0,
            note: Some("table gone".into()),
        });
    }
    Ok(changes)
}

fn compare_table(conn: &Connection, table: &str) -> rusqlite::Result<TableChange> {
    let cols_now = columns(conn, "main", table)?;
    let cols_then = columns(conn, REF, table)?;
    let common: Vec<&String> =
        cols_now.iter().filter(|c| cols_then.iter().any(|t| t.eq_ignore_ascii_case(c))).collect();
    let mut notes = Vec::new();
    let added_cols: Vec<&str> =
        cols_now.iter().filter(|c| !cols_then.iter().any(|t| t.eq_ignore_ascii_case(c))).map(String::as_str).collect();
    let gone_cols: Vec<&str> =
        cols_then.iter().filter(|c| !cols_now.iter().any(|t| t.eq_ignore_ascii_case(c))).map(String::as_str).collect();
    if !added_cols.is_empty() {
        notes.push(format!("columns added: {}", added_cols.join(", ")));
    }
    if !gone_cols.is_empty() {
        notes.push(format!("columns gone: {}", gone_cols.join(", ")));
    }
    let t = sql::ident(table);
    let values = |side: &str| common.iter().map(|c| format!("{side}.{}", sql::ident(c))).collect::<Vec<_>>().join(", ");
    let on = match row_key(conn, table, &cols_now)? {
        Key::RowId(alias) => format!("a.{alias} = b.{alias}"),
        Key::Columns(cols) => {
            cols.iter().map(|c| format!("a.{0} IS b.{0}", sql::ident(c))).collect::<Vec<_>>().join(" AND ")
        }
        Key::None => return compare_as_multisets(conn, table, &values("x"), notes),
    };
    let differs =
        if common.is_empty() { "0".to_string() } else { format!("cutover_differs({}, {})", values("a"), values("b")) };
    let (matched, changed): (i64, i64) = conn.query_row(
        &format!("SELECT count(*), coalesce(sum({differs}), 0) FROM main.{t} AS a JOIN {REF}.{t} AS b ON {on}"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (now, then) = (rows(conn, "main", table)?, rows(conn, REF, table)?);
    let matched = matched.max(0) as u64;
    Ok(TableChange {
        table: table.to_string(),
        added: now.saturating_sub(matched),
        removed: then.saturating_sub(matched),
        changed: changed.max(0) as u64,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

/// What identifies a row of a table.
enum Key {
    /// The row id, by a name no column has taken.
    RowId(&'static str),
    /// The primary key of a WITHOUT ROWID table.
    Columns(Vec<String>),
    /// Nothing: every row-id alias is a real column; rows are compared as a multiset.
    None,
}

fn row_key(conn: &Connection, table: &str, columns: &[String]) -> rusqlite::Result<Key> {
    let without_rowid: bool = conn
        .query_row("SELECT wr FROM pragma_table_list(?1) WHERE schema = 'main'", params![table], |r| r.get(0))
        .unwrap_or(false);
    if without_rowid {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1, 'main') WHERE pk > 0 ORDER BY pk")?;
        return Ok(Key::Columns(stmt.query_map(params![table], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?));
    }
    // A column may be called `rowid` (in any case): then that name is the column, not the row id.
    let free = ["rowid", "_rowid_", "oid"].into_iter().find(|a| !columns.iter().any(|c| c.eq_ignore_ascii_case(a)));
    Ok(free.map_or(Key::None, Key::RowId))
}

/// Rows of a table without a usable row id, counted as a multiset of exact row contents: a
/// row is added or removed as many times as its copies differ in number.
fn compare_as_multisets(
    conn: &Connection,
    table: &str,
    values: &str,
    notes: Vec<String>,
) -> rusqlite::Result<TableChange> {
    let t = sql::ident(table);
    let (added, removed): (i64, i64) = conn.query_row(
        &format!(
            "WITH a AS (SELECT cutover_row({values}) AS h, count(*) AS n FROM main.{t} AS x GROUP BY 1),
                  b AS (SELECT cutover_row({values}) AS h, count(*) AS n FROM {REF}.{t} AS x GROUP BY 1)
             SELECT coalesce(sum(max(coalesce(a.n, 0) - coalesce(b.n, 0), 0)), 0),
                    coalesce(sum(max(coalesce(b.n, 0) - coalesce(a.n, 0), 0)), 0)
             FROM a FULL JOIN b ON a.h = b.h"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(TableChange {
        table: table.to_string(),
        added: added.max(0) as u64,
        removed: removed.max(0) as u64,
        changed: 0,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

/// (type, name, CREATE statement) of every schema object but automatic indexes.
fn objects(conn: &Connection, schema: &str) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT type, name, coalesce(sql, '') FROM {schema}.sqlite_schema WHERE name NOT LIKE 'sqlite_autoindex_%' ORDER BY rowid"
    ))?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect()
}

/// Tables that hold rows in the file: every table but virtual ones (whose rows, if any, are in
/// their shadow tables, which are compared themselves).
fn data_tables(conn: &Connection, schema: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT name FROM {schema}.sqlite_schema WHERE type = 'table' AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY rowid"
    ))?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

fn columns(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid")?;
    stmt.query_map(params![table, schema], |r| r.get(0))?.collect()
}

fn rows(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<u64> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {schema}.{}", sql::ident(table)), [], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// `cutover_differs(a1, …, an, b1, …, bn)`: 1 when any `ai` differs from `bi` in type or bytes;
/// `cutover_row(v1, …, vn)`: a digest of the values with their types, to group equal rows.
fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "cutover_row",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let mut sha = Sha256::new();
            for i in 0..ctx.len() {
                feed(&mut sha, ctx.get_raw(i));
            }
            Ok(sha.finalize().to_vec())
        },
    )?;
    conn.create_scalar_function(
        "cutover_differs",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let n = ctx.len() / 2;
            for i in 0..n {
                if !same(ctx.get_raw(i), ctx.get_raw(i + n)) {
                    return Ok(1i64);
                }
            }
            Ok(0i64)
        },
    )
}

fn same(a: ValueRef<'_>, b: ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::Null, ValueRef::Null) => true,
        (ValueRef::Integer(x), ValueRef::Integer(y)) => x == y,
        (ValueRef::Real(x), ValueRef::Real(y)) => x.to_bits() == y.to_bits(),
        (ValueRef::Text(x), ValueRef::Text(y)) => x == y,
        (ValueRef::Blob(x), ValueRef::Blob(y)) => x == y,
        _ => false,
    }
}

/// A `file:` URI that opens `path` read-only and unlocked, leaving no side files beside it.
fn read_only_uri(path: &Path) -> String {
    // SQLite takes the URI's path as UTF-8; a Unix name that is not UTF-8 goes as its bytes.
    let bytes = match path.to_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => crate::platform::path_to_bytes(path),
    };
    let mut uri = String::from("file:");
    for b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => uri.push(b as char),
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(known: &str, now: &str) -> Changes {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a b%#é.db");
        let conn = Connection::open(&a).unwrap();
        conn.execute_batch(known).unwrap();
        drop(conn);
        let b = dir.path().join("b.db");
        std::fs::copy(&a, &b).unwrap();
        let conn = Connection::open(&b).unwrap();
        conn.execute_batch(now).unwrap();
        between(&conn, &a).unwrap()
    }

    const SHOP: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, price REAL);
        INSERT INTO items VALUES (1, 'bolt', 1.5), (2, 'nut', 0.25), (3, 'washer', NULL);
        CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO kv VALUES ('a', 1), ('b', 2);";

    #[test]
    fn nothing_changed_is_empty() {
        assert!(pair(SHOP, "").is_empty());
    }

    #[test]
    fn rows_added_removed_and_changed_are_counted_per_table() {
        let c = pair(
            SHOP,
            "INSERT INTO items VALUES (4, 'pin', 2); DELETE FROM items WHERE id = 3;
             UPDATE items SET name = 'BOLT' WHERE id = 1; UPDATE items SET price = 0.25 WHERE id = 2;
             UPDATE kv SET v = '2' WHERE k = 'b'; INSERT INTO kv VALUES ('c', 3);",
        );
        assert_eq!(
            c.summary(),
            "items: 1 row added, 1 row removed, 1 row changed; kv: 1 row added, 1 row changed",
            "a NOCASE change and a changed type are changes; an UPDATE to the same value is not"
        );
    }

    #[test]
    fn a_column_named_rowid_does_not_hide_new_rows() {
        let tills = "CREATE TABLE tills (RowId TEXT, item TEXT, qty INT); INSERT INTO tills VALUES ('t1', 'bolt', 1);
            CREATE TABLE odd (rowid, _rowid_, oid); INSERT INTO odd VALUES (1, 1, 1);";
        let c = pair(tills, "INSERT INTO tills VALUES ('t1', 'bolt', 1); INSERT INTO odd VALUES (1, 1, 1), (2, 2, 2);");
        assert_eq!(c.summary(), "tills: 1 row added; odd: 2 rows added", "identical copies count too");
        let c = pair(tills, "DELETE FROM odd; UPDATE tills SET qty = 2;");
        assert_eq!(c.summary(), "tills: 1 row changed; odd: 1 row removed");
    }

    #[test]
    fn schema_and_header_changes_are_named() {
        let c = pair(SHOP, "CREATE INDEX idx_name ON items(name); DROP TABLE kv; PRAGMA user_version = 7;");
        assert!(c.schema.contains(&"index idx_name added".to_string()), "{c:?}");
        assert!(c.schema.contains(&"table kv removed".to_string()), "{c:?}");
        assert!(c.schema.contains(&"user_version 0 → 7".to_string()), "{c:?}");
        assert!(c.summary().contains("kv: 2 rows removed, table gone"), "{}", c.summary());
    }
}
