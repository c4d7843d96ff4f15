//! The rebuild and foreign keys: a key another table's foreign key points at is not rewritten
//! (that foreign key would lose its parent key), and the final `foreign_key_check` must not
//! meet violations that were there before.

use rusqlite::Connection;

use crate::audit::schema;
use crate::verify::snapshot::{FkViolation, SchemaObject};

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

/// The foreign-key violations already in the tables the rebuild checks (the rebuilt ones and
/// those referencing them): a shop's years-old orphans, carried through the rebuild row for row
/// and not blocking it — the plan's own check fails only on a violation it made. Refused only
/// when the check cannot run, naming the table.
pub fn carried_violations(
    conn: &Connection,
    objects: &[SchemaObject],
    tables: &[String],
) -> std::result::Result<Vec<FkViolation>, (String, String)> {
    let checked = checked_tables(conn, objects, tables).map_err(|e| (tables.join(", "), e.to_string()))?;
    let all = crate::verify::violations::read(conn)
        .map_err(|e| (tables.join(", "), format!("the foreign keys cannot be checked ({e})")))?;
    Ok(all.into_iter().filter(|v| checked.contains(&v.table)).collect())
}

/// The first few violations for people: `orders row 17 → customers, …and 3 more`.
pub fn listed(violations: &[FkViolation]) -> String {
    let mut out: Vec<String> = violations
        .iter()
        .take(5)
        .map(|v| format!("{} {}", v.table, v.described()))
        .collect();
    if violations.len() > 5 {
        out.push(format!("and {} more", violations.len() - 5));
    }
    out.join(", ")
}
