//! The command line: argument definitions and dispatch to the engine's phases.

mod app_args;
mod audit;
mod backup;
mod demo;
mod interrupt;
mod isolate;
mod outcome;
mod plan;
mod planning;
mod progress;
mod rollback;
mod run;
mod status;
mod table;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use color_eyre::Result;

/// Take a live SQLite database through a risky migration without losing a byte.
#[derive(Debug, Parser)]
#[command(name = "cutover", subcommand_precedence_over_arg = true)]
pub struct Cli {
    /// The database to open in the wizard (no database: list the SQLite files here).
    pub db: Option<PathBuf>,

    /// Run this .sql script in the wizard instead of the tenant migration.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,

    /// The application's migrations folder, ledger and own check, for the wizard.
    #[command(flatten)]
    pub app: app_args::AppArgs,

    /// Vouch that the shop's application is stopped, for processes cutover may not look into
    /// (other users', or outside its container); run as root instead to have them checked.
    /// Also CUTOVER_CONFIRM_STOPPED=1.
    #[arg(long, global = true)]
    pub confirm_stopped: bool,

    /// Print one JSON object on stdout instead of text, errors included (the headless
    /// commands; fleet tooling reads it).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands; each phase of the wizard can also run headless.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a sample point-of-sale database and open the wizard on it.
    Demo {
        /// Folder for the demo database (default: a new folder in the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// List every table and what the tenant migration would do with it.
    Audit {
        /// The database.
        db: PathBuf,
        #[command(flatten)]
        tenant: TenantArgs,
    },
    /// What still ignores the tenant column once it is in place: unique keys, foreign keys,
    /// views and triggers, with a proposed fix each (read-only; exit 1 while findings remain).
    /// With --fix, rebuilds the proposed keys to lead with the tenant column, through backup,
    /// dry run, execute and verify.
    Isolate {
        /// The database.
        db: PathBuf,
        /// Name of the tenant column.
        #[arg(long, default_value = cutover::engine::DEFAULT_COLUMN)]
        column: String,
        /// Rebuild the proposed keys (SQLite's 12-step table rebuild) through the whole pipeline.
        #[arg(long)]
        fix: bool,
        /// Fix only this table's keys (repeatable).
        #[arg(long, value_name = "TABLE", requires = "fix")]
        only: Vec<String>,
        /// Leave this table's keys as they are (repeatable).
        #[arg(long, value_name = "TABLE", requires = "fix")]
        skip: Vec<String>,
        /// Also give each rebuilt table `FOREIGN KEY (tenant_id) REFERENCES` the tenant registry.
        #[arg(long, requires = "fix")]
        registry_fk: bool,
        /// Confirm the fix: it changes the database.
        #[arg(long, requires = "fix")]
        yes: bool,
    },
    /// Copy the database beside itself, hashing the copy twice to prove it.
    Backup {
        /// The database.
        db: PathBuf,
        /// Folder for the backup (default: the database's folder).
        #[arg(long)]
        backup_dir: Option<PathBuf>,
    },
    /// Print the exact SQL a migration would run, without running it.
    Plan {
        #[command(flatten)]
        plan: planning::PlanArgs,
    },
    /// Rehearse the migration on a copy of a backup and verify the copy.
    DryRun {
        #[command(flatten)]
        plan: planning::PlanArgs,
        /// Keep the rehearsed copy as <db>.dry-run-<time>.
        #[arg(long)]
        keep_copy: bool,
    },
    /// Back up, rehearse, migrate in one transaction, and verify.
    Execute {
        #[command(flatten)]
        plan: planning::PlanArgs,
        /// Confirm that the database is to be changed.
        #[arg(long)]
        yes: bool,
        /// Apply a script's statements although they already ran on this database (a second
        /// time, on purpose). Without it such a script is refused.
        #[arg(long, requires = "script")]
        again: bool,
    },
    /// Where a database stands, from its journal and the file: untouched, backed up,
    /// rehearsed, migrated and verified, changed since the execute, rolled back, or needing
    /// attention. Read-only; exit 0.
    Status {
        /// The database.
        db: PathBuf,
    },
    /// Verify a migrated database against what its journal recorded.
    Verify {
        /// The database.
        db: PathBuf,
    },
    /// Restore the database from its backup (the migrated file is kept aside).
    Rollback {
        /// The database.
        db: PathBuf,
        /// The backup to restore (default: the one the last execute made).
        #[arg(long, value_name = "FILE")]
        backup: Option<PathBuf>,
        /// Undo the last execute in place instead of restoring the backup: its inverse (for the
        /// tenant plan: drop its indexes and its column) through backup, dry run, execute and
        /// verify, keeping every row written since the cutover.
        #[arg(long, conflicts_with_all = ["backup", "discard_changes", "force"])]
        undo: bool,
        /// Restore even though the shop wrote to the database since the execute; what is
        /// discarded is listed and kept in the replaced file.
        #[arg(long)]
        discard_changes: bool,
        /// Restore a backup although the journal records no execute to undo (a second
        /// rollback, or a bare backup).
        #[arg(long)]
        force: bool,
        /// Confirm that the database is to be replaced.
        #[arg(long)]
        yes: bool,
        /// With --undo: the application's migrations folder, so the undo's rehearsal checks
        /// that the application will start (app_starts).
        #[command(flatten)]
        app: app_args::AppArgs,
    },
}

/// What the tenant migration adds.
#[derive(Debug, Args)]
pub struct TenantArgs {
    /// Name of the tenant column.
    #[arg(long, default_value = cutover::engine::DEFAULT_COLUMN)]
    pub column: String,
    /// The tenant value (default: the tenant registry's only id, if it has exactly one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Leave a table out (repeat for more).
    #[arg(long = "exclude", value_name = "TABLE")]
    pub exclude: Vec<String>,
}

/// Leaves on a command line the parser refused (exit 2; help and version exit 0), as JSON on
/// stdout too when `--json` was asked for, so fleet tooling always gets an object.
fn usage_exit(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let asked_json = std::env::args_os().any(|a| a == "--json");
    if asked_json && !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let first = e.to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
        let out = serde_json::json!({ "ok": false, "error": first, "exit_code": 2, "refusal": "usage" });
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{out}");
    }
    e.exit()
}

