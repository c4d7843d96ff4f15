//! The journal: `<db>.cutover/journal.jsonl`, an append-only, fsynced log of what cutover did
//! to a database, read back to know where a run stands and to resume it.

use crate::shown::shown;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result};
use crate::paths;
use crate::plan::Plan;
use crate::refusal::Refusal;
use crate::verify::snapshot::Snapshot;

pub mod lineage;
mod records;
mod standing;

pub use standing::{ExecuteRecord, PassedDryRun, RollbackRecord, Standing, recorded_backup, standing};

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A backup was made and proven.
    Backup {
        /// The backup file, by its full path.
        #[serde(with = "crate::ospath")]
        path: PathBuf,
        /// Its SHA-256 (both hashes matched).
        sha256: String,
        /// Its size.
        bytes: u64,
        /// The digest of its schema ([`crate::verify::snapshot::schema_digest`]): what tells
        /// later, when the file has moved on, which recorded state it was written on. Older
        /// journals lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema_sha256: Option<String>,
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
        /// The checks that warned on the copy: by identical outcome they hold on production
        /// too, so its verification shows them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warned: Vec<crate::verify::Check>,
    },
    /// Production's transaction began.
    ExecuteStarted {
        /// The plan.
        plan_sha256: String,
        /// The backup it can be rolled back to.
        #[serde(with = "crate::ospath")]
        backup_path: PathBuf,
        /// That backup's SHA-256.
        backup_sha256: String,
        /// This execute records [`Event::ExecuteCommitting`] before its COMMIT, so a journal
        /// without that record proves the commit was never attempted (older journals lack it).
        #[serde(default)]
        marks_commit: bool,
        /// The identity of its statements as SQLite runs them ([`crate::plan::fingerprint`]):
        /// a script run again with other whitespace or comments is the same change. Older
        /// journals lack it (it is then taken from the rehearsal's plan).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
        /// The technician asked for these statements to be applied although they were before
        /// (`--again`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        again: bool,
    },
    /// Production's statements all ran; its COMMIT is next. Written (and flushed) before the
    /// COMMIT, so an execute cut off without this record cannot have committed.
    ExecuteCommitting {
        /// The plan.
        plan_sha256: String,
    },
    /// Production's transaction committed.
    ExecuteCommitted {
        /// The plan.
        plan_sha256: String,
        /// Production's SHA-256 after the commit, once its WAL was folded in; `None` when it
        /// could not be (another reader held it), so later comparisons look at the rows.
        #[serde(default)]
        result_sha256: Option<String>,
        /// The digest of production's schema after the commit ([`crate::verify::snapshot::schema_digest`]):
        /// what says later whether the plan's change is still in the file, whatever the shop
        /// wrote since. Older journals lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema_sha256: Option<String>,
    },
    /// Production's transaction was rolled back: nothing changed.
    ExecuteRolledBack {
        /// The plan.
        plan_sha256: String,
        /// Why.
        error: String,
        /// Cut off during its COMMIT: the file's SHA-256 once SQLite rolled it back from its
        /// hot journal. It holds the rows and schema of the execute's backup (checked table by
        /// table); its bytes differ only in pages SQLite never journalled, which no table reads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_sha256: Option<String>,
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
    /// A rollback is about to swap the files: the migrated database gets this second name
    /// first. An interrupted rollback is finished (or undone) from this record.
    RollbackStarted {
        /// The backup being restored.
        #[serde(with = "crate::ospath")]
        backup_path: PathBuf,
        /// Its SHA-256.
        sha256: String,
        /// The name the current database is kept under.
        #[serde(with = "crate::ospath")]
        migrated_path: PathBuf,
    },
    /// The database was restored from a backup.
    RolledBack {
        /// The backup restored.
        #[serde(with = "crate::ospath")]
        backup_path: PathBuf,
        /// Its SHA-256, equal to the restored file's.
        sha256: String,
        /// Where the migrated database was kept.
        #[serde(with = "crate::ospath")]
        migrated_path: PathBuf,
        /// What the restore threw away, in words, when the technician chose to discard it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discarded: Option<String>,
    },
    /// A rollback that had started was undone before its end (a program opened the database,
    /// or a step of the swap failed): the names are as they were and nothing changed.
    RollbackUndone {
        /// The second name the database had been given.
        #[serde(with = "crate::ospath")]
        migrated_path: PathBuf,
        /// Why, in words.
        why: String,
        /// Whether that second name could not be removed (a program holding the file kept
        /// the system from removing it): it then still names the live database until the next
        /// run removes it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        second_name_left: bool,
    },
    /// The database had not been shut down cleanly (a hot journal, or a WAL with frames); a
    /// copy as found was kept and SQLite then recovered it.
    Recovered {
        /// What was found, in words.
        found: String,
        /// The folder with the copy as found and its SHA256SUMS.
        #[serde(with = "crate::ospath")]
        kept: PathBuf,
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
        fs::create_dir_all(&dir).map_err(|e| Error::writing(&dir, format!("creating {}", shown(&dir)), e))?;
        durable::fsync_dir(&paths::parent_dir(db)).map_err(|e| Error::io("flushing the database's folder", e))?;
    }
    Ok(dir)
}

