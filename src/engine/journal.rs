//! The journal: `<db>.cutover/journal.jsonl`, an append-only, fsynced log of what cutover did
//! to a database, read back to know where a run stands and to resume it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::durable;
use crate::engine::error::{Error, Result};
use crate::engine::paths;
use crate::engine::plan::Plan;
use crate::engine::verify::snapshot::Snapshot;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A backup was made and proven.
    Backup {
        /// The backup file.
        path: PathBuf,
        /// Its SHA-256 (both hashes matched).
        sha256: String,
        /// Its size.
        bytes: u64,
    },
    /// A dry run finished (passed or not).
    DryRun {
        /// Whether the plan ran and every check passed.
        ok: bool,
        /// The plan that ran.
        plan: Box<Plan>,
        /// SHA-256 of the bytes the rehearsal started from (the backup's).
        source_sha256: String,
        /// SHA-256 of the rehearsal copy after its commit.
        result_sha256: Option<String>,
        /// The state before the plan, taken on the copy.
        before: Option<Box<Snapshot>>,
        /// What went wrong, when it did.
        error: Option<String>,
    },
    /// Production's transaction began.
    ExecuteStarted {
        /// The plan.
        plan_sha256: String,
        /// The backup it can be rolled back to.
        backup_path: PathBuf,
        /// That backup's SHA-256.
        backup_sha256: String,
    },
    /// Production's transaction committed.
    ExecuteCommitted {
        /// The plan.
        plan_sha256: String,
        /// Production's SHA-256 after the commit.
        result_sha256: String,
    },
    /// Production's transaction was rolled back: nothing changed.
    ExecuteRolledBack {
        /// The plan.
        plan_sha256: String,
        /// Why.
        error: String,
    },
    /// A verification of production finished.
    Verified {
        /// The plan.
        plan_sha256: String,
        /// No check failed.
        ok: bool,
        /// The names of the failing checks.
        failed: Vec<String>,
    },
    /// The database was restored from a backup.
    RolledBack {
        /// The backup restored.
        backup_path: PathBuf,
        /// Its SHA-256, equal to the restored file's.
        sha256: String,
        /// Where the migrated database was kept.
        migrated_path: PathBuf,
    },
}

/// An event with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Local time, RFC 3339.
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// The records folder of a database: `<db>.cutover/`.
pub fn records_dir(db: &Path) -> PathBuf {
    paths::side_file(db, ".cutover")
}

/// The journal file of a database.
pub fn path(db: &Path) -> PathBuf {
    records_dir(db).join("journal.jsonl")
}

/// Creates the records folder if needed, durably.
pub fn ensure_records_dir(db: &Path) -> Result<PathBuf> {
    let dir = records_dir(db);
    if !dir.is_dir() {
        fs::create_dir_all(&dir).map_err(|e| Error::writing(&dir, format!("creating {}", dir.display()), e))?;
        durable::fsync_dir(&paths::parent_dir(db)).map_err(|e| Error::io("flushing the database's folder", e))?;
    }
    Ok(dir)
}

/// Appends one event and fsyncs it before returning.
pub fn append(db: &Path, event: Event) -> Result<()> {
    ensure_records_dir(db)?;
    let entry = Entry { at: chrono::Local::now().to_rfc3339(), event };
    let mut line =
        serde_json::to_string(&entry).map_err(|e| Error::io("writing the journal", std::io::Error::other(e)))?;
    line.push('\n');
    let path = path(db);
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::writing(&path, format!("opening {}", path.display()), e))?;
    file.write_all(line.as_bytes()).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    file.sync_all().map_err(|e| Error::io(format!("flushing {} (fsync)", path.display()), e))?;
    if created {
        durable::fsync_dir(&records_dir(db)).map_err(|e| Error::io("flushing the records folder", e))?;
    }
    Ok(())
}

/// Reads every event. A last line cut short by a crash is ignored; damage elsewhere is an error.
pub fn read(db: &Path) -> Result<Vec<Entry>> {
    let path = path(db);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut entries = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => entries.push(e),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => {
                return Err(Error::NotReady(format!(
                    "{} line {} is damaged ({e}); move the file aside to start over",
                    path.display(),
                    i + 1
                )));
            }
        }
    }
    Ok(entries)
}

