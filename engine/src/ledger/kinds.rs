//! The kinds of ledger cutover knows, how each is recognised by its table's shape, and how its
//! rows are read.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::Entry;
use crate::sql::ident;

/// A migration runner whose ledger cutover reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// A table of applied file names, as EasySale's `_migrations(id, name UNIQUE, applied_at)`.
    Names,
    /// sqlx: `_sqlx_migrations`, with the SHA-384 of each file.
    Sqlx,
    /// refinery: `refinery_schema_history`, with a SipHash of name, version and SQL.
    Refinery,
    /// diesel: `__diesel_schema_migrations`, one folder per migration.
    Diesel,
    /// goose: `goose_db_version`, Up and Down sections in one file.
    Goose,
    /// dbmate: `schema_migrations(version)`, `migrate:up` and `migrate:down` sections.
    Dbmate,
    /// Flyway: `flyway_schema_history`, with a CRC32 of each file's lines.
    Flyway,
    /// Prisma: `_prisma_migrations`, one folder per migration with its `migration.sql`.
    Prisma,
}

impl LedgerKind {
    /// Every kind, in the order they are listed to people.
    pub const ALL: [LedgerKind; 8] = [
        LedgerKind::Names,
        LedgerKind::Sqlx,
        LedgerKind::Refinery,
        LedgerKind::Diesel,
        LedgerKind::Goose,
        LedgerKind::Dbmate,
        LedgerKind::Flyway,
        LedgerKind::Prisma,
    ];

    /// The name `--ledger` takes.
    pub fn name(self) -> &'static str {
        match self {
            LedgerKind::Names => "names",
            LedgerKind::Sqlx => "sqlx",
            LedgerKind::Refinery => "refinery",
            LedgerKind::Diesel => "diesel",
            LedgerKind::Goose => "goose",
            LedgerKind::Dbmate => "dbmate",
            LedgerKind::Flyway => "flyway",
            LedgerKind::Prisma => "prisma",
        }
    }

    /// Whether its runner runs each migration inside a transaction of its own (EasySale's
    /// runs one statement at a time, Prisma's the whole file, neither in one).
    pub fn transactional(self) -> bool {
        !matches!(self, LedgerKind::Names | LedgerKind::Prisma)
    }

    /// The kind `--ledger NAME` names.
    pub fn parse(name: &str) -> Option<LedgerKind> {
        LedgerKind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Every kind's name, for the message refusing an unknown one.
    pub fn known() -> String {
        LedgerKind::ALL.map(LedgerKind::name).join(", ")
    }

    /// The tables this kind's runner keeps its ledger in.
    fn tables(self) -> &'static [&'static str] {
        match self {
            LedgerKind::Names => &["_migrations", "migrations", "__migrations"],
            LedgerKind::Sqlx => &["_sqlx_migrations"],
            LedgerKind::Refinery => &["refinery_schema_history"],
            LedgerKind::Diesel => &["__diesel_schema_migrations"],
            LedgerKind::Goose => &["goose_db_version"],
            LedgerKind::Dbmate => &["schema_migrations"],
            LedgerKind::Flyway => &["flyway_schema_history"],
            LedgerKind::Prisma => &["_prisma_migrations"],
        }
    }

    /// The kind whose ledger table is called `table`.
    pub fn by_table(table: &str) -> Option<LedgerKind> {
        LedgerKind::ALL.into_iter().find(|k| k.tables().iter().any(|t| t.eq_ignore_ascii_case(table)))
    }

    /// The columns its runner writes (all must be there for the table to be its ledger).
    fn columns(self) -> &'static [&'static str] {
        match self {
            LedgerKind::Names => &[],
            LedgerKind::Sqlx => &["version", "description", "installed_on", "success", "checksum", "execution_time"],
            LedgerKind::Refinery => &["version", "name", "applied_on", "checksum"],
            LedgerKind::Diesel => &["version", "run_on"],
            LedgerKind::Goose => &["id", "version_id", "is_applied", "tstamp"],
            LedgerKind::Dbmate => &["version"],
            LedgerKind::Flyway => &[
                "installed_rank",
                "version",
                "description",
                "type",
                "script",
                "checksum",
                "installed_by",
                "installed_on",
                "execution_time",
                "success",
            ],
            LedgerKind::Prisma => &[
                "id",
                "checksum",
                "finished_at",
                "migration_name",
                "logs",
                "rolled_back_at",
                "started_at",
                "applied_steps_count",
            ],
        }
    }
}

impl std::fmt::Display for LedgerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a time is written in a name ledger's time column, learned from its last row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeForm {
    /// `2026-12-08 13:47:00`, SQLite's `datetime('now')`.
    #[default]
    Sql,
    /// `2026-12-08T13:47:00Z`.
    Iso,
    /// Seconds since 1970.
    Unix,
}

