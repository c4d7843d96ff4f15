//! Running a plan's statements in one transaction, with per-statement timing and progress.
//!
//! After every statement the connection must still be inside the transaction: on disk-full and
//! some I/O errors SQLite rolls back by itself, and carrying on would run the remaining
//! statements one autocommit at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::ValueRef;
use rusqlite::{Batch, Connection};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, is_busy};
use crate::guard::{self, Refused};
use crate::plan::script::first_line;
use crate::plan::{Plan, PlannedStatement};
use crate::progress::Progress;

/// A flag the caller sets to stop a run; the transaction is then rolled back.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Asks the running phase to stop at the next safe point.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The outcome of an `-- expect:` assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectOutcome {
    /// What the script said.
    pub expected: String,
    /// What the SELECT returned (its first row's first value, as text; `NULL` or `(no rows)`).
    pub actual: String,
}

impl ExpectOutcome {
    /// Whether the value matched.
    pub fn ok(&self) -> bool {
        self.expected == self.actual
    }
}

/// How one statement went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementRun {
    /// Position in the plan, from 1.
    pub index: usize,
    /// Line in the plan text.
    pub line: usize,
    /// First line of the statement.
    pub sql: String,
    /// Seconds it took.
    pub seconds: f64,
    /// Rows it changed.
    pub changes: u64,
    /// Its `-- expect:` outcome, if it had one.
    pub expect: Option<ExpectOutcome>,
}

