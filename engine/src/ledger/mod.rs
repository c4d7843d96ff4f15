//! The application's own migration ledger: the table its migration runner keeps of what it
//! applied (EasySale's `_migrations(name)`, sqlx, refinery, diesel, goose, dbmate, Flyway,
//! Prisma), read from the file as it is now.
//!
//! A change made behind the runner's back is applied twice at the application's next start, or
//! refused by a checksum: so the audit shows the ledger, `--migrations DIR` runs the app's
//! pending migrations as one plan with the rows the runner would write, and the rehearsal
//! replays the runner's view on its copy (`app_starts`).

mod checksum;
pub mod folder;
pub mod kinds;
pub mod pending;
pub mod plan;
pub mod problem;
pub mod rows;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

pub use kinds::LedgerKind;
pub use problem::Problem;

/// One row of a ledger: a migration the runner recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What the runner keys it by: its version, or (name ledgers) its name.
    pub key: String,
    /// Its name or description, for people.
    pub name: String,
    /// The checksum recorded with it, in the ledger's own form, when the runner keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// The runner recorded it as finished (sqlx's `success`, Prisma's `finished_at`, …).
    pub ok: bool,
}

/// A migration ledger found in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Which runner keeps it.
    pub kind: LedgerKind,
    /// Its table.
    pub table: String,
    /// The migrations it records as applied, in the order they were applied.
    pub entries: Vec<Entry>,
    /// How the rows are written, learned from the table (name ledgers: the name column, the
    /// time column and the form names take).
    #[serde(default)]
    pub shape: kinds::Shape,
}

impl Ledger {
    /// How many migrations it records.
    pub fn recorded(&self) -> usize {
        self.entries.len()
    }

    /// The last one applied, by name.
    pub fn last(&self) -> Option<&str> {
        self.entries.last().map(|e| e.name.as_str())
    }

    /// One line for people: "sqlx ledger _sqlx_migrations: 8 recorded, last 0008 add gift cards".
    pub fn describe(&self) -> String {
        let last = self.last().map_or_else(String::new, |l| format!(", last {l}"));
        format!("{} ledger {}: {} recorded{last}", self.kind.name(), self.table, self.recorded())
    }
}

/// A table named like a ledger that is not one, and why: it is the application's own data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotLedger {
    /// The table.
    pub table: String,
    /// Why it is not a migration ledger.
    pub why: String,
}

/// What the schema holds of migration ledgers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Every ledger found.
    pub ledgers: Vec<Ledger>,
    /// Tables named like a ledger that are not one: left alone, and said so.
    pub not_ledgers: Vec<NotLedger>,
}

impl Found {
    /// The ledger a run writes to: the one asked for, or the only one found.
    pub fn chosen(&self, asked: Option<LedgerKind>) -> Result<Option<&Ledger>, Problem> {
        match asked {
            Some(kind) => match self.ledgers.iter().find(|l| l.kind == kind) {
                Some(l) => Ok(Some(l)),
                None => Err(Problem::AskedNotFound {
                    kind,
                    found: self.ledgers.iter().map(Ledger::describe).collect(),
                    not_ledgers: self.not_ledgers.iter().map(|n| format!("{}: {}", n.table, n.why)).collect(),
                }),
            },
            None => match self.ledgers.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(one)),
                more => Err(Problem::Ambiguous { found: more.iter().map(Ledger::describe).collect() }),
            },
        }
    }

    /// Whether `table` is a ledger found here.
    pub fn is_ledger(&self, table: &str) -> bool {
        self.ledgers.iter().any(|l| l.table.eq_ignore_ascii_case(table))
    }

    /// Why `table`, named like a ledger, is not one.
    pub fn not_ledger(&self, table: &str) -> Option<&str> {
        self.not_ledgers.iter().find(|n| n.table.eq_ignore_ascii_case(table)).map(|n| n.why.as_str())
    }
}

/// [`detect`], and where `asked` (`--ledger`) names a kind not found by its table's name, a
/// table of its shape under another name.
pub fn detect_for(conn: &Connection, asked: Option<LedgerKind>) -> rusqlite::Result<Found> {
    let mut found = detect(conn)?;
    if let Some(kind) = asked
        && !found.ledgers.iter().any(|l| l.kind == kind)
    {
        found.ledgers.extend(detect_as(conn, kind)?);
    }
    Ok(found)
}

/// The ledger of `kind` under a table name its runner was configured with (sqlx, refinery,
/// goose, dbmate and Flyway let an application name its table): the first table whose shape
/// is `kind`'s — for a name ledger, one whose name says it records migrations.
pub fn detect_as(conn: &Connection, kind: LedgerKind) -> rusqlite::Result<Option<Ledger>> {
    let mut stmt = conn.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'table' ORDER BY rowid")?;
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for table in tables.iter().filter(|t| !t.starts_with("sqlite_")) {
        if kind == LedgerKind::Names && !table.to_ascii_lowercase().contains("migration") {
            continue;
        }
        if let Ok(shape) = kinds::recognise(conn, kind, table)? {
            let entries = kinds::entries(conn, kind, table, &shape)?;
            return Ok(Some(Ledger { kind, table: table.clone(), entries, shape }));
        }
    }
    Ok(None)
}

/// Finds every migration ledger in the database `conn` reads, by table name and shape: a table
/// with a ledger's name but another shape is reported as not a ledger, never written to.
pub fn detect(conn: &Connection) -> rusqlite::Result<Found> {
    let mut found = Found::default();
    let tables: Vec<String> = {
        let mut stmt = conn.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'table' ORDER BY rowid")?;
        stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    for table in &tables {
        let Some(kind) = LedgerKind::by_table(table) else { continue };
        match kinds::recognise(conn, kind, table)? {
            Ok(shape) => {
                let entries = kinds::entries(conn, kind, table, &shape)?;
                found.ledgers.push(Ledger { kind, table: table.clone(), entries, shape });
            }
            Err(why) => found.not_ledgers.push(NotLedger { table: table.clone(), why }),
        }
    }
    Ok(found)
}
