//! The isolation fix: chosen unique keys rewritten to lead with the tenant column, by SQLite's
//! documented 12-step table rebuild, generated from each table's own CREATE statement.
//!
//! In one transaction, with foreign keys off (the engine's connections always run so, which
//! keeps `DROP TABLE` from cascading deletes into the tables that reference it):
//! 1. every view and trigger that names a rebuilt table is dropped (the rename checks them);
//! 2. per table: `CREATE TABLE "cutover_new_…"` with the key rewritten and everything else as
//!    written, every row copied with its row id, the AUTOINCREMENT counter carried over, the
//!    old table dropped, the new one renamed, its indexes made again;
//! 3. unique indexes made by CREATE INDEX are made again with the tenant column first;
//! 4. the views and triggers are made again from their own text, in their order;
//! 5. `PRAGMA foreign_key_check` of every rebuilt table and every table that references one.
//!
//! The verification holds the result to the plan: the new CREATE statements exactly, every
//! other schema object byte for byte, every row and value of every table.

mod copy;
mod definition;
mod dependents;
mod foreign;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::audit::schema;
use crate::error::{Error, Result};
use crate::isolate::second_tenant::SecondTenant;
use crate::plan::lexer;
use crate::plan::{Plan, PlanSource, PlannedStatement};
use crate::refusal::Refusal;
use crate::sql;
use crate::verify::snapshot::{self, SchemaObject};
use definition::{Definition, KeyKind};
use foreign::{carried_violations, checked_tables, referenced_by};

/// One unique key the technician chose to scope per tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChoice {
    /// The table.
    pub table: String,
    /// The index that enforces the key (`sqlite_autoindex_…` for a constraint).
    pub index: String,
}

/// What a rebuild is asked for.
#[derive(Debug, Clone)]
pub struct RebuildRequest<'a> {
    /// The tenant column the keys are to lead with.
    pub column: &'a str,
    /// The keys to rewrite.
    pub keys: &'a [KeyChoice],
    /// What a second tenant met before, for the report and the check.
    pub before: Option<SecondTenant>,
    /// The tenant registry (table, column): each rebuilt table also gets
    /// `FOREIGN KEY (tenant) REFERENCES registry(column)`.
    pub registry: Option<(String, String)>,
}

/// A key as it was and as it is after the rebuild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rescoped {
    /// The table.
    pub table: String,
    /// The constraint as written before: `"sku" UNIQUE`, `UNIQUE (store_id, name)`.
    pub before: String,
    /// As written after: `UNIQUE ("tenant_id", "sku")`.
    pub after: String,
    /// Its columns before (a CREATE INDEX key: the index's name), to tell its refusals.
    #[serde(default)]
    pub columns: Vec<String>,
    /// The index that enforces it, for a unique index made by CREATE INDEX.
    #[serde(default)]
    pub index: Option<String>,
}

/// A table the rebuild recreates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebuiltTable {
    /// The table.
    pub table: String,
    /// Its CREATE statement before.
    pub before: String,
    /// Its CREATE statement after, as SQLite stores it once renamed.
    pub after: String,
    /// Its unique keys after (each a list of columns, lower case, sorted list of lists): what
    /// SQLite itself must report for it.
    pub keys: Vec<Vec<String>>,
}

/// A unique index made by CREATE INDEX, made again with the tenant column first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescopedIndex {
    /// The table.
    pub table: String,
    /// The index.
    pub index: String,
    /// Its CREATE statement before.
    pub before: String,
    /// After.
    pub after: String,
}

/// What an isolation rebuild changes, and nothing else may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebuildSpec {
    /// The tenant column the keys now lead with.
    pub column: String,
    /// Every key rewritten.
    pub keys: Vec<Rescoped>,
    /// The tables recreated.
    pub tables: Vec<RebuiltTable>,
    /// The unique indexes made again.
    pub indexes: Vec<RescopedIndex>,
    /// Views and triggers dropped and made again unchanged (`view "v"`).
    pub dependents: Vec<String>,
    /// What a second tenant met on a copy of the file the plan was made for.
    #[serde(default)]
    pub second_tenant: Option<SecondTenant>,
    /// The foreign key to the tenant registry each rebuilt table gained, if asked for.
    #[serde(default)]
    pub registry: Option<String>,
    /// Rebuilt WITHOUT ROWID tables whose layout older SQLite's integrity_check misreads.
    #[serde(default)]
    pub older_sqlite: Vec<String>,
    /// Foreign-key violations the checked tables already had (rows pointing at no parent):
    /// kept as they were, row for row, and not blocking the rebuild.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<crate::verify::snapshot::FkViolation>,
}