/// Where a database stands, from its journal.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// The newest proven backup (path, sha256).
    pub backup: Option<(PathBuf, String)>,
    /// The newest passed dry run: (plan, source hash, result hash, before).
    pub dry_run: Option<PassedDryRun>,
    /// The newest execute: its plan hash, backup and how it ended.
    pub execute: Option<ExecuteRecord>,
    /// The newest verification of production: ok?
    pub verified: Option<bool>,
    /// A rollback came after the last execute.
    pub rolled_back: bool,
}

/// A dry run that passed, as the journal holds it.
#[derive(Debug, Clone)]
pub struct PassedDryRun {
    /// The plan.
    pub plan: Plan,
    /// The bytes it started from.
    pub source_sha256: String,
    /// The copy's result.
    pub result_sha256: String,
    /// The state before.
    pub before: Snapshot,
}

/// An execute, as the journal holds it.
#[derive(Debug, Clone)]
pub struct ExecuteRecord {
    /// The plan's hash.
    pub plan_sha256: String,
    /// The backup it can be rolled back to.
    pub backup_path: PathBuf,
    /// That backup's hash.
    pub backup_sha256: String,
    /// `Some(result hash)` once committed.
    pub committed: Option<String>,
    /// Rolled back (nothing changed).
    pub rolled_back: bool,
}

/// Folds the journal into where things stand.
pub fn standing(entries: &[Entry]) -> Standing {
    let mut s = Standing::default();
    for e in entries {
        match &e.event {
            Event::Backup { path, sha256, .. } => s.backup = Some((path.clone(), sha256.clone())),
            Event::DryRun {
                ok: true, plan, source_sha256, result_sha256: Some(result), before: Some(before), ..
            } => {
                s.dry_run = Some(PassedDryRun {
                    plan: (**plan).clone(),
                    source_sha256: source_sha256.clone(),
                    result_sha256: result.clone(),
                    before: (**before).clone(),
                });
            }
            Event::DryRun { .. } => {}
            Event::ExecuteStarted { plan_sha256, backup_path, backup_sha256 } => {
                s.execute = Some(ExecuteRecord {
                    plan_sha256: plan_sha256.clone(),
                    backup_path: backup_path.clone(),
                    backup_sha256: backup_sha256.clone(),
                    committed: None,
                    rolled_back: false,
                });
                s.verified = None;
                s.rolled_back = false;
            }
            Event::ExecuteCommitted { result_sha256, .. } => {
                if let Some(x) = s.execute.as_mut() {
                    x.committed = Some(result_sha256.clone());
                }
            }
            Event::ExecuteRolledBack { .. } => {
                if let Some(x) = s.execute.as_mut() {
                    x.rolled_back = true;
                }
            }
            Event::Verified { ok, .. } => s.verified = Some(*ok),
            Event::RolledBack { .. } => s.rolled_back = true,
        }
    }
    s
}

/// The recorded SHA-256 of a backup file, if the journal has one.
pub fn recorded_backup(entries: &[Entry], backup: &Path) -> Option<String> {
    let wanted = fs::canonicalize(backup).ok();
    entries.iter().rev().find_map(|e| match &e.event {
        Event::Backup { path, sha256, .. } if fs::canonicalize(path).ok() == wanted || path == backup => {
            Some(sha256.clone())
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pos.db");
        append(&db, Event::Backup { path: "b".into(), sha256: "ab".into(), bytes: 3 }).unwrap();
        append(&db, Event::ExecuteRolledBack { plan_sha256: "p".into(), error: "x".into() }).unwrap();
        let mut text = fs::read_to_string(path(&db)).unwrap();
        text.push_str("{\"at\":\"2026");
        fs::write(path(&db), text).unwrap();
        let entries = read(&db).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(standing(&entries).backup, Some(("b".into(), "ab".into())));
    }
}
