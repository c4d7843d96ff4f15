//! The rebuild and foreign keys: a key another table's foreign key points at is not rewritten
//! (that foreign key would lose its parent key), and the final `foreign_key_check` must not
//! meet violations that were there before.

use rusqlite::Connection;

use crate::audit::schema;
use crate::sql;
use crate::verify::snapshot::SchemaObject;

/// A table whose foreign key points at exactly `columns` of `table` (its primary key when
/// the foreign key names none).
pub fn referenced_by(
    conn: &Connection,
    objects: &[SchemaObject],
    table: &str,
    columns: &[String],
) -> rusqlite::Result<Option<String>> {
    let pk: Vec<String> = {
        let mut c: Vec<(u32, String)> =
            schema::columns(conn, table)?.into_iter().filter(|c| c.pk > 0).map(|c| (c.pk, c.name)).collect();
        c.sort();
        c.into_iter().map(|(_, n)| n).collect()
    };
    let set = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|c| c.to_lowercase()).collect();
        v.sort();
        v
    };
    for o in objects.iter().filter(|o| o.kind == "table") {
        for fk in schema::foreign_keys(conn, &o.name)? {
            let to = if fk.to.is_empty() { pk.clone() } else { fk.to.clone() };
            if fk.table.eq_ignore_ascii_case(table) && set(&to) == set(columns) {
                return Ok(Some(o.name.clone()));
            }
        }
    }
    Ok(None)
}

/// The rebuilt tables and every table with a foreign key to one of them.
pub fn checked_tables(conn: &Connection, objects: &[SchemaObject], tables: &[String]) -> rusqlite::Result<Vec<String>> {
    let mut out: Vec<String> = tables.to_vec();
    for o in objects.iter().filter(|o| o.kind == "table" && !tables.contains(&o.name)) {
        let fks = schema::foreign_keys(conn, &o.name)?;
        if fks.iter().any(|fk| tables.iter().any(|t| t.eq_ignore_ascii_case(&fk.table))) {
            out.push(o.name.clone());
        }
    }
    Ok(out)
}

/// Refuses a rebuild whose final `foreign_key_check` would fail for violations already there:
/// the rebuild is not the place to find them, and must not look as if it made them. The error
/// names the rebuilt table and why.
pub fn check_foreign_keys(
    conn: &Connection,
    objects: &[SchemaObject],
    tables: &[String],
) -> std::result::Result<(), (String, String)> {
    let checked = checked_tables(conn, objects, tables).map_err(|e| (tables.join(", "), e.to_string()))?;
    for t in checked {
        let rebuilt = if tables.contains(&t) {
            t.clone()
        } else {
            let fks = schema::foreign_keys(conn, &t).unwrap_or_default();
            tables.iter().find(|r| fks.iter().any(|fk| fk.table.eq_ignore_ascii_case(r))).cloned().unwrap_or_default()
        };
        let whose = if rebuilt == t { "it".to_string() } else { format!("{}, which references it,", sql::ident(&t)) };
        let skip = format!("fix them first, or leave it out (--skip {})", crate::platform::shell_quote(std::path::Path::new(&rebuilt)));
        let n: rusqlite::Result<i64> =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check(?1)", [&t], |r| r.get(0));
        match n {
            Ok(0) => {}
            Ok(n) => {
                let rows = if n == 1 { "row" } else { "rows" };
                return Err((
                    rebuilt,
                    format!("{whose} already has {n} {rows} whose foreign key points at no row (`PRAGMA foreign_key_check`): {skip}"),
                ));
            }
            Err(e) => return Err((rebuilt, format!("the foreign keys of {} cannot be checked ({e}): {skip}", sql::ident(&t)))),
        }
    }
    Ok(())
}
