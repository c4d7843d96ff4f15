//! Where a database stands, for a person or a fleet dashboard: read from its journal and the
//! file itself, changing nothing (no recovery, no journal record, no lock kept).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup_ref::BackupRef;
use crate::error::Result;
use crate::journal::{self, Entry, Event, Standing};
use crate::shown::shown;
use crate::verify::snapshot::schema_digest;
use crate::{hashing, paths, recovery};

/// Where a database stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// cutover has recorded nothing about it.
    Untouched,
    /// A proven backup was made; no dry run since.
    BackedUp,
    /// The newest dry run passed; production was not changed.
    Rehearsed,
    /// The newest dry run failed; production was not changed.
    RehearsalFailed,
    /// The execute committed and its verification passed; the file is still its result.
    MigratedAndVerified,
    /// The execute committed; it was not verified (yet).
    MigratedUnverified,
    /// The execute committed and its verification failed.
    VerificationFailed,
    /// The execute committed and the database was written to since (the shop traded).
    ChangedSinceExecute,
    /// A rollback restored the backup.
    RolledBack,
    /// A crash left a run mid-way: see `attention`.
    NeedsAttention,
}

impl State {
    /// The state in words.
    pub fn words(self) -> &'static str {
        match self {
            State::Untouched => "untouched",
            State::BackedUp => "backed up",
            State::Rehearsed => "rehearsed (dry run passed)",
            State::RehearsalFailed => "dry run failed",
            State::MigratedAndVerified => "migrated and verified",
            State::MigratedUnverified => "migrated, not verified",
            State::VerificationFailed => "migrated, verification FAILED",
            State::ChangedSinceExecute => "migrated, changed since the execute",
            State::RolledBack => "rolled back",
            State::NeedsAttention => "needs attention",
        }
    }
}

/// The backup a status names, and whether it is still there.
#[derive(Debug, Clone, Serialize)]
pub struct BackupStatus {
    /// The backup file, where it is now.
    #[serde(with = "crate::ospath")]
    pub path: PathBuf,
    /// Its proven SHA-256.
    pub sha256: String,
    /// The file is still there.
    pub present: bool,
}

/// What `cutover status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The database.
    #[serde(with = "crate::ospath")]
    pub database: PathBuf,
    /// Where it stands.
    pub state: State,
    /// One line saying so.
    pub summary: String,
    /// The backup of the execute in force, else the newest backup.
    pub backup: Option<BackupStatus>,
    /// The plan of the execute in force, else of the newest dry run.
    pub plan_sha256: Option<String>,
    /// The database's SHA-256 right after the execute's commit, as recorded.
    pub result_sha256: Option<String>,
    /// The database's SHA-256 now, when it was taken (only against a recorded result, and
    /// only when the main file alone is the database: an empty WAL, no hot journal).
    pub current_sha256: Option<String>,
    /// Whether the database was written to since the execute; `None` when there is no
    /// execute in force or it cannot be told without changing the file.
    pub changed_since_execute: Option<bool>,
    /// Whether the database's schema is still the one the execute left (told when the file
    /// was written to since and could be read without changing it; `None` otherwise).
    pub schema_as_executed: Option<bool>,
    /// The newest verification of the execute in force passed (`None`: none recorded, or no
    /// execute in force).
    pub verified: Option<bool>,
    /// What needs a person, when something does.
    pub attention: Option<String>,
    /// When the journal last recorded something (RFC 3339, local time).
    pub last_recorded: Option<String>,
    /// The journal, when there is one.
    #[serde(with = "crate::ospath::option")]
    pub journal: Option<PathBuf>,
}

/// Reads where `db` stands. Refuses only what is not a SQLite database file; everything else is
/// a state.
pub fn report(db: &Path) -> Result<StatusReport> {
    // The same refusals as every command (missing, a folder, empty, not SQLite, truncated).
    crate::preflight::check_file(db)?;
    let entries = journal::read(db)?;
    let standing = journal::standing(&entries);
    let journal_path = journal::path(db);
    let mut r = StatusReport {
        database: db.to_path_buf(),
        state: State::Untouched,
        summary: String::new(),
        backup: None,
        plan_sha256: None,
        result_sha256: None,
        current_sha256: None,
        changed_since_execute: None,
        schema_as_executed: None,
        verified: None,
        attention: None,
        last_recorded: entries.last().map(|e| e.at.clone()),
        journal: journal_path.is_file().then_some(journal_path),
    };
    r.state = decide(db, &entries, &standing, &mut r);
    r.summary = summary(&r);
    Ok(r)
}

fn located(db: &Path, b: &BackupRef) -> BackupStatus {
    let b = b.located(db);
    BackupStatus { present: b.path.is_file(), path: b.path, sha256: b.sha256 }
}