impl RebuildSpec {
    /// What the rebuild makes, in a few words for both faces: `14 keys now lead with tenant_id
    /// (14 tables rebuilt)`.
    pub fn summary(&self) -> String {
        let n = self.keys.len();
        format!(
            "{} now lead{} with {} ({} rebuilt{})",
            counted(n, "key", "keys"),
            if n == 1 { "s" } else { "" },
            self.column,
            counted(self.tables.len(), "table", "tables"),
            if self.registry.is_some() { ", each with a foreign key to the tenant registry" } else { "" }
        )
    }
}

/// Builds the rebuild of the keys `chosen` on the database `conn` reads. Refused, before
/// anything runs, when a key cannot be rewritten safely: it is the row id, another table's
/// foreign key points at it, a table already has foreign-key violations, or its CREATE
/// statement cannot be read.
pub fn generate(conn: &Connection, req: RebuildRequest<'_>) -> Result<Plan> {
    let (column, chosen) = (req.column, req.keys);
    let refuse = |table: &str, why: String| Error::NotReady(Refusal::CannotRescope { table: table.to_string(), why });
    let read = |what: &str, e: rusqlite::Error| Error::sqlite(format!("planning the rebuild ({what})"), e);
    let objects = snapshot::schema(conn).map_err(|e| read("reading the schema", e))?;
    let mut keys = Vec::new();
    let mut definitions: Vec<(String, Definition, Vec<Vec<String>>)> = Vec::new();
    let mut indexes = Vec::new();
    for choice in chosen {
        let found = schema::indexes(conn, &choice.table).map_err(|e| read("reading the indexes", e))?;
        let Some(index) = found.iter().find(|i| i.name == choice.index && i.unique) else {
            return Err(refuse(&choice.table, format!("it has no unique key {}", sql::ident(&choice.index))));
        };
        if index.columns.iter().any(|c| c.eq_ignore_ascii_case(column)) {
            continue;
        }
        if let Some(child) = referenced_by(conn, &objects, &choice.table, &index.columns).map_err(|e| read("reading the foreign keys", e))? {
            return Err(refuse(
                &choice.table,
                format!(
                    "its key ({}) is what a foreign key of {} points at; with {} in front it would no longer be a key that foreign key can use — change that foreign key first",
                    list(&index.columns),
                    sql::ident(&child),
                    sql::ident(column)
                ),
            ));
        }
        if index.origin == "c" {
            let before = objects.iter().find(|o| o.kind == "index" && o.name == index.name).map(|o| o.sql.clone());
            let after = before.as_deref().and_then(|s| rescope_index(s, column));
            let (Some(before), Some(after)) = (before, after) else {
                return Err(refuse(&choice.table, format!("the CREATE statement of {} could not be read", sql::ident(&index.name))));
            };
            keys.push(Rescoped {
                table: choice.table.clone(),
                before: before.clone(),
                after: after.clone(),
                columns: index.columns.clone(),
                index: Some(index.name.clone()),
            });
            indexes.push(RescopedIndex { table: choice.table.clone(), index: index.name.clone(), before, after });
            continue;
        }
        let kind = if index.origin == "pk" { KeyKind::Primary } else { KeyKind::Unique };
        let at = match definitions.iter().position(|(t, ..)| t == &choice.table) {
            Some(at) => at,
            None => {
                let sql = objects.iter().find(|o| o.kind == "table" && o.name == choice.table).map(|o| o.sql.as_str());
                let Some(d) = sql.and_then(Definition::read) else {
                    return Err(refuse(&choice.table, "its CREATE statement could not be read".into()));
                };
                let keys_now = found
                    .iter()
                    .filter(|i| i.unique && i.origin != "c")
                    .map(|i| i.columns.iter().map(|c| c.to_lowercase()).collect())
                    .collect();
                definitions.push((choice.table.clone(), d, keys_now));
                definitions.len() - 1
            }
        };
        let (_, d, keys_after) = &mut definitions[at];
        let Some((before, after)) = d.rescope(kind, &index.columns, column) else {
            return Err(refuse(
                &choice.table,
                format!("its key ({}) was not found as written in its CREATE statement (or it is the row id)", list(&index.columns)),
            ));
        };
        // SQLite enforces identical constraints (`code UNIQUE, …, UNIQUE (code)`) with one index:
        // every one of them is rewritten, or the old key would stay.
        while d.rescope(kind, &index.columns, column).is_some() {}
        let old: Vec<String> = index.columns.iter().map(|c| c.to_lowercase()).collect();
        if let Some(k) = keys_after.iter_mut().find(|k| **k == old) {
            k.insert(0, column.to_lowercase());
        }
        keys.push(Rescoped { table: choice.table.clone(), before, after, columns: index.columns.clone(), index: None });
    }
    let registry = match &req.registry {
        Some((rt, rc)) => Some(registry_key(conn, &mut definitions, column, (rt, rc))?),
        None => None,
    };
    let tables: Vec<String> = definitions.iter().map(|(t, ..)| t.clone()).collect();
    let carried = carried_violations(conn, &objects, &tables).map_err(|(t, why)| refuse(&t, why))?;
    let dependents = dependents::of(&objects, &tables);
    let mut out = Writer::new(column);
    for o in dependents.iter().rev() {
        out.push(&o.table, format!("DROP {} {};", o.kind.to_uppercase(), sql::ident(&o.name)));
    }
    let mut rebuilt = Vec::new();
    for (table, d, mut keys_after) in definitions {
        let staged = free_name(&objects, &format!("cutover_new_{table}"));
        out.comment(&format!("{}: {}", sql::ident(&table), keys.iter().filter(|k| k.table == table).map(|k| format!("{} → {}", k.before, k.after)).collect::<Vec<_>>().join("; ")));
        out.push(&table, format!("{};", d.render(&staged)));
        let copy = copy::rows(conn, &table, &staged).map_err(|e| read("reading the columns", e))?.ok_or_else(|| {
            refuse(
                &table,
                "its row ids cannot be named in SQL (it has columns called rowid, _rowid_ and oid), so a rebuild could not keep them".into(),
            )
        })?;
        out.push(&table, copy);
        if lexer::spans(&d.render(&table)).iter().any(|s| s.is("AUTOINCREMENT"))
            && objects.iter().any(|o| o.kind == "table" && o.name == "sqlite_sequence")
        {
            // The counter's own row is handed to the new table, so it keeps its value and place.
            out.push(&table, format!("DELETE FROM sqlite_sequence WHERE name = {};", sql::literal(&staged)));
            out.push(
                &table,
                format!("UPDATE sqlite_sequence SET name = {} WHERE name = {};", sql::literal(&staged), sql::literal(&table)),
            );
        }
        out.push(&table, format!("DROP TABLE {};", sql::ident(&table)));
        out.push(&table, format!("ALTER TABLE {} RENAME TO {};", sql::ident(&staged), sql::ident(&table)));
        for o in objects.iter().filter(|o| o.kind == "index" && o.table == table && !o.sql.is_empty()) {
            let made = indexes.iter().find(|i| i.index == o.name).map_or(&o.sql, |i| &i.after);
            out.push(&table, format!("{made};"));
        }
        keys_after.sort();
        rebuilt.push(RebuiltTable {
            table: table.clone(),
            before: objects.iter().find(|o| o.kind == "table" && o.name == table).map(|o| o.sql.clone()).unwrap_or_default(),
            after: d.render(&table),
            keys: keys_after,
        });
    }
    for i in indexes.iter().filter(|i| !tables.contains(&i.table)) {
        out.push(&i.table, format!("DROP INDEX {};", sql::ident(&i.index)));
        out.push(&i.table, format!("{};", i.after));
    }
    for o in &dependents {
        out.push(&o.table, format!("{};", o.sql));
    }
    // SQLite drops a table's planner statistics with it: gather them again where there were some.
    let mut analyzed = false;
    for t in tables.iter().filter(|t| had_statistics(conn, &objects, t)) {
        out.push(t, format!("ANALYZE main.{};", sql::ident(t)));
        analyzed = true;
    }
    // ANALYZE makes sqlite_stat4 where this SQLite has it; a file that had none keeps none.
    if analyzed && !objects.iter().any(|o| o.kind == "table" && o.name == "sqlite_stat4") {
        out.push("sqlite_stat4", "DROP TABLE IF EXISTS main.sqlite_stat4;".into());
    }
    for t in checked_tables(conn, &objects, &tables).map_err(|e| read("reading the foreign keys", e))? {
        out.check(&t);
    }
    let spec = RebuildSpec {
        column: column.to_string(),
        keys,
        tables: rebuilt,
        indexes,
        dependents: dependents.iter().map(|o| format!("{} {}", o.kind, sql::ident(&o.name))).collect(),
        second_tenant: req.before,
        registry,
        older_sqlite: Vec::new(),
        carried,
    };
    let count = |kind: &str| dependents.iter().filter(|o| o.kind == kind).count();
    let old_sqlite = older_sqlite_misreads(conn, &spec).map_err(|e| read("reading the columns", e))?;
    let mut spec = spec;
    spec.older_sqlite = old_sqlite.clone();
    let notices = vec![format!(
        "rebuilds {} and {} so their keys lead with {}; {} and {} that depend on them are made again unchanged",
        counted(spec.tables.len(), "table", "tables"),
        counted(spec.indexes.len(), "unique index", "unique indexes"),
        sql::ident(column),
        counted(count("view"), "view", "views"),
        counted(count("trigger"), "trigger", "triggers"),
    )];
    let mut notices = if out.statements.is_empty() { Vec::new() } else { notices };
    if !spec.carried.is_empty() {
        // First: the wizard's plan screen shows the first notice, and its head says the rest.
        notices.insert(0, format!(
            "{} found before, kept as they were: {} — the rebuild copies those rows as they are, and its foreign_key_check fails only on a violation it makes",
            counted(spec.carried.len(), "foreign-key violation", "foreign-key violations"),
            foreign::listed(&spec.carried)
        ));
    }
    if !old_sqlite.is_empty() {
        notices.push(format!(
            "{}: WITHOUT ROWID with a primary key that now starts with a column declared after others. Older SQLite (3.40 was seen to) wrongly reports such a table's NOT NULL columns as NULL in `PRAGMA integrity_check`; the data is sound and this SQLite ({}) checks it. If the shop's application runs integrity_check with an older SQLite, leave them out (--skip)",
            old_sqlite.iter().map(|t| sql::ident(t)).collect::<Vec<_>>().join(", "),
            rusqlite::version()
        ));
    }
    Ok(Plan::new(PlanSource::Rebuild(spec), out.statements, notices, out.text))
}

