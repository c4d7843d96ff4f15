//! Where a database stands, for a person or a fleet dashboard: read from its journal and the
//! file itself, changing nothing (no recovery, no journal record, no lock kept).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup_ref::BackupRef;
use crate::error::Result;
use crate::journal::lineage::{Kind, Lineage, Origin};
use crate::journal::{self, Entry, Event, Standing};
use crate::paths;
use crate::shown::shown;
use crate::status::present::{Covers, Found, Present};

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
    /// The last execute in the file was taken back in place (`rollback --undo`): no change
    /// cutover made is in it.
    Undone,
    /// A crash left a run mid-way, or the file is not what cutover left: see `attention`.
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
            State::Undone => "undone in place",
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

/// An execute whose change the file holds.
#[derive(Debug, Clone, Serialize)]
pub struct InFile {
    /// Its plan.
    pub plan_sha256: String,
    /// `tenant`, `script`, `isolation_fix` (`unknown` when the journal holds no rehearsal).
    pub kind: &'static str,
    /// When it ran (RFC 3339, local time).
    pub executed_at: String,
    /// Its newest verification passed (`None`: none recorded).
    pub verified: Option<bool>,
    /// Told from the file's schema (it was written to since), not proven by its bytes.
    pub presumed: bool,
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
    /// The database's SHA-256 now, as SQLite reads it (its WAL's committed frames counted in,
    /// read without folding them); beside a hot journal, the main file's as it is on disk.
    pub current_sha256: String,
    /// What `current_sha256` covers: `file`, `file_with_wal` or `file_beside_hot_journal`.
    pub current_sha256_covers: Covers,
    /// Whether the database was written to since the execute; `None` when there is no
    /// execute in force or it cannot be told without changing the file.
    pub changed_since_execute: Option<bool>,
    /// Who changed the file since that execute, when it was changed: `cutover` (its own later
    /// runs only, every step proven by hash) or `other_programs` (the shop's application, a
    /// hand copy; cutover's runs perhaps too).
    pub changed_since_by: Option<&'static str>,
    /// Whether the database's schema is still the one the execute left (told when the file
    /// was written to since and could be read without changing it; `None` otherwise).
    pub schema_as_executed: Option<bool>,
    /// The newest verification of the execute in force passed (`None`: none recorded, or no
    /// execute in force).
    pub verified: Option<bool>,
    /// The executes whose change the file holds now, oldest first: by its bytes against every
    /// state the journal recorded, or (`presumed`) by its schema where the shop wrote since.
    pub in_file: Vec<InFile>,
    /// What needs a person, when something does.
    pub attention: Option<String>,
    /// Worth knowing, needing no one (the file was put back by other means, …).
    pub note: Option<String>,
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
        current_sha256: String::new(),
        current_sha256_covers: Covers::File,
        changed_since_execute: None,
        changed_since_by: None,
        schema_as_executed: None,
        verified: None,
        in_file: Vec::new(),
        attention: None,
        note: None,
        last_recorded: entries.last().map(|e| e.at.clone()),
        journal: journal_path.is_file().then_some(journal_path),
    };
    let present = Present::read(db, &standing.lineage)?;
    r.current_sha256 = present.sha256.clone();
    r.current_sha256_covers = present.covers;
    r.state = decide(db, &entries, &standing, &present, &mut r);
    undone_rollback(db, &standing, &mut r);
    r.summary = summary(&r);
    Ok(r)
}

/// What the newest rollback said when it undid itself, and a second name it left on the file.
fn undone_rollback(db: &Path, standing: &Standing, r: &mut StatusReport) {
    let Some(undone) = &standing.undone_rollback else { return };
    let at = undone.at.get(..16).unwrap_or(&undone.at).replace('T', " ");
    let said = format!("a rollback at {at} was undone and changed nothing: {}", undone.why);
    r.note = Some(match r.note.take() {
        Some(n) => format!("{n}; {said}"),
        None => said,
    });
    let left = undone.second_name_left.as_ref().map(|p| paths::locate(db, p));
    if let Some(link) = left.filter(|l| l.is_file() && crate::platform::same_file(l, db)) {
        let warning = format!(
            "{} is still a second name of {}, left by that undone rollback: it is not a kept copy — do not delete, move or copy it; the next cutover run on {} removes it once it can",
            shown(&link),
            shown(db),
            shown(db)
        );
        r.attention = Some(match r.attention.take() {
            Some(a) => format!("{a}; {warning}"),
            None => warning,
        });
    }
}

