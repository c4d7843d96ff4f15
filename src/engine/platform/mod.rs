//! Everything that differs between operating systems, behind one small interface: durable
//! writes, free disk, file identity, and which processes hold a file. Phases call these and
//! never carry `#[cfg]` themselves; each OS has one module here.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;

pub use os::{
    access_of, conflicting_lock, device, drop_cached_pages, file_id, free_space, fsync_dir, is_mount_point, is_root,
    keep_attributes, link_count, path_from_bytes, path_to_bytes, process_name, scan_processes, start_writeback,
};

/// What identifies a file whatever name it is reached by: device and inode on Unix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// The device (volume) holding the file.
    pub device: u64,
    /// The file's number on that device.
    pub inode: u64,
}

/// A process that holds one of the files asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// Its process id.
    pub pid: u32,
    /// Its command name.
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

/// The owner, group and permission bits of a file, to judge which users could open it.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// Owning user id.
    pub uid: u32,
    /// Owning group id.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
}
