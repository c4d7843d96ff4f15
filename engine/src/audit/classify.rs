//! Deciding, per table, what the tenant migration does with it and why.

use serde::Serialize;

use crate::audit::schema::{Column, Index};
use crate::sql;

/// What kind of table this is, as far as adding a column is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// A plain rowid table.
    Ordinary,
    /// A WITHOUT ROWID table (not STRICT).
    WithoutRowid,
    /// A STRICT table (possibly also WITHOUT ROWID): new columns must use a strict type.
    Strict,
    /// A virtual table: ALTER TABLE cannot add columns to it.
    Virtual,
    /// A shadow table holding a virtual table's data; owned by its module.
    Shadow,
    /// SQLite's own bookkeeping (`sqlite_sequence`, `sqlite_stat1`, …).
    Internal,
}

impl TableKind {
    /// The kind as the report prints it.
    pub fn label(self) -> &'static str {
        match self {
            TableKind::Ordinary => "ordinary",
            TableKind::WithoutRowid => "without rowid",
            TableKind::Strict => "strict",
            TableKind::Virtual => "virtual",
            TableKind::Shadow => "shadow",
            TableKind::Internal => "internal",
        }
    }
}

/// What the migration does with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The column (and its index) will be added.
    Migrate,
    /// Left alone because of what the table is or already has.
    Skip,
    /// Left out on purpose: by the technician, or because it is the tenant registry.
    Excluded,
}

impl Decision {
    /// The decision as the report prints it.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Migrate => "migrate",
            Decision::Skip => "skip",
            Decision::Excluded => "excluded",
        }
    }
}

/// How long and heavy the table's migration is, by its row count. Adding the column only
/// rewrites the schema; building the index reads and sorts every row, holding the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// No rows.
    Empty,
    /// Under 100,000 rows: the index builds in well under a second.
    Low,
    /// Under 5,000,000 rows: seconds.
    Medium,
    /// 5,000,000 rows or more: plan for a longer lock.
    High,
    /// The rows could not be counted (a virtual table whose module is missing).
    Unknown,
}

impl Risk {
    /// Classifies a row count.
    pub fn from_rows(rows: Option<u64>) -> Risk {
        match rows {
            None => Risk::Unknown,
            Some(0) => Risk::Empty,
            Some(n) if n < 100_000 => Risk::Low,
            Some(n) if n < 5_000_000 => Risk::Medium,
            Some(_) => Risk::High,
        }
    }

    /// The risk as the report prints it.
    pub fn label(self) -> &'static str {
        match self {
            Risk::Empty => "empty",
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Unknown => "unknown",
        }
    }
}

/// The tenant column a table already has, and how it compares with what the plan would add.
#[derive(Debug, Clone, Serialize)]
pub struct TenantColumn {
    /// The column's name as declared (may differ in letter case).
    pub name: String,
    /// Declared type.
    pub decl_type: String,
    /// Declared NOT NULL.
    pub not_null: bool,
    /// Default as written in the schema.
    pub default: Option<String>,
    /// NOT NULL with the expected default (or any default, when no tenant value is known yet).
    pub matches: bool,
    /// What differs, in words, when it does not match.
    pub problem: Option<String>,
    /// An index has the column as its first key.
    pub indexed: bool,
}

/// Finds the tenant column (names compare case-insensitively, as SQLite compares them).
pub fn tenant_column(
    columns: &[Column],
    indexes: &[Index],
    wanted: &str,
    tenant: Option<&str>,
) -> Option<TenantColumn> {
    let col = columns.iter().find(|c| c.name.eq_ignore_ascii_case(wanted))?;
    let mut problems = Vec::new();
    if !col.not_null {
        problems.push("it allows NULL".to_string());
    }
    match (&col.default, tenant) {
        (None, _) => problems.push("it has no default".to_string()),
        (Some(d), Some(t)) if sql::unquote_literal(d).as_deref() != Some(t) => {
            problems.push(format!("its default is {d}, not {}", sql::literal(t)));
        }
        _ => {}
    }
    let indexed = indexes.iter().any(|i| i.columns.first().is_some_and(|c| c.eq_ignore_ascii_case(wanted)));
    Some(TenantColumn {
        name: col.name.clone(),
        decl_type: col.decl_type.clone(),
        not_null: col.not_null,
        default: col.default.clone(),
        matches: problems.is_empty(),
        problem: (!problems.is_empty()).then(|| problems.join(" and ")),
        indexed,
    })
}

/// A UNIQUE or PRIMARY KEY constraint without the tenant column: once a second tenant's rows
/// arrive, a value one tenant uses blocks every other tenant from using it.
#[derive(Debug, Clone, Serialize)]
pub struct UniqueRisk {
    /// The index enforcing it.
    pub index: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The constraint as a person reads it: `UNIQUE (sku)`.
    pub description: String,
}

