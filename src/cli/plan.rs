//! `cutover plan`: print the exact SQL a migration would run, without running it.

use std::process::ExitCode;

use color_eyre::Result;

use crate::cli::planning::{self, PlanArgs};
use crate::cli::print_json;
use crate::cli::progress::StderrProgress;

/// Builds the plan and prints it as SQL (or JSON).
pub fn run(args: &PlanArgs, json: bool) -> Result<ExitCode> {
    let mut out = StderrProgress::new();
    let (plan, _) = planning::build(args, &mut out)?;
    if json {
        print_json(&serde_json::json!({ "ok": true, "plan": plan }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for w in planning::warnings(&plan) {
        eprintln!("{w}");
    }
    if plan.statements.is_empty() {
        eprintln!("nothing to do: no table needs the change");
    }
    print!("{}", planning::render_sql(&args.db, &plan));
    Ok(ExitCode::SUCCESS)
}
