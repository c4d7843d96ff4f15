//! The generated tenant plan: for every table the audit marks *migrate*, add the column
//! (NOT NULL, defaulting to the tenant) and an index on it.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::audit::{AuditReport, Decision, TableKind};
use crate::error::{Error, Result};
use crate::plan::{Plan, PlanSource, PlannedStatement, PlannedTable, TenantSpec};
use crate::refusal::BadArgument;
use crate::sql;

/// The column type unless told otherwise.
pub const DEFAULT_TYPE: &str = "VARCHAR(255)";

/// What the technician asked for.
#[derive(Debug, Clone)]
pub struct TenantRequest {
    /// The tenant value.
    pub tenant: String,
    /// The column's declared type on ordinary tables.
    pub column_type: String,
    /// Create an index on the column.
    pub index: bool,
}

/// Generates the plan from an audit (which already holds the column name and exclusions).
/// `conn` supplies every existing schema name, so the new index names are unique.
pub fn generate(conn: &Connection, audit: &AuditReport, request: &TenantRequest) -> Result<Plan> {
    validate(&audit.column, &request.tenant, &request.column_type)?;
    let mut taken = existing_names(conn)?;
    let column = &audit.column;
    let mut statements = Vec::new();
    let mut tables = Vec::new();
    let mut text = String::new();
    for t in &audit.tables {
        let add_column = t.decision == Decision::Migrate;
        let index_only = request.index && t.needs_index;
        if !add_column && !index_only {
            continue;
        }
        let column_type = if t.kind == TableKind::Strict { "TEXT".to_string() } else { request.column_type.clone() };
        if add_column {
            push(
                &mut statements,
                &mut text,
                &t.name,
                format!(
                    "ALTER TABLE {} ADD COLUMN {} {column_type} NOT NULL DEFAULT {};",
                    sql::ident(&t.name),
                    sql::ident(column),
                    sql::literal(&request.tenant)
                ),
            );
        }
        let index = if request.index {
            let name = unique_name(&format!("idx_{}_{}", t.name, column), &mut taken);
            push(
                &mut statements,
                &mut text,
                &t.name,
                format!("CREATE INDEX {} ON {}({});", sql::ident(&name), sql::ident(&t.name), sql::ident(column)),
            );
            Some(name)
        } else {
            None
        };
        tables.push(PlannedTable { table: t.name.clone(), add_column, index, column_type });
    }
    let mut notices = Vec::new();
    if let Some(reg) = &audit.registry
        && !reg.values.iter().any(|v| v == &request.tenant)
    {
        let held = if reg.values.is_empty() { "no ids at all".to_string() } else { reg.values.join(", ") };
        notices.push(format!(
            "the tenant value {} is not in the tenant registry {} (it holds: {held}) — check the value",
            sql::literal(&request.tenant),
            sql::ident(&reg.table)
        ));
    }
    let review: Vec<(String, String)> = audit
        .tables
        .iter()
        .filter(|t| t.decision == Decision::Skip)
        .filter_map(|t| t.tenant_column.as_ref()?.problem.as_ref().map(|p| (t.name.clone(), p.clone())))
        .collect();
    for (table, problem) in &review {
        notices.push(format!(
            "{} already has a {} column, but {problem}: the plan leaves it as it is — review it by hand",
            sql::ident(table),
            sql::ident(column)
        ));
    }
    let spec = TenantSpec {
        column: column.clone(),
        tenant: request.tenant.clone(),
        column_type: request.column_type.clone(),
        index: request.index,
        tables,
        review,
    };
    Ok(Plan::new(PlanSource::Tenant(spec), statements, notices, text))
}

fn push(statements: &mut Vec<PlannedStatement>, text: &mut String, table: &str, sql: String) {
    let line = text.matches('\n').count() + 1;
    text.push_str(&sql);
    text.push('\n');
    statements.push(PlannedStatement {
        sql,
        line,
        destructive: None,
        expect: None,
        table: Some(table.to_string()),
        foreign_key_check: false,
        file: None,
        ledger_row: false,
    });
}

/// Refuses values SQLite could not store exactly or a type that is not a type.
fn validate(column: &str, tenant: &str, column_type: &str) -> Result<()> {
    if column.is_empty() || column.contains('\0') {
        return Err(Error::InvalidArgument(BadArgument::ColumnName));
    }
    if tenant.is_empty() {
        return Err(Error::InvalidArgument(BadArgument::TenantEmpty));
    }
    if tenant.contains('\0') {
        return Err(Error::InvalidArgument(BadArgument::TenantNul));
    }
    let type_ok = !column_type.trim().is_empty()
        && column_type.chars().all(|c| c.is_ascii_alphanumeric() || " _(),".contains(c))
        && column_type.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !type_ok {
        return Err(Error::InvalidArgument(BadArgument::ColumnType(column_type.to_string())));
    }
    Ok(())
}

fn existing_names(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt = conn
        .prepare("SELECT lower(name) FROM main.sqlite_schema")
        .map_err(|e| Error::sqlite("reading the schema's names", e))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<HashSet<String>>>())
        .map_err(|e| Error::sqlite("reading the schema's names", e))?;
    Ok(names)
}

/// `base`, or `base_2`, `base_3`, … — the first not already used (names compare without case).
fn unique_name(base: &str, taken: &mut HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains(&name.to_lowercase()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.insert(name.to_lowercase());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_never_collide() {
        let mut taken: HashSet<String> = ["idx_t_tenant_id".to_string(), "idx_t_tenant_id_2".to_string()].into();
        assert_eq!(unique_name("idx_t_tenant_id", &mut taken), "idx_t_tenant_id_3");
        assert_eq!(unique_name("IDX_T_TENANT_ID", &mut taken), "IDX_T_TENANT_ID_4");
    }

    #[test]
    fn types_and_values_are_checked() {
        assert!(validate("tenant_id", "acme", "VARCHAR(255)").is_ok());
        assert!(validate("tenant_id", "a'b\n☕", "TEXT").is_ok());
        assert!(validate("tenant_id", "", "TEXT").is_err());
        assert!(validate("tenant_id", "a\0b", "TEXT").is_err());
        assert!(validate("tenant_id", "acme", "TEXT; DROP TABLE x").is_err());
    }
}