/// What [`check_writable`] made, so a phase refused before recording anything can take it away.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Readied {
    folder: bool,
    file: bool,
}

impl Readied {
    /// Removes the journal file and records folder this check created, while they are still
    /// empty: a refusal leaves the database's folder as it found it.
    pub fn undo(self, db: &Path) {
        if self.file && fs::metadata(path(db)).is_ok_and(|m| m.len() == 0) {
            let _ = fs::remove_file(path(db));
        }
        // remove_dir only removes an empty folder.
        if self.folder && fs::remove_dir(records_dir(db)).is_ok() {
            let _ = durable::fsync_dir(&paths::parent_dir(db));
        }
    }
}

/// Makes sure the journal can be written (its folder created, the file opened for appending)
/// before a phase writes anything it would have to record.
pub fn check_writable(db: &Path) -> Result<Readied> {
    let folder = !records_dir(db).is_dir();
    ensure_records_dir(db)?;
    let path = path(db);
    let created = !path.exists();
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map(drop)
        .map_err(|e| Error::writing(&path, format!("opening {}", shown(&path)), e))?;
    if created {
        durable::fsync_dir(&records_dir(db)).map_err(|e| Error::io("flushing the records folder", e))?;
    }
    Ok(Readied { folder, file: created })
}

/// Appends one event and fsyncs it before returning. A torn last line left by a crash is
/// first moved to `journal.jsonl.torn-<time>` beside it, so the new line starts clean.
pub fn append(db: &Path, event: Event) -> Result<()> {
    ensure_records_dir(db)?;
    let entry = Entry { at: chrono::Local::now().to_rfc3339(), event };
    let mut line =
        serde_json::to_string(&entry).map_err(|e| Error::io("writing the journal", std::io::Error::other(e)))?;
    line.push('\n');
    let path = path(db);
    let created = !path.exists();
    if !created {
        set_aside_torn_tail(&path)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::writing(&path, format!("opening {}", shown(&path)), e))?;
    file.write_all(line.as_bytes()).map_err(|e| Error::io(format!("writing {}", shown(&path)), e))?;
    file.sync_all().map_err(|e| Error::io(format!("flushing {} (fsync)", shown(&path)), e))?;
    if created {
        durable::fsync_dir(&records_dir(db)).map_err(|e| Error::io("flushing the records folder", e))?;
    }
    Ok(())
}

