//! Plans that write the application's ledger: its pending migrations as one plan
//! (`--migrations DIR`), or another plan recorded as one of its migrations (`--record-as`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::folder::Migration;
use super::pending::{self, View};
use super::rows::{self, Writing};
use super::{Ledger, LedgerKind, Problem};
use crate::error::{Error, Result};
use crate::plan::app::{MigrationsSpec, Records};
use crate::plan::{Plan, PlanSource, PlannedStatement, script};
use crate::shown::shown;

/// The application's side of a run: its migrations folder, its ledger, and its own check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct App {
    /// The application's migrations folder (`--migrations DIR`).
    pub migrations: Option<PathBuf>,
    /// The ledger's kind, when detection cannot tell (`--ledger KIND`).
    pub ledger: Option<LedgerKind>,
    /// Record the plan in the ledger as this migration of the folder (`--record-as FILE`).
    pub record_as: Option<PathBuf>,
    /// The shop's own program, run against the rehearsal copy (`--app-check CMD`, `{db}` its
    /// path).
    pub check: Option<String>,
    /// Seconds the program may take.
    pub check_seconds: u64,
}

/// Seconds `--app-check` may take unless told.
pub const CHECK_SECONDS: u64 = 120;

/// The rows `keys` make in `ledger`, as a plan records them.
fn records(ledger: &Ledger, keys: Vec<String>) -> Records {
    let key_column = match ledger.kind {
        LedgerKind::Names => ledger.shape.name_column.clone(),
        LedgerKind::Goose => "version_id".into(),
        LedgerKind::Prisma => "migration_name".into(),
        _ => "version".into(),
    };
    Records { kind: ledger.kind, table: ledger.table.clone(), key_column, keys, removes: false }
}


/// The ledger `app` names (or the only one), with the folder set against it.
pub fn ledger_and_view(conn: &Connection, app: &App, dir: &Path) -> Result<(Ledger, View)> {
    let read = |e| Error::sqlite("reading the application's migration ledger", e);
    let found = super::detect_for(conn, app.ledger).map_err(read)?;
    let ledger = found.chosen(app.ledger).map_err(Error::Ledger)?.cloned().ok_or_else(|| {
        Error::Ledger(Problem::NoLedger {
            dir: dir.to_path_buf(),
            not_ledgers: found.not_ledgers.iter().map(|n| format!("{}: {}", n.table, n.why)).collect(),
            known: LedgerKind::known(),
        })
    })?;
    let view = pending::view(&ledger, dir).map_err(Error::Ledger)?;
    Ok((ledger, view))
}

fn writing(conn: &Connection, ledger: &Ledger) -> Result<Writing> {
    let now = Utc::now().timestamp_millis();
    let at = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
    let next_rank = if ledger.kind == LedgerKind::Flyway {
        let sql = format!("SELECT coalesce(max(installed_rank), 0) + 1 FROM main.{}", crate::sql::ident(&ledger.table));
        conn.query_row(&sql, [], |r| r.get(0)).map_err(|e| Error::sqlite("reading Flyway's last rank", e))?
    } else {
        1
    };
    Ok(Writing { at, next_rank })
}

