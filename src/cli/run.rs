//! `cutover dry-run` and `cutover execute`: the pipeline headless, with reports and exit codes.

use crate::cli::note;
use cutover::engine::paths::shown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::apply::Cancel;
use cutover::engine::backup::{self, BackupOptions};
use cutover::engine::dryrun::{self, BackupRef, DryRunOptions, DryRunReport};
use cutover::engine::execute::{self, Rehearsal};
use cutover::engine::plan::{Plan, PlanSource};
use cutover::engine::{hashing, inuse, journal, reports};

use crate::cli::outcome::{Outcome, PhaseTimings};
use crate::cli::planning::{self, PlanArgs};
use crate::cli::progress::StderrProgress;
use crate::cli::{UsageError, emit};

/// Rehearses the plan on a copy of a backup (reusing the newest backup when it still equals
/// the database, making one otherwise), and verifies the copy.
pub fn dry_run(args: &PlanArgs, keep_copy: bool, json: bool) -> Result<ExitCode> {
    let mut progress = StderrProgress::new();
    let (plan, audit) = planning::build(args, &mut progress)?;
    warn(&plan, json);
    if plan.statements.is_empty() {
        return emit(nothing_to_do("dry_run", &args.db, &plan), json);
    }
    let mut timings = PhaseTimings::default();
    let started = std::time::Instant::now();
    let backup = reuse_or_backup(&args.db, &mut progress)?;
    timings.backup = Some(started.elapsed().as_secs_f64());
    let dry =
        dryrun::run(&args.db, &backup, &plan, &DryRunOptions { keep_copy }, &Cancel::new(), &mut |p| progress.show(p));
    progress.finish();
    let dry = dry?;
    timings.dry_run = Some(dry.seconds);
    let written = reports::write_rehearsal(&args.db, &plan, audit.as_ref(), &dry)?;
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
    let mut outcome = rehearsal_outcome("dry_run", &args.db, &plan, &dry, summary, timings, written);
    if let Some(kept) = &dry.kept_copy {
        outcome.warnings.push(format!("the rehearsed copy was kept as {}", shown(kept)));
    }
    emit(outcome, json)
}

/// Backup, dry run, execute and verify in one go; needs `--yes`.
pub fn execute(args: &PlanArgs, yes: bool, json: bool) -> Result<ExitCode> {
    if !yes {
        return Err(UsageError(
            "execute changes the database: add --yes to confirm (run `cutover dry-run` first to see what it does)"
                .into(),
        )
        .into());
    }
    let mut progress = StderrProgress::new();
    // Before a new backup: the last execute's outcome must be known, or its plan might run twice.
    cutover::engine::status::ensure_settled(&args.db, &mut |p| progress.show(p))?;
    let (plan, audit, pre) = planning::build_checked(args, &mut progress)?;
    warn(&plan, json);
    if plan.statements.is_empty() {
        return emit(nothing_to_do("execute", &args.db, &plan), json);
    }
    inuse::ensure_not_in_use(&args.db)?;
    // A rollback must be possible before anything is written.
    if let Some(why) = pre.restore_blocker.clone() {
        return Err(cutover::engine::Error::CannotRestore { path: args.db.clone(), why }.into());
    }
    // Refuse before writing anything when the backup, the rehearsal copy and the new index
    // cannot all fit.
    if !pre.enough_disk {
        return Err(cutover::engine::Error::DiskSpace {
            dir: cutover::engine::paths::parent_dir(&args.db),
            needed: pre.needed_disk,
            available: pre.free_disk,
        }
        .into());
    }
    let mut timings = PhaseTimings::default();
    let made = backup::run(&args.db, &BackupOptions::default(), &mut |p| progress.show(p));
    progress.finish();
    let made = made?;
    timings.backup = Some(made.seconds);
    let backup = BackupRef { path: made.path.clone(), sha256: made.sha256.clone() };

    let cancel = Cancel::new();
    let dry = dryrun::run(&args.db, &backup, &plan, &DryRunOptions::default(), &cancel, &mut |p| progress.show(p));
    progress.finish();
    let dry = dry?;
    timings.dry_run = Some(dry.seconds);
    let mut written = reports::write_rehearsal(&args.db, &plan, audit.as_ref(), &dry)?;
    if !dry.ok {
        let summary = format!("Dry run FAILED on the copy: {} was NOT changed", shown(&args.db));
        return emit(rehearsal_outcome("execute", &args.db, &plan, &dry, summary, timings, written), json);
    }

    let done = execute::run(&args.db, &plan, &backup, &Rehearsal::from(&dry), &cancel, &mut |p| progress.show(p));
    progress.finish();
    let done = done?;
    timings.execute = Some(done.seconds - done.verification.seconds);
    timings.verify = Some(done.verification.seconds);
    for path in reports::write_execution(&args.db, &plan, &dry, &done)? {
        if !written.contains(&path) {
            written.push(path);
        }
    }
    let summary = if let Some(c) = done.changed_since.as_ref() {
        format!(
            "{} is migrated; it was written to after the commit ({}), so those tables are reported as changed since the execute: {}",
            shown(&args.db),
            c.summary(),
            done.verification.summary()
        )
    } else if done.verification.ok {
        format!("{} is migrated and verified: {}", shown(&args.db), done.verification.summary())
    } else {
        format!(
            "{} was migrated but verification FAILED ({}): roll back with `cutover rollback {} --yes`",
            shown(&args.db),
            done.verification.summary(),
            cutover::engine::platform::shell_quote(&args.db)
        )
    };
    let outcome = Outcome {
        ok: done.verification.ok,
        phase: "execute",
        database: args.db.clone(),
        plan_sha256: Some(plan.sha256.clone()),
        backup: Some(backup),
        timings_s: timings,
        result_sha256: Some(done.result_sha256.clone()),
        identical: Some(done.identical),
        statements: done.statements.clone(),
        warnings: planning::warnings(&plan),
        reports: written,
        summary,
        ..Outcome::default()
    }
    .with_checks(&done.verification);
    // Committed: a failure to print the result must not read as "nothing changed".
    let db = args.db.clone();
    emit(outcome, json).map_err(|e| {
        cutover::engine::Error::AfterCommit { path: db, what: "printing the result".into(), cause: format!("{e:#}") }
            .into()
    })
}

