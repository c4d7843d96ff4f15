//! Checks specific to the generated tenant plan: the column, its definition, its values and
//! its index.

use rusqlite::{Connection, OptionalExtension, params};

use crate::plan::TenantSpec;
use crate::sql;
use crate::verify::{Check, Finding, Status};

fn finding(subject: &str, status: Status, detail: impl Into<String>) -> Finding {
    Finding { subject: subject.to_string(), status, detail: detail.into() }
}

fn failing(findings: &[Finding]) -> Vec<String> {
    findings.iter().filter(|f| f.status == Status::Fail).map(|f| f.subject.clone()).collect()
}

/// Every planned table has the column (names compare case-insensitively).
pub fn column_present(conn: &Connection, spec: &TenantSpec) -> rusqlite::Result<Check> {
    let mut findings = Vec::new();
    for t in &spec.tables {
        let found: Option<String> = conn
            .query_row(
                "SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE lower(name) = lower(?2)",
                params![t.table, spec.column],
                |r| r.get(0),
            )
            .optional()?;
        findings.push(match found {
            Some(name) => finding(&t.table, Status::Pass, format!("has {name}")),
            None => finding(&t.table, Status::Fail, format!("has no {} column", spec.column)),
        });
    }
    Ok(Check::from_findings("column_present", findings, |s, f| match s {
        Status::Pass => format!("all {} planned tables have {}", f.len(), spec.column),
        _ => format!("missing on: {}", failing(f).join(", ")),
    }))
}

