//! `cutover plan`: print the exact SQL a migration would run, without running it.

use crate::cli::{note, out};
use std::process::ExitCode;

use cutover::engine::shown;

use color_eyre::Result;

use crate::cli::planning::{self, PlanArgs};
use crate::cli::print_json;
use crate::cli::progress::StderrProgress;

/// Builds the plan and prints it as SQL (or JSON).
pub fn run(args: &PlanArgs, json: bool) -> Result<ExitCode> {
    let session = args.session()?;
    let (_, planned) = StderrProgress::new().during(|p| session.check_and_plan(&args.request(), p))?;
    let plan = planned.plan;
    let app = session.app_view().transpose()?;
    if json {
        let app = app.map(|a| serde_json::json!({ "ledger": a.ledger, "recorded": a.recorded, "pending": a.pending }));
        print_json(&serde_json::json!({ "ok": true, "plan": plan, "app": app }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for w in planning::warnings(&plan) {
        note(w);
    }
    if let Some(a) = &app {
        note(format!(
            "the app's {}; pending in {}: {}",
            a.ledger,
            shown(&a.dir),
            if a.pending.is_empty() { "none".to_string() } else { a.pending.join(", ") }
        ));
    }
    if plan.statements.is_empty() {
        note("nothing to do: no table needs the change");
    }
    out(planning::render_sql(&args.db, &plan))?;
    Ok(ExitCode::SUCCESS)
}
