//! The application's side of a run, as the wizard and `plan`, `dry-run` and `execute` take it:
//! its migrations folder, its ledger's kind, `--record-as` and `--app-check`.

use std::path::PathBuf;

use clap::Args;
use cutover::engine::{AppSide, LedgerKind};

use crate::cli::UsageError;

/// `--migrations DIR [--ledger KIND] [--record-as FILE] [--app-check CMD]`.
#[derive(Debug, Clone, Default, Args)]
pub struct AppArgs {
    /// The application's own migrations folder: alone, run its pending migrations and write
    /// their ledger rows as its runner would; with --tenant or --script (or --record-as in the
    /// wizard), check on the rehearsal copy that the application will start (app_starts).
    #[arg(long, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// The application's ledger kind, when detection cannot tell: names, sqlx, refinery,
    /// diesel, goose, dbmate, flyway, prisma.
    #[arg(long, value_name = "KIND")]
    pub ledger: Option<String>,
    /// Record the plan in the application's ledger as this migration of --migrations DIR, so
    /// the application does not run it again.
    #[arg(long, value_name = "FILE", requires = "migrations")]
    pub record_as: Option<PathBuf>,
    /// Run the shop's own program on a copy of the rehearsal's result ({db} is its path);
    /// production is only changed when it exits 0.
    #[arg(long, value_name = "CMD")]
    pub app_check: Option<String>,
    /// Seconds --app-check may take.
    #[arg(long, value_name = "SECONDS", default_value_t = cutover::engine::APP_CHECK_SECONDS, requires = "app_check")]
    pub app_check_seconds: u64,
}

impl AppArgs {
    /// Whether any of them was given.
    pub fn given(&self) -> bool {
        self.migrations.is_some() || self.ledger.is_some() || self.record_as.is_some() || self.app_check.is_some()
    }

    /// The engine's application side; an unknown `--ledger` kind is refused (exit 2).
    pub fn side(&self) -> Result<AppSide, UsageError> {
        let ledger = match &self.ledger {
            Some(name) => Some(LedgerKind::parse(name).ok_or_else(|| {
                UsageError(format!("unknown ledger kind {name:?}: cutover knows {}", LedgerKind::known()))
            })?),
            None => None,
        };
        Ok(AppSide {
            migrations: self.migrations.clone(),
            ledger,
            record_as: self.record_as.clone(),
            check: self.app_check.clone(),
            check_seconds: self.app_check_seconds,
        })
    }
}
