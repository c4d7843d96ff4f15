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
    DbFile, Fence, LIMITED_CONSOLE_FONT, READ_ONLY_FIX, RENAME_WHILE_OPEN, SCAN_PAST_OWN_HANDLES, WriteGuard, canonicalize,
    free_space, fsync_dir, held_lock, identity, is_held_error, is_mount_point, keep_attributes, kernel_copy,
    make_removable, mounted_elsewhere, name_as_opened, read_only_attribute, rename_forbidden,
    no_hard_links, open_uncached, path_from_bytes, path_to_bytes, process_name, rename_new, rename_replacing,
    scan_processes, shell_command, shell_quote, simplify, stop_tree, start_writeback, status_changed,
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
    /// Its name.
    pub name: String,
    /// The service it runs as, when it is one (Windows).
    pub service: Option<String>,
    /// Which of the asked files it holds (an index into the list given).
    pub file: usize,
}

/// One process as Windows' Restart Manager lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartManagerEntry {
    /// Its process id.
    pub pid: u32,
    /// Its application name (the executable, or a friendly name).
    pub app: String,
    /// The short name of the service it runs, empty when it is none.
    pub service: String,
}

/// The holders a Restart Manager list names, this process left out: (pid, name, service). Kept
/// apart from the Windows calls so it is tested everywhere; Wine's Restart Manager lists no one.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn restart_manager_names(list: &[RestartManagerEntry], me: u32) -> Vec<(u32, String, Option<String>)> {
    let mut out: Vec<(u32, String, Option<String>)> = list
        .iter()
        .filter(|p| p.pid != me)
        .map(|p| {
            let name = if p.app.trim().is_empty() { "a program".to_string() } else { p.app.trim().to_string() };
            let service = Some(p.service.trim().to_string()).filter(|s| !s.is_empty());
            (p.pid, name, service)
        })
        .collect();
    out.sort_by_key(|(pid, _, _)| *pid);
    out.dedup_by_key(|(pid, _, _)| *pid);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_managers_list_names_services_and_leaves_this_process_out() {
        let entry =
            |pid, app: &str, service: &str| RestartManagerEntry { pid, app: app.into(), service: service.into() };
        let list = [
            entry(4123, "EasySale-server.exe", "EasySale"),
            entry(77, "Backup Agent", ""),
            entry(999, "cutover.exe", ""),
            entry(4123, "EasySale-server.exe", "EasySale"),
            entry(12, " ", ""),
        ];
        assert_eq!(
            restart_manager_names(&list, 999),
            vec![
                (12, "a program".to_string(), None),
                (77, "Backup Agent".to_string(), None),
                (4123, "EasySale-server.exe".to_string(), Some("EasySale".to_string())),
            ]
        );
    }
}
