//! The one shape of "a proven backup": its file and its SHA-256, wherever a phase, the journal
//! or a report names one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{hashing, paths};

/// A backup a phase starts from or a rollback restores: the file and its proven SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRef {
    /// The backup file.
    #[serde(with = "crate::ospath")]
    pub path: PathBuf,
    /// Its proven SHA-256.
    pub sha256: String,
}

impl BackupRef {
    /// A backup at `path` proven to hash to `sha256`.
    pub fn new(path: impl Into<PathBuf>, sha256: impl Into<String>) -> BackupRef {
        BackupRef { path: path.into(), sha256: sha256.into() }
    }

    /// The same backup with its recorded path looked up beside `db` (journals once held paths
    /// relative to the folder cutover ran in).
    pub fn located(&self, db: &Path) -> BackupRef {
        BackupRef { path: paths::locate(db, &self.path), sha256: self.sha256.clone() }
    }

    /// Whether `db` is, byte for byte, still this backup: its file is there, the database's WAL
    /// holds no frames (otherwise the main file alone is not the database) and the database
    /// hashes to it. A rehearsal may then start from it without a new backup.
    pub fn still_equals(&self, db: &Path) -> bool {
        let wal_empty = std::fs::metadata(paths::side_file(db, "-wal")).map_or(true, |m| m.len() == 0);
        wal_empty && self.path.is_file() && hashing::hash_file(db).is_ok_and(|h| h.sha256 == self.sha256)
    }
}