fn located(db: &Path, b: &BackupRef) -> BackupStatus {
    let b = b.located(db);
    BackupStatus { present: b.path.is_file(), path: b.path, sha256: b.sha256 }
}

fn decide(db: &Path, entries: &[Entry], standing: &Standing, present: &Present, r: &mut StatusReport) -> State {
    let lineage = &standing.lineage;
    r.backup = standing.backup.as_ref().map(|b| located(db, b));
    if let Some(rb) = &standing.rollback_started {
        r.backup = Some(located(db, &rb.backup));
        r.attention = Some(format!(
            "a rollback started and its end is not recorded: it is running now, or it was cut off (then `cutover rollback {}` settles it)",
            shown(db)
        ));
        return State::NeedsAttention;
    }
    if let Some(x) = standing.execute.as_ref().filter(|x| !x.committed && !x.rolled_back && !standing.rolled_back) {
        r.backup = Some(located(db, &x.backup));
        r.plan_sha256 = Some(x.plan_sha256.clone());
        r.attention = Some(format!(
            "an execute started and its end is not recorded: it is running now, or it was cut off (then `cutover verify {}` settles it from the file)",
            shown(db)
        ));
        return State::NeedsAttention;
    }
    if !lineage.any_committed() {
        // Nothing cutover changed can be in the file: where its runs got to is the state.
        return activity(entries, r);
    }
    let (i, moved_last) = match &present.found {
        Found::Unreadable(why) => {
            r.attention = Some(why.clone());
            return State::NeedsAttention;
        }
        Found::Unrecorded => {
            r.attention = Some(format!(
                "neither its bytes nor its schema are any state cutover recorded of {}: it was changed by other means than cutover (`cutover verify` and `cutover rollback` list what differs)",
                shown(db)
            ));
            return State::NeedsAttention;
        }
        Found::Exact(i) => (*i, None),
        Found::Moved(like) => (like.from, Some(like.last)),
    };
    let state = &lineage.states[i];
    let carries = present.carries(lineage);
    r.in_file = carries.iter().map(|&x| carried(lineage, x, state.certain && moved_last.is_none())).collect();
    let newest = carries.last().copied();
    if let Some(x) = newest {
        let executed = &lineage.executes[x];
        r.backup = Some(located(db, &executed.record.backup));
        r.plan_sha256 = Some(executed.record.plan_sha256.clone());
        r.result_sha256 = executed.record.result_sha256.clone();
        r.verified = executed.verified;
        let at_result = present.is_result_of(lineage, x);
        r.changed_since_execute = Some(!at_result);
        if !at_result {
            let by_cutover = moved_last.is_none() && state.certain;
            r.changed_since_by = Some(if by_cutover { "cutover" } else { "other_programs" });
            r.schema_as_executed = match (&state.schema, &executed.record.schema_sha256) {
                (Some(now), Some(left)) => Some(now == left),
                _ => None,
            };
        }
    }
    if let Some(&x) = present.unsure(lineage).last() {
        let e = &lineage.executes[x];
        r.attention = Some(format!(
            "whether the change of the execute of {} (plan {}) is in the file cannot be told from it: the file was changed by other means than cutover on its way here, and neither its bytes nor its schema tell — `cutover verify` lists how it differs from that execute's result",
            e.at.get(..16).unwrap_or(&e.at).replace('T', " "),
            e.record.plan_sha256.get(..12).unwrap_or("")
        ));
        return State::NeedsAttention;
    }
    if moved_last == Some(false) {
        // Against the execute the state last seen carried: is its schema still in the file?
        let expected = lineage.last.and_then(|l| lineage.in_force(l)).and_then(|x| x.record.schema_sha256.clone());
        if let (Some(now), Some(left)) = (&state.schema, expected) {
            r.schema_as_executed = Some(*now == left);
        }
        let last = lineage.last.map(|l| describe(lineage, l)).unwrap_or_else(|| "none".into());
        r.attention = Some(format!(
            "written to since, and its schema is that of {}, not that of the state cutover last left it in ({last}): it was put back, or changed, by other means than cutover",
            describe(lineage, i)
        ));
        return State::NeedsAttention;
    }
    if moved_last.is_none() && lineage.last != Some(i) {
        r.note = Some(format!(
            "it is byte for byte {}, put back by other means than cutover: cutover last left it as {}",
            describe(lineage, i),
            lineage.last.map(|l| describe(lineage, l)).unwrap_or_else(|| "none".into())
        ));
    }
    if newest.is_none() {
        r.changed_since_execute = None;
        if moved_last.is_some() {
            r.note = Some("written to since".into());
        }
    }
    match newest {
        Some(x) => match (r.changed_since_execute, lineage.executes[x].verified) {
            (Some(true), _) => State::ChangedSinceExecute,
            (_, Some(true)) => State::MigratedAndVerified,
            (_, Some(false)) => State::VerificationFailed,
            (_, None) => State::MigratedUnverified,
        },
        None => {
            // No change cutover made is in the file.
            let undo = matches!(state.origin, Origin::Result(u) if lineage.executes[u].kind == Kind::Undo);
            if undo {
                State::Undone
            } else if lineage.last == Some(i) && standing.rolled_back {
                State::RolledBack
            } else {
                r.note = None;
                r.attention = Some(format!(
                    "{} is {}, put back by other means than `cutover rollback`: no change cutover made is in it",
                    shown(db),
                    if moved_last.is_some() {
                        format!("written on {}", describe(lineage, i))
                    } else {
                        format!("byte for byte {}", describe(lineage, i))
                    }
                ));
                State::NeedsAttention
            }
        }
    }
}

