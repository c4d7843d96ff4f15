//! Where a database stands, folded from its journal: the newest backup, every passed dry run,
//! the execute that counts (one that changed nothing never hides the committed one before it),
//! its verification, and a rollback started or finished; and where recorded paths are now.

use std::fs;
use std::path::Path;

use super::lineage::Lineage;
pub use super::records::{ExecuteRecord, PassedDryRun, RollbackRecord, UndoneRollback};
use super::{Entry, Event};
use crate::backup_ref::BackupRef;
use crate::paths;

/// Where a database stands, from its journal.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// The newest proven backup, as recorded.
    pub backup: Option<BackupRef>,
    /// Every passed dry run, oldest first.
    pub dry_runs: Vec<PassedDryRun>,
    /// The newest execute: its plan hash, backup and how it ended.
    pub execute: Option<ExecuteRecord>,
    /// The newest verification of production: ok?
    pub verified: Option<bool>,
    /// A rollback finished after the last execute (or, with no execute, at all).
    pub rolled_back: bool,
    /// A rollback started after the last execute and its end was never recorded.
    pub rollback_started: Option<RollbackRecord>,
    /// The newest execute or rollback is a finished rollback (an execute before it may be in
    /// the database again; a second rollback asked right after only says it is done).
    pub just_rolled_back: bool,
    /// Every state the journal saw the file in, and the executes each carries.
    pub lineage: Lineage,
    /// The newest rollback was undone before its end (nothing changed).
    pub undone_rollback: Option<UndoneRollback>,
}

impl Standing {
    /// The execute the database carries, or may: the newest one, unless it or a rollback
    /// after it was undone. It is what a rollback restores the backup of, and what a resume
    /// picks up.
    pub fn live_execute(&self) -> Option<&ExecuteRecord> {
        self.execute.as_ref().filter(|x| !x.rolled_back && !self.rolled_back)
    }

    /// Whether the execute ran an undo in place (the inverse of an earlier plan).
    pub fn is_undo(&self, exec: &ExecuteRecord) -> bool {
        self.dry_runs.iter().any(|d| d.plan.sha256 == exec.plan_sha256 && d.plan.undo().is_some())
    }

    /// The passed dry run an execute ran on: its plan, rehearsed from its backup's bytes (a
    /// later rehearsal of the same plan from other bytes says nothing about this execute).
    pub fn rehearsal_for(&self, exec: &ExecuteRecord) -> Option<&PassedDryRun> {
        self.dry_runs.iter().rev().find(|d| d.plan.sha256 == exec.plan_sha256 && d.source_sha256 == exec.backup.sha256)
    }

    /// Whether the execute's plan has an inverse `rollback --undo` can run (a tenant plan).
    pub fn undoable(&self, exec: &ExecuteRecord) -> bool {
        self.rehearsal_for(exec).is_some_and(|r| crate::plan::undo::no_inverse(&r.plan).is_none())
    }
}

