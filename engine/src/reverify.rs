//! Verifying a migrated database again, later, from what its journal recorded: the same for
//! `cutover verify` and the wizard's resume. The hash that may grant MATCH is taken only once
//! the WAL is folded in; a database the shop has written to since the execute is said to have
//! changed — with what changed, table by table — never called a failed migration.

use crate::shown::shown;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::apply::StatementRun;
use crate::backup_ref::BackupRef;
use crate::changes::{self, Changes};
use crate::dryrun;
use crate::error::{Error, Result};
use crate::journal::lineage::{Kind, Lineage};
use crate::journal::{self, ExecuteRecord};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::recovery::Recovery;
use crate::refusal::Refusal;
use crate::status::{self, Settled};
use crate::verify::{Identical, Status, Verification};
use crate::{open, paths, preflight};

/// The checks that compare rows with the rehearsal's: a write by the shop alone makes them
/// differ.
const ROW_CHECKS: [&str; 2] = ["row_counts", "content_digest"];

/// A verification of production from the journal.
#[derive(Debug, Clone, Serialize)]
pub struct Reverification {
    /// The database.
    #[serde(with = "crate::ospath")]
    pub database: PathBuf,
    /// The plan that was executed.
    pub plan_sha256: String,
    /// The backup a rollback would restore.
    pub backup: BackupRef,
    /// The database's SHA-256 with its WAL folded in; `None` when it could not be folded in.
    pub actual_sha256: Option<String>,
    /// It equals the rehearsal's result (proof by identical outcome).
    pub identical: bool,
    /// What the shop wrote since the execute, when the file is no longer the execute's result.
    pub changes: Option<Changes>,
    /// Why the changes could not be told apart, when they could not.
    pub changes_unknown: Option<String>,
    /// The checks.
    pub verification: Verification,
    /// The database had not shut down cleanly and was recovered first, a copy kept as found.
    pub recovered: Option<Recovery>,
    /// Whether the file holds the execute's change cannot be told from it (other programs
    /// changed it on its way here, and neither its bytes nor its schema tell): the checks
    /// below say what they can, never that the migration is in place.
    pub cannot_tell_in_file: bool,
    /// The file holds the execute's change only as far as its schema tells: other programs
    /// wrote to it on its way here, and its bytes match no recorded state.
    pub presumed_in_file: bool,
}

impl Reverification {
    /// The file changed since the execute.
    pub fn changed(&self) -> bool {
        self.changes.as_ref().is_some_and(|c| !c.is_empty()) || self.changes_unknown.is_some() || self.cannot_tell_in_file
    }

    /// Whether the migration is proven in place: every check passed and the file holds it.
    pub fn ok(&self) -> bool {
        self.verification.ok && !self.cannot_tell_in_file
    }

    /// One line saying where the database stands.
    pub fn summary(&self) -> String {
        let db = shown(&self.database);
        let v = &self.verification;
        if self.cannot_tell_in_file {
            let what = self.changes.as_ref().filter(|c| !c.is_empty()).map(|c| format!(": {}", c.summary()));
            return format!(
                "{db} is not the execute's result{} — and whether the execute's change is still in it cannot be told from the file: it was changed by other means than cutover on its way here, and neither its bytes nor its schema tell. Have the rows listed looked at before anything else; `cutover rollback` lists what restoring the backup would discard",
                what.unwrap_or_default()
            );
        }
        let since = match (&self.changes, &self.changes_unknown) {
            (Some(c), _) if !c.is_empty() => Some(c.summary()),
            (_, Some(why)) => Some(why.clone()),
            _ => None,
        };
        match (since, v.ok) {
            (None, true) => format!("{db} verified: {}", v.summary()),
            (None, false) => {
                let quoted = crate::platform::shell_quote(&self.database);
                format!(
                    "{db} verification FAILED: {} — `cutover rollback {quoted} --yes` restores the backup",
                    v.summary()
                )
            }
            (Some(what), true) if self.presumed_in_file => format!(
                "{db} changed since the execute (other programs wrote to it on its way here): {what}; its schema is the one the execute leaves, but whether the execute's own row changes are still in it cannot be told apart from those writes: {}",
                v.summary()
            ),
            (Some(what), true) => format!(
                "{db} changed since the execute (the shop has written to it): {what}; the migration itself is in place: {}",
                v.summary()
            ),
            (Some(what), false) if self.changes_unknown.is_some() => {
                // Without the changes listed, rows that differ from the rehearsal may be the
                // shop's own writes: only the checks that look at no rows can still fail it.
                let fails = v.names(Status::Fail);
                let (by_rows, outright): (Vec<String>, Vec<String>) =
                    fails.into_iter().partition(|n| ROW_CHECKS.contains(&n.as_str()));
                let rows = if by_rows.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} cannot tell the shop's writes from a broken migration",
                        by_rows.join(" and ")
                    )
                };
                let broken = if outright.is_empty() {
                    String::new()
                } else {
                    format!("; these fail whatever was written: {}", outright.join(", "))
                };
                format!(
                    "{db} changed since the execute ({what}){rows}{broken} — whether the migration holds cannot be told here; have the database looked at before anything else"
                )
            }
            (Some(what), false) => format!(
                "{db} changed since the execute ({what}) and the migration no longer holds: {} FAIL ({}) — a rollback would discard the changes listed, so it needs --discard-changes; have the database looked at first",
                v.names(Status::Fail).len(),
                v.names(Status::Fail).join(", ")
            ),
        }
    }
}

