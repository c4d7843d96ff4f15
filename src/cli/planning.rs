//! The one argument struct of `plan`, `dry-run` and `execute`, converted once into the engine's
//! plan request; and the plan as SQL and as warnings.

use std::path::{Path, PathBuf};

use clap::Args;
use cutover::engine::DEFAULT_COLUMN;
use cutover::engine::DEFAULT_TYPE;
use cutover::engine::shown;
use cutover::engine::{AppSide, Session};
use cutover::engine::{Plan, first_line};
use cutover::engine::{PlanRequest, TenantChoice};

use crate::cli::UsageError;
use crate::cli::app_args::AppArgs;

/// What migration to run.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["tenant", "script", "migrations"]).multiple(true))]
pub struct PlanArgs {
    /// The database.
    pub db: PathBuf,
    /// Add the tenant column with this value as every existing row's tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Run this .sql script instead of the tenant migration.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Name of the tenant column.
    #[arg(long, default_value = DEFAULT_COLUMN, conflicts_with = "script")]
    pub column: String,
    /// Declared type of the tenant column (STRICT tables get TEXT).
    #[arg(long = "type", default_value = DEFAULT_TYPE, conflicts_with = "script")]
    pub column_type: String,
    /// Do not create an index on the tenant column.
    #[arg(long, conflicts_with = "script")]
    pub no_index: bool,
    /// Leave a table out (repeat for more).
    #[arg(long = "exclude", value_name = "TABLE", conflicts_with = "script")]
    pub exclude: Vec<String>,
    /// The application's migrations folder, ledger and own check.
    #[command(flatten)]
    pub app: AppArgs,
}

impl PlanArgs {
    /// The application's side of the run; an unknown `--ledger` kind is refused (exit 2).
    pub fn app(&self) -> Result<AppSide, UsageError> {
        if self.tenant.is_some() && self.script.is_some() {
            return Err(UsageError("--tenant and --script cannot be used together".into()));
        }
        if self.app.record_as.is_some() && self.tenant.is_none() && self.script.is_none() {
            return Err(UsageError(
                "--record-as records a --tenant plan or a --script as one of the application's migrations: give one of them".into(),
            ));
        }
        self.app.side()
    }

    /// The session these arguments run in: the database, with the application's side.
    pub fn session(&self) -> Result<Session, UsageError> {
        Ok(Session::new(&self.db).with_app(self.app()?))
    }

    /// The engine's plan request for these arguments.
    pub fn request(&self) -> PlanRequest {
        if self.tenant.is_none() && self.script.is_none() {
            return PlanRequest::Migrations;
        }
        match &self.script {
            Some(script) => PlanRequest::Script(script.clone()),
            None => PlanRequest::Tenant(TenantChoice {
                tenant: self.tenant.clone().unwrap_or_default(),
                column: self.column.clone(),
                column_type: self.column_type.clone(),
                index: !self.no_index,
                exclude: self.exclude.clone(),
                include: Vec::new(),
            }),
        }
    }
}

/// The plan as a SQL script with its identity, notices and warnings as comments.
pub fn render_sql(db: &Path, plan: &Plan) -> String {
    let mut s = format!("-- cutover plan for {}\n-- plan SHA-256 {}\n", shown(db), plan.sha256);
    s.push_str(&format!("-- {} statements, run in one transaction by cutover\n", plan.statements.len()));
    for n in &plan.notices {
        s.push_str(&format!("-- NOTE: {n}\n"));
    }
    for st in &plan.statements {
        if let Some(why) = &st.destructive {
            s.push_str(&format!("-- DESTROYS DATA (line {}): {why}\n", st.line));
        }
        s.push_str(&st.sql);
        s.push('\n');
    }
    s
}

/// Warnings a technician must see before anything runs, one per line.
pub fn warnings(plan: &Plan) -> Vec<String> {
    let mut w: Vec<String> = plan.notices.iter().map(|n| format!("note: {n}")).collect();
    for st in plan.destructive() {
        w.push(format!(
            "DESTROYS DATA: line {}: {} — {}",
            st.line,
            first_line(&st.sql),
            st.destructive.as_deref().unwrap_or_default()
        ));
    }
    w
}