/// A recorded state in words: "the backup of 2026-12-08 13:47" or "the result of the execute
/// of 2026-12-08 13:47 (plan 1a2b3c4d5e6f)".
pub(crate) fn describe(lineage: &Lineage, i: usize) -> String {
    let state = &lineage.states[i];
    let when = |at: &str| at.get(..16).unwrap_or(at).replace('T', " ");
    match &state.origin {
        Origin::Backup(path) => format!("the backup {}", paths::file_name(path)),
        Origin::Result(x) => {
            let e = &lineage.executes[*x];
            let what = if e.kind == Kind::Undo { "the undo" } else { "the execute" };
            format!("the result of {what} of {}, plan {}", when(&e.at), e.record.plan_sha256.get(..12).unwrap_or(""))
        }
    }
}

fn carried(lineage: &Lineage, x: usize, certain: bool) -> InFile {
    let e = &lineage.executes[x];
    InFile {
        plan_sha256: e.record.plan_sha256.clone(),
        kind: match e.kind {
            Kind::Tenant => "tenant",
            Kind::Script => "script",
            Kind::Undo => "undo",
            Kind::Rebuild => "isolation_fix",
            Kind::Migrations => "app_migrations",
            Kind::Unknown => "unknown",
        },
        executed_at: e.at.clone(),
        verified: e.verified,
        presumed: !certain,
    }
}

/// Where cutover's runs got to on a file none of its executes changed.
fn activity(entries: &[Entry], r: &mut StatusReport) -> State {
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

fn summary(r: &StatusReport) -> String {
    let db = shown(&r.database);
    let verified = if r.verified == Some(true) { " and verified" } else { "" };
    let line = match r.state {
        State::Untouched => format!("{db}: untouched — cutover has recorded nothing about it"),
        State::ChangedSinceExecute if r.changed_since_by == Some("cutover") => format!(
            "{db}: migrated{verified}, and changed since that execute only by cutover's own later runs; its change is still in the file"
        ),
        State::ChangedSinceExecute => match r.schema_as_executed {
            Some(true) => format!(
                "{db}: migrated{verified}, and written to since the execute (the shop's application has used it; its schema is still the execute's)"
            ),
            Some(false) => format!(
                "{db}: migrated{verified}, written to since the execute, and its schema has changed since the execute left it (by other means than cutover)"
            ),
            None => format!("{db}: migrated{verified}, and written to since the execute"),
        },
        State::MigratedAndVerified => format!("{db}: migrated and verified, still exactly the execute's result"),
        State::Undone => format!(
            "{db}: undone in place — the cutover was taken back (`rollback --undo`); no change cutover made is in it"
        ),
        State::RolledBack => {
            format!("{db}: rolled back — the backup was put back; no change cutover made is in it")
        }
        State::NeedsAttention => format!("{db}: needs attention — {}", r.attention.as_deref().unwrap_or("see the journal")),
        s => format!("{db}: {}", s.words()),
    };
    let line = if r.in_file.iter().any(|x| x.presumed) && r.state != State::NeedsAttention {
        format!("{line} (as far as its schema tells: other programs wrote to it on its way here)")
    } else {
        line
    };
    match &r.note {
        Some(n) => format!("{line} — {n}"),
        None => line,
    }
}
