//! `cutover isolate`: what still ignores the tenant column once it is in place — unique keys,
//! foreign keys, views and triggers — with why each matters and the fix proposed. Read-only;
//! exit 1 while findings remain.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::{Concern, FixRequest, Run, Session, shown};

use crate::cli::progress::StderrProgress;
use crate::cli::{UsageError, emit, interrupt, out, print_json, run as runs};

/// Reports the isolation findings of `db` for the tenant column `column`.
pub fn run(db: &Path, column: &str, json: bool) -> Result<ExitCode> {
    // A stop (Ctrl-C, a closed session) lets the probe finish and delete its scratch copy.
    let _ = interrupt::cancel();
    let (report, written) = StderrProgress::new().during(|p| Session::new(db).isolate(column, p))?;
    if let Some(n) = interrupt::too_late("the isolation audit reads only, and it had finished") {
        crate::cli::note(n);
    }
    let clean = report.clean();
    if json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("ok".into(), clean.into());
            o.insert("summary".into(), report.summary().into());
            o.insert("reports".into(), serde_json::json!([written]));
        }
        print_json(&v)?;
    } else {
        // A finding a block: its lines wrap in any terminal instead of one table hundreds wide.
        let mut text = format!("Isolation of {}: {}.\n", shown(db), report.summary());
        for f in &report.findings {
            let (kind, place) = match &f.concern {
                Concern::UniqueKey { table, .. } => ("unique key", table.clone()),
                Concern::ForeignKey { table, .. } => ("foreign key", table.clone()),
                Concern::View { view, .. } => ("view", view.clone()),
                Concern::Trigger { on, .. } => ("trigger", on.clone()),
            };
            let mark = if f.proposed { "* " } else { "  " };
            text.push_str(&format!(
                "\n{mark}{kind} of {place}: {}\n    why: {}\n    fix: {}\n",
                f.written, f.why, f.fix
            ));
        }
        if !report.findings.is_empty() {
            text.push_str("\n* proposed for per-tenant scoping (natural keys); the rest is for a person to decide.\n");
        }
        if let Some(t) = &report.second_tenant {
            text.push_str(&format!("\nSecond tenant, tried on a scratch copy: {}.\n", t.summary()));
            for b in &t.blocked {
                text.push_str(&format!(
                    "  refused in {} ({} row{}): {}\n",
                    b.table,
                    b.rows,
                    if b.rows == 1 { "" } else { "s" },
                    b.by
                ));
            }
            for l in &t.leaks {
                text.push_str(&format!("  {}: {}\n", l.object, l.detail));
            }
        }
        text.push_str(&format!("Report     {}\n", shown(&written)));
        out(text)?;
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(cutover::engine::ExitKind::Stopped as u8) })
}

/// Rebuilds the chosen keys of `db` to lead with the tenant column (`isolate --fix --yes`):
/// the rebuild plan through the same backup, dry run, execute and verification as any plan.
pub fn fix(db: &Path, request: &FixRequest, yes: bool, json: bool) -> Result<ExitCode> {
    if !yes {
        return Err(UsageError(
            "isolate --fix rebuilds tables of the database: add --yes to confirm (`cutover isolate` alone lists what it would fix)".into(),
        )
        .into());
    }
    let cancel = interrupt::cancel();
    let session = Session::new(db);
    let mut progress = StderrProgress::new();
    let (_, before, planned) = progress.during(|p| session.fix_to_execute(request, p))?;
    runs::warn(&planned.plan, json);
    let (rehearsed, executed) = match progress.during(|p| session.run(&planned, &cancel, p))? {
        Run::NothingToDo => {
            let mut outcome = runs::nothing_to_do("fix", db, &planned.plan);
            outcome.summary = format!("Nothing to fix on {}: no chosen key ignores {}", shown(db), request.column);
            return emit(outcome, json);
        }
        Run::Rehearsed(r) => {
            let summary = format!("The rebuild's dry run FAILED on the copy: {} was NOT changed", shown(db));
            return emit(runs::rehearsal_outcome("fix", db, &planned, &r, summary), json);
        }
        Run::Executed(r, x) => (r, x),
    };
    let mut outcome = runs::executed_outcome(db, &planned, &rehearsed, &executed);
    // Committed: the report of after is a read; if it cannot be made, say so and go on.
    match progress.during(|p| session.report_fix(&before, &planned.plan, p)) {
        Ok((after, written)) => {
            outcome.warnings.push(format!("isolation after the fix: {}", after.summary()));
            outcome.reports.push(written);
        }
        Err(e) => outcome.warnings.push(format!("the isolation report of after the fix could not be made: {e}")),
    }
    runs::too_late(json);
    let verification = Some(Box::new(executed.report.verification.clone()));
    emit(outcome, json).map_err(|e| {
        let cause = format!("{e:#}");
        let path = db.to_path_buf();
        cutover::engine::Error::AfterCommit { path, what: "printing the result".into(), cause, verification }.into()
    })
}
