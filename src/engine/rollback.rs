//! Rollback: put the backup back, atomically, keeping the migrated database aside so the
//! rollback itself can be undone.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::engine::backup::rehash;
use crate::engine::error::{Error, Result};
use crate::engine::hashing;
use crate::engine::journal::{self, Event};
use crate::engine::progress::Progress;
use crate::engine::{durable, inuse, open, paths};

/// A finished rollback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollbackReport {
    /// The database restored.
    pub database: PathBuf,
    /// The backup it was restored from.
    pub backup_path: PathBuf,
    /// The backup's recorded SHA-256.
    pub backup_sha256: String,
    /// The restored file's SHA-256, read back from disk.
    pub restored_sha256: String,
    /// `MATCH` (a report is only returned when they match).
    pub verdict: &'static str,
    /// Where the migrated database (and its side files) were kept.
    pub migrated_path: Option<PathBuf>,
    /// Seconds it took.
    pub seconds: f64,
}

/// Restores `db` from `backup`, whose recorded hash is `expected_sha256`.
///
/// Refuses while another process holds the database. The backup is hashed first; the current
/// database is checkpointed and kept as `<db>.migrated-<time>` (a hard link, so the database's
/// name never points at nothing), its side files moved beside it; the backup is copied to a
/// temp file in the same folder, fsynced, checked against the hash and renamed over the
/// database; the folder is fsynced; the restored file is read back and hashed: MATCH.
pub fn run(
    db: &Path,
    backup: &Path,
    expected_sha256: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<RollbackReport> {
    let started = Instant::now();
    if db.exists() {
        inuse::ensure_not_in_use(db)?;
    }
    progress(Progress::Step("checking the backup against its recorded hash".into()));
    let found = rehash(backup, progress)
        .map_err(|e| Error::NotReady(format!("the backup {} cannot be read: {e}", backup.display())))?;
    if found.sha256 != expected_sha256 {
        return Err(Error::NotReady(format!(
            "the backup {} does not match its recorded hash (recorded {}, found {}) — it is not restored",
            backup.display(),
            short(expected_sha256),
            short(&found.sha256)
        )));
    }

    let dir = paths::parent_dir(db);
    let io = |what: String| move |e: std::io::Error| Error::io(what, e);
    let name = paths::file_name(db);
    let mut partial = tempfile::Builder::new()
        .prefix(&format!(".{name}.restore-"))
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(io(format!("creating a file in {}", dir.display())))?;
    progress(Progress::Step("copying the backup beside the database".into()));
    let mut src = File::open(backup).map_err(io(format!("opening {}", backup.display())))?;
    let copied = hashing::copy_hashing(&mut src, partial.as_file_mut(), found.bytes, &mut |done, total| {
        progress(Progress::Bytes { stage: "restoring", done, total })
    })
    .map_err(io("copying the backup".into()))?;
    partial.as_file().sync_all().map_err(io("flushing the restored copy (fsync)".into()))?;
    if copied.sha256 != expected_sha256 {
        return Err(Error::NotReady("the backup changed while it was being copied — nothing was restored".into()));
    }
    if let Ok(meta) = fs::metadata(db) {
        keep_owner_and_mode(partial.path(), &meta);
    }

    let migrated_path = if db.exists() {
        progress(Progress::Step("keeping the migrated database aside".into()));
        Some(set_aside(db)?)
    } else {
        None
    };
    partial.persist(db).map_err(|e| Error::io(format!("renaming the restored copy to {}", db.display()), e.error))?;
    durable::fsync_dir(&dir).map_err(io(format!("flushing {} (fsync)", dir.display())))?;

    progress(Progress::Step("re-reading the restored database".into()));
    let restored = rehash(db, progress)?;
    if restored.sha256 != expected_sha256 {
        return Err(Error::BackupMismatch {
            source_sha256: expected_sha256.to_string(),
            backup_sha256: restored.sha256,
        });
    }
    journal::append(
        db,
        Event::RolledBack {
            backup_path: backup.to_path_buf(),
            sha256: expected_sha256.to_string(),
            migrated_path: migrated_path.clone().unwrap_or_default(),
        },
    )?;
    Ok(RollbackReport {
        database: db.to_path_buf(),
        backup_path: backup.to_path_buf(),
        backup_sha256: expected_sha256.to_string(),
        restored_sha256: restored.sha256,
        verdict: "MATCH",
        migrated_path,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Checkpoints the current database so it is whole on its own, hard-links it to
/// `<db>.migrated-<time>` and moves its side files after it. A stale `-wal` left beside the
/// restored file would silently re-apply the migration, so none may stay.
fn set_aside(db: &Path) -> Result<PathBuf> {
    if paths::side_file(db, "-wal").exists() {
        // Best effort: a damaged file is kept as it is, side files and all.
        if let Ok(conn) = open::read_write(db) {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
            let _ = conn.close();
        }
    }
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let mut target = paths::side_file(db, &format!(".migrated-{stamp}"));
    let mut n = 2;
    while target.exists() {
        target = paths::side_file(db, &format!(".migrated-{stamp}-{n}"));
        n += 1;
    }
    fs::hard_link(db, &target)
        .map_err(|e| Error::io(format!("keeping the migrated database as {}", target.display()), e))?;
    for suffix in paths::SIDE_SUFFIXES {
        let side = paths::side_file(db, suffix);
        if side.exists() {
            let kept = paths::side_file(&target, suffix);
            fs::rename(&side, &kept).map_err(|e| Error::io(format!("moving {} aside", side.display()), e))?;
        }
    }
    durable::fsync_dir(&paths::parent_dir(db)).map_err(|e| Error::io("flushing the database's folder (fsync)", e))?;
    Ok(target)
}

/// The restored file gets the replaced file's permissions and owner, so the shop's
/// application can still open it.
fn keep_owner_and_mode(path: &Path, meta: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let _ = fs::set_permissions(path, meta.permissions());
    let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
}

fn short(hash: &str) -> &str {
    &hash[..16.min(hash.len())]
}