/// How a name ledger's rows are written: learned from its table and its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// The column holding the migration's name.
    pub name_column: String,
    /// The column holding when it was applied, and the form of its values.
    pub time_column: Option<(String, TimeForm)>,
}

/// One column of a table, as `PRAGMA table_xinfo` gives it.
struct Column {
    name: String,
    pk: bool,
    declared: String,
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Column>> {
    let mut stmt = conn.prepare(&format!("PRAGMA main.table_xinfo({})", ident(table)))?;
    let rows = stmt.query_map([], |r| {
        Ok(Column {
            name: r.get(1)?,
            declared: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            pk: r.get::<_, i64>(5)? != 0,
        })
    })?;
    rows.collect()
}

/// Whether `column` alone is the table's primary key or carries a unique index.
fn unique(conn: &Connection, table: &str, cols: &[Column], column: &str) -> rusqlite::Result<bool> {
    if cols.iter().filter(|c| c.pk).count() == 1 && cols.iter().any(|c| c.pk && c.name.eq_ignore_ascii_case(column)) {
        return Ok(true);
    }
    let mut stmt = conn.prepare(&format!("PRAGMA main.index_list({})", ident(table)))?;
    // (name, unique, partial): a partial index is unique only over some rows.
    let indexes: Vec<(String, bool, bool)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get::<_, i64>(2)? != 0, r.get::<_, i64>(4)? != 0)))?
        .collect::<rusqlite::Result<_>>()?;
    for (index, _, _) in indexes.into_iter().filter(|(_, unique, partial)| *unique && !*partial) {
        let mut info = conn.prepare(&format!("PRAGMA main.index_info({})", ident(&index)))?;
        let names: Vec<Option<String>> = info.query_map([], |r| r.get(2))?.collect::<rusqlite::Result<_>>()?;
        if let [Some(only)] = names.as_slice()
            && only.eq_ignore_ascii_case(column)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The columns a name ledger may keep its names in, and its times in.
const NAME_COLUMNS: [&str; 4] = ["name", "migration", "filename", "file"];
const TIME_COLUMNS: [&str; 9] =
    ["applied_at", "applied_on", "run_at", "run_on", "executed_at", "installed_on", "migrated_at", "created_at", "timestamp"];

/// The table's shape when it is `kind`'s ledger; otherwise why it is not one.
pub fn recognise(conn: &Connection, kind: LedgerKind, table: &str) -> rusqlite::Result<Result<Shape, String>> {
    let cols = columns(conn, table)?;
    let has = |name: &str| cols.iter().any(|c| c.name.eq_ignore_ascii_case(name));
    let missing: Vec<&str> = kind.columns().iter().copied().filter(|c| !has(c)).collect();
    if !missing.is_empty() {
        return Ok(Err(format!(
            "named like a {} ledger, but it has no {} column{}: not a migration ledger",
            kind.name(),
            missing.join(", "),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }
    if kind != LedgerKind::Names {
        // A column its runner does not have: the application's own table, not its ledger.
        let extra: Vec<&str> = cols
            .iter()
            .filter(|c| !kind.columns().iter().any(|k| k.eq_ignore_ascii_case(&c.name)))
            .map(|c| c.name.as_str())
            .collect();
        if !extra.is_empty() {
            return Ok(Err(format!(
                "named like a {} ledger, but it has {} {}, which {} ledger has not: treated as the application's own data",
                kind.name(),
                if extra.len() == 1 { "a column" } else { "columns" },
                extra.join(", "),
                kind.name()
            )));
        }
        return Ok(Ok(Shape::default()));
    }
    let Some(name_column) = NAME_COLUMNS.iter().find(|n| has(n)).map(|n| (*n).to_string()) else {
        return Ok(Err(format!(
            "named like a migration ledger, but it has no name column ({}): not a migration ledger, so it is treated as the application's own data",
            NAME_COLUMNS.join(", ")
        )));
    };
    if !unique(conn, table, &cols, &name_column)? {
        return Ok(Err(format!(
            "named like a migration ledger, but its {name_column} column is not unique as a runner's ledger's is: treated as the application's own data"
        )));
    }
    let time_column = TIME_COLUMNS.iter().find_map(|t| cols.iter().find(|c| c.name.eq_ignore_ascii_case(t)));
    let rowid_alias = |c: &Column| c.pk && c.declared.eq_ignore_ascii_case("INTEGER");
    // A name ledger is its names, when each was applied and a row id: any other column
    // (a customer, an amount, a checksum cutover could not fill as its runner does) says it
    // is something else.
    let other: Vec<&str> = cols
        .iter()
        .filter(|c| !rowid_alias(c))
        .filter(|c| !c.name.eq_ignore_ascii_case(&name_column))
        .filter(|c| time_column.is_none_or(|t| !t.name.eq_ignore_ascii_case(&c.name)))
        .map(|c| c.name.as_str())
        .collect();
    if !other.is_empty() {
        return Ok(Err(format!(
            "named like a migration ledger with a unique {name_column}, but it also has {}, which a name ledger has not: treated as the application's own data",
            other.join(", ")
        )));
    }
    let form = match time_column {
        Some(t) => time_form(conn, table, &t.name)?,
        None => TimeForm::Sql,
    };
    Ok(Ok(Shape { name_column, time_column: time_column.map(|t| (t.name.clone(), form)) }))
}

/// The form the last row's time takes (SQLite's `datetime('now')` when there are no rows).
fn time_form(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<TimeForm> {
    let sql = format!("SELECT {c} FROM main.{t} ORDER BY rowid DESC LIMIT 1", c = ident(column), t = ident(table));
    let last: Option<rusqlite::types::Value> = match conn.query_row(&sql, [], |r| r.get(0)) {
        Ok(v) => Some(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => None,
        Err(e) => return Err(e),
    };
    Ok(match last {
        Some(rusqlite::types::Value::Integer(_)) => TimeForm::Unix,
        Some(rusqlite::types::Value::Text(t)) if t.contains('T') => TimeForm::Iso,
        _ => TimeForm::Sql,
    })
}

/// How one row of a ledger becomes an [`Entry`].
type ReadRow<'a> = dyn Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Entry> + 'a;

/// The migrations `kind`'s ledger in `table` records as applied, in the order they were.
pub fn entries(conn: &Connection, kind: LedgerKind, table: &str, shape: &Shape) -> rusqlite::Result<Vec<Entry>> {
    let t = ident(table);
    let text = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<String> {
        Ok(match r.get::<_, rusqlite::types::Value>(i)? {
            rusqlite::types::Value::Null => String::new(),
            rusqlite::types::Value::Integer(n) => n.to_string(),
            rusqlite::types::Value::Real(f) => f.to_string(),
            rusqlite::types::Value::Text(s) => s,
            rusqlite::types::Value::Blob(b) => crate::hashing::hex(&b),
        })
    };
    let (sql, read): (String, &ReadRow<'_>) = match kind {
        LedgerKind::Names => (
            format!("SELECT {} FROM main.{t} ORDER BY rowid", ident(&shape.name_column)),
            &|r| Ok(Entry { key: text(r, 0)?, name: text(r, 0)?, checksum: None, ok: true }),
        ),
        LedgerKind::Sqlx => (
            format!("SELECT version, description, checksum, success FROM main.{t} ORDER BY version"),
            &|r| {
                let version = text(r, 0)?;
                Ok(Entry {
                    name: format!("{version} {}", text(r, 1)?),
                    key: version,
                    checksum: Some(text(r, 2)?),
                    ok: r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                })
            },
        ),
        LedgerKind::Refinery => (
            format!("SELECT version, name, checksum FROM main.{t} ORDER BY version"),
            &|r| {
                let version = text(r, 0)?;
                Ok(Entry { name: format!("V{version}__{}", text(r, 1)?), key: version, checksum: Some(text(r, 2)?), ok: true })
            },
        ),
        LedgerKind::Diesel | LedgerKind::Dbmate => (format!("SELECT version FROM main.{t} ORDER BY version"), &|r| {
            Ok(Entry { key: text(r, 0)?, name: text(r, 0)?, checksum: None, ok: true })
        }),
        LedgerKind::Goose => return goose_entries(conn, &t),
        LedgerKind::Flyway => (
            format!(
                "SELECT version, description, checksum, success, script FROM main.{t} WHERE version IS NOT NULL AND type NOT IN ('SCHEMA', 'DELETE') ORDER BY installed_rank"
            ),
            &|r| {
                Ok(Entry {
                    key: text(r, 0)?,
                    name: text(r, 4)?,
                    checksum: Some(text(r, 2)?),
                    ok: r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                })
            },
        ),
        LedgerKind::Prisma => (
            format!(
                "SELECT migration_name, checksum, finished_at IS NOT NULL FROM main.{t} WHERE rolled_back_at IS NULL ORDER BY started_at, rowid"
            ),
            &|r| Ok(Entry { key: text(r, 0)?, name: text(r, 0)?, checksum: Some(text(r, 1)?), ok: r.get(2)? }),
        ),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| read(r))?;
    rows.collect()
}

/// goose keeps a row per step, up or down: a version is applied when its newest row says so.
/// Version 0 is the row goose writes when it creates the table.
fn goose_entries(conn: &Connection, t: &str) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!("SELECT version_id, is_applied FROM main.{t} ORDER BY id"))?;
    let rows: Vec<(i64, bool)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut applied: Vec<i64> = Vec::new();
    for (version, is_applied) in rows.into_iter().filter(|(v, _)| *v != 0) {
        applied.retain(|v| *v != version);
        if is_applied {
            applied.push(version);
        }
    }
    Ok(applied.into_iter().map(|v| Entry { key: v.to_string(), name: v.to_string(), checksum: None, ok: true }).collect())
}
