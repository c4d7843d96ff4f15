//! The engine's error type: every way a phase can refuse or fail, worded so a technician can act.

use crate::shown::shown;
use std::path::{Path, PathBuf};

mod json;

use crate::changes::found::Changes;
use crate::verify::outcome::Verification;
use crate::holder::{Holder, holder_text};
pub use crate::human::human_bytes;
use crate::platform::Unseen;
pub use crate::refusal::{BadArgument, Refusal};

/// What an undone rollback says of a second name it could not take away from the database.
fn second_name_text(db: &Path, second: Option<&Path>) -> String {
    match second {
        None => String::new(),
        Some(name) => format!(
            ". Note: {} is still a second name of the live database {} (the program that opened it kept the system from removing that name): it is not a kept copy — do not delete, move or copy it; the next cutover run on {} removes it once it can, and says so if it cannot",
            show(name),
            show(db),
            show(db)
        ),
    }
}

/// What the process exit code should be for an error, as PRODUCT.md defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// A check failed or the run was stopped safely; nothing was lost (exit 1).
    Stopped = 1,
    /// Bad input or usage (exit 2).
    BadInput = 2,
    /// The database is in use by another process (exit 3).
    InUse = 3,
}

/// Everything that can go wrong in the engine, each variant saying what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path does not exist; cutover never creates a database.
    #[error("{}: no such file — check the path (cutover never creates a database)", show(.path))]
    NotFound {
        /// The file concerned.
        path: PathBuf,
    },

    /// The path is a directory.
    #[error("{} is a folder, not a database file — give the path of the database file inside it", show(.path))]
    IsDirectory {
        /// The file concerned.
        path: PathBuf,
    },

    /// The path is a device, socket, FIFO or other non-regular file.
    #[error("{} is not a regular file — give the path of the database file itself", show(.path))]
    NotRegularFile {
        /// The file concerned.
        path: PathBuf,
    },

    /// The file has zero bytes, which SQLite would silently treat as a new empty database.
    #[error("{} is empty (0 bytes), so it holds no database — check that this is the right file", show(.path))]
    EmptyFile {
        /// The file concerned.
        path: PathBuf,
    },

    /// The file does not start with the SQLite header.
    #[error("{} is not a SQLite database (it does not start with the SQLite header) — check the path", show(.path))]
    NotSqlite {
        /// The file concerned.
        path: PathBuf,
    },

    /// The file is shorter than its own header says it should be.
    #[error(
        "{} is truncated: its header says {expected} bytes but the file has {actual} — it was cut short while copying; find a complete copy",
        show(.path)
    )]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// The size its header gives.
        expected: u64,
        /// The size it has.
        actual: u64,
    },

    /// SQLite's own consistency check failed.
    #[error(
        "{} is damaged: SQLite's quick_check reports \"{detail}\" — do not migrate it; keep the file as it is and have it repaired first",
        show(.path)
    )]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },

    /// The database or its folder cannot be written (permissions, a read-only mount, an
    /// immutable file).
    #[error("{} cannot be written ({why}) — cutover must write beside and into the database; check its permissions and the mount", show(.path))]
    ReadOnly {
        /// The file concerned.
        path: PathBuf,
        /// Why, in words.
        why: String,
    },

    /// Another process holds the database (or its WAL) open.
    #[error(
        "{} is open in {}: stop the {} first",
        show(.path),
        holders_text(.holders),
        if .holders.iter().any(|h| h.service.is_some()) { "service" } else { "application" }
    )]
    InUse {
        /// The file concerned.
        path: PathBuf,
        /// The processes holding it.
        holders: Vec<Holder>,
    },

    /// A process opened the database while a rollback was swapping it; the rollback undid
    /// itself, so nothing changed.
    #[error(
        "{} opened {} while the backup was being put in place, so the rollback was undone and nothing changed — stop the application, then run the rollback again{}",
        holders_text(.holders),
        show(.path),
        second_name_text(.path, .second_name.as_deref())
    )]
    OpenedDuringRollback {
        /// The file concerned.
        path: PathBuf,
        /// The processes holding it.
        holders: Vec<Holder>,
        /// The second name the rollback gave the database and could not take away again
        /// while that program held it: it still names the live database.
        second_name: Option<PathBuf>,
    },

    /// Processes that could have the database open could not be looked into, and the
    /// technician has not confirmed that the application is stopped.
    #[error("{}", unseen_text(.path, .unseen, .blind.as_deref()))]
    Unseen {
        /// The file concerned.
        path: PathBuf,
        /// The processes that could not be looked into.
        unseen: Vec<Unseen>,
        /// Why no process could be looked into, when that is so.
        blind: Option<String>,
    },

    /// Another process holds a SQLite lock, seen through the lock probe or SQLITE_BUSY.
    #[error("{} is locked by another process{}: stop the application first", show(.path), pid_text(*.pid))]
    Locked {
        /// The file concerned.
        path: PathBuf,
        /// The pid holding the lock, when known.
        pid: Option<i32>,
    },

    /// Not enough free disk space for what the phase must write.
    #[error(
        "not enough free disk in {}: {} needed, {} free — free some space{}",
        show(.dir), human_bytes(*.needed), human_bytes(*.available),
        if *.backup_dir_helps { " or choose another folder (--backup-dir)" } else { "" }
    )]
    DiskSpace {
        /// The folder concerned.
        dir: PathBuf,
        /// Bytes needed.
        needed: u64,
        /// Bytes free.
        available: u64,
        /// Whether `--backup-dir` could put what is written elsewhere (the backup alone).
        backup_dir_helps: bool,
    },

    /// The backup read back from disk did not hash to what was written; it was deleted.
    #[error(
        "backup hash MISMATCH: the source hashed {source_sha256} but the copy on disk hashed {backup_sha256}; the bad copy was deleted — check the disk (dmesg) and try again"
    )]
    BackupMismatch {
        /// What the source hashed to.
        source_sha256: String,
        /// What the copy on disk hashed to.
        backup_sha256: String,
    },

    /// A restore by renaming cannot work for this file (more names than one, a file mounted on
    /// its own), so neither the execute nor the rollback may start.
    #[error("{}: {why}", show(.path))]
    CannotRestore {
        /// The file concerned.
        path: PathBuf,
        /// Why, in words.
        why: String,
    },

    /// The database is not what the execute left (the shop wrote to it, or it is missing):
    /// restoring the backup would discard that. Nothing was changed.
    #[error("{message}")]
    WouldDiscard {
        /// What to tell the technician.
        message: String,
        /// What the restore would discard, when it could be told.
        changes: Option<Changes>,
    },

    /// The journal records no execute to roll back.
    #[error("{0}")]
    NothingToRollBack(String),

    /// The last execute has no inverse cutover can run in place: why, and what to do instead.
    #[error("{0}")]
    NoUndo(String),

    /// A step after the commit failed: the change is in the database; verified when the
    /// verification ran before the step that failed (it is carried, so a face can show it).
    #[error(
        "the change IS committed to {} (the database is migrated){}, but {what} failed: {cause} — run `cutover verify {}` next; do not run the migration again",
        show(.path),
        verified_text(.verification.as_deref()),
        crate::platform::shell_quote(.path)
    )]
    AfterCommit {
        /// The file concerned.
        path: PathBuf,
        /// The step that failed.
        what: String,
        /// What went wrong in it.
        cause: String,
        /// The verification of production, when it ran before the step that failed.
        verification: Option<Box<Verification>>,
    },

    /// A step after the restore failed: the backup is in place.
    #[error(
        "the backup IS restored: {} equals it (MATCH), but {what} failed: {cause} — running the rollback again records it and changes nothing more",
        show(.path)
    )]
    AfterRestore {
        /// The file concerned.
        path: PathBuf,
        /// The step that failed.
        what: String,
        /// What went wrong in it.
        cause: String,
    },

    /// A table named on the command line does not exist.
    #[error("there is no table named \"{name}\" in the database — run `cutover audit` to see the table names")]
    UnknownTable {
        /// The name given.
        name: String,
    },

    /// A script statement the engine will not run (it would fight the engine's transaction).
    #[error("script line {line}: {statement} — refused: {why}")]
    ScriptRefused {
        /// Its line in the script, from 1.
        line: usize,
        /// The statement.
        statement: String,
        /// Why, in words.
        why: String,
    },

    /// A statement of the plan failed; the transaction was rolled back.
    #[error(
        "statement {index} (line {line}) failed: {message}\n    {statement}\nThe transaction was rolled back: nothing changed{where_}."
    )]
    StatementFailed {
        /// Its number in the plan, from 1.
        index: usize,
        /// Its line in the script, from 1.
        line: usize,
        /// The statement.
        statement: String,
        /// What to tell the technician.
        message: String,
        /// Where it ran (" on the copy", " on production").
        where_: String,
    },

    /// The technician stopped the run at a safe point; where, and in what state it left the
    /// database.
    #[error("stopped by you{0}")]
    Cancelled(String),

    /// A phase's precondition is not met (no passed dry run, no matching backup, …), or it
    /// stopped saying what holds: which one is data ([`Refusal`]).
    #[error("{0}")]
    NotReady(Refusal),

    /// A verification found a failing check.
    #[error("verification FAILED: {0}")]
    VerificationFailed(String),

    /// An argument value the engine cannot use ([`BadArgument`]).
    #[error("{0}")]
    InvalidArgument(BadArgument),

    /// The application's ledger or migrations folder stands in the way ([`crate::ledger::Problem`]).
    #[error("{0}")]
    Ledger(crate::ledger::Problem),

    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },

    /// SQLite returned an error.
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: rusqlite::Error,
    },
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_kind(&self) -> ExitKind {
        match self {
            Error::NotFound { .. }
            | Error::IsDirectory { .. }
            | Error::NotRegularFile { .. }
            | Error::EmptyFile { .. }
            | Error::NotSqlite { .. }
            | Error::Truncated { .. }
            | Error::Corrupt { .. }
            | Error::UnknownTable { .. }
            | Error::ScriptRefused { .. }
            | Error::ReadOnly { .. }
            | Error::CannotRestore { .. }
            | Error::NothingToRollBack(_)
            | Error::NoUndo(_)
            | Error::InvalidArgument(_) => ExitKind::BadInput,
            Error::InUse { .. } | Error::Locked { .. } | Error::Unseen { .. } | Error::OpenedDuringRollback { .. } => {
                ExitKind::InUse
            }
            Error::DiskSpace { .. }
            | Error::BackupMismatch { .. }
            | Error::StatementFailed { .. }
            | Error::Cancelled(_)
            | Error::NotReady(_)
            | Error::WouldDiscard { .. }
            | Error::AfterCommit { .. }
            | Error::AfterRestore { .. }
            | Error::VerificationFailed(_) => ExitKind::Stopped,
            Error::Io { source, .. } if crate::platform::is_held_error(source) => ExitKind::InUse,
            Error::Io { .. } => ExitKind::Stopped,
            Error::Ledger(p) => p.exit_kind(),
            Error::Sqlite { source, .. } => sqlite_exit_kind(source),
        }
    }

    /// Whether the plan's change is in the database despite this error.
    pub fn committed(&self) -> bool {
        matches!(self, Error::AfterCommit { .. }) || matches!(self, Error::NotReady(r) if r.committed())
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    /// An I/O error creating or writing a file at `path`: a permission or read-only problem is
    /// bad input the technician can fix; anything else stops the run.
    pub fn writing(path: &Path, context: impl Into<String>, source: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match source.kind() {
            K::PermissionDenied | K::ReadOnlyFilesystem => {
                Error::ReadOnly { path: path.to_path_buf(), why: source.to_string() }
            }
            _ => Error::io(context, source),
        }
    }

    /// Wraps a SQLite error with what was being done.
    pub fn sqlite(context: impl Into<String>, source: rusqlite::Error) -> Self {
        Error::Sqlite { context: context.into(), source }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn sqlite_exit_kind(e: &rusqlite::Error) -> ExitKind {
    use rusqlite::ffi::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ExitKind::InUse,
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ExitKind::BadInput,
        _ => ExitKind::Stopped,
    }
}

/// True when a SQLite error means another connection holds a lock.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::ErrorCode;
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

fn show(path: &Path) -> String {
    shown(path)
}

fn holders_text(holders: &[Holder]) -> String {
    if holders.is_empty() {
        return "another process".to_string();
    }
    holders.iter().map(holder_text).collect::<Vec<_>>().join(", ")
}

fn unseen_text(path: &Path, unseen: &[Unseen], blind: Option<&str>) -> String {
    if let Some(why) = blind {
        return format!(
            "{why}: cutover cannot tell whether another program has {} open — run it where it can see every process, or, if you are sure the shop's application is stopped, confirm it with --confirm-stopped",
            show(path)
        );
    }
    let named: Vec<String> =
        unseen.iter().take(8).map(|u| format!("pid {} ({}, user {})", u.pid, u.name, u.user)).collect();
    let more = if unseen.len() > 8 { format!(" and {} more", unseen.len() - 8) } else { String::new() };
    format!(
        "cutover cannot see inside {} process{} of other users that could have {} open: {}{more} — run cutover as root (sudo) so it can check them, or, if you are sure the shop's application is stopped, confirm it with --confirm-stopped",
        unseen.len(),
        if unseen.len() == 1 { "" } else { "es" },
        show(path),
        named.join(", ")
    )
}

fn verified_text(verification: Option<&Verification>) -> String {
    match verification {
        Some(v) if v.ok => format!(" and verified ({})", v.summary()),
        Some(v) => format!(" and its verification FAILED ({})", v.summary()),
        None => String::new(),
    }
}

fn pid_text(pid: Option<i32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_names_every_holder() {
        let e = Error::InUse {
            path: PathBuf::from("pos.db"),
            holders: vec![Holder {
                pid: 4123,
                name: "pos-server".into(),
                service: None,
                file: PathBuf::from("pos.db"),
            }],
        };
        assert_eq!(e.to_string(), "pos.db is open in pid 4123 (pos-server): stop the application first");
        assert_eq!(e.exit_kind(), ExitKind::InUse);
        let service = Holder {
            pid: 4123,
            name: "EasySale-server.exe".into(),
            service: Some("EasySale".into()),
            file: PathBuf::from("pos.db"),
        };
        let e = Error::InUse { path: PathBuf::from("pos.db"), holders: vec![service] };
        assert_eq!(
            e.to_string(),
            "pos.db is open in EasySale-server.exe (pid 4123, service EasySale): stop the service first"
        );
        let unnamed = Holder { pid: 0, name: "another program".into(), service: None, file: PathBuf::from("pos.db") };
        let e = Error::InUse { path: PathBuf::from("pos.db"), holders: vec![unnamed] };
        assert_eq!(e.to_string(), "pos.db is open in another program: stop the application first");
    }
}
