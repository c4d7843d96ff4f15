//! Dry run: the plan rehearsed on a scratch copy of the backup, then fully verified. The
//! original is never opened for writing.

use crate::shown::shown;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::apply::{self, Cancel, StatementRun};
use crate::backup_ref::BackupRef;
use crate::error::{Error, Result};
use crate::hashing;
use crate::journal::{self, Event};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::refusal::Refusal;
use crate::verify::snapshot::{self, Snapshot};
use crate::verify::{self, Scope, Verification, VerifyRequest};
use crate::{durable, open, paths};

/// Dry-run settings.
#[derive(Debug, Clone, Default)]
pub struct DryRunOptions {
    /// Keep the rehearsed copy (as `<db>.dry-run-<time>`) instead of deleting it.
    pub keep_copy: bool,
    /// The application's migrations folder, ledger and own check, for `app_starts` and
    /// `app_check` on the copy.
    pub app: Option<crate::ledger::plan::App>,
}

/// Seconds per step of a dry run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DryRunTimings {
    /// Copying the backup to the scratch file.
    pub copy: f64,
    /// Reading the "before" state.
    pub snapshot: f64,
    /// Whether it was read from the backup on another thread while the copy was made and the
    /// plan ran (then its seconds overlap theirs).
    #[serde(default)]
    pub snapshot_alongside: bool,
    /// Running the plan.
    pub apply: f64,
    /// Verifying the result.
    pub verify: f64,
}

/// A finished rehearsal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DryRunReport {
    /// The plan passed on the copy: it ran and no check failed.
    pub ok: bool,
    /// The plan's hash.
    pub plan_sha256: String,
    /// The backup the copy was made from.
    pub backup: BackupRef,
    /// SHA-256 of the copy after the commit: production must reach the same.
    pub result_sha256: String,
    /// The statements as they ran.
    pub statements: Vec<StatementRun>,
    /// The checks on the copy.
    pub verification: Verification,
    /// The state before the plan.
    pub before: Snapshot,
    /// The kept copy, with `keep_copy`.
    #[serde(with = "crate::ospath::option")]
    pub kept_copy: Option<PathBuf>,
    /// Where the time went.
    pub timings_s: DryRunTimings,
    /// Seconds in all.
    pub seconds: f64,
}

