//! The engine: every piece of database work cutover does, with no terminal or command-line
//! code (its own crate, so Cargo keeps those crates out).
//!
//! A face drives a [`Session`]: a [`PlanRequest`] becomes a plan, a rehearsal on a copy, an
//! execute on production, a verification or a rollback, with every decision between them made
//! here. Each call pushes [`Progress`] to a callback and returns a report; a refusal is an
//! [`Error`], its reason a [`Refusal`] or [`BadArgument`] the face can branch on.
//!
//! The modules are private; what a face may use is the list below. The `internals` feature
//! makes the modules public (hidden) for the benchmark, the tests that forge crash states and
//! the fuzz targets.
#![deny(missing_docs)]

/// Declares the engine's modules: private, or public but hidden with the `internals` feature.
macro_rules! modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

modules!(
    apply, audit, backup, backup_ref, changes, demo, dryrun, durable, error, execute, guard, hashing, hold, holder,
    human, inuse, isolate, journal, ledger, leftovers, open, paths, plan, platform, preflight, progress, recovery,
    refusal, reports, reverify, rollback, session, shown, space, sql, status, verify, wal,
);

pub mod ospath;

pub use apply::{Cancel, StatementRun};
pub use audit::{AuditOptions, AuditReport, DEFAULT_COLUMN, Decision, Risk, TableAudit, TableKind};
pub use backup::{BackupOptions, BackupReport, BackupTimings};
pub use backup_ref::BackupRef;
pub use changes::{Changes, TableChange};
pub use demo::{DEMO_SQL, create as create_demo};
pub use dryrun::{DryRunOptions, DryRunReport, DryRunTimings};
pub use error::{Error, ExitKind, Result};
pub use execute::{ExecuteReport, ExecuteTimings, Rehearsal};
pub use holder::Holder;
pub use human::human_bytes;
pub use inuse::confirm_stopped;
pub use isolate::{Concern, IsolationFinding, IsolationReport};
pub use journal::{ExecuteRecord, PassedDryRun, RollbackRecord, Standing, ensure_records_dir as records_dir};
pub use ledger::plan::{App as AppSide, CHECK_SECONDS as APP_CHECK_SECONDS};
pub use ledger::{Found as Ledgers, Ledger, LedgerKind, NotLedger, Problem as LedgerProblem};
pub use paths::file_name;
pub use plan::app::{MigrationsSpec, Records};
pub use plan::rebuild::{KeyChoice, RebuildSpec, RebuiltTable, Rescoped, RescopedIndex};
pub use plan::script::first_line;
pub use plan::tenant::DEFAULT_TYPE;
pub use plan::undo::UndoSpec;
pub use plan::{Plan, PlanSource, PlannedStatement, PlannedTable, TenantSpec};
pub use platform::{LIMITED_CONSOLE_FONT, Unseen, shell_quote};
pub use preflight::{FileFacts, PreflightReport, check_file};
pub use progress::Progress;
pub use recovery::Recovery;
pub use refusal::{BadArgument, Refusal};
pub use reverify::Reverification;
pub use rollback::RollbackReport;
pub use rollback::request::Asked as RollbackAsked;
pub use session::{
    AlreadyDone, AppView, Executed, FixRequest, HoldSlot, PlanRequest, Planned, Rehearsed, Resume, ResumeState, Run,
    Session, TenantChoice, Verified,
};
pub use shown::shown;
pub use status::present::Covers;
pub use status::report::{BackupStatus, InFile, State as StandingState, StatusReport};
pub use verify::snapshot::Snapshot;
pub use verify::{Check, Finding, Identical, Scope, Status, Verification};

/// The SQLite library the engine is built with (it is compiled in).
pub fn sqlite_version() -> &'static str {
    rusqlite::version()
}