/// Folds the journal into where things stand. An execute that changed nothing (rolled back,
/// or refused before its first statement) does not hide the committed one before it.
pub fn standing(entries: &[Entry]) -> Standing {
    let mut s = Standing::default();
    // The committed execute (with its verification) that a newer attempt may fall back to.
    let mut prior: Option<(ExecuteRecord, Option<bool>)> = None;
    for e in entries {
        match &e.event {
            Event::Backup { path, sha256, .. } => {
                s.backup = Some(BackupRef::new(path.clone(), sha256.clone()));
            }
            Event::DryRun {
                ok: true,
                plan,
                source_sha256,
                result_sha256: Some(result),
                before: Some(before),
                warned,
                ..
            } => {
                s.dry_runs.push(PassedDryRun {
                    plan: (**plan).clone(),
                    source_sha256: source_sha256.clone(),
                    result_sha256: result.clone(),
                    before: (**before).clone(),
                    warned: warned.clone(),
                });
            }
            Event::DryRun { .. } | Event::Recovered { .. } => {}
            Event::ExecuteStarted { plan_sha256, backup_path, backup_sha256, marks_commit, .. } => {
                prior = s
                    .execute
                    .take()
                    .filter(|x| x.committed && !x.rolled_back && !s.rolled_back)
                    .map(|x| (x, s.verified))
                    .or(prior.take().filter(|_| !s.rolled_back));
                s.execute = Some(ExecuteRecord {
                    plan_sha256: plan_sha256.clone(),
                    backup: BackupRef::new(backup_path.clone(), backup_sha256.clone()),
                    committed: false,
                    result_sha256: None,
                    schema_sha256: None,
                    rolled_back: false,
                    marks_commit: *marks_commit,
                    committing: false,
                });
                s.verified = None;
                s.rolled_back = false;
                s.rollback_started = None;
                s.just_rolled_back = false;
                s.undone_rollback = None;
            }
            Event::ExecuteCommitting { .. } => {
                if let Some(x) = s.execute.as_mut() {
                    x.committing = true;
                }
            }
            Event::ExecuteCommitted { result_sha256, schema_sha256, .. } => {
                if let Some(x) = s.execute.as_mut() {
                    x.committed = true;
                    x.result_sha256 = result_sha256.clone();
                    x.schema_sha256 = schema_sha256.clone();
                }
                prior = None;
            }
            Event::ExecuteRolledBack { .. } => {
                if let Some(x) = s.execute.as_mut() {
                    x.rolled_back = true;
                }
                // Nothing changed: the database is still where the execute before left it.
                if let Some((x, verified)) = prior.take() {
                    s.execute = Some(x);
                    s.verified = verified;
                }
            }
            Event::Verified { ok, .. } => s.verified = Some(*ok),
            Event::RollbackUndone { migrated_path, why, second_name_left } => {
                s.rollback_started = None;
                s.undone_rollback = Some(UndoneRollback {
                    at: e.at.clone(),
                    why: why.clone(),
                    second_name_left: second_name_left.then(|| migrated_path.clone()),
                });
            }
            Event::RollbackStarted { backup_path, sha256, migrated_path } => {
                s.undone_rollback = None;
                s.rollback_started = Some(RollbackRecord {
                    backup: BackupRef::new(backup_path.clone(), sha256.clone()),
                    migrated_path: migrated_path.clone(),
                });
            }
            Event::RolledBack { sha256, .. } => {
                s.rollback_started = None;
                s.undone_rollback = None;
                s.just_rolled_back = true;
                prior = None;
                // Putting a backup back puts in force what its bytes carry (an undo's backup
                // holds the migration it undid; a script's, the migration before it): told by
                // the backup's hash against every state recorded, never by what the journal
                // said when the backup was made.
                let over = s.lineage.by_sha(sha256).and_then(|i| s.lineage.in_force(i)).filter(|x| x.record.committed);
                match over.map(|x| (x.record.clone(), x.verified)) {
                    Some((x, verified)) => {
                        s.execute = Some(x);
                        s.verified = verified;
                        s.rolled_back = false;
                    }
                    None => s.rolled_back = true,
                }
            }
        }
        s.lineage.take(e, &s.dry_runs);
    }
    s
}

/// The recorded backup that `backup` names, by file identity (any path to it will do, from
/// any folder), where it is now.
pub fn recorded_backup(db: &Path, entries: &[Entry], backup: &Path) -> Option<BackupRef> {
    let wanted_path = fs::canonicalize(backup).ok();
    entries.iter().rev().find_map(|e| match &e.event {
        Event::Backup { path, sha256, .. } => {
            let at = paths::locate(db, path);
            let same_file = crate::platform::same_file(&at, backup);
            let same_path = wanted_path.is_some() && fs::canonicalize(&at).ok() == wanted_path;
            (same_file || same_path).then(|| BackupRef::new(at, sha256.clone()))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execute_that_changed_nothing_does_not_hide_the_committed_one_before_it() {
        let e = |event| Entry { at: "t".into(), event };
        let started = |p: &str| Event::ExecuteStarted {
            plan_sha256: p.into(),
            backup_path: "b".into(),
            backup_sha256: "s".into(),
            marks_commit: true,
            fingerprint: None,
            again: false,
        };
        let entries = vec![
            e(started("one")),
            e(Event::ExecuteCommitted { plan_sha256: "one".into(), result_sha256: Some("r1".into()), schema_sha256: None }),
            e(Event::Verified { plan_sha256: "one".into(), ok: true, failed: vec![] }),
            e(started("two")),
            e(Event::ExecuteRolledBack {
                plan_sha256: "two".into(),
                error: "changed since the backup".into(),
                file_sha256: None,
            }),
        ];
        let s = standing(&entries);
        let x = s.execute.unwrap();
        assert_eq!((x.plan_sha256.as_str(), x.committed, x.rolled_back), ("one", true, false));
        assert_eq!(s.verified, Some(true));
    }
}