fn decide(db: &Path, entries: &[Entry], standing: &Standing, r: &mut StatusReport) -> State {
    r.backup = standing.backup.as_ref().map(|b| located(db, b));
    if let Some(rb) = &standing.rollback_started {
        r.backup = Some(located(db, &rb.backup));
        r.attention = Some(format!(
            "a rollback started and its end is not recorded: it is running now, or it was cut off (then `cutover rollback {}` settles it)",
            shown(db)
        ));
        return State::NeedsAttention;
    }
    if let Some(x) = standing.execute.as_ref().filter(|x| !x.rolled_back && !standing.rolled_back) {
        r.backup = Some(located(db, &x.backup));
        r.plan_sha256 = Some(x.plan_sha256.clone());
        if !x.committed {
            r.attention = Some(format!(
                "an execute started and its end is not recorded: it is running now, or it was cut off (then `cutover verify {}` settles it from the file)",
                shown(db)
            ));
            return State::NeedsAttention;
        }
        r.result_sha256 = x.result_sha256.clone();
        r.verified = standing.verified;
        r.changed_since_execute = changed_since(db, x.result_sha256.as_deref(), r);
        if r.attention.is_some() {
            // A hot journal: what the file holds is not told until SQLite recovers it.
            return State::NeedsAttention;
        }
        if r.current_sha256.is_some() && r.current_sha256.as_deref() == Some(x.backup.sha256.as_str()) {
            r.attention = Some(format!(
                "{} is byte for byte the execute's backup again, put back by other means than `cutover rollback`: the execute's change is not in it",
                shown(db)
            ));
            return State::NeedsAttention;
        }
        // Whatever the shop wrote since, the schema tells whether the change is still in it.
        if r.changed_since_execute == Some(true) {
            // Read only where the main file alone is the database (it was hashed: an empty
            // WAL), opened immutable: even a reader's marks in the application's `-shm` would
            // be a change.
            let now = r.current_sha256.as_ref().and_then(|_| crate::status::schema_of(db));
            let before = standing.rehearsal_for(x).map(|d| schema_digest(&d.before.schema));
            r.schema_as_executed = match (&now, &x.schema_sha256) {
                (Some(now), Some(result)) => Some(now == result),
                _ => None,
            };
            if r.schema_as_executed == Some(false) && now.is_some() && now == before {
                r.attention = Some(format!(
                    "the execute's schema change is not in {}: its schema is the one from before the execute (the file was put back, or changed, by other means than cutover)",
                    shown(db)
                ));
                return State::NeedsAttention;
            }
            if now.is_none() {
                r.attention = Some(format!(
                    "written to since the execute, and whether its change is still in the file cannot be read without changing it: `cutover verify {}` tells",
                    shown(db)
                ));
            } else if r.schema_as_executed == Some(false) {
                r.attention = Some(format!(
                    "its schema is neither the one the execute left nor the one before it: `cutover verify {}` says what changed",
                    shown(db)
                ));
            }
        }
        return match (r.changed_since_execute, standing.verified) {
            (Some(true), _) => State::ChangedSinceExecute,
            (_, Some(true)) => State::MigratedAndVerified,
            (_, Some(false)) => State::VerificationFailed,
            (_, None) => State::MigratedUnverified,
        };
    }
    if standing.rolled_back {
        return State::RolledBack;
    }
    // The newest dry run since the newest backup.
    let dry = entries.iter().rev().take_while(|e| !matches!(e.event, Event::Backup { .. })).find_map(|e| match &e.event {
        Event::DryRun { ok, plan, .. } => Some((*ok, plan.sha256.clone())),
        _ => None,
    });
    match (dry, &r.backup) {
        (Some((ok, plan)), _) => {
            r.plan_sha256 = Some(plan);
            if ok { State::Rehearsed } else { State::RehearsalFailed }
        }
        (None, Some(_)) => State::BackedUp,
        (None, None) => State::Untouched,
    }
}

/// Whether the file was written to since its recorded result, told without changing it.
fn changed_since(db: &Path, result: Option<&str>, r: &mut StatusReport) -> Option<bool> {
    if fs::metadata(paths::side_file(db, "-wal")).is_ok_and(|m| m.len() > 0) {
        // cutover left the WAL empty after its commit: frames in it are writes made since.
        return Some(true);
    }
    if fs::metadata(paths::side_file(db, "-journal")).is_ok_and(|m| m.len() > 0) && recovery::pending(db).is_some() {
        r.attention = Some(
            "a write to the database was cut off (a hot journal): SQLite rolls it back when the file is next opened"
                .into(),
        );
        return None;
    }
    let now = hashing::hash_file(db).ok()?.sha256;
    let changed = result.map(|want| want != now);
    r.current_sha256 = Some(now);
    changed
}

fn summary(r: &StatusReport) -> String {
    let db = shown(&r.database);
    match r.state {
        State::Untouched => format!("{db}: untouched — cutover has recorded nothing about it"),
        State::ChangedSinceExecute if r.schema_as_executed == Some(true) => format!(
            "{db}: migrated{}, and written to since the execute (the shop's application has used it; its schema is still the execute's)",
            if r.verified == Some(true) { " and verified" } else { "" }
        ),
        State::ChangedSinceExecute if r.schema_as_executed == Some(false) => {
            format!("{db}: written to since the execute, and its schema is no longer the one it left (see `attention`)")
        }
        State::ChangedSinceExecute => format!(
            "{db}: written to since the execute the journal records{}; whether its change is still in the file cannot be read without changing it: `cutover verify` tells",
            if r.verified == Some(true) { " (verified then)" } else { "" }
        ),
        State::MigratedAndVerified if r.changed_since_execute.is_none() => {
            format!("{db}: migrated and verified (whether it was written to since could not be told)")
        }
        State::MigratedAndVerified => format!("{db}: migrated and verified, still exactly the execute's result"),
        State::NeedsAttention => format!("{db}: needs attention — {}", r.attention.as_deref().unwrap_or("see the journal")),
        s => format!("{db}: {}", s.words()),
    }
}