/// The unique constraints of a table that do not include the tenant column.
pub fn unique_risks(indexes: &[Index], column: &str) -> Vec<UniqueRisk> {
    indexes
        .iter()
        .filter(|i| i.unique && !i.columns.iter().any(|c| c.eq_ignore_ascii_case(column)))
        .map(|i| {
            let cols = i.columns.join(", ");
            let description = match i.origin.as_str() {
                "pk" => format!("PRIMARY KEY ({cols})"),
                "u" => format!("UNIQUE ({cols})"),
                _ => {
                    format!("UNIQUE INDEX {} ({cols}){}", sql::ident(&i.name), if i.partial { " WHERE …" } else { "" })
                }
            };
            UniqueRisk { index: i.name.clone(), columns: i.columns.clone(), description }
        })
        .collect()
}

/// True for a table whose name says it registers tenants: `tenants`, `tenant`, `*_tenants`.
pub fn looks_like_registry(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower == "tenants" || lower == "tenant" || lower.ends_with("_tenants")
}

/// True for a table that records the schema's migration history (`_migrations`,
/// `schema_migrations`, `__diesel_schema_migrations`, `flyway_schema_history`, …): it belongs to
/// the database, not to any one tenant.
pub fn looks_like_bookkeeping(name: &str) -> bool {
    let lower = name.to_lowercase();
    let bare = lower.trim_start_matches('_');
    bare == "migrations" || bare.ends_with("schema_migrations") || bare.ends_with("schema_history")
}

/// The decision and its reason for a table that is neither excluded nor special.
pub fn decide_by_column(kind: TableKind, column: &str, found: Option<&TenantColumn>) -> (Decision, String) {
    let Some(tc) = found else {
        let reason = match kind {
            TableKind::Strict => format!("no {column} column yet; STRICT, so it is added as TEXT"),
            TableKind::WithoutRowid => format!("no {column} column yet (WITHOUT ROWID table)"),
            _ => format!("no {column} column yet"),
        };
        return (Decision::Migrate, reason);
    };
    let spelled = if tc.name == column { String::new() } else { format!(" (spelled {})", tc.name) };
    let reason = match (&tc.problem, tc.indexed) {
        (Some(problem), _) => {
            format!("already has column {column}{spelled}, but {problem} — review it by hand")
        }
        (None, true) => format!("already has column {column}{spelled}"),
        (None, false) => format!("already has column {column}{spelled}; the plan adds its index"),
    };
    (Decision::Skip, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, not_null: bool, default: Option<&str>) -> Column {
        Column {
            name: name.into(),
            decl_type: "TEXT".into(),
            not_null,
            default: default.map(Into::into),
            pk: 0,
            generated: false,
            hidden: false,
        }
    }

    #[test]
    fn column_match_needs_not_null_and_the_same_default() {
        let ok = tenant_column(&[col("tenant_id", true, Some("'acme'"))], &[], "tenant_id", Some("acme")).unwrap();
        assert!(ok.matches);
        let other = tenant_column(&[col("TENANT_ID", true, Some("'beta'"))], &[], "tenant_id", Some("acme")).unwrap();
        assert!(!other.matches);
        assert_eq!(other.problem.as_deref(), Some("its default is 'beta', not 'acme'"));
        let nullable = tenant_column(&[col("tenant_id", false, None)], &[], "tenant_id", None).unwrap();
        assert_eq!(nullable.problem.as_deref(), Some("it allows NULL and it has no default"));
        assert!(tenant_column(&[col("tenant", true, None)], &[], "tenant_id", None).is_none());
    }

    #[test]
    fn risk_follows_rows() {
        assert_eq!(Risk::from_rows(Some(0)), Risk::Empty);
        assert_eq!(Risk::from_rows(Some(99_999)), Risk::Low);
        assert_eq!(Risk::from_rows(Some(5_000_000)), Risk::High);
        assert_eq!(Risk::from_rows(None), Risk::Unknown);
    }

    #[test]
    fn registry_names() {
        assert!(looks_like_registry("Tenants"));
        assert!(looks_like_registry("app_tenants"));
        assert!(!looks_like_registry("tenant_settings"));
    }

    #[test]
    fn bookkeeping_names() {
        assert!(looks_like_bookkeeping("_migrations"));
        assert!(looks_like_bookkeeping("__diesel_schema_migrations"));
        assert!(looks_like_bookkeeping("flyway_schema_history"));
        assert!(!looks_like_bookkeeping("migration_notes"));
    }
}