/// A mistake in how cutover was called (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Cli {
    /// Parses the process arguments; `--version` names the SQLite library too.
    pub fn parse_args() -> Cli {
        let version = format!("{} (SQLite {})", env!("CARGO_PKG_VERSION"), cutover::engine::sqlite_version());
        let matches = match Cli::command().version(version).try_get_matches() {
            Ok(m) => m,
            Err(e) => usage_exit(e),
        };
        match Cli::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => usage_exit(e),
        }
    }

    /// Whether the caller asked for JSON, so errors are reported as JSON too.
    pub fn wants_json(&self) -> bool {
        self.json
    }
}

/// Runs what the command line asked for. The database path is resolved to the real file
/// once, here, before any phase looks at it.
pub fn run(cli: Cli) -> Result<ExitCode> {
    // The flag, or the environment for fleet tooling that runs every command the same way.
    let from_env = std::env::var("CUTOVER_CONFIRM_STOPPED").is_ok_and(|v| !v.is_empty() && v != "0");
    if cli.confirm_stopped || from_env {
        cutover::engine::confirm_stopped();
    }
    let json = cli.json;
    let wizard_only = cli.script.is_some() || cli.app.given();
    if cli.command.is_some() && (cli.db.is_some() || wizard_only) {
        return Err(UsageError(
            "give a database to open the wizard on, or a command with its database — not both".into(),
        )
        .into());
    }
    if json && matches!(cli.command, None | Some(Command::Demo { .. })) {
        return Err(UsageError("--json is for the headless commands (audit, backup, plan, dry-run, execute, status, verify, isolate, rollback), not the wizard".into()).into());
    }
    match cli.command {
        None => match cli.db {
            Some(db) => {
                let side = cli.app.side()?;
                demo::open(&resolve(&db)?, cli.script, side)
            }
            None => demo::list_here(),
        },
        Some(Command::Demo { dir }) => demo::run(dir),
        Some(Command::Audit { db, tenant }) => audit::run(&resolve(&db)?, tenant, json),
        Some(Command::Backup { db, backup_dir }) => backup::run(&resolve(&db)?, backup_dir, json),
        Some(Command::Isolate { db, column, fix: false, .. }) => isolate::run(&resolve(&db)?, &column, json),
        Some(Command::Isolate { db, column, fix: true, only, skip, registry_fk, yes }) => {
            let request = cutover::engine::FixRequest { column, only, skip, keys: None, registry_fk };
            isolate::fix(&resolve(&db)?, &request, yes, json)
        }
        Some(Command::Plan { mut plan }) => {
            plan.db = resolve(&plan.db)?;
            plan::run(&plan, json)
        }
        Some(Command::DryRun { mut plan, keep_copy }) => {
            plan.db = resolve(&plan.db)?;
            run::dry_run(&plan, keep_copy, json)
        }
        Some(Command::Execute { mut plan, yes, again }) => {
            plan.db = resolve(&plan.db)?;
            run::execute(&plan, yes, again, json)
        }
        Some(Command::Status { db }) => status::run(&resolve(&db)?, json),
        Some(Command::Verify { db }) => verify::run(&resolve(&db)?, json),
        Some(Command::Rollback { db, backup, undo, discard_changes, force, yes, app }) => {
            if app.given() && !undo {
                return Err(UsageError(
                    "--migrations and its options go with --undo: a restore puts the backup's bytes back, ledger and all".into(),
                )
                .into());
            }
            let asked = rollback::Asked { backup, undo, discard_changes, force, yes, app: app.side()? };
            rollback::run(&resolve(&db)?, asked, json)
        }
    }
}

/// The real database file behind what was typed, after the notes the engine has about it.
fn resolve(typed: &std::path::Path) -> Result<PathBuf> {
    let (session, notes) = cutover::engine::Session::open(typed)?;
    for n in notes {
        note(n);
    }
    Ok(session.db().to_path_buf())
}

/// Prints a phase's outcome and gives its exit code: 0 when it passed, 1 when a check failed.
pub fn emit(outcome: outcome::Outcome, json: bool) -> Result<ExitCode> {
    if json {
        print_json(&outcome)?;
    } else {
        out(outcome.render())?;
    }
    Ok(if outcome.ok { ExitCode::SUCCESS } else { ExitCode::from(cutover::engine::ExitKind::Stopped as u8) })
}

/// Writes to stdout. A failed write (a closed pipe, a full disk behind a redirect) is an error
/// with an exit code, never a panic.
pub fn out(text: impl AsRef<str>) -> Result<()> {
    use color_eyre::eyre::WrapErr;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_ref().as_bytes()).and_then(|()| stdout.flush()).wrap_err("writing the output")?;
    Ok(())
}

/// Writes a line to stdout.
pub fn outln(text: impl AsRef<str>) -> Result<()> {
    out(format!("{}\n", text.as_ref()))
}

/// Writes a line to stderr; if even that fails there is nowhere left to say so.
pub fn note(text: impl AsRef<str>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{}", text.as_ref());
}

/// Prints a value as one pretty JSON object on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    use color_eyre::eyre::WrapErr;
    let text = serde_json::to_string_pretty(value).wrap_err("writing JSON")?;
    outln(text)?;
    Ok(())
}
