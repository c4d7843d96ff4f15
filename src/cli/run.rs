//! `cutover dry-run` and `cutover execute`: the engine's runs, printed with their reports and
//! exit codes.

use crate::cli::{interrupt, note};
use cutover::engine::shown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::DryRunOptions;
use cutover::engine::{AlreadyDone, Executed, Planned, Rehearsed, Run, Session};
use cutover::engine::{Plan, PlanSource};

use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::planning::{self, PlanArgs};
use crate::cli::progress::StderrProgress;
use crate::cli::{UsageError, emit};

/// Rehearses the plan on a copy of a backup (reusing the newest backup when it still equals
/// the database, making one otherwise), and verifies the copy.
pub fn dry_run(args: &PlanArgs, keep_copy: bool, json: bool) -> Result<ExitCode> {
    let cancel = interrupt::cancel();
    let session = args.session()?;
    let mut progress = StderrProgress::new();
    let (_, planned) = progress.during(|p| session.check_and_plan(&args.request(), p))?;
    warn(&planned.plan, json);
    let options = DryRunOptions { keep_copy, app: None };
    let rehearsed = match progress.during(|p| session.dry_run(&planned, &options, &cancel, p))? {
        Run::Rehearsed(r) => r,
        Run::NothingToDo | Run::Executed(..) => return emit(nothing_to_do("dry_run", &args.db, &planned.plan), json),
    };
    let dry = &rehearsed.dry;
    let plan = &planned.plan;
    let summary = if dry.ok {
        format!(
            "Dry run PASSED on a copy of {}: plan {} ({} statements); the database was not changed",
            shown(&args.db),
            plan.short_hash(),
            plan.statements.len()
        )
    } else {
        format!("Dry run FAILED on a copy of {}: the database was not changed; execute stays locked", shown(&args.db))
    };
    let mut outcome = rehearsal_outcome("dry_run", &args.db, &planned, &rehearsed, summary);
    if let Some(kept) = &dry.kept_copy {
        outcome.warnings.push(format!("the rehearsed copy was kept as {}", shown(kept)));
    }
    emit(outcome, json)
}

/// Backup, dry run, execute and verify in one go; needs `--yes`.
pub fn execute(args: &PlanArgs, yes: bool, again: bool, json: bool) -> Result<ExitCode> {
    if !yes {
        return Err(UsageError(
            "execute changes the database: add --yes to confirm (run `cutover dry-run` first to see what it does)"
                .into(),
        )
        .into());
    }
    let cancel = interrupt::cancel();
    let session = args.session()?.applying_again(again);
    let mut progress = StderrProgress::new();
    // A re-run (a fleet rollout run again) changes nothing where this plan is already in
    // force, and needs nothing stopped to say so; a script whose statements ran here before
    // is refused unless --again.
    if let Some(done) = progress.during(|p| session.already_done(&args.request(), p))? {
        return emit(already_done(&args.db, &done), json);
    }
    if again && !json {
        note("--again: these statements are applied even where they already ran on this database");
    }
    let (_, planned) = progress.during(|p| session.plan_to_execute(&args.request(), p))?;
    warn(&planned.plan, json);
    let (rehearsed, executed) = match progress.during(|p| session.run(&planned, &cancel, p))? {
        Run::NothingToDo => return emit(nothing_to_do("execute", &args.db, &planned.plan), json),
        Run::Rehearsed(r) => {
            let summary = format!("Dry run FAILED on the copy: {} was NOT changed", shown(&args.db));
            return emit(rehearsal_outcome("execute", &args.db, &planned, &r, summary), json);
        }
        Run::Executed(r, x) => (r, x),
    };
    let outcome = executed_outcome(&args.db, &planned, &rehearsed, &executed);
    too_late(json);
    // Committed: a failure to print the result must not read as "nothing changed".
    let db = args.db.clone();
    let verification = Some(Box::new(executed.report.verification.clone()));
    emit(outcome, json).map_err(|e| {
        let cause = format!("{e:#}");
        cutover::engine::Error::AfterCommit { path: db, what: "printing the result".into(), cause, verification }.into()
    })
}

