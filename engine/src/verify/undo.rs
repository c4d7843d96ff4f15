//! Checks of an undo in place: the column and indexes the plan added are gone, and the schema
//! is the original's again, object for object — while the usual checks (rows, content of every
//! other column, foreign keys, integrity, views, triggers) prove nothing else moved.

use rusqlite::{Connection, params};

use crate::plan::undo::UndoSpec;
use crate::verify::snapshot::{SchemaObject, Snapshot};
use crate::verify::{Check, Finding, Status};

fn finding(subject: &str, status: Status, detail: impl Into<String>) -> Finding {
    Finding { subject: subject.to_string(), status, detail: detail.into() }
}

fn failing(findings: &[Finding]) -> String {
    findings.iter().filter(|f| f.status == Status::Fail).map(|f| f.subject.as_str()).collect::<Vec<_>>().join(", ")
}

/// Every table the plan added the column to no longer has it, and every index it created is gone.
pub fn column_removed(conn: &Connection, spec: &UndoSpec) -> rusqlite::Result<Check> {
    let mut findings = Vec::new();
    for t in &spec.tables {
        let still: Option<String> = if t.add_column {
            conn.query_row(
                "SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE lower(name) = lower(?2)",
                params![t.table, spec.column],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?
        } else {
            None
        };
        let index_left = match &t.index {
            Some(index) => conn
                .query_row("SELECT count(*) FROM main.sqlite_schema WHERE type = 'index' AND name = ?1", [index], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n > 0)?,
            None => false,
        };
        findings.push(match (still, index_left) {
            (Some(name), _) => finding(&t.table, Status::Fail, format!("still has {name}")),
            (None, true) => finding(&t.table, Status::Fail, "the plan's index is still there"),
            (None, false) if t.add_column => finding(&t.table, Status::Pass, format!("{} and its index removed", spec.column)),
            (None, false) => finding(&t.table, Status::Pass, "the plan's index removed (the column was there before)"),
        });
    }
    Ok(Check::from_findings("column_removed", findings, |s, f| match s {
        Status::Fail => format!("the plan's change is still on: {}", failing(f)),
        _ => format!("{} is gone from all {} tables the plan changed", spec.column, f.len()),
    }))
}

/// The schema after the undo is the one before it with the plan's indexes gone and each table
/// the plan added the column to back to its CREATE statement of before the plan — exactly.
pub fn schema_restored(before: &Snapshot, after: &[SchemaObject], spec: &UndoSpec) -> Check {
    let key = |o: &SchemaObject| (o.kind.clone(), o.name.clone());
    let dropped_index = |o: &SchemaObject| {
        o.kind == "index" && spec.tables.iter().any(|t| t.index.as_deref() == Some(o.name.as_str()))
    };
    let mut findings = Vec::new();
    let mut expected: Vec<SchemaObject> = Vec::new();
    for o in before.schema.iter().filter(|o| !dropped_index(o)) {
        let planned = o.kind == "table" && spec.tables.iter().any(|t| t.add_column && t.table == o.name);
        if !planned {
            expected.push(o.clone());
            continue;
        }
        match spec.original.iter().find(|orig| orig.name == o.name) {
            Some(orig) => expected.push(SchemaObject { sql: orig.sql.clone(), ..o.clone() }),
            None => findings.push(finding(&o.name, Status::Fail, "no record of its CREATE statement before the cutover")),
        }
    }
    for e in &expected {
        let planned = e.kind == "table" && spec.original.iter().any(|o| o.name == e.name);
        match after.iter().find(|a| key(a) == key(e)) {
            None => findings.push(finding(&e.name, Status::Fail, format!("{} was removed", e.kind))),
            Some(a) if a.sql != e.sql && planned => findings.push(finding(
                &e.name,
                Status::Fail,
                format!("is not as before the cutover: now `{}`, was `{}`", one_line(&a.sql), one_line(&e.sql)),
            )),
            Some(_) if planned => {
                findings.push(finding(&e.name, Status::Pass, "its CREATE statement is the original's again"))
            }
            Some(a) if a.sql != e.sql => findings.push(finding(&e.name, Status::Fail, format!("{} changed", e.kind))),
            Some(_) => {}
        }
    }
    for a in after.iter().filter(|a| !expected.iter().any(|e| key(e) == key(a))) {
        let why = if dropped_index(a) { "the plan's index is still there".to_string() } else { format!("unexpected new {}", a.kind) };
        findings.push(finding(&a.name, Status::Fail, why));
    }
    let unchanged = expected.len();
    Check::from_findings("schema_restored", findings, |s, f| match s {
        Status::Fail => format!("the schema is not the original's: {}", failing(f)),
        _ => format!(
            "the schema is the original's: {} tables back to their CREATE statements of before the cutover, the plan's indexes gone, the other {} objects as they were",
            f.len(),
            unchanged.saturating_sub(f.len())
        ),
    })
}

fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 120 { format!("{}…", flat.chars().take(120).collect::<String>()) } else { flat }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedTable;

    fn object(kind: &str, name: &str, sql: &str) -> SchemaObject {
        SchemaObject { kind: kind.into(), name: name.into(), table: "t".into(), sql: sql.into() }
    }

    fn spec() -> UndoSpec {
        UndoSpec {
            undoes: "p".into(),
            column: "tenant_id".into(),
            tenant: "acme".into(),
            tables: vec![PlannedTable {
                table: "t".into(),
                add_column: true,
                index: Some("idx_t_tenant_id".into()),
                column_type: "TEXT".into(),
            }],
            original: vec![object("table", "t", "CREATE TABLE t(a)")],
        }
    }

    #[test]
    fn only_the_original_schema_passes() {
        let before = Snapshot {
            tables: vec![],
            schema: vec![
                object("table", "t", "CREATE TABLE t(a, \"tenant_id\" TEXT NOT NULL DEFAULT 'acme')"),
                object("index", "idx_t_tenant_id", "CREATE INDEX …"),
                object("view", "v", "CREATE VIEW v AS SELECT a FROM t"),
            ],
            fk_violations: vec![],
            broken_triggers: vec![],
            fk_unchecked: vec![],
        };
        let good = [object("table", "t", "CREATE TABLE t(a)"), object("view", "v", "CREATE VIEW v AS SELECT a FROM t")];
        assert_eq!(schema_restored(&before, &good, &spec()).status, Status::Pass);
        for bad in [
            // The column text left behind, the index left behind, the view lost, a new object.
            vec![object("table", "t", "CREATE TABLE t(a )"), good[1].clone()],
            vec![good[0].clone(), good[1].clone(), object("index", "idx_t_tenant_id", "CREATE INDEX …")],
            vec![good[0].clone()],
            vec![good[0].clone(), good[1].clone(), object("trigger", "tr", "CREATE TRIGGER …")],
        ] {
            assert_eq!(schema_restored(&before, &bad, &spec()).status, Status::Fail, "{bad:?}");
        }
    }
}
