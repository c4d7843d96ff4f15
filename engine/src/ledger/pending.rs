//! The runner's view: the folder's migrations against the ledger's rows — which are recorded,
//! which it would run at the next start, and what would make it refuse to start.

use std::path::Path;

use std::collections::{HashMap, HashSet};

use super::folder::{self, Migration};
use super::{Ledger, LedgerKind, Problem};

/// The folder against the ledger.
#[derive(Debug, Clone)]
pub struct View {
    /// The folder's migrations in the runner's order, each keyed as the ledger records it.
    pub migrations: Vec<Migration>,
    /// Which of them the ledger records (same index).
    pub recorded: Vec<bool>,
    /// Ledger rows with no file in the folder.
    pub missing: Vec<String>,
    /// Files the runner passes over.
    pub skipped: Vec<String>,
}

impl View {
    /// The migrations the runner would run at the next start, in its order.
    pub fn pending(&self) -> impl Iterator<Item = &Migration> {
        self.migrations.iter().zip(&self.recorded).filter(|(_, r)| !**r).map(|(m, _)| m)
    }
}

/// What a migration file of `kind` is called, for a message.
pub fn expected_name(kind: LedgerKind) -> &'static str {
    match kind {
        LedgerKind::Names => "*.sql files",
        LedgerKind::Sqlx => "<version>_<description>.sql",
        LedgerKind::Refinery => "V<version>__<name>.sql",
        LedgerKind::Diesel => "<version>_<name>/up.sql folders",
        LedgerKind::Goose => "<version>_<name>.sql with -- +goose Up",
        LedgerKind::Dbmate => "<version>_<name>.sql with -- migrate:up",
        LedgerKind::Flyway => "V<version>__<description>.sql",
        LedgerKind::Prisma => "<timestamp>_<name>/migration.sql folders",
    }
}

/// Reads `dir` as the runner of `ledger` would and sets it against the ledger's rows; refused
/// where the runner would refuse to start.
pub fn view(ledger: &Ledger, dir: &Path) -> Result<View, Problem> {
    let (mut migrations, skipped) = folder::read(dir, ledger.kind)?;
    if migrations.is_empty() {
        return Err(Problem::NoMigrations {
            dir: dir.to_path_buf(),
            kind: ledger.kind,
            expect: expected_name(ledger.kind),
            skipped,
        });
    }
    if ledger.kind == LedgerKind::Names {
        let form = NameForm::of(ledger);
        for m in &mut migrations {
            m.key = form.recorded(&m.shown);
            m.name = m.key.clone();
        }
        let names: HashSet<&str> = ledger.entries.iter().map(|e| e.key.as_str()).collect();
        if !ledger.entries.is_empty() && !migrations.iter().any(|m| names.contains(m.key.as_str())) {
            return Err(Problem::NamesDoNotMatch {
                table: ledger.table.clone(),
                recorded: ledger.entries.len(),
                example: ledger.entries[0].key.clone(),
                dir: dir.to_path_buf(),
            });
        }
    }
    // Keys as the runner compares them, looked up in sets: a ledger of thousands of rows is
    // read in linear time.
    let in_ledger: HashSet<String> = ledger.entries.iter().map(|e| norm(ledger.kind, &e.key)).collect();
    let in_folder: HashSet<String> = migrations.iter().map(|m| norm(ledger.kind, &m.key)).collect();
    let recorded: Vec<bool> = migrations.iter().map(|m| in_ledger.contains(&norm(ledger.kind, &m.key))).collect();
    let missing: Vec<String> =
        ledger.entries.iter().filter(|e| !in_folder.contains(&norm(ledger.kind, &e.key))).map(|e| e.name.clone()).collect();
    let view = View { migrations, recorded, missing, skipped };
    refusal(ledger, &view).map_or(Ok(view), Err)
}

