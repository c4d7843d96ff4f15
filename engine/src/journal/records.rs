//! The shapes the journal's events fold into: an execute, a passed dry run and a rollback as
//! the journal holds them, shared by the fold of where things stand and the lineage of states.

use std::path::PathBuf;

use crate::backup_ref::BackupRef;
use crate::plan::Plan;
use crate::verify::snapshot::Snapshot;

/// A rollback that started, as the journal holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRecord {
    /// The backup being restored, as recorded.
    pub backup: BackupRef,
    /// The second name the database being replaced was given.
    pub migrated_path: PathBuf,
}

/// A dry run that passed, as the journal holds it.
#[derive(Debug, Clone)]
pub struct PassedDryRun {
    /// The plan.
    pub plan: Plan,
    /// The bytes it started from.
    pub source_sha256: String,
    /// The copy's result.
    pub result_sha256: String,
    /// The state before.
    pub before: Snapshot,
    /// The checks that warned on the copy.
    pub warned: Vec<crate::verify::Check>,
}

/// An execute, as the journal holds it.
#[derive(Debug, Clone)]
pub struct ExecuteRecord {
    /// The plan's hash.
    pub plan_sha256: String,
    /// The backup it can be rolled back to, as recorded.
    pub backup: BackupRef,
    /// The transaction committed.
    pub committed: bool,
    /// The database's SHA-256 right after the commit, when it could be taken.
    pub result_sha256: Option<String>,
    /// The digest of its schema right after the commit, when recorded.
    pub schema_sha256: Option<String>,
    /// Rolled back (nothing changed).
    pub rolled_back: bool,
    /// The execute journals its COMMIT before making it (see [`Event::ExecuteCommitting`]).
    pub marks_commit: bool,
    /// It reached its COMMIT (which may or may not have finished).
    pub committing: bool,
}

/// A rollback that was undone before its end, as the journal holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoneRollback {
    /// When (RFC 3339, local time).
    pub at: String,
    /// Why, in words.
    pub why: String,
    /// The second name the database had been given, when it could not be removed.
    pub second_name_left: Option<PathBuf>,
}
