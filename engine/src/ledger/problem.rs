//! Why a run with the application's migrations will not go on, as data (`refusal` in JSON).

use std::path::PathBuf;

use serde::Serialize;

use super::LedgerKind;
use crate::error::ExitKind;
use crate::shown::shown;

/// A refusal about the application's ledger or migrations folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Problem {
    /// `--app-check` without `{db}`: the program would run on the database itself (exit 2).
    #[error("the --app-check command must name the copy it checks as {{db}} (`shopd --check {{db}}`): without it the program would open the database itself, outside cutover's backup and transaction")]
    CheckWithoutDb,
    /// The database itself changed while `--app-check` ran (exit 1).
    #[error(
        "{} itself changed while `{command}` ran: the program wrote to the database, not to the copy ({{db}}) it was given. cutover changed nothing; look at what the program did before going on",
        shown(.db)
    )]
    ChangedDuringCheck {
        /// The database.
        #[serde(with = "crate::ospath")]
        db: PathBuf,
        /// The program.
        command: String,
    },
    /// An empty name ledger: the form its runner writes names in cannot be read (exit 2).
    #[error("{table} records no migration yet, so the form the application's runner gives names (`009_x.sql`, `migrations/009_x.sql`, …) cannot be read from it, and cutover does not guess: a row in the wrong form would have the application run that migration again. Let the application apply its migrations itself this once")]
    NameFormUnknown {
        /// The ledger's table.
        table: String,
    },
    /// The application's migrations were asked for without their folder (exit 2).
    #[error("the application's migrations need their folder: --migrations DIR")]
    NoFolder,
    /// `--ledger` named a kind cutover does not know (exit 2).
    #[error("unknown ledger kind {asked:?}: cutover knows {known}")]
    UnknownKind {
        /// What was asked.
        asked: String,
        /// The kinds it knows.
        known: String,
    },
    /// `--ledger KIND` named a ledger the database does not have (exit 2).
    #[error(
        "no {kind} ledger in this database{}{}",
        if found.is_empty() { String::new() } else { format!(" (found: {})", found.join("; ")) },
        if not_ledgers.is_empty() { String::new() } else { format!(" (not ledgers: {})", not_ledgers.join("; ")) }
    )]
    AskedNotFound {
        /// The kind asked for.
        kind: LedgerKind,
        /// The ledgers there are.
        found: Vec<String>,
        /// Tables named like ledgers that are not.
        not_ledgers: Vec<String>,
    },
    /// More than one ledger, and `--ledger` did not say which (exit 2).
    #[error("this database keeps more than one migration ledger ({}): name the application's with --ledger KIND", found.join("; "))]
    Ambiguous {
        /// The ledgers found.
        found: Vec<String>,
    },
    /// `--migrations` was given but the database keeps no ledger (exit 2).
    #[error(
        "no migration ledger in this database, so cutover cannot tell which of {}'s migrations ran{}: name its kind with --ledger KIND (known: {known})",
        shown(.dir),
        if not_ledgers.is_empty() { String::new() } else { format!(" ({})", not_ledgers.join("; ")) }
    )]
    NoLedger {
        /// The migrations folder.
        #[serde(with = "crate::ospath")]
        dir: PathBuf,
        /// Tables named like ledgers that are not.
        not_ledgers: Vec<String>,
        /// The kinds cutover knows.
        known: String,
    },
    /// The migrations folder cannot be read (exit 2).
    #[error("cannot read the migrations folder {}: {why}", shown(.dir))]
    FolderUnreadable {
        /// The folder.
        #[serde(with = "crate::ospath")]
        dir: PathBuf,
        /// Why.
        why: String,
    },
    /// The folder holds no migration the ledger's runner would take (exit 2).
    #[error("{} holds no {kind} migration ({expect}){}: is it the application's migrations folder?", shown(.dir), if skipped.is_empty() { String::new() } else { format!("; passed over: {}", skipped.join(", ")) })]
    NoMigrations {
        /// The folder.
        #[serde(with = "crate::ospath")]
        dir: PathBuf,
        /// The ledger's kind.
        kind: LedgerKind,
        /// What a migration file of that kind is called.
        expect: &'static str,
        /// What was there instead.
        skipped: Vec<String>,
    },
    /// A migration's file name is not UTF-8: no ledger row could name it as the runner does
    /// (exit 2).
    #[error("{} has a name that is not UTF-8: cutover cannot record it as the application's runner would — rename it", shown(.file))]
    NameNotUtf8 {
        /// The file.
        #[serde(with = "crate::ospath")]
        file: PathBuf,
    },
    /// A migration cutover cannot model (exit 2).
    #[error("{} is {why}", shown(.file))]
    Unsupported {
        /// The file.
        #[serde(with = "crate::ospath")]
        file: PathBuf,
        /// What it is and why.
        why: &'static str,
    },
    /// A migration file is not UTF-8 (exit 2).
    #[error("{} is not UTF-8 text", shown(.file))]
    NotUtf8 {
        /// The file.
        #[serde(with = "crate::ospath")]
        file: PathBuf,
    },
    /// A goose or dbmate file without its Up section (exit 2).
    #[error("{} has no `{marker}` line: its runner would refuse it", shown(.file))]
    NoUpSection {
        /// The file.
        #[serde(with = "crate::ospath")]
        file: PathBuf,
        /// The marker it needs.
        marker: &'static str,
    },
    /// Two files with one version (exit 2).
    #[error("{} has two migrations with one version: {first} and {second}; the runner refuses that", shown(.dir))]
    DuplicateVersion {
        /// The folder.
        #[serde(with = "crate::ospath")]
        dir: PathBuf,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// The ledger's names are not this folder's files (exit 2).
    #[error(
        "none of the {recorded} names in {table} ({example:?}, …) is a file of {}: is it the application's migrations folder? The runner would run every file again",
        shown(.dir)
    )]
    NamesDoNotMatch {
        /// The ledger's table.
        table: String,
        /// How many names it records.
        recorded: usize,
        /// One of them.
        example: String,
        /// The folder.
        #[serde(with = "crate::ospath")]
        dir: PathBuf,
    },
    /// The application's runner would refuse to start with this ledger and folder (exit 1):
    /// a recorded migration's file changed, a migration is out of order, or one failed.
    #[error("{tool} would refuse to start: {why}. Nothing was changed")]
    RunnerRefuses {
        /// The runner.
        tool: LedgerKind,
        /// What it would say.
        why: String,
    },
    /// `--record-as` names a file that is not a migration of the folder (exit 2).
    #[error("{} is not a {kind} migration of {}: --record-as takes one of its files", shown(.file), shown(.dir))]
    NotAMigration {
        /// The file named.
        #[serde(with = "crate::ospath")]
        file: PathBuf,
        /// The folder.
        #[serde(with = "crate::ospath")]
        dir: PathBuf,
        /// The ledger's kind.
        kind: LedgerKind,
    },
    /// `--record-as` names a migration the ledger already records (exit 2).
    #[error("{shown} is already recorded in {table}: the application counts it as applied, so recording the plan as it would record nothing new")]
    AlreadyRecorded {
        /// The migration.
        shown: String,
        /// The ledger's table.
        table: String,
    },
}

impl Problem {
    /// The exit a face gives it.
    pub fn exit_kind(&self) -> ExitKind {
        match self {
            Problem::RunnerRefuses { .. } | Problem::ChangedDuringCheck { .. } => ExitKind::Stopped,
            _ => ExitKind::BadInput,
        }
    }
}