/// The application's pending migrations in `dir` as one plan: each file's SQL (its Up section)
/// followed by the ledger row its runner writes, in the runner's order. Nothing pending: an
/// empty plan ("Already done").
pub fn migrations(conn: &Connection, app: &App, dir: &Path) -> Result<Plan> {
    let (ledger, view) = ledger_and_view(conn, app, dir)?;
    name_form_known(&ledger)?;
    let pending: Vec<&Migration> = view.pending().collect();
    let w = writing(conn, &ledger)?;
    let spec = MigrationsSpec {
        // In full, as every path the journal keeps: it reads the same from any folder.
        dir: crate::platform::canonicalize(dir).map_or_else(|_| dir.to_path_buf(), crate::platform::simplify),
        kind: ledger.kind,
        table: ledger.table.clone(),
        migrations: pending.iter().map(|m| m.shown.clone()).collect(),
        recorded: view.recorded.iter().filter(|r| **r).count(),
    };
    let mut text = format!(
        "-- The application's pending migrations: {} of {} in {}, recorded in its {} ledger {} as its runner records them\n",
        pending.len(),
        view.migrations.len(),
        shown(dir),
        ledger.kind,
        ledger.table
    );
    let mut statements = Vec::new();
    let mut notices = notices(&ledger, &view, dir);
    for (i, m) in pending.iter().enumerate() {
        text.push_str(&format!("\n-- ── {} ──\n", m.shown));
        if let Some(why) = fails_in_runner(ledger.kind, m)? {
            return Err(Error::Ledger(Problem::RunnerRefuses { tool: ledger.kind, why }));
        }
        let loaded = match script::load_migration(&crate::plan::normalise(&m.up)) {
            // A file with no statement: its runner records it and runs nothing.
            Err(Error::InvalidArgument(crate::refusal::BadArgument::ScriptEmpty)) => {
                script::LoadedScript { statements: Vec::new(), notices: Vec::new() }
            }
            loaded => loaded.map_err(|e| in_file(e, m))?,
        };
        for mut s in loaded.statements {
            s.line += m.up_line - 1;
            s.file = Some(m.shown.clone());
            statements.push(s);
        }
        notices.extend(loaded.notices.into_iter().map(|n| format!("{}: {n}", m.shown)));
        if let Some(marker) = outside_transaction(ledger.kind, &m.text) {
            notices.push(format!(
                "{} asks its runner to run it outside a transaction ({marker}); cutover runs it inside the plan's one transaction{}",
                m.shown,
                if ledger.kind == LedgerKind::Sqlx {
                    " (sqlx before 0.9 runs it in one on SQLite all the same)"
                } else {
                    ""
                }
            ));
        }
        text.push_str(&m.up);
        if !m.up.ends_with('\n') {
            text.push('\n');
        }
        push_row(&mut statements, &mut text, &rows::insert(&ledger, m, &w, i));
    }
    let mut plan = Plan::new(PlanSource::Migrations(spec), statements, notices, text);
    if !pending.is_empty() {
        plan.records = Some(records(&ledger, pending.iter().map(|m| m.key.clone()).collect()));
    }
    Ok(plan)
}

/// `plan` with the row recording it as the application's migration `app.record_as` added, in
/// the same transaction.
pub fn record_as(conn: &Connection, app: &App, plan: Plan) -> Result<Plan> {
    let (Some(file), Some(dir)) = (&app.record_as, &app.migrations) else { return Ok(plan) };
    let (ledger, view) = ledger_and_view(conn, app, dir)?;
    let wanted = crate::platform::canonicalize(file).ok();
    let index = view
        .migrations
        .iter()
        .position(|m| wanted.is_some() && crate::platform::canonicalize(&m.file).ok() == wanted)
        .ok_or_else(|| Error::Ledger(Problem::NotAMigration { file: file.clone(), dir: dir.clone(), kind: ledger.kind }))?;
    let m = &view.migrations[index];
    if view.recorded[index] && plan.statements.is_empty() {
        // Run again after it went through: nothing to do, and nothing to record.
        return Ok(plan);
    }
    if view.recorded[index] && matches!(plan.source, PlanSource::Script { .. }) {
        // A script run again: whether its statements ran here is the script's own question
        // ("Already done", or refused as a repeat); the ledger already names it.
        let mut plan = plan;
        plan.notices.push(format!("{} already records {}: nothing more is recorded", ledger.table, m.shown));
        return Ok(plan);
    }
    name_form_known(&ledger)?;
    if view.recorded[index] {
        return Err(Error::Ledger(Problem::AlreadyRecorded { shown: m.shown.clone(), table: ledger.table.clone() }));
    }
    let w = writing(conn, &ledger)?;
    let Plan { source, mut statements, mut notices, mut text, .. } = plan;
    text.push_str(&format!("\n-- Recorded as the application's migration {} in its {} ledger {}\n", m.shown, ledger.kind, ledger.table));
    push_row(&mut statements, &mut text, &rows::insert(&ledger, m, &w, 0));
    notices.push(format!(
        "recorded in {} as the application's migration {}: its runner will count it as applied and not run that file",
        ledger.table, m.shown
    ));
    let mut plan = Plan::new(source, statements, notices, text);
    plan.records = Some(records(&ledger, vec![m.key.clone()]));
    Ok(plan)
}

fn push_row(statements: &mut Vec<PlannedStatement>, text: &mut String, sql: &str) {
    text.push_str(sql);
    text.push('\n');
    statements.push(PlannedStatement {
        sql: sql.to_string(),
        line: text.lines().count(),
        destructive: None,
        expect: None,
        table: None,
        foreign_key_check: false,
        file: None,
        ledger_row: true,
    });
}