/// Undoes the last execute in place (`cutover rollback --undo --yes`): its inverse through the
/// same backup, dry run, execute and verification as any plan.
pub fn undo(db: &Path, app: cutover::engine::AppSide, json: bool) -> Result<ExitCode> {
    let cancel = interrupt::cancel();
    let session = Session::new(db).with_app(app);
    let mut progress = StderrProgress::new();
    let (_, planned) = progress.during(|p| session.undo_to_execute(p))?;
    warn(&planned.plan, json);
    let (rehearsed, executed) = match progress.during(|p| session.run(&planned, &cancel, p))? {
        Run::NothingToDo => return emit(nothing_to_do("undo", db, &planned.plan), json),
        Run::Rehearsed(r) => {
            let summary = format!(
                "The undo's dry run FAILED on the copy: {} was NOT changed; the backup can still be restored",
                shown(db)
            );
            return emit(rehearsal_outcome("undo", db, &planned, &r, summary), json);
        }
        Run::Executed(r, x) => (r, x),
    };
    let outcome = executed_outcome(db, &planned, &rehearsed, &executed);
    too_late(json);
    let verification = Some(Box::new(executed.report.verification.clone()));
    emit(outcome, json).map_err(|e| {
        let cause = format!("{e:#}");
        let path = db.to_path_buf();
        cutover::engine::Error::AfterCommit { path, what: "printing the result".into(), cause, verification }.into()
    })
}

pub(crate) fn executed_outcome(db: &Path, planned: &Planned, rehearsed: &Rehearsed, executed: &Executed) -> Outcome {
    let done = &executed.report;
    let undo = planned.plan.undo().is_some();
    let rebuild = planned.plan.rebuild();
    let summary = if let (Some(spec), true) = (rebuild, done.verification.ok) {
        format!(
            "{}: {}, every row and value kept, verified — {}. To take it back: `cutover rollback {} --yes`",
            shown(db),
            spec.summary(),
            done.verification.summary(),
            cutover::engine::shell_quote(db)
        )
    } else if undo && done.verification.ok {
        format!(
            "{} is undone in place: the tenant column and its indexes are gone, the schema is the original's, and every row of the shop's tables is kept, the ones written since the cutover too — {}. To take the undo back: `cutover rollback {} --yes`",
            shown(db),
            done.verification.summary(),
            cutover::engine::shell_quote(db)
        )
    } else if let Some(c) = done.changed_since.as_ref() {
        format!(
            "{} is migrated; it was written to after the commit ({}), so those tables are reported as changed since the execute: {}",
            shown(db),
            c.summary(),
            done.verification.summary()
        )
    } else if done.verification.ok {
        format!("{} is migrated and verified: {}", shown(db), done.verification.summary())
    } else {
        format!(
            "{} was migrated but verification FAILED ({}): roll back with `cutover rollback {} --yes`",
            shown(db),
            done.verification.summary(),
            cutover::engine::shell_quote(db)
        )
    };
    let mut warnings = planning::warnings(&planned.plan);
    warnings.extend(interrupt::too_late(TOO_LATE));
    let mut reports = rehearsed.reports.clone();
    for path in &executed.reports {
        if !reports.contains(path) {
            reports.push(path.clone());
        }
    }
    Outcome {
        ok: done.verification.ok,
        phase: if undo {
            "undo"
        } else if rebuild.is_some() {
            "fix"
        } else {
            "execute"
        },
        database: db.to_path_buf(),
        plan_sha256: Some(planned.plan.sha256.clone()),
        backup: Some(rehearsed.backup.clone()),
        timings_s: PhaseTimings {
            backup: rehearsed.backup_seconds,
            dry_run: Some(rehearsed.dry.seconds),
            execute: Some(done.seconds - done.verification.seconds),
            verify: Some(done.verification.seconds),
            ..PhaseTimings::default()
        },
        result_sha256: Some(done.result_sha256.clone()),
        identical: Some(done.identical),
        statements: done.statements.clone(),
        warnings,
        reports,
        summary,
        ..Outcome::default()
    }
    .with_checks(&done.verification)
}

const TOO_LATE: &str = "the change had committed, so it is in the database, verified as shown";

/// In text, a stop that came after the commit is said on its own (JSON has it in `warnings`).
pub(crate) fn too_late(json: bool) {
    if !json && let Some(n) = interrupt::too_late(TOO_LATE) {
        note(n);
    }
}

pub(crate) fn warn(plan: &Plan, json: bool) {
    if !json {
        for w in planning::warnings(plan) {
            note(w);
        }
    }
}

