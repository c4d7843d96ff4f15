//! Finding other processes that have the database open: a scan of every process's open files
//! (matched by file identity, whatever name they used) and a lock probe.
//!
//! Both run without holding any SQLite connection of our own to the file: closing any file
//! handle on a database drops every POSIX lock this process holds on it, so a probe that opened
//! and closed the file while we held a connection would silently unlock us. The one exception,
//! [`holders_of`], opens nothing and may run while we hold the file.
//!
//! A process this one may not look into (another user's, without the rights to see it) is
//! never counted as "not holding the file": writing phases refuse until the technician runs
//! with those rights or confirms the application is stopped ([`confirm_stopped`]).

use crate::shown::shown;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths;
use crate::platform::{self, FileId, LockedFile};

pub use crate::holder::Holder;
pub use crate::platform::Unseen;

/// Everything the in-use check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InUse {
    /// Processes holding the database or a side file.
    pub holders: Vec<Holder>,
    /// Processes that could hold it but could not be looked into.
    pub unseen: Vec<Unseen>,
    /// Why no process could be looked into at all, when that is so.
    pub blind: Option<String>,
    /// A pid holding a SQLite lock on the file, when the lock probe found one (0: unnamed).
    pub locked_by: Option<i32>,
}

impl InUse {
    /// Another process has the file open or locked.
    pub fn in_use(&self) -> bool {
        !self.holders.is_empty() || self.locked_by.is_some()
    }

    /// Some process could hold the file without this scan seeing it.
    pub fn uncertain(&self) -> bool {
        !self.unseen.is_empty() || self.blind.is_some()
    }
}

/// Set once the technician has confirmed the application is stopped; processes that cannot
/// be looked into are then not held against the writing phases.
static CONFIRMED_STOPPED: AtomicBool = AtomicBool::new(false);

/// Records the technician's confirmation that the shop's application is stopped, for the rest
/// of this process: `--confirm-stopped`, or the wizard's confirmation on its first screen.
pub fn confirm_stopped() {
    CONFIRMED_STOPPED.store(true, Ordering::SeqCst);
}

/// Whether the technician confirmed the application is stopped.
pub fn stopped_confirmed() -> bool {
    CONFIRMED_STOPPED.load(Ordering::SeqCst)
}

/// Scans for processes holding the database or its `-wal`/`-shm`/`-journal`, and probes the
/// SQLite locks. Side files are checked even when the main file is missing.
pub fn scan(db: &Path) -> Result<InUse> {
    let ids: Vec<(FileId, PathBuf)> =
        paths::with_side_files(db).into_iter().filter_map(|p| platform::identity(&p).ok().map(|i| (i.id, p))).collect();
    let found = platform::scan_processes(&ids, true);
    let holders = found
        .holders
        .into_iter()
        .map(|h| Holder { pid: h.pid, name: h.name, service: h.service, file: ids[h.file].1.clone() })
        .collect();
    let blind = if ids.is_empty() { None } else { found.blind };
    Ok(InUse { holders, unseen: found.unseen, blind, locked_by: lock_probe(db)? })
}

/// The processes other than this one that hold any of these exact files (by identity), for a
/// re-check while this process holds the database: it opens nothing, so it drops no lock.
pub fn holders_of(files: &[(FileId, PathBuf)]) -> Vec<Holder> {
    platform::scan_processes(files, false)
        .holders
        .into_iter()
        .map(|h| Holder { pid: h.pid, name: h.name, service: h.service, file: files[h.file].1.clone() })
        .collect()
}

/// Asks the kernel whether another process holds a POSIX lock on the database or its `-shm`.
///
/// Returns the pid the kernel names (0 when it cannot name one, as for a process in another pid
/// namespace). An idle connection in rollback-journal mode holds no lock; the scan sees it.
pub fn lock_probe(db: &Path) -> Result<Option<i32>> {
    for (path, which) in
        [(db.to_path_buf(), LockedFile::Database), (paths::side_file(db, "-shm"), LockedFile::SharedMemory)]
    {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("opening {} to probe its locks", shown(&path)), e)),
        };
        if let Some(pid) = platform::held_lock(&file, which)
            .map_err(|e| Error::io(format!("probing the locks on {}", shown(&path)), e))?
        {
            return Ok(Some(pid));
        }
    }
    Ok(None)
}

/// Refuses when any other process has the database open or locked, or when a process that
/// could have it open cannot be looked into and the technician has not confirmed the
/// application is stopped.
///
/// Call it only while this process holds no connection to `db` (see the module note).
pub fn ensure_not_in_use(db: &Path) -> Result<()> {
    let found = scan(db)?;
    refuse_if_in_use(db, &found)
}

/// The refusal [`ensure_not_in_use`] makes for what a scan found.
pub fn refuse_if_in_use(db: &Path, found: &InUse) -> Result<()> {
    if !found.holders.is_empty() {
        return Err(Error::InUse { path: db.to_path_buf(), holders: found.holders.clone() });
    }
    match found.locked_by {
        Some(pid) if pid > 0 => {
            let pid = pid as u32;
            return Err(Error::InUse {
                path: db.to_path_buf(),
                holders: vec![Holder { pid, name: platform::process_name(pid), service: None, file: db.to_path_buf() }],
            });
        }
        Some(_) => return Err(Error::Locked { path: db.to_path_buf(), pid: None }),
        None => {}
    }
    if found.uncertain() && !stopped_confirmed() {
        return Err(Error::Unseen { path: db.to_path_buf(), unseen: found.unseen.clone(), blind: found.blind.clone() });
    }
    Ok(())
}