/// Verifies `db` after the newest execute its journal records.
pub fn run(db: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Reverification> {
    let db = &paths::resolve(db)?;
    if !db.exists()
        && let Some(r) = journal::standing(&journal::read(db)?).rollback_started
    {
        let moved = paths::locate(db, &r.migrated_path);
        if moved.is_file() {
            return Err(Error::NotReady(Refusal::RollbackCutOff { path: db.clone(), moved }));
        }
    }
    preflight::check_file(db)?;
    let rec = status::reconcile(db, progress)?;
    // An execute cut off before its commit changed nothing; when it was made on top of an
    // earlier one, that one is still in force and is what gets verified.
    let beneath = rec.standing.live_execute().is_some_and(|x| x.committed);
    if rec.settled == Some(Settled::Unchanged) && !beneath {
        return Err(Error::NotReady(Refusal::InterruptedUnchanged { path: db.clone() }));
    }
    if let Some(Settled::DidNotCommit(free)) = rec.settled
        && !beneath
    {
        let pages = match free {
            Some(0) => "; its bytes are the backup's again".to_string(),
            Some(n) => format!(
                "; its bytes differ from the backup only in {n} free page{} (pages no table uses, which SQLite does not journal)",
                if n == 1 { "" } else { "s" }
            ),
            None => String::new(),
        };
        return Err(Error::NotReady(Refusal::InterruptedDidNotCommit { path: db.clone(), pages }));
    }
    if rec.settled == Some(Settled::NeverCommitted) && !beneath {
        return Err(Error::NotReady(Refusal::InterruptedNeverCommitted { path: db.clone() }));
    }
    if rec.settled == Some(Settled::Unknown) {
        return Err(Error::NotReady(Refusal::CannotTell { path: db.clone(), then: "nothing was verified" }));
    }
    let standing = rec.standing;
    let Some(exec) = standing.execute.clone().filter(|x| x.committed) else {
        return Err(Error::NotReady(Refusal::NothingToVerify { path: db.clone() }));
    };
    if standing.rolled_back {
        return Err(Error::NotReady(Refusal::RolledBackSince { path: db.clone() }));
    }
    let Some(dry) = standing.rehearsal_for(&exec).cloned() else {
        return Err(Error::NotReady(Refusal::NoRecordedRehearsal));
    };
    let backup = exec.backup.located(db);
    let actual = status::settled_sha256(db)?;
    let held = match held_in_file(db, &standing.lineage, &exec, actual.as_deref()) {
        Held::No(state) => {
            return Err(Error::NotReady(Refusal::ExecuteNotInFile {
                path: db.clone(),
                plan: exec.plan_sha256.chars().take(12).collect(),
                state,
            }));
        }
        held => held,
    };
    let as_left = exec.result_sha256.is_some() && actual == exec.result_sha256;
    let expects = dry.plan.statements.iter().any(|s| s.expect.is_some());
    let (changes, changes_unknown, runs) = if as_left && !expects {
        (None, None, Ok(Vec::new()))
    } else if as_left {
        // The script's assertions are checked again where they ran: on the plan replayed
        // from the backup's bytes (production may have moved on; they are about the plan).
        progress(Progress::Step("running the plan again on a copy of the backup, for its -- expect: lines".into()));
        let runs = dryrun::replay(db, &backup, &dry.plan, progress).map(|r| r.runs().to_vec());
        (None, None, runs.map_err(|e| e.to_string()))
    } else {
        changes_since(db, &backup, &dry.plan, progress)
    };
    let identical = Identical {
        rehearsal_sha256: dry.result_sha256.clone(),
        actual_sha256: actual.clone().unwrap_or_else(|| "(the WAL could not be folded in)".into()),
    };
    let matched = identical.rehearsal_sha256 == identical.actual_sha256;
    let started = Instant::now();
    let (replayed, not_replayed) = match runs {
        Ok(r) => (r, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let mut verification = crate::verify::production::verify(
        db,
        &dry.plan,
        crate::verify::production::OnTheCopy { before: &dry.before, warned: &dry.warned },
        &replayed,
        identical,
        changes.as_ref(),
        progress,
    )?;
    if let (true, Some(why)) = (expects, not_replayed) {
        verification.checks.push(crate::verify::Check::single(
            "expectations",
            Status::Warn,
            format!("the script's -- expect: lines could not be checked again: the plan could not be replayed ({why})"),
        ));
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "verified again");
    Ok(Reverification {
        database: db.to_path_buf(),
        plan_sha256: exec.plan_sha256,
        backup,
        actual_sha256: actual,
        identical: matched,
        changes,
        changes_unknown,
        verification,
        recovered: rec.recovered,
        cannot_tell_in_file: held == Held::Unsure,
        presumed_in_file: held == Held::Presumed && !dry.plan.keeps_every_value(),
    })
}

/// Whether the file holds an execute's change, told by its bytes against every recorded state,
/// or by its schema where the shop wrote since.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    /// It does, proven by its bytes.
    Yes,
    /// It does as far as its schema tells (other programs wrote to it on its way here).
    Presumed,
    /// It may or may not: nothing in the file tells.
    Unsure,
    /// It does not: the file is, or was written on, this recorded state (in words).
    No(String),
}

fn held_in_file(db: &Path, lineage: &Lineage, exec: &ExecuteRecord, actual: Option<&str>) -> Held {
    let Some(x) = lineage.executes.iter().rposition(|e| {
        e.record.plan_sha256 == exec.plan_sha256 && e.record.backup.sha256 == exec.backup.sha256
    }) else {
        return Held::Unsure;
    };
    let e = &lineage.executes[x];
    // An undo's change is the plan it took back being gone.
    let undone = |c: &usize| e.undoes.as_deref() == Some(lineage.executes[*c].record.plan_sha256.as_str());
    let judge = |carries: &[usize], unsure: &[usize]| -> Option<bool> {
        let (in_carries, in_unsure) = if e.kind == Kind::Undo {
            (!carries.iter().any(undone), unsure.iter().any(undone))
        } else {
            (carries.contains(&x), unsure.contains(&x))
        };
        if in_unsure { None } else { Some(in_carries) }
    };
    if let Some(state) = actual.and_then(|sha| lineage.by_sha(sha)) {
        let s = &lineage.states[state];
        return match judge(&s.carries, &s.unsure) {
            // A state reached through writes cutover did not see holds it as far as its
            // schema told when it was recorded.
            Some(true) if !s.certain => Held::Presumed,
            Some(true) => Held::Yes,
            None => Held::Unsure,
            Some(false) => Held::No(format!("byte for byte {}", crate::status::report::describe(lineage, state))),
        };
    }
    let schema = open::immutable(db).ok().flatten().and_then(|c| crate::verify::snapshot::schema(&c).ok());
    match schema.map(|o| crate::verify::snapshot::schema_digest(&o)).and_then(|d| lineage.by_schema(&d)) {
        Some(like) => match judge(&like.common, &like.unsure) {
            Some(true) => Held::Presumed,
            None => Held::Unsure,
            Some(false) => Held::No(format!(
                "{} written to since (it has that state's schema)",
                crate::status::report::describe(lineage, like.from)
            )),
        },
        None => Held::Unsure,
    }
}

/// What differs from the execute's result, rebuilt from the backup, and the plan's statements
/// as they ran again; or why that cannot be told.
pub fn changes_since(
    db: &Path,
    backup: &BackupRef,
    plan: &Plan,
    progress: &mut dyn FnMut(Progress),
) -> (Option<Changes>, Option<String>, std::result::Result<Vec<StatementRun>, String>) {
    let compared = dryrun::replay(db, backup, plan, progress).and_then(|known| {
        progress(Progress::Step("comparing every table with the state the execute left".into()));
        let conn = open::inspect(db)?;
        Ok((changes::between(&conn, known.path())?, known.runs().to_vec()))
    });
    match compared {
        Ok((c, runs)) => (Some(c), None, Ok(runs)),
        Err(e) => (
            None,
            Some(format!("it no longer hashes to the execute's result, and what changed cannot be told ({e})")),
            Err(e.to_string()),
        ),
    }
}