/// Moves an unterminated last line to its own file (synced first), then cuts it off.
fn set_aside_torn_tail(path: &Path) -> Result<()> {
    let bytes = fs::read(path).map_err(|e| Error::io(format!("reading {}", shown(path)), e))?;
    let keep = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    if keep == bytes.len() {
        return Ok(());
    }
    let dir = paths::parent_dir(path);
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S%.3f");
    let aside = dir.join(format!("journal.jsonl.torn-{stamp}"));
    let io = |what: String| move |e| Error::io(what, e);
    let mut kept = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&aside)
        .map_err(io(format!("keeping the torn journal line as {}", shown(&aside))))?;
    kept.write_all(&bytes[keep..]).and_then(|()| kept.sync_all()).map_err(io(format!("writing {}", shown(&aside))))?;
    durable::fsync_dir(&dir).map_err(io("flushing the records folder".into()))?;
    let journal = OpenOptions::new().write(true).open(path).map_err(io(format!("opening {}", shown(path))))?;
    journal.set_len(keep as u64).and_then(|()| journal.sync_all()).map_err(io(format!("trimming {}", shown(path))))?;
    tracing::warn!(aside = %aside.display(), "a torn journal line was set aside");
    Ok(())
}

/// Reads every event. A last line cut short by a crash (incomplete, or cut inside a
/// character) is ignored ([`torn_tail`] says so); damage elsewhere is an error.
pub fn read(db: &Path) -> Result<Vec<Entry>> {
    let path = path(db);
    let bytes = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", shown(&path)), e)),
    };
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &[][..],
    };
    let mut entries = Vec::new();
    for (i, line) in complete.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|l| serde_json::from_str::<Entry>(l).map_err(|e| e.to_string()));
        match parsed {
            Ok(e) => entries.push(e),
            Err(e) => {
                return Err(Error::NotReady(Refusal::JournalDamaged { path, line: i + 1, cause: e }));
            }
        }
    }
    Ok(entries)
}

/// A notice when the journal ends in a torn line, which reads ignore and the next record sets
/// aside.
pub fn torn_tail(db: &Path) -> Option<String> {
    let bytes = fs::read(path(db)).ok()?;
    let tail = bytes.len() - bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    (tail > 0).then(|| {
        format!(
            "notice: the last line of {} is torn ({tail} bytes cut off by a crash while it was written); it is ignored and will be kept aside as journal.jsonl.torn-<time> at the next record",
            shown(&path(db))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pos.db");
        append(&db, Event::Backup { path: "b".into(), sha256: "ab".into(), bytes: 3, schema_sha256: None }).unwrap();
        append(&db, Event::ExecuteRolledBack { plan_sha256: "p".into(), error: "x".into(), file_sha256: None }).unwrap();
        let mut text = fs::read_to_string(path(&db)).unwrap();
        text.push_str("{\"at\":\"2026");
        fs::write(path(&db), text).unwrap();
        let entries = read(&db).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(standing(&entries).backup, Some(crate::backup_ref::BackupRef::new("b", "ab")));
        assert!(torn_tail(&db).is_some());
        // The next record sets the torn line aside and starts on a line of its own.
        append(&db, Event::ExecuteRolledBack { plan_sha256: "q".into(), error: "y".into(), file_sha256: None }).unwrap();
        assert_eq!(read(&db).unwrap().len(), 3);
        assert!(torn_tail(&db).is_none());
        let aside: Vec<_> = fs::read_dir(records_dir(&db))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("journal.jsonl.torn-"))
            .collect();
        assert_eq!(fs::read(aside[0].path()).unwrap(), b"{\"at\":\"2026");
    }

    #[test]
    fn a_line_cut_inside_a_character_is_torn_not_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pos.db");
        append(&db, Event::Backup { path: "b".into(), sha256: "ab".into(), bytes: 3, schema_sha256: None }).unwrap();
        let mut bytes = fs::read(path(&db)).unwrap();
        bytes.extend_from_slice(b"{\"x\":\"caf\xc3");
        fs::write(path(&db), bytes).unwrap();
        assert_eq!(read(&db).unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pos.db");
        append(&db, Event::Backup { path: "b".into(), sha256: "ab".into(), bytes: 3, schema_sha256: None }).unwrap();
        let mut bytes = fs::read(path(&db)).unwrap();
        bytes.extend_from_slice(b"not json\n");
        fs::write(path(&db), bytes).unwrap();
        append(&db, Event::Backup { path: "c".into(), sha256: "cd".into(), bytes: 3, schema_sha256: None }).unwrap();
        assert!(matches!(read(&db), Err(Error::NotReady(_))));
    }
}
