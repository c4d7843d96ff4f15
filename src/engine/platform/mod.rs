//! Everything that differs between operating systems, behind one small interface: durable
//! writes and renames, free disk, reading a file back from the disk rather than the cache,
//! file identity, which processes hold a file, and reading a database under SQLite's own
//! lock. Phases call these and never carry `#[cfg]` themselves; each OS has one module here.

use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

pub use os::{
    DbFile, RENAME_WHILE_OPEN, Uncached, free_space, fsync_dir, held_lock, identity, is_mount_point, keep_attributes,
    mounted_elsewhere, open_uncached, path_from_bytes, path_to_bytes, process_name, rename_new, rename_replacing,
    scan_processes, start_writeback,
};

/// What identifies a file whatever name it is reached by: device (volume) and file number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// The device (volume) holding the file.
    pub device: u64,
    /// The file's number on that device.
    pub inode: u64,
}

/// A file's identity and how many names it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Device and file number.
    pub id: FileId,
    /// Its names (hard links).
    pub links: u64,
}

/// Whether two paths name the same file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((identity(a), identity(b)), (Ok(x), Ok(y)) if x.id == y.id)
}

/// A process that holds one of the files asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// Its process id (0 when the operating system says only that some program holds it).
    pub pid: u32,
    /// Its name, and the service it runs as when it is one.
    pub name: String,
    /// Which of the asked files it holds (an index into the list given).
    pub file: usize,
}

/// A process whose open files this process may not look at, yet which could have the
/// database open (its user may read or write the file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unseen {
    /// Its process id.
    pub pid: u32,
    /// Its command name.
    pub name: String,
    /// The user it runs as.
    pub user: String,
}

/// What a scan of the running processes found.
#[derive(Debug, Clone, Default)]
pub struct ProcessScan {
    /// Processes holding one of the files.
    pub holders: Vec<Holding>,
    /// Processes that could hold them but could not be looked into.
    pub unseen: Vec<Unseen>,
    /// Why the scan could not look at all, when it could not (no process list, processes of
    /// other users hidden).
    pub blind: Option<String>,
}

/// Which of a database's files a lock probe looks at: SQLite locks different bytes of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedFile {
    /// The database file itself.
    Database,
    /// Its `-shm` (WAL index), whose every WAL connection holds a shared lock.
    SharedMemory,
}

/// The files to look for in a scan: identity and path of each.
pub type Targets = [(FileId, PathBuf)];