fn already_done(db: &Path, done: &AlreadyDone) -> Outcome {
    let since = match done.changed_since_execute {
        Some(true) => "; the shop's application has written to it since",
        Some(false) => "; the file is still exactly that result",
        None => "",
    };
    let when = format!(
        "{} {}",
        done.executed_at.get(..10).unwrap_or(&done.executed_at),
        done.executed_at.get(11..16).unwrap_or("")
    );
    let text = if done.same_statements_other_text {
        " (the same statements; this text differs only in whitespace and comments)"
    } else {
        ""
    };
    let then = if done.settled {
        "a run cut off earlier was settled from the file first and recorded in its journal; the plan was not run again"
    } else {
        "the plan was not run again"
    };
    let plan = &done.plan_sha256[..12.min(done.plan_sha256.len())];
    let mut outcome = Outcome {
        ok: done.ok(),
        phase: "execute",
        database: db.to_path_buf(),
        plan_sha256: Some(done.plan_sha256.clone()),
        backup: Some(done.backup.clone()),
        result_sha256: done.result_sha256.clone(),
        nothing_to_do: true,
        already_done: true,
        summary: String::new(),
        ..Outcome::default()
    };
    outcome.summary = match done.verified_now.as_ref().map(|v| &v.report) {
        None => format!(
            "Already done: {} carries this plan's result (plan {plan}, executed at {when} and verified){text}{since}; {then}",
            shown(db)
        ),
        Some(v) if v.ok() => format!(
            "Already done: {} carries this plan's result (plan {plan}, executed at {when}){text}{since}; it had never been verified, and was verified now: {}; {then}",
            shown(db),
            v.verification.summary()
        ),
        Some(v) => format!(
            "{} carries the result of the execute of {when} (plan {plan}){text}, which had never been verified: verified now, it FAILED ({}) — the plan was not run again; `cutover rollback {} --yes` restores its backup",
            shown(db),
            v.verification.summary(),
            cutover::engine::shell_quote(db)
        ),
    };
    if let Some(v) = &done.verified_now {
        outcome = outcome.with_checks(&v.report.verification);
        outcome.reports.extend(v.reports.iter().cloned());
    }
    outcome
}

pub(crate) fn nothing_to_do(phase: &'static str, db: &Path, plan: &Plan) -> Outcome {
    let review = match &plan.source {
        PlanSource::Tenant(spec) => spec.review.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        PlanSource::Script { .. } | PlanSource::Undo(_) | PlanSource::Rebuild(_) | PlanSource::Migrations(_) => {
            Vec::new()
        }
    };
    let summary = if let PlanSource::Migrations(spec) = &plan.source {
        format!(
            "Already done: all {} migrations of {} are recorded in the application's {} ledger {} — nothing to run",
            spec.recorded,
            shown(&spec.dir),
            spec.kind,
            spec.table
        )
    } else if review.is_empty() {
        format!("Nothing to do: every table of {} already has the change or is left out", shown(db))
    } else {
        // A column that allows NULL or holds another default is not the change: say so, as
        // the execute that added the others did (exit 0 there too, with the same note).
        format!(
            "Nothing to do on {}: the tables cutover migrates have the change, but {} already {} a tenant column that is not right, left as it is — review {} by hand (see the audit)",
            shown(db),
            review.join(", "),
            if review.len() == 1 { "has" } else { "have" },
            if review.len() == 1 { "it" } else { "them" }
        )
    };
    Outcome {
        ok: true,
        phase,
        database: db.to_path_buf(),
        plan_sha256: Some(plan.sha256.clone()),
        nothing_to_do: true,
        // The application's ledger records every migration of the folder: read from the file.
        already_done: matches!(plan.source, PlanSource::Migrations(_)),
        warnings: if review.is_empty() { Vec::new() } else { planning::warnings(plan) },
        summary,
        ..Outcome::default()
    }
}

pub(crate) fn rehearsal_outcome(
    phase: &'static str,
    db: &Path,
    planned: &Planned,
    rehearsed: &Rehearsed,
    summary: String,
) -> Outcome {
    let dry = &rehearsed.dry;
    let reports: Vec<PathBuf> = rehearsed.reports.clone();
    Outcome {
        ok: dry.ok,
        phase,
        database: db.to_path_buf(),
        plan_sha256: Some(planned.plan.sha256.clone()),
        backup: Some(dry.backup.clone()),
        timings_s: PhaseTimings {
            backup: rehearsed.backup_seconds,
            dry_run: Some(dry.seconds),
            ..PhaseTimings::default()
        },
        result_sha256: Some(dry.result_sha256.clone()),
        statements: dry.statements.clone(),
        warnings: planning::warnings(&planned.plan),
        reports,
        summary,
        ..Outcome::default()
    }
    .with_checks(&dry.verification)
}
