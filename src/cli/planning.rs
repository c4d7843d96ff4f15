//! Arguments shared by `plan`, `dry-run` and `execute`, and turning them into a plan.

use cutover::engine::paths::shown;
use std::path::{Path, PathBuf};

use clap::Args;
use color_eyre::Result;
use cutover::engine::audit::{self, AuditOptions, AuditReport};
use cutover::engine::plan::tenant::{self, DEFAULT_TYPE, TenantRequest};
use cutover::engine::plan::{Plan, script::first_line};
use cutover::engine::{open, preflight};

use crate::cli::UsageError;
use crate::cli::progress::StderrProgress;

/// What migration to run.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["tenant", "script"]))]
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
    #[arg(long, default_value = audit::DEFAULT_COLUMN)]
    pub column: String,
    /// Declared type of the tenant column (STRICT tables get TEXT).
    #[arg(long = "type", default_value = DEFAULT_TYPE)]
    pub column_type: String,
    /// Do not create an index on the tenant column.
    #[arg(long)]
    pub no_index: bool,
    /// Leave a table out (repeat for more).
    #[arg(long = "exclude", value_name = "TABLE")]
    pub exclude: Vec<String>,
}

/// Checks the database (preflight with quick_check) and builds the plan the arguments ask for.
pub fn build(args: &PlanArgs, progress: &mut StderrProgress) -> Result<(Plan, Option<AuditReport>)> {
    build_checked(args, progress).map(|(plan, audit, _)| (plan, audit))
}

/// Like [`build`], also returning the preflight facts.
pub fn build_checked(
    args: &PlanArgs,
    progress: &mut StderrProgress,
) -> Result<(Plan, Option<AuditReport>, preflight::PreflightReport)> {
    let pre = preflight::run_with(&args.db, &mut |p| progress.show(p))?;
    progress.finish();
    if let Some(script) = &args.script {
        if !args.exclude.is_empty() || args.no_index || args.column != audit::DEFAULT_COLUMN {
            return Err(UsageError(
                "--column, --type, --no-index and --exclude apply to the tenant plan, not to --script".into(),
            )
            .into());
        }
        return Ok((Plan::from_script(script)?, None, pre));
    }
    let tenant = args.tenant.clone().unwrap_or_default();
    let options =
        AuditOptions { column: args.column.clone(), tenant: Some(tenant.clone()), exclude: args.exclude.clone() };
    let report = audit::run(&args.db, &options, &mut |p| progress.show(p));
    progress.finish();
    let report = report?;
    let conn = open::inspect(&args.db)?;
    let request = TenantRequest { tenant, column_type: args.column_type.clone(), index: !args.no_index };
    let plan = tenant::generate(&conn, &report, &request)?;
    Ok((plan, Some(report), pre))
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
