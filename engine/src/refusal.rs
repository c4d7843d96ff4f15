//! Why a phase will not go on, as data: each refusal is its own variant, so a face can branch
//! on it (the wizard says "the change IS committed" only when it is) and fleet tooling reads
//! its name (`refusal` in JSON), while the words a technician reads stay in one place.

use std::path::PathBuf;

use serde::Serialize;

use crate::platform::shell_quote;
use crate::shown::shown;

/// A phase stopped before it could do what was asked, or after, saying what holds (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    /// The backup file is not there.
    #[error("the backup {} is gone — make a new backup", shown(.path))]
    BackupGone {
        /// The backup.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The backup cannot be read.
    #[error("the backup {} cannot be read ({cause}) — make a new backup", shown(.path))]
    BackupUnreadable {
        /// The backup.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What the system said.
        cause: String,
    },
    /// The backup no longer hashes as recorded; `doing` says what was not done about it.
    #[error("the backup {} no longer matches its recorded hash (it changed on disk) — {doing}", shown(.path))]
    BackupChanged {
        /// The backup.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What follows: "nothing was changed; make a new backup and dry run", "it is not restored", …
        doing: &'static str,
    },
    /// The backup a rollback would restore cannot be read.
    #[error("the backup {} cannot be read: {cause}", shown(.path))]
    RestoreUnreadable {
        /// The backup.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What the system said.
        cause: String,
    },
    /// The backup a rollback would restore does not hash as recorded.
    #[error(
        "the backup {} does not match its recorded hash (recorded {recorded}, found {found}) — it is not restored",
        shown(.path)
    )]
    RestoreNotAsRecorded {
        /// The backup.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// The recorded hash (shortened).
        recorded: String,
        /// What it hashes to now (shortened).
        found: String,
    },
    /// The backup changed while the restore copied it.
    #[error("the backup changed while it was being copied — nothing was restored")]
    BackupChangedWhileCopied,
    /// A copy did not read back from the disk as written.
    #[error(
        "the copy of the backup did not read back from the disk as written (SHA-256 {sha256}) — the disk may be failing; nothing was restored"
    )]
    CopyReadBackMismatch {
        /// What it read back as (shortened).
        sha256: String,
    },
    /// The dry run the execute would rely on is not of this plan.
    #[error("no passed dry run of this plan ({plan}) — run the dry run first")]
    NoPassedDryRun {
        /// The plan's short hash.
        plan: String,
    },
    /// The dry run started from other bytes than the backup the execute would keep.
    #[error("the dry run started from other bytes than this backup — run the dry run again")]
    RehearsedOtherBytes,
    /// A write reached the database's WAL after its checkpoint, under the execute's lock.
    #[error(
        "{} changed since the backup: a write reached its WAL after the checkpoint (is the application running?) — nothing changed; stop the application, then run execute again",
        shown(.path)
    )]
    WalWrittenSinceBackup {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The database no longer hashes to the backup the rehearsal started from.
    #[error(
        "{} changed since the backup (its SHA-256 is no longer the backup's) — nothing changed; make a new backup and dry run",
        shown(.path)
    )]
    ChangedSinceBackup {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The WAL still holds frames after a checkpoint under the lock.
    #[error("the WAL of {} still holds changes after its checkpoint — stop the application and try again", shown(.path))]
    WalNotEmpty {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// Rows carry another tenant than the plan's: dropping the column would lose which shop
    /// they belong to.
    #[error(
        "undo in place would lose data: the column it drops holds a tenant other than {} for {} — nothing was changed. Restore the backup instead (that discards everything written since the cutover), or move those rows first",
        crate::sql::literal(.tenant), tenant_rows(.tables)
    )]
    UndoLosesTenants {
        /// The plan's tenant value.
        tenant: String,
        /// Each table with rows of another tenant, and how many.
        tables: Vec<(String, u64)>,
    },
    /// No table has the tenant column yet, so there is no isolation to audit.
    #[error(
        "no table of {} has {column} yet: isolation is the step after the tenant migration — run `cutover execute … --tenant …` first",
        shown(.path)
    )]
    NoTenantColumn {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// The tenant column looked for.
        column: String,
    },
    /// A foreign key to the tenant registry was asked for, and there is none.
    #[error("{} has no tenant registry (a table of tenant ids) for the foreign key to point at — nothing was changed; leave --registry-fk out", shown(.path))]
    NoRegistry {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// A chosen key cannot be rebuilt to lead with the tenant column.
    #[error("the key of {} cannot be scoped per tenant: {why} — nothing was changed", crate::sql::ident(.table))]
    CannotRescope {
        /// The table.
        table: String,
        /// Why not, and what to do.
        why: String,
    },
    /// A rehearsal copy's WAL could not be folded in after its commit.
    #[error("the WAL could not be checkpointed after the commit (another reader?)")]
    CopyNotFolded,
    /// The lock was let go of earlier than the caller expected.
    #[error("the database is no longer held")]
    NotHeld,
    /// The journal could not record that the commit came next, so the execute rolled back.
    #[error(
        "the journal could not record that the commit was next ({cause}), so the transaction was rolled back: nothing changed"
    )]
    CommitNotRecorded {
        /// What the system said.
        cause: String,
    },
    /// SQLite reported an error, yet the file equals the rehearsal's result: the change is in.
    #[error(
        "SQLite reported \"{reported}\", yet the change is on disk in full (the file equals the rehearsal's result): run `cutover verify {}` to confirm, or roll back",
        shell_quote(.path)
    )]
    CommittedDespiteError {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What SQLite said.
        reported: String,
    },
    /// An execute failed and the file equals neither the backup nor the rehearsal's result.
    #[error(
        "{reported} — and the file now equals neither the backup nor the rehearsal's result: do not start the application; run `cutover verify {}` first",
        shell_quote(.path)
    )]
    NeitherBackupNorResult {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What went wrong.
        reported: String,
    },
    /// An interrupted execute cannot be told committed or not (see `status`).
    #[error(
        "cutover cannot tell whether the last execute on {} committed: it was cut off around its commit and the database has been written to since, so it is neither the backup nor the execute's result; have it looked at before anything else. `cutover rollback` lists everything restoring the backup would discard; `--discard-changes` then restores it, keeping this file aside — {then}",
        shown(.path)
    )]
    CannotTell {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What was therefore not done: "nothing was changed", "nothing was verified".
        then: &'static str,
    },
    /// A script run again where the journal says it is in force, on a file that moved on.
    #[error(
        "the journal of {} records this very script committed there and not rolled back, and {why}: running it again could apply it twice, so it was not run again. `cutover verify` checks the execute in force; `cutover rollback` puts the backup back first if the script is to run again",
        shown(.path)
    )]
    ScriptMayBeInForce {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// Why it cannot be told done.
        why: &'static str,
    },
    /// A script whose statements already ran on this database, with or without another text.
    #[error(
        "{} already applied to {} by {execute}, and {how}: running them again {} apply them twice, so they were not run. To apply them a second time on purpose: `cutover execute {} --script {} --again --yes`",
        if *.alike { "statements like these were" } else { "these statements were" },
        shown(.path),
        if *.alike { "could" } else { "would" },
        shell_quote(.path),
        shell_quote(.script)
    )]
    ScriptAlreadyApplied {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// The script asked for.
        #[serde(with = "crate::ospath")]
        script: PathBuf,
        /// The execute that applied them: "the execute of 2026-12-08 13:47 (plan 1a2b3c4d5e6f)".
        execute: String,
        /// What the file says about that change now.
        how: String,
        /// The statements that ran are alike, not the same (they differ in the case or quoting
        /// of words).
        alike: bool,
    },
    /// The journal's last execute is not in the file: its bytes are a recorded state without it.
    #[error(
        "{} is {state}, which does not hold the execute of plan {plan} the journal names last (the file was put back by other means than cutover): there is nothing of it to verify — `cutover status` says what the file holds",
        shown(.path)
    )]
    ExecuteNotInFile {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// The first 12 digits of the execute's plan hash.
        plan: String,
        /// The recorded state the file is, or was written on, in words.
        state: String,
    },
    /// The database was written to in the moment a rollback let go of it.
    #[error(
        "{} was written to in the moment the rollback let go of it — nothing was restored; stop the application and run the rollback again",
        shown(.path)
    )]
    WrittenBeforeSwap {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The database was written to during the swap; the swap was undone.
    #[error(
        "{} was written to during the swap: the rollback was undone and the database is as that write left it — stop the application and run the rollback again",
        shown(.path)
    )]
    WrittenDuringSwap {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// A rollback was cut off after it moved the database aside.
    #[error(
        "a rollback of {} was cut off after it moved the database to {}: run the rollback again to finish it (it puts that file back first)",
        shown(.path),
        shown(.moved)
    )]
    RollbackCutOff {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// Where the database was moved.
        #[serde(with = "crate::ospath")]
        moved: PathBuf,
    },
    /// The last execute was interrupted before its commit and the file equals its backup.
    #[error(
        "the last execute on {} was interrupted before its commit: SQLite rolled it back and the database equals its backup — nothing to verify",
        shown(.path)
    )]
    InterruptedUnchanged {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The last execute was cut off during its COMMIT, and the file holds what it started from.
    #[error(
        "the last execute on {} was cut off during its commit and did not commit: SQLite rolled its transaction back from the hot journal the cut left, and the database holds the schema and every row it had before the execute, checked table by table against the state the execute started from{pages}. Nothing to verify: the execute can be run again",
        shown(.path)
    )]
    InterruptedDidNotCommit {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What its bytes are against the backup's, when told ("; its bytes differ …").
        pages: String,
    },
    /// The last execute was interrupted before its commit; the shop wrote since.
    #[error(
        "the last execute on {} was interrupted before its commit: SQLite rolled it back, so the migration is not in place (the shop has written to the database since) — nothing to verify",
        shown(.path)
    )]
    InterruptedNeverCommitted {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The journal records no committed execute to verify.
    #[error("nothing to verify: the journal records no committed execute for {}", shown(.path))]
    NothingToVerify {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The execute was rolled back since.
    #[error("{} was rolled back after its execute; there is no migration to verify", shown(.path))]
    RolledBackSince {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The journal holds no passed rehearsal of the executed plan.
    #[error("the journal has no passed dry run of the executed plan to compare with")]
    NoRecordedRehearsal,
    /// A line in the middle of the journal does not parse.
    #[error("{} line {line} is damaged ({cause}); move the file aside to start over", shown(.path))]
    JournalDamaged {
        /// The journal.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What is wrong with it.
        cause: String,
    },
    /// SQLite could not recover a database left by a crash.
    #[error(
        "{} could not be recovered ({still}); the copy as found is in {} — have it looked at before anything else",
        shown(.path),
        shown(.kept)
    )]
    NotRecovered {
        /// The database.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// What is still there.
        still: String,
        /// The copy kept as found.
        #[serde(with = "crate::ospath")]
        kept: PathBuf,
    },
    /// A check's thread ended without a result.
    #[error("the {0} stopped")]
    CheckStopped(&'static str),
}

impl Refusal {
    /// Whether the plan's change is in the database despite the refusal.
    pub fn committed(&self) -> bool {
        matches!(self, Refusal::CommittedDespiteError { .. })
    }

    /// Whether the refusal leaves the file in a state nobody should touch before it is
    /// looked at (neither backup nor result, or a commit that cannot be told).
    pub fn needs_a_look(&self) -> bool {
        matches!(self, Refusal::NeitherBackupNorResult { .. } | Refusal::CannotTell { .. })
    }
}

/// An argument value the engine cannot use (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum BadArgument {
    /// A backup named for a rollback is not one the journal recorded.
    #[error(
        "{} is not a backup cutover recorded for {} — only recorded, hash-proven backups are restored",
        shown(.backup),
        shown(.db)
    )]
    UnrecordedBackup {
        /// The file named.
        #[serde(with = "crate::ospath")]
        backup: PathBuf,
        /// The database.
        #[serde(with = "crate::ospath")]
        db: PathBuf,
    },
    /// The demo database would replace a file.
    #[error("{} already exists — cutover never replaces a database; choose another --dir", shown(.path))]
    DemoExists {
        /// The file there.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// A chain of links too long to follow.
    #[error("{typed} is a chain of more than {max} links (a loop?) — give the database file itself")]
    LinkLoop {
        /// What was typed.
        typed: String,
        /// How many links are followed.
        max: usize,
    },
    /// The backup folder is a file.
    #[error("{} is not a folder — give a folder for the backup", shown(.path))]
    BackupDirNotFolder {
        /// What was given.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The backup folder does not exist.
    #[error("backup folder {} does not exist — create it first or choose another", shown(.path))]
    BackupDirMissing {
        /// What was given.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The column name cannot be used.
    #[error("the column name must be non-empty text without NUL bytes")]
    ColumnName,
    /// The column name is empty.
    #[error("the tenant column name is empty — give one with --column")]
    ColumnEmpty,
    /// The tenant value is empty.
    #[error("the tenant value is empty — give one with --tenant")]
    TenantEmpty,
    /// The tenant value holds a NUL byte.
    #[error("the tenant value contains a NUL byte, which SQL text cannot hold")]
    TenantNul,
    /// The column type is not a type name.
    #[error("{0:?} is not a column type — use a type name such as VARCHAR(255) or TEXT")]
    ColumnType(String),
    /// The same table given to --only and --skip.
    #[error("--only {table} and --skip {table} contradict each other — give one of them")]
    OnlyAndSkip {
        /// The table.
        table: String,
    },
    /// The script file is not there.
    #[error("script {}: no such file — check the path", shown(.path))]
    ScriptMissing {
        /// The script.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The script is not UTF-8.
    #[error("script {} is not UTF-8 text — save it as UTF-8", shown(.path))]
    ScriptNotUtf8 {
        /// The script.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
    },
    /// The script holds a NUL byte.
    #[error("the script contains a NUL byte — is it really a .sql text file?")]
    ScriptNul,
    /// The script has no statement.
    #[error("the script has no SQL statements")]
    ScriptEmpty,
}

fn tenant_rows(tables: &[(String, u64)]) -> String {
    tables.iter().map(|(t, n)| format!("{n} row{} of {t}", if *n == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", ")
}
