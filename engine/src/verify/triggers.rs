//! Triggers that still compile: a trigger body such as `INSERT INTO log VALUES (NEW.id, NEW.qty)`
//! names no columns, so adding one to `log` breaks every later sale even though the schema
//! looks right. Preparing (never running) an INSERT, UPDATE and DELETE on each table that has
//! triggers compiles them; a failure is named with SQLite's message.

use rusqlite::Connection;

use crate::verify::snapshot::{SchemaObject, Snapshot, broken_triggers as broken};
use crate::verify::{Check, Finding, Status};

/// The check: a trigger broken by the change fails; one broken before it is only a warning.
pub fn check(conn: &Connection, after: &[SchemaObject], before: &Snapshot) -> Check {
    let now = broken(conn, after);
    let mut tables: Vec<&str> = after.iter().filter(|o| o.kind == "trigger").map(|o| o.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    let findings: Vec<Finding> = tables
        .into_iter()
        .map(|t| match now.iter().find(|(table, _)| table == t) {
            None => Finding { subject: t.into(), status: Status::Pass, detail: "its triggers compile".into() },
            Some((_, e)) if before.broken_triggers.iter().any(|(table, _)| table == t) => Finding {
                subject: t.into(),
                status: Status::Warn,
                detail: format!("broken before the change too: {e}"),
            },
            Some((_, e)) => Finding { subject: t.into(), status: Status::Fail, detail: e.clone() },
        })
        .collect();
    Check::from_findings("triggers_compile", findings, |s, f| {
        let named = |st| f.iter().filter(|x| x.status == st).map(|x| x.subject.as_str()).collect::<Vec<_>>().join(", ");
        match s {
            Status::Pass => format!("the triggers of all {} tables compile", f.len()),
            Status::Warn => format!("triggers broken before the change: {}", named(Status::Warn)),
            Status::Fail => format!("writes to these tables would now fail in a trigger: {}", named(Status::Fail)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::snapshot;

    #[test]
    fn a_trigger_broken_by_a_new_column_is_caught() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE sales (id INTEGER PRIMARY KEY, qty INT);
             CREATE TABLE sales_log (id INT, qty INT);
             CREATE TRIGGER log_sale AFTER INSERT ON sales BEGIN INSERT INTO sales_log VALUES (NEW.id, NEW.qty); END;",
        )
        .unwrap();
        let schema = snapshot::schema(&conn).unwrap();
        assert!(broken(&conn, &schema).is_empty());
        conn.execute_batch("ALTER TABLE sales_log ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'acme'").unwrap();
        let after = snapshot::schema(&conn).unwrap();
        let found = broken(&conn, &after);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("has 3 columns but 2 values were supplied"), "{found:?}");
    }
}
