//! Copying a table's rows into its rebuilt self: every stored column, and its row ids.

use rusqlite::Connection;

use crate::audit::schema;
use crate::sql;

/// `INSERT INTO staged (…) SELECT … FROM table`: every stored column (generated ones compute
/// themselves), and the row id of a table that has one but no column for it.
/// `None` when the table has row ids of its own that no name reaches (its columns are called
/// `rowid`, `_rowid_` and `oid`): copying it would renumber them.
pub fn rows(conn: &Connection, table: &str, staged: &str) -> rusqlite::Result<Option<String>> {
    let columns = schema::columns(conn, table)?;
    let mut names: Vec<String> =
        columns.iter().filter(|c| !c.generated && !c.hidden).map(|c| sql::ident(&c.name)).collect();
    let entry = schema::list_entry(conn, table)?.unwrap_or_default();
    let aliased = columns.iter().any(|c| c.pk > 0)
        && schema::indexes(conn, table)?.iter().all(|i| i.origin != "pk")
        && columns.iter().filter(|c| c.pk > 0).count() == 1;
    if !entry.without_rowid && !aliased {
        let taken = |a: &str| columns.iter().any(|c| c.name.eq_ignore_ascii_case(a));
        match ["rowid", "_rowid_", "oid"].into_iter().find(|a| !taken(a)) {
            Some(alias) => names.insert(0, alias.to_string()),
            None => return Ok(None),
        }
    }
    let list = names.join(", ");
    Ok(Some(format!("INSERT INTO {} ({list}) SELECT {list} FROM {};", sql::ident(staged), sql::ident(table))))
}
