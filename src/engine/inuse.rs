//! Finding other processes that have the database open: a `/proc/*/fd` scan and a lock probe.
//!
//! Both run without holding any SQLite connection of our own to the file: closing any file
//! handle on a database drops every POSIX lock this process holds on it, so a probe that opened
//! and closed the file while we held a connection would silently unlock us.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::error::{Error, Result};
use crate::engine::paths;

/// A process (other than this one) that has the database or one of its side files open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name, from `/proc/<pid>/comm`.
    pub name: String,
    /// Which file it holds: the database or its `-wal`, `-shm` or `-journal`.
    pub file: PathBuf,
}

/// Lists the other processes that hold the database or its `-wal`/`-shm`/`-journal` open.
///
/// Processes whose descriptors cannot be read (gone, or another user's without privilege) are
/// skipped; the lock probe covers what this scan cannot see.
pub fn holders(db: &Path) -> Vec<Holder> {
    let targets: Vec<PathBuf> = paths::with_side_files(db).into_iter().filter_map(|p| canonical(&p)).collect();
    if targets.is_empty() {
        return Vec::new();
    }
    let me = std::process::id();
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(target) = targets.iter().find(|t| **t == link) {
                found.push(Holder { pid, name: process_name(pid), file: target.clone() });
                break;
            }
        }
    }
    found.sort_by_key(|h| h.pid);
    found
}

/// Asks the kernel whether another process holds a POSIX lock on the database or its `-shm`.
///
/// Returns the pid the kernel names (0 when it cannot name one, as for a process in another pid
/// namespace). An idle connection in rollback-journal mode holds no lock; the `/proc` scan sees it.
pub fn lock_probe(db: &Path) -> Result<Option<i32>> {
    for path in [db.to_path_buf(), paths::side_file(db, "-shm")] {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("opening {} to probe its locks", path.display()), e)),
        };
        if let Some(pid) =
            conflicting_lock(&file).map_err(|e| Error::io(format!("probing the locks on {}", path.display()), e))?
        {
            return Ok(Some(pid));
        }
    }
    Ok(None)
}

/// Refuses when any other process has the database open or locked.
///
/// Call it only while this process holds no connection to `db` (see the module note).
pub fn ensure_not_in_use(db: &Path) -> Result<()> {
    let found = holders(db);
    if !found.is_empty() {
        return Err(Error::InUse { path: db.to_path_buf(), holders: found });
    }
    match lock_probe(db)? {
        None => Ok(()),
        Some(pid) if pid > 0 => Err(Error::InUse {
            path: db.to_path_buf(),
            holders: vec![Holder { pid: pid as u32, name: process_name(pid as u32), file: db.to_path_buf() }],
        }),
        Some(_) => Err(Error::Locked { path: db.to_path_buf(), pid: None }),
    }
}

fn canonical(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

fn process_name(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

#[cfg(target_os = "linux")]
fn conflicting_lock(file: &File) -> std::io::Result<Option<i32>> {
    use nix::fcntl::{FcntlArg, fcntl};
    use nix::libc;

    // Ask for a write lock over the whole file: any lock another process holds conflicts with it.
    let mut query = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(file, FcntlArg::F_GETLK(&mut query)).map_err(std::io::Error::from)?;
    if query.l_type == libc::F_UNLCK as libc::c_short { Ok(None) } else { Ok(Some(query.l_pid)) }
}

#[cfg(not(target_os = "linux"))]
fn conflicting_lock(_file: &File) -> std::io::Result<Option<i32>> {
    Ok(None)
}