/// The plan's text and statements, line by line.
struct Writer {
    text: String,
    statements: Vec<PlannedStatement>,
}

impl Writer {
    fn new(column: &str) -> Writer {
        let text = format!(
            "-- Isolation fix: unique keys scoped per tenant ({}), by SQLite's 12-step table rebuild.\n\
             -- One transaction, foreign keys off: every row is copied with its row id, nothing cascades.\n",
            sql::ident(column)
        );
        Writer { text, statements: Vec::new() }
    }

    fn comment(&mut self, line: &str) {
        self.text.push_str(&format!("-- {}\n", line.replace('\n', " ")));
    }

    fn push(&mut self, table: &str, sql: String) {
        self.add(table, sql, false);
    }

    fn check(&mut self, table: &str) {
        self.add(table, format!("PRAGMA foreign_key_check({});", sql::ident(table)), true);
    }

    fn add(&mut self, table: &str, sql: String, foreign_key_check: bool) {
        let line = self.text.matches('\n').count() + 1;
        self.text.push_str(&sql);
        self.text.push('\n');
        self.statements.push(PlannedStatement {
            sql,
            line,
            destructive: None,
            expect: None,
            table: Some(table.to_string()),
            foreign_key_check,
            file: None,
            ledger_row: false,
        });
    }
}