/// The column is NOT NULL with the tenant as its default, and of the planned type.
pub fn column_definition(conn: &Connection, spec: &TenantSpec) -> rusqlite::Result<Check> {
    let mut findings = Vec::new();
    for t in spec.tables.iter().filter(|t| t.add_column) {
        let row: Option<(String, bool, Option<String>)> = conn
            .query_row(
                r#"SELECT type, "notnull", dflt_value FROM pragma_table_xinfo(?1, 'main') WHERE lower(name) = lower(?2)"#,
                params![t.table, spec.column],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((decl, not_null, default)) = row else {
            findings.push(finding(&t.table, Status::Fail, "the column is missing"));
            continue;
        };
        let default_ok = default.as_deref().and_then(sql::unquote_literal).as_deref() == Some(spec.tenant.as_str());
        let mut problems = Vec::new();
        if !not_null {
            problems.push("allows NULL".to_string());
        }
        if !default_ok {
            problems.push(format!("default is {}", default.unwrap_or_else(|| "missing".into())));
        }
        if !decl.eq_ignore_ascii_case(&t.column_type) {
            problems.push(format!("type is {decl}, planned {}", t.column_type));
        }
        findings.push(if problems.is_empty() {
            finding(&t.table, Status::Pass, format!("{decl} NOT NULL DEFAULT {}", sql::literal(&spec.tenant)))
        } else {
            finding(&t.table, Status::Fail, problems.join(", "))
        });
    }
    Ok(Check::from_findings("column_definition", findings, |s, f| match s {
        Status::Pass => format!("NOT NULL DEFAULT {} on all {} new columns", sql::literal(&spec.tenant), f.len()),
        _ => format!("wrong definition on: {}", failing(f).join(", ")),
    }))
}

/// No NULLs in the column, and every row carries the tenant value. Returns (`no_nulls`,
/// `tenant_distribution`).
pub fn distribution(conn: &Connection, spec: &TenantSpec) -> rusqlite::Result<(Check, Check)> {
    let mut nulls = Vec::new();
    let mut dist = Vec::new();
    for t in spec.tables.iter().filter(|t| t.add_column) {
        if !has_column(conn, &t.table, &spec.column)? {
            nulls.push(finding(&t.table, Status::Fail, "the column is missing"));
            dist.push(finding(&t.table, Status::Fail, "the column is missing"));
            continue;
        }
        let q = format!(
            "SELECT {c}, count(*) FROM main.{t} GROUP BY {c} ORDER BY count(*) DESC LIMIT 6",
            c = sql::ident(&spec.column),
            t = sql::ident(&t.table)
        );
        let mut stmt = conn.prepare(&q)?;
        let groups: Vec<(Option<String>, u64)> = stmt
            .query_map([], |r| {
                let v: rusqlite::types::Value = r.get(0)?;
                let n: i64 = r.get(1)?;
                Ok((value_text(v), n.max(0) as u64))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let null_rows: u64 = groups.iter().filter(|(v, _)| v.is_none()).map(|(_, n)| n).sum();
        nulls.push(if null_rows == 0 {
            finding(&t.table, Status::Pass, "no NULLs")
        } else {
            finding(&t.table, Status::Fail, format!("{null_rows} NULL values"))
        });
        let total: u64 = groups.iter().map(|(_, n)| n).sum();
        let others: Vec<String> = groups
            .iter()
            .filter(|(v, _)| v.as_deref() != Some(spec.tenant.as_str()))
            .map(|(v, n)| format!("{} × {n}", v.as_deref().map(sql::literal).unwrap_or_else(|| "NULL".into())))
            .collect();
        dist.push(if others.is_empty() {
            finding(&t.table, Status::Pass, format!("all {total} rows are {}", sql::literal(&spec.tenant)))
        } else {
            finding(&t.table, Status::Fail, format!("other values: {}", others.join(", ")))
        });
    }
    let no_nulls = Check::from_findings("no_nulls", nulls, |s, f| match s {
        Status::Pass => format!("no NULL {} in {} tables", spec.column, f.len()),
        _ => format!("NULLs in: {}", failing(f).join(", ")),
    });
    let distribution = Check::from_findings("tenant_distribution", dist, |s, f| match s {
        Status::Pass => format!("every row of {} tables carries {}", f.len(), sql::literal(&spec.tenant)),
        _ => format!("rows with another value in: {}", failing(f).join(", ")),
    });
    Ok((no_nulls, distribution))
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM pragma_table_xinfo(?1, 'main') WHERE lower(name) = lower(?2)",
        params![table, column],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn value_text(v: rusqlite::types::Value) -> Option<String> {
    use rusqlite::types::Value;
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        Value::Text(t) => Some(t),
        Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// The index exists and SQLite's planner uses it for `WHERE column = ?`.
pub fn index_used(conn: &Connection, spec: &TenantSpec) -> rusqlite::Result<Check> {
    let mut findings = Vec::new();
    for t in spec.tables.iter().filter(|t| t.index.is_some()) {
        let planned = t.index.as_deref().unwrap_or_default();
        let exists: bool = conn
            .query_row(
                "SELECT count(*) FROM pragma_index_list(?1, 'main') WHERE name = ?2",
                params![t.table, planned],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if !exists {
            findings.push(finding(&t.table, Status::Fail, format!("index {} is missing", sql::ident(planned))));
            continue;
        }
        let plan_of = |indexed_by: &str| -> rusqlite::Result<Vec<String>> {
            let q = format!(
                "EXPLAIN QUERY PLAN SELECT * FROM main.{0}{indexed_by} WHERE {0}.{1} = ?1",
                sql::ident(&t.table),
                sql::ident(&spec.column)
            );
            let mut stmt = conn.prepare(&q)?;
            stmt.query_map(params![spec.tenant], |r| r.get::<_, String>(3))?.collect()
        };
        let uses = |details: &[String]| {
            details.iter().any(|d| d.contains("USING INDEX") || d.contains("USING COVERING INDEX"))
        };
        let details = plan_of("")?;
        if uses(&details) {
            findings.push(if details.iter().any(|d| d.contains(planned)) {
                finding(&t.table, Status::Pass, format!("query plan uses {}", sql::ident(planned)))
            } else {
                finding(&t.table, Status::Warn, format!("query plan uses another index: {}", details.join("; ")))
            });
            continue;
        }
        // On a small table whose statistics say so, scanning is the planner's right choice;
        // the index is proven usable when the query can be planned through it.
        let forced = plan_of(&format!(" INDEXED BY {}", sql::ident(planned)));
        findings.push(match forced {
            Ok(d) if uses(&d) => finding(
                &t.table,
                Status::Pass,
                format!("{} is usable; the planner scans this small table instead", sql::ident(planned)),
            ),
            Ok(d) => finding(&t.table, Status::Fail, format!("query plan does not use an index: {}", d.join("; "))),
            Err(e) => finding(&t.table, Status::Fail, format!("the index cannot serve WHERE {} = ?: {e}", spec.column)),
        });
    }
    Ok(Check::from_findings("index_used", findings, |s, f| match s {
        Status::Pass => format!("{} indexes present and used by EXPLAIN QUERY PLAN", f.len()),
        Status::Warn => "indexes present; some queries prefer another index".to_string(),
        Status::Fail => format!("index missing or unused on: {}", failing(f).join(", ")),
    }))
}