fn warn(plan: &Plan, json: bool) {
    if !json {
        for w in planning::warnings(plan) {
            note(w);
        }
    }
}

fn nothing_to_do(phase: &'static str, db: &Path, plan: &Plan) -> Outcome {
    let review = match &plan.source {
        PlanSource::Tenant(spec) => spec.review.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        PlanSource::Script { .. } => Vec::new(),
    };
    if !review.is_empty() {
        // A column that allows NULL or holds another default is not the change: say so, as
        // the execute that added the others did (exit 0 there too, with the same note).
        return Outcome {
            ok: true,
            phase,
            database: db.to_path_buf(),
            plan_sha256: Some(plan.sha256.clone()),
            nothing_to_do: true,
            warnings: planning::warnings(plan),
            summary: format!(
                "Nothing to do on {}: the tables cutover migrates have the change, but {} already {} a tenant column that is not right, left as it is — review {} by hand (see the audit)",
                shown(db),
                review.join(", "),
                if review.len() == 1 { "has" } else { "have" },
                if review.len() == 1 { "it" } else { "them" }
            ),
            ..Outcome::default()
        };
    }
    Outcome {
        ok: true,
        phase,
        database: db.to_path_buf(),
        plan_sha256: Some(plan.sha256.clone()),
        nothing_to_do: true,
        summary: format!("Nothing to do: every table of {} already has the change or is left out", shown(db)),
        ..Outcome::default()
    }
}

fn rehearsal_outcome(
    phase: &'static str,
    db: &Path,
    plan: &Plan,
    dry: &DryRunReport,
    summary: String,
    timings: PhaseTimings,
    reports: Vec<PathBuf>,
) -> Outcome {
    Outcome {
        ok: dry.ok,
        phase,
        database: db.to_path_buf(),
        plan_sha256: Some(plan.sha256.clone()),
        backup: Some(dry.backup.clone()),
        timings_s: timings,
        result_sha256: Some(dry.result_sha256.clone()),
        statements: dry.statements.clone(),
        warnings: planning::warnings(plan),
        reports,
        summary,
        ..Outcome::default()
    }
    .with_checks(&dry.verification)
}

/// The newest recorded backup when the database still hashes to it; a new backup otherwise.
fn reuse_or_backup(db: &Path, progress: &mut StderrProgress) -> Result<BackupRef> {
    let standing = journal::standing(&journal::read(db)?);
    // A WAL with frames means the main file alone is not the database: back up afresh.
    let wal_empty = std::fs::metadata(cutover::engine::paths::side_file(db, "-wal")).map_or(true, |m| m.len() == 0);
    if let Some((path, sha256)) = standing.backup
        && wal_empty
        && path.is_file()
        && hashing::hash_file(db).is_ok_and(|h| h.sha256 == sha256)
    {
        return Ok(BackupRef { path, sha256 });
    }
    let made = backup::run(db, &BackupOptions::default(), &mut |p| progress.show(p));
    progress.finish();
    let made = made?;
    Ok(BackupRef { path: made.path, sha256: made.sha256 })
}