/// Why taking `records`' rows out of the ledger would leave one the runner refuses: a runner
/// that keeps its migrations in order (goose, Flyway, refinery) refuses a gap beneath the
/// migrations the application applied since.
pub fn later_than(conn: &Connection, records: &Records) -> rusqlite::Result<Option<String>> {
    if !matches!(records.kind, LedgerKind::Goose | LedgerKind::Flyway | LedgerKind::Refinery) {
        return Ok(None);
    }
    let found = super::detect_for(conn, Some(records.kind))?;
    let Some(ledger) = found.ledgers.iter().find(|l| l.table.eq_ignore_ascii_case(&records.table)) else { return Ok(None) };
    let order = |key: &str| -> Vec<u64> { super::pending::norm(records.kind, key).split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let ours = records.keys.iter().map(|k| order(k)).max().unwrap_or_default();
    let later: Vec<&str> = ledger.entries.iter().filter(|e| order(&e.key) > ours).map(|e| e.name.as_str()).collect();
    Ok((!later.is_empty()).then(|| {
        format!(
            "the application applied {} after the plan was recorded as its migration {}: taking that row out beneath them leaves a ledger {} refuses (a migration missing below the newest). Restore the backup instead (`cutover rollback`), which takes them back too, or let the application undo its own migrations first",
            later.join(", "),
            records.keys.join(", "),
            records.kind
        )
    }))
}

/// A name ledger with no row does not show the form its runner gives names
/// (`009_x.sql`, `migrations/009_x.sql`, …): cutover does not guess it.
fn name_form_known(ledger: &Ledger) -> Result<()> {
    if ledger.kind == LedgerKind::Names && ledger.entries.is_empty() {
        return Err(Error::Ledger(Problem::NameFormUnknown { table: ledger.table.clone() }));
    }
    Ok(())
}

/// Transaction control a runner cannot run inside the transaction it runs each file in.
pub const TRANSACTION_WORDS: [&str; 6] = ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"];

/// Why `kind`'s runner could not apply `m` itself: a runner that wraps each file in its own
/// transaction fails on the file's BEGIN (or VACUUM).
pub fn fails_in_runner(kind: LedgerKind, m: &Migration) -> Result<Option<String>> {
    if !in_transaction(kind, m) {
        return Ok(None);
    }
    let statements = script::statements(&crate::plan::normalise(&m.up)).map_err(|e| in_file(e, m))?;
    Ok(statements.iter().find(|(_, _, first)| TRANSACTION_WORDS.contains(&first.as_str()) || first == "VACUUM").map(
        |(sql, line, _)| {
            format!(
                "{} line {}: `{}` — {kind} runs each migration inside a transaction of its own, where this fails, so the application itself could not apply it",
                m.shown,
                line + m.up_line - 1,
                script::first_line(sql)
            )
        },
    ))
}

/// A script refusal inside a migration file names the file and the file's line.
fn in_file(e: Error, m: &Migration) -> Error {
    match e {
        Error::ScriptRefused { line, statement, why } => {
            Error::ScriptRefused { line: line + m.up_line - 1, statement: format!("{}: {statement}", m.shown), why }
        }
        other => other,
    }
}

/// The marker asking `kind`'s runner to run a file outside a transaction, if the file has it.
/// Whether `kind`'s runner runs `m` inside a transaction of its own: every runner but
/// EasySale's and Prisma's, unless the file opts out (goose's NO TRANSACTION, dbmate's
/// `transaction:false`, sqlx's `-- no-transaction`).
pub fn in_transaction(kind: LedgerKind, m: &Migration) -> bool {
    kind.transactional() && outside_transaction(kind, &m.text).is_none()
}

fn outside_transaction(kind: LedgerKind, text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    match kind {
        LedgerKind::Sqlx => text.starts_with("-- no-transaction").then_some("-- no-transaction"),
        LedgerKind::Goose => lower.contains("-- +goose no transaction").then_some("-- +goose NO TRANSACTION"),
        LedgerKind::Dbmate => lower.contains("transaction:false").then_some("transaction:false"),
        _ => None,
    }
}

fn notices(ledger: &Ledger, view: &View, dir: &Path) -> Vec<String> {
    let mut n = Vec::new();
    if !view.missing.is_empty() {
        n.push(format!(
            "{} records {} with no file in {} (its runner passes over them)",
            ledger.table,
            view.missing.join(", "),
            shown(dir)
        ));
    }
    if !view.skipped.is_empty() {
        n.push(format!("passed over, as {}'s runner would: {}", ledger.kind, view.skipped.join(", ")));
    }
    if ledger.kind == LedgerKind::Sqlx {
        n.push("sqlx's execution_time is written as -1, sqlx's own value until its run ends: cutover cannot know the time before it rehearses".into());
    }
    n
}
