//! `cutover plan`: print the exact SQL a migration would run, without running it.

use crate::cli::{note, out};
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::Session;

use crate::cli::planning::{self, PlanArgs};
use crate::cli::print_json;
use crate::cli::progress::StderrProgress;

/// Builds the plan and prints it as SQL (or JSON).
pub fn run(args: &PlanArgs, json: bool) -> Result<ExitCode> {
    let session = Session::new(&args.db);
    let (_, planned) = StderrProgress::new().during(|p| session.check_and_plan(&args.request(), p))?;
    let plan = planned.plan;
    if json {
        print_json(&serde_json::json!({ "ok": true, "plan": plan }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for w in planning::warnings(&plan) {
        note(w);
    }
    if plan.statements.is_empty() {
        note("nothing to do: no table needs the change");
    }
    out(planning::render_sql(&args.db, &plan))?;
    Ok(ExitCode::SUCCESS)
}
