//! Reading a table's shape from SQLite's own pragmas: kind, columns, indexes, foreign keys.
//!
//! Table names are always bound as parameters of the table-valued pragma functions, never
//! spliced into SQL, so any name works.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One column as `PRAGMA table_xinfo` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Column name as declared.
    pub name: String,
    /// Declared type, empty when none.
    pub decl_type: String,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Default expression as written in the schema, if any.
    pub default: Option<String>,
    /// Position in the primary key from 1, 0 when not part of it.
    pub pk: u32,
    /// A generated (computed) column.
    pub generated: bool,
    /// A hidden column of a virtual table.
    pub hidden: bool,
}

/// One index (including those behind UNIQUE and PRIMARY KEY constraints).
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    /// Index name (`sqlite_autoindex_…` for constraint indexes).
    pub name: String,
    /// Enforces uniqueness.
    pub unique: bool,
    /// `c` made by CREATE INDEX, `u` by a UNIQUE constraint, `pk` by a PRIMARY KEY.
    pub origin: String,
    /// Has a WHERE clause.
    pub partial: bool,
    /// Key columns in order; `<expr>` for an expression, `rowid` for the row id.
    pub columns: Vec<String>,
}

/// One foreign key of a table.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignKey {
    /// The referenced table.
    pub table: String,
    /// This table's columns.
    pub from: Vec<String>,
    /// The referenced columns (empty means the referenced primary key).
    pub to: Vec<String>,
    /// ON DELETE action.
    pub on_delete: String,
}

/// What `PRAGMA table_list` says of a table, when it can say it.
#[derive(Debug, Clone, Default)]
pub struct ListEntry {
    /// `table`, `view`, `shadow` or `virtual`.
    pub kind: String,
    /// WITHOUT ROWID.
    pub without_rowid: bool,
    /// STRICT.
    pub strict: bool,
}

/// Looks a table up in `PRAGMA table_list`. Fails for a virtual table whose module this
/// build lacks, since SQLite cannot describe it.
pub fn list_entry(conn: &Connection, table: &str) -> rusqlite::Result<Option<ListEntry>> {
    conn.query_row("SELECT type, wr, strict FROM pragma_table_list(?1) WHERE schema = 'main'", params![table], |r| {
        Ok(ListEntry { kind: r.get(0)?, without_rowid: r.get(1)?, strict: r.get(2)? })
    })
    .optional()
}

/// Every column of a table, hidden and generated ones included.
pub fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Column>> {
    let mut stmt = conn.prepare(
        r#"SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?1, 'main') ORDER BY cid"#,
    )?;
    let rows = stmt.query_map(params![table], |r| {
        let hidden: i64 = r.get(5)?;
        Ok(Column {
            name: r.get(0)?,
            decl_type: r.get(1)?,
            not_null: r.get(2)?,
            default: r.get(3)?,
            pk: r.get(4)?,
            generated: hidden == 2 || hidden == 3,
            hidden: hidden == 1,
        })
    })?;
    rows.collect()
}

/// Every index of a table with its key columns.
pub fn indexes(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Index>> {
    let mut list =
        conn.prepare(r#"SELECT name, "unique", origin, partial FROM pragma_index_list(?1, 'main') ORDER BY seq DESC"#)?;
    let mut cols = conn.prepare(
        "SELECT CASE WHEN cid = -1 THEN 'rowid' ELSE coalesce(name, '<expr>') END \
         FROM pragma_index_xinfo(?1, 'main') WHERE key = 1 ORDER BY seqno",
    )?;
    let found: Vec<(String, bool, String, bool)> = list
        .query_map(params![table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    found
        .into_iter()
        .map(|(name, unique, origin, partial)| {
            let columns = cols.query_map(params![name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(Index { name, unique, origin, partial, columns })
        })
        .collect()
}

/// Every foreign key of a table, composite keys gathered into one entry.
pub fn foreign_keys(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    let mut stmt = conn.prepare(
        r#"SELECT id, "table", "from", coalesce("to", ''), on_delete FROM pragma_foreign_key_list(?1, 'main') ORDER BY id, seq"#,
    )?;
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    let rows = stmt.query_map(params![table], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?))
    })?;
    for row in rows {
        let (id, target, from, to, on_delete) = row?;
        match keys.last_mut() {
            Some((last, fk)) if *last == id => {
                fk.from.push(from);
                if !to.is_empty() {
                    fk.to.push(to);
                }
            }
            _ => {
                let to = if to.is_empty() { Vec::new() } else { vec![to] };
                keys.push((id, ForeignKey { table: target, from: vec![from], to, on_delete }));
            }
        }
    }
    Ok(keys.into_iter().map(|(_, fk)| fk).collect())
}

/// The module a virtual table uses, read from its CREATE statement.
pub fn virtual_module(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let at = upper.find(" USING ")? + " USING ".len();
    let rest = sql[at..].trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_is_read_from_the_create_statement() {
        assert_eq!(virtual_module("CREATE VIRTUAL TABLE docs USING fts5(body)").as_deref(), Some("fts5"));
        assert_eq!(virtual_module("create virtual table x using  rtree (id, a, b)").as_deref(), Some("rtree"));
        assert_eq!(virtual_module("CREATE TABLE t(a)"), None);
    }

    #[test]
    fn composite_foreign_keys_are_one_entry() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE p(a, b, PRIMARY KEY (a, b));
             CREATE TABLE c(x, y, FOREIGN KEY (x, y) REFERENCES p(a, b) ON DELETE CASCADE);",
        )
        .unwrap();
        let fks = foreign_keys(&conn, "c").unwrap();
        assert_eq!(fks.len(), 1);
        assert_eq!(fks[0].from, ["x", "y"]);
        assert_eq!(fks[0].to, ["a", "b"]);
        assert_eq!(fks[0].on_delete, "CASCADE");
        let idx = indexes(&conn, "p").unwrap();
        assert_eq!(idx[0].origin, "pk");
        assert_eq!(idx[0].columns, ["a", "b"]);
    }
}
