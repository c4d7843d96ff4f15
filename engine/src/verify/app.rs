//! Whether the shop's application will start on the result: its runner's view replayed on the
//! rehearsal copy (`app_starts`), and its own program run on a copy of it (`app_check`).

use std::path::Path;

use crate::ledger::plan::App;
use crate::ledger::{self, Problem, pending};
use crate::plan::script;
use crate::progress::Progress;
use crate::shown::shown;
use super::{Check, Status};
use crate::open;

/// The checks a production dashboard shows from the rehearsal copy it equals byte for byte:
/// every warning, and whether the shop's application starts there.
pub fn carried(checks: &[Check]) -> Vec<Check> {
    const ALWAYS: [&str; 3] = ["app_starts", "app_check", "ledger_recorded"];
    checks.iter().filter(|c| c.status == Status::Warn || ALWAYS.contains(&c.name.as_str())).cloned().collect()
}

/// The checks of the application's start on the rehearsal copy `copy` of `db`: `app_starts`
/// (when a ledger or a folder is known) and `app_check` (with a command). The copy is left as
/// it was: the runner's pending migrations run in a transaction rolled back.
pub fn checks(
    db: &Path,
    copy: &Path,
    plan: &crate::plan::Plan,
    app: Option<&App>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Check>, Problem> {
    let none = App::default();
    let app = app.unwrap_or(&none);
    let mut checks = Vec::new();
    progress(Progress::Check { name: "app_starts".into() });
    checks.extend(app_starts(copy, app, plan));
    if let Some(command) = &app.check {
        progress(Progress::Check { name: "app_check".into() });
        checks.push(super::app_check::run(db, copy, command, app.check_seconds)?);
    }
    Ok(checks)
}

/// The runner's view after the plan: every migration of the folder recorded, or the pending
/// ones run cleanly, one statement at a time as the runner runs them.
fn app_starts(copy: &Path, app: &App, plan: &crate::plan::Plan) -> Option<Check> {
    let own_plan = matches!(plan.source, crate::plan::PlanSource::Migrations(_));
    let fail = |detail: String| Some(Check::single("app_starts", Status::Fail, detail));
    let mut conn = match open::read_write(copy) {
        Ok(c) => c,
        Err(e) => return fail(format!("the rehearsal copy could not be opened: {e}")),
    };
    let found = match ledger::detect_for(&conn, app.ledger) {
        Ok(f) => f,
        Err(e) => return fail(format!("the ledger could not be read: {e}")),
    };
    let Some(dir) = &app.migrations else {
        let ledger = found.chosen(app.ledger).ok().flatten().or(found.ledgers.first())?;
        return Some(Check::single(
            "app_starts",
            Status::Warn,
            format!(
                "the app keeps a migration ledger ({}): give --migrations DIR to check that it will start",
                ledger.describe()
            ),
        ));
    };
    let ledger = match found.chosen(app.ledger) {
        Ok(Some(l)) => l.clone(),
        Ok(None) => return fail(format!("no migration ledger after the plan, so the app would run every migration of {} again", shown(dir))),
        Err(e) => return fail(e.to_string()),
    };
    let view = match pending::view(&ledger, dir) {
        Ok(v) => v,
        Err(Problem::RunnerRefuses { tool, why }) => return fail(format!("{tool} would refuse to start after the plan: {why}")),
        Err(e) => return fail(e.to_string()),
    };
    let pending: Vec<_> = view.pending().cloned().collect();
    if pending.is_empty() {
        return Some(Check::single(
            "app_starts",
            Status::Pass,
            format!(
                "all {} migrations of {} are recorded in {}: the app starts without running any",
                view.migrations.len(),
                shown(dir),
                ledger.table
            ),
        ));
    }
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => return fail(format!("could not start the replay: {e}")),
    };
    let w = ledger::rows::Writing { at: chrono::Utc::now(), next_rank: 1_000_000 };
    let ways_out = |m: &ledger::folder::Migration| {
        if own_plan {
            String::new()
        } else {
            format!(
                ". Run the app's migrations instead (--migrations {} without --tenant or --script), or record this plan as that migration (--record-as {})",
                shown(dir),
                shown(&m.file)
            )
        }
    };
    for (i, m) in pending.iter().enumerate() {
        match ledger::plan::fails_in_runner(ledger.kind, m) {
            Ok(Some(why)) => return fail(format!("{why}: the app stops there at its next start{}", ways_out(m))),
            Ok(None) => {}
            Err(e) => return fail(format!("{}: {e}", m.shown)),
        }
        let statements = match script::statements(&crate::plan::normalise(&m.up)) {
            Ok(s) => s,
            Err(e) => return fail(format!("{}: {e}", m.shown)),
        };
        // A runner that runs statements on their own (no transaction of its own) runs a
        // BEGIN, COMMIT or VACUUM as SQLite does outside one: nothing the replay can judge
        // inside its transaction, and no change of schema or rows to check.
        let own = ledger::plan::in_transaction(ledger.kind, m);
        let outside = |first: &str| !own && (ledger::plan::TRANSACTION_WORDS.contains(&first) || first == "VACUUM");
        for (sql, line, _) in statements.iter().filter(|(_, _, first)| !outside(first)) {
            if let Err(e) = tx.execute_batch(sql) {
                return fail(format!(
                    "{}: {e} (line {}: {}) — the app runs it at its next start and stops there{}",
                    m.shown,
                    line + m.up_line - 1,
                    script::first_line(sql),
                    ways_out(m)
                ));
            }
        }
        if let Err(e) = tx.execute_batch(&ledger::rows::insert(&ledger, m, &w, i)) {
            return fail(format!("{}: recording it in {} failed: {e}", m.shown, ledger.table));
        }
    }
    // The app's migrations ran; the plan must still be there after them.
    if let Some(spec) = plan.tenant()
        && let Some(table) = lost_column(&tx, spec)
    {
        return fail(format!(
            "after the app's pending migrations ({}), {table} has no {} any more: its next start undoes the plan",
            pending.iter().map(|m| m.shown.as_str()).collect::<Vec<_>>().join(", "),
            spec.column
        ));
    }
    drop(tx); // rolled back: the copy stays the rehearsal's result
    Some(Check::single(
        "app_starts",
        Status::Pass,
        format!(
            "the app's {} pending migration{} ({}) run{} cleanly after the plan, as its runner runs them at the next start",
            pending.len(),
            if pending.len() == 1 { "" } else { "s" },
            pending.iter().map(|m| m.shown.as_str()).collect::<Vec<_>>().join(", "),
            if pending.len() == 1 { "s" } else { "" }
        ),
    ))
}


/// The first table of the tenant plan that has lost its tenant column.
fn lost_column(conn: &rusqlite::Connection, spec: &crate::plan::TenantSpec) -> Option<String> {
    spec.tables.iter().map(|t| t.table.clone()).find(|table| {
        let sql = "SELECT count(*) FROM pragma_table_xinfo(?1) WHERE name = ?2 COLLATE NOCASE";
        conn.query_row(sql, [table.as_str(), spec.column.as_str()], |r| r.get::<_, i64>(0)).map_or(true, |n| n == 0)
    })
}