/// A key as the runner compares it: versions as numbers where it parses them (`0009` is
/// version 9; Flyway's 2.0 is 2), names as written.
pub fn norm(kind: LedgerKind, key: &str) -> String {
    match kind {
        LedgerKind::Sqlx | LedgerKind::Goose | LedgerKind::Refinery => {
            key.trim().parse::<i64>().map_or_else(|_| key.to_string(), |n| n.to_string())
        }
        LedgerKind::Flyway => {
            let mut parts: Vec<String> = key
                .trim()
                .split('.')
                .map(|p| p.parse::<u64>().map_or_else(|_| p.to_string(), |n| n.to_string()))
                .collect();
            while parts.len() > 1 && parts.last().is_some_and(|p| p == "0") {
                parts.pop();
            }
            parts.join(".")
        }
        LedgerKind::Names | LedgerKind::Diesel | LedgerKind::Dbmate | LedgerKind::Prisma => key.to_string(),
    }
}

/// What would make the runner refuse to start, in its own terms.
fn refusal(ledger: &Ledger, view: &View) -> Option<Problem> {
    let refuse = |why: String| Some(Problem::RunnerRefuses { tool: ledger.kind, why });
    if let Some(e) = ledger.entries.iter().find(|e| !e.ok) {
        return refuse(format!("its ledger records {} as started but not finished (a failed or dirty migration)", e.name));
    }
    // `prisma migrate deploy` applies pending migrations whatever an applied one's checksum.
    let compares = ledger.kind != LedgerKind::Prisma;
    let entries: HashMap<String, &super::Entry> = ledger.entries.iter().map(|e| (norm(ledger.kind, &e.key), e)).collect();
    for (m, _) in view.migrations.iter().zip(&view.recorded).filter(|(_, r)| **r && compares) {
        let Some(entry) = entries.get(&norm(ledger.kind, &m.key)) else { continue };
        if let (Some(now), Some(then)) = (&m.checksum, &entry.checksum)
            && !now.eq_ignore_ascii_case(then.trim())
        {
            return refuse(format!("{} changed since it was applied (checksum {then} recorded, the file's is {now})", m.shown));
        }
    }
    let strict_missing = matches!(ledger.kind, LedgerKind::Sqlx | LedgerKind::Flyway | LedgerKind::Refinery);
    if strict_missing && let Some(gone) = view.missing.first() {
        return refuse(format!("its ledger records {gone}, which is not in the folder"));
    }
    if matches!(ledger.kind, LedgerKind::Goose | LedgerKind::Flyway | LedgerKind::Refinery) {
        let newest = view.migrations.iter().zip(&view.recorded).filter(|(_, r)| **r).map(|(m, _)| &m.order).max();
        // refinery's unversioned (U) migrations are applied whatever their number.
        let unversioned = |m: &Migration| {
            ledger.kind == LedgerKind::Refinery && m.file.file_name().is_some_and(|n| n.to_string_lossy().starts_with('U'))
        };
        if let Some(late) = view.pending().find(|m| !unversioned(m) && newest.is_some_and(|n| &m.order < n)) {
            return refuse(format!("{} is not applied but is older than the newest applied migration (out of order)", late.shown));
        }
    }
    None
}

/// The form a name ledger gives names, learned from its rows: a folder prefix
/// (`migrations/`) and whether `.sql` is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameForm {
    prefix: String,
    extension: bool,
}

impl NameForm {
    /// The form of `ledger`'s rows (no rows: the file's name as it is).
    pub fn of(ledger: &Ledger) -> NameForm {
        let Some(last) = ledger.entries.iter().rev().map(|e| e.key.as_str()).find(|k| k.ends_with(".sql") || k.contains('/')).or_else(|| ledger.entries.last().map(|e| e.key.as_str())) else {
            return NameForm { prefix: String::new(), extension: true };
        };
        let prefix = last.rfind('/').map_or(String::new(), |i| last[..=i].to_string());
        NameForm { prefix, extension: last.ends_with(".sql") }
    }

    /// How the ledger records the file `shown`.
    pub fn recorded(&self, shown: &str) -> String {
        let name = if self.extension { shown } else { shown.strip_suffix(".sql").unwrap_or(shown) };
        format!("{}{name}", self.prefix)
    }
}