/// Runs every statement of `plan` in one `BEGIN EXCLUSIVE` … `COMMIT` on `conn`.
///
/// `before_first` runs once the exclusive lock is held and before any statement (execute uses
/// it to prove the file still equals the backup); `before_commit` once every statement ran
/// and before the COMMIT (execute journals that it is about to commit). `place` names where it ran, for messages
/// (" on the copy", " on production"). On any error or a cancel the transaction is rolled back
/// and the error says nothing changed.
pub fn apply(
    conn: &mut Connection,
    plan: &Plan,
    cancel: &Cancel,
    place: &str,
    before_first: &mut dyn FnMut(&Connection) -> Result<()>,
    before_commit: &mut dyn FnMut() -> Result<()>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<StatementRun>> {
    // Off whatever SQLite was built with: a rebuild's DROP TABLE must not cascade deletes into
    // the tables that reference it. The verification's foreign_key_check judges the result.
    conn.pragma_update(None, "foreign_keys", false).map_err(|e| Error::sqlite("turning foreign keys off", e))?;
    conn.execute_batch("BEGIN EXCLUSIVE").map_err(|e| {
        if is_busy(&e) {
            Error::Locked { path: place.into(), pid: None }
        } else {
            Error::sqlite("starting the transaction", e)
        }
    })?;
    let flag = cancel.clone();
    // Lets a long statement (an index on millions of rows) be interrupted by a cancel.
    conn.progress_handler(10_000, Some(move || flag.is_set()))
        .map_err(|e| Error::sqlite("installing the cancel handler", e))?;
    // SQLite itself refuses, however spelled, what would undo the transaction's promises.
    let refused = match guard::install(conn) {
        Ok(r) => r,
        Err(e) => {
            rollback(conn);
            return Err(Error::sqlite("installing the statement guard", e));
        }
    };
    let outcome = run_all(conn, plan, cancel, place, &refused, before_first, progress);
    guard::remove(conn);
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    let outcome = outcome.and_then(|runs| before_commit().map(|()| runs));
    match outcome {
        Ok(runs) => match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(runs),
            Err(e) => {
                rollback(conn);
                Err(Error::sqlite(format!("committing{place} (the transaction was rolled back: nothing changed)"), e))
            }
        },
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

fn run_all(
    conn: &Connection,
    plan: &Plan,
    cancel: &Cancel,
    place: &str,
    refused: &Refused,
    before_first: &mut dyn FnMut(&Connection) -> Result<()>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<StatementRun>> {
    before_first(conn)?;
    // Violations the file already had are carried, not blocking: a check inside the plan
    // fails only on one the plan made (found before the first statement, in the transaction).
    let carried = if plan.statements.iter().any(|s| s.foreign_key_check) {
        Carried::of(conn).map_err(|e| Error::sqlite(format!("running foreign_key_check before the plan{place}"), e))?
    } else {
        Carried::default()
    };
    let total = plan.statements.len();
    let mut runs = Vec::with_capacity(total);
    for (i, statement) in plan.statements.iter().enumerate() {
        if cancel.is_set() {
            return Err(cancelled(place));
        }
        progress(Progress::Statement { index: i + 1, total, line: statement.line, sql: first_line(&statement.sql) });
        let started = Instant::now();
        let mut found = None;
        let result = if statement.foreign_key_check {
            violations(conn, statement, &carried).map(|v| {
                let first = v.first.clone();
                found = Some(v);
                (0, first)
            })
        } else {
            run_one(conn, statement)
        };
        let failed = |message: String| Error::StatementFailed {
            index: i + 1,
            line: statement.line,
            statement: match &statement.file {
                Some(file) => format!("{file}: {}", first_line(&statement.sql)),
                None => first_line(&statement.sql),
            },
            message,
            where_: place.to_string(),
        };
        let (changes, first_value) = match result {
            Ok(r) => r,
            Err(e) if cancel.is_set() && is_interrupt(&e) => return Err(cancelled(place)),
            Err(e) => return Err(failed(refused.take().map_or_else(|| e.to_string(), str::to_string))),
        };
        if let Some(v) = found.filter(|v| v.count > 0) {
            return Err(failed(v.message()));
        }
        if conn.is_autocommit() {
            return Err(failed(
                "SQLite ended the transaction by itself (disk full or an I/O error); it was rolled back".into(),
            ));
        }
        let expect = statement.expect.as_ref().map(|expected| ExpectOutcome {
            expected: expected.clone(),
            actual: first_value.unwrap_or_else(|| "(no rows)".into()),
        });
        runs.push(StatementRun {
            index: i + 1,
            line: statement.line,
            sql: first_line(&statement.sql),
            seconds: started.elapsed().as_secs_f64(),
            changes,
            expect,
        });
    }
    Ok(runs)
}

/// Runs one statement through SQLite's own batch parser; returns rows changed and, for a
/// statement that returns rows, its first row's first value as text.
fn run_one(conn: &Connection, statement: &PlannedStatement) -> rusqlite::Result<(u64, Option<String>)> {
    let mut batch = Batch::new(conn, &statement.sql);
    let mut changes = 0u64;
    let mut first_value = None;
    while let Some(mut stmt) = batch.next()? {
        // Counted as the difference in SQLite's running total: `changes()` keeps the last
        // INSERT/UPDATE/DELETE's count through DDL, which would credit a DROP with its rows.
        let before = conn.total_changes();
        if stmt.column_count() == 0 {
            stmt.execute([])?;
            changes += conn.total_changes().saturating_sub(before);
            continue;
        }
        // Step to the end: RETURNING clauses and functions do their work as rows are read.
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if first_value.is_none() {
                first_value = Some(as_text(row.get_ref(0)?));
            }
        }
        changes += conn.total_changes().saturating_sub(before);
    }
    Ok((changes, first_value))
}

/// What the script's own `PRAGMA foreign_key_check` found.
struct Violations {
    /// The first few, as `child row N → parent`.
    listed: Vec<String>,
    /// How many in all.
    count: u64,
    /// The first row's first value, for an `-- expect:` after it.
    first: Option<String>,
}

impl Violations {
    fn message(&self) -> String {
        let more = if self.count > self.listed.len() as u64 {
            format!(" and {} more", self.count - self.listed.len() as u64)
        } else {
            String::new()
        };
        format!(
            "the script's foreign_key_check found {} violation{}: {}{more} — the script stops here, so the transaction is rolled back",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.listed.join("; ")
        )
    }
}

/// Runs the script's `PRAGMA foreign_key_check`, reading its rows (table, rowid, parent, fkid).
/// The foreign-key violations the file had before the plan, each told by its row, key and
/// values: a check inside the plan fails only on one that is not among them.
#[derive(Debug, Default)]
struct Carried {
    before: Vec<crate::verify::snapshot::FkViolation>,
}

impl Carried {
    fn of(conn: &Connection) -> rusqlite::Result<Carried> {
        Ok(Carried { before: crate::verify::snapshot::fk_violations(conn)? })
    }
}

fn violations(conn: &Connection, statement: &PlannedStatement, carried: &Carried) -> rusqlite::Result<Violations> {
    let mut stmt = conn.prepare(&statement.sql)?;
    let mut rows = stmt.query([])?;
    let mut tables: Vec<String> = Vec::new();
    let mut first = None;
    while let Some(row) = rows.next()? {
        let table = as_text(row.get_ref(0)?);
        first.get_or_insert_with(|| table.clone());
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    let mut found = Violations { listed: Vec::new(), count: 0, first: None };
    if tables.is_empty() {
        return Ok(found);
    }
    // What the check met, told apart from what was there before: the whole file's violations
    // now, against those read at the start of the transaction, in the tables the check named.
    let now = crate::verify::snapshot::fk_violations(conn)?;
    let (new, _) = crate::verify::violations::new_since(&carried.before, &now);
    for v in new.iter().filter(|v| tables.contains(&v.table)) {
        found.count += 1;
        found.first.get_or_insert_with(|| v.table.clone());
        if found.listed.len() < 10 {
            found.listed.push(format!("{} {}", v.table, v.described()));
        }
    }
    if found.count > 0 {
        found.first = first;
    }
    Ok(found)
}

fn as_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => b.iter().map(|x| format!("{x:02X}")).collect::<String>(),
    }
}

fn cancelled(place: &str) -> Error {
    Error::Cancelled(format!("{place}: its transaction was rolled back, so nothing changed there"))
}

fn is_interrupt(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::OperationInterrupted)
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        // If even the rollback fails, SQLite's hot journal / WAL rolls it back at next open.
        let _ = conn.execute_batch("ROLLBACK");
    }
}