/// Rehearses `plan` on a copy of `backup` made beside `db`, verifies it, and records the
/// outcome in the journal. A failing statement is an error naming it; the copy is deleted.
pub fn run(
    db: &Path,
    backup: &BackupRef,
    plan: &Plan,
    options: &DryRunOptions,
    cancel: &Cancel,
    progress: &mut dyn FnMut(Progress),
) -> Result<DryRunReport> {
    let started = Instant::now();
    let mut timings = DryRunTimings::default();
    let mut lap = Instant::now();
    let mut split = || {
        let secs = lap.elapsed().as_secs_f64();
        lap = Instant::now();
        secs
    };
    let dir = paths::parent_dir(db);
    let scratch = paths::Scratch::Rehearsal
        .create(db, &dir)
        .map_err(|e| Error::writing(&dir, format!("creating the rehearsal copy in {}", shown(&dir)), e))?;
    let copy = scratch.path().to_path_buf();

    let without = plan.dropped_columns();
    // The "before" state is read from the backup itself, on the other core, while the copy is
    // made and the plan runs on it: the copy is those very bytes (proven on the way), and the
    // backup is opened immutable, so nothing is locked or created beside it.
    let alongside = open::immutable(&backup.path).ok().flatten().is_some();
    let (before, outcome) = if alongside {
        timings.snapshot_alongside = true;
        progress(Progress::Step(
            "copying the backup to a scratch file, reading every table before the change alongside".into(),
        ));
        std::thread::scope(|scope| {
            let reading = scope.spawn(|| {
                let started = Instant::now();
                let before = snapshot::capture_immutable(&backup.path, 1, &without, &mut |_| {});
                (before, started.elapsed().as_secs_f64())
            });
            let copied = copy_checked(backup, &copy, progress);
            timings.copy = split();
            let outcome = copied.map(|()| rehearse(&copy, plan, cancel, progress));
            timings.apply = split();
            let before = match reading.join() {
                Ok((before, secs)) => {
                    timings.snapshot = secs;
                    before.and_then(|b| {
                        b.ok_or_else(|| Error::NotReady(Refusal::CheckStopped("reading the backup before the change")))
                    })
                }
                Err(_) => Err(Error::NotReady(Refusal::CheckStopped("reading the backup before the change"))),
            };
            // A copy that failed is the error, as when read one after the other.
            match outcome {
                Ok(outcome) => (before, outcome),
                Err(e) => (Err(e), Err(Error::NotReady(Refusal::CheckStopped("copying the backup")))),
            }
        })
    } else {
        progress(Progress::Step("copying the backup to a scratch file".into()));
        let before = copy_checked(backup, &copy, progress).and_then(|()| {
            timings.copy = split();
            progress(Progress::Step("reading every table before the change".into()));
            snapshot::capture(&copy, 2, &without, progress)
        });
        timings.snapshot = split();
        let outcome = match &before {
            Ok(_) => rehearse(&copy, plan, cancel, progress),
            Err(_) => Err(Error::NotReady(Refusal::CheckStopped("reading the copy before the change"))),
        };
        timings.apply = split();
        (before, outcome)
    };
    let before = match before {
        Ok(b) => b,
        Err(e) => {
            cleanup(&copy);
            return Err(e);
        }
    };
    let (runs, result_sha256) = match outcome {
        Ok(v) => v,
        Err(e) => {
            cleanup(&copy);
            record(db, plan, backup, None, None, Some(e.to_string()), Vec::new())?;
            return Err(e);
        }
    };

    progress(Progress::Step("verifying the rehearsal copy".into()));
    let request = VerifyRequest {
        db: &copy,
        plan,
        before: &before,
        runs: &runs,
        identical: None,
        scope: Scope::Full,
        changed: None,
    };
    let verification = verify::run(&request, progress).and_then(|mut v| {
        // Whether the shop's application starts on the result, asked of the copy before it goes.
        v.checks.extend(verify::app::checks(db, &copy, plan, options.app.as_ref(), progress).map_err(Error::Ledger)?);
        v.ok = v.checks.iter().all(|c| c.status != verify::Status::Fail);
        Ok(v)
    });
    timings.verify = split();
    let kept_copy = if options.keep_copy { Some(keep(scratch, db)?) } else { None };
    if kept_copy.is_none() {
        cleanup(&copy);
    }
    let verification = verification?;
    let ok = verification.ok;
    let error =
        (!ok).then(|| format!("checks failed on the copy: {}", verification.names(verify::Status::Fail).join(", ")));
    let warned = verify::app::carried(&verification.checks);
    record(db, plan, backup, Some(&result_sha256), Some(&before), error, warned)?;
    Ok(DryRunReport {
        ok,
        plan_sha256: plan.sha256.clone(),
        backup: backup.clone(),
        result_sha256,
        statements: runs,
        verification,
        before,
        kept_copy,
        timings_s: timings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The plan replayed on a scratch copy of the backup: SQLite being deterministic, its bytes are
/// what the execute left. The scratch file and its side files go when this is dropped.
pub struct Replayed {
    file: tempfile::NamedTempFile,
    runs: Vec<StatementRun>,
}

impl Replayed {
    /// Where the replayed copy is.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The statements as they ran again, with their `-- expect:` outcomes.
    pub fn runs(&self) -> &[StatementRun] {
        &self.runs
    }
}

impl Drop for Replayed {
    fn drop(&mut self) {
        cleanup(self.file.path());
    }
}

/// Rebuilds the execute's result beside `db`: the backup copied (and proven) to a scratch
/// file, the plan run on it exactly as execute runs it.
pub fn replay(db: &Path, backup: &BackupRef, plan: &Plan, progress: &mut dyn FnMut(Progress)) -> Result<Replayed> {
    let dir = paths::parent_dir(db);
    let file = paths::Scratch::Replay
        .create(db, &dir)
        .map_err(|e| Error::writing(&dir, format!("creating a scratch copy in {}", shown(&dir)), e))?;
    progress(Progress::Step("rebuilding the state the execute left, from the backup".into()));
    copy_checked(backup, file.path(), progress)?;
    let (runs, _) = rehearse(file.path(), plan, &Cancel::new(), progress)?;
    Ok(Replayed { file, runs })
}

/// Copies the backup to the scratch file, proving on the way that it still hashes as recorded.
fn copy_checked(backup: &BackupRef, copy: &Path, progress: &mut dyn FnMut(Progress)) -> Result<()> {
    let mut src = File::open(&backup.path)
        .map_err(|e| Error::NotReady(Refusal::BackupUnreadable { path: backup.path.clone(), cause: e.to_string() }))?;
    let total = src.metadata().map(|m| m.len()).unwrap_or(0);
    let mut dst = File::create(copy).map_err(|e| Error::io(format!("creating {}", shown(copy)), e))?;
    let h = hashing::copy_hashing(&mut src, &mut dst, total, &mut |done, total| {
        progress(Progress::Bytes { stage: "copying the backup", done, total })
    })
    .map_err(|e| Error::io("copying the backup to the rehearsal copy", e))?;
    if h.sha256 != backup.sha256 {
        return Err(Error::NotReady(Refusal::BackupChanged { path: backup.path.clone(), doing: "make a new backup" }));
    }
    Ok(())
}

/// Runs the plan on the copy exactly as execute will on production, and hashes the result.
fn rehearse(
    copy: &Path,
    plan: &Plan,
    cancel: &Cancel,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<StatementRun>, String)> {
    let mut conn = open::read_write(copy)?;
    prepare_for_plan(&conn)?;
    let runs =
        apply::apply(&mut conn, plan, cancel, " on the rehearsal copy", &mut |_| Ok(()), &mut || Ok(()), progress)?;
    // On the copy alone: a failure here (a full disk) is the rehearsal's, never production's.
    finish_after_commit(&conn).map_err(|e| match e {
        Error::Sqlite { source, .. } => {
            Error::sqlite("folding the rehearsal copy's WAL in after its commit (production was not touched)", source)
        }
        other => other,
    })?;
    drop(conn);
    let hash = hashing::hash_file(copy).map_err(|e| Error::io("hashing the rehearsal copy", e))?;
    Ok((runs, hash.sha256))
}

/// Connection settings shared by rehearsal and production, so both run the plan the same way.
///
/// Foreign keys are not enforced while the plan runs, as in the sqlite3 shell a script is
/// usually tried in (the bundled SQLite would otherwise enforce them, and cascade); the
/// verification's `foreign_key_check` fails any violation the plan introduces.
pub fn prepare_for_plan(conn: &rusqlite::Connection) -> Result<()> {
    conn.pragma_update(None, "synchronous", "FULL").map_err(|e| Error::sqlite("setting synchronous=FULL", e))?;
    // Index builds sort on both cores (see BENCHMARKS.md); that does not change the resulting
    // bytes, so the rehearsal still predicts production exactly. The page cache stays at
    // SQLite's default: a bigger one bought no speed and cost the memory budget.
    conn.pragma_update(None, "threads", 2).map_err(|e| Error::sqlite("setting threads", e))?;
    conn.pragma_update(None, "foreign_keys", false).map_err(|e| Error::sqlite("setting foreign_keys=OFF", e))?;
    // Exclusive locking: once the database is first read nobody else may, and the lock outlives
    // the commit, so the result is hashed before anyone can write. Rehearsal and production
    // both run this way, so the rehearsal still predicts production's bytes.
    conn.pragma_update(Some("main"), "locking_mode", "EXCLUSIVE")
        .map_err(|e| Error::sqlite("setting locking_mode=EXCLUSIVE", e))?;
    Ok(())
}

/// After the commit: fold a WAL into the main file, so the main file alone is the result.
pub fn finish_after_commit(conn: &rusqlite::Connection) -> Result<()> {
    let folded = crate::wal::fold_in(conn).map_err(|e| Error::sqlite("checkpointing after the commit", e))?;
    if !folded.complete {
        return Err(Error::NotReady(Refusal::CopyNotFolded));
    }
    Ok(())
}

fn record(
    db: &Path,
    plan: &Plan,
    backup: &BackupRef,
    result: Option<&str>,
    before: Option<&Snapshot>,
    error: Option<String>,
    warned: Vec<verify::Check>,
) -> Result<()> {
    journal::append(
        db,
        Event::DryRun {
            ok: error.is_none(),
            plan: Box::new(plan.clone()),
            source_sha256: backup.sha256.clone(),
            result_sha256: result.map(str::to_string),
            before: before.map(|b| Box::new(b.clone())),
            error,
            warned,
        },
    )
}

fn keep(scratch: tempfile::NamedTempFile, db: &Path) -> Result<PathBuf> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let target = paths::side_file(db, &format!(".dry-run-{stamp}"));
    scratch.as_file().sync_all().map_err(|e| Error::io("flushing the rehearsal copy (fsync)", e))?;
    durable::name_new(scratch.into_temp_path(), &target, &paths::parent_dir(db))
        .map_err(|e| Error::io(format!("keeping the copy as {}", shown(&target)), e.into_io()))?;
    Ok(target)
}

fn cleanup(copy: &Path) {
    // The temp file itself goes with its handle; SQLite's side files of the copy go here.
    for side in paths::SIDE_SUFFIXES {
        let _ = std::fs::remove_file(paths::side_file(copy, side));
    }
}
