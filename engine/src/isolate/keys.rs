//! Unique keys and foreign keys of the tenant tables that leave the tenant column out.

use super::{Concern, IsolationFinding};
use crate::audit::{AuditReport, TableAudit};
use crate::sql;

/// Every unique key and foreign key of the tenant tables that ignores the tenant column.
pub fn findings(audit: &AuditReport, tenant_tables: &[String], index_sql: &dyn Fn(&str) -> Option<String>) -> Vec<IsolationFinding> {
    let column = &audit.column;
    let mut out = Vec::new();
    for t in audit.tables.iter().filter(|t| tenant_tables.contains(&t.name)) {
        for i in t.indexes.iter().filter(|i| i.unique && !i.columns.iter().any(|c| c.eq_ignore_ascii_case(column))) {
            // An expression key has no name to quote.
            let cols = i
                .columns
                .iter()
                .map(|c| if c == "<expr>" { "<expression>".to_string() } else { sql::ident(c) })
                .collect::<Vec<_>>()
                .join(", ");
            let scoped = format!("{}, {cols}", sql::ident(column));
            let (written, fix) = match i.origin.as_str() {
                "pk" => (format!("PRIMARY KEY ({cols})"), format!("PRIMARY KEY ({scoped})")),
                "u" => (format!("UNIQUE ({cols})"), format!("UNIQUE ({scoped})")),
                _ => (
                    format!("UNIQUE INDEX {} ({cols}){}", sql::ident(&i.name), if i.partial { " WHERE …" } else { "" }),
                    format!("UNIQUE INDEX {} ({scoped}){}", sql::ident(&i.name), if i.partial { " WHERE …" } else { "" }),
                ),
            };
            let natural = !surrogate(t, &i.origin, &i.columns);
            let pointed_at = referenced_by(audit, t, &i.columns);
            // A partial index whose WHERE names the tenant column has a tenant written into it.
            let tenant_in_where = i.partial && index_sql(&i.name).is_some_and(|s| where_names(&s, column));
            let (why, fix) = if tenant_in_where {
                (
                    format!(
                        "its WHERE names {}: it holds only for the tenant written there, and for every other shop no key holds at all",
                        sql::ident(column)
                    ),
                    format!("by hand: {fix}, with the tenant taken out of its WHERE; not proposed (cutover does not rewrite a WHERE)"),
                )
            } else if let (true, Some(child)) = (natural, &pointed_at) {
                (
                    format!("one shop's {cols} blocks every other shop from using the same value in {}", sql::ident(&t.name)),
                    format!(
                        "{fix}, once the foreign key of {} that points at it also carries {}: not proposed until then",
                        sql::ident(child),
                        sql::ident(column)
                    ),
                )
            } else if natural {
                (
                    format!("one shop's {cols} blocks every other shop from using the same value in {}", sql::ident(&t.name)),
                    fix,
                )
            } else {
                (
                    format!(
                        "a surrogate integer key of {}: it blocks another shop only where their numbers overlap",
                        sql::ident(&t.name)
                    ),
                    "none proposed (a surrogate key); scope it if shops number their rows themselves".to_string(),
                )
            };
            out.push(IsolationFinding {
                concern: Concern::UniqueKey {
                    table: t.name.clone(),
                    index: i.name.clone(),
                    columns: i.columns.clone(),
                    natural,
                },
                written,
                why,
                fix,
                proposed: natural && pointed_at.is_none() && !tenant_in_where,
            });
        }
        for fk in &t.foreign_keys {
            let Some(parent) = audit.tables.iter().find(|p| p.name.eq_ignore_ascii_case(&fk.table)) else { continue };
            // A shared table (the registry, one left out) has no tenant to keep apart.
            if !tenant_tables.contains(&parent.name) {
                continue;
            }
            let key = if fk.to.is_empty() { primary_key(parent) } else { fk.to.clone() };
            // Kept apart only when the child's own tenant column is what meets the parent's.
            let matched = key.iter().position(|c| c.eq_ignore_ascii_case(column)).is_some_and(|k| {
                fk.from.get(k).is_some_and(|c| c.eq_ignore_ascii_case(column))
            });
            if matched {
                continue;
            }
            let list = |v: &[String]| v.iter().map(|c| sql::ident(c)).collect::<Vec<_>>().join(", ");
            let (from, to, tc) = (list(&fk.from), list(&key), sql::ident(column));
            out.push(IsolationFinding {
                concern: Concern::ForeignKey {
                    table: t.name.clone(),
                    columns: fk.from.clone(),
                    parent: parent.name.clone(),
                    parent_columns: fk.to.clone(),
                },
                written: format!("FOREIGN KEY ({from}) REFERENCES {}({to})", sql::ident(&parent.name)),
                why: format!(
                    "a row of one shop in {} can point at another shop's row of {}",
                    sql::ident(&t.name),
                    sql::ident(&parent.name)
                ),
                fix: format!(
                    "FOREIGN KEY ({tc}, {from}) REFERENCES {}({tc}, {to}), with UNIQUE ({tc}, {to}) on {}",
                    sql::ident(&parent.name),
                    sql::ident(&parent.name)
                ),
                proposed: false,
            });
        }
    }
    out
}

/// Whether the WHERE of an index's CREATE statement names `column`.
fn where_names(sql_text: &str, column: &str) -> bool {
    let spans = crate::plan::lexer::spans(sql_text);
    let Some(at) = spans.iter().position(|s| s.is("WHERE")) else { return false };
    spans[at..].iter().any(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(column)))
}

/// A table whose foreign key points at exactly `columns` of `t` (its primary key when the
/// foreign key names none): a rewritten key would leave that foreign key without its parent key.
fn referenced_by(audit: &AuditReport, t: &TableAudit, columns: &[String]) -> Option<String> {
    let set = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|c| c.to_lowercase()).collect();
        v.sort();
        v
    };
    let pk = primary_key(t);
    audit.tables.iter().find_map(|child| {
        child
            .foreign_keys
            .iter()
            .filter(|fk| fk.table.eq_ignore_ascii_case(&t.name))
            .any(|fk| set(if fk.to.is_empty() { &pk } else { &fk.to }) == set(columns))
            .then(|| child.name.clone())
    })
}

/// A key the database hands out: the single integer column of a table's primary key.
fn surrogate(t: &TableAudit, origin: &str, columns: &[String]) -> bool {
    let [only] = columns else { return false };
    origin == "pk"
        && t.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(only))
            .is_some_and(|c| c.decl_type.to_ascii_uppercase().contains("INT"))
}

/// A table's primary key columns in key order (`rowid` when it has none).
fn primary_key(t: &TableAudit) -> Vec<String> {
    let mut pk: Vec<(u32, String)> = t.columns.iter().filter(|c| c.pk > 0).map(|c| (c.pk, c.name.clone())).collect();
    pk.sort();
    if pk.is_empty() { vec!["rowid".into()] } else { pk.into_iter().map(|(_, n)| n).collect() }
}