/// `CREATE UNIQUE INDEX i ON t (a)` → `… ON t ("tenant", a)`, everything else kept.
fn rescope_index(sql_text: &str, column: &str) -> Option<String> {
    let spans = lexer::spans(sql_text);
    let on = spans.iter().position(|s| s.is("ON"))?;
    let open = spans[on..].iter().find(|s| s.token == lexer::Token::Mark('('))?;
    let mut out = sql_text.to_string();
    out.insert_str(open.end, &format!("{}, ", sql::ident(column)));
    Some(out)
}

/// Adds `FOREIGN KEY (column) REFERENCES registry` to every table rebuilt (but the registry and
/// a table whose tenant column has a foreign key already); refused where a row holds a tenant
/// the registry does not.
fn registry_key(
    conn: &Connection,
    definitions: &mut [(String, Definition, Vec<Vec<String>>)],
    column: &str,
    (rt, rc): (&str, &str),
) -> Result<String> {
    let read = |e| Error::sqlite("planning the rebuild (reading the tenant registry)", e);
    let fk = format!("FOREIGN KEY ({}) REFERENCES {}({})", sql::ident(column), sql::ident(rt), sql::ident(rc));
    for (table, d, _) in definitions.iter_mut() {
        if table.eq_ignore_ascii_case(rt) {
            continue;
        }
        let own = schema::foreign_keys(conn, table).map_err(read)?;
        if own.iter().any(|f| matches!(f.from.as_slice(), [c] if c.eq_ignore_ascii_case(column))) {
            continue;
        }
        let q = format!(
            "SELECT count(*) FROM main.{0} WHERE NOT EXISTS (SELECT 1 FROM main.{1} WHERE {1}.{2} = {0}.{3})",
            sql::ident(table),
            sql::ident(rt),
            sql::ident(rc),
            sql::ident(column)
        );
        let strays: i64 = conn.query_row(&q, [], |r| r.get(0)).map_err(read)?;
        if strays > 0 {
            let why = format!(
                "{strays} of its rows hold a tenant {} does not register: register it first, or leave the registry's foreign key out",
                sql::ident(rt)
            );
            return Err(Error::NotReady(Refusal::CannotRescope { table: table.clone(), why }));
        }
        d.append(fk.clone());
    }
    Ok(fk)
}

/// The rebuilt WITHOUT ROWID tables whose primary key now has a column declared after one that
/// is not in the key, with a NOT NULL column outside the key: a layout SQLite 3.40's
/// integrity_check misreads (it reports that column NULL).
fn older_sqlite_misreads(conn: &Connection, spec: &RebuildSpec) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for t in &spec.tables {
        if !schema::list_entry(conn, &t.table)?.is_some_and(|e| e.without_rowid) {
            continue;
        }
        let columns = schema::columns(conn, &t.table)?;
        let Some(tenant) = columns.iter().position(|c| c.name.eq_ignore_ascii_case(&spec.column)) else { continue };
        let rescoped_pk = spec.keys.iter().any(|k| k.table == t.table && k.after.contains("PRIMARY KEY"));
        // What 3.40 misreads is a NOT NULL column outside the key (seen: reported as NULL).
        let not_null_outside =
            columns.iter().any(|c| c.pk == 0 && c.not_null && !c.name.eq_ignore_ascii_case(&spec.column));
        if rescoped_pk && not_null_outside && columns[..tenant].iter().any(|c| c.pk == 0) {
            out.push(t.table.clone());
        }
    }
    Ok(out)
}

/// Whether `sqlite_stat1` holds statistics of `table`.
fn had_statistics(conn: &Connection, objects: &[SchemaObject], table: &str) -> bool {
    objects.iter().any(|o| o.kind == "table" && o.name == "sqlite_stat1")
        && conn
            .query_row("SELECT count(*) FROM main.sqlite_stat1 WHERE tbl = ?1", [table], |r| r.get::<_, i64>(0))
            .is_ok_and(|n| n > 0)
}

/// `base`, or `base_2`, `base_3` … : a name no schema object has.
fn free_name(objects: &[SchemaObject], base: &str) -> String {
    let taken = |n: &str| objects.iter().any(|o| o.name.eq_ignore_ascii_case(n));
    let mut name = base.to_string();
    let mut k = 2;
    while taken(&name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    name
}

fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn list(columns: &[String]) -> String {
    columns.iter().map(|c| sql::ident(c)).collect::<Vec<_>>().join(", ")
}
